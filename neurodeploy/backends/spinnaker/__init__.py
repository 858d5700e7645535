"""The SpiNNaker target: the PyNN graph for sPyNNaker 7.x, its design rules and quantization, mapping on
sPyNNaker's virtual board, and (without a board) a fixed-point emulation of its kernels."""

from __future__ import annotations

import math
import time

import numpy as np

from neurodeploy.backends import Backend, refuse_plastic_weight_changes
from neurodeploy.backends.spinnaker.fixedpoint import DEFAULT_PROFILE, ENCODING_PROFILES
from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.kernel import Emulator
from neurodeploy.backends.spinnaker.quantize import ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_semantics
from neurodeploy.description import Network, resources, values
from neurodeploy.description.cells import RECORDING_CONVENTIONS
from neurodeploy.errors import BackendError
from neurodeploy.results import Progress, RunResult, SpikeRecord, enter_stage


class SpinnakerBackend(Backend):
    """``recording``: when in a tick V and the synaptic state are sampled (``end_of_tick``, or ``spynnaker``
    as a board records them; :data:`RECORDING_CONVENTIONS`). ``encoding``: the sPyNNaker version whose
    host-side encoding of the neuron and synapse constants the emulation follows (:data:`ENCODING_PROFILES`)."""

    name = "spinnaker"
    summary = "SpiNNaker (sPyNNaker 7.x): s16.15 fixed-point emulation of its kernels, bit-faithful without a board"
    options = {
        "recording": (tuple(RECORDING_CONVENTIONS), "end_of_tick"),
        "encoding": (tuple(ENCODING_PROFILES), DEFAULT_PROFILE),
    }

    def __init__(self, recording: str = "end_of_tick", encoding: str = DEFAULT_PROFILE):
        where = f"backend '{self.name}'"
        self.recording = values.choice(recording, tuple(RECORDING_CONVENTIONS), where, "recording")
        self.encoding = values.choice(encoding, tuple(ENCODING_PROFILES), where, "encoding")

    def run(self, network: Network, duration_ms: float, progress: Progress | None = None) -> RunResult:
        enter_stage(progress, "build")
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
        started = time.perf_counter()
        emulator = Emulator(network, graph, scaling, self.encoding)
        enter_stage(progress, "simulate")
        emulated = emulator.run(ticks, network.recordings, progress, self.recording)
        wall = time.perf_counter() - started
        enter_stage(progress, "read_back")
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
            emulated.traces,
            emulated.weights,
            versions={"spynnaker_semantics": "7.4.1", "numpy": np.__version__},
            details={
                "mode": "fixed-point emulation",
                "recording": self.recording,
                "encoding": self.encoding,
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
    baseline=220e6,  # with numba and llvmlite loaded for the compiled kernels
    per_neuron=400,
    per_synapse=150,
    per_plastic_synapse=600,
    per_recorded_value=12,
    per_recorded_spike=96,
    per_source_spike=190,
)
"""Bytes per item on the emulation, measured and rounded up (docs/reliability.md); an STDP synapse holds
all of one tick's updates at once."""

RING_BUFFER_BYTES_PER_NEURON_TICK = 4
"""Two receptors of uint16 per neuron, for a power of two of ticks above the longest delay (allocated
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
    ticks = np.repeat(np.array([t for t, _ in events], dtype=np.int64), [len(neurons) for _, neurons in events])
    return neurons, ticks
