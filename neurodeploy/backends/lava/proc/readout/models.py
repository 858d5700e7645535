"""ProcessModels of the recorders: they pass what they receive or read straight to their pipe."""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort, PyRefPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.backends.lava.proc.readout.process import SpikeRecorder, VarRecorder


@implements(proc=SpikeRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PySpikeRecorderFixed(PyLoihiProcessModel):
    a_in: PyInPort = LavaPyType(PyInPort.VEC_DENSE, bool, precision=1)
    packed: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, np.uint8, precision=8)
    tie: np.ndarray = LavaPyType(np.ndarray, np.int64)

    def run_spk(self):
        self.packed.send(np.packbits(self.a_in.recv().astype(bool), bitorder="little"))


@implements(proc=VarRecorder, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyVarRecorderFixed(PyLoihiProcessModel):
    """Its ports ``ref_i`` and ``values_i`` for every slot are set below the class."""

    def post_guard(self):
        return self.proc_params["every_tick"] or self.time_step == self.proc_params["last_tick"]

    def run_post_mgmt(self):
        for slot in range(self.proc_params["used"]):
            getattr(self, f"values_{slot}").send(getattr(self, f"ref_{slot}").read())


for _slot in range(VarRecorder.SLOTS):
    setattr(PyVarRecorderFixed, f"ref_{_slot}", LavaPyType(PyRefPort.VEC_DENSE, np.int64))
    setattr(PyVarRecorderFixed, f"values_{_slot}", LavaPyType(PyOutPort.VEC_DENSE, np.int64))
