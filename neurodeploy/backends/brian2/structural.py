"""Structural plasticity on the reference: every candidate pair is a Brian2 synapse with an ``exists``
flag; at the start of each tick a network operation runs the network's StructuralEngine (the one
decision procedure every backend shares) and sets the flags and weights it decides, and the alive
masks of populations with turnover."""
from __future__ import annotations

import brian2 as b2
import numpy as np

from neurodeploy.description import Network, Projection, StructuralEngine


def connect_candidates(synapses: b2.Synapses, network: Network, projection: Projection) -> None:
    """Synapse ``pre * n_post + post`` for every pair; the connector's pairs exist with their weights."""
    n_pre, n_post = network.size_of(projection.pre), network.size_of(projection.post)
    synapses.connect(i=np.repeat(np.arange(n_pre), n_post), j=np.tile(np.arange(n_post), n_pre))
    connections = network.connections(projection.label)
    index = connections.pre * n_post + connections.post
    exists = np.zeros(n_pre * n_post)
    exists[index] = 1.0
    weights = np.zeros(n_pre * n_post)
    weights[index] = connections.weight
    synapses.exists = exists
    synapses.w = weights


class Rewiring:
    """The engine driven from Brian2: previous tick's spikes from monitors, events applied to flags."""

    def __init__(self, network: Network, synapses: dict[str, b2.Synapses], groups: dict, clock: b2.Clock,
                 at_rest: dict):
        self.network, self.synapses, self.clock, self.at_rest = network, synapses, clock, at_rest
        self.engine = StructuralEngine.for_network(network)
        self.groups = groups
        labels = {getattr(network.projections[label], end) for label in self.engine.projections
                  for end in ("pre", "post")} | set(self.engine.turnovers) | {
                      p.pre for p in network.projections.values() if p.post in self.engine.turnovers}
        for label, turnover in self.engine.turnovers.items():
            groups[label].alive = turnover.alive.astype(float)
        self.monitors = {label: b2.SpikeMonitor(groups[label], record=True) for label in labels}
        self.seen = {label: 0 for label in labels}
        self.operation = b2.NetworkOperation(self._step, when="start", clock=clock)

    @property
    def objects(self) -> list:
        return [self.operation, *self.monitors.values()]

    def _previous_spikes(self) -> dict[str, np.ndarray]:
        spikes = {}
        for label, monitor in self.monitors.items():
            count = monitor.num_spikes
            spikes[label] = np.unique(np.asarray(monitor.i[self.seen[label]:count]))
            self.seen[label] = count
        return spikes

    def _slot_weights(self, label: str) -> np.ndarray | None:
        """Current weights of a plastic projection's slots (post x s_max), for elimination by weight
        (static ones keep their described weights: None)."""
        if self.network.projections[label].plasticity is None:
            return None
        slots = self.engine.projections[label].pre
        n_post = slots.shape[0]
        occupied = slots >= 0
        weights = np.zeros(slots.shape)
        weights[occupied] = np.asarray(self.synapses[label].w[:])[(slots * n_post + np.arange(n_post)[:, None])[occupied]]
        return weights

    def _step(self):
        tick = int(round(float(self.clock.t / self.clock.dt)))
        previous = self._previous_spikes()
        events = self.engine.step(tick, previous.__getitem__, self._slot_weights)
        for label, turnover in self.engine.turnovers.items():
            group = self.groups[label]
            group.alive = turnover.alive.astype(float)
            born = self.engine.born.get(label)
            if born is not None:  # its membrane at rest, no input
                for variable, expression in self.at_rest[label].items():
                    getattr(group, variable)[born] = expression
                group.syn_exc[born] = group.syn_inh[born] = 0.0
        for event in events:
            synapses = self.synapses[event.projection]
            projection = self.network.projections[event.projection]
            index = event.pre * self.network.size_of(projection.post) + event.post
            if event.kind == "eliminate":
                synapses.exists[index] = 0.0
                continue
            synapses.exists[index] = 1.0
            weight = projection.structural.initial_weight
            synapses.w[index] = weight
            rule = projection.plasticity
            if rule is not None and rule.arithmetic is not None:  # its update covers the last pre spike on
                synapses.w_acc[index] = rule.arithmetic.units(weight, f"projection '{event.projection}'", "weight")
            elif rule is not None:  # as if held since the pre neuron's last spike
                synapses.w_run[index] = min(weight + float(synapses.pending[index]), rule.w_max)
                if rule.semantics.weight_update == "at_each_spike":
                    synapses.w[index] = synapses.w_run[index]
