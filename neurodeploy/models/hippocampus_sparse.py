"""Sparse-learning DG-CA3-CA1 hippocampal memory on sPyBlocks logic gates (Casanueva-Morato et al., TETC 2024).

What it does
    One content of m bits per cue, learned online by STDP and forgotten when the cue is learned again,
    addressed by a binary cue of b = ceil(log2(c + 1)) bits. The dentate gyrus (DG) is an sPyBlocks
    decoder: its AND gate k fires while code k is on the cue bits, and gates 1..c drive the one-hot CA3
    cue cells; CA3 learns cue -> content; CA1 is an sPyBlocks encoder (one OR gate per bit) that gives
    the active cue back in binary. Code 0, or a code above c, selects no memory. In protocols ``cue`` i is
    memory i, presented as code i + 1 (as ``hippocampus-dg-ca3-ca1``). No recall by content.

Populations (IF_curr_exp; labels as the authors' recordings name them)
    IL (spike source, b + m: cue bits first, least significant on neuron 0, then content bits);
    CA3cueL (c), CA3contL (m), OL (b + m: the binary cue, then content): cm 0.27 nF, tau_m 3 ms,
    tau_refrac 1 ms, tau_syn 0.3 ms, v_rest = v_reset = v_init = -60 mV, v_thresh -57 mV (CA3cueL) or
    -57.5 mV. The gates are sPyBlocks cells (cm 0.1 nF, tau_m 0.1 ms, tau_syn 0.1 ms, no refractory
    period, v_rest = v_reset = v_init = -65 mV, v_thresh -64.91 mV: one 1 nA synapse fires one, a tick
    later): DGL (2^b AND outputs, the recorded DG), DGor (2^b, the AND gates' inner ORs), DGnot (b NOT
    gates), CA1L (b ORs), CSSlatch (1, the constant spike source's latch); CSSset (spike source, 1 ms).

Projections (weight nA / delay ms, excitatory unless marked)
    Constant spike source: CSSset -> CSSlatch and CSSlatch -> itself 1/1, so the latch fires every tick
    from 2 ms; CSSset and CSSlatch -> every DGnot 1/1. DG decoder (sPyBlocks ``NeuralDecoder``,
    classic ANDs): IL cue bit i -> DGnot i inhibitory 1/1; for each gate k and bit i, its signal (IL bit
    i where k has bit i set, else DGnot i) -> DGor k (IL 1/2, DGnot 1/1) and -> DGL k (IL 1/3, DGnot
    1/2); DGor k -> DGL k inhibitory (b - 1)/1, so DGL k fires only when all b signals arrive together.
    DGL k -> CA3cueL k-1 6/1 (k = 1..c); IL content -> CA3contL one-to-one 6/4; CA3cueL -> CA3contL
    all-to-all STDP (initial 0, delay 1; sPyNNaker's SpikePairRule tau+- 3 ms, A+ = A- = 6 nA,
    additive in [0, 6] nA); CA1 encoder: CA3cueL k-1 -> CA1L bit i where k has bit i set, 1/1; CA1L ->
    OL cue bits one-to-one 6/1; CA3contL -> OL content one-to-one 6/2.

Operations and latencies (1 ms ticks, operation at t0 >= 1 ms; ``--protocol``)
    learn (code and content held 3 ticks): OL gives code and content at t0+6 and t0+8, a replaced old
    content once at t0+7. Recall by cue (one tick): the code at t0+6, its content at t0+7. The next
    operation may start 7 ms after a learn and 6 ms after a recall (the authors' testbench timing).
    The DG's NOT gates are driven from 2 ms on, so an operation at 0 ms would reach the decoder
    before them.

Parameters: ``cue_size`` (c), ``content_size`` (m); the defaults are the recorded experiments'
(``config_files/test_01``). From dancasmor/A-bio-inspired-implementation-of-a-sparse-learning-spike-
based-hippocampus-memory-model (``DG_CA3_CA1_one_hot.py``) and alvayus/sPyBlocks (decoder, encoder,
constant spike source). Cite D. Casanueva-Morato et al., "A bio-inspired implementation of a sparse-
learning spike-based hippocampus memory model", IEEE Trans. Emerging Topics in Computing (2024), and
A. Ayuso-Martinez et al., IJCNN 2022 (sPyBlocks).
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from neurodeploy.description import STDP, AllToAll, FromList, Network, OneToOne
from neurodeploy.description.values import Range
from neurodeploy.errors import ValidationError

from ._hippocampus import STDP_PARAMETERS, CamProtocol, Timing
from .hippocampus_dg_ca3_ca1 import BinaryLayout

NAME = "hippocampus-sparse"

# network_config.json of config_files/test_01 (the neuron models of the recorded experiments).
CA3_CUE = {
    "cm": 0.27,
    "i_offset": 0.0,
    "tau_m": 3.0,
    "tau_refrac": 1.0,
    "tau_syn_E": 0.3,
    "tau_syn_I": 0.3,
    "v_reset": -60.0,
    "v_rest": -60.0,
    "v_thresh": -57.0,
}
CA3_CONTENT = {**CA3_CUE, "v_thresh": -57.5}
OUTPUT = CA3_CONTENT
GATE = {
    "cm": 0.1,
    "tau_m": 0.1,
    "tau_refrac": 0.0,
    "tau_syn_E": 0.1,
    "tau_syn_I": 0.1,
    "v_rest": -65.0,
    "v_reset": -65.0,
    "v_thresh": -64.91,
}
CA3_INITIAL = {"v": -60.0}
GATE_INITIAL = {"v": GATE["v_rest"]}  # sPyBlocks starts its gates at rest
GATE_SYNAPSE = (1.0, 1.0)  # sPyBlocks' standard connection (weight nA, delay ms): IL-DGL and CA3cueL-CA1L
CSS_SPIKE_MS = 1.0  # the constant spike source's set spike
FIRST_OPERATION_MS = 1  # the NOT gates are driven from the tick after the set spike


class SparseProtocol(CamProtocol):
    """The CAM protocol, with operations no earlier than the decoder's constant drive allows."""

    def parse(self, data, parameters):
        operations = super().parse(data, parameters)
        for operation in operations:
            if operation.t < FIRST_OPERATION_MS:
                raise ValidationError(
                    operation.describe(),
                    "t",
                    f"{NAME} takes operations from t={FIRST_OPERATION_MS} ms: its DG NOT gates are driven "
                    f"by a constant spike source that starts at {CSS_SPIKE_MS:g} ms",
                )
        return operations


PROTOCOL = SparseProtocol(
    NAME,
    BinaryLayout,
    Timing(first=6, spacing={"learn": 7, "recall_cue": 6}),
    operations=("learn", "recall_cue"),
    source="IL",
    output="OL",
)


def build(
    cue_size: Annotated[int, Range(at_least=1)] = 5, content_size: Annotated[int, Range(at_least=1)] = 10
) -> Network:
    c, m = cue_size, content_size
    b = c.bit_length()  # ceil(log2(c + 1)), the authors' dgInputSize
    gates = 1 << b
    net = Network(NAME, seed=0)
    for label, size, parameters, initial in (
        ("CSSlatch", 1, GATE, GATE_INITIAL),
        ("DGnot", b, GATE, GATE_INITIAL),
        ("DGor", gates, GATE, GATE_INITIAL),
        ("DGL", gates, GATE, GATE_INITIAL),
        ("CA3cueL", c, CA3_CUE, CA3_INITIAL),
        ("CA3contL", m, CA3_CONTENT, CA3_INITIAL),
        ("CA1L", b, GATE, GATE_INITIAL),
        ("OL", b + m, OUTPUT, CA3_INITIAL),
    ):
        net.population(label, size, parameters=parameters, initial_values=initial)  # each checks its own size
    net.spike_source("IL", [[] for _ in range(b + m)])  # after the populations have checked m
    net.spike_source("CSSset", [[CSS_SPIKE_MS]])
    weight, delay = GATE_SYNAPSE
    every = AllToAll()

    # The constant spike source (sPyBlocks ConstantSpikeSource): a set spike and a self-exciting latch.
    net.project("CSSset", "CSSlatch", every, weight, delay)
    net.project("CSSlatch", "CSSlatch", every, weight, delay)
    net.project("CSSset", "DGnot", every, weight, delay)
    net.project("CSSlatch", "DGnot", every, weight, delay)

    # The decoder (sPyBlocks NeuralDecoder with classic ANDs): gate k sees, per bit, IL where k has the
    # bit and NOT otherwise; IL arrives a tick after NOT's own output would, so both meet.
    codes = np.arange(gates)
    has_bit = (codes[:, None] >> np.arange(b)[None, :]) & 1  # [gate, bit]
    gate_on, bit_on = np.nonzero(has_bit)
    gate_off, bit_off = np.nonzero(1 - has_bit)
    net.project("IL", "DGnot", OneToOne(), weight, delay, "inhibitory", label="IL(cue)->DGnot", pre_slice=(0, b))
    net.project("DGnot", "DGor", FromList(bit_off, gate_off), weight, delay)
    net.project("DGnot", "DGL", FromList(bit_off, gate_off), weight, 2 * delay)
    net.project("IL", "DGor", FromList(bit_on, gate_on), weight, 2 * delay, label="IL(cue)->DGor", pre_slice=(0, b))
    net.project("IL", "DGL", FromList(bit_on, gate_on), weight, 3 * delay, label="IL(cue)->DGL", pre_slice=(0, b))
    if b > 1:  # a one-input AND inhibits by b - 1 = 0
        net.project("DGor", "DGL", OneToOne(), float(b - 1), delay, "inhibitory")

    net.project("DGL", "CA3cueL", OneToOne(), 6.0, 1.0, label="DGL->CA3cueL", pre_slice=(1, c + 1))
    net.project("IL", "CA3contL", OneToOne(), 6.0, 4.0, label="IL(content)->CA3contL", pre_slice=(b, b + m))
    net.project("CA3cueL", "CA3contL", every, 0.0, 1.0, plasticity=STDP(**STDP_PARAMETERS))

    # The encoder (sPyBlocks NeuralEncoder): cue cell k-1 excites the OR of each bit set in k.
    cue_cell, cue_bit = np.nonzero(has_bit[1 : c + 1])
    net.project("CA3cueL", "CA1L", FromList(cue_cell, cue_bit), weight, delay)
    net.project("CA1L", "OL", OneToOne(), 6.0, 1.0, label="CA1L->OL(cue)", post_slice=(0, b))
    net.project("CA3contL", "OL", OneToOne(), 6.0, 2.0, label="CA3contL->OL(content)", post_slice=(b, b + m))

    for label in ("IL", "CSSset", "CSSlatch", "DGnot", "DGor", "DGL", "CA1L", "OL"):
        net.record(label)
    for label in ("CA3cueL", "CA3contL"):
        net.record(label, ["spikes", "v"])  # as the authors recorded them
    return net
