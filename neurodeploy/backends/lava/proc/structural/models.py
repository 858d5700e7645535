"""ProcessModel of StructuralSynapses: the shared decision procedure, then integer delivery."""
from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.backends.lava.proc.structural.process import StructuralSynapses
from neurodeploy.description import Network
from neurodeploy.description.structural import ProjectionRewiring


@implements(proc=StructuralSynapses, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyStructuralSynapsesFixed(PyLoihiProcessModel):
    s_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    a_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.int32, precision=16)
    weights: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    a_buff: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=16)
    events: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_events: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        network = Network.from_dict(proc_params["network"])
        self.rewiring = ProjectionRewiring.for_projection(network, proc_params["label"])
        self.previous = np.empty(0, dtype=np.int64)

    def run_spk(self):
        self.a_out.send(self.a_buff)
        spikes = self.s_in.recv().astype(bool)
        tick = self.time_step - 1  # the spikes received now were emitted in our tick ``tick``
        for event in self.rewiring.step(tick, self.previous):
            self.weights[event.post, event.pre] = self.proc_params["initial_mantissa"] if event.kind == "form" else 0
            count = int(self.n_events[0])  # events has room for one per attempt of the run
            self.events[count] = (tick, int(event.kind == "form"), event.pre, event.post)
            self.n_events[0] = count + 1
        self.a_buff[:] = np.left_shift(self.weights[:, spikes].sum(axis=1), self.proc_params["weight_exp"])
        self.previous = np.flatnonzero(spikes)
