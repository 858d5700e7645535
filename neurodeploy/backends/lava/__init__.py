"""The Loihi-class target: Lava process graphs run on Lava's bit-accurate (fixed_pt) CPU models, with
our own integer processes where Lava's stock ones do not compute what the model means."""
from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import metadata

import numpy as np

from neurodeploy.backends import Backend
from neurodeploy.backends.lava.cells import CellFixed, population_fixed
from neurodeploy.backends.lava.graph import LavaGraph
from neurodeploy.backends.lava.quantize import ProjectionFixed, projection_fixed, quantization_aware
from neurodeploy.backends.lava.rules import check_fixed
from neurodeploy.description import Network, resources
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


def lower(network: Network) -> Lowered:
    network.validate()
    populations = population_fixed(network)
    projections = projection_fixed(network, populations)
    stock = {label for label, fixed in populations.items() if fixed.runs_on_stock_lif(network, label)}
    return Lowered(network, populations, projections, stock)


class LavaBackend(Backend):
    name = "lava"
    summary = "Loihi-class: Lava process graph on Lava's bit-accurate fixed_pt models (plus our integer processes)"

    def run(self, network: Network, duration_ms: float, progress: Progress | None = None) -> RunResult:
        lowered = lower(network)
        errors = [f for f in check_fixed(network, lowered.populations, lowered.projections, None) if f.level == "error"]
        if errors:
            raise BackendError("; ".join(f"{f.subject}: {f.message}" for f in errors))
        ticks = network.semantics.duration_ticks(duration_ms)
        started = time.perf_counter()
        graph = LavaGraph(network, lowered.populations, lowered.projections, lowered.stock, ticks)
        built = time.perf_counter()
        run = graph.run(progress)
        finished = time.perf_counter()
        record = SpikeRecord.from_ticks(network.semantics.dt, ticks * network.semantics.dt, self.name, {
            label: (network.size_of(label), neurons, ticks_) for label, (neurons, ticks_) in run.spikes.items()})
        plastic = {}
        for label, (mantissas, pre) in run.weights.items():
            fixed = lowered.projections[label]
            structural = network.projections[label].structural
            if structural is not None:
                plastic[label] = slot_synapses(pre.reshape(-1, structural.s_max),
                                               mantissas.reshape(-1, structural.s_max) * fixed.weight_unit)
            else:
                plastic[label] = {"pre": network.connections(label).pre, "post": network.connections(label).post,
                                  "weight": mantissas * fixed.unit}
        return RunResult(record, {label: {"v": v} for label, v in run.voltages.items()}, plastic,
                         versions={"lava-nc": metadata.version("lava-nc"),
                                   "numpy": np.__version__},
                         details={"mode": "Lava fixed_pt (CPU)", "stock_lif": sorted(lowered.stock),
                                  "build_s": built - started, "simulation_wall_time_s": finished - built},
                         structural=structural_document(network, run.events, run.turnover)
                         if graph.structural or run.turnover else None)

    def estimate_memory(self, network: Network, duration_ms: float) -> resources.MemoryEstimate:
        return resources.estimate(network, duration_ms, f"{self.name} backend", COSTS)


COSTS = resources.Costs(
    baseline=400e6, per_neuron=2000, per_synapse=700, per_plastic_synapse=1400, per_recorded_value=48,
    per_recorded_spike=0, per_source_spike=160, per_delay_slot=0, per_recorded_neuron_tick=16,
    per_source_neuron_tick=16)
"""Bytes per item over the process and its Lava workers, measured and rounded up (docs/reliability.md) when
a spike source and its recorder both held every tick: the source still does, the recorders' pipes now hold
one run of a chunk of ticks (at most ``graph.PIPES_BYTES`` together), so per recorded neuron tick this is an
upper bound. Plastic synapses are taken at twice the static cost (not measured)."""
