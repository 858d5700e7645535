"""Deploying to several targets at once: the folder layout, the comparisons that matter (each target against
its reference and the float model, the targets against each other), every warning, and the folders read
back by ``compare``."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import ROOT
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import lower as lava_lower
from neurodeploy.backends.lava.rules import check_fixed
from neurodeploy.backends.spinnaker import toolchain
from neurodeploy.backends.spinnaker.graph import lower as spinnaker_lower
from neurodeploy.backends.spinnaker.quantize import projection_report, ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_target
from neurodeploy.catalog import LoadedModel, load_model, target_descriptions
from neurodeploy.cli import main
from neurodeploy.compilation import Thresholds
from neurodeploy.description import resources
from neurodeploy.errors import NeurodeployWarning, ValidationError
from neurodeploy.pipeline import _no_input, deploy_model, unsent_spikes
from neurodeploy.results import SpikeRecord
from neurodeploy.runs.compare import RunData, compare_runs, compare_weights
from neurodeploy.runs.deployment import comparison, comparisons, had_no_input, portability_thresholds
from neurodeploy.runs.rundir import read_run


def neurodeploy(*args, cwd) -> subprocess.CompletedProcess:
    """The command line as a user runs it, in ``cwd``."""
    return subprocess.run(
        [sys.executable, "-m", "neurodeploy", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
    )


# --- measures ------------------------------------------------------------------------------------


def test_final_weights_are_matched_synapse_by_synapse():
    run = {"pre": np.array([0, 0, 1, 2]), "post": np.array([0, 1, 0, 0]), "weight": np.array([0.5, 0.25, 1.0, 2.0])}
    # The reference holds the synapses in another order, one the run lacks (2->1) and not the run's 2->0.
    reference = {
        "pre": np.array([1, 0, 0, 2]),
        "post": np.array([0, 1, 0, 1]),
        "weight": np.array([1.0, 0.5, 0.5, 3.0]),
    }
    item = compare_weights({"P": run}, {"P": reference}, {"P": "nA"})["P"]
    # Both hold 0->0 (0.5 vs 0.5), 0->1 (0.25 vs 0.5) and 1->0 (1.0 vs 1.0).
    assert item["synapses"] == {"run": 4, "reference": 4, "common": 3}
    assert item["max_abs_difference"] == 0.25 and item["mean_abs_difference"] == pytest.approx(0.25 / 3)
    assert item["distinct_values"] == {"run": 4, "reference": 3} and not item["identical"] and item["unit"] == "nA"
    same = compare_weights({"P": run}, {"P": run})["P"]
    assert same["identical"] and same["max_abs_difference"] == 0.0 and same["unit"] is None


def record(ticks: dict) -> SpikeRecord:
    return SpikeRecord(
        1.0, 20.0, "test", {label: [np.asarray(t, float) for t in trains] for label, trains in ticks.items()}
    )


def answers(*given) -> dict:
    operations = [{"answer": answer, "agrees": answer == "a"} for answer in given]
    return {"operations": operations, "summary": {"agree": sum(o["agrees"] for o in operations)}}


def test_structural_decisions_and_answers_that_differ_fail_a_comparison():
    spikes = record({"P": [[1.0, 5.0], [3.0]]})
    events = {"events": {"sp": [[4, "form", 0, 1], [9, "elim", 0, 1]]}}
    parted = {"events": {"sp": [[4, "form", 0, 1], [11, "elim", 0, 1]]}}
    measured = compare_runs(
        RunData(spikes, structural=parted, answers=answers("a", "b")),
        RunData(spikes, structural=events, answers=answers("a", "a")),
    )
    assert measured["structural"] == {"sp": {"run": 2, "reference": 2, "first_difference_tick": 9}}
    assert measured["functional"] == {
        "operations": 2,
        "answers_differing_from_reference": [1],
        "run_agrees_with_ideal": 1,
        "reference_agrees_with_ideal": 2,
    }
    assert measured["failures"] == [
        "structural decisions of sp part from the reference at tick 9",
        "1 operations answer differently from the reference",
    ]
    assert measured["spikes"]["passed"] and not measured["passed"]
    on_board = compare_runs(RunData(spikes, structural=parted, board=True), RunData(spikes, structural=events))
    assert on_board["structural"] is None and on_board["passed"]  # a board draws from its own generator


def test_every_pair_that_matters_is_compared_once():
    runs = {
        "a/target": RunData(record({"P": [[1.0, 5.0]]})),
        "a/reference": RunData(record({"P": [[1.0, 5.0]]})),
        "b/target": RunData(record({"P": [[2.0, 5.0]]})),
        "b/reference": RunData(record({"P": [[2.0, 5.0]]})),
        "reference-float": RunData(record({"P": [[1.0, 6.0]]})),
    }
    strict, loose = Thresholds(0.99, 0.999, 0.01), Thresholds(0.9, 0.95, 0.05)
    found = comparisons(runs, ["a", "b"], {"a": strict, "b": loose}, ())
    assert [(c["kind"], c["run"], c["reference"]) for c in found] == [
        ("correctness", "a/target", "a/reference"),
        ("correctness", "b/target", "b/reference"),
        ("quantization_cost", "a/target", "reference-float"),
        ("quantization_cost", "b/target", "reference-float"),
        ("portability", "b/target", "a/target"),
    ]
    # b against a: 5 of a's 2 spikes in the same tick, 1 at 2 vs 1 within one tick.
    portability = comparison({"comparisons": found}, "portability")["spikes"]["overall"]
    assert (portability["same_tick"], portability["within_one"]) == (1, 2)
    assert portability_thresholds(strict, loose) == Thresholds(0.9, 0.95, 0.05)
    assert comparison({"comparisons": found}, "portability")["spikes"]["thresholds"] == vars(
        Thresholds(0.9, 0.95, 0.05)
    )


# --- warnings the compile gives --------------------------------------------------------------------------


def plastic_network(a_plus: float, a_minus: float, weight: float = 0.5) -> nd.Network:
    net = nd.Network("plastic")
    net.spike_source("S", [[1.0, 5.0]])
    net.population("P", 2)
    rule = nd.STDP(A_plus=a_plus, A_minus=a_minus, w_max=1.0)
    net.project("S", "P", nd.AllToAll(), weight=weight, plasticity=rule, label="plastic")
    return net


def test_loihi_warns_where_stdp_amplitudes_are_coarse_against_the_weight_step():
    step = lava_lower(plastic_network(0.1, 0.1)).projections["plastic"].weight_unit
    network = plastic_network(1.4 * step, 25.0 * step)  # A- is 25 whole steps: no warning
    lowered = lava_lower(network)
    assert lowered.projections["plastic"].weight_unit == step
    warnings = [
        str(f) for f in check_fixed(network, lowered.populations, lowered.projections, None) if "STDP" in str(f)
    ]
    # A+ is 1.4 steps, held as round(1.4) = 1 step: 1/1.4 - 1 = -28.6%.
    assert warnings == [
        f"warning: projection 'plastic': STDP A_plus = {1.4 * step:g} nA is 1.4 weight steps of {step:.3g} nA "
        f"(8-bit weights, exponent {lowered.projections['plastic'].weight_exp}): held as 1 ({step:.3g} nA, -28.6%); "
        "its largest update is 1 weight steps, each floored to whole steps: updates shrink by up to a step and "
        "vanish under one, so learned weights take few values"
    ]


def test_spinnaker_warns_where_an_stdp_update_is_a_few_weight_steps():
    # w_max = 1 nA sizes the ring buffer: shift 1, a stored step of 2^(1 - 15) nA; A+ = 0.0003 nA is 4.92 steps.
    network = plastic_network(0.0003, 0.1)
    graph = spinnaker_lower(network)
    scaling = ring_buffer_scaling(graph)
    assert projection_report(network, graph, scaling)["plastic"]["resolution"] == 2.0**-14
    findings = check_target(network, graph, scaling, target_descriptions()["spinn5"].data)
    warnings = [f for f in findings if "STDP" in f.message]
    assert [(f.origin, f.message.split(", and")[0]) for f in warnings] == [
        ("quantization", "STDP A_plus = 0.0003 nA: its largest update (0.0003 nA) is 4.92 weight steps of 6.1e-05 nA "
         "(16-bit weights, shift 1)")
    ]  # fmt: skip


# --- deploys ---------------------------------------------------------------------------------------------


def test_targets_given_twice_or_a_board_for_several_are_refused(tmp_path):
    model = load_model("feedforward-poisson", {"n_neurons": 2, "n_inputs": 2})
    with pytest.raises(ValidationError, match="target 'spinn5' is given twice"):
        deploy_model(model, ["spinn5", "loihi2", "spinn5"], tmp_path / "d", 10.0)
    board = tmp_path / "spynnaker.cfg"
    board.write_text("[Machine]\n")
    with pytest.raises(ValidationError, match="configures one target's board: deploy to one --target with it, not 2"):
        deploy_model(model, ["spinn5", "loihi2"], tmp_path / "d", 10.0, board=board)
    assert not (tmp_path / "d").exists()


README_DEPLOY = ["deploy", "feedforward-poisson", "--target", "spinn5", "--target", "loihi2", "--out", "runs/ff"]
SMALL = ["--param", "n_neurons=20", "--param", "n_inputs=20", "--param", "rate_hz=50", "--duration", "300"]


@pytest.mark.slow
def test_the_readme_deploy_to_both_targets_with_a_relative_out(tmp_path):
    # The README's command as written (a relative --out), on a smaller network.
    done = neurodeploy(*README_DEPLOY, *SMALL, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "PASS: spinnaker on spinn5 vs the quantization-aware Brian2 reference" in lines
    assert "PASS: lava on loihi2 vs the quantization-aware Brian2 reference" in lines
    assert any(line.startswith("loihi2 vs spinn5 (portability): same tick") for line in lines)
    out = tmp_path / "runs" / "ff"
    for folder in ("reference-float", "spinn5/target", "spinn5/reference", "loihi2/target", "loihi2/reference"):
        assert (out / folder / "spikes.json").is_file(), folder
    assert (out / "spinn5" / "compile" / "mapping.json").is_file()
    assert (out / "loihi2" / "compile" / "compile.txt").is_file()
    summary = json.loads((out / "deploy.json").read_text())
    assert summary["targets"] == ["spinn5", "loihi2"] and summary["passed"]
    explained = [(item["kind"], item["run"], item["reference"]) for item in summary["explain"]["explanations"]]
    assert ("portability", "loihi2/target", "spinn5/target") in explained  # they part (the counts below)
    assert all(kind != "correctness" for kind, *_ in explained)  # both passed: not explained
    assert [(c["kind"], c["run"], c["reference"]) for c in summary["comparisons"]] == [
        ("correctness", "spinn5/target", "spinn5/reference"),
        ("correctness", "loihi2/target", "loihi2/reference"),
        ("quantization_cost", "spinn5/target", "reference-float"),
        ("quantization_cost", "loihi2/target", "reference-float"),
        ("portability", "loihi2/target", "spinn5/target"),
    ]
    assert summary["per_target"]["spinn5"]["mapping"]["application_cores"] == 2

    # Portability is compare() of the two run folders read back, with the looser of the targets' thresholds,
    portability = comparison(summary, "portability")
    limits = portability_thresholds(*(Thresholds(**summary["per_target"][t]["thresholds"]) for t in summary["targets"]))
    again = compare_runs(
        read_run(out / "loihi2" / "target").comparable(), read_run(out / "spinn5" / "target").comparable(), limits,
        ("inputs",),
    )  # fmt: skip
    assert {"kind": "portability", "run": "loihi2/target", "reference": "spinn5/target", **again} == json.loads(
        json.dumps(portability)
    )
    # and its same-tick count is that of the two spikes.json, neuron by neuron.
    loihi, spinnaker = (
        json.loads((out / target / "target" / "spikes.json").read_text())["populations"]["neurons"]["spike_times_ms"]
        for target in ("loihi2", "spinn5")
    )
    same = sum(len(set(a) & set(b)) for a, b in zip(loihi, spinnaker))
    assert portability["spikes"]["overall"]["same_tick"] == same > 100

    # compare takes the deploy's runs, and the deploy folder itself.
    thresholds = [f"--{name.replace('_', '-')}={value}" for name, value in vars(limits).items()]
    compared = neurodeploy(
        "compare", "runs/ff/loihi2/target", "runs/ff/spinn5/target", "--json", *thresholds, cwd=tmp_path
    )
    assert compared.returncode in (0, 1), compared.stderr
    document = json.loads(compared.stdout)
    assert {key: document[key] for key in portability["spikes"]} == portability["spikes"]
    whole = neurodeploy("compare", "runs/ff", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    assert "loihi2 vs spinn5 (portability): same tick" in whole.stdout
    assert "PASS: lava on loihi2 vs the quantization-aware Brian2 reference" in whole.stdout
    refused = neurodeploy("compare", "runs/ff", "runs/ff/spinn5/target", cwd=tmp_path)
    assert (
        refused.returncode == 2
        and "is a deploy folder: compare it alone (`neurodeploy compare runs/ff`), or two "
        "of its runs ('runs/ff/spinn5/target', 'runs/ff/loihi2/target', 'runs/ff/reference-float', ...)"
        in refused.stderr
    )
    refused = neurodeploy("compare", "runs/ff/spinn5", "runs/ff/loihi2", cwd=tmp_path)
    assert refused.returncode == 2 and "its runs are 'runs/ff/spinn5/target' and 'runs/ff/spinn5/reference'" in (
        refused.stderr
    )


@pytest.mark.slow
def test_a_deploy_without_input_says_so_with_every_warning_as_json(tmp_path):
    # The feed-forward network with its sources silenced: sPyNNaker logs that a SpikeSourceArray has no
    # spike times, the design rules warn that the ring buffer could saturate, and the verdict is no bare PASS.
    parameters = {"n_neurons": 20, "n_inputs": 20, "rate_hz": 50.0, "duration_ms": 300.0}
    network = load_model("feedforward-poisson", parameters).network
    worst = np.bincount(network.connections("inputs->neurons").post, network.connections("inputs->neurons").weight)
    stimulus = tmp_path / "silent.json"
    stimulus.write_text(json.dumps({"inputs": [[]] * 20}))
    arguments = [f"--param={key}={value}" for key, value in parameters.items()]
    done = neurodeploy("deploy", "feedforward-poisson", *arguments, "--stimulus", stimulus, "--target", "spinn5",
                       "--json", "--out", "d", cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary == json.loads((tmp_path / "d" / "deploy.json").read_text())
    warnings = {(w["source"], w["target"]): w["message"] for w in summary["warnings"]}
    assert warnings[("compile spinn5", "spinn5")].startswith(
        "projection 'inputs->neurons': if all inputs of one 'neurons' neuron arrived in one tick "
        f"({worst.max():.4g} nA) the ring buffer would saturate at"
    )
    assert warnings[("spynnaker log", "spinn5")] == "SpikeSourceArray has no spike times"
    assert warnings[("input", None)].startswith("no input: no spike source fires within the run's 300 ms")
    assert ("activity", None) in warnings
    assert summary["per_target"]["spinn5"]["verdict"].startswith(
        "PASS, vacuously: spinnaker on spinn5 vs the quantization-aware Brian2 reference: no input reached the network"
    )
    assert (tmp_path / "d" / "spinn5" / "target" / "spikes.json").is_file()  # one target: the same layout


@pytest.mark.slow
def test_a_failed_mapping_under_a_relative_out_names_a_log_that_exists(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(toolchain, "VIRTUAL_BOARD_CONFIG", "[Machine]\nversion = 99\nvirtual_board = True\n")
    arguments = ["deploy", "feedforward-poisson", "--param", "n_neurons=2", "--param", "n_inputs=2"]
    result = CliRunner().invoke(main, [*arguments, "--duration", "20", "--target", "spinn5", "--out", "runs/bad"])
    assert result.exit_code == 1 and "sPyNNaker could not map the network" in result.output, result.output
    log = Path(result.output.rsplit("(full log: ", 1)[1].split(")")[0])
    assert log.is_absolute() and "Unexpected cfg [Machine]version 99" in log.read_text()
    assert log.is_relative_to(tmp_path / "runs" / "bad")


@pytest.mark.slow
def test_a_board_runs_after_its_mapping(tmp_path, monkeypatch):
    # A deploy maps beside its emulation; a board's run comes after the mapping, as sPyNNaker's own run does.
    model = load_model("feedforward-poisson", {"n_neurons": 2, "n_inputs": 2})
    board = tmp_path / "spynnaker.cfg"
    board.write_text("[Machine]\n")
    seen = []

    def run_on_board(out, config_file, duration_ms):
        seen.append(((out / "mapping.json").is_file(), (out / toolchain.MAPPING_LOG).is_file(), config_file))
        return make_backend("spinnaker").run(model.network, duration_ms).spikes

    monkeypatch.setattr(toolchain, "run_on_board", run_on_board)
    summary = deploy_model(model, "spinn5", tmp_path / "d", 20.0, board=board)
    assert seen == [(True, True, board)]
    assert summary["per_target"]["spinn5"]["backend"] == "spinnaker (board)"
    assert summary["per_target"]["spinn5"]["mapping"]["application_cores"] == 2


@pytest.mark.slow
def test_a_mapping_that_would_not_fit_in_memory_beside_the_runs_finishes_first(tmp_path, monkeypatch):
    # Each step fits the limit, the mapping and the largest run together do not: the emulation starts mapped.
    model = load_model("feedforward-poisson", {"n_neurons": 2, "n_inputs": 2})
    steps = (toolchain.SpinnakerToolchain(), make_backend("spinnaker"), make_backend("brian2"))
    largest = max(step.estimate_memory(model.network, 20.0).total for step in steps)
    limit = 1.05 * largest  # room for the lowered network's own estimate, not for a compile beside it
    assert toolchain.SpinnakerToolchain().estimate_memory(model.network, 20.0).total + largest > limit
    seen = []
    execute = toolchain.SpinnakerToolchain.execute

    def executed_after_mapping(self, compilation, out, *arguments):
        seen.append((out / "mapping.json").is_file())
        return execute(self, compilation, out, *arguments)

    monkeypatch.setattr(toolchain.SpinnakerToolchain, "execute", executed_after_mapping)
    monkeypatch.setattr(resources, "_explicit_limit", int(limit))
    summary = deploy_model(model, "spinn5", tmp_path / "d", 20.0)
    assert seen == [True]
    assert summary["per_target"]["spinn5"]["mapping"]["application_cores"] == 2


def one_neuron(**parameters) -> nd.Network:
    net = nd.Network("one", duration=30.0)
    net.spike_source("S", [[1.0, 4.0, 9.0]])
    net.population("P", 1, parameters={"tau_m": 10.0, **parameters})
    net.project("S", "P", nd.OneToOne(), weight=5.0)
    net.record("P")
    return net


def without_spynnaker(monkeypatch):
    """Deploys to spinn5 without mapping (no sPyNNaker step): they run in a moment."""
    without = SimpleNamespace(util=SimpleNamespace(find_spec=lambda name: None))
    monkeypatch.setattr(toolchain, "importlib", without)  # the toolchain finds no sPyNNaker


def test_a_deploy_from_python_writes_the_same_layout_for_one_target(tmp_path, monkeypatch):
    # spinn5's compile, runs and the float reference, on a network small enough to run in a moment.
    net = one_neuron()
    without_spynnaker(monkeypatch)
    summary = deploy_model(LoadedModel(net, "one", "test"), "spinn5", tmp_path / "d", 30.0)
    assert summary["targets"] == ["spinn5"] and summary["passed"]
    assert sorted(os.listdir(tmp_path / "d")) == [
        ".neurodeploy",
        "deploy.json",
        "network.json",
        "reference-float",
        "report.html",
        "spinn5",
    ]
    assert sorted(os.listdir(tmp_path / "d" / "spinn5")) == ["compile", "reference", "target"]
    assert [w["source"] for w in summary["warnings"]] == ["compile spinn5"]  # not mapped: sPyNNaker is missing
    correctness = comparison(summary, "correctness")
    assert correctness["spikes"]["overall"]["run_spikes"] == correctness["spikes"]["overall"]["reference_spikes"] > 0


@pytest.mark.slow
def test_a_target_that_cannot_run_leaves_the_others_compared(tmp_path):
    # Reset by subtraction: sPyNNaker's LIF cannot, the loihi target's processes can.
    net = nd.Network("subtract", nd.Semantics(reset="subtract"), duration=40.0)
    net.spike_source("S", [[1.0, 2.0, 3.0, 9.0]])
    net.population("P", 2)
    net.project("S", "P", nd.AllToAll(), weight=8.0)
    net.record("P")
    path = nd.save(net, tmp_path / "subtract.yaml")
    result = CliRunner().invoke(
        main, ["deploy", str(path), "--target", "spinn5", "--target", "loihi2", "--out", str(tmp_path / "d")]
    )
    assert result.exit_code == 1, result.output
    assert (
        "spinn5: design-rule errors:" in result.output
        and "cannot run on spinn5: see spinn5/compile/compile.txt" in (result.output)
    )
    assert "PASS: lava on loihi2 vs the quantization-aware Brian2 reference" in result.output
    summary = json.loads((tmp_path / "d" / "deploy.json").read_text())
    assert [(c["kind"], c["run"]) for c in summary["comparisons"]] == [
        ("correctness", "loihi2/target"),
        ("quantization_cost", "loihi2/target"),
    ]
    assert not summary["passed"] and not summary["per_target"]["spinn5"]["passed"]
    assert sorted(os.listdir(tmp_path / "d" / "spinn5")) == ["compile"]


def test_the_models_own_warnings_are_the_deploys_with_sources_model_and_input(tmp_path, monkeypatch):
    # A refractory period in seconds (the model's), and a spike after the model's own duration (its input's):
    # both legal, both warned of, each under its own source.
    net = one_neuron(tau_refrac=0.002)
    net.spike_source("late", [[2.0, 35.0]])
    expected = [*net.implausible_values(), *unsent_spikes(net, 30.0)]
    assert [text.split(":")[0] for text in expected] == [
        "population 'P', field 'parameters.tau_refrac'",
        "spike source 'late'",
    ]
    sources = ["model", "input"]
    without_spynnaker(monkeypatch)
    with pytest.warns(NeurodeployWarning) as warned:
        deployed = nd.Model(net).deploy("spinn5", tmp_path / "python", explain_runs=0)
    assert [str(warning.message) for warning in warned] == expected
    path = nd.save(net, tmp_path / "one.json")
    result = CliRunner().invoke(main, ["deploy", str(path), "--target", "spinn5", "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    for summary in (deployed.summary, json.loads((tmp_path / "cli" / "deploy.json").read_text())):
        found = [(w["source"], w["target"], w["message"]) for w in summary["warnings"] if w["source"] in sources]
        assert found == [(source, None, text) for source, text in zip(sources, expected)]
        assert not had_no_input(summary)  # the spike source fires within the run
    assert f"  model: {expected[0]}" in result.output and f"  input: {expected[1]}" in result.output


def test_a_deploy_folder_of_an_older_neurodeploy_is_refused_in_one_line(tmp_path):
    # What deploy wrote for one target before: compile/, target/, reference/ in OUT, no 'targets'.
    out = tmp_path / "old"
    for name in ("compile", "target", "reference", "reference-float"):
        (out / name).mkdir(parents=True)
    document = {"model": {"name": "m"}, "target": "spinn5", "target_vs_reference": {}, "passed": True}
    (out / "deploy.json").write_text(json.dumps(document))
    refusal = "written by an older neurodeploy (one target, no 'targets' in deploy.json): deploy again"
    for command in (["explain", out], ["report", out], ["compare", out]):  # its runs are still run folders
        result = CliRunner().invoke(main, list(map(str, command)))
        assert result.exit_code == 2 and refusal in result.output, (command, result.output)
        assert result.output.count("\n") == 1


def test_only_the_no_input_warning_makes_a_silent_verdict_say_no_input_reached_the_network():
    # `compare DEPLOY_DIR` words its vacuous verdicts from deploy.json's warnings: a model's implausible value
    # (source model) or its unsent spikes (source input) say nothing about whether input reached the network.
    net = nd.Network("quiet")
    net.population("E", 2, parameters={"cm": 250.0})
    net.spike_source("S", [[], []])
    net.project("S", "E", nd.OneToOne(), weight=1.0)
    implausible = net.implausible_values()
    assert implausible
    document = {"warnings": [{"source": "model", "target": None, "message": text} for text in implausible]}
    assert not had_no_input(document)
    silent = _no_input(net, 10.0)
    document["warnings"].append({"source": "input", "target": None, "message": silent})
    assert had_no_input(document)
