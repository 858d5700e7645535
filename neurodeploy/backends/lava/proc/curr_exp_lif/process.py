"""A current-based LIF neuron with what Lava's stock LIF lacks: separate excitatory and inhibitory
currents (each with its own decay), a refractory period, a reset value other than 0, reset by
subtraction and the threshold ``v >= vth`` besides Lava's ``v > vth``.

Per tick, in integers, truncating toward zero as Lava's bit-accurate LIF does (x = exc, inh):

    u_x = sgn(y)(|y| >> 12) + (a_in_x << 6),  y = u_x (4096 - (du_x + 1))       u wraps at 24 bits
    if refractory > 0:  refractory -= 1                                          v is held
    else:  v = clip(sgn(z)(|z| >> 12) + u_exc - u_inh + (bias_mant << bias_exp), +-(2^23 - 1)),
           z = v (4096 - dv)
    if v >= vth (threshold '>='; '>': v > vth):  spike, refractory = refractory_ticks,   tested every tick
        v = v_reset (reset 'to_v_reset'), or v -= vth - v_reset (reset 'subtract')

``clipped`` holds, per neuron, the first tick (from 0) whose v the clip changed, -1 while none has: a
run reads it to refuse a result whose v saturated.

With ``turnover`` (a description and a population label), the process runs the population's neuron
turnover (``neurodeploy.description.turnover``): at the start of each tick, from its spikes of the
previous tick and the static spikes that reached it (``reach``, a count per neuron), it decides which
neurons die (they never fire again) and which come alive (v = 0, i.e. v_rest, no current, not
refractory); each epoch's ``[tick, alive, dormant]`` goes to ``epochs`` and the alive mask after it
to ``alive_after``, ``n_epochs`` of them.

State widths stay within Loihi 2's: 24-bit u and v, 12-bit decays, 13-bit bias mantissa with a 3-bit
exponent. ``v`` is the membrane potential relative to v_rest, in units of 1/scale mV.
"""

from __future__ import annotations

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class CurrExpLIF(AbstractProcess):
    def __init__(
        self,
        *,
        shape,
        du_exc,
        du_inh,
        dv,
        bias_mant,
        bias_exp,
        vth,
        v_reset,
        refractory_ticks,
        u_exc=0,
        u_inh=0,
        v=0,
        threshold=">=",
        reset="to_v_reset",
        turnover=None,
        max_epochs=1,
        currents=None,
        name=None,
    ):
        super().__init__(shape=shape, name=name, threshold=threshold, reset=reset, turnover=turnover, currents=currents)
        self.a_in_exc = InPort(shape=shape)
        self.a_in_inh = InPort(shape=shape)
        self.reach = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.epochs = Var(shape=(max_epochs, 3), init=0)
        self.alive_after = Var(shape=(max_epochs,) + tuple(shape), init=0)
        self.n_epochs = Var(shape=(1,), init=0)
        self.u_exc = Var(shape=shape, init=u_exc)
        self.u_inh = Var(shape=shape, init=u_inh)
        self.v = Var(shape=shape, init=v)
        self.clipped = Var(shape=shape, init=-1)
        self.refractory = Var(shape=shape, init=0)
        self.du_exc = Var(shape=shape, init=du_exc)
        self.du_inh = Var(shape=shape, init=du_inh)
        self.dv = Var(shape=shape, init=dv)
        self.bias_mant = Var(shape=shape, init=bias_mant)
        self.bias_exp = Var(shape=shape, init=bias_exp)
        self.vth = Var(shape=shape, init=vth)
        self.v_reset = Var(shape=shape, init=v_reset)
        self.refractory_ticks = Var(shape=shape, init=refractory_ticks)
