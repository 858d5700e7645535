"""Where two runs of one model part: the first tick at which a neuron's spike train differs, and which
spikes of each run the other lacks in the same tick (what the rasters mark)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.results import SpikeRecord


@dataclass(frozen=True)
class Divergence:
    """The first tick at which ``run`` and ``reference`` differ: the earliest tick at which some neuron spikes in
    one and not the other (ties: the first population in the record's order, then the lowest neuron)."""

    tick: int
    population: str
    neuron: int
    run_spiked: bool
    """Whether the run has the spike the reference lacks there (else the reference has it)."""


def first_divergence(run: SpikeRecord, reference: SpikeRecord, populations) -> Divergence | None:
    """The first divergence among ``populations`` (None: identical spike trains)."""
    first = None
    for label in populations:
        for neuron, (ours, theirs) in enumerate(zip(run.ticks(label), reference.ticks(label))):
            if np.array_equal(ours, theirs):
                continue
            tick = int(np.setxor1d(ours, theirs)[0])
            if first is None or tick < first.tick:
                first = Divergence(tick, label, neuron, bool(np.isin(tick, ours)))
    return first


def unmatched(ours: list[np.ndarray], theirs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(tick, neuron) of the spikes in ``ours`` (tick indices per neuron) with no spike of the same neuron in
    the same tick in ``theirs``: two arrays."""
    ticks, neurons = [], []
    for neuron, (a, b) in enumerate(zip(ours, theirs)):
        alone = np.setdiff1d(a, b, assume_unique=True)
        ticks.append(alone)
        neurons.append(np.full(alone.size, neuron))
    if not ticks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(ticks).astype(np.int64), np.concatenate(neurons).astype(np.int64)
