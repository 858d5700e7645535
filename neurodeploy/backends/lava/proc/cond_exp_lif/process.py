"""A conductance-based LIF neuron: CurrExpLIF whose u_exc and u_inh are conductances, each driving
with its reversal potential and the v the tick starts from (sPyNNaker's IF_cond_exp order).

Per tick, in integers, as CurrExpLIF except the drive of step 2 (x = exc, inh; k = conductance_shift):

    u_x = sgn(y)(|y| >> 12) + (a_in_x << 6),  y = u_x (4096 - (du_x + 1))       u wraps at 24 bits
    drive = sum_x sgn(p_x)(|p_x| >> k),  p_x = u_x (e_rev_x - v)                  v before this tick's update
    v = clip(sgn(z)(|z| >> 12) + drive + (bias_mant << bias_exp), +-(2^23 - 1)),  z = v (4096 - dv)

``u_x`` is the conductance as ``2^k (1 - E') R g`` (E' the membrane decay, R = tau_m/cm), and
``e_rev_x`` the reversal potential in v's units (relative to v_rest), so ``drive`` is the current
``g (E_rev - V)`` in v's units, as CurrExpLIF's ``u_exc - u_inh``.
"""

from __future__ import annotations

from lava.magma.core.process.variable import Var

from neurodeploy.backends.lava.proc.curr_exp_lif.process import CurrExpLIF


class CondExpLIF(CurrExpLIF):
    def __init__(self, *, shape, e_rev_exc, e_rev_inh, conductance_shift, **parameters):
        super().__init__(shape=shape, **parameters)
        self.e_rev_exc = Var(shape=shape, init=e_rev_exc)
        self.e_rev_inh = Var(shape=shape, init=e_rev_inh)
        self.conductance_shift = Var(shape=(1,), init=conductance_shift)
