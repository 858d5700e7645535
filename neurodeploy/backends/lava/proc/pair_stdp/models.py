"""Integer ProcessModel of PairSTDPSynapses (see process.py for the rule)."""

from __future__ import annotations

from functools import partial

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.backends.lava.proc.pair_stdp.process import PairSTDPSynapses
from neurodeploy.backends.lava.proc.recording import Recorded
from neurodeploy.backends.lava.proc.rewiring import Rewiring, received_reach
from neurodeploy.backends.pair_stdp import PairSTDPRule, PostHistory


@implements(proc=PairSTDPSynapses, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyPairSTDPSynapsesFixed(Recorded, PyLoihiProcessModel):
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
        p = proc_params
        self.rule = PairSTDPRule(
            p["arithmetic"],
            p["decay_plus"],
            p["decay_minus"],
            p["a_plus"],
            p["a_minus"],
            p["w_min"],
            p["w_max"],
            p["multiplicative"],
            nearest=p["nearest"],
            heterosynaptic=p["heterosynaptic"],
        )

    def _index(self):
        """Synapses grouped by pre neuron, so a spike reaches its row in one gather (structural: the
        slots change, a spike finds its slots in the table)."""
        order = np.argsort(self.pre, kind="stable")
        self.order = order
        per_pre = np.bincount(self.pre[order], minlength=self.proc_params["n_pre"])
        self.indptr = np.concatenate([[0], np.cumsum(per_pre)])
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
        return rows, self.order[
            np.repeat(self.indptr[spiking] - np.cumsum(counts) + counts, counts) + np.arange(rows.size)
        ]

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
            self._history().add(t, post_spikes)
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
        weights = partial(self.rewiring.slot_weights, self.pre.reshape(-1, s_max), self.weights.reshape(-1, s_max))
        for event in self.rewiring.step(t, self.events, self.n_events, weights, received_reach(self)):
            index = event.post * s_max + event.slot
            formed = event.kind == "form"
            self.pre[index] = event.pre if formed else -1
            self.weights[index] = p["initial_mantissa"] if formed else 0
            if formed:
                self.delays[index] = event.delay

    def _history(self) -> PostHistory:
        """The post spikes this projection remembers, held in the process's Vars."""
        return PostHistory(self.rule, self.post_times, self.post_traces, self.post_count)

    def _update(self, t, spiking):
        rows, synapses = self._synapses_of(spiking)
        weights, traces = self.rule.update(
            t,
            self._history(),
            self.last_pre_time[spiking],
            self.last_pre_trace[spiking],
            np.searchsorted(spiking, rows),
            self.delays[synapses],
            self.post[synapses],
            self.weights[synapses],
        )
        self.weights[synapses] = weights
        self.last_pre_trace[spiking] = traces
        self.last_pre_time[spiking] = t
        return synapses
