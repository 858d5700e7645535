"""Current sources injected into neurons (PyNN's ``DCSource``, ``StepCurrentSource``, ``ACSource`` and
``NoisyCurrentSource``), held as the few numbers that define them, never as per-tick arrays.

Per tick ``n`` (time ``t = n dt``) a source has one amplitude ``I_src(n)`` in nA; every neuron it is
injected into adds it to the cell's drive in step 2 of :mod:`.semantics`, exactly where ``i_offset``
enters (``I_exc - I_inh + i_offset + sum of I_src(n)``), whatever the cell (``IF_cond_exp`` and
``Izhikevich`` too). Outside ``[start, stop)`` a source gives 0. A source whose ``start`` is ``s`` first
changes the tick ``s / dt``, so V shows it from the end of that tick on (a recording's sample
``s / dt + 1``, the first being the initial value), as in PyNN's electrode tests.

- ``DCSource``: ``amplitude`` in ticks ``[start/dt, stop/dt)``.
- ``StepCurrentSource``: ``amplitudes[k]`` from tick ``times[k]/dt`` until the next change; 0 before the
  first. :meth:`StepCurrentSource.on_grid` rounds times to the grid as PyNN's simulators do (a
  time that lands on an earlier one's tick replaces it: the last amplitude given wins).
- ``ACSource``: ``offset + amplitude sin(2 pi frequency (n - start/dt) dt / 1000 + phase pi / 180)``
  (frequency in Hz, phase in degrees counted from ``start``), in ticks ``[start/dt, stop/dt)``.
- ``NoisyCurrentSource``: ``mean + stdev z_j`` with ``j = (n - start/dt) // (dt_noise / dt)`` in ticks
  ``[start/dt, stop/dt)``: one standard normal ``z_j`` per ``dt_noise`` (a multiple of dt), drawn from the
  network's seed and the injection's label (:func:`noise_chunk`), so every backend gets the same samples
  (as SpikeSourcePoisson's spikes are drawn once on the host).

``stop`` None means the source never stops. Times must be multiples of dt (:meth:`Network.validate`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from neurodeploy.description import values
from neurodeploy.errors import ValidationError


class CurrentSource:
    """A current's waveform: its amplitude (nA) in each tick of a range."""

    kind: ClassVar[str]
    FIELDS: ClassVar[tuple[str, ...]]

    def __post_init__(self):
        self.validate(self.kind)

    def validate(self, where: str):
        for name in self.FIELDS:
            value = getattr(self, name)
            if name in ("times", "amplitudes"):
                continue
            if name in ("stop", "dt") and value is None:
                continue
            setattr(self, name, values.number(value, UNITS.get(name), where, name))
        for name in ("start", "stop", "dt"):
            if name in self.FIELDS and getattr(self, name) is not None:
                values.check_range(getattr(self, name), where, name, "ms", at_least=0)
        if getattr(self, "stop", None) is not None and self.stop < self.start:
            raise ValidationError(where, "stop", f"must be >= start ({self.start:g} ms), got {self.stop:g} ms")

    def window(self, semantics, where: str) -> tuple[int, int | None]:
        """The ticks ``[first, stop)`` the source is on (stop None: never off)."""
        first = semantics.ticks(self.start, where, "start")
        return first, None if self.stop is None else semantics.ticks(self.stop, where, "stop")

    def check(self, semantics, where: str):
        """What needs the network's dt: times on the grid."""
        self.window(semantics, where)

    def per_tick(self, first: int, stop: int, semantics, rng_key: tuple, where: str) -> np.ndarray:
        """The amplitude (nA) in each tick of ``[first, stop)``."""
        ticks = np.arange(first, stop, dtype=np.int64)
        on_first, on_stop = self.window(semantics, where)
        on = (ticks >= on_first) & (ticks < (np.iinfo(np.int64).max if on_stop is None else on_stop))
        return np.where(on, self.waveform(ticks - on_first, semantics, rng_key, where), 0.0)

    def waveform(self, since_start: np.ndarray, semantics, rng_key: tuple, where: str) -> np.ndarray:
        raise NotImplementedError

    def to_dict(self) -> dict:
        data = {"kind": self.kind}
        for name in self.FIELDS:
            data[name] = values.to_plain(getattr(self, name))
        return data


UNITS = {
    "start": "ms",
    "stop": "ms",
    "dt": "ms",
    "amplitude": "nA",
    "offset": "nA",
    "mean": "nA",
    "stdev": "nA",
    "frequency": "Hz",
    "phase": None,
}


@dataclass(eq=False)
class DCSource(CurrentSource):
    """A constant ``amplitude`` (nA) in ``[start, stop)``."""

    amplitude: float = 1.0
    start: float = 0.0
    stop: float | None = None

    kind: ClassVar[str] = "DCSource"
    FIELDS: ClassVar[tuple[str, ...]] = ("amplitude", "start", "stop")

    def waveform(self, since_start, semantics, rng_key, where):
        return np.full(since_start.shape, self.amplitude)


@dataclass(eq=False)
class ACSource(CurrentSource):
    """A sine of ``amplitude`` (nA) about ``offset`` (nA), ``frequency`` (Hz), ``phase`` (degrees, at
    ``start``), in ``[start, stop)``."""

    amplitude: float = 1.0
    offset: float = 0.0
    frequency: float = 10.0
    phase: float = 0.0
    start: float = 0.0
    stop: float | None = None

    kind: ClassVar[str] = "ACSource"
    FIELDS: ClassVar[tuple[str, ...]] = ("amplitude", "offset", "frequency", "phase", "start", "stop")

    def waveform(self, since_start, semantics, rng_key, where):
        angle = 2 * np.pi * self.frequency * since_start * semantics.dt / 1000.0 + self.phase * np.pi / 180.0
        return self.offset + self.amplitude * np.sin(angle)


@dataclass(eq=False)
class NoisyCurrentSource(CurrentSource):
    """Gaussian noise of ``mean`` and ``stdev`` (nA), a new sample every ``dt`` ms (None: the network's
    dt), in ``[start, stop)``."""

    mean: float = 0.0
    stdev: float = 1.0
    start: float = 0.0
    stop: float | None = None
    dt: float | None = None

    kind: ClassVar[str] = "NoisyCurrentSource"
    FIELDS: ClassVar[tuple[str, ...]] = ("mean", "stdev", "start", "stop", "dt")

    def validate(self, where: str):
        super().validate(where)
        values.check_range(self.stdev, where, "stdev", "nA", at_least=0)
        if self.dt is not None:
            values.check_range(self.dt, where, "dt", "ms", above=0)

    def ticks_per_sample(self, semantics, where: str) -> int:
        return 1 if self.dt is None else semantics.ticks(self.dt, where, "dt", minimum=1)

    def check(self, semantics, where: str):
        super().check(semantics, where)
        self.ticks_per_sample(semantics, where)

    def waveform(self, since_start, semantics, rng_key, where):
        if since_start.size == 0:
            return np.empty(0)
        sample = np.maximum(since_start // self.ticks_per_sample(semantics, where), 0)
        chunks = np.arange(sample.min() // NOISE_CHUNK, sample.max() // NOISE_CHUNK + 1)
        normals = np.concatenate([noise_chunk(rng_key, int(chunk)) for chunk in chunks])
        return self.mean + self.stdev * normals[sample - chunks[0] * NOISE_CHUNK]


NOISE_CHUNK = 4096
"""Noise samples are drawn in chunks of this many, each from its own generator (keyed by the network's
seed, the injection's label and the chunk's index), so that any range of ticks costs its own length."""


def noise_chunk(rng_key: tuple, chunk: int) -> np.ndarray:
    """The standard normals ``z_j`` of ``chunk`` (``j`` from ``chunk * NOISE_CHUNK``)."""
    seed = np.random.SeedSequence(rng_key[0], spawn_key=(*rng_key[1:], chunk))
    return np.random.default_rng(seed).standard_normal(NOISE_CHUNK)


@dataclass(eq=False)
class StepCurrentSource(CurrentSource):
    """``amplitudes[k]`` (nA) from ``times[k]`` (ms, increasing, >= 0) until the next time; 0 before."""

    times: np.ndarray = field(default_factory=lambda: np.empty(0))
    amplitudes: np.ndarray = field(default_factory=lambda: np.empty(0))

    kind: ClassVar[str] = "StepCurrentSource"
    FIELDS: ClassVar[tuple[str, ...]] = ("times", "amplitudes")

    def validate(self, where: str):
        self.times = values.number_or_array(np.asarray(self.times, dtype=np.float64).tolist(), "ms", where, "times")
        self.amplitudes = values.number_or_array(
            np.asarray(self.amplitudes, dtype=np.float64).tolist(), "nA", where, "amplitudes"
        )
        self.times, self.amplitudes = np.atleast_1d(self.times), np.atleast_1d(self.amplitudes)
        if self.times.shape != self.amplitudes.shape:
            raise ValidationError(
                where, "amplitudes", f"needs one amplitude per time: {self.times.size} times, {self.amplitudes.size}"
            )
        values.check_range(self.times, where, "times", "ms", at_least=0)
        if np.any(np.diff(self.times) <= 0):
            bad = int(np.argmax(np.diff(self.times) <= 0))
            raise ValidationError(
                where, "times", f"must be increasing ({self.times[bad]:g} then {self.times[bad + 1]:g} ms)"
            )

    def on_grid(self, dt: float) -> "StepCurrentSource":
        """The times rounded to the nearest tick; of times landing on one tick the last one's amplitude
        stays."""
        ticks = np.round(self.times / dt).astype(np.int64)
        last = np.append(ticks[1:] != ticks[:-1], True) if ticks.size else np.empty(0, dtype=bool)
        return StepCurrentSource(ticks[last] * dt, self.amplitudes[last])

    def check(self, semantics, where: str):
        semantics.ticks(self.times, where, "times")

    def per_tick(self, first, stop, semantics, rng_key, where):
        ticks = np.arange(first, stop, dtype=np.int64)
        changes = np.atleast_1d(semantics.ticks(self.times, where, "times"))
        index = np.searchsorted(changes, ticks, side="right") - 1
        return np.where(index >= 0, np.append(self.amplitudes, 0.0)[index], 0.0)


CURRENT_SOURCES = {cls.kind: cls for cls in (DCSource, StepCurrentSource, ACSource, NoisyCurrentSource)}


@dataclass(eq=False)
class CurrentInjection:
    """A current source injected into the neurons ``neurons`` (indices; None: all) of a population."""

    label: str
    population: str
    source: CurrentSource
    neurons: np.ndarray | None = None

    FIELDS = ("label", "population", "source", "neurons")

    def __post_init__(self):
        self.label = values.label(self.label, "current source")
        where = f"current source '{self.label}'"
        self.population = values.label(self.population, where, "population")
        if not isinstance(self.source, CurrentSource):
            raise ValidationError(where, "source", f"expected a current source, got {self.source!r}")
        if self.neurons is not None:
            self.neurons = values.index_array(self.neurons, where, "neurons", np.iinfo(np.int32).max, "a population")
            if np.unique(self.neurons).size != self.neurons.size:
                raise ValidationError(where, "neurons", "each neuron is given once")

    @property
    def where(self) -> str:
        return f"current source '{self.label}'"

    def rng_key(self, network_seed: int) -> tuple:
        return (network_seed, zlib.crc32(self.label.encode()))

    def amplitudes(self, first: int, stop: int, semantics, network_seed: int) -> np.ndarray:
        """The source's amplitude (nA) in each tick of ``[first, stop)``."""
        return self.source.per_tick(first, stop, semantics, self.rng_key(network_seed), self.where)

    def targets(self, size: int) -> np.ndarray:
        return np.arange(size) if self.neurons is None else self.neurons

    def to_dict(self) -> dict:
        data = {"label": self.label, "population": self.population, "source": self.source.to_dict()}
        if self.neurons is not None:
            data["neurons"] = self.neurons.tolist()
        return data

    @classmethod
    def from_dict(cls, data) -> "CurrentInjection":
        where = f"current source '{data.get('label')}'" if isinstance(data, dict) else "current source"
        values.check_keys(data, cls.FIELDS, where, required=("label", "population", "source"))
        source = data["source"]
        if not isinstance(source, dict) or source.get("kind") not in CURRENT_SOURCES:
            raise ValidationError(where, "source.kind", f"expected one of {', '.join(CURRENT_SOURCES)}")
        kind = CURRENT_SOURCES[source["kind"]]
        values.check_keys(source, ("kind", *kind.FIELDS), f"{where} source")
        try:
            made = kind(**{k: v for k, v in source.items() if k != "kind"})
        except ValidationError as error:
            raise ValidationError(where, f"source.{error.field}", error.message) from None
        return cls(data["label"], data["population"], made, data.get("neurons"))


def injected_current(network, label: str, first: int, stop: int) -> np.ndarray:
    """Every neuron of population ``label``'s summed injected current (nA), ticks ``[first, stop)`` x
    neurons (float64: the float reference's sum)."""
    size = network.size_of(label)
    total = np.zeros((stop - first, size))
    for injection in network.injections.values():
        if injection.population == label:
            total[:, injection.targets(size)] += injection.amplitudes(first, stop, network.semantics, network.seed)[
                :, None
            ]
    return total
