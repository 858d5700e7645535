"""Integer ProcessModel of PairSTDPSynapses (see process.py for the rule)."""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.backends.lava.proc.pair_stdp.process import HISTORY, PairSTDPSynapses
from neurodeploy.backends.lava.proc.rewiring import Rewiring, received_reach
from neurodeploy.backends.lava.quantize import STDP_DECAY_BITS, STDP_RATE_BITS, STDP_TRACE_BITS, STDP_TRACE_WIDTH

TRACE_ONE = 1 << STDP_TRACE_BITS
TRACE_MAX = (1 << (STDP_TRACE_WIDTH - 1)) - 1
DECAY_SHIFT = STDP_DECAY_BITS
RATE_SHIFT = STDP_RATE_BITS + STDP_TRACE_BITS


def lookup(table: np.ndarray, lag) -> np.ndarray:
    lag = np.asarray(lag, dtype=np.int64)
    inside = (lag >= 0) & (lag < table.size)
    return np.where(inside, table[np.clip(lag, 0, table.size - 1)], 0)


@implements(proc=PairSTDPSynapses, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyPairSTDPSynapsesFixed(PyLoihiProcessModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    s_post: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    reach_pre: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    reach_post: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=16)
    pre: np.ndarray = LavaPyType(np.ndarray, np.int32)
    post: np.ndarray = LavaPyType(np.ndarray, np.int32)
    delays: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=6)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    last_pre_time: np.ndarray = LavaPyType(np.ndarray, np.int32)
    last_pre_trace: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    post_times: np.ndarray = LavaPyType(np.ndarray, np.int32)
    post_traces: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    post_count: np.ndarray = LavaPyType(np.ndarray, np.int32)
    events: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_events: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.rows = None
        self.rewiring = Rewiring(proc_params) if proc_params.get("network") is not None else None

    def _index(self):
        """Synapses grouped by pre neuron, so a spike reaches its row in one gather (structural: the
        slots change, a spike finds its slots in the table)."""
        order = np.argsort(self.pre, kind="stable")
        self.order = order
        self.indptr = np.concatenate([[0], np.cumsum(np.bincount(self.pre[order], minlength=self.proc_params["n_pre"]))])
        self.rows = True

    def _synapses_of(self, spiking):
        """The synapses of the spiking pre neurons, and the pre neuron of each."""
        if self.rewiring is not None:
            spiked = np.zeros(self.proc_params["n_pre"] + 1, dtype=bool)  # the last entry for the empty slots' -1
            spiked[spiking] = True
            synapses = np.flatnonzero(spiked[self.pre])
            return self.pre[synapses], synapses
        counts = self.indptr[spiking + 1] - self.indptr[spiking]
        rows = np.repeat(spiking, counts)
        return rows, self.order[np.repeat(self.indptr[spiking] - np.cumsum(counts) + counts, counts)
                                + np.arange(rows.size)]

    def run_spk(self):
        if self.rows is None and self.rewiring is None:
            self._index()
        self.a_out.send(self.a_buff[:, 0])
        pre_spikes = np.flatnonzero(self.s_in.recv())
        post_spikes = np.flatnonzero(self.s_post.recv())
        t = self.time_step - 1  # spikes received now were emitted in the previous Lava step: our tick t
        if self.rewiring is not None:
            self._rewire(t)
            self.rewiring.previous_pre, self.rewiring.previous_post = pre_spikes, post_spikes
        if post_spikes.size:
            self._add_post_events(t, post_spikes)
        self.a_buff[:, 0] = 0
        self.a_buff[:] = np.roll(self.a_buff, -1, axis=1)
        if pre_spikes.size:
            synapses = self._update(t, pre_spikes)
            delivered = self.weights[synapses].astype(np.int64) << self.proc_params["weight_exp"]
            np.add.at(self.a_buff, (self.post[synapses], self.delays[synapses] - 1), delivered)

    def _rewire(self, t):
        """Formation and elimination of tick t in the slots (synapse ``post * s_max + slot``)."""
        p = self.proc_params
        s_max = self.rewiring.rewiring.rule.s_max
        initial = self.rewiring.rewiring.rule.initial_weight
        mantissas = self.weights.reshape(-1, s_max)  # the stored initial weight reports itself
        weights = np.where(self.pre.reshape(-1, s_max) < 0, 0.0,
                           np.where(mantissas == p["initial_mantissa"], initial, mantissas * p["unit"]))
        for event in self.rewiring.step(t, self.events, self.n_events, weights, received_reach(self)):
            index = event.post * s_max + event.slot
            formed = event.kind == "form"
            self.pre[index] = event.pre if formed else -1
            self.weights[index] = p["initial_mantissa"] if formed else 0

    def _add_post_events(self, t, neurons):
        table = self.proc_params["decay_minus"]
        count = self.post_count[neurons]
        last = np.maximum(count - 1, 0)
        previous = np.where(count > 0, self.post_traces[neurons, last], 0)
        lag = t - self.post_times[neurons, last]
        trace = np.minimum(((previous.astype(np.int64) * lookup(table, lag)) >> DECAY_SHIFT) + TRACE_ONE, TRACE_MAX)
        full = count == HISTORY
        shifted = neurons[full]
        self.post_times[shifted, :-1] = self.post_times[shifted, 1:]
        self.post_traces[shifted, :-1] = self.post_traces[shifted, 1:]
        slot = np.where(full, HISTORY - 1, count)
        self.post_times[neurons, slot] = t
        self.post_traces[neurons, slot] = trace
        self.post_count[neurons] = np.minimum(count + 1, HISTORY)

    def _update(self, t, spiking):
        p = self.proc_params
        rows, synapses = self._synapses_of(spiking)
        last_time = self.last_pre_time[rows].astype(np.int64)
        last_trace = self.last_pre_trace[rows].astype(np.int64)
        has_last = last_time >= 0
        delay = self.delays[synapses].astype(np.int64)
        neurons = self.post[synapses]
        seen = self.post_times[neurons].astype(np.int64) + delay[:, None]  # post events as this synapse sees them
        traces = self.post_traces[neurons].astype(np.int64)
        valid = np.arange(HISTORY)[None, :] < self.post_count[neurons][:, None]
        weight = self.weights[synapses].astype(np.int64)
        for k in range(HISTORY):
            in_window = valid[:, k] & has_last & (seen[:, k] > last_time) & (seen[:, k] <= t)
            if not in_window.any():
                continue
            trace = (last_trace * lookup(p["decay_plus"], seen[:, k] - last_time)) >> DECAY_SHIFT
            if p["multiplicative"]:
                potentiated = weight + ((p["a_plus"] * trace * (p["w_max"] - weight)) >> RATE_SHIFT)
            else:
                potentiated = np.minimum(weight + ((p["a_plus"] * trace) >> STDP_TRACE_BITS), p["w_max"])
            weight = np.where(in_window, potentiated, weight)
        before = valid & (seen <= t)
        any_before = before.any(axis=1)
        latest = HISTORY - 1 - np.argmax(before[:, ::-1], axis=1)
        chosen = np.arange(len(synapses))
        trace = (traces[chosen, latest] * lookup(p["decay_minus"], t - seen[chosen, latest])) >> DECAY_SHIFT
        if p["multiplicative"]:
            depressed = weight - ((p["a_minus"] * trace * (weight - p["w_min"])) >> RATE_SHIFT)
        else:
            depressed = np.maximum(weight - ((p["a_minus"] * trace) >> STDP_TRACE_BITS), p["w_min"])
        self.weights[synapses] = np.where(any_before, depressed, weight)
        decayed = (self.last_pre_trace[spiking].astype(np.int64)
                   * lookup(p["decay_plus"], t - self.last_pre_time[spiking])) >> DECAY_SHIFT
        self.last_pre_trace[spiking] = np.minimum(np.where(self.last_pre_time[spiking] >= 0, decayed, 0) + TRACE_ONE,
                                                  TRACE_MAX)
        self.last_pre_time[spiking] = t
        return synapses
