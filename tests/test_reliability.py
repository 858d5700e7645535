"""Issue 13's promises, tried adversarially: every bad input is answered with exit code 2 and one line on
stderr, without a traceback, within the time limit and under the memory limit (``reliability.invoke``);
valid inputs still run; and the issue's own examples, one test each.

The property tests draw bad inputs of every kind the program reads (``bad_inputs``): model files, model
parameters, stimulus and protocol files, run folders given to ``compare``, target files and command-line
values. Their example counts are fixed and derandomized so that CI runs the same examples every time.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import elephant.spike_train_dissimilarity  # noqa: F401  imported once here (seconds), not in every forked child
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import neurodeploy as nd
import neurodeploy.backends.brian2  # noqa: F401
import neurodeploy.backends.lava.toolchain  # noqa: F401
import neurodeploy.backends.spinnaker.toolchain  # noqa: F401
import neurodeploy.cli  # noqa: F401
from bad_inputs import (
    BACKEND_OPTIONS,
    BASE_NETWORK,
    BASE_PROTOCOL,
    BASE_STIMULUS,
    DURATIONS,
    HUGE_DURATIONS,
    HUGE_PARAMETERS,
    LONG_INTEGER,
    MALFORMED_PARAMETERS,
    OPTION_SYNTAX,
    PROTOCOL_MUTATIONS,
    RESOURCE_MUTATIONS,
    STIMULUS_MUTATIONS,
    THRESHOLD_OPTIONS,
    bad_network_files,
    bad_parameters,
    bad_targets,
    damaged_texts,
    run_folder_mutations,
    serialize,
    valid_networks,
    write,
)
from conftest import build_small_network
from reliability import ROOT, assert_refused, assert_succeeded, invoke, invoke_subprocess


def examples(count: int):
    """Fixed, derandomized examples without shrinking: a failing example is reported as drawn (each is one
    small mutation already), and a hanging one costs one time limit, not one per shrink step."""
    return settings(
        max_examples=count,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        print_blob=False,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
    )


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A fresh folder per example (hypothesis examples share one test call, so not ``tmp_path``)."""
    root = tmp_path_factory.mktemp("reliability")

    def folder() -> Path:
        return Path(tempfile.mkdtemp(dir=root))

    yield folder
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def network_file(tmp_path_factory) -> Path:
    return nd.save(build_small_network(), tmp_path_factory.mktemp("network") / "small.json")


@pytest.fixture(scope="module")
def run_pair(tmp_path_factory, network_file):
    """Two good run folders of the small network (SpiNNaker emulation and Brian2) that compare cleanly."""
    root = tmp_path_factory.mktemp("runs")
    for backend in ("spinnaker", "brian2"):
        assert_succeeded(invoke("run", network_file, "--backend", backend, "--out", root / backend))
    return root / "spinnaker", root / "brian2"


def network_commands(path: Path, out: Path) -> list[list]:
    """Every command that reads a model file."""
    return [
        ["validate", path],
        ["run", path, "--out", out],
        ["run", path, "--backend", "spinnaker", "--out", out],
        ["compile", path, "--target", "spinn3", "--no-map", "--out", out],
        ["compile", path, "--target", "loihi2", "--no-map", "--out", out],
    ]


# -- properties: bad inputs of every kind ----------------------------------------------------------------


@pytest.mark.slow
@examples(520)
@given(bad_network_files(), st.integers(0, 4))
def test_bad_model_files_are_refused_by_every_command(scratch, file, command):
    folder = scratch()
    path = write(folder / f"network{file.suffix}", file.content)
    assert_refused(invoke(*network_commands(path, folder / "out")[command]))


@examples(25)
@given(st.sampled_from(RESOURCE_MUTATIONS), st.sampled_from(["brian2", "spinnaker"]))
def test_model_files_too_large_to_run_are_refused_before_allocating(scratch, mutation, backend):
    folder = scratch()
    path = write(folder / "network.json", serialize(mutation.apply(BASE_NETWORK), "json"))
    assert_refused(invoke("run", path, "--backend", backend, "--out", folder / "out"))


@pytest.mark.slow
@examples(180)
@given(bad_parameters(), st.booleans())
def test_bad_model_parameters_are_refused(scratch, drawn, running):
    model, params = drawn
    arguments = [arg for param in params for arg in ("--param", param)]
    if running:
        folder = scratch()
        outcome = invoke("run", model, *arguments, "--duration", 10, "--out", folder / "out")
    else:
        outcome = invoke("validate", model, *arguments)
    assert_refused(outcome)


@pytest.mark.slow
@examples(len(HUGE_PARAMETERS))
@given(st.sampled_from(HUGE_PARAMETERS))
def test_model_parameters_too_large_to_run_are_refused(scratch, huge):
    model, name, value = huge
    assert_refused(
        invoke("run", model, "--param", f"{name}={value}", "--duration", 10, "--out", scratch() / "out"), naming=name
    )


@examples(len(MALFORMED_PARAMETERS))
@given(st.sampled_from(MALFORMED_PARAMETERS))
def test_malformed_parameter_options_are_refused(parameter):
    assert_refused(invoke("validate", "feedforward-poisson", "--param", parameter))


@examples(90)
@given(st.sampled_from(STIMULUS_MUTATIONS), st.sampled_from(["brian2", "spinnaker"]))
def test_bad_stimulus_files_are_refused(scratch, network_file, mutation, backend):
    folder = scratch()
    stimulus = write(folder / "stimulus.json", serialize(mutation.apply(BASE_STIMULUS), "json"))
    assert_refused(invoke("run", network_file, "--stimulus", stimulus, "--backend", backend, "--out", folder / "out"))


@examples(100)
@given(st.sampled_from(PROTOCOL_MUTATIONS))
def test_bad_protocol_files_are_refused(scratch, mutation):
    folder = scratch()
    protocol = write(folder / "protocol.json", serialize(mutation.apply(BASE_PROTOCOL), "json"))
    assert_refused(invoke("run", "ca3-cam", "--protocol", protocol, "--out", folder / "out"))


@pytest.mark.slow
@examples(110)
@given(st.data())
def test_bad_run_folders_are_refused_by_compare(scratch, run_pair, data):
    folder = scratch()
    sides = [shutil.copytree(side, folder / side.name) for side in run_pair]
    broken = Path(sides[data.draw(st.integers(0, 1), label="side")])
    spikes = json.loads((broken / "spikes.json").read_text())
    file, mutation = data.draw(st.sampled_from(run_folder_mutations(spikes)), label="mutation")
    document = json.loads((broken / file).read_text())
    write(broken / file, serialize(mutation.apply(document), "json"))
    assert_refused(invoke("compare", *sides))


@pytest.fixture(scope="module")
def base_targets():
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted((ROOT / "targets").glob("*.yaml"))}


@examples(90)
@given(st.data())
def test_bad_target_files_are_refused(scratch, network_file, base_targets, data):
    target = data.draw(bad_targets(base_targets))
    folder = scratch()
    write(folder / "targets" / "mutant.yaml", target.content)
    assert_refused(
        invoke(
            "compile",
            network_file,
            "--target",
            "mutant",
            "--no-map",
            "--out",
            folder / "out",
            env={"NEURODEPLOY_TARGET_PATH": str(folder / "targets")},
        )
    )


def _cli_value_cases(network_file: Path, runs: tuple[Path, Path], out: Path) -> list[list]:
    cases = []
    for duration in DURATIONS:
        cases += [
            ["run", network_file, "--duration", duration, "--out", out],
            ["run", network_file, "--backend", "spinnaker", "--duration", duration, "--out", out],
            ["compile", network_file, "--target", "spinn3", "--no-map", "--duration", duration, "--out", out],
            ["deploy", network_file, "--target", "spinn3", "--duration", duration, "--out", out],
        ]
    for duration in HUGE_DURATIONS:
        cases += [
            ["run", network_file, "--duration", duration, "--out", out],
            ["run", network_file, "--backend", "spinnaker", "--duration", duration, "--out", out],
        ]
    for option, values in THRESHOLD_OPTIONS.items():
        for value in values:
            cases.append(["compare", *runs, option, value])
            if option != "--tau":
                cases.append(["deploy", network_file, "--target", "spinn3", option, value, "--out", out])
    for option in BACKEND_OPTIONS:
        cases.append(["run", network_file, "--backend-option", option, "--out", out])
    cases += [
        ["run", network_file, "--backend", "nosuch", "--out", out],
        ["run", network_file, "--backend", "", "--out", out],
        ["compile", network_file, "--target", "nosuch", "--out", out],
        ["run", network_file, "--stimulus", network_file, "--protocol", network_file, "--out", out],
        ["validate", "feedforward-poisson", "--param", "n_neurons=5", "--param", "n_neurons=abc"],
        ["run", "ca3-cam", "--out", out],
        ["validate", network_file, "--param", "n_neurons=5"],
        ["validate", "nosuch.py:build"],
        ["validate", "nosuch.txt"],
        ["compare", runs[0], runs[0].parent / "nowhere"],
    ]
    return cases


@examples(60)
@given(st.data())
def test_bad_command_line_values_are_refused(scratch, network_file, run_pair, data):
    folder = scratch()
    runs = tuple(shutil.copytree(side, folder / side.name) for side in run_pair)
    cases = _cli_value_cases(network_file, runs, folder / "out")
    assert_refused(invoke(*data.draw(st.sampled_from(cases))))


def _option_syntax_cases():
    cases = []
    for option, values in OPTION_SYNTAX.items():
        command = (
            ["compare", "RUN", "REFERENCE"]
            if option in ("--tau", "--max-rate-error", "--min-same-tick")
            else ["run", "NETWORK", "--out", "OUT"]
        )
        cases += [pytest.param([*command, option, value], id=f"{option}={value[:12]}") for value in values]
    cases += [
        pytest.param(["run", "NETWORK", "--out", "NETWORK"], id="--out=a-file"),
        pytest.param(["compare", "RUN", "NETWORK"], id="compare-a-file"),
        pytest.param(["run", "NETWORK", "--out"], id="--out-without-value"),
        pytest.param(["run", "NETWORK", "--out", "OUT", "--no-such-option"], id="unknown-option"),
        pytest.param(["no-such-command"], id="unknown-command"),
    ]
    return cases


@pytest.mark.parametrize("case", _option_syntax_cases())
def test_option_values_of_the_wrong_type_are_refused_in_one_line(tmp_path, network_file, run_pair, case):
    """Click's own refusals (type, range, unknown option) are bad input too: one line, not a usage screen."""
    names = {"NETWORK": network_file, "RUN": run_pair[0], "REFERENCE": run_pair[1], "OUT": tmp_path / "out"}
    assert_refused(invoke(*[names.get(arg, arg) for arg in case]))


@pytest.mark.slow
@examples(15)
@given(valid_networks())
def test_valid_generated_networks_validate_and_run(scratch, network):
    folder = scratch()
    path = nd.save(network, folder / "network.json")
    assert_succeeded(invoke("validate", path))
    outcome = invoke("run", path, "--out", folder / "out")
    assert_succeeded(outcome)
    assert json.loads((folder / "out" / "manifest.json").read_text())["model"]["name"] == "generated"


@pytest.mark.parametrize("kind", ["network", "stimulus", "protocol", "target", "run folder"])
@pytest.mark.parametrize("damage", range(len(damaged_texts(b"{}"))))
def test_damaged_files_are_refused(tmp_path, network_file, run_pair, kind, damage):
    if kind == "network":
        valid = serialize(BASE_NETWORK, "json")
    elif kind == "stimulus":
        valid = serialize(BASE_STIMULUS, "json")
    elif kind == "protocol":
        valid = serialize(BASE_PROTOCOL, "json")
    elif kind == "target":
        valid = (ROOT / "targets" / "spinn3.yaml").read_bytes().replace(b"name: spinn3", b"name: mutant")
    else:
        valid = (run_pair[0] / "spikes.json").read_bytes()
    content, what = damaged_texts(valid)[damage]
    file = write(tmp_path / "damaged", content)
    if kind == "network":
        outcome = invoke("validate", file.rename(tmp_path / "network.json"))
    elif kind == "stimulus":
        outcome = invoke("run", network_file, "--stimulus", file, "--out", tmp_path / "out")
    elif kind == "protocol":
        outcome = invoke("run", "ca3-cam", "--protocol", file, "--out", tmp_path / "out")
    elif kind == "target":
        write(tmp_path / "targets" / "mutant.yaml", content)
        outcome = invoke(
            "compile",
            network_file,
            "--target",
            "mutant",
            "--no-map",
            "--out",
            tmp_path / "out",
            env={"NEURODEPLOY_TARGET_PATH": str(tmp_path / "targets")},
        )
    else:
        run = shutil.copytree(run_pair[0], tmp_path / "run")
        write(run / "spikes.json", content)
        outcome = invoke("compare", run, run_pair[1])
    assert_refused(outcome)


# -- regression: the examples, one test each ------------------------------------------------------


def network_with(tmp_path: Path, change, name="network.json") -> Path:
    data = json.loads(json.dumps(BASE_NETWORK))
    change(data)
    return write(tmp_path / name, serialize(data, Path(name).suffix.lstrip(".")))


def _user_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _shown_through_links(folder: Path) -> set[str]:
    """The entries of ``folder`` that are neurodeploy's links into its store."""
    return {
        name
        for name in os.listdir(folder)
        if os.path.islink(folder / name) and os.readlink(folder / name).startswith(".neurodeploy/current/")
    }


@pytest.mark.parametrize("command, output", [("run", "manifest.json"), ("compile", "compile.json")])
def test_a_user_folder_that_looks_like_an_earlier_output_keeps_its_files(tmp_path, network_file, command, output):
    project = tmp_path / "proj"
    write(project / output, b"{}\n")
    write(project / "src" / "main.py", b"code\n")
    before = _user_files(project)
    extra = ["--target", "spinn3", "--no-map"] if command == "compile" else []
    assert_refused(invoke(command, network_file, *extra, "--out", project), naming="by an older neurodeploy")
    assert _user_files(project) == before and sorted(os.listdir(project)) == sorted([output, "src"])


def test_deploy_onto_a_user_folder_with_a_deploy_json_keeps_its_files(tmp_path, network_file):
    project = tmp_path / "proj"
    write(project / "deploy.json", b"{}\n")
    write(project / "src" / "main.py", b"code\n")
    before = _user_files(project)
    assert_refused(
        invoke("deploy", network_file, "--target", "spinn3", "--out", project), naming="by an older neurodeploy"
    )
    assert _user_files(project) == before and sorted(os.listdir(project)) == ["deploy.json", "src"]


def test_notes_added_to_a_run_folder_survive_the_next_run(tmp_path, network_file):
    out = tmp_path / "run"
    assert_succeeded(invoke("run", network_file, "--out", out, "--seed", 1))
    write(out / "notes.txt", b"my notes\n")
    assert_succeeded(invoke("run", network_file, "--out", out, "--seed", 2))
    assert (out / "notes.txt").read_bytes() == b"my notes\n"
    assert json.loads((out / "manifest.json").read_text())["seed"] == 2


def test_out_dot_neither_fails_nor_leaves_folders_behind(tmp_path, network_file):
    work = tmp_path / "work"
    work.mkdir()
    assert_succeeded(invoke("run", network_file, "--out", ".", "--seed", 1, cwd=work))
    write(work / "mine.txt", b"mine\n")
    assert_succeeded(invoke("run", network_file, "--out", ".", "--seed", 2, cwd=work))
    assert (work / "mine.txt").read_bytes() == b"mine\n"
    assert json.loads((work / "manifest.json").read_text())["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"], "staging or old folders left beside --out ."
    shown = _shown_through_links(work)
    assert {"manifest.json", "spikes.json"} <= shown and set(os.listdir(work)) == shown | {".neurodeploy", "mine.txt"}


def test_a_symlinked_out_keeps_the_folder_it_points_to(tmp_path, network_file):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    assert_succeeded(invoke("run", network_file, "--out", link, "--seed", 1))
    write(real / "mine.txt", b"mine\n")
    assert_succeeded(invoke("run", network_file, "--out", link, "--seed", 2))
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.is_dir() and not real.is_symlink() and (real / "mine.txt").read_bytes() == b"mine\n"
    assert json.loads((link / "manifest.json").read_text())["seed"] == 2
    assert "manifest.json" in _shown_through_links(real)


def test_refusing_an_existing_out_is_bad_input(tmp_path, network_file):
    occupied = tmp_path / "occupied"
    write(occupied / "mine.txt", b"mine\n")
    assert_refused(invoke("run", network_file, "--out", occupied), naming=str(occupied))
    assert os.listdir(occupied) == ["mine.txt"] and (occupied / "mine.txt").read_bytes() == b"mine\n"
    a_file = write(tmp_path / "a-file", b"mine\n")
    assert_refused(invoke("run", network_file, "--out", a_file))
    assert a_file.read_bytes() == b"mine\n"


@pytest.mark.parametrize("delay", [1e300, 2.0**63, 2**63, 1e-9])
def test_delays_that_do_not_fit_a_tick_count_are_refused(tmp_path, delay):
    path = network_with(tmp_path, lambda d: d["projections"][0].update(delay=delay))
    assert_refused(invoke("validate", path), naming="delay")


def test_a_protocol_longer_than_the_duration_is_refused(tmp_path):
    outcome = invoke(
        "run",
        "ca3-cam",
        "--protocol",
        ROOT / "models" / "protocols" / "ca3-cam-exp1.json",
        "--duration",
        30,
        "--out",
        tmp_path / "out",
    )
    assert_refused(outcome, naming="duration")
    assert not (tmp_path / "out").exists()


def test_compare_refuses_nan_thresholds(run_pair):
    assert_refused(
        invoke("compare", *run_pair, "--min-same-tick", "nan", "--min-within-one", "nan", "--max-rate-error", "nan")
    )


def test_a_subnormal_connection_probability_is_answered_in_time(tmp_path):
    # A probability of 1e-320 is a probability: the draw ends at once with no synapse (it never returned).
    path = network_with(tmp_path, lambda d: d["projections"][2]["connector"].update(p=1e-320))
    outcome = invoke("validate", path, time_limit_s=10)
    assert_succeeded(outcome)
    assert outcome.seconds < 10
    assert len(nd.load(path).connections(BASE_NETWORK["projections"][2]["label"]).pre) == 0


def test_a_billion_synapses_are_refused_by_estimate(tmp_path):
    def billion(data):
        data["populations"][0]["size"] = 40000
        data["populations"][1]["size"] = 25000
        data["populations"][0]["parameters"]["i_offset"] = 0.0
        data["projections"] = [data["projections"][1]]
        data["projections"][0].update(weight=0.1, delay=1.0)
        data["recordings"] = {}

    assert_refused(invoke("run", network_with(tmp_path, billion), "--out", tmp_path / "out"))


@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda d: d["projections"][0].update(delay=1e9), id="delay-1e9-ms"),
        pytest.param(lambda d: d["semantics"].update(dt=1e-9), id="dt-1e-9-ms"),
    ],
)
def test_runs_that_cannot_fit_in_memory_are_refused(tmp_path, backend, change):
    outcome = invoke("run", network_with(tmp_path, change), "--backend", backend, "--out", tmp_path / "out")
    assert_refused(outcome)


@pytest.mark.parametrize(
    "model, parameter", [("feedforward-poisson", "n_neurons=10000000"), ("ca3-cam", "cue_size=100000")]
)
def test_model_sizes_that_cannot_fit_in_memory_are_refused(tmp_path, model, parameter):
    outcome = invoke("run", model, "--param", parameter, "--duration", 10, "--out", tmp_path / "out")
    assert_refused(outcome, naming=parameter.split("=")[0])


@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
def test_a_duration_of_1e12_ms_is_refused(tmp_path, network_file, backend):
    assert_refused(
        invoke("run", network_file, "--backend", backend, "--duration", "1e12", "--out", tmp_path / "out"),
        naming="duration",
    )


@pytest.mark.parametrize("duration", ["-5", "nan", "inf"])
def test_bad_durations_are_refused_on_spinnaker(tmp_path, network_file, duration):
    assert_refused(
        invoke("run", network_file, "--backend", "spinnaker", "--duration", duration, "--out", tmp_path / "out"),
        naming="duration",
    )


@pytest.mark.parametrize("duration", ["-5", "nan", "inf"])
def test_bad_durations_are_refused_on_lava(tmp_path, network_file, duration):
    outcome = invoke_subprocess(
        "run", network_file, "--backend", "lava", "--duration", duration, "--out", tmp_path / "out"
    )
    assert_refused(outcome, naming="duration")


def test_a_parameter_of_the_wrong_type_is_refused_before_the_builder_runs():
    assert_refused(invoke("validate", "feedforward-poisson", "--param", "rate_hz=abc"), naming="rate_hz")


def test_a_parameter_in_exponent_notation_is_a_number(tmp_path):
    outcome = invoke(
        "run",
        "feedforward-poisson",
        "--param",
        "rate_hz=2e2",
        "--param",
        "n_neurons=3",
        "--param",
        "n_inputs=3",
        "--duration",
        20,
        "--out",
        tmp_path / "out",
    )
    assert_succeeded(outcome)
    parameters = json.loads((tmp_path / "out" / "manifest.json").read_text())["model"]["parameters"]
    assert parameters["rate_hz"] == 200.0 and isinstance(parameters["rate_hz"], float)


def test_a_yaml_model_file_reads_exponent_notation_as_numbers(tmp_path):
    text = serialize(BASE_NETWORK, "yaml").replace(b"tau_m: 10.0", b"tau_m: 1e1")
    assert b"tau_m: 1e1" in text
    assert_succeeded(invoke("validate", write(tmp_path / "network.yaml", text)))


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_a_non_utf8_model_file_is_refused(tmp_path, suffix):
    text = serialize(BASE_NETWORK, suffix.lstrip(".")).replace(b"small", b"sm\xffall", 1)
    assert_refused(invoke("validate", write(tmp_path / f"network{suffix}", text)))


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_5000_deep_nesting_is_refused(tmp_path, suffix):
    path = network_with(tmp_path, lambda d: d["projections"][0].update(weight="@@deep@@"), f"network{suffix}")
    assert_refused(invoke("validate", path))


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_integers_past_4300_digits_are_refused(tmp_path, suffix):
    path = network_with(tmp_path, lambda d: d.update(seed="@@long-integer@@"), f"network{suffix}")
    assert_refused(invoke("validate", path))
    assert_refused(invoke("validate", "feedforward-poisson", "--param", f"seed={LONG_INTEGER}"))


def test_a_ragged_from_list_is_refused(tmp_path):
    path = network_with(tmp_path, lambda d: d["projections"][3]["connector"].update(pre=[0, 1], post=[0]))
    assert_refused(invoke("validate", path), naming="A->A")


def test_lone_surrogate_labels_are_refused_in_one_line(tmp_path):
    path = network_with(tmp_path, lambda d: d["populations"][1].update(label="\ud800"))
    assert_refused(invoke("validate", path))
    assert_refused(invoke("run", path, "--out", tmp_path / "out"))


def test_labels_with_a_newline_give_one_line_errors(tmp_path):
    path = network_with(tmp_path, lambda d: d["projections"][0].update(post="no\nwhere\nerror: injected"))
    assert_refused(invoke("validate", path), naming="post")


def _broken_run(run_pair, tmp_path, file, change):
    run = shutil.copytree(run_pair[0], tmp_path / "run")
    document = json.loads((run / file).read_text())
    write(run / file, serialize(change(document), "json"))
    return run


@pytest.mark.parametrize("manifest", [[], None])
def test_compare_refuses_manifests_that_are_not_objects(tmp_path, run_pair, manifest):
    run = _broken_run(run_pair, tmp_path, "manifest.json", lambda d: manifest)
    assert_refused(invoke("compare", run, run_pair[1]))
    assert_refused(invoke("compare", run_pair[1], run))


@pytest.mark.parametrize("time", [1e6, -5.0, 1e300])
def test_compare_refuses_spike_times_outside_the_run(tmp_path, run_pair, time):
    def outside(spikes):
        trains = spikes["populations"]["A"]["spike_times_ms"]
        trains[0] = sorted(trains[0] + [time])
        return spikes

    assert_refused(invoke("compare", _broken_run(run_pair, tmp_path, "spikes.json", outside), run_pair[1]))


@pytest.mark.parametrize(
    "empty",
    [
        pytest.param(lambda spikes: {**spikes, "populations": {}}, id="no-populations"),
        pytest.param(
            lambda spikes: {
                **spikes,
                "populations": {label: {"size": 0, "spike_times_ms": []} for label in spikes["populations"]},
            },
            id="no-neurons",
        ),
        pytest.param(
            lambda spikes: {
                **spikes,
                "duration_ms": 0.0,
                "populations": {
                    label: {**entry, "spike_times_ms": [[] for _ in entry["spike_times_ms"]]}
                    for label, entry in spikes["populations"].items()
                },
            },
            id="zero-duration",
        ),
    ],
)
def test_compare_refuses_empty_runs(tmp_path, run_pair, empty):
    run = shutil.copytree(run_pair[0], tmp_path / "run")
    reference = shutil.copytree(run_pair[1], tmp_path / "reference")
    for folder in (run, reference):
        spikes = json.loads((folder / "spikes.json").read_text())
        write(folder / "spikes.json", serialize(empty(spikes), "json"))
    assert_refused(invoke("compare", run, reference))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: t.pop("neurons_per_core"), id="neurons_per_core-missing"),
        pytest.param(lambda t: t.update(neurons_per_core=-1), id="neurons_per_core--1"),
    ],
)
@pytest.mark.parametrize("base", ["spinn3", "loihi2"])
def test_malformed_target_files_are_refused(tmp_path, network_file, base, change):
    target = yaml.safe_load((ROOT / "targets" / f"{base}.yaml").read_text())
    target["name"] = "mutant"
    change(target)
    write(tmp_path / "targets" / "mutant.yaml", yaml.safe_dump(target).encode())
    env = {"NEURODEPLOY_TARGET_PATH": str(tmp_path / "targets")}
    assert_refused(
        invoke("compile", network_file, "--target", "mutant", "--no-map", "--out", tmp_path / "out", env=env),
        naming="neurons_per_core",
    )


def test_lava_answers_a_network_without_populations_as_brian2_does(tmp_path):
    path = network_with(tmp_path, lambda d: d.update(populations=[], spike_sources=[], projections=[], recordings={}))
    reference = invoke("run", path, "--out", tmp_path / "brian2")
    outcome = invoke_subprocess("run", path, "--backend", "lava", "--out", tmp_path / "lava")
    if reference.exit_code == 0:
        assert_succeeded(outcome)
    else:
        assert_refused(reference)
        assert_refused(outcome)


BUILDERS = {
    "raises": "import neurodeploy as nd\ndef build():\n    raise RuntimeError('boom')\n",
    "fails-to-import": "import no_such_module_anywhere\ndef build():\n    pass\n",
    "syntax-error": "def build(:\n",
    "divides-by-zero": "def build():\n    return 1 / 0\n",
    "recurses": "def build():\n    return build()\n",
}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_a_user_builder_that_fails_is_bad_input_named_in_one_line(tmp_path, builder):
    path = write(tmp_path / "user_model.py", BUILDERS[builder].encode())
    assert_refused(invoke("validate", f"{path}:build"), naming="user_model")


def test_one_broken_model_file_does_not_break_the_others(tmp_path):
    write(tmp_path / "models" / "broken_model.py", b'"""Broken."""\nNAME = "broken"\nraise RuntimeError("boom")\n')
    env = {"NEURODEPLOY_MODEL_PATH": str(tmp_path / "models")}
    listing = invoke("models", env=env)
    assert listing.exit_code == 0 and "feedforward-poisson" in listing.stdout, listing.describe()
    assert "Traceback" not in listing.stdout + listing.stderr, listing.describe()
    assert_succeeded(invoke("validate", "feedforward-poisson", "--param", "n_neurons=3", env=env))


def test_a_builder_exit_status_does_not_leak(tmp_path):
    path = write(tmp_path / "exits.py", b"import sys\ndef build():\n    sys.exit(7)\n")
    outcome = invoke("run", f"{path}:build", "--out", tmp_path / "out")
    assert outcome.exit_code != 7
    assert_refused(outcome)


@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
@pytest.mark.parametrize("plastic", [True, False], ids=["plastic", "static"])
def test_a_projection_that_draws_no_synapses_runs(tmp_path, backend, plastic):
    """Valid input that the valid-network property found crashing: a projection without synapses."""

    def empty(data):
        data["projections"][2]["connector"]["p"] = 0.0
        if not plastic:
            del data["projections"][2]["plasticity"]

    path = network_with(tmp_path, empty)
    assert_succeeded(invoke("run", path, "--backend", backend, "--out", tmp_path / "out"))


def test_spinnaker_spikes_are_the_same_bytes_under_any_hash_seed(tmp_path):
    net = nd.Network("many", seed=1, duration=20.0)
    net.spike_source("in", [[1.0, 2.0, 3.0]] * 2)
    labels = [f"pop{index}" for index in range(8)]
    for label in labels:
        net.population(label, 2)
        net.project("in", label, nd.AllToAll(), weight=20.0)
        net.record(label)
    net.record("in")
    path = nd.save(net, tmp_path / "many.json")
    outputs = []
    for hash_seed in ("1", "2"):  # these two order a set of the labels differently
        out = tmp_path / f"run-{hash_seed}"
        assert_succeeded(
            invoke_subprocess("run", path, "--backend", "spinnaker", "--out", out, env={"PYTHONHASHSEED": hash_seed})
        )
        outputs.append((out / "spikes.json").read_bytes())
    assert outputs[0] == outputs[1]
