"""CA3 content-addressable memory with forgetting (Casanueva-Morato et al., Neural Networks 2024).

What it does
    Stores one content of ``content_size`` bits per one-hot cue (``cue_size`` memories), learned online
    by STDP. A memory is recalled by its cue, or by any fragment of its content: recall by content
    returns every cue whose content shares at least one bit with the query (an OR match). Learning a
    cue again replaces its content; the old bits come out once and are forgotten (zero-lag STDP
    depression drives their weights to 0).

Populations (all IF_curr_exp, v_rest = v_reset = v_init = -60 mV, v_thresh -57 mV, tau_refrac 1 ms,
tau_syn 0.3 ms; slow cells cm 0.27 nF, tau_m 3 ms; fast cells cm 0.14 nF, tau_m 0.5 ms)
    IN (spike source, c + m: cue neurons first), CA3cueCueRecall (c, slow), CA3cueContRecall (c, fast),
    CA3contCueRecall (m, slow), CA3contContRecall (m, slow), CA3contCond (m, fast), CA3contCondInt
    (1, fast), CA3MergeCue (c, slow), CA3MergeCont (m, slow), OUT (c + m, slow, v_thresh -57.5 mV: cue
    outputs first). 3c + 4m + 1 internal neurons (56 for c = 5, m = 10).

Projections (weight nA / delay ms, excitatory unless marked)
    IN cues -> CueCueRecall and IN content -> ContCueRecall one-to-one 6/1; CueCueRecall ->
    CueContRecall one-to-one 6/2 and all-to-all without self inhibitory 6m/3; CueCueRecall -> ContCond
    all-to-all inhibitory 6/2; ContCueRecall -> ContCond one-to-one 9/1; ContCueRecall -> ContCondInt
    6/1; ContCondInt -> ContCond 2/1; ContCond -> ContContRecall one-to-one 6/1; CueCueRecall ->
    ContCueRecall and ContContRecall -> CueContRecall all-to-all STDP (initial 0, delay 1; pair rule,
    tau 3 ms, A+ = A- = 6 nA absolute, additive in [0, 6] nA); CueContRecall -> CueContRecall all-to-all
    without self inhibitory 6m/2; CueCueRecall -> MergeCue 6/3; CueContRecall -> MergeCue 6/1;
    ContCueRecall -> MergeCont 6/3; ContContRecall -> MergeCont 6/1; MergeCue -> OUT cues and
    MergeCont -> OUT content one-to-one 6/1.

Operations and latencies (1 ms ticks, operation at t0; ``--protocol``)
    learn (cue and content held 3 ticks): OUT gives cue and content at t0+5 and t0+7, a replaced old
    content once at t0+6. Recall by cue (one spike): the cue at t0+5, its content at t0+6. Recall by
    content (one spike on some bits): those bits at t0+5, the matching cues at t0+6. The next operation
    may start 7 ms after a learn and 6 ms after a recall.

Capacity and limits
    c memories of m bits; contents need not be orthogonal. The published network is not an ideal
    memory under every workload: `scripts/cam_workloads.py` measures where it departs from one, and
    docs/models.md states the measured limits.

Parameters: ``cue_size`` (c), ``content_size`` (m). The original parameters and SpiNNaker recordings
are in ../shared/reference/ca3-cam/. Cite: D. Casanueva-Morato et al., "Bio-inspired computational
memory model of the Hippocampus: an approach to a neuromorphic spike-based Content-Addressable
Memory", Neural Networks 178, 106474 (2024), doi:10.1016/j.neunet.2024.106474.
"""

from __future__ import annotations

from typing import Annotated

from neurodeploy.description import STDP, AllToAll, Network, OneToOne
from neurodeploy.description.values import Range

from ._hippocampus import FAST, INITIAL, SLOW, STDP_PARAMETERS, CamProtocol, OneHotLayout, Timing

NAME = "ca3-cam"

PROTOCOL = CamProtocol(NAME, OneHotLayout, Timing(first=5, spacing={"learn": 7, "recall_cue": 6, "recall_content": 6}))


def build(
    cue_size: Annotated[int, Range(at_least=1)] = 5, content_size: Annotated[int, Range(at_least=1)] = 10
) -> Network:
    c, m = cue_size, content_size
    net = Network(NAME, seed=0)
    cells = {
        "CA3cueCueRecall": (c, SLOW),
        "CA3cueContRecall": (c, FAST),
        "CA3contCueRecall": (m, SLOW),
        "CA3contContRecall": (m, SLOW),
        "CA3contCond": (m, FAST),
        "CA3contCondInt": (1, FAST),
        "CA3MergeCue": (c, SLOW),
        "CA3MergeCont": (m, SLOW),
        "OUT": (c + m, {**SLOW, "v_thresh": -57.5}),
    }
    for label, (size, parameters) in cells.items():
        net.population(label, size, parameters=parameters, initial_values=INITIAL)  # each checks its own size
    net.spike_source("IN", [[] for _ in range(c + m)])

    def connect(pre, post, connector, weight, delay, receptor="excitatory", label=None, **options):
        net.project(pre, post, connector, weight, delay, receptor, label=label or f"{pre}->{post}", **options)

    every = AllToAll()
    others = AllToAll(allow_self_connections=False)
    connect("IN", "CA3cueCueRecall", OneToOne(), 6.0, 1.0, label="IN(cue)->CA3cueCueRecall", pre_slice=(0, c))
    connect("IN", "CA3contCueRecall", OneToOne(), 6.0, 1.0, label="IN(content)->CA3contCueRecall", pre_slice=(c, c + m))
    connect("CA3cueCueRecall", "CA3cueContRecall", OneToOne(), 6.0, 2.0)
    if c > 1:
        connect(
            "CA3cueCueRecall",
            "CA3cueContRecall",
            others,
            6.0 * m,
            3.0,
            "inhibitory",
            label="CA3cueCueRecall->CA3cueContRecall(inh)",
        )
    connect("CA3cueCueRecall", "CA3contCond", every, 6.0, 2.0, "inhibitory")
    connect("CA3contCueRecall", "CA3contCond", OneToOne(), 9.0, 1.0)
    connect("CA3contCueRecall", "CA3contCondInt", every, 6.0, 1.0)
    connect("CA3contCondInt", "CA3contCond", every, 2.0, 1.0)
    connect("CA3contCond", "CA3contContRecall", OneToOne(), 6.0, 1.0)
    connect("CA3cueCueRecall", "CA3contCueRecall", every, 0.0, 1.0, plasticity=STDP(**STDP_PARAMETERS))
    connect("CA3contContRecall", "CA3cueContRecall", every, 0.0, 1.0, plasticity=STDP(**STDP_PARAMETERS))
    if c > 1:
        connect("CA3cueContRecall", "CA3cueContRecall", others, 6.0 * m, 2.0, "inhibitory")
    connect("CA3cueCueRecall", "CA3MergeCue", OneToOne(), 6.0, 3.0)
    connect("CA3cueContRecall", "CA3MergeCue", OneToOne(), 6.0, 1.0)
    connect("CA3contCueRecall", "CA3MergeCont", OneToOne(), 6.0, 3.0)
    connect("CA3contContRecall", "CA3MergeCont", OneToOne(), 6.0, 1.0)
    connect("CA3MergeCue", "OUT", OneToOne(), 6.0, 1.0, label="CA3MergeCue->OUT(cue)", post_slice=(0, c))
    connect("CA3MergeCont", "OUT", OneToOne(), 6.0, 1.0, label="CA3MergeCont->OUT(content)", post_slice=(c, c + m))
    for label in ("IN", *cells):
        net.record(label)
    return net
