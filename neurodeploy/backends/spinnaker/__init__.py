"""The SpiNNaker target: the PyNN graph for sPyNNaker 7.x, its design rules and quantization, mapping on
sPyNNaker's virtual board, and (without a board) a fixed-point emulation of its kernels."""

from __future__ import annotations

import math
import time

import numpy as np

from neurodeploy.backends import Backend, refuse_plastic_weight_changes
from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.kernel import Emulator
from neurodeploy.backends.spinnaker.quantize import ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_semantics
from neurodeploy.description import Network, resources
from neurodeploy.errors import BackendError
from neurodeploy.results import Progress, RunResult, SpikeRecord


class SpinnakerBackend(Backend):
    name = "spinnaker"
    summary = "SpiNNaker (sPyNNaker 7.x): s16.15 fixed-point emulation of its kernels, bit-faithful without a board"

    def run(self, network: Network, duration_ms: float, progress: Progress | None = None) -> RunResult:
        network.validate()
        refuse_plastic_weight_changes(network, self.name)
        stages = [stage.network for stage in network.stages()]
        errors = [
            finding for stage in [network, *stages] for finding in check_semantics(stage) if finding.level == "error"
        ]
        if errors:
            raise BackendError("; ".join(f"{finding.subject}: {finding.message}" for finding in errors))
        ticks = network.semantics.duration_ticks(duration_ms)
        graph = lower(network)
        scaling = widest_scaling([ring_buffer_scaling(graph), *(ring_buffer_scaling(lower(stage)) for stage in stages)])
        record_v = [label for label, variables in network.recordings.items() if "v" in variables]
        started = time.perf_counter()
        emulated = Emulator(network, graph, scaling).run(ticks, record_v, progress)
        wall = time.perf_counter() - started
        # In the order the network records them (a set would follow the hash seed, and so would spikes.json).
        recorded = [label for label, variables in network.recordings.items() if "spikes" in variables]
        record = SpikeRecord.from_ticks(
            network.semantics.dt,
            ticks * network.semantics.dt,
            self.name,
            {label: (network.size_of(label), *_flatten(emulated.spikes[label])) for label in recorded},
        )
        return RunResult(
            record,
            {label: {"v": trace} for label, trace in emulated.traces.items()},
            emulated.weights,
            versions={"spynnaker_semantics": "7.4.1", "numpy": np.__version__},
            details={
                "mode": "fixed-point emulation",
                "simulation_wall_time_s": wall,
                "ring_buffer_shifts": {label: [s.shift for s in pair] for label, pair in scaling.items()},
            },
            structural=emulated.structural,
        )

    def estimate_memory(self, network: Network, duration_ms: float) -> resources.MemoryEstimate:
        estimate = resources.estimate(network, duration_ms, f"{self.name} backend", COSTS)
        for population in network.populations.values():
            delays = [
                resources.max_delay_ticks(network, p)
                for p in network.projections.values()
                if p.post == population.label
            ]
            slots = 2.0 ** math.ceil(math.log2(max(delays, default=1.0) + 1))
            estimate.add(
                f"population '{population.label}'",
                f"ring buffers of {resources.count_text(slots)} ticks",
                slots * RING_BUFFER_BYTES_PER_NEURON_TICK * population.size,
            )
        return estimate


COSTS = resources.Costs(
    baseline=80e6,
    per_neuron=400,
    per_synapse=150,
    per_plastic_synapse=600,
    per_recorded_value=12,
    per_recorded_spike=96,
    per_source_spike=190,
)
"""Bytes per item on the emulation, measured and rounded up (docs/reliability.md); an STDP synapse holds
all of one tick's updates at once."""

RING_BUFFER_BYTES_PER_NEURON_TICK = 16
"""Two receptors of int64 per neuron, for a power of two of ticks above the longest delay (allocated
whole, though untouched slots are not resident)."""


def widest_scaling(scalings: list[dict]) -> dict:
    """One ring-buffer scaling for a run whose weights change: per population and receptor, the largest
    shift sPyNNaker chooses for any of the run's stages, so that every stage's weights fit."""
    return {
        label: tuple(
            max((scaling[label][receptor] for scaling in scalings), key=lambda chosen: chosen.shift)
            for receptor in range(len(pair))
        )
        for label, pair in scalings[0].items()
    }


def _flatten(events):
    if not events:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    neurons = np.concatenate([neurons for _, neurons in events])
    ticks = np.concatenate([np.full(len(neurons), t) for t, neurons in events])
    return neurons, ticks
