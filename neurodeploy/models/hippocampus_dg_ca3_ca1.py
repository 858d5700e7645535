"""Hippocampal memory with a dentate gyrus and CA1: binary cues in and out (sPyMem, Casanueva-Morato et al.).

What it does
    The same one-content-per-cue memory with forgetting as the CA3 core, addressed by a binary cue of
    b = ceil(log2(c + 1)) bits: a dentate gyrus (DG) decodes the code k (1..c) into the one-hot CA3 cue
    k - 1, CA3 learns cue -> content by STDP, and CA1 encodes the active cue back to binary. Code 0 (or
    a code above c) selects no cue. In protocols, ``cue`` i is memory i, presented as code i + 1. There
    is no recall by content in this variant (no content -> cue pathway).

Populations (IF_curr_exp, v_rest = v_reset = v_init = -60 mV, tau_refrac 1 ms, tau_syn 0.3 ms)
    IN (spike source, b + m: cue bits first, least significant bit on neuron 0), DG (c fast cells,
    v_thresh -57.5 mV), CA3cue (c slow, -57 mV), CA3cont (m slow, -57.5 mV), CA1 (b slow, -57.5 mV),
    OUT (b + m slow, -57.5 mV: the binary cue first, then content).

Projections (weight nA / delay ms)
    IN bit i -> DG cell k-1: excitatory 3/#ones(k) where code k has bit i set, inhibitory 3 where it
    has not (delay 1), so only the presented code's cell reaches threshold; DG -> DG all-to-all
    without self inhibitory 2.5/1; DG -> CA3cue one-to-one 6/1; IN content -> CA3cont one-to-one 6/2
    (arrives with the cue's two-synapse path); CA3cue -> CA3cont all-to-all STDP (initial 0, delay 1;
    pair rule, tau 3 ms, A+ = A- = 6 nA absolute, additive in [0, 6] nA); CA3cue k-1 -> CA1 bit i where k
    has bit i set, 6/1; CA1 -> OUT cue bits one-to-one 6/1; CA3cont -> OUT content one-to-one 6/2.

Operations and latencies (1 ms ticks, operation at t0)
    learn (code and content held 3 ticks): OUT gives code and content at t0+4 and t0+6, a replaced old
    content once at t0+5. Recall by cue: the code at t0+4, its content at t0+5. The next operation may
    start 7 ms after a learn and 5 ms after a recall.

Parameters: ``cue_size`` (c), ``content_size`` (m). From the authors' sPyMem library
(``hippocampus_bioinspired_dg_ca1``); cite Casanueva-Morato et al., Neural Networks 178, 106474 (2024).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from neurodeploy.description import STDP, AllToAll, FromList, Network, OneToOne
from neurodeploy.description.values import Range

from ._hippocampus import FAST, INITIAL, SLOW, STDP_PARAMETERS, CamProtocol, Layout, Timing

NAME = "hippocampus-dg-ca3-ca1"

DG_CELL = {**FAST, "v_thresh": -57.5}
# Excitation a DG cell receives when its whole code is presented (the authors' v_thresh - v_reset + 0.5,
# 3.0 nA): enough to cross threshold in one tick; an absent bit inhibits by the same amount.
DG_DRIVE = DG_CELL["v_thresh"] - DG_CELL["v_reset"] + 0.5


class BinaryLayout(Layout):
    """Memory ``i`` is presented and read back as the binary code ``i + 1``, LSB on neuron 0."""

    @property
    def cue_width(self) -> int:
        return self.cue_size.bit_length()

    def cue_inputs(self, cue):
        code = cue + 1
        return [bit for bit in range(self.cue_width) if code >> bit & 1]

    def read_cues(self, cue_neurons):
        code = sum(1 << bit for bit in cue_neurons)
        return [code - 1] if code else []


PROTOCOL = CamProtocol(
    NAME, BinaryLayout, Timing(first=4, spacing={"learn": 7, "recall_cue": 5}), operations=("learn", "recall_cue")
)


def build(
    cue_size: Annotated[int, Range(at_least=1)] = 5, content_size: Annotated[int, Range(at_least=1)] = 10
) -> Network:
    c, m = cue_size, content_size
    b = c.bit_length()
    net = Network(NAME, seed=0)
    slow_high = {**SLOW, "v_thresh": -57.5}
    for label, size, parameters in (
        ("DG", c, DG_CELL),
        ("CA3cue", c, SLOW),
        ("CA3cont", m, slow_high),
        ("CA1", b, slow_high),
        ("OUT", b + m, slow_high),
    ):
        net.population(label, size, parameters=parameters, initial_values=INITIAL)  # each checks its own size
    net.spike_source("IN", [[] for _ in range(b + m)])

    codes = np.arange(1, c + 1)
    has_bit = (codes[:, None] >> np.arange(b)[None, :]) & 1  # [cell, bit]
    cell, bit = np.nonzero(has_bit)
    ones = has_bit.sum(axis=1)
    net.project(
        "IN", "DG", FromList(bit, cell), weight=DG_DRIVE / ones[cell], delay=1.0, label="IN(cue)->DG", pre_slice=(0, b)
    )
    cell_off, bit_off = np.nonzero(1 - has_bit)
    if len(cell_off):
        net.project(
            "IN",
            "DG",
            FromList(bit_off, cell_off),
            weight=DG_DRIVE,
            delay=1.0,
            receptor="inhibitory",
            label="IN(cue)->DG(inh)",
            pre_slice=(0, b),
        )
    if c > 1:
        net.project("DG", "DG", AllToAll(allow_self_connections=False), weight=2.5, delay=1.0, receptor="inhibitory")
    net.project("DG", "CA3cue", OneToOne(), weight=6.0, delay=1.0)
    net.project("IN", "CA3cont", OneToOne(), weight=6.0, delay=2.0, label="IN(content)->CA3cont", pre_slice=(b, b + m))
    net.project("CA3cue", "CA3cont", AllToAll(), weight=0.0, delay=1.0, plasticity=STDP(**STDP_PARAMETERS))
    net.project("CA3cue", "CA1", FromList(cell, bit), weight=6.0, delay=1.0)
    net.project("CA1", "OUT", OneToOne(), weight=6.0, delay=1.0, label="CA1->OUT(cue)", post_slice=(0, b))
    net.project(
        "CA3cont", "OUT", OneToOne(), weight=6.0, delay=2.0, label="CA3cont->OUT(content)", post_slice=(b, b + m)
    )
    for label in ("IN", "DG", "CA3cue", "CA3cont", "CA1", "OUT"):
        net.record(label)
    return net
