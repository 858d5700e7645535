"""sPyNNaker's STDP integration tests (``spynnaker_integration_tests/test_stdp/``) as plain PyNN scripts
against ``neurodeploy.pynn``: their board's post spikes exactly and their weights within their own
tolerances, the expected weight computed as they compute it (sPyNNaker's own pair formulas, the nearest
tests' inline formula) from the recorded post spikes, on brian2 and spinnaker. Lava is held to what its
integers can do (one weight step), and a PyNN-built STDP network deploys to spinn5 and loihi2."""

import numpy as np
import pytest

import neurodeploy.pynn as sim
from neurodeploy.catalog import LoadedModel
from neurodeploy.pynn.build import build_network
from neurodeploy.pynn.simulator import state

spynnaker_stdp = pytest.importorskip(
    "spynnaker.pyNN.models.neuron.synapse_dynamics", reason="the oracle is sPyNNaker's own STDP formula"
)

CURRENT_TARGET = [1014, 1032, 1053]  # the board's post spikes of the IF_curr_exp tests
CONDUCTANCE_TARGET = [1013, 1032, 1051, 1055]  # and of the IF_cond_exp ones
FLOAT_BACKENDS = ("brian2", "spinnaker")


@pytest.fixture(autouse=True)
def fresh_simulator():
    yield
    sim.end()


def potentiation_and_depression(backend, timing, dependence, conductance=False):
    """The integration tests' network: pre spikes at 1010 and 1050, an extra source at 1030, both driving
    one post neuron through static synapses, and the plastic synapse pre -> post (PyNN's defaults, as
    sPyNNaker's scripts have them). Returns the post spikes, the final weight and the STDP parameters."""
    if conductance:
        static, initial, delay = 0.1, 0.05, 1
        rule = {"tau_plus": 20.0, "tau_minus": 64.0, "A_plus": 0.1, "A_minus": 0.0375}
        w_min, w_max, cell = 0.0, 0.5, sim.IF_cond_exp()
    else:
        static, initial, delay = 5.0, 2.5, 3
        rule = {"tau_plus": 20.0, "tau_minus": 20.0, "A_plus": 0.01, "A_minus": 0.01}
        w_min, w_max, cell = 0.0, 5.0, sim.IF_curr_exp()
    sim.setup(1, backend=backend)
    pre = sim.Population(1, sim.SpikeSourceArray(spike_times=[1010, 1050]))
    extra = sim.Population(1, sim.SpikeSourceArray(spike_times=[1030]))
    post = sim.Population(1, cell)
    sim.Projection(pre, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=static, delay=1))
    sim.Projection(extra, post, sim.OneToOneConnector(), sim.StaticSynapse(weight=static, delay=1))
    mechanism = sim.STDPMechanism(
        timing_dependence=timing(**rule),
        weight_dependence=dependence(w_min=w_min, w_max=w_max),
        weight=initial,
        delay=delay,
    )
    plastic = sim.Projection(pre, post, sim.OneToOneConnector(), mechanism, receptor_type="excitatory")
    post.record("spikes")
    sim.run(1100)
    spikes = [int(t) for t in post.get_data("spikes").segments[0].spiketrains[0].magnitude]
    weights = plastic.get("weight", "list", with_address=False)
    assert np.array_equal(plastic.get("weight", format="array"), [weights])
    return spikes, weights, {**rule, "initial": initial, "delay": delay, "w_min": w_min, "w_max": w_max}


def pair_formula(post, p, multiplicative):
    """sPyNNaker's calculate_spike_pair_{additive,multiplicative}_stdp_weight on the recorded spikes."""
    pre, post = np.array([1010, 1050]), np.array(post)
    if multiplicative:
        return spynnaker_stdp.calculate_spike_pair_multiplicative_stdp_weight(
            pre,
            post,
            *(p[name] for name in ("initial", "delay", "w_min", "w_max", "A_plus", "A_minus")),
            p["tau_plus"],
            p["tau_minus"],
        )
    return spynnaker_stdp.calculate_spike_pair_additive_stdp_weight(
        pre, post, p["initial"], p["delay"], p["A_plus"], p["A_minus"], p["tau_plus"], p["tau_minus"]
    )


def nearest_formula(post, p, multiplicative):
    """The nearest-pair tests' inline formula: post spikes before the last pre spike, shifted by the
    delay; each pre spike potentiates with the first later one and depresses with the last earlier one
    (multiplicative: times w_max - w0 and w0 - w_min)."""
    pre = [1010, 1050]
    considered = [t + p["delay"] for t in post if t < pre[-1]]
    potentiation = [t - min(s for s in considered if s > t) for t in pre if any(s > t for s in considered)]
    depression = [max(s for s in considered if s < t) - t for t in pre if any(s < t for s in considered)]
    up = (p["w_max"] - p["initial"]) if multiplicative else 1.0
    down = (p["initial"] - p["w_min"]) if multiplicative else 1.0
    return (
        p["initial"]
        + sum(up * p["A_plus"] * np.exp(t / p["tau_plus"]) for t in potentiation)
        - sum(down * p["A_minus"] * np.exp(t / p["tau_minus"]) for t in depression)
    )


CURRENT_CASES = {
    # test: timing rule, weight dependence, oracle, tolerance (as in the test), the table's value
    "pair additive": (
        sim.SpikePairRule,
        sim.AdditiveWeightDependence,
        pair_formula,
        {"rtol": 1e-3},
        2.5032677642521715,
    ),
    "pair multiplicative": (
        sim.SpikePairRule,
        sim.MultiplicativeWeightDependence,
        pair_formula,
        {"rtol": 1e-3},
        2.5081694106304284,
    ),
    "nearest additive": (
        sim.extra_models.SpikeNearestPairRule,
        sim.AdditiveWeightDependence,
        nearest_formula,
        {"atol": 1e-3},
        2.5023232153697768,
    ),
    "nearest multiplicative": (
        sim.extra_models.SpikeNearestPairRule,
        sim.MultiplicativeWeightDependence,
        nearest_formula,
        {"atol": 1e-3},
        2.5058080384244423,
    ),
}


@pytest.mark.parametrize("backend", FLOAT_BACKENDS)
@pytest.mark.parametrize("case", CURRENT_CASES)
def test_spynnakers_current_based_stdp_tests(case, backend):
    timing, dependence, formula, tolerance, tabled = CURRENT_CASES[case]
    spikes, weights, parameters = potentiation_and_depression(backend, timing, dependence)
    assert spikes == CURRENT_TARGET
    multiplicative = dependence is sim.MultiplicativeWeightDependence
    expected = formula(spikes, parameters, multiplicative)
    assert expected == pytest.approx(tabled, rel=1e-12)  # the oracle on the board's spikes, as tabled
    assert len(weights) == 1
    assert np.allclose(weights, expected, rtol=tolerance.get("rtol", 1e-5), atol=tolerance.get("atol", 0.0))


CONDUCTANCE_CASES = {
    "pair": (sim.SpikePairRule, pair_formula, 0.11341764896563816),
    "nearest": (sim.extra_models.SpikeNearestPairRule, nearest_formula, 0.10312082795514244),
}


@pytest.mark.parametrize("backend", FLOAT_BACKENDS)
@pytest.mark.parametrize("case", CONDUCTANCE_CASES)
def test_spynnakers_conductance_based_stdp_tests(case, backend):
    timing, formula, tabled = CONDUCTANCE_CASES[case]
    spikes, weights, parameters = potentiation_and_depression(
        backend, timing, sim.AdditiveWeightDependence, conductance=True
    )
    assert spikes == CONDUCTANCE_TARGET
    expected = formula(spikes, parameters, multiplicative=False)
    assert expected == pytest.approx(tabled, rel=1e-12)
    assert np.allclose(weights, expected, rtol=1e-3, atol=0.0)


@pytest.mark.parametrize("backend", FLOAT_BACKENDS)
@pytest.mark.parametrize("dependence", [sim.AdditiveWeightDependence, sim.MultiplicativeWeightDependence])
def test_spynnakers_post_spike_same_time_test(dependence, backend):
    # Two identical pre -> post pairs sharing one STDPMechanism object learn the same weight exactly,
    # and it is sPyNNaker's formula on the first post neuron's recorded spikes.
    sim.setup(1, backend=backend)
    mechanism = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20, tau_minus=20, A_plus=0.01, A_minus=0.01),
        weight_dependence=dependence(w_min=0, w_max=5),
        weight=4.0,
        delay=1,
    )
    projections, posts = [], []
    for _ in range(2):
        pre = sim.Population(1, sim.SpikeSourceArray(spike_times=list(range(0, 10, 2))))
        posts.append(sim.Population(1, sim.IF_curr_exp()))
        projections.append(sim.Projection(pre, posts[-1], sim.OneToOneConnector(), mechanism))
    posts[0].record("spikes")
    sim.run(12)
    post = [int(t) for t in posts[0].get_data("spikes").segments[0].spiketrains[0].magnitude]
    first, second = (projection.get("weight", "list", with_address=False) for projection in projections)
    assert post and first == second and len(first) == 1
    pre = np.arange(0, 10, 2)
    if dependence is sim.MultiplicativeWeightDependence:
        expected = spynnaker_stdp.calculate_spike_pair_multiplicative_stdp_weight(
            pre, np.array(post), 4.0, 1, 0.0, 5.0, 0.01, 0.01, 20.0, 20.0
        )
    else:
        expected = spynnaker_stdp.calculate_spike_pair_additive_stdp_weight(
            pre, np.array(post), 4.0, 1, 0.01, 0.01, 20.0, 20.0
        )
    assert expected != 4.0
    assert np.allclose(first, expected, rtol=1e-3)


def lava_compilation(timing, dependence, conductance) -> tuple[float, str]:
    """The weight step (mantissa unit) Lava's PairSTDPSynapses holds the plastic projection in, and the
    loihi design rules' findings."""
    from neurodeploy.backends.lava import lower
    from neurodeploy.backends.lava.rules import check_fixed

    potentiation_and_depression("brian2", timing, dependence, conductance)  # builds the same network
    label = state.projections[-1].description.label
    network = build_network(state, 1100.0)
    lowered = lower(network)
    findings = check_fixed(network, lowered.populations, lowered.projections, None)
    return lowered.projections[label].weight_unit, " | ".join(map(str, findings))


@pytest.mark.parametrize(
    "timing, dependence, conductance, formula",
    [
        (sim.SpikePairRule, sim.AdditiveWeightDependence, False, pair_formula),
        (sim.extra_models.SpikeNearestPairRule, sim.MultiplicativeWeightDependence, False, nearest_formula),
        (sim.SpikePairRule, sim.AdditiveWeightDependence, True, pair_formula),
        (sim.extra_models.SpikeNearestPairRule, sim.AdditiveWeightDependence, True, nearest_formula),
    ],
)
def test_lava_gives_the_post_spikes_and_the_weights_within_one_of_its_weight_steps(
    timing, dependence, conductance, formula
):
    # Lava holds weights in whole mantissas (0.0353 nA here for IF_curr_exp, where additive A+- = 0.01 nA
    # round to 0 mantissas and the weight stays at its stored 71 mantissas; multiplicative rates are
    # 2^-8 steps; 0.00221 uS for IF_cond_exp, where every update floors): the board's spikes exactly,
    # the weight within one step of the oracle.
    unit, findings = lava_compilation(timing, dependence, conductance)
    sim.end()
    if not conductance and dependence is sim.AdditiveWeightDependence:  # the design rules say so
        assert (
            "STDP A_plus = 0.01 nA is 0.283 weight steps of 0.0353 nA (8-bit weights, exponent 6) and becomes 0: "
            "the rule never potentiates" in findings
        )
    spikes, weights, parameters = potentiation_and_depression("lava", timing, dependence, conductance)
    assert spikes == (CONDUCTANCE_TARGET if conductance else CURRENT_TARGET)
    expected = formula(spikes, parameters, dependence is sim.MultiplicativeWeightDependence)
    assert weights[0] / unit == pytest.approx(round(weights[0] / unit), abs=1e-6)  # whole mantissas
    assert abs(weights[0] - expected) <= unit


@pytest.mark.slow
@pytest.mark.parametrize("target", ["spinn5", "loihi2"])
def test_a_pynn_stdp_network_deploys_to_either_target(target, tmp_path):
    # The nearest-pair network built by a PyNN script (its description, as ``run`` builds it): compiled
    # (on spinn5 lowered to SpikeNearestPairRule and mapped by sPyNNaker), run on the target's backend
    # and compared with the reference on the target's numbers.
    from neurodeploy.pipeline import deploy_model

    sim.setup(1)
    pre = sim.Population(4, sim.SpikeSourceArray(spike_times=[[10, 50, 90], [12, 60], [30, 31, 70], [5]]))
    post = sim.Population(3, sim.IF_curr_exp(tau_refrac=2.0, i_offset=[0.8, 1.0, 1.2]))
    mechanism = sim.STDPMechanism(
        timing_dependence=sim.extra_models.SpikeNearestPairRule(tau_plus=20, tau_minus=20, A_plus=0.2, A_minus=0.2),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0, w_max=4),
        weight=2.0,
        delay=2,
    )
    sim.Projection(pre, post, sim.AllToAllConnector(), mechanism, label="plastic")
    post.record("spikes")
    network = build_network(state, 100.0)
    assert network.projections["plastic"].plasticity.semantics.traces == "nearest_spynnaker"
    summary = deploy_model(LoadedModel(network, "pynn-stdp", "test"), target, tmp_path / "deploy", 100.0, None)
    assert summary["per_target"][target]["errors"] == [] and summary["passed"], summary
    if target == "spinn5":  # sPyNNaker mapped the script's SpikeNearestPairRule on its virtual board
        compiled = tmp_path / "deploy" / "spinn5" / "compile"
        assert '"timing_dependence": "SpikeNearestPairRule"' in (compiled / "graph.json").read_text()
        assert (compiled / "mapping.json").is_file()


def test_other_stdp_rules_are_refused_naming_them():
    sim.setup(1)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[1]))
    post = sim.Population(1, sim.IF_curr_exp())
    with pytest.raises(NotImplementedError, match="Vogels2011Rule"):
        sim.Vogels2011Rule()
    with pytest.raises(NotImplementedError, match="GutigWeightDependence"):
        sim.GutigWeightDependence()
    with pytest.raises(NotImplementedError, match="TsodyksMarkramSynapse"):
        sim.TsodyksMarkramSynapse()
    half = sim.STDPMechanism(sim.SpikePairRule(), sim.AdditiveWeightDependence(), dendritic_delay_fraction=0.5)
    with pytest.raises(NotImplementedError, match="dendritic_delay_fraction=0.5"):
        sim.Projection(source, post, sim.OneToOneConnector(), half)


def test_final_weights_are_read_through_views_in_their_neurons_places():
    # Pre neurons 1 and 2 (a view) onto 2 post neurons driven to spike once, at s: only neuron 2 spikes
    # (at 10 and 50), so only its synapses learn, by the pair formula (potentiation at lag s + 1 - 10,
    # depression at lag 50 - s - 1); neuron 1's keep their initial weight.
    sim.setup(1)
    pre = sim.Population(3, sim.SpikeSourceArray(spike_times=[[], [], [10, 50]]))
    drive = sim.Population(1, sim.SpikeSourceArray(spike_times=[20]))
    post = sim.Population(2, sim.IF_curr_exp())
    sim.Projection(drive, post, sim.AllToAllConnector(), sim.StaticSynapse(weight=5.0, delay=1))
    rule = sim.SpikePairRule(tau_plus=20, tau_minus=20, A_plus=0.1, A_minus=0.1)
    mechanism = sim.STDPMechanism(rule, sim.AdditiveWeightDependence(0, 1), weight=0.5, delay=1)
    plastic = sim.Projection(pre[1:3], post, sim.AllToAllConnector(), mechanism)
    post.record("spikes")
    sim.run(60)
    trains = [list(train.magnitude) for train in post.get_data("spikes").segments[0].spiketrains]
    assert len(trains[0]) == 1 and trains[1] == trains[0] and 11 < trains[0][0] < 48
    s = trains[0][0]
    learned = 0.5 + 0.1 * np.exp(-(s + 1 - 10) / 20) - 0.1 * np.exp(-(50 - s - 1) / 20)
    assert np.allclose(plastic.get("weight", format="array"), [[0.5, 0.5], [learned, learned]], rtol=0, atol=1e-12)
    listed = sorted(plastic.get("weight", "list"))
    assert [(i, j) for i, j, _ in listed] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert np.allclose([w for *_, w in listed], [0.5, 0.5, learned, learned], rtol=0, atol=1e-12)
