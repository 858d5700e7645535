"""topographic-map: the receptive-field measure against hand-derived values, the network as Bogdan et al.
describe it, and the reference against the SpiNNaker emulation: on the chip's numbers, the same
spikes, decisions and weights; on the described (float) numbers, the same until the first threshold
crossing that the chip's fixed-point arithmetic flips (this network has no margin: some neuron always
sits within hundredths of a millivolt of threshold), the same statistics after."""

import numpy as np
import pytest

from neurodeploy.backends import make_backend
from neurodeploy.catalog import load_model
from neurodeploy.errors import ValidationError

N = 16


@pytest.fixture(scope="module")
def module():
    return load_model("topographic-map", {"duration_ms": 1}).family.module


def field(module, places_and_weights, neuron=0):
    """The measure of one neuron (``neuron``) whose synapses come from the given places."""
    pre = np.array([row * N + col for (row, col), _ in places_and_weights])
    weight = np.array([w for _, w in places_and_weights], dtype=float)
    result = module.refinement(pre, np.full(len(pre), neuron), weight, N)
    return result["sigma_per_neuron"][neuron], result["AD_per_neuron"][neuron]


def test_point_fields_have_no_spread_and_deviate_by_their_distance(module):
    assert field(module, [((0, 0), 1.0)]) == (0.0, 0.0)
    sigma, deviation = field(module, [((3, 4), 2.0)])  # neuron 0 sits at (0, 0): 3-4-5 triangle
    assert sigma == 0.0 and deviation == pytest.approx(5.0)
    sigma, deviation = field(module, [((15, 14), 1.0)], neuron=0)  # periodic: (-1, -2) away
    assert sigma == 0.0 and deviation == pytest.approx(np.sqrt(5.0))


def test_two_neighbouring_places_centre_between_them(module):
    # Columns 5 and 6 equally: the column centre is 5.5 (spread 0.5), the row spread 0.
    sigma, deviation = field(module, [((2, 5), 1.0), ((2, 6), 1.0)], neuron=2 * N + 5)
    assert sigma == pytest.approx((0.0 + 0.5) / 2) and deviation == pytest.approx(0.5)
    # Weights 4:1 put the centre at 5.2, spread sqrt(0.8 * 0.2^2 + 0.2 * 0.8^2) = 0.4.
    sigma, deviation = field(module, [((2, 5), 4.0), ((2, 6), 1.0)], neuron=2 * N + 5)
    assert sigma == pytest.approx(0.4 / 2) and deviation == pytest.approx(0.2)


def test_a_uniform_field_spreads_as_the_whole_window(module):
    # About an integer centre: displacements -8..8, the antipodal place halved at both ends, variance
    # (2 * sum k^2 for k < 8 + 64) / 16 = 21.5. Shifted by f the variance is 21.5 - f^2, smallest at
    # f = 1/2: the 16 places at +-0.5 .. +-7.5, variance 21.25.
    everywhere = [((row, col), 1.0) for row in range(N) for col in range(N)]
    sigma, _ = field(module, everywhere)
    assert (2 * sum(k * k for k in range(1, 8)) + 64) / 16 - 0.25 == 2 * sum((k + 0.5) ** 2 for k in range(8)) / 16
    assert sigma == pytest.approx(np.sqrt(21.25))


def test_neurons_without_synapses_count_as_zero(module):
    result = module.refinement(np.array([0]), np.array([0]), None, N)
    assert result["sigma_per_neuron"][1:].sum() == 0 and result["AD"] == 0.0


def test_the_network_as_described(module):
    rates = module.stimulus_rates(np.array([[3, 4]]), N, 2.0, 5.0, 20.0)[0]
    assert rates.mean() == pytest.approx(20.0) and rates.argmax() == 3 * N + 4
    assert rates.max() == pytest.approx(158, abs=1)  # their f_peak 152.8 Hz plus f_base
    assert rates[(3 + 8) * N + 12] == pytest.approx(5.0, abs=0.01)  # antipodal place: f_base
    network = load_model("topographic-map", {"duration_ms": 2000}).network
    rates = [len(t) / 2.0 for t in network.spike_sources["S"].spike_times]
    assert np.mean(rates) == pytest.approx(20.0, rel=0.05)
    for label, (p_form, sigma) in (("S->P", (0.16, 2.5)), ("P->P", (1.0, 1.0))):
        connections = network.connections(label)
        assert np.all(np.bincount(connections.post, minlength=N * N) == 16)
        assert len(set(zip(connections.pre.tolist(), connections.post.tolist()))) == 16 * N * N
        rule = network.projections[label].structural
        assert (rule.p_form_forward, rule.sigma_form_forward, rule.p_form_lateral, rule.sigma_form_lateral) == (
            0.16,
            2.5,
            1.0,
            1.0,
        )
        assert rule.s_max == 16 and rule.weight_threshold == pytest.approx(6.0) and rule.initial_weight == 12.0
        stdp = network.projections[label].plasticity
        assert (stdp.A_plus, stdp.A_minus, stdp.w_max) == pytest.approx((1.2, 0.45, 12.0))
    conductance = load_model("topographic-map", {"duration_ms": 10, "conductance": True}).network
    cell = conductance.populations["P"]
    assert cell.cell_type == "IF_cond_exp" and (cell.parameters["e_rev_E"], cell.parameters["e_rev_I"]) == (0.0, -80.0)
    assert conductance.projections["S->P"].plasticity.w_max == pytest.approx(0.2)  # g_max, uS
    assert conductance.projections["S->P"].structural.initial_weight == pytest.approx(0.2)
    inhibited = load_model("topographic-map", {"duration_ms": 10, "lateral_inhibition": True}).network
    assert inhibited.projections["P->P"].receptor == "inhibitory"
    assert inhibited.projections["P->P"].plasticity.w_max == pytest.approx(4.0)
    assert (
        load_model("topographic-map", {"duration_ms": 10, "rewiring": False}).network.projections["S->P"].structural
        is None
    )
    with pytest.raises(ValidationError, match="even grid side"):
        load_model("topographic-map", {"n": 15})


def test_a_longer_run_starts_as_a_shorter_one():
    short = load_model("topographic-map", {"duration_ms": 100}).network
    long = load_model("topographic-map", {"duration_ms": 400}).network
    for a, b in zip(short.spike_sources["S"].spike_times, long.spike_sources["S"].spike_times):
        assert np.array_equal(a, b[b < 100])
    assert np.array_equal(short.connections("S->P").pre, long.connections("S->P").pre)


def test_reference_and_emulation_agree_until_a_fixed_point_threshold_flip():
    network = load_model("topographic-map", {"duration_ms": 300}).network
    network.record("P", ("spikes", "v"))
    reference, emulation = (make_backend(b).run(network, 300.0) for b in ("brian2", "spinnaker"))
    spikes = [np.zeros((300, N * N), dtype=bool) for _ in range(2)]
    for grid, result in zip(spikes, (reference, emulation)):
        for neuron, ticks in enumerate(result.spikes.ticks("P")):
            grid[ticks.astype(int), neuron] = True
    differing = np.flatnonzero((spikes[0] != spikes[1]).any(axis=1))
    assert differing.size, "expected the fixed-point arithmetic to flip some threshold crossing in 300 ms"
    first = int(differing[0])
    assert first > 10 and spikes[0][:first].sum() > 100  # well into the activity
    v_ref, v_emu = reference.traces["P"]["v"], emulation.traces["P"]["v"]
    assert np.abs(v_ref[:first] - v_emu[:first]).max() < 0.05  # mV: the arithmetic, nothing else
    flipped = np.flatnonzero(spikes[0][first] != spikes[1][first])
    assert np.all(np.abs(v_ref[first - 1, flipped] - v_emu[first - 1, flipped]) < 0.05)
    # The decisions up to the flip are the same, and after it they part (the partners offered are the
    # neurons that spiked, and the spikes now differ): from there on the comparison is statistical.
    for label in ("S->P", "P->P"):
        before = [e for e in reference.structural["events"][label] if e[0] <= first]
        assert before == [e for e in emulation.structural["events"][label] if e[0] <= first]


def test_reference_and_emulation_agree_in_statistics():
    network = load_model("topographic-map", {"duration_ms": 2000}).network
    results = [make_backend(b).run(network, 2000.0) for b in ("brian2", "spinnaker")]
    counts = [sum(len(t) for t in r.spikes.ticks("P")) for r in results]
    assert counts[1] == pytest.approx(counts[0], rel=0.05)
    for label in ("S->P", "P->P"):
        events = [len(r.structural["events"][label]) for r in results]
        # Poisson-like counts of roughly 40-80: within three standard deviations of each other.
        assert abs(events[0] - events[1]) < 3 * np.sqrt(events[0] + events[1])
        synapses = [len(r.weights[label]["pre"]) for r in results]
        assert abs(synapses[0] - synapses[1]) < 3 * np.sqrt(events[0] + events[1])


@pytest.mark.slow
@pytest.mark.parametrize("conductance", [False, True])
def test_on_lavas_numbers_the_reference_is_lava(conductance):
    # Run on Lava's numbers (8-bit weights, the neurons' 12-bit decays and 24-bit integers, STDP on
    # PairSTDPSynapses' integers), the reference fires spike for spike as Lava, rewires alike and ends
    # with the same weights (measured: 2 s, 17984 spikes, 104 events; 300 ms here).
    from neurodeploy.backends.lava import lower

    network = load_model("topographic-map", {"duration_ms": 300, "conductance": conductance}).network
    reference = make_backend("brian2").run(lower(network).reference_network(), 300.0)
    lava = make_backend("lava").run(network, 300.0)
    assert sum(len(t) for t in reference.spikes.ticks("P")) > 4000
    assert [t.tolist() for t in lava.spikes.ticks("P")] == [t.tolist() for t in reference.spikes.ticks("P")]
    assert lava.structural == reference.structural
    for label in ("S->P", "P->P"):
        for key in ("pre", "post"):
            assert np.array_equal(lava.weights[label][key], reference.weights[label][key])
        assert np.allclose(lava.weights[label]["weight"], reference.weights[label]["weight"], rtol=0, atol=1e-12)


def test_conductance_version_on_the_emulation_fires_as_the_reference():
    # Bogdan et al.'s own neuron type, on the reference and on sPyNNaker's conductance kernel.
    network = load_model("topographic-map", {"duration_ms": 1000, "conductance": True}).network
    results = [make_backend(b).run(network, 1000.0) for b in ("brian2", "spinnaker")]
    counts = [sum(len(t) for t in r.spikes.ticks("P")) for r in results]
    assert counts[0] > 2000 and counts[1] == pytest.approx(counts[0], rel=0.05)


@pytest.mark.slow
@pytest.mark.parametrize("conductance", [False, True])
def test_on_the_chips_numbers_the_reference_is_the_emulation(conductance):
    # The reference run on the chip's numbers (quantization_aware: stored weights, on-chip decays and
    # init, the neurons on its accumulators, STDP on sPyNNaker's integers) fires spike for spike as
    # the emulation, makes the same formation and elimination decisions and ends with the same weights
    # (measured: 2 s, 15359 spikes, 118 events; conductance-based 1 s, 8629 spikes, 41 events, its
    # ring buffers saturating; 300 ms here).
    from neurodeploy.backends.spinnaker.graph import lower
    from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling

    network = load_model("topographic-map", {"duration_ms": 300, "conductance": conductance}).network
    graph = lower(network)
    reference = make_backend("brian2").run(quantization_aware(network, graph, ring_buffer_scaling(graph)), 300.0)
    emulation = make_backend("spinnaker").run(network, 300.0)
    assert sum(len(t) for t in reference.spikes.ticks("P")) > 4000
    assert [t.tolist() for t in emulation.spikes.ticks("P")] == [t.tolist() for t in reference.spikes.ticks("P")]
    assert emulation.structural == reference.structural
    assert sum(len(events) for events in reference.structural["events"].values()) > 5
    for label in ("S->P", "P->P"):
        for key in ("pre", "post", "weight"):
            assert np.array_equal(emulation.weights[label][key], reference.weights[label][key])
