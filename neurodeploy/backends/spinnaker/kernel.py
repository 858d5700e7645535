"""A numpy emulation of sPyNNaker 7.x's IF_curr_exp and IF_cond_exp kernels on a combined
neuron-synapse core, vectorized over neurons and synapses. All state is integer, as on chip.

Per tick ``t``, for every population:

1. the ring-buffer slot of ``t`` is transferred: ``syn += ((w16 << shift) * init) >> 32``;
2. if ``refract <= 0``: ``alpha = (I * R >> 15) + V_rest`` with ``I = exc - inh + I_offset``, and
   ``V = alpha - (E * (alpha - V) >> 15)``; otherwise ``refract -= 1`` and V is held. For
   IF_cond_exp, ``syn`` holds 1024 g and, with the V the tick starts from,
   ``exc = ((syn_e >> 10) * (E_rev_E - V)) >> 15``, ``inh = ((-(syn_i >> 10)) * (E_rev_I - V)) >> 15``
   (input_type_conductance.h);
3. ``V >= V_thresh`` spikes (also while refractory): ``V = V_reset``, ``refract = T_refract``;
   the spike enters the post-event history of plastic synapses;
4. ``syn = (syn * decay) >> 32``.

Then every spike of tick ``t`` (neurons and spike sources) is processed: static synapses add their
16-bit weight to slot ``t + d`` (saturating at 0xFFFF); plastic synapses are first updated by the
pair rule against the post events in the window ``(t_last_pre - d, t - d]`` (sPyNNaker's deferred
update; lookup-table exponentials, int16 traces, floor everywhere, the weight floored back to 16 bits)
and deliver the updated weight.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.quantize import (CONDUCTANCE_SHIFT, GLOBAL_WEIGHT_SCALE, RECEPTORS, ReceptorScaling,
                                                      stdp_scale, weight_units, weights_from_units)
from neurodeploy.description import Network, StructuralEngine
from neurodeploy.description.structural import slot_synapses

HISTORY = fp.POST_EVENT_HISTORY


def _per_neuron(function, *columns):
    """Apply a scalar constant function to per-neuron parameter columns, once per distinct value."""
    keys = list(zip(*[np.asarray(c).tolist() for c in columns]))
    cache = {key: function(*key) for key in set(keys)}
    return np.array([cache[key] for key in keys], dtype=np.int64).reshape(len(keys), -1).T


class _Population:
    def __init__(self, population, dt: float, shifts: tuple[int, int], slots: int):
        value = population.value
        encode = np.vectorize(fp.s1615, otypes=[np.int64])
        self.size = population.size
        self.v = encode(value("v"))
        self.v_rest, self.v_reset = encode(value("v_rest")), encode(value("v_reset"))
        self.v_thresh, self.i_offset = encode(value("v_thresh")), encode(value("i_offset"))
        self.conductance = population.cell_type == "IF_cond_exp"
        if self.conductance:
            self.e_rev = np.stack([encode(value("e_rev_E")), encode(value("e_rev_I"))])
        self.exp_tc, self.resistance = _per_neuron(lambda t, c: fp.membrane_constants(t, c, dt), value("tau_m"),
                                                   value("cm"))
        self.decay, self.init = np.stack([_per_neuron(lambda t: fp.synapse_constants(t, dt), value(name))
                                          for name in ("tau_syn_E", "tau_syn_I")], axis=1)
        self.t_refract = _per_neuron(lambda t: (fp.refractory_ticks(t, dt),), value("tau_refrac"))[0]
        self.refract = np.zeros(self.size, dtype=np.int64)
        scale, state = GLOBAL_WEIGHT_SCALE[population.cell_type], population.cell.synaptic_state
        self.syn = np.stack([encode(value(f"{state}_{receptor}") * scale) for receptor in ("exc", "inh")])
        self.shifts = np.array(shifts, dtype=np.int64)[:, None]
        self.slots = slots
        self.ring = np.zeros((slots, 2, self.size), dtype=np.int64)
        self.history_time = np.zeros((self.size, HISTORY), dtype=np.int64)
        self.history_trace = np.zeros((self.size, HISTORY), dtype=np.int64)
        self.history_count = np.ones(self.size, dtype=np.int64)
        self.tau_minus_lut = None
        self.alive = None  # with turnover: which neurons may spike

    def revive(self, neurons: np.ndarray):
        """Neurons coming alive start at rest, with no synaptic current or input."""
        self.v[neurons] = self.v_rest[neurons]
        self.syn[:, neurons] = 0
        self.refract[neurons] = 0
        self.ring[:, :, neurons] = 0

    def step(self, t: int) -> np.ndarray:
        slot = self.ring[t & (self.slots - 1)]
        self.syn = fp.wrap32(self.syn + fp.decay_accum(fp.wrap32(slot << self.shifts), self.init))
        slot[:] = 0
        integrating = self.refract <= 0
        if self.conductance:
            g = self.syn >> CONDUCTANCE_SHIFT
            exc = fp.mul_accum(g[0], fp.wrap32(self.e_rev[0] - self.v))
            inh = fp.mul_accum(-g[1], fp.wrap32(self.e_rev[1] - self.v))
        else:
            exc, inh = self.syn
        current = fp.wrap32(exc - inh + self.i_offset)
        alpha = fp.wrap32(fp.mul_accum(current, self.resistance) + self.v_rest)
        updated = fp.wrap32(alpha - fp.mul_accum(self.exp_tc, fp.wrap32(alpha - self.v)))
        self.v = np.where(integrating, updated, self.v)
        self.refract = np.where(integrating, self.refract, self.refract - 1)
        spiking = np.flatnonzero((self.v >= self.v_thresh) if self.alive is None
                                 else (self.v >= self.v_thresh) & self.alive)
        self.v[spiking] = self.v_reset[spiking]
        self.refract[spiking] = self.t_refract[spiking]
        self.syn = fp.decay_accum(self.syn, self.decay)
        if self.tau_minus_lut is not None and spiking.size:
            self._add_post_events(t, spiking)
        return spiking

    def _add_post_events(self, t: int, neurons: np.ndarray):
        last = self.history_count[neurons] - 1
        last_time, last_trace = self.history_time[neurons, last], self.history_trace[neurons, last]
        trace = fp.wrap16_signed(((last_trace * _lookup(self.tau_minus_lut, t - last_time)) >> fp.STDP_FRACTION_BITS)
                                 + fp.STDP_ONE)
        full = self.history_count[neurons] == HISTORY
        shifted = neurons[full]
        self.history_time[shifted, 1:-1] = self.history_time[shifted, 2:]
        self.history_trace[shifted, 1:-1] = self.history_trace[shifted, 2:]
        index = np.where(full, HISTORY - 1, self.history_count[neurons])
        self.history_time[neurons, index] = t
        self.history_trace[neurons, index] = trace
        self.history_count[neurons] = np.minimum(self.history_count[neurons] + 1, HISTORY)


def _lookup(lut: np.ndarray, delta) -> np.ndarray:
    """maths_lut_exponential_decay: lut[delta], 0 beyond the table."""
    delta = np.asarray(delta, dtype=np.int64)
    inside = (delta >= 0) & (delta < lut.size)
    return np.where(inside, lut[np.clip(delta, 0, lut.size - 1)], 0)


@dataclass(eq=False)
class _Rule:
    """A pair rule in chip units."""

    tau_plus_lut: np.ndarray
    tau_minus_lut: np.ndarray
    a_plus: int
    a_minus: int
    w_min: int
    w_max: int
    multiplicative: bool


class _Projection:
    """Synapses grouped by pre neuron (CSR), so one spike reaches its row in one gather."""

    def __init__(self, label, connections, pre_size, post: _Population, receptor: int, scaling: ReceptorScaling,
                 rule: _Rule | None):
        order = np.argsort(connections.pre, kind="stable")
        self.label, self.order = label, order
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(connections.pre[order], minlength=pre_size))])
        self._synapses(connections.post[order], connections.delay_ticks[order],
                       weight_units(connections.weight[order], scaling), pre_size, post, receptor, scaling, rule)

    def _synapses(self, post_index, delay, units, pre_size, post, receptor, scaling, rule):
        self.post_index, self.delay, self.units = post_index, delay, units
        self.post, self.receptor, self.scaling, self.shift, self.rule = post, receptor, scaling, scaling.shift, rule
        if rule is not None:
            self.last_pre_time = np.zeros(pre_size, dtype=np.int64)
            self.last_pre_trace = np.zeros(pre_size, dtype=np.int64)

    def rows(self, spiking: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The synapses of the spiking pre neurons, and the pre neuron of each."""
        counts = self.indptr[spiking + 1] - self.indptr[spiking]
        rows = np.repeat(spiking, counts)
        return rows, np.repeat(self.indptr[spiking] - np.cumsum(counts) + counts, counts) + np.arange(rows.size)

    def transmit(self, t: int, spiking: np.ndarray):
        rows, synapses = self.rows(spiking)
        if self.rule is not None:  # also with no synapse in the rows: their pre traces go on (slots fill later)
            self._update(t, spiking, rows, synapses)
        if synapses.size == 0:
            return
        slots = (t + self.delay[synapses]) & (self.post.slots - 1)
        flat = self.post.ring.reshape(-1)
        index = (slots * 2 + self.receptor) * self.post.size + self.post_index[synapses]
        np.add.at(flat, index, self.units[synapses])
        flat[index] = np.minimum(flat[index], 0xFFFF)

    def _update(self, t: int, spiking: np.ndarray, rows: np.ndarray, synapses: np.ndarray):
        rule, post = self.rule, self.post
        last_time, last_trace = self.last_pre_time[rows], self.last_pre_trace[rows]
        delay = self.delay[synapses]
        begin, end = np.maximum(last_time - delay, 0), np.maximum(t - delay, 0)
        neurons = self.post_index[synapses]
        times, traces = post.history_time[neurons], post.history_trace[neurons]
        valid = np.arange(HISTORY)[None, :] < post.history_count[neurons][:, None]
        weight = self.units[synapses] << self.shift
        for k in range(1, HISTORY):
            in_window = valid[:, k] & (times[:, k] > begin) & (times[:, k] <= end)
            if not in_window.any():
                continue
            r1 = (last_trace * _lookup(rule.tau_plus_lut, times[:, k] + delay - last_time)) >> fp.STDP_FRACTION_BITS
            if rule.multiplicative:
                potentiated = weight + fp.mul_accum(fp.mul_accum(rule.w_max - weight, rule.a_plus), r1 << 4)
            else:
                potentiated = np.minimum(weight + fp.mul_accum(rule.a_plus, r1 << 4), rule.w_max)
            weight = np.where(in_window, potentiated, weight)
        before_end = valid & (times <= end[:, None])
        previous = HISTORY - 1 - np.argmax(before_end[:, ::-1], axis=1)
        chosen = np.arange(len(synapses))
        o1 = (traces[chosen, previous] * _lookup(rule.tau_minus_lut, t - (times[chosen, previous] + delay))
              ) >> fp.STDP_FRACTION_BITS
        if rule.multiplicative:
            depressed = weight - fp.mul_accum(fp.mul_accum(weight - rule.w_min, rule.a_minus), o1 << 4)
        else:
            depressed = np.maximum(weight - fp.mul_accum(rule.a_minus, o1 << 4), rule.w_min)
        weight = np.where(previous >= 1, depressed, weight)
        self.units[synapses] = (weight >> self.shift) & 0xFFFF
        new_trace = fp.wrap16_signed(((self.last_pre_trace[spiking] * _lookup(
            rule.tau_plus_lut, t - self.last_pre_time[spiking])) >> fp.STDP_FRACTION_BITS) + fp.STDP_ONE)
        self.last_pre_time[spiking] = t
        self.last_pre_trace[spiking] = new_trace

    def weights(self) -> np.ndarray:
        """Current weights (nA or uS) in the projection's connection order."""
        result = np.empty(len(self.units))
        result[self.order] = weights_from_units(self.units, self.scaling)
        return result


class _SlotProjection(_Projection):
    """A structural projection as sPyNNaker's rewiring holds it: ``s_max`` slots per post neuron
    (synapse ``post * s_max + slot``), each holding a pre neuron (-1: empty) and a weight; a spike
    reaches the slots holding its neuron in one gather over the table. Memory O(N_post s_max)."""

    def __init__(self, label, pre: np.ndarray, weight: np.ndarray, pre_size, post: _Population, receptor: int,
                 scaling: ReceptorScaling, rule: _Rule | None):
        self.label, self.s_max = label, pre.shape[1]
        self.pre = pre.reshape(-1).copy()
        self._synapses(np.repeat(np.arange(pre.shape[0]), self.s_max), np.ones(self.pre.size, dtype=np.int64),
                       weight_units(weight.reshape(-1), scaling), pre_size, post, receptor, scaling, rule)
        self.spiked = np.zeros(pre_size + 1, dtype=bool)  # the last entry stands for the empty slots' -1

    def rows(self, spiking: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.spiked[spiking] = True
        synapses = np.flatnonzero(self.spiked[self.pre])
        self.spiked[spiking] = False
        return self.pre[synapses], synapses

    def place(self, post: int, slot: int, pre: int, units: int):
        """A synapse formed (pre >= 0, weighing ``units``) or eliminated (pre -1) in a slot."""
        index = post * self.s_max + slot
        self.pre[index], self.units[index] = pre, units

    def slot_units(self) -> tuple[np.ndarray, np.ndarray]:
        """The table: pre neurons and stored weights, post x s_max."""
        return self.pre.reshape(-1, self.s_max), self.units.reshape(-1, self.s_max)

    def synapses(self) -> dict:
        pre, units = self.slot_units()
        return slot_synapses(pre, weights_from_units(units, self.scaling))


def _rule(stdp: dict, dt: float, weight_scale: float) -> _Rule:
    """sPyNNaker writes the weight parameters times the cell's global weight scale (A+ and A- too when
    additive; multiplicative amplitudes are rates)."""
    scaled = {name: fp.s1615(stdp[name] * stdp_scale(stdp, name, weight_scale))
              for name in ("A_plus", "A_minus", "w_min", "w_max")}
    return _Rule(fp.stdp_lut(stdp["tau_plus"], dt), fp.stdp_lut(stdp["tau_minus"], dt), scaled["A_plus"],
                 scaled["A_minus"], scaled["w_min"], scaled["w_max"], stdp["weight_dependence"] == "multiplicative")


class Emulator:
    """Runs a network as sPyNNaker would, given the ring-buffer scaling it chose."""

    def __init__(self, network: Network, graph, scaling):
        dt = network.semantics.dt
        max_delay = {label: 1 for label in network.populations}
        for projection in network.projections.values():
            delays = network.connections(projection.label).delay_ticks
            if delays.size:
                max_delay[projection.post] = max(max_delay[projection.post], int(delays.max()))
        self.populations = {
            label: _Population(population, dt, tuple(s.shift for s in scaling[label]),
                               1 << int(max_delay[label]).bit_length())
            for label, population in network.populations.items()}
        self.source_ticks = {label: [network.semantics.ticks(t, label, "spike_times") for t in source.spike_times]
                             for label, source in network.spike_sources.items()}
        self.projections: dict[str, list[_Projection]] = {label: [] for label in
                                                           [*network.populations, *network.spike_sources]}
        self.plastic, self.structural = {}, {}
        self.network = network
        self.engine = StructuralEngine.for_network(network) if any(
            p.structural is not None for p in network.projections.values()) or network.turnovers else None
        for label, graph_projection in graph.projections.items():
            projection = network.projections[label]
            post = self.populations[projection.post]
            receptor = RECEPTORS.index(projection.receptor)
            receptor_scaling = scaling[projection.post][receptor]
            rule = _rule(graph_projection.stdp, dt, receptor_scaling.weight_scale) if graph_projection.stdp else None
            if rule is not None:
                post.tau_minus_lut = rule.tau_minus_lut
            if projection.structural is not None:
                slots = self.engine.projections[label]
                emulated = _SlotProjection(label, slots.pre, slots.weight, network.size_of(projection.pre), post,
                                           receptor, receptor_scaling, rule)
                self.structural[label] = emulated
            else:
                emulated = _Projection(label, network.connections(label), network.size_of(projection.pre), post,
                                       receptor, receptor_scaling, rule)
            self.projections[projection.pre].append(emulated)
            if rule is not None:
                self.plastic[label] = emulated
        for label, turnover in (self.engine.turnovers if self.engine else {}).items():
            self.populations[label].alive = turnover.alive

    def run(self, ticks: int, record_v=(), progress=None):
        """Spike ticks per population and spike source, V traces (mV) of ``record_v``, final plastic weights."""
        spikes = {label: [] for label in self.projections}
        traces = {label: np.empty((ticks, self.populations[label].size)) for label in record_v}
        source_spikes = {label: _spikes_by_tick(trains, ticks) for label, trains in self.source_ticks.items()}
        report_every = max(1, ticks // 20)
        emitted = {label: np.empty(0, dtype=np.int64) for label in [*self.populations, *self.source_ticks]}
        for t in range(ticks):
            if self.engine is not None:
                self._rewire(t, emitted)
            emitted = {label: population.step(t) for label, population in self.populations.items()}
            for label, by_tick in source_spikes.items():
                emitted[label] = by_tick.get(t, np.empty(0, dtype=np.int64))
            for label, neurons in emitted.items():
                if neurons.size:
                    spikes[label].append((t, neurons))
                    for projection in self.projections[label]:
                        projection.transmit(t, neurons)
            for label, trace in traces.items():
                trace[t] = fp.to_float(self.populations[label].v)
            if progress is not None and (t + 1) % report_every == 0:
                progress((t + 1) / ticks)
        weights = {}
        for label, projection in self.plastic.items():
            if label in self.structural:
                weights[label] = projection.synapses()
            else:
                connections = self.network.connections(label)
                weights[label] = {"pre": connections.pre, "post": connections.post, "weight": projection.weights()}
        return spikes, traces, weights, self.engine.document() if self.engine is not None else None

    def _slot_weights(self, label: str) -> np.ndarray | None:
        """The stored weights (nA or uS) of a plastic structural projection's slots, for elimination by
        weight (static ones keep their described weights: None); a slot holding the stored initial
        weight reports the initial weight, so that it compares with thresholds as the description's."""
        if self.network.projections[label].plasticity is None:
            return None
        emulated = self.structural[label]
        initial = self.network.projections[label].structural.initial_weight
        slots, units = emulated.slot_units()
        return np.where(slots < 0, 0.0, np.where(units == weight_units(initial, emulated.scaling), initial,
                                                 weights_from_units(units, emulated.scaling)))

    def _rewire(self, t: int, previous: dict):
        """The network's structural decisions for tick t, applied to the slots. A formed plastic synapse
        joins its row: the row's deferred update covers it from the last pre spike."""
        events = self.engine.step(t, previous.__getitem__, self._slot_weights)
        for label, neurons in self.engine.born.items():
            self.populations[label].revive(neurons)
        for event in events:
            emulated = self.structural[event.projection]
            rule = self.network.projections[event.projection].structural
            if event.kind == "form":
                emulated.place(event.post, event.slot, event.pre, weight_units(rule.initial_weight, emulated.scaling))
            else:
                emulated.place(event.post, event.slot, -1, 0)


def _spikes_by_tick(trains, ticks: int) -> dict[int, np.ndarray]:
    neurons = np.concatenate([np.full(len(t), i, dtype=np.int64) for i, t in enumerate(trains)] or [np.empty(0, np.int64)])
    times = np.concatenate([np.asarray(t, dtype=np.int64) for t in trains] or [np.empty(0, np.int64)])
    keep = times < ticks
    by_tick = {}
    for tick, neuron in zip(times[keep].tolist(), neurons[keep].tolist()):
        by_tick.setdefault(tick, []).append(neuron)
    return {tick: np.array(sorted(group), dtype=np.int64) for tick, group in by_tick.items()}
