"""Integer ProcessModel of CurrExpLIF (see process.py for the equations), and the base that
CondExpLIF's model shares."""

from __future__ import annotations

import numpy as np
from lava.magma.core.decorator import implements, requires, tag
from lava.magma.core.model.py.model import PyLoihiProcessModel
from lava.magma.core.model.py.ports import PyInPort, PyOutPort
from lava.magma.core.model.py.type import LavaPyType
from lava.magma.core.resources import CPU
from lava.magma.core.sync.protocols.loihi_protocol import LoihiProtocol

from neurodeploy.backends.lava.proc.curr_exp_lif.process import CurrExpLIF
from neurodeploy.backends.lava.proc.currents import injected_units
from neurodeploy.backends.lava.proc.recording import Recorded
from neurodeploy.backends.lava.proc.rewiring import population_turnover
from neurodeploy.backends.lava.quantize import ACTIVATION_SHIFT, DECAY_SHIFT, DECAY_UNITY, STATE_BITS
from neurodeploy.description import Network

UV_LIMIT = 1 << (STATE_BITS - 1)


def decayed(state, keep):
    """``state * keep >> 12``, truncated toward zero (Lava's LIF)."""
    product = state.astype(np.int64) * keep
    return (np.sign(product) * (np.abs(product) >> DECAY_SHIFT)).astype(np.int64)


def wrap_current(u):
    """Lava's 24-bit wrap of the current."""
    u = np.where(u > UV_LIMIT, u - 2 * UV_LIMIT, u)
    return np.where(u <= -UV_LIMIT, u + 2 * UV_LIMIT, u)


def crossed(v: np.ndarray, vth: np.ndarray, threshold: str) -> np.ndarray:
    """The neurons whose v is past vth by the semantics' threshold, ``>=`` or ``>``."""
    return v > vth if threshold == ">" else v >= vth


class AbstractPyExpLIFFixed(Recorded, PyLoihiProcessModel):
    """Everything but the synaptic drive of step 2 (``drive``), which is what the cell types differ in."""

    a_in_exc: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    a_in_inh: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    reach: PyInPort = LavaPyType(PyInPort.VEC_DENSE, np.int32, precision=16)
    s_out: PyOutPort = LavaPyType(PyOutPort.VEC_DENSE, bool, precision=1)
    u_exc: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    u_inh: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    clipped: np.ndarray = LavaPyType(np.ndarray, np.int32)
    refractory: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    du_exc: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    du_inh: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    dv: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=12)
    bias_mant: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=13)
    bias_exp: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=3)
    vth: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    v_reset: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=24)
    refractory_ticks: np.ndarray = LavaPyType(np.ndarray, np.int32, precision=8)
    epochs: np.ndarray = LavaPyType(np.ndarray, np.int32)
    alive_after: np.ndarray = LavaPyType(np.ndarray, np.int32)
    n_epochs: np.ndarray = LavaPyType(np.ndarray, np.int32)

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self.threshold, self.subtract = proc_params["threshold"], proc_params["reset"] == "subtract"
        self.turnover = None
        if proc_params.get("turnover") is not None:
            network = Network.from_dict(proc_params["turnover"]["network"])
            self.turnover, self.n_pre = population_turnover(network, proc_params["turnover"]["label"])
        self.last_spikes = np.empty(0, dtype=np.int64)
        self.injected = injected_units(proc_params)

    def run_spk(self):
        exc = self.a_in_exc.recv().astype(np.int64)
        inh = self.a_in_inh.recv().astype(np.int64)
        reached = np.flatnonzero(self.reach.recv())
        if self.turnover is not None:
            born = self._turnover(self.time_step - 1, reached)
            exc[born] = inh[born] = 0  # sent while they were dead: lost, as for every dead neuron
        self.u_exc[:] = wrap_current(decayed(self.u_exc, DECAY_UNITY - (self.du_exc + 1)) + (exc << ACTIVATION_SHIFT))
        self.u_inh[:] = wrap_current(decayed(self.u_inh, DECAY_UNITY - (self.du_inh + 1)) + (inh << ACTIVATION_SHIFT))
        bias = np.left_shift(self.bias_mant.astype(np.int64), self.bias_exp)
        if self.injected is not None:
            bias = bias + self.injected.at(self.time_step - 1)
        unclipped = decayed(self.v, DECAY_UNITY - self.dv) + self.drive() + bias
        integrated = np.clip(unclipped, -UV_LIMIT + 1, UV_LIMIT - 1)
        integrating = self.refractory <= 0
        first_clip = integrating & (integrated != unclipped) & (self.clipped < 0)
        self.clipped[first_clip] = self.time_step - 1
        self.v[:] = np.where(integrating, integrated, self.v)
        self.refractory[:] = np.where(integrating, self.refractory, self.refractory - 1)
        spikes = crossed(self.v, self.vth, self.threshold)
        if self.turnover is not None:
            spikes &= self.turnover.alive
            self.last_spikes = np.flatnonzero(spikes)
        if self.subtract:
            self.v[spikes] -= self.vth[spikes] - self.v_reset[spikes]
        else:
            self.v[spikes] = self.v_reset[spikes]
        self.refractory[spikes] = self.refractory_ticks[spikes]
        self.s_out.send(spikes)

    def _turnover(self, tick: int, reached: np.ndarray) -> np.ndarray:
        """The decisions due at the start of ``tick`` (this step integrates tick ``tick``); the neurons
        that come alive."""
        growing = self.turnover.step(tick, self.last_spikes, reached, self.n_pre).growing
        self.v[growing] = self.u_exc[growing] = self.u_inh[growing] = self.refractory[growing] = 0
        if len(self.turnover.epochs) > int(self.n_epochs[0]):
            epoch, row = self.turnover.epochs[-1], int(self.n_epochs[0])
            self.epochs[row] = (epoch["tick"], epoch["alive"], epoch["dormant"])
            self.alive_after[row] = self.turnover.alive
            self.n_epochs[0] = row + 1
        return growing


@implements(proc=CurrExpLIF, protocol=LoihiProtocol)
@requires(CPU)
@tag("fixed_pt")
class PyCurrExpLIFFixed(AbstractPyExpLIFFixed):
    def drive(self) -> np.ndarray:
        return self.u_exc.astype(np.int64) - self.u_inh
