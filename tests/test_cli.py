"""The command line: exit codes, one-line errors, run directories, compare."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import ROOT
from neurodeploy.cli import main

COMMANDS = ["models", "targets", "backends", "validate", "run", "compare", "report", "explain"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def network_file(tmp_path, small_network):
    return nd.save(small_network, tmp_path / "small.json")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_explains_itself(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
    assert len(result.output.split("\n")) > 3


def test_lists_are_one_line_each():
    models = invoke("models")
    assert models.exit_code == 0 and "feedforward-poisson" in models.output
    families = [line for line in models.output.strip().splitlines() if not line[0].isspace()]
    assert all(len(line.split()) > 2 for line in families)
    assert "brian2" in invoke("backends").output
    assert invoke("targets").exit_code == 0


def test_validate_accepts_a_good_file(network_file):
    result = invoke("validate", network_file)
    assert result.exit_code == 0 and "ok:" in result.output


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda d: d["populations"][0]["parameters"].update(tau_m=float("nan")), "field 'parameters.tau_m'"),
        (lambda d: d["projections"][0].update(delay=0.5), "field 'delay'"),
        (lambda d: d["projections"][0].update(post="nowhere"), "field 'post'"),
        (lambda d: d.update(populations=d["populations"] * 2), "field 'label': duplicate"),
    ],
)
def test_validate_rejects_bad_files_with_exit_2_and_one_line(tmp_path, network_file, change, expected):
    data = json.loads(network_file.read_text())
    change(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    result = invoke("validate", bad)
    assert result.exit_code == 2
    assert expected in result.output and result.output.count("\n") == 1 and "Traceback" not in result.output


def test_validate_reports_syntax_errors_and_unknown_models(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text("populations: [\n")
    assert invoke("validate", broken).exit_code == 2
    unknown = invoke("validate", "no-such-model")
    assert unknown.exit_code == 2 and "unknown model" in unknown.output


def test_run_writes_a_complete_run_directory(tmp_path, network_file):
    out = tmp_path / "run"
    result = invoke("run", network_file, "--out", out, "--seed", 5)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"]["name"] == "small" and manifest["backend"]["name"] == "brian2"
    assert manifest["seed"] == 5 and manifest["dt_ms"] == 1.0 and manifest["duration_ms"] == 30.0
    assert {"brian2", "numpy", "neurodeploy", "python"} <= set(manifest["versions"]) and manifest["wall_time_s"] > 0
    spikes = json.loads((out / "spikes.json").read_text())
    assert set(spikes["populations"]) == {"A", "S"} and spikes["populations"]["S"]["spike_times_ms"][0] == [1.0, 5.0]
    assert (out / "traces.npz").exists() and (out / "weights.npz").exists()


def test_run_with_a_stimulus_and_a_builder_with_params(tmp_path):
    stimulus = tmp_path / "stim.json"
    stimulus.write_text(json.dumps({"inputs": [[10.0, 20.0]] + [[]] * 4}))
    out = tmp_path / "ff"
    result = invoke(
        "run",
        "feedforward-poisson",
        "--param",
        "n_inputs=5",
        "--param",
        "n_neurons=3",
        "--duration",
        50,
        "--stimulus",
        stimulus,
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    spikes = json.loads((out / "spikes.json").read_text())
    assert spikes["populations"]["inputs"]["spike_times_ms"] == [[10.0, 20.0], [], [], [], []]
    assert json.loads((out / "manifest.json").read_text())["model"]["parameters"] == {"n_inputs": 5, "n_neurons": 3}


@pytest.mark.parametrize(
    "args, words",
    [
        (["--param", "nonsense=1"], "has no such parameter"),
        (["--param", "novalue"], "expected KEY=VALUE"),
        (["--backend", "quantum"], "unknown backend"),
        (["--backend-option", "mode=dream"], "must be one of"),
        (["--duration", "10.5"], "not a multiple of dt"),
    ],
)
def test_run_rejects_bad_options_with_exit_2(tmp_path, args, words):
    result = invoke("run", "feedforward-poisson", "--param", "n_neurons=2", *args, "--out", tmp_path / "x")
    assert result.exit_code == 2 and words in result.output, result.output
    assert not (tmp_path / "x").exists()


def test_run_rejects_bad_stimulus(tmp_path, network_file):
    stimulus = tmp_path / "stim.json"
    stimulus.write_text(json.dumps({"S": [[1.0]]}))
    result = invoke("run", network_file, "--stimulus", stimulus, "--out", tmp_path / "x")
    assert result.exit_code == 2 and "stimulus for 'S', field 'spike_times'" in result.output


def test_run_needs_a_duration_when_the_model_has_none(tmp_path):
    net = nd.Network("no-duration")
    net.population("P", 1)
    path = nd.save(net, tmp_path / "n.yaml")
    result = invoke("run", path, "--out", tmp_path / "x")
    assert result.exit_code == 2 and "--duration" in result.output


def test_compare_self_and_shifted(tmp_path, network_file):
    out = tmp_path / "run"
    assert invoke("run", network_file, "--out", out).exit_code == 0
    same = invoke("compare", out, out, "--json")
    assert same.exit_code == 0
    document = json.loads(same.output)
    assert document["passed"] and document["overall"]["same_tick_fraction"] == 1.0
    assert json.loads((out / "compare.json").read_text()) == document
    assert document["inputs_not_judged"] == ["S"]

    moved = tmp_path / "moved"
    assert invoke("run", network_file, "--out", moved).exit_code == 0
    spikes = json.loads((moved / "spikes.json").read_text())
    for population in spikes["populations"].values():
        population["spike_times_ms"] = [[t + 1.0 for t in times] for times in population["spike_times_ms"]]
    (moved / "spikes.json").write_text(json.dumps(spikes))
    result = invoke("compare", moved, out)
    assert result.exit_code == 1 and "FAIL" in result.output
    document = json.loads((moved / "compare.json").read_text())
    assert document["overall"]["same_tick"] == 0 and document["overall"]["within_one_fraction"] == 1.0


def test_compare_refuses_different_models_and_missing_runs(tmp_path, network_file):
    a, b = tmp_path / "a", tmp_path / "b"
    assert invoke("run", network_file, "--out", a).exit_code == 0
    assert invoke("run", "feedforward-poisson", "--param", "n_neurons=2", "--duration", 20, "--out", b).exit_code == 0
    assert invoke("compare", a, b).exit_code == 2
    missing = invoke("compare", a, tmp_path / "nothing")
    assert missing.exit_code == 2 and "has no manifest.json" in missing.output


def test_installed_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "neurodeploy", "models"], capture_output=True, text=True)
    assert result.returncode == 0 and "feedforward-poisson" in result.stdout


@pytest.mark.parametrize("arguments", [["models"], ["--help"], ["run", "--help"]])
def test_a_reader_that_stops_reading_ends_the_command_quietly(arguments):
    """``neurodeploy models | head``: stdout's reader gone, the command ends with no error and no trace, in the
    exit code a shell gives a writer its reader left (128 + SIGPIPE); the pipe's reader is closed before the
    command starts, so its first write meets a broken pipe whatever the timing."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "neurodeploy", *arguments], stdout=writer, stderr=subprocess.PIPE, text=True
        )
    finally:
        os.close(writer)
    assert (result.returncode, result.stderr) == (141, "")


def test_without_the_lava_environment_backends_says_how_to_create_it_and_the_rest_works(tmp_path, monkeypatch):
    """Lava runs in an environment of its own: without it the lava backend is listed as not available with
    the command that creates it, a lava run refuses with that line, and a loihi2 compile (lowered in this
    process) and the other backends work."""
    monkeypatch.setenv("NEURODEPLOY_LAVA_ENV", str(tmp_path / "no-such-env"))
    lines = {line.split()[0]: line for line in invoke("backends").output.splitlines()}
    assert "not available" in lines["lava"] and "neurodeploy setup-lava" in lines["lava"]
    assert str(tmp_path / "no-such-env") in lines["lava"]
    assert "not available" not in lines["brian2"] and "not available" not in lines["spinnaker"]
    run = invoke("run", "feedforward-poisson", "--param", "n_neurons=2", "--backend", "lava", "--out", tmp_path / "r")
    assert run.exit_code == 1 and "neurodeploy setup-lava" in run.output and not (tmp_path / "r").exists()
    compiled = invoke(
        "compile", "feedforward-poisson", "--param", "n_neurons=2", "--target", "loihi2", "--out", tmp_path / "c"
    )
    assert compiled.exit_code == 0 and (tmp_path / "c" / "lava_parameters.npz").is_file()
    deployed = invoke(
        "deploy", "feedforward-poisson", "--param", "n_neurons=2", "--target", "loihi2", "--out", tmp_path / "d"
    )
    assert deployed.exit_code == 1 and "neurodeploy setup-lava" in deployed.output
    assert "compiling" not in deployed.output and not (tmp_path / "d").exists()


def setup_lava_python() -> str:
    from neurodeploy.backends.lava.environment import find_python

    python = find_python()
    if python is None:
        pytest.skip("no Python 3.10 on PATH or in pyenv to set up a Lava environment with")
    return python


def test_setup_lava_refuses_another_python_and_a_folder_holding_one(tmp_path, monkeypatch):
    """Given a Python other than 3.10 (by path, or as a command on PATH, as make passes python3.10), or a
    folder that is a virtual environment of another Python (the main one, say), set-up refuses in one line,
    as bad input (exit 2), before it changes anything."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python3.x").symlink_to(sys.executable)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    for python in (sys.executable, "python3.x"):
        wrong = invoke("setup-lava", tmp_path / "env", "--python", python)
        assert wrong.exit_code == 2 and wrong.output.count("\n") == 1
        assert (
            f"needs Python 3.10 (lava-nc 0.10 runs on no other); {python} is 3.{sys.version_info[1]}" in wrong.output
            and not (tmp_path / "env").exists()
        )
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", tmp_path / "main"], check=True)
    before = sorted(path.relative_to(tmp_path) for path in (tmp_path / "main").rglob("*"))
    other = invoke("setup-lava", tmp_path / "main", "--python", setup_lava_python())
    assert other.exit_code == 2 and other.output.count("\n") == 1
    assert (
        f"{tmp_path / 'main'} holds a Python 3.{sys.version_info[1]}, not the Lava environment's 3.10" in other.output
    )
    assert sorted(path.relative_to(tmp_path) for path in (tmp_path / "main").rglob("*")) == before


def test_setup_lava_completes_an_environment_whose_creation_was_interrupted(tmp_path, monkeypatch):
    """Interrupted while ``venv`` installed pip, the environment has a Python but no pip: set-up again
    completes it instead of failing on the missing pip (the packages from the index are left out here:
    this test installs nothing from the network)."""
    from neurodeploy.backends.lava import environment as lava_environment

    python = setup_lava_python()
    subprocess.run([python, "-m", "venv", "--without-pip", tmp_path / "env"], check=True)
    check = lava_environment._check
    installs = []
    monkeypatch.setattr(
        lava_environment,
        "_check",
        lambda command, what: installs.append(what) if "install" in command else check(command, what),
    )
    created = lava_environment.create(tmp_path / "env", python, echo=lambda line: None)
    assert subprocess.run([created.python, "-m", "pip", "--version"], capture_output=True).returncode == 0
    assert installs == ["installing pip", "installing the pinned packages"] and created.problem() is None


def test_setup_lava_in_another_folder_says_how_to_use_it(tmp_path, monkeypatch):
    """An environment made elsewhere than where the backend looks is used only through NEURODEPLOY_LAVA_ENV:
    set-up says so (the set-up itself is left out: it installs from the network)."""
    from neurodeploy.backends.lava import environment as lava_environment

    monkeypatch.delenv("NEURODEPLOY_LAVA_ENV", raising=False)
    monkeypatch.setattr(
        lava_environment, "create", lambda path, python, echo: lava_environment.LavaEnvironment(Path(path).absolute())
    )
    elsewhere = invoke("setup-lava", tmp_path / "lava")
    assert (
        elsewhere.exit_code == 0 and f"set NEURODEPLOY_LAVA_ENV={tmp_path / 'lava'} to use this one" in elsewhere.output
    )
    monkeypatch.setenv("NEURODEPLOY_LAVA_ENV", str(tmp_path / "lava"))
    assert "NEURODEPLOY_LAVA_ENV" not in invoke("setup-lava", tmp_path / "lava").output
    assert "NEURODEPLOY_LAVA_ENV" not in invoke("setup-lava").output


def test_the_main_environment_has_no_lava():
    """lava-nc (Python 3.10, numpy<2) lives only in the Lava environment."""
    import importlib.util

    import numpy

    assert importlib.util.find_spec("lava") is None
    assert sys.version_info >= (3, 12) and int(numpy.__version__.split(".")[0]) >= 2


def test_without_spynnaker_compile_says_it_did_not_map_and_names_the_extra(tmp_path, monkeypatch):
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *rest: None if name == "spynnaker" else find_spec(name, *rest)
    )
    result = invoke(
        "compile", "feedforward-poisson", "--param", "n_neurons=2", "--target", "spinn5", "--out", tmp_path / "c"
    )
    assert result.exit_code == 0, result.output
    assert (
        "warning: mapping: not mapped: sPyNNaker is not installed (pip install 'neurodeploy[spinnaker]')"
        in result.output
    )


# --- protocols by name -------------------------------------------------------------------------------------

PROTOCOLS = ROOT / "models" / "protocols"
CAM = ["ca3-cam", "--param", "cue_size=5", "--param", "content_size=10"]


def listed_protocols(output: str) -> dict:
    """Family -> the protocol names ``neurodeploy models`` shows on the indented line under it."""
    shipped, family = {}, None
    for line in output.splitlines():
        if not line[0].isspace():
            family = line.split()[0]
        else:
            label, _, names = line.strip().partition(": ")
            assert label == "protocols" and family not in shipped, line
            shipped[family] = names.split(", ")
    return shipped


def test_models_shows_the_protocols_each_family_ships():
    listed = invoke("models")
    assert listed.exit_code == 0, listed.output
    assert listed_protocols(listed.output) == {
        "ca3-cam": ["ca3-cam-exp1", "ca3-cam-exp2-testbench", "ca3-cam-exp3-state-map"],
        "hippocampus-sparse": [
            "hippocampus-sparse-exp1-learning",
            "hippocampus-sparse-exp2-learning-recall",
            "hippocampus-sparse-exp3-forgetting-relearning",
            "hippocampus-sparse-exp4-combined-operations",
        ],
        "livewired-assoc": ["livewired-assoc-learn-forget", "livewired-assoc-new-patterns"],
        "spyblocks": ["spyblocks-memory-writes"],
    }


def test_a_protocol_name_runs_as_its_file_from_any_folder(tmp_path, monkeypatch):
    by_file = invoke("run", *CAM, "--protocol", PROTOCOLS / "ca3-cam-exp1.json", "--out", tmp_path / "file")
    assert by_file.exit_code == 0, by_file.output
    monkeypatch.chdir(tmp_path)
    by_name = invoke("run", *CAM, "--protocol", "ca3-cam-exp1", "--out", "name")
    assert by_name.exit_code == 0, by_name.output
    operations = json.loads((PROTOCOLS / "ca3-cam-exp1.json").read_text())
    assert [(o["op"], o["t"]) for o in json.loads((tmp_path / "name" / "protocol.json").read_text())] == [
        (o["op"], o["t"]) for o in operations
    ]
    assert json.loads((tmp_path / "name" / "answers.json").read_text()) == json.loads(
        (tmp_path / "file" / "answers.json").read_text()
    )


@pytest.mark.parametrize("path", ["ca3-cam-exp1", "mine/ca3-cam-exp1.json"])
def test_a_protocol_file_that_exists_wins_over_a_name(tmp_path, monkeypatch, path):
    """A file in the working folder is read, even one called as a packaged protocol: this one asks for a
    cue the model lacks, which the packaged protocol does not."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / path).parent.mkdir(exist_ok=True)
    (tmp_path / path).write_text(json.dumps([{"op": "recall_cue", "cue": 7, "t": 0}]))
    result = invoke("run", *CAM, "--protocol", path, "--out", "x")
    assert result.exit_code == 2 and "field 'cue': 7 is out of range" in result.output, result.output


@pytest.mark.parametrize(
    "command, options",
    [("run", []), ("compile", ["--target", "spinn5", "--no-map"]), ("deploy", ["--target", "spinn5"])],
)
def test_an_unknown_protocol_name_is_one_line_listing_the_names(tmp_path, monkeypatch, command, options):
    monkeypatch.chdir(tmp_path)
    result = invoke(command, *CAM, "--protocol", "ca3-cam-exp9", *options, "--out", "x")
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: option --protocol: 'ca3-cam-exp9' is neither a file nor a protocol name")
    assert result.output.rstrip().removesuffix(")").split("(protocols: ")[1].split(", ") == [
        "ca3-cam-exp1",
        "ca3-cam-exp2-testbench",
        "ca3-cam-exp3-state-map",
        "hippocampus-sparse-exp1-learning",
        "hippocampus-sparse-exp2-learning-recall",
        "hippocampus-sparse-exp3-forgetting-relearning",
        "hippocampus-sparse-exp4-combined-operations",
        "livewired-assoc-learn-forget",
        "livewired-assoc-new-patterns",
        "spyblocks-memory-writes",
    ]
    assert not (tmp_path / "x").exists()


def test_a_protocol_name_too_long_for_a_path_is_bad_input(tmp_path):
    result = invoke("run", *CAM, "--protocol", "p" * 5000, "--out", tmp_path / "x")
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output.startswith("error: option --protocol: 'ppp")


def test_a_user_model_folder_ships_protocols_too(tmp_path, monkeypatch):
    """Its protocols are listed under the family with the longest name they start with, and taken by name
    before the packaged ones."""
    folder = tmp_path / "models"
    (folder / "protocols").mkdir(parents=True)
    (folder / "big_cam.py").write_text(
        '"""The CA3 CAM under a name of my own."""\n'
        "from neurodeploy_models.ca3_cam import PROTOCOL, build  # noqa: F401\n"
        'NAME = "ca3-cam-big"\n'
    )
    (folder / "protocols" / "ca3-cam-big-recall.json").write_text(
        json.dumps([{"op": "learn", "cue": 1, "content": [2, 3], "t": 0}, {"op": "recall_cue", "cue": 1, "t": 10}])
    )
    (folder / "protocols" / "ca3-cam-exp1.json").write_text(json.dumps([{"op": "recall_cue", "cue": 7, "t": 0}]))
    monkeypatch.setenv("NEURODEPLOY_MODEL_PATH", str(folder))
    assert listed_protocols(invoke("models").output) == {
        "ca3-cam": ["ca3-cam-exp1", "ca3-cam-exp2-testbench", "ca3-cam-exp3-state-map"],
        "hippocampus-sparse": [
            "hippocampus-sparse-exp1-learning",
            "hippocampus-sparse-exp2-learning-recall",
            "hippocampus-sparse-exp3-forgetting-relearning",
            "hippocampus-sparse-exp4-combined-operations",
        ],
        "ca3-cam-big": ["ca3-cam-big-recall"],
        "livewired-assoc": ["livewired-assoc-learn-forget", "livewired-assoc-new-patterns"],
        "spyblocks": ["spyblocks-memory-writes"],
    }
    monkeypatch.chdir(tmp_path)
    shadowed = invoke("run", *CAM, "--protocol", "ca3-cam-exp1", "--out", "x")
    assert shadowed.exit_code == 2 and "field 'cue': 7 is out of range" in shadowed.output, shadowed.output
    mine = invoke("run", "ca3-cam-big", "--protocol", "ca3-cam-big-recall", "--out", "big")
    assert mine.exit_code == 0, mine.output
    recall = json.loads((tmp_path / "big" / "answers.json").read_text())["operations"][1]
    assert recall["op"] == "recall_cue" and recall["answer"]["content"] == [2, 3]
