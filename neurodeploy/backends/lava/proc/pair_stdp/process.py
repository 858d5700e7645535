"""Synapses that learn by the pair rule as sPyNNaker 7.x applies it, in integers, with delays.

Updates are deferred to pre spikes: a pre spike in tick t first applies, in order, every post event
seen since the last pre spike (a post spike in tick t_post seen at T = t_post + d, for T in
(t_last_pre, t]), each potentiating against the last pre spike (additive: clamped to w_max); then
depression against the latest post event at or before t (zero lag included; additive: clamped to
w_min); with ``heterosynaptic`` (weight units, additive only), each of those post events also takes that
constant after its potentiation, clamped to w_min, whether it paired or not; then it delivers the
updated weight, which arrives d ticks later.

Integer arithmetic: ``arithmetic`` (quantize.pair_stdp_arithmetic's ``FixedPointSTDP``) states it step by
step, and the shared core ``backends/pair_stdp.py`` runs it: weights are mantissas (shared weight_exp)
held in int32, traces have 8 fractional bits (1.0 = 256), jump by 256 at each own spike and saturate at
2^15 - 1, exponential decays are 12-bit tables ``round(4096 exp(-k dt/tau))``; a trace decays as
``trace * decay >> 12``, and a decayed trace r changes the weight by ``A r >> 8`` (A in weight units,
additive) or ``A r (w_max - w) >> 16`` / ``A r (w - w_min) >> 16`` (A in 1/256, multiplicative,
unclamped). Each post neuron keeps its last 16 post events. With ``nearest``, sPyNNaker's nearest pair
rule (``FixedPointSTDP``'s docstring): traces are 1 at each spike and a post event potentiates only if the
post spike before it is not later than the last pre spike.

With ``structural`` (a description and a projection label), the synapses are the projection's slots,
``s_max`` per post neuron (synapse ``post * s_max + slot``, ``pre`` -1 when empty): at the start of
each tick the projection's decision procedure forms (``initial_mantissa``, the event's delay) and eliminates,
and a spike reaches the slots holding its neuron (one gather over the table); a formed synapse joins its pre
neuron's row, so the deferred update at the next pre spike covers it from that neuron's last spike, with
post events seen after the slot's own delay (``max_delay``: the longest a formed synapse takes). With neuron
turnover on either side, ``reach_pre`` / ``reach_post`` receive how many static spikes reach each
neuron of that side's population (see ``proc/rewiring.py``).
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var

from neurodeploy.description import FixedPointSTDP


class PairSTDPSynapses(AbstractProcess):
    def __init__(
        self,
        *,
        n_pre,
        n_post,
        pre,
        post,
        delays,
        weights,
        weight_exp,
        a_plus,
        a_minus,
        w_min,
        w_max,
        decay_plus,
        decay_minus,
        arithmetic: FixedPointSTDP,
        multiplicative=False,
        nearest=False,
        heterosynaptic=0,
        structural=None,
        max_delay=1,
        name=None,
    ):
        max_delay = max(int(np.max(delays)), max_delay)  # structural: the longest delay a formed synapse takes
        structural = structural or {}
        super().__init__(
            n_pre=n_pre,
            n_post=n_post,
            weight_exp=weight_exp,
            a_plus=a_plus,
            a_minus=a_minus,
            w_min=w_min,
            w_max=w_max,
            decay_plus=np.asarray(decay_plus),
            multiplicative=multiplicative,
            nearest=nearest,
            heterosynaptic=heterosynaptic,
            decay_minus=np.asarray(decay_minus),
            arithmetic=arithmetic,
            name=name,
            **structural,
        )
        self.s_in = InPort(shape=(n_pre,))
        self.s_post = InPort(shape=(n_post,))
        self.reach_pre = InPort(shape=(n_pre,))
        self.reach_post = InPort(shape=(n_post,))
        self.a_out = OutPort(shape=(n_post,))
        n = len(weights)
        self.pre = Var(shape=(n,), init=np.asarray(pre))
        self.post = Var(shape=(n,), init=np.asarray(post))
        self.delays = Var(shape=(n,), init=np.asarray(delays))
        self.weights = Var(shape=(n,), init=np.asarray(weights))
        self.a_buff = Var(shape=(n_post, max_delay), init=0)
        self.last_pre_time = Var(shape=(n_pre,), init=0)
        self.last_pre_trace = Var(shape=(n_pre,), init=0)
        self.post_times = Var(shape=(n_post, arithmetic.history), init=0)
        self.post_traces = Var(shape=(n_post, arithmetic.history), init=0)
        self.post_count = Var(shape=(n_post,), init=0)
        self.events = Var(shape=(structural.get("max_events", 1), 4), init=0)
        self.n_events = Var(shape=(1,), init=0)
