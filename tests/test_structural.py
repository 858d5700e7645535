"""Structural plasticity (sPyNNaker's synaptogenesis): the declaration, the shared decision procedure
against an independent expectation (the stationary birth-death chain and the issue's analytic k*),
and the three backends making the same decisions."""
import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from neurodeploy.backends import make_backend
from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_structural
from neurodeploy.backends.spinnaker.toolchain import compile_network, map_on_virtual_board
from neurodeploy.catalog import target_descriptions
from neurodeploy.cli import main
from neurodeploy.description.structural import ProjectionRewiring, StructuralEngine


def rewiring_network(selection="random", n_pre=16, s_max=8, p_form=0.5, sigma=2.0, p_elim=0.05, seed=4,
                     initial=([0, 1], [0, 5]), weight=10.0):
    """Sources firing regularly into 16 neurons through a structural projection; by default each input
    spike alone makes its post neuron fire (a regime where spike times do not hang on arithmetic)."""
    net = nd.Network("rewiring", seed=seed)
    net.spike_source("S", [[float(t) for t in range(i % 5, 400, 7)] for i in range(n_pre)])
    net.population("P", 16, parameters={"tau_refrac": 2.0, "tau_syn_E": 0.3, "tau_m": 3.0, "cm": 0.27,
                                        "v_thresh": -62.0})
    net.project("S", "P", nd.FromList(*initial), weight=weight, label="sp", structural=nd.Synaptogenesis(
        s_max=s_max, partner_selection=selection, grid=(32, 32) if n_pre > 256 else (4, 4), p_form_forward=p_form,
        sigma_form_forward=sigma, p_elim_dep=p_elim, p_elim_pot=p_elim, initial_weight=weight, weight_threshold=0.5))
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

@pytest.mark.parametrize("change, field, words", [
    (lambda p: p.update(delay=2.0), "delay", "delay of 1 tick"),
    (lambda p: p["structural"].update(s_max=1), "structural.s_max", "more than its 1 slots"),
    (lambda p: p["structural"].update(grid=[2, 2]), "structural.grid", "fewer places than neurons"),
    (lambda p: p["structural"].update(p_elim_dep=1.5), "p_elim_dep", "probability"),
    (lambda p: p["structural"].update(partner_selection="nearest"), "partner_selection", "must be one of"),
    (lambda p: p["connector"].update(pre=[0, 0], post=[0, 0]), "connector", "one synapse per pair"),
    (lambda p: p.update(post_slice=[0, 8]), "structural", "whole populations"),
])
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
    rule = nd.Synaptogenesis(grid=(16, 16), p_form_forward=0.16, sigma_form_forward=2.5, p_form_lateral=1.0,
                             sigma_form_lateral=1.0)
    # neuron 15 sits at (0, 15): one column from neuron 0 across the edge; 17 at (1, 1): distance^2 2
    p = rule.formation_probability(np.array([0, 0, 0]), np.array([15, 17, 8 * 16 + 8]), False)
    assert p.tolist() == pytest.approx([0.16 * math.exp(-1 / 12.5), 0.16 * math.exp(-2 / 12.5),
                                        0.16 * math.exp(-128 / 12.5)])
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


def test_structural_json_beside_the_spikes(tmp_path):
    network = rewiring_network()
    network.record_connectivity("sp", [100])
    path = nd.save(network, tmp_path / "net.json")
    result = CliRunner().invoke(main, ["run", str(path), "--backend", "spinnaker", "--duration", "200",
                                       "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    document = json.loads((tmp_path / "run" / "structural.json").read_text())
    assert set(document["connectivity"]["sp"]) == {"100", "end"} and document["events"]["sp"][0][1] in ("form", "eliminate")


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
