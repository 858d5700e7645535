"""The shared integer pair-STDP core (backends/pair_stdp.py) on each chip's formats, against integers
derived by hand here."""

import dataclasses

import numpy as np
import pytest

from conftest import random_plastic_network, run_reference
from neurodeploy.backends.lava import lower as lava_lower
from neurodeploy.backends.lava.quantize import decay_table, pair_stdp_arithmetic, stdp_units
from neurodeploy.backends.pair_stdp import PairSTDPRule
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.graph import lower as spinnaker_lower
from neurodeploy.backends.spinnaker.quantize import (
    ReceptorScaling,
    chip_stdp_arithmetic,
    ring_buffer_scaling,
    stdp_scale,
)
from neurodeploy.backends.spinnaker.quantize import quantization_aware as spinnaker_quantization_aware

# sPyNNaker: weights in s16.15 (k = 1), stored in 16-bit steps of 2^4 (shift 4), traces of 2^-11,
# lut[k] = floor(2048 exp(-k/20)): lut[1, 2, 4, 5, 7, 9, 11, 28, 30, 35] = 1948, 1853, 1676, 1594,
# 1443, 1305, 1181, 505, 456, 355.
SPINNAKER = chip_stdp_arithmetic(ReceptorScaling(1.0, 4))
LUT = fp.stdp_lut(20.0, 1.0)
# Lava: weights in mantissas, traces of 2^-8 saturating, E[k] = round(4096 exp(-k/20)):
# E[1, 2, 4, 5, 7, 11, 28, 35] = 3896, 3706, 3354, 3190, 2886, 2363, 1010, 712.
LAVA = pair_stdp_arithmetic(1.0)
E = decay_table(20.0, 1.0)


def spinnaker_rule(multiplicative=False, tau_minus=20.0, nearest=False, heterosynaptic=0):
    # A+ 0.5, A- 0.25, w_max 1.0 (nA, or rates when multiplicative) in s16.15: 16384, 8192, 32768
    return PairSTDPRule(
        SPINNAKER,
        LUT,
        fp.stdp_lut(tau_minus, 1.0),
        16384,
        8192,
        0,
        32768,
        multiplicative,
        product_bits=fp.PRODUCT_BITS,
        nearest=nearest,
        heterosynaptic=heterosynaptic,
    )


def lava_rule(multiplicative=False, tau_minus=20.0, heterosynaptic=0):
    # additive: A+ 20, A- 10 mantissas; multiplicative: A+ 128, A- 64 (of 2^-8); w in [0, 100]
    amplitudes = (128, 64) if multiplicative else (20, 10)
    return PairSTDPRule(
        LAVA, E, decay_table(tau_minus, 1.0), *amplitudes, 0, 100, multiplicative, heterosynaptic=heterosynaptic
    )


def run(rule, pre_ticks, post_ticks, stored, delay=1, ticks=50):
    """One synapse: the post spikes of each tick remembered first, then the pre spike's update."""
    history = rule.history(1)
    last_time, last_trace = np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64)
    weights, traces = [], []
    for t in range(ticks):
        if t in post_ticks:
            history.add(t, np.array([0]))
        if t in pre_ticks:
            new, trace = rule.update(
                t, history, last_time, last_trace, np.array([0]), np.array([delay]), np.array([0]), np.array([stored])
            )
            stored, last_time[:], last_trace[:] = int(new[0]), t, trace
            weights.append(stored)
            traces.append(int(trace[0]))
    return weights, traces, history


def test_tables_hold_the_values_the_derivations_use():
    assert [LUT[k] for k in (1, 2, 4, 5, 7, 9, 11, 28, 30, 35)] == [
        1948,
        1853,
        1676,
        1594,
        1443,
        1305,
        1181,
        505,
        456,
        355,
    ]
    assert [E[k] for k in (1, 2, 4, 5, 7, 11, 28, 35)] == [3896, 3706, 3354, 3190, 2886, 2363, 1010, 712]
    assert SPINNAKER.weight_step / SPINNAKER.weight_lsb == 16


def test_additive_rule_on_spinnakers_integers():
    # Pre at 0, 5, 40; post at 0 and 11; delay 1; w = 1024 steps = 16384.
    # Post traces: 2048 at 0, floor(2048 lut[11] / 2048) + 2048 = 3229 at 11.
    # t=0: window (max(0-1, 0), max(0-1, 0)] = (0, 0]: nothing; the post spike at 0 (<= 0) depresses
    #   by floor(8192 floor(2048 lut[-1] / 2048) / 2048) = 0. Stored 1024; pre trace 0 + 2048.
    # t=5: window (0, 4]: the post spike at 0 is never potentiating (unsigned times); depression from
    #   it: o1 = floor(2048 lut[4] / 2048) = 1676, w = 16384 - 4 * 1676 = 9680 -> 605 steps;
    #   pre trace floor(2048 lut[5] / 2048) + 2048 = 3642.
    # t=40 (w = 605 * 16 = 9680): window (4, 39] holds 11: r1 = floor(3642 lut[7] / 2048) = 2566,
    #   w = min(9680 + floor(16384 * 2566 / 2048), 32768) = 30208; depression from 11:
    #   o1 = floor(3229 lut[28] / 2048) = 796, w = 30208 - 4 * 796 = 27024 -> 1689 steps;
    #   pre trace floor(3642 lut[35] / 2048) + 2048 = 631 + 2048 = 2679.
    weights, traces, history = run(spinnaker_rule(), {0, 5, 40}, {0, 11}, 1024)
    assert weights == [1024, 605, 1689]
    assert traces == [2048, 3642, 2679]
    assert history.traces[0, :2].tolist() == [2048, 3229] and history.count[0] == 2


def test_additive_rule_on_lavas_integers():
    # The same spikes; w = 50 mantissas. Post traces: 256 at 0, floor(256 E[11] / 4096) + 256 = 403 at 11.
    # t=0: window (0-1, 0-1]: nothing, no post spike at or before -1. Pre trace 256.
    # t=5: window (-1, 4] holds 0 (a post spike in tick 0 potentiates): r1 = floor(256 E[1] / 4096) = 243,
    #   w = min(50 + floor(20 * 243 / 256), 100) = 68; depression from 0: o1 = floor(256 E[4] / 4096)
    #   = 209, w = 68 - floor(10 * 209 / 256) = 60; pre trace floor(256 E[5] / 4096) + 256 = 455.
    # t=40: window (4, 39] holds 11: r1 = floor(455 E[7] / 4096) = 320, w = 60 + floor(20 * 320 / 256) = 85;
    #   depression from 11: o1 = floor(403 E[28] / 4096) = 99, w = 85 - floor(10 * 99 / 256) = 82;
    #   pre trace floor(455 E[35] / 4096) + 256 = 79 + 256 = 335.
    weights, traces, history = run(lava_rule(), {0, 5, 40}, {0, 11}, 50)
    assert weights == [50, 60, 82]
    assert traces == [256, 455, 335]
    assert history.traces[0, :2].tolist() == [256, 403] and history.count[0] == 2


def test_heterosynaptic_depression_follows_each_post_spike_on_both_chips():
    # The spikes of the two tests above, each post spike in a pre spike's window taking H after its
    # potentiation. sPyNNaker, H = 1000: t=0 and t=5 see no post spike in their windows (0, 0] and
    # (0, 4] (the one at 0 never is): 1024, 605 as before. t=40: 30208 after potentiating at 11, 29208
    # after H, depression 4 * 796 = 3184: 26024 -> floor(26024 / 16) = 1626 steps.
    weights, traces, _ = run(spinnaker_rule(heterosynaptic=1000), {0, 5, 40}, {0, 11}, 1024)
    assert weights == [1024, 605, 1626] and traces == [2048, 3642, 2679]
    # Lava, H = 7: t=5's window (-1, 4] holds 0: 68 after potentiating, 61 after H, depression 8: 53.
    # t=40: 53 + 25 = 78 from 11, 71 after H, depression floor(10 * 99 / 256) = 3: 68.
    weights, _, _ = run(lava_rule(heterosynaptic=7), {0, 5, 40}, {0, 11}, 50)
    assert weights == [50, 53, 68]
    # A post spike that does not pair under sPyNNaker's nearest rule still takes H: pre at 5 and 40,
    # post at 11 and 20 (20's spike before, 11, is after the pre spike at 5: it does not potentiate).
    # From w = 24576: t=5 depresses by nothing (no post spike yet); t=40 potentiates at 11 by
    # floor(16384 lut[7] / 2048) = 11544, clamped to 32768, not at 20; H twice: 30768; depression from 20:
    # floor(8192 lut[19] / 2048) = 4 lut[19].
    start = 24576 // 16
    paired, _, _ = run(spinnaker_rule(nearest=True), {5, 40}, {11, 20}, start)
    depressed, _, _ = run(spinnaker_rule(nearest=True, heterosynaptic=1000), {5, 40}, {11, 20}, start)
    assert paired[-1] == (32768 - 4 * LUT[19]) // 16
    assert depressed[-1] == (32768 - 2000 - 4 * LUT[19]) // 16


def test_nearest_pairs_on_spinnakers_integers():
    # sPyNNaker's SpikeNearestPairRule: traces are 1 (2048) at each spike; a post spike potentiates only
    # if the remembered post spike before it (0 for the first) is at or before the last pre spike t0.
    # Pre at 10, 40; post at 13, 15, 30; delay 1; w = 1024 steps = 16384.
    # t=10: window (0, 9] empty, no post spike yet: stored 1024.
    # t=40: window (9, 39] holds 13, 15, 30. 13 (none before): r1 = lut[13 + 1 - 10] = lut[4] = 1676,
    #   w = 16384 + floor(16384 * 1676 / 2048) = 29792; 15 (13 after 10) and 30 (15 after 10) do not pair;
    #   depression from 30: o1 = lut[40 - 30 - 1] = lut[9] = 1305, w = 29792 - floor(8192 * 1305 / 2048)
    #   = 24572 -> 1535 steps. The all-to-all rule pairs all three, with the pre trace of 10.
    nearest, _, _ = run(spinnaker_rule(nearest=True), {10, 40}, {13, 15, 30}, 1024)
    assert nearest == [1024, 1535]
    assert run(spinnaker_rule(), {10, 40}, {13, 15, 30}, 1024)[0] != nearest


def test_nearest_pairs_compare_the_unshifted_post_spike_with_the_pre_spike():
    # Delay 3, pre at 10, 40, post at 9 and 11 (seen at 12 and 14), w = 256 steps = 4096. Both pair with
    # the pre at 10, though the post event at 12 came after it: the spike before 11 is 9 <= 10.
    # 9: lut[9 + 3 - 10] = lut[2] = 1853, w = 4096 + 14824 = 18920; 11: lut[4] = 1676, w += 13408 = 32328;
    # depression from 11: lut[40 - 11 - 3] = lut[26] = 558, w -= floor(8192 * 558 / 2048) = 2232
    #   -> 30096 -> 1881 steps.
    assert LUT[26] == 558
    assert run(spinnaker_rule(nearest=True), {10, 40}, {9, 11}, 256, delay=3)[0] == [256, 1881]


def test_a_first_pre_spike_pairs_nearest_against_time_zero():
    # sPyNNaker keeps 0 as a pre neuron's last spike before its first: pre at 10, post at 2, delay 1,
    # w = 1024 steps. The post spike potentiates with lut[2 + 1 - 0] = lut[3] = 1762: w = 16384 + 14096
    # = 30480; depression from it: lut[10 - 2 - 1] = lut[7] = 1443, w -= 5772 -> 24708 -> 1544 steps.
    # The all-to-all pre trace is 0 before the first spike: 16384 - 5772 = 10612 -> 663 steps.
    assert run(spinnaker_rule(nearest=True), {10}, {2}, 1024)[0] == [1544]
    assert run(spinnaker_rule(), {10}, {2}, 1024)[0] == [663]


def test_nearest_pairs_on_lavas_integers():
    # Lava's traces of 1 are 256 (2^-8) and its decays E of 2^-12: r1 = floor(256 E[k] / 4096).
    # Pre at 10, 40; post at 13, 15, 30; delay 1; w = 50. t=40: 13 pairs: floor(256 E[4] / 4096) = 209,
    # w = 50 + floor(20 * 209 / 256) = 66; depression from 30: floor(256 E[9] / 4096), E[9] =
    # round(4096 exp(-9/20)) = 2612, = 163, w = 66 - floor(10 * 163 / 256) = 60.
    assert E[9] == 2612
    rule = PairSTDPRule(LAVA, E, E, 20, 10, 0, 100, False, nearest=True)
    assert run(rule, {10, 40}, {13, 15, 30}, 50)[0] == [50, 60]


def test_multiplicative_rule_floors_each_product_on_spinnaker_and_once_on_lava():
    # Pre at 0 and 3, post at 1, delay 1. The post spike (seen at 2) potentiates against the pre at 0
    # (lag 2), then depresses at lag 1.
    # sPyNNaker, w = 1024 steps = 16384: r1 = floor(2048 lut[2] / 2048) = 1853,
    #   w += floor(floor((32768 - 16384) 16384 / 2^15) 1853 / 2^11) = floor(8192 * 1853 / 2048) = 7412 -> 23796;
    #   o1 = floor(2048 lut[1] / 2048) = 1948, w -= floor(floor(23796 * 8192 / 2^15) 1948 / 2^11)
    #   = floor(5949 * 1948 / 2048) = 5658 -> 18138 -> 1133 steps.
    weights, _, _ = run(spinnaker_rule(multiplicative=True), {0, 3}, {1}, 1024)
    assert weights == [1024, 1133]
    # Lava, w = 50: r1 = floor(256 E[2] / 4096) = 231, w += floor(128 * 231 * 50 / 2^16) = 22 -> 72;
    #   o1 = floor(256 E[1] / 4096) = 243, w -= floor(64 * 243 * 72 / 2^16) = 17 -> 55.
    weights, _, _ = run(lava_rule(multiplicative=True), {0, 3}, {1}, 50)
    assert weights == [50, 55]


def test_spinnakers_products_wrap_at_32_bits():
    # Shift 15 (weights in 16-bit steps of 2^15 of s16.15), A+ 49152 nA = 1610612736 = 786432 * 2^11,
    # A- 0.25 nA = 8192, w in [0, 65535 nA = 2147450880]; pre at 0, 1, 5, post at 2, delay 1, w = 50000
    # steps = 1638400000. Pre traces: 2048; floor(2048 lut[1] / 2048) + 2048 = 3996;
    # floor(3996 lut[4] / 2048) + 2048 = 3270 + 2048 = 5318.
    # t=5: window (0, 4] holds 2: r1 = floor(3996 lut[2] / 2048) = 3615, floor(A+ r1 / 2^11) = 786432 * 3615
    #   = 2842951680 >= 2^31, held in 32 bits as 2842951680 - 2^32 = -1452015616: w = 186384384 (below
    #   w_max, no clamp); depression from 2: o1 = floor(2048 lut[2] / 2048) = 1853, floor(8192 * 1853 / 2^11)
    #   = 7412, w = 186376972 -> floor(w / 2^15) = 5687 steps. Exact products clamp at w_max instead:
    #   2147450880 - 7412 -> 65534 steps.
    chip = chip_stdp_arithmetic(ReceptorScaling(1.0, 15))
    a_plus, a_minus, w_max = fp.s1615(49152.0), fp.s1615(0.25), fp.s1615(65535.0)
    assert (a_plus, a_minus, w_max) == (1610612736, 8192, 2147450880)
    wrapping = PairSTDPRule(chip, LUT, LUT, a_plus, a_minus, 0, w_max, False, product_bits=fp.PRODUCT_BITS)
    weights, traces, _ = run(wrapping, {0, 1, 5}, {2}, 50000)
    assert weights == [50000, 50000, 5687] and traces == [2048, 3996, 5318]
    exact = PairSTDPRule(chip, LUT, LUT, a_plus, a_minus, 0, w_max, False)
    assert run(exact, {0, 1, 5}, {2}, 50000)[0] == [50000, 50000, 65534]


def test_a_pre_spike_within_the_delay_of_tick_zero_depresses_by_zero_on_spinnaker_only():
    # Post at 0, pre at 1 on a delay of 3, w below w_min: sPyNNaker's window ends at max(1 - 3, 0) = 0,
    # so the post spike at 0 depresses, by 0 (its lag -2 is outside the table), and the clamp lifts w
    # to w_min; on Lava's signed times the window ends at -2 and nothing happens.
    spinnaker = spinnaker_rule()
    spinnaker.w_min = 16 * 100
    assert run(spinnaker, {1}, {0}, 50, delay=3)[0] == [100]
    lava = lava_rule()
    lava.w_min = 10
    assert run(lava, {1}, {0}, 5, delay=3)[0] == [5]


def test_post_traces_wrap_on_spinnaker_and_saturate_on_lava_and_the_histories_keep_their_lengths():
    # A post spike in each of 300 ticks, tau_minus 200 ms: o = ovf(floor(o k / 2^c) + 2^b), with
    # k = lut[1] = floor(2048 exp(-1/200)) = 2037 (c = 11, int16 wrap) on sPyNNaker and
    # k = E[1] = round(4096 exp(-1/200)) = 4076 (c = 12, saturating at 2^15 - 1) on Lava.
    assert fp.stdp_lut(200.0, 1.0)[1] == 2037 and decay_table(200.0, 1.0)[1] == 4076
    o_spinnaker, o_lava, o, q = [], [], 0, 0
    for _ in range(300):
        o = ((o * 2037 // 2048 + 2048 + 2**15) % 2**16) - 2**15
        q = min(q * 4076 // 4096 + 256, 2**15 - 1)
        o_spinnaker.append(o)
        o_lava.append(q)
    assert min(o_spinnaker) < 0 and o_lava[-1] == 2**15 - 1  # wrapped; saturated
    post = set(range(300))
    _, _, history = run(spinnaker_rule(tau_minus=200.0), set(), post, 0, ticks=300)
    assert history.count[0] == 15 and history.times[0].tolist() == list(range(285, 300))  # the latest 15
    assert history.traces[0].tolist() == o_spinnaker[285:]
    _, _, history = run(lava_rule(tau_minus=200.0), set(), post, 0, ticks=300)
    assert history.count[0] == 16 and history.times[0].tolist() == list(range(284, 300))  # the latest 16
    assert history.traces[0].tolist() == o_lava[284:]


def core_weights(network, rule: PairSTDPRule, post_ticks, duration_ticks: int) -> np.ndarray:
    """Final weights (nA) of the plastic projection S->P of ``network`` with the core alone, fed the
    sources' spikes and the given post spikes."""
    arithmetic = rule.arithmetic
    connections = network.connections("S->P")
    stored = np.rint(connections.weight / arithmetic.weight_step).astype(np.int64)
    history = rule.history(network.size_of("P"))
    source = network.spike_sources["S"]
    pre_ticks = [network.semantics.ticks(train, "S", "spike_times") for train in source.spike_times]
    last_time = np.zeros(len(pre_ticks), dtype=np.int64)
    last_trace = np.zeros(len(pre_ticks), dtype=np.int64)
    for t in range(duration_ticks):
        posts = np.array([i for i, ticks in enumerate(post_ticks) if t in ticks], dtype=np.int64)
        if posts.size:
            history.add(t, posts)
        spiking = np.array([i for i, ticks in enumerate(pre_ticks) if t in ticks], dtype=np.int64)
        if spiking.size:
            synapses = np.flatnonzero(np.isin(connections.pre, spiking))
            stored[synapses], last_trace[spiking] = rule.update(
                t,
                history,
                last_time[spiking],
                last_trace[spiking],
                np.searchsorted(spiking, connections.pre[synapses]),
                connections.delay_ticks[synapses],
                connections.post[synapses],
                stored[synapses],
            )
            last_time[spiking] = t
    return stored * arithmetic.weight_step


@pytest.mark.parametrize(
    "chip, seed, dependence, delay, traces, heterosynaptic",
    [
        ("spinnaker", 0, "additive", 1, "all_to_all", 0.0),
        ("spinnaker", 5, "multiplicative", 4, "all_to_all", 0.0),
        ("lava", 4, "additive", 3, "all_to_all", 0.0),
        ("lava", 1, "multiplicative", 1, "all_to_all", 0.0),
        ("spinnaker", 3, "additive", 3, "nearest_spynnaker", 0.0),
        ("spinnaker", 2, "multiplicative", 1, "nearest_spynnaker", 0.0),
        ("lava", 6, "additive", 2, "nearest_spynnaker", 0.0),
        ("spinnaker", 7, "additive", 2, "all_to_all", 0.02),
        ("lava", 8, "additive", 1, "all_to_all", 0.02),
        ("spinnaker", 9, "additive", 1, "nearest_spynnaker", 0.02),
    ],
)
def test_the_core_on_each_chips_formats_is_the_brian2_fixed_point_reference(
    chip, seed, dependence, delay, traces, heterosynaptic
):
    # The same random spike trains (post memories overflowing, pre spikes a tick apart) through the
    # Brian2 reference on the chip's FixedPointSTDP and through the core built as the chip builds it
    # (its own tables and integer parameters): every final weight the same.
    network = random_plastic_network(seed, dependence, delay, traces=traces, heterosynaptic=heterosynaptic)
    if chip == "spinnaker":
        graph = spinnaker_lower(network)
        scaling = ring_buffer_scaling(graph)
        quantized = spinnaker_quantization_aware(network, graph, scaling)
        stdp = network.projections["S->P"].plasticity
        receptor = scaling["P"][0]
        arithmetic = chip_stdp_arithmetic(receptor)
        integers = {
            name: fp.s1615(getattr(stdp, name) * stdp_scale(stdp.to_dict(), name, receptor.weight_scale))
            for name in ("A_plus", "A_minus", "w_min", "w_max", "heterosynaptic")
        }
        tables = fp.stdp_lut(stdp.tau_plus, 1.0), fp.stdp_lut(stdp.tau_minus, 1.0)
        product_bits = fp.PRODUCT_BITS
    else:
        lowered = lava_lower(network)
        quantized = lowered.reference_network()
        fixed = lowered.projections["S->P"]
        stdp = network.projections["S->P"].plasticity
        arithmetic = pair_stdp_arithmetic(fixed.weight_unit)
        integers = stdp_units({name: getattr(stdp, name) for name in stdp.FIELDS}, fixed)
        tables = decay_table(stdp.tau_plus, 1.0), decay_table(stdp.tau_minus, 1.0)
        product_bits = None
    rule = PairSTDPRule(
        arithmetic,
        *tables,
        integers["A_plus"],
        integers["A_minus"],
        integers["w_min"],
        integers["w_max"],
        dependence == "multiplicative",
        product_bits,
        nearest=traces == "nearest_spynnaker",
        heterosynaptic=integers["heterosynaptic"],
    )
    reference = run_reference(quantized, 300.0)
    post_ticks = [set(ticks.tolist()) for ticks in reference.spikes.ticks("P")]
    assert sum(map(len, post_ticks)) > 100
    weights = core_weights(quantized, rule, post_ticks, 300)
    assert np.allclose(weights, reference.weights["S->P"]["weight"], rtol=0, atol=1e-12)
    if heterosynaptic:  # the term moved the weights
        without = core_weights(quantized, dataclasses.replace(rule, heterosynaptic=0), post_ticks, 300)
        assert np.mean(without - weights) > 0.1
    assert len(np.unique(weights)) > (30 if traces == "all_to_all" else 10)  # nearest pairs are fewer
