"""Integer ProcessModel of CurrExpIzhikevich (see process.py for the equations)."""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.backends.lava.proc.curr_exp_lif.models import UV_LIMIT, crossed, decayed, wrap_current
from neurodeploy.backends.lava.proc.currents import injected_units
from neurodeploy.backends.lava.proc.izhikevich.process import CurrExpIzhikevich
from neurodeploy.backends.lava.proc.recording import Recorded
from neurodeploy.backends.lava.quantize import ACTIVATION_SHIFT, DECAY_UNITY
from neurodeploy.description.cells import QuadraticIntegrate


@implements(proc=CurrExpIzhikevich, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyCurrExpIzhikevichFixed(Recorded, PyLoihiProcessModel):
    a_in_exc: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    a_in_inh: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    u: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    h: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    s_exc: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    s_inh: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    a: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    b: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    c: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    d: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    i_offset: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    du_exc: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    du_inh: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    spike_step: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.fraction_bits, self.threshold = proc_params["fraction_bits"], proc_params["threshold"]
        self.injected = injected_units(proc_params)
        one, neuron = 1 << self.fraction_bits, QuadraticIntegrate()
        self.m, self.k, self.c_ = (int(np.rint(one * x)) for x in (neuron.quadratic, neuron.linear, neuron.constant))

    def product(self, x: np.ndarray, y) -> np.ndarray:
        return (x * y) >> self.fraction_bits  # int64: floor

    def run_spk(self):
        for state, port in ((self.s_exc, self.a_in_exc), (self.s_inh, self.a_in_inh)):
            state[:] = wrap_current(state + (port.recv().astype(np.int64) << ACTIVATION_SHIFT))
        v, u, h, a, b = (x.astype(np.int64) for x in (self.v, self.u, self.h, self.a, self.b))
        current = self.s_exc.astype(np.int64) - self.s_inh + self.i_offset
        if self.injected is not None:
            current = current + self.injected.at(self.time_step - 1)
        pre = current + self.c_ - u
        alpha = pre + self.product(self.product(v, self.m) + self.k, v)
        eta = v + (self.product(alpha, h) >> 1)
        p = self.product(h, a)
        beta = self.product(self.product(v, b) - u, p) >> 1
        quadratic = self.product(self.product(eta, self.m) + self.k, eta)
        self.v[:] = np.clip(v + self.product(pre - beta + quadratic, h), 1 - UV_LIMIT, UV_LIMIT - 1)
        self.u[:] = np.clip(u + self.product(self.product(eta, b) - (u + beta), p), 1 - UV_LIMIT, UV_LIMIT - 1)
        self.h[:] = self.step
        spikes = crossed(self.v, self.vth, self.threshold)
        self.v[spikes] = self.c[spikes]
        self.u[spikes] = np.clip(self.u[spikes].astype(np.int64) + self.d[spikes], 1 - UV_LIMIT, UV_LIMIT - 1)
        self.h[spikes] = self.spike_step[spikes]
        self.s_exc[:] = decayed(self.s_exc, DECAY_UNITY - self.du_exc)
        self.s_inh[:] = decayed(self.s_inh, DECAY_UNITY - self.du_inh)
        self.s_out.send(spikes)
