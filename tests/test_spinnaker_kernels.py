"""The emulation's compiled kernels (backends/spinnaker/compiled.py) against their numpy specification
(delivery.py, the shared pair rule and the parts' own steps), bit for bit: on random rows, delays, weights
and post histories (saturation at 0xFFFF, repeated post neurons, every setting of the rule), and whole
runs of the emulation with either."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurodeploy as nd
from conftest import feedforward_variant, random_plastic_network
from neurodeploy.backends.pair_stdp import PairSTDPRule
from neurodeploy.backends.spinnaker import SpinnakerBackend, delivery
from neurodeploy.description import FixedPointSTDP

pytest.importorskip("numba")
from neurodeploy.backends.spinnaker import compiled  # noqa: E402  (needs numba)

SETTINGS = settings(max_examples=150, deadline=None)


@st.composite
def projections(draw):
    """A projection's CSR rows onto a small population (post neurons repeat), its ring buffers part full
    and weights near the top of 16 bits (so that sums saturate), and the pre neurons spiking."""
    pre_size = draw(st.integers(1, 6))
    size = draw(st.integers(1, 4))
    slots = draw(st.sampled_from([2, 4, 8, 16]))
    counts = draw(st.lists(st.integers(0, 6), min_size=pre_size, max_size=pre_size))
    synapses = sum(counts)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    post = np.array(draw(st.lists(st.integers(0, size - 1), min_size=synapses, max_size=synapses)), dtype=np.int32)
    delay = np.array(draw(st.lists(st.integers(1, slots - 1), min_size=synapses, max_size=synapses)), dtype=np.uint8)
    weights = st.one_of(st.integers(0, 0xFFFF), st.integers(0xF000, 0xFFFF), st.just(0xFFFF))
    units = np.array(draw(st.lists(weights, min_size=synapses, max_size=synapses)), dtype=np.uint16)
    ring = np.array(
        draw(st.lists(st.integers(0, 0xFFFF), min_size=slots * 2 * size, max_size=slots * 2 * size)), dtype=np.uint16
    ).reshape(slots, 2, size)
    spiking = np.flatnonzero(draw(st.lists(st.booleans(), min_size=pre_size, max_size=pre_size))).astype(np.int64)
    return ring, draw(st.integers(0, 1000)), draw(st.integers(0, 1)), spiking, indptr, post, delay, units


@SETTINGS
@given(projections())
def test_compiled_row_delivery_adds_what_the_numpy_one_adds(projection):
    ring, t, receptor, spiking, indptr, post, delay, units = projection
    expected, delivered = ring.copy(), ring.copy()
    delivery.deliver_rows(expected, t, receptor, spiking, indptr, post, delay, units)
    compiled.deliver_rows(delivered, t, receptor, spiking, indptr, post, delay, units)
    np.testing.assert_array_equal(delivered, expected)


@SETTINGS
@given(projections())
def test_compiled_rows_and_synapse_delivery_agree_with_numpy(projection):
    ring, t, receptor, spiking, indptr, post, delay, units = projection
    rows, synapses = delivery.synapse_rows(indptr, spiking)
    compiled_rows, compiled_synapses = compiled.synapse_rows(indptr, spiking)
    np.testing.assert_array_equal(compiled_rows, rows)
    np.testing.assert_array_equal(compiled_synapses, synapses)
    expected, delivered = ring.copy(), ring.copy()
    delivery.deliver(expected, t, receptor, synapses, post, delay, units)
    compiled.deliver(delivered, t, receptor, synapses, post, delay, units)
    np.testing.assert_array_equal(delivered, expected)


def test_a_row_onto_one_neuron_saturates_its_slot_and_leaves_the_others():
    """Hand-derived: 0xFFF0 already in slot (3 + 2) & 7 of neuron 1, excitatory, plus 0x20 saturates;
    the inhibitory slot of neuron 0 takes 5 + 7."""
    ring = np.zeros((8, 2, 2), dtype=np.uint16)
    ring[5, 0, 1] = 0xFFF0
    indptr = np.array([0, 3], dtype=np.int64)
    post, delay = np.array([1, 0, 0], dtype=np.int32), np.array([2, 4, 4], dtype=np.uint8)
    units = np.array([0x20, 5, 7], dtype=np.uint16)
    compiled.deliver_rows(ring, 3, 0, np.array([0]), indptr, post, delay, units)
    assert ring[5, 0, 1] == 0xFFFF and ring[7, 0, 0] == 12
    assert np.count_nonzero(ring) == 2


@st.composite
def stdp_batches(draw):
    """A rule with random formats and amplitudes, post neurons with random remembered spikes, and the
    synapses of a batch of spiking pre neurons."""
    multiplicative = draw(st.booleans())
    arithmetic = FixedPointSTDP(
        weight_lsb=1.0,
        weight_step=float(draw(st.sampled_from([1, 4, 16]))),
        weight_bits=draw(st.sampled_from([8, 16])),
        weight_signed=draw(st.booleans()),
        trace_bits=draw(st.integers(7, 11)),
        decay_bits=draw(st.integers(8, 12)),
        trace_width=16,
        trace_overflow=draw(st.sampled_from(["wrap", "saturate"])),
        rate_bits=draw(st.integers(8, 15)),
        rate_product=draw(st.sampled_from(["floor_each", "floor_once"])),
        history=draw(st.integers(1, 6)),
        potentiate_tick_zero=draw(st.booleans()),
    )
    amplitude = st.integers(0, 1 << 15)
    bound = st.integers(0, 1 << 20)
    w_min, w_max = sorted([draw(bound), draw(bound)])
    table = st.lists(st.integers(0, 1 << 12), min_size=1, max_size=40)
    rule = PairSTDPRule(
        arithmetic,
        np.array(draw(table)),
        np.array(draw(table)),
        draw(amplitude),
        draw(amplitude),
        w_min,
        w_max,
        multiplicative,
        product_bits=draw(st.sampled_from([None, 32])),
        nearest=draw(st.booleans()),
        heterosynaptic=draw(st.sampled_from([0, draw(st.integers(1, 1 << 14))])),
    )
    neurons = draw(st.integers(1, 4))
    history = rule.history(neurons)
    t = draw(st.integers(0, 40))
    post_spikes = [set(draw(st.lists(st.integers(0, t), max_size=8))) for _ in range(neurons)]
    for tick in range(t + 1):  # post spikes up to and including tick t, a few per neuron
        spiking = np.array([neuron for neuron, ticks in enumerate(post_spikes) if tick in ticks], dtype=np.int64)
        if spiking.size:
            history.add(tick, spiking)
    pre = draw(st.integers(1, 4))
    last_time = np.array(draw(st.lists(st.integers(0, t), min_size=pre, max_size=pre)), dtype=np.int64)
    last_trace = np.array(draw(st.lists(st.integers(-(1 << 15), (1 << 15) - 1), min_size=pre, max_size=pre)))
    synapses = draw(st.integers(0, 12))
    rows = np.array(draw(st.lists(st.integers(0, pre - 1), min_size=synapses, max_size=synapses)), dtype=np.int64)
    delay = np.array(draw(st.lists(st.integers(1, 8), min_size=synapses, max_size=synapses)), dtype=np.uint8)
    post = np.array(draw(st.lists(st.integers(0, neurons - 1), min_size=synapses, max_size=synapses)), dtype=np.int32)
    top = (1 << arithmetic.weight_bits) - 1
    stored = np.array(draw(st.lists(st.integers(0, top), min_size=synapses, max_size=synapses)), dtype=np.uint16)
    return rule, t, history, last_time, last_trace, rows, delay, post, stored


@settings(max_examples=400, deadline=None)
@given(stdp_batches())
def test_compiled_stdp_update_is_the_pair_rules(batch):
    rule, *arguments = batch
    expected_weights, expected_traces = rule.update(*arguments)
    weights, traces = compiled.stdp_update(rule, *arguments)
    np.testing.assert_array_equal(weights, expected_weights)
    np.testing.assert_array_equal(traces, expected_traces)


def test_without_numba_the_emulation_says_so_once_and_runs_numpy():
    """In a fresh interpreter where importing numba fails: one line on stderr, the numpy kernels."""
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "from neurodeploy.backends.spinnaker import delivery\n"
        "print(delivery.kernels().name, delivery.kernels() is delivery.NUMPY)\n"
    )
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert finished.stdout.split() == ["numpy", "True"]
    assert len(finished.stderr.strip().splitlines()) == 1
    assert "numpy kernels" in finished.stderr and "numba" in finished.stderr


def emulate(network, duration_ms, kernels, monkeypatch, **options):
    monkeypatch.setattr(delivery, "_chosen", kernels)
    return SpinnakerBackend(**options).run(network, duration_ms)


def assert_same_runs(network, duration_ms, monkeypatch, **options):
    """The emulation with the compiled kernels (and fused tick) against the numpy kernels: spikes,
    recorded traces and learned weights bit for bit."""
    expected = emulate(network, duration_ms, delivery.NUMPY, monkeypatch, **options)
    result = emulate(network, duration_ms, compiled.KERNELS, monkeypatch, **options)
    assert expected.spikes.populations.keys() == result.spikes.populations.keys()
    for label, trains in expected.spikes.populations.items():
        for train, other in zip(trains, result.spikes.populations[label]):
            np.testing.assert_array_equal(other, train)
    assert sum(len(t) for trains in expected.spikes.populations.values() for t in trains) > 0
    for label, traces in expected.traces.items():
        for variable, trace in traces.items():
            np.testing.assert_array_equal(result.traces[label][variable], trace)
    for label, weights in expected.weights.items():
        np.testing.assert_array_equal(result.weights[label]["weight"], weights["weight"])


@pytest.mark.parametrize(
    "semantics", [{}, {"threshold": ">"}, {"reset": "subtract", "threshold": ">"}], ids=["stock", "strict", "subtract"]
)
def test_the_emulation_computes_the_same_with_compiled_and_numpy_kernels(semantics, monkeypatch):
    """IF_curr_exp (the fused tick) with a refractory period, excited and inhibited through delays of 1-4
    ticks, V and currents recorded at the end of each tick."""
    data = feedforward_variant("own").to_dict()
    data["semantics"].update(semantics)
    data["populations"][0]["parameters"]["tau_refrac"] = 2.0
    data["recordings"] = {"neurons": ["spikes", "v", "isyn_exc", "isyn_inh"]}
    network = nd.Network.from_dict(data)
    assert_same_runs(network, 300.0, monkeypatch)


@pytest.mark.parametrize("dependence", ["additive", "multiplicative"])
@pytest.mark.parametrize("traces", ["all_to_all", "nearest_spynnaker"])
def test_plastic_runs_are_the_same_with_compiled_and_numpy_kernels(dependence, traces, monkeypatch):
    """STDP through delays, post spikes recorded as sPyNNaker records them (no fused tick there)."""
    network = random_plastic_network(3, dependence, 3, traces=traces)
    network.record("P", ["spikes", "v"])
    assert_same_runs(network, 300.0, monkeypatch)
    assert_same_runs(network, 300.0, monkeypatch, recording="spynnaker")


def test_heterosynaptic_runs_are_the_same_with_compiled_and_numpy_kernels(monkeypatch):
    network = random_plastic_network(4, "additive", 2, heterosynaptic=0.02)
    assert_same_runs(network, 300.0, monkeypatch)


@pytest.mark.parametrize("threshold", [">=", ">"])
def test_a_neuron_settling_at_its_threshold_spikes_only_under_greater_or_equal(threshold, monkeypatch):
    """Hand-derived: i_offset 0.75 nA through R = 20 MOhm puts alpha at v_rest + 15 mV = v_thresh to the bit
    (24576 * 655360 >> 15 = 491520 = 15 mV); V's distance to alpha shrinks by floor(exp_TC d >> 15) to 0,
    so V settles exactly at the threshold: '>=' spikes there, '>' never does."""
    network = nd.Network("settling", nd.Semantics(threshold=threshold))
    network.population("held", 1, parameters={"i_offset": 0.75})
    network.record("held", ["spikes", "v"])
    if threshold == ">=":
        assert_same_runs(network, 400.0, monkeypatch)
    result = emulate(network, 400.0, compiled.KERNELS, monkeypatch)
    assert (len(result.spikes.populations["held"][0]) > 0) == (threshold == ">=")
    assert result.traces["held"]["v"].max() <= -50.0
