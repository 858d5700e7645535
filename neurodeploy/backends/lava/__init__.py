"""The Loihi-class target: Lava process graphs run on Lava's bit-accurate (fixed_pt) CPU models, with
our own integer processes where Lava's stock ones do not compute what the model means.

This process lowers the network (the integers, the checks, the quantization-aware reference); Lava runs
in a worker process in the Lava environment (:mod:`.launcher`, :mod:`.worker`), which needs Python 3.10
and numpy 1.x: no module imported here imports Lava."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neurodeploy.backends import Backend, refuse_changes
from neurodeploy.backends.lava.cells import QUANTIZATIONS, CellFixed, numbers_from, population_fixed
from neurodeploy.backends.lava.environment import LavaEnvironment, default_location
from neurodeploy.backends.lava.quantize import ProjectionFixed, projection_fixed, quantization_aware
from neurodeploy.backends.lava.rules import check_fixed
from neurodeploy.description import Network, resources, values
from neurodeploy.description.structural import slot_synapses, structural_document
from neurodeploy.errors import BackendError
from neurodeploy.results import Progress, RunResult, SpikeRecord


@dataclass(eq=False)
class Lowered:
    """A network in the integers the Lava processes use (each population's its cell type's, :mod:`.cells`),
    and which populations run on stock LIF."""

    network: Network
    populations: dict[str, CellFixed]
    projections: dict[str, ProjectionFixed]
    stock: set[str]

    def reference_network(self) -> Network:
        return quantization_aware(self.network, self.populations, self.projections, self.stock)


def lower(network: Network, quantization: str = "neurodeploy") -> Lowered:
    """``quantization``: ``neurodeploy`` (our integers, :mod:`.cells`) or ``nir-paper`` (the NIR paper's
    conversion of a NIR LIF to Lava's stock LIF: :class:`.cells.NirPaperLIFFixed`)."""
    network.validate()
    populations = population_fixed(network, quantization)
    projections = projection_fixed(network, populations)
    stock = {label for label, fixed in populations.items() if fixed.runs_on_stock_lif(network, label)}
    return Lowered(network, populations, projections, stock)


def parameter_arrays(lowered: Lowered) -> dict[str, np.ndarray]:
    """The lowered numbers by name: the compile's ``lava_parameters.npz``, what the worker runs."""
    return {
        **{
            f"population.{label}.{name}": np.asarray(value)
            for label, fixed in lowered.populations.items()
            for name, value in fixed.arrays().items()
        },
        **{
            f"projection.{label}.{name}": np.asarray(value)
            for label, fixed in lowered.projections.items()
            for name, value in vars(fixed).items()
        },
    }


def write_parameters(lowered: Lowered, path: Path) -> None:
    with open(path, "wb") as file:
        np.savez(file, **parameter_arrays(lowered))


def number_types(lowered: Lowered) -> dict:
    """What the parameter file does not say: each population's class of numbers (and of its input's), and
    which populations run on Lava's stock LIF."""
    return {
        "populations": {label: fixed.types() for label, fixed in lowered.populations.items()},
        "stock": sorted(lowered.stock),
    }


def lowered_from(network: Network, types: dict, arrays: dict[str, np.ndarray]) -> Lowered:
    """The lowered network rebuilt from ``number_types`` and the parameter file, as the main process made
    it (the worker lowers nothing itself: a cell type defined in the user's script, which the description
    names by its base, and another numpy are no concern of its)."""
    grouped: dict[tuple[str, str], dict] = {}
    for name, value in arrays.items():
        kind, rest = name.split(".", 1)
        label, field_name = rest.rsplit(".", 1)  # labels may hold dots, field names do not
        grouped.setdefault((kind, label), {})[field_name] = value.item() if value.ndim == 0 else value
    try:
        populations = {
            label: numbers_from(names, grouped[("population", label)]) for label, names in types["populations"].items()
        }
        projections = {label: ProjectionFixed(**grouped[("projection", label)]) for label in network.projections}
    except (KeyError, TypeError) as error:
        raise BackendError(f"the compiled parameters do not hold the lowered network: {error}") from None
    return Lowered(network, populations, projections, set(types["stock"]))


class LavaBackend(Backend):
    name = "lava"
    summary = (
        "Loihi-class: Lava process graph on Lava's bit-accurate fixed_pt models (plus our integer processes), "
        "in the Lava environment's worker"
    )
    options = {"timeout": (None, None), "quantization": (QUANTIZATIONS, "neurodeploy")}

    def __init__(self, timeout: float | None = None, quantization: str = "neurodeploy"):
        self.quantization = values.choice(quantization, QUANTIZATIONS, f"backend '{self.name}'", "quantization")
        self.timeout_s = None if timeout is None else values.number(timeout, "s", f"backend '{self.name}'", "timeout")
        if self.timeout_s is not None:
            values.check_range(self.timeout_s, f"backend '{self.name}'", "timeout", "s", above=0)

    @classmethod
    def unavailable(cls) -> str | None:
        return LavaEnvironment(default_location()).problem()

    def run(
        self, network: Network, duration_ms: float, progress: Progress | None = None, parameters: Path | None = None
    ) -> RunResult:
        """``parameters``: the compile's ``lava_parameters.npz``, when run from one."""
        from neurodeploy.backends.lava.launcher import run_in_worker

        refuse_changes(network, f"the {self.name} backend")
        lowered = lower(network, self.quantization)
        errors = [f for f in check_fixed(network, lowered.populations, lowered.projections, None) if f.level == "error"]
        if errors:
            raise BackendError("; ".join(f"{f.subject}: {f.message}" for f in errors))
        ticks = network.semantics.duration_ticks(duration_ms)
        run = run_in_worker(lowered, ticks, progress, parameters=parameters, timeout_s=self.timeout_s)
        record = SpikeRecord.from_ticks(
            network.semantics.dt,
            ticks * network.semantics.dt,
            self.name,
            {label: (network.size_of(label), neurons, ticks_) for label, (neurons, ticks_) in run.spikes.items()},
        )
        plastic = {}
        for label, (mantissas, pre) in run.weights.items():
            fixed = lowered.projections[label]
            structural = network.projections[label].structural
            if structural is not None:
                plastic[label] = slot_synapses(
                    pre.reshape(-1, structural.s_max), mantissas.reshape(-1, structural.s_max) * fixed.weight_unit
                )
            else:
                plastic[label] = {
                    "pre": network.connections(label).pre,
                    "post": network.connections(label).post,
                    "weight": mantissas * fixed.unit,
                }
        return RunResult(
            record,
            {label: {"v": v} for label, v in run.voltages.items()},
            plastic,
            versions=run.about.get("versions", {}),
            details={
                "mode": "Lava fixed_pt (CPU), in the Lava environment's worker",
                "stock_lif": sorted(lowered.stock),
                "quantization": self.quantization,
                "build_s": run.about.get("build_s"),
                "simulation_wall_time_s": run.about.get("simulation_wall_time_s"),
            },
            structural=structural_document(network, run.events, run.turnover)
            if run.about.get("structural") or run.turnover
            else None,
        )

    def estimate_memory(self, network: Network, duration_ms: float) -> resources.MemoryEstimate:
        return resources.estimate(network, duration_ms, f"{self.name} backend", COSTS)


COSTS = resources.Costs(
    baseline=400e6,
    per_neuron=2000,
    per_synapse=700,
    per_plastic_synapse=1400,
    per_recorded_value=48,
    per_recorded_spike=0,
    per_source_spike=160,
    per_delay_slot=0,
    per_recorded_neuron_tick=16,
    per_source_neuron_tick=16,
)
"""Bytes per item over the process and its Lava workers, measured and rounded up (docs/reliability.md) when
a spike source and its recorder both held every tick: the source still does, the recorders' pipes now hold
one run of a chunk of ticks (at most ``graph.PIPES_BYTES`` together), so per recorded neuron tick this is an
upper bound. Plastic synapses are taken at twice the static cost (not measured)."""
