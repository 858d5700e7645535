"""Structural plasticity (sPyNNaker's synaptogenesis): the declaration, the shared decision procedure
against an independent expectation (the stationary birth-death chain and the issue's analytic k*),
and the three backends making the same decisions."""

import dataclasses
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import lower as lava_lower
from neurodeploy.backends.lava.rules import check_fixed
from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.kernel import Emulator
from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_structural
from neurodeploy.backends.spinnaker.toolchain import compile_network, map_on_virtual_board
from neurodeploy.catalog import target_descriptions
from neurodeploy.cli import main
from neurodeploy.description.structural import ProjectionRewiring, StructuralEngine, rewiring_for
from neurodeploy.runs.compare import compare_structural
from neurodeploy.runs.deployment import comparison


def rewiring_network(
    selection="random",
    n_pre=16,
    s_max=8,
    p_form=0.5,
    sigma=2.0,
    p_elim=0.05,
    seed=4,
    initial=([0, 1], [0, 5]),
    weight=10.0,
):
    """Sources firing regularly into 16 neurons through a structural projection; by default each input
    spike alone makes its post neuron fire (a regime where spike times do not hang on arithmetic)."""
    net = nd.Network("rewiring", seed=seed)
    net.spike_source("S", [[float(t) for t in range(i % 5, 400, 7)] for i in range(n_pre)])
    net.population(
        "P", 16, parameters={"tau_refrac": 2.0, "tau_syn_E": 0.3, "tau_m": 3.0, "cm": 0.27, "v_thresh": -62.0}
    )
    net.project(
        "S",
        "P",
        nd.FromList(*initial),
        weight=weight,
        label="sp",
        structural=nd.Synaptogenesis(
            s_max=s_max,
            partner_selection=selection,
            grid=(32, 32) if n_pre > 256 else (4, 4),
            p_form_forward=p_form,
            sigma_form_forward=sigma,
            p_elim_dep=p_elim,
            p_elim_pot=p_elim,
            initial_weight=weight,
            weight_threshold=0.5,
        ),
    )
    net.record("P")
    return net


def chain_mean(s_max, n_pre, p_form, p_elim):
    """Stationary mean of the synapse count of one post neuron: a birth-death chain where an attempt on
    a free slot forms with probability (partner not yet connected) x p_form, and on an occupied one
    eliminates with p_elim."""
    weights = [1.0]
    for k in range(s_max):
        up = (1 - k / s_max) * (1 - k / n_pre) * p_form
        down = (k + 1) / s_max * p_elim
        weights.append(weights[-1] * up / down)
    weights = np.array(weights) / sum(weights)
    return float(np.arange(s_max + 1) @ weights)


def counts_over_time(events: list, initial_pairs: int, n_post: int, ticks: int, start: int) -> np.ndarray:
    """Mean synapses per post neuron in each tick, replayed from exported events."""
    change = np.zeros(ticks + 1)
    for tick, kind, _, _ in events:
        change[tick] += 1 if kind == "form" else -1
    return (initial_pairs + np.cumsum(change))[start:ticks] / n_post


# --- the declaration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change, field, words",
    [
        (lambda p: p.update(delay=2.0), "delay", "delay of 1 tick"),
        (lambda p: p["structural"].update(s_max=1), "structural.s_max", "more than its 1 slots"),
        (lambda p: p["structural"].update(grid=[2, 2]), "structural.grid", "fewer places than neurons"),
        (lambda p: p["structural"].update(p_elim_dep=1.5), "p_elim_dep", "probability"),
        (lambda p: p["structural"].update(partner_selection="nearest"), "partner_selection", "must be one of"),
        (lambda p: p["connector"].update(pre=[0, 0], post=[0, 0]), "connector", "one synapse per pair"),
        (lambda p: p.update(post_slice=[0, 8]), "structural", "whole populations"),
    ],
)
def test_bad_structural_declarations(change, field, words):
    data = rewiring_network(initial=([0, 1], [0, 0])).to_dict()
    change(data["projections"][0])
    with pytest.raises(nd.ValidationError) as caught:
        nd.Network.from_dict(data)
    assert field in str(caught.value) and words in str(caught.value)


def test_round_trip_and_connectivity_recordings(tmp_path):
    net = rewiring_network()
    net.record_connectivity("sp", [10, 50])
    for suffix in (".json", ".yaml"):
        assert nd.load(nd.save(net, tmp_path / f"n{suffix}")) == net
    with pytest.raises(nd.ValidationError, match="no structural projection 'P'"):
        net.record_connectivity("P", [1])


def test_formation_probability_on_a_periodic_grid():
    rule = nd.Synaptogenesis(
        grid=(16, 16), p_form_forward=0.16, sigma_form_forward=2.5, p_form_lateral=1.0, sigma_form_lateral=1.0
    )
    # neuron 15 sits at (0, 15): one column from neuron 0 across the edge; 17 at (1, 1): distance^2 2
    p = rule.formation_probability(np.array([0, 0, 0]), np.array([15, 17, 8 * 16 + 8]), False)
    assert p.tolist() == pytest.approx(
        [0.16 * math.exp(-1 / 12.5), 0.16 * math.exp(-2 / 12.5), 0.16 * math.exp(-128 / 12.5)]
    )
    assert rule.formation_probability(np.array([0]), np.array([1]), True)[0] == pytest.approx(math.exp(-0.5))
    assert nd.Synaptogenesis(f_rew=1e4).schedule(1.0) == (10, 1)
    assert nd.Synaptogenesis(f_rew=100).schedule(1.0) == (1, 10)


# --- the decision procedure against independent expectations ----------------------------------


@pytest.mark.parametrize("n_pre, s_max", [(16, 8), (1024, 16)])
def test_steady_state_synapse_count(n_pre, s_max):
    net = rewiring_network(n_pre=n_pre, s_max=s_max, p_form=0.2, sigma=1e9, p_elim=0.1, initial=([0], [0]))
    rewiring = ProjectionRewiring.for_projection(net, "sp")
    samples = []
    for tick in range(19000):
        rewiring.step(tick, None)
        if tick >= 3000:
            samples.append(rewiring.synapse_counts().mean())
    batches = np.array(samples).reshape(16, -1).mean(axis=1)
    error = batches.std(ddof=1) / math.sqrt(len(batches))
    assert abs(np.mean(samples) - chain_mean(s_max, n_pre, 0.2, 0.1)) < 4 * error
    if n_pre > 1000:  # a partner is almost always found (q ~ 1): the analytic k* of Bogdan et al.
        k_star = net.projections["sp"].structural.steady_state_synapses(partner_found=1 - 10.6 / n_pre)
        assert abs(np.mean(samples) - k_star) < 4 * error + 0.05


def test_each_attempt_takes_four_draws_whatever_the_state():
    empty = ProjectionRewiring.for_projection(rewiring_network(initial=([], [])), "sp")
    full = ProjectionRewiring.for_projection(rewiring_network(initial=([0, 1, 2], [0, 0, 0])), "sp")
    for tick in range(50):
        empty.step(tick, np.array([1, 2]))
        full.step(tick, np.array([], dtype=int))
    assert empty.rng.random() == full.rng.random()


# --- backends -------------------------------------------------------------------------------


@pytest.mark.parametrize("selection", ["random", "last_neuron"])
def test_reference_and_spinnaker_make_the_same_decisions_and_spikes(selection):
    # Spikes are compared with the reference fed the chip's numbers (the float one differs by
    # arithmetic: a tick here and there); decisions with both.
    network = rewiring_network(selection)
    reference = make_backend("brian2").run(network, 400.0)
    graph = lower(network)
    quantized = make_backend("brian2").run(quantization_aware(network, graph, ring_buffer_scaling(graph)), 400.0)
    spinnaker = make_backend("spinnaker").run(network, 400.0)
    events = reference.structural["events"]["sp"]
    assert len(events) > 100 and {kind for _, kind, _, _ in events} == {"form", "eliminate"}
    assert spinnaker.structural == reference.structural == quantized.structural
    for ours, theirs in zip(spinnaker.spikes.populations["P"], quantized.spikes.populations["P"]):
        assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("selection", ["random", "last_neuron"])
def test_lava_makes_the_same_decisions(selection):
    network = rewiring_network(selection)
    lava = make_backend("lava").run(network, 400.0)
    assert lava.structural == make_backend("brian2").run(network, 400.0).structural


@pytest.mark.parametrize("backend", ["brian2", "spinnaker", "lava"])
def test_steady_state_on_every_backend(backend):
    ticks, start = 2500, 500
    network = rewiring_network(p_form=0.2, sigma=1e9, p_elim=0.1, initial=([0], [0]))
    result = make_backend(backend).run(network, float(ticks))
    counts = counts_over_time(result.structural["events"]["sp"], 1, 16, ticks, start)
    batches = counts.reshape(10, -1).mean(axis=1)
    error = batches.std(ddof=1) / math.sqrt(len(batches))
    assert abs(counts.mean() - chain_mean(8, 16, 0.2, 0.1)) < 4 * error
    # the exported end state is the replayed events
    assert len(result.structural["connectivity"]["sp"]["end"]) == round(counts[-1] * 16)


def rewiring_stdp_network(selection="random", a_plus=0.4, a_minus=0.5):
    """The rewiring network with additive STDP, bounds above the firing threshold (spikes do not hang
    on the weights) and elimination that depends on them: p_elim_dep 0.2 below 9.5 nA, 0.02 above."""
    data = rewiring_network(selection).to_dict()
    projection = data["projections"][0]
    projection["plasticity"] = nd.STDP(
        tau_plus=16.7,
        tau_minus=33.7,
        A_plus=a_plus,
        A_minus=a_minus,
        w_min=7.0,
        w_max=12.0,
        weight_dependence="additive",
    ).to_dict()
    projection["structural"].update(weight_threshold=9.5, p_elim_dep=0.2, p_elim_pot=0.02)
    return nd.Network.from_dict(data)


def static_twin(network):
    data = network.to_dict()
    data["projections"][0]["plasticity"] = None
    return nd.Network.from_dict(data)


def by_pair(weights: dict) -> dict:
    return {(int(a), int(b)): float(w) for a, b, w in zip(weights["pre"], weights["post"], weights["weight"])}


@pytest.mark.parametrize("selection", ["random", "last_neuron"])
def test_rewiring_with_stdp_same_decisions_spikes_and_weights_on_spinnaker(selection):
    network = rewiring_stdp_network(selection)
    reference = make_backend("brian2").run(network, 400.0)
    spinnaker = make_backend("spinnaker").run(network, 400.0)
    assert reference.structural != make_backend("brian2").run(static_twin(network), 400.0).structural  # STDP decides
    assert spinnaker.structural == reference.structural
    for ours, theirs in zip(spinnaker.spikes.populations["P"], reference.spikes.populations["P"]):
        assert np.array_equal(ours, theirs)
    ours, theirs = by_pair(spinnaker.weights["sp"]), by_pair(reference.weights["sp"])
    assert set(ours) == set(theirs) == {tuple(pair) for pair in reference.structural["connectivity"]["sp"]["end"]}
    assert max(abs(ours[pair] - theirs[pair]) for pair in ours) < 0.03  # 16-bit weights, 11-bit traces
    assert min(theirs.values()) >= 7.0 and any(7.0 < w < 12.0 and w != 10.0 for w in theirs.values())


def test_rewiring_with_stdp_and_initial_delays_spinn5s_reference_is_the_emulation(tmp_path):
    """Formed synapses take delays of 1 to 4 ticks under STDP: spinn5's quantization-aware reference makes
    the emulation's decisions, spikes and stored weights exactly, and the delays change what is learnt."""
    from neurodeploy.backends.spinnaker.toolchain import SpinnakerToolchain

    data = rewiring_stdp_network("last_neuron").to_dict()
    data["projections"][0]["structural"]["initial_delay"] = [1.0, 4.0]
    network = nd.Network.from_dict(data)
    toolchain = SpinnakerToolchain()
    compiled = toolchain.compile(network, target_descriptions()["spinn5"].data, tmp_path, 400.0, map_resources=False)
    emulated = toolchain.execute(compiled, tmp_path, 400.0)
    reference = make_backend("brian2").run(compiled.reference_network(), 400.0)
    assert emulated.structural == reference.structural
    for ours, theirs in zip(emulated.spikes.populations["P"], reference.spikes.populations["P"]):
        assert np.array_equal(ours, theirs)
    assert by_pair(emulated.weights["sp"]) == by_pair(reference.weights["sp"])
    one_tick = make_backend("spinnaker").run(rewiring_stdp_network("last_neuron"), 400.0)
    assert by_pair(one_tick.weights["sp"]) != by_pair(emulated.weights["sp"])


def test_rewiring_with_stdp_same_decisions_on_lava():
    # Lava's 8-bit weights move a weight near 9.5 nA by a unit (0.05 nA) and with it a decision, as
    # arithmetic moves a spike near threshold: steps of several nA keep every comparison clear.
    network = rewiring_stdp_network("last_neuron", a_plus=3.0, a_minus=5.0)
    reference = make_backend("brian2").run(network, 400.0)
    lava = make_backend("lava").run(network, 400.0)
    assert reference.structural != make_backend("brian2").run(static_twin(network), 400.0).structural
    assert lava.structural == reference.structural
    for ours, theirs in zip(lava.spikes.populations["P"], reference.spikes.populations["P"]):
        assert np.array_equal(ours, theirs)
    ours, theirs = by_pair(lava.weights["sp"]), by_pair(reference.weights["sp"])
    assert set(ours) == set(theirs) and max(abs(ours[pair] - theirs[pair]) for pair in ours) < 0.05


def late_synapse_network(seed: int, initial_delay=None) -> nd.Network:
    """S fires at 0 and 60, T makes P fire at 2; the one synapse S->P forms at a tick the seed decides."""
    net = nd.Network("late-synapse", seed=seed)
    net.spike_source("S", [[0.0, 60.0]])
    net.spike_source("T", [[1.0]])
    net.population(
        "P", 1, parameters={"tau_refrac": 2.0, "tau_syn_E": 0.3, "tau_m": 3.0, "cm": 0.27, "v_thresh": -62.0}
    )
    net.project("T", "P", nd.OneToOne(), weight=20.0, label="drive")
    net.project(
        "S",
        "P",
        nd.FromList([], []),
        weight=1.0,
        label="sp",
        plasticity=nd.STDP(
            tau_plus=16.7, tau_minus=33.7, A_plus=0.4, A_minus=0.5, w_min=0.0, w_max=12.0, weight_dependence="additive"
        ),
        structural=nd.Synaptogenesis(
            s_max=1,
            f_rew=1000.0,
            partner_selection="random",
            grid=(1, 1),
            p_form_forward=0.05,
            sigma_form_forward=1e9,
            p_elim_dep=0.0,
            p_elim_pot=0.0,
            initial_weight=1.0,
            initial_delay=initial_delay,
        ),
    )
    net.record("P")
    return net


@pytest.mark.parametrize("delay", [1, 3])
@pytest.mark.parametrize("backend, tolerance", [("brian2", 1e-9), ("spinnaker", 0.01), ("lava", 0.05)])
def test_formed_synapse_takes_the_potentiation_since_the_last_pre_spike(backend, tolerance, delay):
    # By hand, from the declared rule: the post event (2 + the delay) potentiates against the pre spike
    # at 0, the pre spike at 60 depresses against it; formed before or after the post event, the
    # synapse ends with the same weight, and holds 1.0 until the pre spike applies the update.
    expected = 1.0 + 0.4 * math.exp(-(2 + delay) / 16.7) - 0.5 * math.exp(-(58 - delay) / 33.7)
    for seed, formed in ((4, 1), (0, 21)):
        result = make_backend(backend).run(late_synapse_network(seed, float(delay)), 80.0)
        assert result.structural["events"]["sp"] == [[formed, "form", 0, 0]]
        assert [ticks.tolist() for ticks in result.spikes.ticks("P")] == [[2]]
        assert result.weights["sp"]["weight"][0] == pytest.approx(expected, abs=tolerance)
    held = make_backend(backend).run(late_synapse_network(0, float(delay)), 50.0).weights["sp"]["weight"][0]
    assert held == pytest.approx(1.0, abs=tolerance)


@pytest.mark.parametrize("plastic", [False, True])
def test_backends_hold_slots_not_candidate_pairs(plastic):
    # 1,000 inputs onto 16 neurons of 8 slots: 128 synapses on the targets, not 16,000 candidate pairs
    network = rewiring_network(n_pre=1000)
    if plastic:
        network.projections["sp"].plasticity = nd.STDP(A_plus=0.1, A_minus=0.1, w_min=0.0, w_max=12.0)
        network = nd.Network.from_dict(network.to_dict())
    graph = lower(network)
    emulated = Emulator(network, graph, ring_buffer_scaling(graph)).structural["sp"]
    assert emulated.pre.shape == emulated.units.shape == (128,)  # Lava's processes: tests/lava_env
    assert "128 synapse slots" in str(make_backend("brian2").estimate_memory(network, 10.0))


def test_structural_json_beside_the_spikes(tmp_path):
    network = rewiring_network()
    network.record_connectivity("sp", [100])
    path = nd.save(network, tmp_path / "net.json")
    result = CliRunner().invoke(
        main, ["run", str(path), "--backend", "spinnaker", "--duration", "200", "--out", str(tmp_path / "run")]
    )
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "run" / "structural.json").read_text())
    assert set(document["connectivity"]["sp"]) == {"100", "end"}
    assert document["events"]["sp"][0][1] in ("form", "eliminate")


def test_structural_decisions_are_compared_by_hand():
    reference = {
        "events": {"sp": [[3, "form", 0, 1], [7, "eliminate", 0, 1]], "same": [[2, "form", 1, 1]]},
        "turnover": {"P": [{"tick": 10, "born": [4]}, {"tick": 20, "born": []}]},
    }
    run = {
        "events": {"sp": [[3, "form", 0, 1], [9, "eliminate", 0, 1]], "same": [[2, "form", 1, 1]]},
        "turnover": {"P": [{"tick": 10, "born": [4]}]},
    }
    assert compare_structural(run, reference) == {
        "sp": {"run": 2, "reference": 2, "first_difference_tick": 7},
        "same": {"run": 1, "reference": 1, "first_difference_tick": None},
        "turnover P": {"run": 1, "reference": 2, "first_difference_tick": 20},
    }


@pytest.mark.slow
def test_deploy_compares_structural_decisions(tmp_path):
    path = nd.save(rewiring_network(), tmp_path / "net.json")
    result = CliRunner().invoke(
        main, ["deploy", str(path), "--target", "spinn5", "--duration", "400", "--out", str(tmp_path / "deploy")]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "deploy" / "deploy.json").read_text())
    structural = comparison(summary, "correctness")["structural"]
    assert structural["sp"]["run"] > 100 and structural["sp"]["first_difference_tick"] is None
    assert "spinn5 vs its quantization-aware reference: structural decisions: as on the reference (sp " in result.output


def test_physics_mode_refuses_structural_projections():
    # The continuous-time mode has no rewiring; running the initial synapses as static would be wrong.
    with pytest.raises(nd.BackendError, match="projection 'sp': structural plasticity runs in the discrete mode"):
        make_backend("brian2", mode="physics").run(rewiring_network(), 10.0)


# --- SpiNNaker specifics --------------------------------------------------------------------


def test_spinnaker_structural_design_rules():
    # 16000 sources x s_max 32 x 30 Hz = 15.4M events/s; a static core does 13M less 17 x f_rew.
    crowded = nd.Network("crowded")
    crowded.spike_source("S", [[1.0]] * 16000)
    crowded.population("P", 16)
    crowded.project("S", "P", nd.FromList([], []), structural=nd.Synaptogenesis(s_max=32, grid=(128, 128)), label="big")
    assert any("need 2 synapse cores by sPyNNaker's estimate" in str(f) for f in check_structural(crowded))
    two = rewiring_network()
    two.project("P", "P", nd.FromList([], []), structural=two.projections["sp"].structural, label="lateral")
    assert any("cannot merge two static structural projections" in str(f) for f in check_structural(two))
    assert any("mis-scaled reciprocal" in str(f) and f.level == "warning" for f in check_structural(rewiring_network()))


def test_structural_projection_maps_on_the_virtual_board(tmp_path):
    network = rewiring_network(initial=(list(range(8)), [0] * 8))
    compiled = compile_network(network, target_descriptions()["spinn5"].data, tmp_path)
    mapping = map_on_virtual_board(compiled, tmp_path, 100.0)
    assert mapping["ring_buffer_shifts_agree"]
    vertices = [p["vertex"] for p in mapping["populations"]["P"]]
    assert any("Synapses" in v for v in vertices) and any("Neurons" in v for v in vertices)  # split cores


def test_saturation_from_growth_is_reported():
    network = rewiring_network(weight=2.5)
    network.projections["sp"].structural.initial_weight = 2.5
    graph = lower(network)
    from neurodeploy.backends.spinnaker.rules import check_target

    findings = check_target(network, graph, ring_buffer_scaling(graph), target_descriptions()["spinn5"].data)
    assert any("if all inputs of one 'P' neuron arrived in one tick (20 nA)" in str(f) for f in findings)


def test_engine_for_the_whole_network_steps_every_projection():
    network = rewiring_network()
    engine = StructuralEngine.for_network(network)
    events = [e for tick in range(100) for e in engine.step(tick, lambda label: np.array([1, 3]))]
    assert events == engine.events and engine.document()["events"]["sp"][0][0] == events[0].tick


# --- coincidence-driven wiring ----------------------------------------------------------------


def coincidence_network(s_max=2, epoch=4.0, retention=0.5, initial=([], [])):
    net = nd.Network("coincidence")
    net.spike_source("S", [[]] * 3)
    net.population("P", 2)
    net.project(
        "S",
        "P",
        nd.FromList(*initial),
        weight=1.0,
        label="c",
        structural=nd.CoincidenceWiring(
            s_max=s_max,
            tau_coincidence=2.0,
            epoch=epoch,
            form_threshold=1.2,
            elim_threshold=0.3,
            retention=retention,
            initial_weight=1.0,
        ),
    )
    return net


def test_coincidence_scores_decisions_and_forgetting_by_hand():
    rewiring = rewiring_for(coincidence_network(), "c")
    spikes = {0: ([0, 1], [0]), 2: ([], [0, 1]), 3: ([2], [])}  # tick: (pre, post)
    events = []
    for tick in range(1, 20):
        pre, post = spikes.get(tick - 1, ([], []))
        events += [(e.tick, e.kind, e.pre, e.post) for e in rewiring.step(tick, np.array(pre), np.array(post))]
        if tick == 4:  # by hand, before the first decision's retention: traces e^(-k/2) after k ticks
            e1 = math.exp(-1.0)  # lag 2 ticks with tau 2 ms
            post_0 = math.exp(-0.5) + math.exp(-1.5)  # post 0's trace at tick 3: spikes at 2 and 0
            expected = np.array([[1 + e1, e1], [1 + e1, e1], [post_0, math.exp(-0.5)]]) * 0.5
            assert rewiring.scores == pytest.approx(expected)
    # pre 0 and 1 score 1 + e^-1 = 1.37 with post 0 (>= 1.2): both form at the first decision (tick 4);
    # halved every epoch, 0.68 at 8, 0.34 at 12, 0.17 at 16 < 0.3: eliminated then.
    assert events == [(4, "form", 0, 0), (4, "form", 1, 0), (16, "eliminate", 0, 0), (16, "eliminate", 1, 0)]


def test_coincidence_fills_free_slots_best_score_first():
    rewiring = rewiring_for(coincidence_network(s_max=1, retention=1.0), "c")
    rewiring.step(1, np.array([0, 1]), np.array([1]))  # tick 0: pre 0, 1 and post 1 together: 1 each
    rewiring.step(2, np.array([2]), np.array([]))  # tick 1: pre 2 after post 1: e^-0.5
    rewiring.step(3, np.array([]), np.array([1]))  # tick 2: post 1 again: + e^-1 for 0, 1, + e^-0.5 for 2
    assert rewiring.scores[:, 1] == pytest.approx([1 + math.exp(-1)] * 2 + [2 * math.exp(-0.5)])
    events = rewiring.step(4, np.array([]), np.array([]))
    # all three pass 1.2; pre 0 and 1 tie above pre 2 for the one slot of post 1: the lower index wins
    assert [(e.kind, e.pre, e.post) for e in events] == [("form", 0, 1)]


def test_weak_synapses_are_eliminated_whatever_their_score():
    network = coincidence_network(retention=1.0)
    network.projections["c"].structural.elim_weight = 0.5
    rewiring = rewiring_for(network, "c")
    rewiring.step(1, np.array([0, 1]), np.array([0]))  # pre 0, 1 with post 0: score 1 each... and again:
    rewiring.step(2, np.array([0, 1]), np.array([0]))
    assert [(e.kind, e.pre) for e in rewiring.step(4, np.array([]), np.array([]))] == [("form", 0), ("form", 1)]
    weights = rewiring.weight.copy()
    weights[0, 1] = 0.4  # STDP depressed the synapse from pre 1 below elim_weight; its score is still high
    assert rewiring.scores[1, 0] >= 1.2  # used: its score would keep it
    events = rewiring.step(8, np.array([]), np.array([]), weights)
    assert [(e.kind, e.pre, e.post) for e in events] == [("eliminate", 1, 0)]  # but weak
    assert rewiring.scores[1, 0] == 0.0 and rewiring.scores[0, 0] >= 1.2  # it starts over


def test_connector_synapses_start_at_the_formation_threshold():
    rewiring = rewiring_for(coincidence_network(initial=([2], [1])), "c")
    assert rewiring.scores[2, 1] == 1.2 and rewiring.pre[1, 0] == 2
    ticks = [e.tick for t in range(1, 21) for e in rewiring.step(t, np.array([]), np.array([]))]
    assert ticks == [16]  # decided on 1.2 at 4, 0.6 at 8, 0.3 at 12 (not below), 0.15 at 16


@pytest.mark.parametrize(
    "change, field, words",
    [
        (lambda p: p["structural"].update(epoch=1.5), "structural.epoch", "not a multiple of dt"),
        (lambda p: p["structural"].update(elim_threshold=2.0), "elim_threshold", "exceeds form_threshold"),
        (lambda p: p["structural"].update(kind="hebb"), "structural.kind", "unknown structural rule 'hebb'"),
        (lambda p: p["structural"].update(elim_weight=2.0), "elim_weight", "every formed synapse would be eliminated"),
    ],
)
def test_bad_coincidence_declarations(change, field, words):
    data = coincidence_network().to_dict()
    change(data["projections"][0])
    with pytest.raises(nd.ValidationError) as caught:
        nd.Network.from_dict(data)
    assert field in str(caught.value) and words in str(caught.value)


def associating_network() -> nd.Network:
    """Two lines of four neurons; pairs of A and B neurons fire together in three presentations, then A
    alone is presented once: the wired synapses make B answer."""
    net = nd.Network("associating", seed=1)
    a, b = [[] for _ in range(8)], [[] for _ in range(8)]
    for presentation in range(3):
        for k in range(4):
            start = 10 + 40 * (presentation * 4 + k)
            for i in (2 * k, 2 * k + 1):
                a[i] += [start, start + 3, start + 6]
                b[i] += [start + 1, start + 4, start + 7]
    a[0].append(600)
    a[1].append(600)
    net.spike_source("XA", [[float(t) for t in train] for train in a])
    net.spike_source("XB", [[float(t) for t in train] for train in b])
    for label in ("A", "B"):
        net.population(
            label, 8, parameters={"tau_refrac": 2.0, "tau_syn_E": 0.3, "tau_m": 3.0, "cm": 0.27, "v_thresh": -62.0}
        )
        net.record(label)
    net.project("XA", "A", nd.OneToOne(), weight=10.0, label="xa")
    net.project("XB", "B", nd.OneToOne(), weight=10.0, label="xb")
    net.project(
        "A",
        "B",
        nd.FromList([], []),
        label="ab",
        structural=nd.CoincidenceWiring(
            s_max=4,
            tau_coincidence=3.0,
            epoch=20.0,
            form_threshold=5.0,
            elim_threshold=0.5,
            retention=0.95,
            initial_weight=6.0,
        ),
    )
    return net


def test_coincidence_wiring_same_events_and_spikes_on_every_backend():
    network = associating_network()
    results = {name: make_backend(name).run(network, 620.0) for name in ("brian2", "spinnaker", "lava")}
    reference = results["brian2"]
    pairs = {(pre, post) for _, kind, pre, post in reference.structural["events"]["ab"] if kind == "form"}
    assert pairs == {(i, j) for k in range(4) for i in (2 * k, 2 * k + 1) for j in (2 * k, 2 * k + 1)}
    assert [ticks.tolist()[-1] for ticks in reference.spikes.ticks("B")[:2]] == [602, 602]  # recalled
    for name in ("spinnaker", "lava"):
        assert results[name].structural == reference.structural, name
        for population in ("A", "B"):
            assert [t.tolist() for t in results[name].spikes.ticks(population)] == [
                t.tolist() for t in reference.spikes.ticks(population)
            ], (name, population)


@pytest.mark.parametrize("plastic", [False, True])
def test_initial_weights_meet_thresholds_as_described_on_every_backend(plastic):
    # initial_weight = elim_weight: not weak (not below). The targets store 6.05 as 6.0498 or so; a
    # synapse holding it compares as described, so nothing is eliminated for weakness anywhere: on the
    # targets, and on the reference run on their numbers (deploy's), whose threshold moves with the rounding.
    network = associating_network()
    network.projections["ab"].structural.initial_weight = network.projections["ab"].structural.elim_weight = 6.05
    if plastic:  # STDP that never changes a weight: the stored initial weight is what the targets hold
        network.projections["ab"].plasticity = nd.STDP(A_plus=0.0, A_minus=0.0, w_min=0.0, w_max=8.0)
    network = nd.Network.from_dict(network.to_dict())
    graph = lower(network)
    runs = {name: make_backend(name).run(network, 400.0) for name in ("brian2", "spinnaker", "lava")}
    runs["spinnaker-numbers"] = make_backend("brian2").run(
        quantization_aware(network, graph, ring_buffer_scaling(graph)), 400.0
    )
    runs["lava-numbers"] = make_backend("brian2").run(lava_lower(network).reference_network(), 400.0)
    for name, result in runs.items():
        events = result.structural["events"]["ab"]
        assert len(events) == 16 and all(kind == "form" for _, kind, _, _ in events), name


def associating_stdp_network() -> nd.Network:
    """The associating network with STDP on the wired synapses and weak ones eliminated; pattern 3 is
    then presented B first, four times: its synapses are depressed below elim_weight while their
    coincidence scores stay high."""
    data = associating_network().to_dict()
    b = data["spike_sources"][1]["spike_times"]
    a = data["spike_sources"][0]["spike_times"]
    for repeat in range(4):
        start = 650 + 20 * repeat
        for i in (6, 7):
            b[i] += [start, start + 3]
            a[i] += [start + 1, start + 4]
    network = nd.Network.from_dict(data)
    projection = network.projections["ab"]
    projection.plasticity = nd.STDP(tau_plus=10.0, tau_minus=10.0, A_plus=0.3, A_minus=1.2, w_min=0.0, w_max=8.0)
    projection.structural.elim_weight = 3.0
    return nd.Network.from_dict(network.to_dict())


def test_coincidence_wiring_with_stdp_eliminates_weak_synapses_on_every_backend():
    network = associating_stdp_network()
    results = {name: make_backend(name).run(network, 760.0) for name in ("brian2", "spinnaker", "lava")}
    events = results["brian2"].structural["events"]["ab"]
    weak = [(tick, pre, post) for tick, kind, pre, post in events if kind == "eliminate"]
    assert weak and {(pre, post) for _, pre, post in weak} <= {(i, j) for i in (6, 7) for j in (6, 7)}
    assert all(tick > 650 for tick, _, _ in weak)  # after the reversed presentations, still in use
    # a weak pair starts over: not formed again at the decision that eliminated it, only after new
    # coincidences (the reversed presentations go on until 730) bring its score back
    formed = {(tick, pre, post) for tick, kind, pre, post in events if kind == "form"}
    assert not set(weak) & formed
    assert {(tick, pre, post) for tick, pre, post in formed if tick > 660} == {
        (720, i, j) for i in (6, 7) for j in (6, 7)
    }
    reference = results["brian2"]
    for name, tolerance in (("spinnaker", 0.01), ("lava", 0.05)):  # 16-bit and 8-bit weights
        assert results[name].structural == reference.structural, name
        for population in ("A", "B"):
            assert [t.tolist() for t in results[name].spikes.ticks(population)] == [
                t.tolist() for t in reference.spikes.ticks(population)
            ], (name, population)
        ours, theirs = by_pair(results[name].weights["ab"]), by_pair(reference.weights["ab"])
        assert set(ours) == set(theirs) and max(abs(ours[pair] - theirs[pair]) for pair in ours) < tolerance
    assert min(by_pair(reference.weights["ab"]).values()) < 5.0  # STDP moved the wired weights


def test_coincidence_wiring_is_refused_for_spinnaker_hardware(tmp_path):
    compiled = compile_network(associating_network(), target_descriptions()["spinn5"].data, tmp_path)
    assert any(f.level == "error" and "no sPyNNaker mechanism" in str(f) for f in compiled.findings)


def rounding_network(weight: float, threshold: float) -> nd.Network:
    """16 silent inputs, one static structural synapse each onto its own neuron, eliminated at a
    chance of one half a visit when below ``threshold``, never otherwise; nothing forms."""
    net = nd.Network("rounding", seed=2)
    net.spike_source("S", [[] for _ in range(16)])
    net.population("P", 16, parameters={"tau_m": 3.0, "cm": 0.27})
    net.project(
        "S",
        "P",
        nd.OneToOne(),
        weight=weight,
        label="sp",
        structural=nd.Synaptogenesis(
            s_max=1,
            f_rew=1000.0,
            partner_selection="random",
            grid=(4, 4),
            p_form_forward=0.0,
            p_elim_dep=0.5,
            p_elim_pot=0.0,
            weight_threshold=threshold,
            initial_weight=0.0,
        ),
    )
    return net


def eliminations(result) -> int:
    return sum(kind == "eliminate" for _, kind, _, _ in result.structural["events"]["sp"])


@pytest.mark.parametrize("target", ["spinnaker", "lava"])
def test_static_structural_weights_compare_as_stored(target):
    # The weight sits 0.2 of a stored step above the threshold and is stored rounded down, below it:
    # the target eliminates by the weight it holds, as its quantization-aware reference does, where
    # the description's run (the float weight, above) eliminates nothing.
    def step_of(network):
        if target == "spinnaker":
            graph = lower(network)
            return ring_buffer_scaling(graph)["P"][0].resolution
        return lava_lower(network).projections["sp"].weight_unit

    step = step_of(rounding_network(1.0, 1.0))
    threshold = (round(1.0 / step) + 0.1) * step
    network = rounding_network(threshold + 0.2 * step, threshold)
    assert step_of(network) == step
    if target == "spinnaker":
        graph = lower(network)
        reference_network = quantization_aware(network, graph, ring_buffer_scaling(graph))
    else:
        reference_network = lava_lower(network).reference_network()
    reference = make_backend("brian2").run(reference_network, 100.0)
    ours = make_backend(target).run(network, 100.0)
    assert eliminations(make_backend("brian2").run(network, 100.0)) == 0
    assert eliminations(reference) > 5
    assert ours.structural == reference.structural


def test_lava_refuses_structural_synapses_onto_neurons_of_different_weight_units():
    # StructuralSynapses forms every synapse with one initial mantissa: onto neurons whose weights have
    # different units (here tau_m per neuron) that is a different weight per neuron, which the rule's
    # one initial weight cannot describe.
    network = rewiring_network()
    population = network.populations["P"]
    network = network.replaced(
        populations={
            "P": dataclasses.replace(
                population, cell=dataclasses.replace(population.cell, tau_m=np.linspace(3.0, 4.5, 16))
            )
        }
    )
    lowered = lava_lower(network)
    assert np.ptp(lowered.projections["sp"].held_unit) > 0
    findings = [f for f in check_fixed(network, lowered.populations, lowered.projections, None) if f.level == "error"]
    assert [f.subject for f in findings] == ["projection 'sp'"] and "StructuralSynapses" in findings[0].message
    with pytest.raises(nd.BackendError, match="StructuralSynapses needs one weight unit"):
        make_backend("lava").run(network, 10.0)
