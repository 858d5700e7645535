"""ProcessModel of StructuralSynapses: the shared decision procedure, then integer delivery."""

from __future__ import annotations

from functools import partial

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.backends.lava.proc.recording import Recorded
from neurodeploy.backends.lava.proc.rewiring import Rewiring, received_reach
from neurodeploy.backends.lava.proc.structural.process import StructuralSynapses


@implements(proc=StructuralSynapses, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyStructuralSynapsesFixed(Recorded, PyLoihiProcessModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    s_post: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    reach_pre: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    reach_post: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=16)
    pre: np.ndarray = LavaPyType(np.ndarray, np.int32)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    delay: np.ndarray = LavaPyType(np.ndarray, np.int32)
    pending: np.ndarray = LavaPyType(np.ndarray, np.int32)
    events: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_events: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.rewiring = Rewiring(proc_params)

    def run_spk(self):
        self.a_out.send(self.a_buff)
        spikes = np.append(self.s_in.recv().astype(bool), False)  # the last entry for the empty slots' -1
        post_spikes = np.flatnonzero(self.s_post.recv())
        tick = self.time_step - 1  # the spikes received now were emitted in our tick ``tick``
        weights = partial(self.rewiring.slot_weights, self.pre, self.weights)
        for event in self.rewiring.step(tick, self.events, self.n_events, weights, received_reach(self)):
            formed = event.kind == "form"
            self.pre[event.post, event.slot] = event.pre if formed else -1
            self.weights[event.post, event.slot] = self.proc_params["initial_mantissa"] if formed else 0
            self.delay[event.post, event.slot] = event.delay
        sent = spikes[self.pre]
        depth = len(self.pending)
        for delay in np.unique(self.delay[sent]).tolist():
            reaching = sent & (self.delay == delay)
            self.pending[(tick + delay - 1) % depth] += np.where(reaching, self.weights, 0).sum(axis=1)
        now = tick % depth
        self.a_buff[:] = np.left_shift(self.pending[now], self.proc_params["weight_exp"])
        self.pending[now] = 0
        self.rewiring.previous_pre, self.rewiring.previous_post = np.flatnonzero(spikes[:-1]), post_spikes
