"""Static synapses that form and vanish by a structural rule (``neurodeploy.description.structural``).

Each post neuron has ``s_max`` slots, each holding a pre neuron (-1: empty) and an 8-bit mantissa
(memory O(N_post s_max), not one weight per candidate pair). At the start of each tick the
projection's decision procedure, the one every backend shares, decides formation and elimination
from the previous tick's pre and post spikes (and, for synaptogenesis, the projection's own
stream) and the weights the slots hold (mantissas of ``unit``, as the quantization-aware reference
holds them); the process applies them, then delivers the tick's spikes (each post neuron sums the mantissas
of its slots whose pre neuron spiked,
``<< weight_exp``, arriving one tick later, or a slot's ``delay`` ticks later through ``pending``, the
sums due in the ticks to come by tick modulo the longest delay; what a slot sent arrives even when it is
emptied meanwhile). Events are kept in
``events`` (tick, 1 form / 0 eliminate, pre, post), ``n_events`` of them. With neuron turnover on
either side, ``reach_pre`` / ``reach_post`` receive how many static spikes reach each neuron of that
side's population (see ``proc/rewiring.py``).
"""

from __future__ import annotations

import numpy as np
from lava.magma.core.process.ports.ports import InPort, OutPort
from lava.magma.core.process.process import AbstractProcess
from lava.magma.core.process.variable import Var


class StructuralSynapses(AbstractProcess):
    def __init__(self, *, network, label, pre, mantissas, weight_exp, initial_mantissa, unit, max_events, name=None):
        projection = network.projections[label]
        n_pre, n_post = network.size_of(projection.pre), network.size_of(projection.post)
        super().__init__(
            network=network.to_dict(),
            label=label,
            weight_exp=weight_exp,
            initial_mantissa=initial_mantissa,
            unit=unit,
            name=name,
        )
        self.s_in = InPort(shape=(n_pre,))
        self.s_post = InPort(shape=(n_post,))  # for rules that score coincidences
        self.reach_pre = InPort(shape=(n_pre,))
        self.reach_post = InPort(shape=(n_post,))
        self.a_out = OutPort(shape=(n_post,))
        self.pre = Var(shape=np.shape(pre), init=np.asarray(pre))
        self.weights = Var(shape=np.shape(mantissas), init=np.asarray(mantissas))
        self.delay = Var(shape=np.shape(pre), init=1)
        rule = projection.structural
        longest = rule.delay_ticks(network.semantics, f"projection '{label}'")[1] if hasattr(rule, "delay_ticks") else 1
        self.pending = Var(shape=(longest, n_post), init=0)
        self.a_buff = Var(shape=(n_post,), init=0)
        self.events = Var(shape=(max_events, 4), init=0)
        self.n_events = Var(shape=(1,), init=0)
