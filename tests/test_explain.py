"""explain: where two runs first part, the quantization effects each toolchain states, and the ablation that
attributes a departure to them (neurodeploy/runs/explain.py, backends/*/effects.py, explainer.py).

Expectations are hand-derived (divergences, spike differences and an attribution on a made-up ablation), the
described network itself (every effect reverted must give it back), and networks built to have one known cause:
a projection whose weights round to nothing on Loihi, a population whose refractory period rounds up on
SpiNNaker. Tests assert the cause named, and recompute the fraction reported.
"""

import html
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import ROOT
from neurodeploy import catalog, explainer, pipeline
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.cli import main
from neurodeploy.compilation import QuantizationEffect
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.explainer import brian2_spikes, explain_folder, explain_runs
from neurodeploy.report import page as report_page
from neurodeploy.results import SpikeRecord
from neurodeploy.runs.deployment import FLOAT_REFERENCE as FLOAT
from neurodeploy.runs.explain import (
    GOAL,
    Ablation,
    Side,
    attribute,
    first_divergence,
    reverted_network,
    spike_difference,
)


def record(populations: dict, duration_ms: float = 400.0, dt_ms: float = 1.0) -> SpikeRecord:
    """A spike record from spike ticks per neuron, by population."""
    return SpikeRecord(
        dt_ms,
        duration_ms,
        "test",
        {label: [np.asarray(t, float) * dt_ms for t in trains] for label, trains in populations.items()},
    )


def population_spikes(size: int, trains: dict) -> list:
    return [trains.get(neuron, []) for neuron in range(size)]


RUN = record(
    {
        "IN": [[1]],
        "E": population_spikes(18, {3: [2, 9, 12], 17: [9, 20]}),
        "F": [[9]],
    }
)
REFERENCE = record(
    {
        "IN": [[0]],
        "E": population_spikes(18, {3: [2, 12], 5: [9], 17: [20]}),
        "F": [[]],
    }
)


def test_first_divergence_names_the_first_tick_and_every_neuron_parting_in_it():
    divergence = first_divergence(RUN, REFERENCE, inputs=("IN",))
    assert (divergence.tick, divergence.time_ms) == (9, 9.0)
    assert divergence.neurons == {
        "E": {"run_only": [3, 17], "reference_only": [5]},
        "F": {"run_only": [0], "reference_only": []},
    }
    assert divergence.population == "E" and divergence.neuron_text() == "E[3, 5, 17]; F[0]"
    # the spike sources are left out: they part at tick 0 here
    assert first_divergence(RUN, REFERENCE).tick == 0
    assert first_divergence(RUN, RUN, inputs=("IN",)) is None


def test_spike_difference_is_the_fraction_of_spikes_not_shared_tick_for_tick():
    # E: run 5 spikes, reference 4, 3 of them shared (n3 at 2 and 12, n17 at 20); F: one spike on one side
    assert spike_difference(RUN, REFERENCE, inputs=("IN",)) == pytest.approx(1 - 2 * 3 / (6 + 4))
    assert spike_difference(RUN, RUN, inputs=("IN",)) == 0.0
    silent = record({"E": population_spikes(18, {})})
    assert spike_difference(silent, silent) == 0.0


def test_runs_that_do_not_record_the_same_populations_are_refused_naming_them():
    """A population on one side only, or of another size, has no spikes to set against the other side's:
    both measures refuse, naming it, instead of failing on a missing key or comparing part of a population."""
    lacking_f = record({"IN": [[0]], "E": population_spikes(18, {3: [2]})})
    for measure in (spike_difference, first_divergence):
        with pytest.raises(ValidationError, match=r"populations: F only in the reference$"):
            measure(lacking_f, REFERENCE, inputs=("IN",))
        with pytest.raises(ValidationError, match=r"populations: F only in the run$"):
            measure(REFERENCE, lacking_f, inputs=("IN",))
    smaller_e = record({"IN": [[0]], "E": population_spikes(17, {}), "F": [[]]})
    with pytest.raises(ValidationError, match=r"E of 17 neurons in the run, 18 in the reference$"):
        spike_difference(smaller_e, REFERENCE, inputs=("IN",))
    # a spike source recorded on one side only is no matter: inputs are left out of both measures
    without_input = record({"E": population_spikes(18, {3: [2, 12], 5: [9], 17: [20]}), "F": [[]]})
    assert spike_difference(without_input, REFERENCE, inputs=("IN",)) == 0.0


# --- the ablation on a made-up network: effects that add known spikes ------------------------------------

BASE = list(range(0, 100, 2))  # spikes both sides share


def made_up_effect(name: str) -> QuantizationEffect:
    return QuantizationEffect("weights", f"projection {name}", name, lambda network: network - {name}, {})


def made_up_spikes(active: frozenset) -> SpikeRecord:
    """e0 adds 10 spikes of its own, e1 one, e2 none, e3 and e4 ten only while both are in place."""
    ticks = list(BASE)
    if "e0" in active:
        ticks += range(100, 110)
    if "e1" in active:
        ticks += [200]
    if {"e3", "e4"} <= active:
        ticks += range(300, 310)
    return record({"P": [sorted(ticks)]})


def test_attribution_finds_a_set_no_effect_can_leave_and_measures_each_alone():
    effects = [made_up_effect(f"e{i}") for i in range(5)]
    ablation = Ablation(
        Side("chip", frozenset(f"e{i}" for i in range(5)), effects),
        Side("float", None, [], made_up_spikes(frozenset())),
        made_up_spikes,
    )
    result = attribute(ablation)

    def difference(unmatched: int) -> float:  # the measure with the 50 shared spikes
        return unmatched / (2 * len(BASE) + unmatched)

    departure = difference(21)
    assert result["difference"] == pytest.approx(departure)
    assert result["all_reverted"] == {"difference": 0.0, "explained": 1.0}
    alone = {entry["where"].split()[-1]: entry["explained"] for entry in result["effects"]}
    expected = {"e0": 11, "e1": 20, "e2": 21, "e3": 11, "e4": 11}
    assert alone == pytest.approx({name: 1 - difference(left) / departure for name, left in expected.items()})
    cause = result["cause"]
    named = {entry["where"].split()[-1] for entry in cause["effects"]}
    # e0's own spikes, and either half of the pair: no single effect reaches the goal
    assert named in ({"e0", "e3"}, {"e0", "e4"})
    assert cause["explained"] == pytest.approx(1 - difference(1) / departure) and cause["explained"] >= GOAL
    assert cause["alternatives"] == [] and cause["first_divergence_tick"] == 200


# --- every toolchain's effects, all reverted, give the described network back -----------------------------


def euler_network() -> nd.Network:
    """Weights the SpiNNaker host rescales (euler's init factor against the chip's): the frame a revert must keep."""
    network = nd.Network("euler", nd.Semantics(dt=0.5, discretization="euler", synaptic_init="none"), duration=50.0)
    network.spike_source("IN", [[1.0, 7.5], [3.0]])
    network.population("P", 3, parameters={"tau_m": 8.0, "tau_refrac": 1.2, "i_offset": 0.3})
    network.project("IN", "P", nd.AllToAll(), weight=[0.4, 0.7, 1.1, 0.2, 0.9, 1.3], delay=1.0)
    return network


NETWORKS = {
    "feedforward": lambda: catalog.load_model("feedforward-poisson", {"n_neurons": 20, "duration_ms": 100}).network,
    "conductance": lambda: (
        catalog.load_model(
            "feedforward-poisson", {"n_neurons": 20, "duration_ms": 100, "cell_type": "IF_cond_exp"}
        ).network
    ),
    "izhikevich": lambda: (
        catalog.load_model(
            "feedforward-poisson", {"n_neurons": 20, "duration_ms": 100, "cell_type": "Izhikevich"}
        ).network
    ),
    "delta": lambda: (
        catalog.load_model(
            "feedforward-poisson", {"n_neurons": 20, "duration_ms": 100, "cell_type": "IF_curr_delta"}
        ).network
    ),
    "topographic": lambda: catalog.load_model("topographic-map", {"n": 8, "duration_ms": 100}).network,
    "euler": euler_network,
}


def compiled(network: nd.Network, target_name: str, duration_ms: float = 100.0):
    target, chain = pipeline._target(target_name)
    with tempfile.TemporaryDirectory() as scratch:
        compilation = chain.compile(network, target.data, Path(scratch), duration_ms, map_resources=False)
    assert not compilation.errors
    return compilation


def assert_same_meaning(network: nd.Network, described: nd.Network):
    """The same numbers per neuron and per synapse (a reference holds some scalars as arrays of them)."""
    semantics = described.semantics
    for label, expected in described.populations.items():
        population = network.populations[label]
        assert population.arithmetic is None
        for name in expected.cell.specs():
            if name == "tau_refrac":  # what counts is the ticks it holds V
                assert np.array_equal(
                    semantics.refractory_ticks(population.value(name)), semantics.refractory_ticks(expected.value(name))
                )
            else:
                assert np.array_equal(population.value(name), expected.value(name)), (label, name)
    for label, expected in described.projections.items():
        projection, post = network.projections[label], network.populations[expected.post]
        connections, described_connections = network.connections(label), described.connections(label)
        arriving = connections.weight * post.init_factor(expected.receptor, semantics)[connections.post]
        described_arriving = (
            described_connections.weight
            * described.populations[expected.post].init_factor(expected.receptor, semantics)[described_connections.post]
        )
        np.testing.assert_allclose(arriving, described_arriving, rtol=1e-12, atol=0)
        for name in ("plasticity", "structural"):
            ours, theirs = getattr(projection, name), getattr(expected, name)
            assert (ours is None and theirs is None) or ours.to_dict() == theirs.to_dict(), (label, name)


@pytest.mark.parametrize("target", ["spinn5", "loihi2"])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_every_effect_reverted_gives_the_described_network_back(name, target):
    network = NETWORKS[name]()
    compilation = compiled(network, target)
    effects = compilation.quantization_effects()
    assert effects, "a target's reference always departs somewhere"
    assert_same_meaning(reverted_network(compilation.reference_network(), effects), network)
    for effect in effects:  # each alone is a valid network, and changes the reference
        alone = reverted_network(compilation.reference_network(), [effect])
        assert alone.to_dict() != compilation.reference_network().to_dict(), effect.name
    json.dumps([effect.to_dict() for effect in effects])


def test_reverting_every_effect_gives_the_described_heterosynaptic_amount_back():
    """Lava holds wave-layers' heterosynaptic loss in whole weight steps (coarser than described): the weights
    effect names it and reverting it restores the described amount."""
    network = catalog.load_model("wave-layers", {"n": 4, "duration_ms": 100}).network
    compilation = compiled(network, "loihi2")
    reference = compilation.reference_network()
    described = network.projections["L1->L2"].plasticity.heterosynaptic
    assert described > 0 and reference.projections["L1->L2"].plasticity.heterosynaptic != described
    effects = compilation.quantization_effects()
    assert_same_meaning(reverted_network(reference, effects), network)
    weights = next(effect for effect in effects if effect.kind == "weights" and "L1->L2" in effect.where)
    assert "heterosynaptic" in weights.numbers and "heterosynaptic" in weights.detail


def test_the_reverted_euler_network_runs_as_the_described_one():
    network = euler_network()
    compilation = compiled(network, "spinn5", 50.0)
    back = reverted_network(compilation.reference_network(), compilation.quantization_effects())
    simulate = brian2_spikes(50.0)
    assert spike_difference(simulate(back), simulate(network), ("IN",)) == 0.0


# --- networks built to have one known cause ----------------------------------------------------------------

IN_SOURCES, E_SIZE = 40, 10


def rounding_network(small: float) -> nd.Network:
    """IN->E: one synapse of 30 nA (it sets the 8-bit mantissas' exponent) and 400 of ``small`` nA, which together
    drive E in float; DRIVE->E: weights that fit their mantissas well."""
    rng = np.random.default_rng(3)
    network = nd.Network("rounding", duration=200.0, seed=3)
    network.spike_source(
        "IN", [[150.0]] + [sorted(set(np.round(rng.uniform(0, 199, 12)).tolist())) for _ in range(IN_SOURCES)]
    )
    network.spike_source("DRIVE", [sorted(set(np.round(rng.uniform(0, 199, 20)).tolist())) for _ in range(5)])
    network.population("E", E_SIZE, parameters={"tau_m": 20.0, "cm": 0.25, "v_thresh": -55.0})
    pre = [0] + [i for i in range(1, IN_SOURCES + 1) for _ in range(E_SIZE)]
    post = [0] + [j for _ in range(IN_SOURCES) for j in range(E_SIZE)]
    network.project("IN", "E", nd.FromList(pre, post), weight=[30.0] + [small] * (IN_SOURCES * E_SIZE))
    network.project("DRIVE", "E", nd.AllToAll(), weight=rng.uniform(0.2, 0.4, 5 * E_SIZE))
    network.record("E", ["spikes"])
    return network


def weight_step(compilation, projection: str) -> float:
    return next(
        effect.numbers["weight_step"]
        for effect in compilation.quantization_effects()
        if effect.kind == "weights" and effect.where == f"projection {projection}"
    )


def just_below_half_a_step() -> tuple[nd.Network, float]:
    """The rounding network with its small weights at 0.45 of the step loihi2 stores IN->E's in (the step
    depends on the weights through the voltage scale: found by iterating)."""
    small = 0.05
    for _ in range(5):
        step = weight_step(compiled(rounding_network(small), "loihi2", 200.0), "IN->E")
        if small == 0.45 * step:
            return rounding_network(small), step
        small = 0.45 * step
    raise AssertionError("the weight step did not settle")


def known_cause(network, target: str, duration_ms: float):
    """The quantization cost explained, the reference's spikes standing for the target's (the ablation only
    re-runs references)."""
    compilation = compiled(network, target, duration_ms)
    simulate = brian2_spikes(duration_ms)
    spikes = {FLOAT: simulate(network), f"{target}/reference": simulate(compilation.reference_network())}
    spikes[f"{target}/target"] = spikes[f"{target}/reference"]
    cost = {"kind": "quantization_cost", "run": f"{target}/target", "reference": FLOAT, "passed": True}
    document = explain_runs(network, duration_ms, {target: compilation}, spikes, [cost])
    return compilation, spikes, document["explanations"][0]


@pytest.mark.slow
def test_explain_names_a_projection_whose_weights_round_to_nothing_on_loihi():
    network, step = just_below_half_a_step()
    compilation, spikes, explanation = known_cause(network, "loihi2", 200.0)
    cause = explanation["attribution"]["cause"]
    assert [effect["name"] for effect in cause["effects"]] == ["weight rounding of projection IN->E"]
    assert cause["explained"] >= GOAL
    numbers = cause["effects"][0]["numbers"]
    assert numbers["weight_step"] == step and numbers["synapses_quantized_to_zero"] == IN_SOURCES * E_SIZE
    assert explanation["first_divergence"]["neurons"].keys() == {"E"}
    assert explanation["sentence"].startswith("the loihi2 run parts from the float model at tick ")
    assert "projection IN->E keeps float weights" in explanation["sentence"]
    others = [e for e in explanation["attribution"]["effects"] if e["name"] != "weight rounding of projection IN->E"]
    assert others and all(effect["explained"] < GOAL for effect in others)


@pytest.mark.slow
def test_explain_names_the_target_whose_effect_parts_two_targets():
    """Portability: loihi2 against spinn5 on the rounding network, both sides re-run with their own effects."""
    network, _ = just_below_half_a_step()
    simulate = brian2_spikes(200.0)
    compilations = {target: compiled(network, target, 200.0) for target in ("spinn5", "loihi2")}
    spikes = {FLOAT: simulate(network)}
    for target, compilation in compilations.items():
        spikes[f"{target}/reference"] = spikes[f"{target}/target"] = simulate(compilation.reference_network())
    portability = {"kind": "portability", "run": "loihi2/target", "reference": "spinn5/target", "passed": True}
    document = explain_runs(network, 200.0, compilations, spikes, [portability], max_runs=40)
    explanation = document["explanations"][0]
    assert explanation["sentence"].startswith("the loihi2 run parts from the spinn5 run at tick ")
    attribution = explanation["attribution"]
    # loihi2's rounding parts it most; spinn5's 16-bit steps (0.0625 nA here) part it from the float model too
    largest = attribution["effects"][0]
    assert (largest["target"], largest["name"]) == ("loihi2", "weight rounding of projection IN->E")
    assert {effect["target"] for effect in attribution["effects"]} == {"spinn5", "loihi2"}
    cause = [(effect["target"], effect["name"]) for effect in attribution["cause"]["effects"]]
    assert ("loihi2", "weight rounding of projection IN->E") in cause
    assert "on loihi2, projection IN->E keeps float weights" in explanation["sentence"]


def refractory_network(duration_ms: float = 30.0) -> nd.Network:
    """R: neurons whose strong bias crosses the threshold in the first tick they integrate, so their spikes are
    their refractory period apart (2 ms: 40 ticks of 0.05 ms); Q: neurons that spike in the tick their inputs
    arrive (a charge of 30 nA ms on 1 nF: 30 mV at once)."""
    network = nd.Network("refractory", nd.Semantics(dt=0.05), duration=duration_ms, seed=5)
    network.population("R", 4, parameters={"tau_refrac": 2.0, "i_offset": 400.0})
    rng = np.random.default_rng(5)
    ticks = [sorted(set(rng.integers(0, int(duration_ms / 0.05) - 2, 8).tolist())) for _ in range(6)]
    network.spike_source("IN", [[round(t * 0.05, 9) for t in train] for train in ticks])
    network.population("Q", 6, "IF_curr_delta", {"tau_refrac": 0.0})
    network.project("IN", "Q", nd.OneToOne(), weight=30.0)
    for label in ("R", "Q"):
        network.record(label, ["spikes"])
    return network


def test_spinnaker_holds_a_refractory_period_of_40_ticks_of_005_ms_for_41():
    # sPyNNaker divides on chip: s16.15 of 0.05 is 1638 / 2^15 (below 0.05), 2.0 / that is above 40
    quotient = fp.kdivk(fp.s1615(2.0), fp.s1615(0.05))
    assert quotient > 40 * fp.ONE and fp.refractory_ticks(2.0, 0.05) == 41
    effects = compiled(refractory_network(), "spinn5", 30.0).quantization_effects()
    refractory = [effect for effect in effects if effect.kind == "refractory"]
    assert [effect.where for effect in refractory] == ["population R"]
    assert refractory[0].numbers["tau_refrac"] == {
        "float": 2.0,
        "target": 41 * 0.05,
        "float_ticks": 40,
        "target_ticks": 41,
    }


@pytest.mark.slow
def test_explain_names_a_refractory_period_that_rounds_on_spinnaker():
    _, spikes, explanation = known_cause(refractory_network(), "spinn5", 30.0)
    cause = explanation["attribution"]["cause"]
    assert [effect["name"] for effect in cause["effects"]] == ["refractory rounding of population R"]
    assert cause["explained"] >= GOAL
    # R's second spike: 40 ticks held after the first, then the tick that crosses; on chip one tick later
    divergence = explanation["first_divergence"]
    assert divergence["neurons"].keys() == {"R"}
    first = spikes[FLOAT].ticks("R")[0][0]
    assert divergence["tick"] == first + 41
    assert "41 ticks for 40" in explanation["sentence"]


@pytest.mark.slow
def test_explain_attributes_topographic_map_and_reports_the_fraction_it_measured():
    network = catalog.load_model("topographic-map", {"n": 8, "duration_ms": 100}).network
    compilation, spikes, explanation = known_cause(network, "spinn5", 100.0)
    attribution = explanation["attribution"]
    assert attribution["difference"] > 0, "quantization moves topographic-map's spikes within 100 ms"
    cause = attribution["cause"]
    names = {effect.name: effect for effect in compilation.quantization_effects()}
    assert cause and {effect["name"] for effect in cause["effects"]} <= names.keys()
    # the fraction reported is what re-running the reference with those effects reverted gives
    reverted = reverted_network(compilation.reference_network(), [names[e["name"]] for e in cause["effects"]])
    left = spike_difference(brian2_spikes(100.0)(reverted), spikes[FLOAT], ("S",))
    assert cause["explained"] == pytest.approx(1 - left / attribution["difference"])
    assert f"{cause['explained']:.0%} of the spike difference disappears when" in explanation["sentence"]


# --- explain in a deploy, and the command on a deploy folder -------------------------------------------------


def test_a_deploy_explains_only_comparisons_that_part_and_a_verdict_only_where_it_failed():
    network = nd.Network("parting", duration=400.0)
    network.spike_source("IN", [[0.0]])
    spikes = {"a/target": RUN, "a/reference": REFERENCE, "b/target": RUN, "b/reference": REFERENCE, FLOAT: RUN}
    comparisons = [
        {"kind": "correctness", "run": "a/target", "reference": "a/reference", "passed": True},
        {"kind": "correctness", "run": "b/target", "reference": "b/reference", "passed": False},
        {"kind": "quantization_cost", "run": "a/target", "reference": FLOAT, "passed": True},  # the same spikes
    ]
    document = explain_runs(network, 400.0, {}, spikes, comparisons, max_runs=5)
    [failed] = document["explanations"]  # a passed verdict and runs that do not part are left out
    assert (failed["kind"], failed["run"], failed["first_divergence"]["tick"]) == ("correctness", "b/target", 9)
    assert failed["attribution"] is None  # the reference computes the target's own numbers: nothing to ablate
    assert failed["sentence"].startswith(
        "the b run parts from its quantization-aware reference at tick 9 (9 ms), neuron E[3, 5, 17]; F[0]; the "
        "reference computes the target's own numbers"
    )
    assert document["max_runs"] == 5 and document["text"].startswith("correctness: b/target vs b/reference\n")
    nothing = explain_runs(network, 400.0, {}, spikes, [comparisons[0], comparisons[2]])
    assert nothing["explanations"] == [] and nothing["text"].startswith("nothing to explain: no target's run parts")
    assert explain_runs(network, 400.0, {}, {}, [])["text"] == "nothing to explain: no target ran"


def neurodeploy(*arguments, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "neurodeploy", *map(str, arguments)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_explain_refuses_a_folder_that_is_not_a_deploy_it_can_explain_in_one_line(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text("{}")
    (tmp_path / "bare").mkdir()  # a deploy.json but not the network it deployed
    document = {"model": {"name": "m"}, "duration_ms": 10.0, "targets": [], "per_target": {}, "comparisons": []}
    (tmp_path / "bare" / "deploy.json").write_text(json.dumps(document))
    for folder, words in (
        (tmp_path / "run", "has no deploy.json"),
        (tmp_path / "missing", "has no deploy.json"),
        (tmp_path / "bare", "has no network.json (the network it deployed): deploy again"),
    ):
        result = CliRunner().invoke(main, ["explain", str(folder)])
        assert result.exit_code == 2 and words in result.output
        assert len(result.output.strip().splitlines()) == 1


def test_explain_rewrites_deploy_json_and_its_report_together_or_neither(tmp_path, monkeypatch):
    """deploy.json and report.html, made of it, must not disagree: where the page cannot be made or written,
    deploy.json keeps its old explanation (a deploy in which no target ran: nothing to re-run)."""
    folder = tmp_path / "deploy"
    folder.mkdir()
    nd.save(refractory_network(), folder / "network.json")
    old = {
        "model": {"name": "refractory", "source": "test", "parameters": {}},
        "duration_ms": 30.0,
        "targets": [],
        "per_target": {},
        "comparisons": [],
        "warnings": [],
        "explain": None,
        "passed": True,
        "verdict": "",
    }
    (folder / "deploy.json").write_text(json.dumps(old))

    def unrenderable(study):
        raise RuntimeError("the page cannot be made")

    with monkeypatch.context() as patched:
        patched.setattr(report_page, "render", unrenderable)
        with pytest.raises(RuntimeError, match="the page cannot be made"):
            explain_folder(folder)
    assert json.loads((folder / "deploy.json").read_text()) == old and not (folder / "report.html").exists()
    (folder / "report.html").write_text("<p>a page of mine</p>")
    with pytest.raises(ValidationError, match="was not written by neurodeploy"):
        explain_folder(folder)
    assert json.loads((folder / "deploy.json").read_text()) == old
    assert (folder / "report.html").read_text() == "<p>a page of mine</p>"
    (folder / "report.html").unlink()
    explanation = explain_folder(folder)
    assert json.loads((folder / "deploy.json").read_text())["explain"] == explanation
    assert "nothing to explain: no target ran" in report_section(folder, "explain")
    assert sorted(os.listdir(folder)) == ["deploy.json", "network.json", "report.html"]  # no temporary left


@pytest.fixture(scope="module")
def refractory_deploy(tmp_path_factory):
    """A spinn5 deploy of the refractory network, from a network file: its output folder and what it printed."""
    folder = tmp_path_factory.mktemp("explain")
    nd.save(refractory_network(), folder / "refractory.yaml")
    deployed = neurodeploy("deploy", folder / "refractory.yaml", "--target", "spinn5", "--out", folder / "out")
    assert deployed.returncode == 0, deployed.stderr
    return folder / "out", deployed


def test_a_deploy_whose_explanation_fails_keeps_its_runs_and_verdicts_and_says_what_failed(tmp_path, monkeypatch):
    """The spinn5 run parts from the float model (its refractory period rounds up), so the deploy explains it;
    a Brian2 run of an ablated network that fails must not take the deploy with it."""

    def failing_brian2(duration_ms):
        def simulate(network):
            raise BackendError("Brian2 failed on the ablated network")

        return simulate

    monkeypatch.setattr(explainer, "brian2_spikes", failing_brian2)
    model = catalog.LoadedModel(refractory_network(), "refractory", "test")
    document = pipeline.deploy_model(model, "spinn5", tmp_path / "out", 30.0, explain_runs=4)
    assert document["per_target"]["spinn5"]["verdict"].startswith("PASS: ")
    assert document["explain"]["failed"] == "Brian2 failed on the ablated network"
    assert document["explain"]["explanations"] == [] and "can try again" in document["explain"]["text"]
    assert {
        "source": "explain",
        "target": None,
        "message": "explaining failed: Brian2 failed on the ablated network",
    } in (document["warnings"])
    out = tmp_path / "out"
    assert json.loads((out / "deploy.json").read_text()) == json.loads(json.dumps(document))
    assert (out / "spinn5" / "target" / "manifest.json").is_file() and (out / FLOAT / "manifest.json").is_file()
    assert "explaining failed (Brian2 failed on the ablated network)" in html.unescape(report_section(out, "explain"))
    # Explained again, with Brian2 working: the failure's warning goes with the failure.
    monkeypatch.undo()
    explained = explain_folder(out, max_runs=4)
    assert "failed" not in explained and explained["explanations"]
    rewritten = json.loads((out / "deploy.json").read_text())
    assert not [warning for warning in rewritten["warnings"] if warning["source"] == "explain"]
    assert "explaining failed" not in (out / "report.html").read_text()


def test_a_failed_explanation_says_what_failed_and_keeps_a_trace_of_our_own_faults():
    assert explainer.failed_explanation(4, BackendError("Brian2 failed"))["failed"] == "Brian2 failed"
    assert "trace" not in explainer.failed_explanation(4, BackendError("Brian2 failed"))
    assert "--memory-limit" in explainer.failed_explanation(4, MemoryError())["failed"]
    try:
        {}["population"]
    except KeyError as error:
        failed = explainer.failed_explanation(4, error)
    assert failed["failed"] == "KeyError: 'population'"
    assert "Traceback" in failed["trace"] and '{}["population"]' in failed["trace"]


def report_section(out: Path, key: str) -> str:
    text = (out / "report.html").read_text()
    start = text.index(f'<section id="{key}">')
    return text[start : text.index("</section>", start)]


@pytest.mark.slow
def test_a_deploy_explains_its_runs_and_the_command_explains_them_again(refractory_deploy):
    out, deployed = refractory_deploy
    explained = json.loads((out / "deploy.json").read_text())["explain"]
    # The emulation computes its reference's numbers (its verdict passes): only the quantization cost parts.
    [cost] = explained["explanations"]
    assert (cost["kind"], cost["run"], cost["reference"]) == ("quantization_cost", "spinn5/target", FLOAT)
    cause = cost["attribution"]["cause"]
    assert [effect["name"] for effect in cause["effects"]] == ["refractory rounding of population R"]
    assert cost["attribution"]["runs"] <= explained["max_runs"] == 12
    assert f"explain spinn5 vs the float model (what quantization costs): {cost['sentence']}" in deployed.stdout
    assert "explaining quantization_cost: spinn5/target vs reference-float, Brian2 run 1 of at most 12" in (
        deployed.stderr
    )
    shown = report_section(out, "explain")
    assert "41 ticks for 40" in shown and "The spinn5 run parts from the float model at tick" in shown
    assert "refractory rounding of population R" in shown and "at most 12 runs per comparison" in shown

    # The command computes it again, with its own budget, into deploy.json and the report.
    again = neurodeploy("explain", out, "--max-runs", "8", "--json")
    assert again.returncode == 0, again.stderr
    document = json.loads(again.stdout)
    assert document["max_runs"] == 8 and document["explanations"][0]["sentence"] == cost["sentence"]
    assert json.loads((out / "deploy.json").read_text())["explain"] == document
    assert os.path.islink(out / "deploy.json") and not (out / "explain.json").exists()
    assert "at most 8 runs per comparison" in report_section(out, "explain")


@pytest.mark.slow
def test_a_loihi2_deploy_names_the_weight_rounding_that_parts_it_from_the_float_model(tmp_path):
    """The Lava run itself (not its reference) parts from the float model where the weights rounded away."""
    network, _ = just_below_half_a_step()
    nd.save(network, tmp_path / "rounding.yaml")
    deployed = neurodeploy("deploy", tmp_path / "rounding.yaml", "--target", "loihi2", "--out", tmp_path / "out")
    assert deployed.returncode == 0, deployed.stderr
    [cost] = json.loads((tmp_path / "out" / "deploy.json").read_text())["explain"]["explanations"]
    assert cost["kind"] == "quantization_cost"  # Lava computes its reference's numbers: no other comparison parts
    cause = cost["attribution"]["cause"]
    assert [effect["name"] for effect in cause["effects"]] == ["weight rounding of projection IN->E"]
    assert cost["first_divergence"]["neurons"].keys() == {"E"}
    assert "the loihi2 run parts from the float model" in cost["sentence"]
    shown = report_section(tmp_path / "out", "explain")
    assert html.escape(cost["sentence"][1:]) in shown  # the page begins it with a capital
    [row] = [row for row in shown.split("<tr>") if "weight rounding of projection IN-&gt;E" in row]
    assert "<td>yes</td>" in row  # in the cause
