"""Izhikevich's neuron with exponential current synapses in integers, as sPyNNaker steps it (one midpoint
step per tick, a longer step after a spike) in the widths of a Loihi-class neuron: the process that a
Loihi 2 would run as custom microcode (its own neuron model: two state variables, a square per step).

Everything is an integer of ``2^-f`` (``f = fraction_bits``): v (mV), u, i_offset and the synaptic
states ``s_exc``, ``s_inh`` (mV/ms = nA), a and b (per ms), d, the step ``h`` (ms). ``x * y`` is
``floor(x y / 2^f)``, ``half(x)`` is ``floor(x / 2)``; ``M``, ``K``, ``C`` are 0.04, 5 and 140 in those
units. Per tick (x = exc, inh):

    s_x = wrap24(s_x + (a_in_x << 6))
    I = s_exc - s_inh + i_offset
    pre = I + C - u                    alpha = pre + (v * M + K) * v
    eta = v + half(alpha * h)          p = h * a          beta = half((v * b - u) * p)
    v = clip24(v + (pre - beta + (eta * M + K) * eta) * h)
    u = clip24(u + (eta * b - (u + beta)) * p)
    h = step
    if v >= vth (threshold '>='; '>': v > vth):  spike, v = c, u = clip24(u + d), h = spike_step
                                                                            (no refractoriness)
    s_x = sgn(y)(|y| >> 12),  y = s_x (4096 - du_x)

State (v, u, h, s_x) stays within 24 bits; the step's intermediates are wider (a square of v needs
twice its width), which microcode on a chip would have to provide.
"""

from __future__ import annotations

from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class CurrExpIzhikevich(AbstractProcess):
    def __init__(
        self,
        *,
        shape,
        fraction_bits,
        a,
        b,
        c,
        d,
        i_offset,
        du_exc,
        du_inh,
        vth,
        step,
        spike_step,
        v,
        u,
        s_exc=0,
        s_inh=0,
        threshold=">=",
        currents=None,
        name=None,
    ):
        super().__init__(shape=shape, name=name, fraction_bits=fraction_bits, threshold=threshold, currents=currents)
        self.a_in_exc = InPort(shape=shape)
        self.a_in_inh = InPort(shape=shape)
        self.s_out = OutPort(shape=shape)
        self.v = Var(shape=shape, init=v)
        self.u = Var(shape=shape, init=u)
        self.h = Var(shape=shape, init=step)
        self.s_exc = Var(shape=shape, init=s_exc)
        self.s_inh = Var(shape=shape, init=s_inh)
        self.a = Var(shape=shape, init=a)
        self.b = Var(shape=shape, init=b)
        self.c = Var(shape=shape, init=c)
        self.d = Var(shape=shape, init=d)
        self.i_offset = Var(shape=shape, init=i_offset)
        self.du_exc = Var(shape=shape, init=du_exc)
        self.du_inh = Var(shape=shape, init=du_inh)
        self.vth = Var(shape=shape, init=vth)
        self.step = Var(shape=shape, init=step)
        self.spike_step = Var(shape=shape, init=spike_step)
