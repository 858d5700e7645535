"""Structural plasticity on the reference, over slot tables: memory O(N_post s_max), not O(N_pre N_post).

A Brian2 synapse cannot change its pre neuron during a run, so a structural projection's synapses are
its slots (synapse ``post * s_max + slot``, onto post neuron ``post``), driven by a relay: a group of one
neuron per slot that fires in the tick its slot's pre neuron fires. A network operation right after
the thresholds sets which relay neurons fire, from the pre group's spikes of the tick and the slot
table (-1: empty, never fires); the relay's threshold runs next, before any synapse. A slot of delay
``d`` ticks fires its relay neuron ``d - 1`` ticks after its pre neuron's spike (the slot synapses take
the last tick, as every Brian2 synapse here), from a ring of pending firings filled at the spike: a
spike in flight arrives even when its slot is emptied meanwhile, as on the chip. So delivery and
STDP on a structural projection are the same Brian2 synapse code as on any projection (per synapse,
``on_pre`` / ``on_post``), and the reference stays an implementation independent of the targets'.
At the start of each tick a network operation runs the network's StructuralEngine (the one decision
procedure every backend shares) and applies its events to the tables, and the alive masks of
populations with turnover.

A formed synapse takes over its slot and joins its pre neuron's row, as sPyNNaker's does: the pre
neuron's trace and last spike come from the projection's rows (a Synapses of one synapse per pre
neuron running the projection's own pre-spike trace code); with float STDP it also takes the
potentiation the post neuron's events gave since that spike, summed from the post neuron's spikes.

Rejected: every candidate pair as a synapse with an ``exists`` flag (O(N_pre N_post): 16.7 M synapses per
projection at 4,096 neurons); synapses for the pairs that can form only (a pair forms when a uniform
draw falls below its probability, so any pair with a probability above 0 can: with Gaussian tails
nearly every pair, and coincidence wiring has no distance at all); delivery and STDP in numpy (a
second copy of the targets' arithmetic, no longer an independent check).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import brian2 as b2
import numpy as np

from neurodeploy.backends.brian2.context import BuildContext
from neurodeploy.description import Network, Projection, StructuralEngine
from neurodeploy.description.structural import slot_synapses, slot_table


@dataclass(eq=False)
class Slots:
    """A structural projection's slots: the table (post x s_max: pre neuron or -1) and each slot's delay
    in ticks, the pre group, the relay firing the slots' synapses, the firings pending for the ticks to
    come (longest delay x slots, by tick modulo that delay), and the pre neurons' rows (plastic projections)."""

    table: np.ndarray
    delay: np.ndarray
    source: object
    relay: b2.NeuronGroup
    pending: np.ndarray
    rows: b2.Synapses | None = None
    tick: int = 0

    def fire(self):
        """The relay fires the slots whose pre neuron's spike reaches them in this tick."""
        spiked = np.zeros(self.source.N + 1, dtype=bool)  # the last entry for the empty slots' -1
        spiked[self.source.spikes] = True
        sent = spiked[self.table.reshape(-1)]
        depth = len(self.pending)
        if depth == 1:
            self.relay.variables["fired"].get_value()[:] = sent
            return
        delays = self.delay.reshape(-1)
        for delay in np.unique(delays[sent]).tolist():
            self.pending[(self.tick + delay - 1) % depth] |= sent & (delays == delay)
        now = self.tick % depth
        self.relay.variables["fired"].get_value()[:] = self.pending[now]
        self.pending[now] = False
        self.tick += 1


def slot_relay(projection: Projection, context: BuildContext, source, name: str) -> b2.NeuronGroup:
    """The relay a structural projection's synapses run from (the module docstring)."""
    network = context.network
    connections = network.connections(projection.label)
    table = slot_table(network, projection.label, connections.pre.astype(np.int64), -1)
    rule, where = projection.structural, f"projection '{projection.label}'"
    longest = rule.delay_ticks(network.semantics, where)[1] if hasattr(rule, "delay_ticks") else 1
    relay = b2.NeuronGroup(
        table.size,
        "fired : boolean",
        threshold="fired",
        clock=context.clock,
        order=2,
        name=f"{name}_slots",
        namespace={},
    )
    pending = np.zeros((longest, table.size), dtype=bool)
    context.slots[projection.label] = Slots(table, np.ones_like(table), source, relay, pending)
    return relay


def connect_slots(synapses: b2.Synapses, network: Network, projection: Projection) -> None:
    """Synapse ``post * s_max + slot`` from relay neuron ``post * s_max + slot`` to ``post``; the
    connector's synapses with their weights, in their slots."""
    s_max, n_post = projection.structural.s_max, network.size_of(projection.post)
    synapses.connect(i=np.arange(n_post * s_max), j=np.repeat(np.arange(n_post), s_max))
    if not np.array_equal(synapses.i[:], np.arange(n_post * s_max)):
        raise RuntimeError("Brian2 reordered synapses; slots would be misassigned")
    synapses.w = slot_table(network, projection.label, network.connections(projection.label).weight, 0.0).reshape(-1)


def pre_rows(
    projection: Projection,
    context: BuildContext,
    source,
    target,
    variables: str,
    on_pre: str,
    namespace: dict,
    name: str,
):
    """The pre neurons' rows of a plastic structural projection: one synapse per pre neuron (onto the
    first post neuron, which it leaves alone) running the projection's pre-spike trace code."""
    rows = b2.Synapses(
        source, target, variables, on_pre=on_pre, clock=context.clock, name=f"{name}_rows", namespace=namespace
    )
    rows.connect(i=np.arange(source.N), j=0)
    context.slots[projection.label].rows = rows


class Rewiring:
    """The engine driven from Brian2: previous tick's spikes from monitors, events applied to the slots."""

    def __init__(self, network: Network, synapses: dict[str, b2.Synapses], groups: dict, context: BuildContext):
        self.network, self.synapses, self.clock, self.at_rest = network, synapses, context.clock, context.at_rest
        self.slots = context.slots
        self.engine = StructuralEngine.for_network(network)
        self.groups = groups
        labels = (
            {getattr(network.projections[label], end) for label in self.engine.projections for end in ("pre", "post")}
            | set(self.engine.turnovers)
            | {p.pre for p in network.projections.values() if p.post in self.engine.turnovers}
        )
        for label, turnover in self.engine.turnovers.items():
            groups[label].alive = turnover.alive.astype(float)
        self.monitors = {label: b2.SpikeMonitor(groups[label], record=True) for label in labels}
        self.seen = {label: 0 for label in labels}
        # float STDP: the post neurons' spike ticks, for the potentiation a formed synapse takes
        self.post_ticks = {
            p.post: [[] for _ in range(network.size_of(p.post))]
            for label, p in network.projections.items()
            if label in self.slots and p.plasticity is not None and p.plasticity.arithmetic is None
        }
        self.operation = b2.NetworkOperation(self._step, when="start", clock=context.clock)
        self.relays = b2.NetworkOperation(self._fire, when="thresholds", order=1, clock=context.clock)

    @property
    def objects(self) -> list:
        return [
            self.operation,
            self.relays,
            *self.monitors.values(),
            *(item for slots in self.slots.values() for item in (slots.relay, slots.rows) if item is not None),
        ]

    def synapses_of(self, label: str) -> dict:
        """A structural projection's synapses now and their weights, by post then pre."""
        table = self.slots[label].table
        return slot_synapses(table, np.asarray(self.synapses[label].w[:]).reshape(table.shape))

    def _fire(self):
        for slots in self.slots.values():
            slots.fire()

    def _previous_spikes(self) -> dict[str, np.ndarray]:
        spikes = {}
        for label, monitor in self.monitors.items():
            count = monitor.num_spikes
            spikes[label] = np.unique(np.asarray(monitor.i[self.seen[label] : count]))
            self.seen[label] = count
        return spikes

    def _slot_weights(self, label: str) -> np.ndarray | None:
        """Current weights of a plastic projection's slots (post x s_max), for elimination by weight
        (static ones keep their described weights: None)."""
        if self.network.projections[label].plasticity is None:
            return None
        table = self.slots[label].table
        return np.where(table < 0, 0.0, np.asarray(self.synapses[label].w[:]).reshape(table.shape))

    def _step(self):
        tick = int(round(float(self.clock.t / self.clock.dt)))
        previous = self._previous_spikes()
        for label, ticks in self.post_ticks.items():
            for neuron in previous[label].tolist():
                ticks[neuron].append(tick - 1)
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
            slots = self.slots[event.projection]
            index = event.post * slots.table.shape[1] + event.slot
            if event.kind == "eliminate":
                slots.table[event.post, event.slot] = -1
                continue
            slots.table[event.post, event.slot] = event.pre
            slots.delay[event.post, event.slot] = event.delay
            self._join_row(tick, event.projection, index, event.pre, event.post)

    def _join_row(self, tick: int, label: str, index: int, pre: int, post: int):
        """A synapse formed in slot ``index`` at the start of ``tick``: the initial weight, and with STDP
        its pre neuron's row state, as if it had held the initial weight since that neuron's last spike."""
        synapses, rows = self.synapses[label], self.slots[label].rows
        projection = self.network.projections[label]
        weight = projection.structural.initial_weight
        synapses.w[index] = weight
        rule = projection.plasticity
        if rule is None:
            return
        if rule.arithmetic is not None:  # its update covers the last pre spike on
            synapses.w_acc[index] = rule.arithmetic.units(weight, f"projection '{label}'", "weight")
            synapses.r0[index], synapses.t0[index] = rows.r0[pre], rows.t0[pre]
            return
        trace, last = float(rows.r[pre]), int(rows.t_pre_last[pre])
        synapses.r[index], synapses.t_pre_last[index] = trace, last
        semantics = rule.semantics
        shift = 1 if semantics.post_spike_shift == "synaptic_delay" else 0  # post events seen 1 tick late
        # post events processed after the pre spike's update (at its tick too, unless post ones go first)
        # and before this tick: the potentiation the pair's synapse would have gathered since
        ticks = self.post_ticks[projection.post][post]
        first = last - shift + (1 if semantics.coincident_spikes == "post_first" else 0)
        pending = 0.0
        for spike in ticks[bisect.bisect_left(ticks, first) : bisect.bisect_right(ticks, tick - 1 - shift)]:
            pending += (
                rule.amplitudes[0] * trace * np.exp(-(spike + shift - last) * self.network.semantics.dt / rule.tau_plus)
            )
        synapses.w_run[index] = min(weight + pending, rule.w_max)
        if semantics.weight_update == "at_each_spike":
            synapses.w[index] = synapses.w_run[index]
