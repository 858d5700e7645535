"""Memory before allocation: the limit a command may use, and what a description implies (synapses,
delay slots, ticks, recorded values, spikes) counted without generating anything.

Description objects check their own arrays against the limit as they are made; each backend and
toolchain turns the counts into bytes with its own measured costs (:class:`Costs`) and refuses, in
one line naming the largest cause, a run or compile whose estimate exceeds the limit. The limit is
the machine's available memory unless ``--memory-limit`` or ``NEURODEPLOY_MEMORY_LIMIT`` sets it.
"""

from __future__ import annotations

import math
import os
import re
import resource
from dataclasses import dataclass, field

import numpy as np
import psutil

from neurodeploy.errors import ValidationError

ENVIRONMENT_VARIABLE = "NEURODEPLOY_MEMORY_LIMIT"
RAISE_IT = "raise it with --memory-limit"

BYTES_PER_GENERATED_SYNAPSE = 64
"""Peak bytes per connection while a connector generates it and the network holds it (index arrays,
weights and delays; measured a little below this)."""

BYTES_PER_NEURON_VALUE = 8
"""One float64 per neuron for each parameter and initial value a lowering expands."""

ASSUMED_RATE_HZ = 100.0
"""The mean rate assumed for recorded populations: their spikes are not known before the run (spike
sources' are, and are counted exactly). A run firing faster is still stopped by the process cap."""

_UNITS = {
    "": 1,
    "b": 1,
    "k": 10**3,
    "kb": 10**3,
    "m": 10**6,
    "mb": 10**6,
    "g": 10**9,
    "gb": 10**9,
    "t": 10**12,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)\s*")

_explicit_limit: int | None = None


def parse_size(text) -> int:
    """Bytes from ``8GB``, ``512 MiB``, ``1.5e9``; ValueError with the reason otherwise."""
    match = _SIZE.fullmatch(str(text))
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f"expected a size such as 8GB, 512MB or 2GiB, got {text!r}")
    size = float(match.group(1)) * _UNITS[unit]
    if not math.isfinite(size) or size < 1:
        raise ValueError(f"expected a positive size, got {text!r}")
    return int(size)


def format_size(size: float) -> str:
    """``40 GB``, ``1.5 GB``, ``300 MB``: decimal units."""
    size = _as_float(size)
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            scaled = size / scale
            return f"{scaled:.1f} {unit}" if scaled < 10 else f"{count_text(scaled)} {unit}"
    return f"{size:.0f} bytes"


def set_memory_limit(limit: int | None) -> None:
    """The limit for this process (``--memory-limit``); None returns to the default."""
    global _explicit_limit
    _explicit_limit = limit


def memory_limit() -> int:
    """The explicit limit, else ``NEURODEPLOY_MEMORY_LIMIT``, else the memory available now (or less, where
    whoever started this process capped its memory)."""
    if _explicit_limit is not None:
        return _explicit_limit
    if os.environ.get(ENVIRONMENT_VARIABLE):
        try:
            return parse_size(os.environ[ENVIRONMENT_VARIABLE])
        except ValueError as error:
            raise ValidationError(f"environment variable {ENVIRONMENT_VARIABLE}", None, str(error)) from None
    caps = [resource.getrlimit(kind)[0] for kind in (resource.RLIMIT_AS, resource.RLIMIT_DATA)]
    return min([psutil.virtual_memory().available, *(cap for cap in caps if cap != resource.RLIM_INFINITY)])


def refuse_above_limit(need: float, where: str, field_name: str | None, what: str) -> None:
    """A ValidationError when ``need`` bytes (for ``what``) exceed the limit."""
    limit = memory_limit()
    if need > limit:
        raise ValidationError(
            where,
            field_name,
            f"{what} need about {format_size(need)}, above the memory limit of {format_size(limit)} ({RAISE_IT})",
        )


def count_text(number: float) -> str:
    """A count for messages: whole when below a million, else ``1.0e9``."""
    number = _as_float(number)
    if number < 1e6:
        return f"{number:.0f}"
    if math.isinf(number):
        return "more than 1e308"
    mantissa, exponent = f"{number:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _as_float(number) -> float:
    """A count or size as a float; a Python integer past the float range is infinite."""
    try:
        return float(number)
    except OverflowError:
        return math.inf


@dataclass(frozen=True)
class Cost:
    where: str
    what: str
    bytes: float


@dataclass(eq=False)
class MemoryEstimate:
    """What one backend or compile step (``step``: "brian2 backend") would hold at its peak, item by item."""

    step: str
    costs: list[Cost] = field(default_factory=list)

    def add(self, where: str, what: str, size: float) -> None:
        if size > 0:
            self.costs.append(Cost(where, what, float(size)))

    @property
    def total(self) -> float:
        return sum(cost.bytes for cost in self.costs)

    def check(self) -> "MemoryEstimate":
        """Refuse, naming the largest item, an estimate above the limit; return self."""
        limit = memory_limit()
        if self.total > limit:
            largest = max(self.costs, key=lambda cost: cost.bytes)
            whole = "" if largest.bytes > 0.9 * self.total else f" (about {format_size(self.total)} in all)"
            raise ValidationError(
                largest.where,
                None,
                f"{largest.what} need about {format_size(largest.bytes)} on the "
                f"{self.step}{whole}, above the memory limit of {format_size(limit)} "
                f"({RAISE_IT})",
            )
        return self


@dataclass(frozen=True)
class Costs:
    """Bytes per item on one backend, measured from its peak resident memory on small runs (a little
    rounded up): the estimate is the sum of these times the description's counts."""

    baseline: float  # the process with the backend imported and a tiny network run
    per_neuron: float
    per_synapse: float  # static; includes generating the connections
    per_plastic_synapse: float  # also every slot of a structural projection
    per_recorded_value: float  # v or a synaptic state, per neuron and tick
    per_recorded_spike: float
    per_source_spike: float
    per_delay_slot: float = 0.0  # per projection and tick of its longest delay
    per_recorded_neuron_tick: float = 0.0  # backends whose spike recorders hold every tick
    per_source_neuron_tick: float = 0.0  # backends whose spike sources hold every tick


def view_size(network, projection, side: str) -> int:
    """Neurons on one side of a projection (its slice, if it has one)."""
    size, view = network.size_of(getattr(projection, side)), getattr(projection, f"{side}_slice")
    return size if view is None else max(0, min(view[1], size) - view[0])


def synapse_count(network, projection) -> float:
    """Synapses a projection will have (expected for random connectors), without generating them."""
    return projection.connector.expected_count(
        view_size(network, projection, "pre"), view_size(network, projection, "post")
    )


def structural_slots(network, projection) -> float:
    """Synapses a structural projection's backends hold: its rule's ``s_max`` slots per post neuron."""
    return float(network.size_of(projection.post)) * projection.structural.s_max


def max_delay_ticks(network, projection) -> float:
    dt = network.semantics.dt
    held = projection.held_delay_ticks(dt)  # the longest time, max(ticks) * dt, without making every time
    longest = float(np.max(projection.delay, initial=0.0) if held is None else held.max(initial=0) * dt) / dt
    formed = getattr(projection.structural, "delay_ticks", None)  # a structural rule's formed synapses
    if formed is not None:
        longest = max(longest, float(formed(network.semantics, f"projection '{projection.label}'")[1]))
    return longest


def source_spikes(source) -> int:
    return sum(map(len, source.spike_times))


def estimate(network, duration_ms: float, step: str, costs: Costs) -> MemoryEstimate:
    """The estimate every backend shares: neurons, synapses, delays, spike sources and recordings."""
    result = MemoryEstimate(step)
    result.add("run", "the process and its libraries", costs.baseline)
    run_ticks = float(duration_ms) / network.semantics.dt  # a float: never wraps, whatever the duration
    for population in network.populations.values():
        result.add(
            f"population '{population.label}'",
            f"{count_text(population.size)} neurons",
            population.size * costs.per_neuron,
        )
    for source in network.spike_sources.values():
        where = f"spike source '{source.label}'"
        result.add(
            where, f"{count_text(source_spikes(source))} input spikes", source_spikes(source) * costs.per_source_spike
        )
        result.add(
            where,
            f"{count_text(source.size)} inputs over {count_text(run_ticks)} ticks",
            source.size * run_ticks * costs.per_source_neuron_tick,
        )
    for projection in network.projections.values():
        where = f"projection '{projection.label}'"
        plastic = projection.plasticity is not None or projection.structural is not None
        synapses = (
            structural_slots(network, projection)
            if projection.structural is not None
            else synapse_count(network, projection)
        )
        kind = "synapse slots" if projection.structural is not None else "synapses"
        result.add(
            where,
            f"{count_text(synapses)} {kind}",
            synapses * (costs.per_plastic_synapse if plastic else costs.per_synapse),
        )
        if projection.structural is not None and projection.structural.PAIR_BYTES:
            pairs = float(network.size_of(projection.pre)) * network.size_of(projection.post)
            result.add(where, f"{count_text(pairs)} pair scores", pairs * projection.structural.PAIR_BYTES)
        result.add(
            where,
            f"delays of {count_text(max_delay_ticks(network, projection))} ticks",
            max_delay_ticks(network, projection) * costs.per_delay_slot,
        )
    seconds = float(duration_ms) / 1000.0
    for label, variables in network.recordings.items():
        size = network.size_of(label)
        where = f"recording '{label}'"
        for variable in (name for name in variables if name != "spikes"):  # v and the synaptic states
            result.add(
                where,
                f"{variable} of {count_text(size)} neurons over {count_text(run_ticks)} ticks",
                size * run_ticks * costs.per_recorded_value,
            )
        if "spikes" in variables:
            result.add(
                where,
                f"spikes of {count_text(size)} neurons over {count_text(run_ticks)} ticks",
                size * run_ticks * costs.per_recorded_neuron_tick,
            )
            if label in network.populations:
                expected = size * min(run_ticks, ASSUMED_RATE_HZ * seconds)
                result.add(where, f"about {count_text(expected)} recorded spikes", expected * costs.per_recorded_spike)
    return result
