"""Structural plasticity on the reference, over slot tables: memory O(N_post s_max), not O(N_pre N_post).

A Brian2 synapse cannot change its pre neuron during a run, so a structural projection's synapses are
its slots (synapse ``post * s_max + slot``, onto post neuron ``post``), driven by a relay: a group of one
neuron per slot that fires in the tick its slot's pre neuron fires. A network operation right after
the thresholds sets which relay neurons fire, from the pre group's spikes of the tick and the slot
table (-1: empty, never fires); the relay's threshold runs next, before any synapse. A slot of delay
``d`` ticks fires its relay neuron ``d - 1`` ticks after its pre neuron's spike (the slot synapses take
the last tick, as every Brian2 synapse here), from a ring of pending firings filled at the spike: a
spike in flight arrives even when its slot is emptied meanwhile, as on the chip. So delivery and
STDP on a structural projection are Brian2 synapse code per synapse, as on any projection, and the
reference stays an implementation independent of the targets'. With STDP the relay also raises the
events each slot's rule takes at its own delay, which changes when a synapse forms (``Slots``): its
update in the pre spike's tick, its delivery on arrival of the weight that update stored, and (float
rule) its post events.
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
from neurodeploy.description.structural import longest_formed_delay, slot_synapses, slot_table


@dataclass(eq=False)
class Slots:
    """A structural projection's slots: the table (post x s_max: pre neuron or -1) and each slot's delay
    in ticks, the pre group, the relay firing the slots' synapses, the firings pending for the ticks to
    come (longest delay x slots, by tick modulo that delay), and the pre neurons' rows (plastic projections).

    With STDP the relay also raises, per slot, ``sent`` in the tick its pre neuron spikes (the update's
    time; ``arrived_j`` flags the spikes arriving that were sent in a tick ``j`` modulo the longest delay,
    so a spike in flight delivers the weight its update stored, whichever synapse holds the slot by then)
    and, for the float rule, ``posted`` in the tick its post neuron's spike is processed, ``shift`` ticks
    after it (``d`` when post spikes are seen after the synaptic delay, else 0): its post event, at the
    slot's current delay, from the post spikes of the last ticks (``post_spikes``, by tick modulo its length)."""

    table: np.ndarray
    delay: np.ndarray
    source: object
    relay: b2.NeuronGroup
    pending: np.ndarray  # spikes arriving, by arrival tick and sending tick (modulo the longest delay) and slot
    rows: b2.Synapses | None = None
    tick: int = 0
    target: object = None
    post_spikes: np.ndarray | None = None  # ticks x post neurons, float STDP only
    delayed_post: bool = True  # post spikes seen after the synaptic delay

    def post_lag(self, delay):
        """Ticks from a post spike to its processing on a slot of ``delay`` ticks (updates at pre spikes)."""
        return delay if self.delayed_post else 0 * delay

    def fire(self):
        """The relay fires the slots whose pre neuron's spike reaches them in this tick."""
        spiked = np.zeros(self.source.N + 1, dtype=bool)  # the last entry for the empty slots' -1
        spiked[self.source.spikes] = True
        sent = spiked[self.table.reshape(-1)]
        if "sent" in self.relay.variables:
            self.relay.variables["sent"].get_value()[:] = sent
        if self.post_spikes is not None:
            self._post_events()
        depth = len(self.pending)
        delays = self.delay.reshape(-1)
        for delay in np.unique(delays[sent]).tolist():
            self.pending[(self.tick + delay - 1) % depth, self.tick % depth] |= sent & (delays == delay)
        now = self.tick % depth
        arriving = self.pending[now]
        self.relay.variables["fired"].get_value()[:] = arriving.any(axis=0)
        self.relay.variables["arrivals"].get_value()[:] = arriving.sum(axis=0)
        for origin in range(depth if "arrived_0" in self.relay.variables else 0):
            self.relay.variables[f"arrived_{origin}"].get_value()[:] = arriving[origin]
        arriving[:] = False
        self.tick += 1

    def _post_events(self):
        """``posted``: the slots whose post neuron spiked their post lag ago (this tick's spikes included)."""
        depth = len(self.post_spikes)
        self.post_spikes[self.tick % depth] = False
        self.post_spikes[self.tick % depth, self.target.spikes] = True
        lags = self.post_lag(self.delay.reshape(-1))
        posts = np.repeat(np.arange(self.table.shape[0]), self.table.shape[1])
        seen = (self.tick - lags >= 0) & self.post_spikes[(self.tick - lags) % depth, posts]
        self.relay.variables["posted"].get_value()[:] = seen


def slot_relay(
    projection: Projection, context: BuildContext, source, name: str, target=None, stdp: str | None = None
) -> b2.NeuronGroup:
    """The relay a structural projection's synapses run from (the module docstring); with ``stdp``
    ("float" or "fixed_point") its events for the rule (``Slots``), ``target`` the post group."""
    network = context.network
    connections = network.connections(projection.label)
    table = slot_table(network, projection.label, connections.pre.astype(np.int64), -1)
    longest = longest_formed_delay(network, projection.label)
    events = {"posted": "posted", "sent": "sent"} if stdp == "float" else {"sent": "sent"} if stdp else {}
    relay = b2.NeuronGroup(
        table.size,
        "fired : boolean\narrivals : integer"  # arrivals: spikes arriving (an emptied slot's too)
        + "".join(f"\n{event} : boolean" for event in events)
        + "".join(f"\narrived_{j} : boolean" for j in range(longest if stdp else 0)),
        threshold="fired",
        events=events,
        clock=context.clock,
        order=2,
        name=f"{name}_slots",
        namespace={},
    )
    pending = np.zeros((longest, longest, table.size), dtype=bool)
    slots = Slots(table, np.ones_like(table), source, relay, pending, target=target)
    if stdp == "float":
        slots.delayed_post = projection.plasticity.semantics.post_spike_shift == "synaptic_delay"
        slots.post_spikes = np.zeros((slots.post_lag(longest) + 1, target.N), dtype=bool)
    context.slots[projection.label] = slots
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
        self.monitors = {
            label: b2.SpikeMonitor(groups[label], record=True, name=f"{groups[label].name}_seen") for label in labels
        }
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
            synapses.d_ticks[index] = self.slots[label].delay.reshape(-1)[index]
            return
        slots, semantics, dt = self.slots[label], rule.semantics, self.network.semantics.dt
        delay = int(slots.delay.reshape(-1)[index])
        shift = slots.post_lag(delay)  # post events processed this long after their spikes
        trace, last = float(rows.r[pre]), int(rows.t_pre_last[pre])
        synapses.r[index], synapses.t_pre_last[index], synapses.post_shift[index] = trace, last, shift
        # post events processed before this tick (later ones the relay raises at this delay): the post
        # trace they left, and the potentiation of those after the pre spike's update (at its tick too,
        # unless post ones go first), which the pair's synapse would have gathered since
        ticks = self.post_ticks[projection.post][post]
        processed = ticks[: bisect.bisect_right(ticks, tick - 1 - shift)]
        post_trace = 0.0
        for before, spike in zip([None, *processed], processed):
            if before is None or semantics.traces != "all_to_all":
                post_trace = 1.0
            else:
                post_trace = post_trace * np.exp(-(spike - before) * dt / rule.tau_minus) + 1.0
        synapses.o[index] = post_trace
        synapses.t_post_last[index] = (processed[-1] if processed else 0) + shift
        first = last - shift + (1 if semantics.coincident_spikes == "post_first" else 0)
        pending = 0.0
        for spike in processed[bisect.bisect_left(processed, first) :]:
            pending += rule.amplitudes[0] * trace * np.exp(-(spike + shift - last) * dt / rule.tau_plus)
        synapses.w_run[index] = min(weight + pending, rule.w_max)
        if semantics.weight_update == "at_each_spike":
            synapses.w[index] = synapses.w_run[index]
