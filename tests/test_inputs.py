"""One validation boundary: every bad input ends in exit 2 and one line naming the object and field,
before any backend or model builder runs; and the inputs it lets through give the right results."""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from neurodeploy import catalog, pipeline
from neurodeploy.cli import main
from neurodeploy.compilation import Thresholds
from neurodeploy.description.connectors import _bernoulli_positions
from neurodeploy.description.semantics import MAX_TICKS

REPOSITORY = Path(__file__).resolve().parent.parent


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, env=env)


def refused(result, *words):
    """Exit 2, one line, no traceback, and the words naming the object and field."""
    lines = result.output.strip().splitlines()
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], (word, lines[0])


@pytest.fixture
def network_file(tmp_path, small_network):
    return nd.save(small_network, tmp_path / "small.json")


def mutated(network_file, tmp_path, change, name="bad.json"):
    data = json.loads(Path(network_file).read_text())
    change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def set_label(data, label):
    data["spike_sources"][0]["label"] = label
    for projection in data["projections"]:
        if projection["pre"] == "S":
            projection["pre"] = label
    data["recordings"] = {"A": ["spikes"]}


# --- times become whole, countable ticks -------------------------------------------------------------


@pytest.mark.parametrize(
    "change, where, field",
    [
        (lambda d: d["projections"][0].update(delay=1e300), "projection 'S->A'", "delay"),
        (lambda d: d["projections"][0].update(delay=2**63), "projection 'S->A'", "delay"),
        (lambda d: d["projections"][0].update(delay=1e-9), "projection 'S->A'", "delay"),
        (lambda d: d["projections"][0].update(delay=float(MAX_TICKS + 1)), "projection 'S->A'", "delay"),
        (
            lambda d: d["spike_sources"][0].update(spike_times=[[1e300], [2.0], []]),
            "spike source 'S'",
            "spike_times[0]",
        ),
        (
            lambda d: d["populations"][0]["parameters"].update(tau_refrac=1e300),
            "population 'A'",
            "parameters.tau_refrac",
        ),
        (lambda d: d["semantics"].update(dt=1e-300), "population 'A'", "parameters.tau_refrac"),
    ],
    ids=["delay 1e300", "delay 2^63", "delay 1e-9", "delay one past the bound", "spike time", "tau_refrac", "dt tiny"],
)
def test_times_that_are_not_countable_ticks_are_refused(tmp_path, network_file, change, where, field):
    refused(invoke("validate", mutated(network_file, tmp_path, change)), where, f"field '{field}'")


def test_times_at_the_bound_and_sums_of_dt_are_whole_ticks():
    net = nd.Network("bound", nd.Semantics(dt=0.1))
    net.spike_source("S", [[0.3, 0.7]])
    net.population("P", 1)
    net.project("S", "P", nd.OneToOne(), weight=1.0, delay=[MAX_TICKS * 0.1])
    net.project("S", "P", nd.OneToOne(), weight=1.0, delay=0.1 + 0.2, label="short")
    net.validate()
    assert net.connections("S->P").delay_ticks.tolist() == [MAX_TICKS]
    assert net.connections("short").delay_ticks.tolist() == [3]


@pytest.mark.parametrize("backend", ["brian2", "spinnaker", "lava"])
@pytest.mark.parametrize(
    "duration, words",
    [
        ("-5", "'--duration'"),
        ("nan", "'--duration'"),
        ("inf", "'--duration'"),
        ("0", "'--duration'"),
        ("0.5", "option --duration: 0.5 ms is not a multiple of dt"),
        ("1e12", "option --duration: 1e+12 ms"),
    ],
)
def test_durations_are_positive_finite_whole_ticks_on_every_backend(tmp_path, network_file, backend, duration, words):
    refused(invoke("run", network_file, "--backend", backend, f"--duration={duration}", "--out", tmp_path / "o"), words)
    assert not (tmp_path / "o").exists()


def test_a_duration_may_not_cut_a_protocol_short(tmp_path):
    protocol = REPOSITORY / "models" / "protocols" / "ca3-cam-exp1.json"
    refused(
        invoke("run", "ca3-cam", "--protocol", protocol, "--duration", 30, "--out", tmp_path / "o"),
        "option --duration",
        "ends before the protocol",
    )
    model = catalog.load_model("ca3-cam")
    protocol_run = pipeline.apply_protocol(model, protocol)
    end = model.network.duration
    assert pipeline.resolve_duration(model, None, protocol_run) == end
    assert pipeline.resolve_duration(model, end + 10, protocol_run) == end + 10


@pytest.mark.parametrize(
    "stimulus, words",
    [
        ({"S": [[1.0, 40.0], [2.0], []]}, ("stimulus for 'S'", "field 'spike_times[0]'", "40 ms is not within")),
        ({"A": [[1.0], [2.0], []]}, ("stimulus", "field 'A'", "unknown spike source")),
        ({"S": [[1.0], [2.0]]}, ("stimulus for 'S'", "field 'spike_times'", "2 lists but there are 3 neurons")),
        ([1, 2], ("stimulus file", "expected a JSON object")),
    ],
    ids=["after the run", "not a spike source", "wrong neuron count", "not an object"],
)
def test_stimulus_spikes_fit_the_sources_and_the_run(tmp_path, network_file, stimulus, words):
    path = tmp_path / "stimulus.json"
    path.write_text(json.dumps(stimulus))
    refused(invoke("run", network_file, "--stimulus", path, "--out", tmp_path / "o"), *words)


# --- command-line values -------------------------------------------------------------------------------


def write_run_folder(path: Path, trains, duration=10.0, **documents):
    """A run folder as a run writes it, or with ``manifest`` / ``spikes`` documents given as they are."""
    path.mkdir()
    manifest = documents.get("manifest", {"model": {"name": "m"}, "spike_sources": []})
    spikes = documents.get(
        "spikes",
        {
            "dt_ms": 1.0,
            "duration_ms": duration,
            "backend": "b",
            "populations": {"P": {"size": len(trains), "spike_times_ms": trains}},
        },
    )
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / "spikes.json").write_text(json.dumps(spikes))
    return path


@pytest.fixture
def differing_runs(tmp_path):
    """A run that fails the default thresholds against its reference (half its spikes a tick late)."""
    return (
        write_run_folder(tmp_path / "run", [[1.0, 3.0], [5.0, 7.0]]),
        write_run_folder(tmp_path / "reference", [[1.0, 3.0], [6.0, 8.0]]),
    )


@pytest.mark.parametrize(
    "options, option",
    [
        (["--min-same-tick", "nan"], "--min-same-tick"),
        (["--min-within-one", "nan"], "--min-within-one"),
        (["--max-rate-error", "nan"], "--max-rate-error"),
        (["--max-rate-error", "inf"], "--max-rate-error"),
        (["--tau", "inf"], "--tau"),
        (["--tau", "nan"], "--tau"),
        (["--min-same-tick", "2"], "--min-same-tick"),
    ],
)
def test_float_options_must_be_finite_and_in_range(differing_runs, options, option):
    assert invoke("compare", *differing_runs).exit_code == 1
    refused(invoke("compare", *differing_runs, *options), f"'{option}'")


def test_thresholds_are_checked_wherever_they_are_made():
    with pytest.raises(nd.ValidationError, match="min_same_tick"):
        Thresholds(float("nan"), 0.9, 0.1)


# --- model parameters and builders ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "param, field, words",
    [
        ("rate_hz=abc", "rate_hz", "expected a number"),
        ("rate_hz=.nan", "rate_hz", "finite"),
        ("n_neurons=1.5", "n_neurons", "expected an integer"),
        ("n_neurons=[1]", "n_neurons", "expected an integer"),
        ("rate_hz=true", "rate_hz", "boolean"),
    ],
)
def test_parameters_of_the_wrong_type_never_reach_the_builder(param, field, words):
    refused(
        invoke("validate", "feedforward-poisson", "--param", param),
        "model 'feedforward-poisson'",
        f"field '{field}'",
        words,
    )


def test_parameters_take_the_type_the_builder_declares():
    model = catalog.load_model(
        "feedforward-poisson",
        catalog.parse_parameters(["rate_hz=2e2", "n_neurons=4", "n_inputs=3", "duration_ms=20", "dt_ms=1"]),
    )
    assert model.parameters["rate_hz"] == 200.0 and type(model.parameters["rate_hz"]) is float
    assert type(model.parameters["n_neurons"]) is int
    assert [p.size for p in model.network.populations.values()] == [4]


USER_BUILDERS = """
import sys
from neurodeploy import Network

def raises():
    raise RuntimeError("went wrong")

def leaves():
    sys.exit(7)

def builds(n: int = 1, rate: float = 1.0):
    network = Network("user")
    network.population("P", n)
    return network
"""


@pytest.mark.parametrize(
    "source, function, words",
    [
        (USER_BUILDERS, "raises", ("function 'raises'", "RuntimeError: went wrong")),
        (USER_BUILDERS, "leaves", ("function 'leaves'", "sys.exit(7)")),
        ("def f(:\n", "f", ("model file", "cannot be imported: SyntaxError")),
        ("import no_such_module_here\n", "f", ("model file", "ModuleNotFoundError")),
        ("import sys\nsys.exit(3)\n", "f", ("model file", "sys.exit(3)")),
    ],
    ids=["raises", "sys.exit", "syntax error", "import error", "exits on import"],
)
def test_user_builders_that_fail_answer_in_one_line(tmp_path, source, function, words):
    path = tmp_path / "builders.py"
    path.write_text(source)
    refused(invoke("validate", f"{path}:{function}"), str(path), *words)


def test_user_builder_parameters_are_typed(tmp_path):
    path = tmp_path / "builders.py"
    path.write_text(USER_BUILDERS)
    refused(invoke("validate", f"{path}:builds", "--param", "rate=abc"), "field 'rate'")
    model = catalog.load_model(f"{path}:builds", {"n": 3, "rate": "2e2"})
    assert model.parameters == {"n": 3, "rate": 200.0} and model.network.populations["P"].size == 3


RANGED_BUILDER = """
from typing import Annotated, Optional
from neurodeploy import Network
from neurodeploy.description.values import Range

def ranged(n: Annotated[int, Range(at_least=1)] = 1, p: Annotated[float, Range(at_least=0, at_most=1)] = 0.5,
           rate: Optional[Annotated[float, Range(above=0)]] = None):
    network = Network("user")
    network.population("P", n)
    return network
"""


@pytest.mark.parametrize(
    "param, words",
    [
        ("n=0", "must be >= 1, got 0"),
        ("p=1.5", "must be <= 1, got 1.5"),
        ("p=-0.5", "must be >= 0, got -0.5"),
        ("rate=0", "must be > 0, got 0"),
    ],
)
def test_user_builders_declare_ranges_checked_before_they_run(tmp_path, param, words):
    path = tmp_path / "builders.py"
    path.write_text(RANGED_BUILDER)
    field = param.partition("=")[0]
    refused(invoke("validate", f"{path}:ranged", "--param", param), "parameters", f"field '{field}'", words)


def test_values_at_a_declared_bound_are_accepted(tmp_path):
    path = tmp_path / "builders.py"
    path.write_text(RANGED_BUILDER)
    for parameters in ({"n": 1, "p": 0}, {"p": 1.0, "rate": 1e-9}, {"rate": None}):
        assert catalog.load_model(f"{path}:ranged", parameters).parameters == parameters
    network = catalog.load_model(
        "feedforward-poisson", {"p_connect": 1, "n_neurons": 1, "n_inputs": 1, "duration_ms": 10}
    ).network
    assert network.connections("inputs->neurons").pre.size == 1
    assert catalog.load_model("topographic-map", {"n": 4, "duration_ms": 10}).network.populations["P"].size == 16
    assert catalog.load_model("livewired-assoc", {"presentations": 0}).network.duration > 0


def test_an_integer_range_compares_integers_exactly():
    from neurodeploy.description.values import Range

    assert Range(above=0.5).check(1, "here", "k") == 1
    with pytest.raises(nd.ValidationError, match="must be >= 1, got 0"):
        Range(above=0.5).check(0, "here", "k")
    with pytest.raises(nd.ValidationError, match="must be at most 2"):
        Range(at_most=2).check(10**400, "here", "k")


@pytest.mark.parametrize(
    "model, param, field, words",
    [
        ("feedforward-poisson", "max_delay_ms=0.3", "max_delay_ms", "no tick"),
        ("topographic-map", "f_mean=200", "f_mean", "within 0..1000 Hz"),
        ("topographic-map", "f_mean=1", "f_mean", "within 0..1000 Hz"),
    ],
)
def test_model_families_refuse_parameters_that_only_fail_together(model, param, field, words):
    refused(
        invoke("validate", model, "--param", param, "--param", "duration_ms=10"),
        f"model '{model}'",
        f"field '{field}'",
        words,
    )


def test_a_broken_model_file_is_skipped_with_a_warning(tmp_path):
    (tmp_path / "broken.py").write_text("NAME = 'broken'\ndef build(:\n")
    (tmp_path / "fine.py").write_text(
        '"""A fine model."""\nNAME = "fine-user-model"\n' + USER_BUILDERS + "\nbuild = builds\n"
    )
    env = {"NEURODEPLOY_MODEL_PATH": str(tmp_path)}
    listed = invoke("models", env=env)
    assert listed.exit_code == 0
    assert "fine-user-model" in listed.stdout and "feedforward-poisson" in listed.stdout
    assert "broken.py" in listed.stderr and "SyntaxError" in listed.stderr
    assert invoke("validate", "fine-user-model", "--param", "n=2", env=env).exit_code == 0


# --- damaged files -------------------------------------------------------------------------------------


def test_damaged_files_answer_in_one_line(tmp_path, network_file):
    text = Path(network_file).read_text()
    cases = {
        "latin1.json": (b"\xff\xfe{}", "not UTF-8"),
        "deep.json": (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        "deep.yaml": (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        "digits.json": (text.replace('"seed": 3', '"seed": ' + "9" * 4301).encode(), "digits"),
    }
    for name, (content, words) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        refused(invoke("validate", path), f"file '{path}'", words)
    for option in ("--stimulus", "--protocol"):
        refused(invoke("run", "ca3-cam", option, tmp_path / "latin1.json", "--out", tmp_path / "o"), "not UTF-8")


@pytest.mark.parametrize(
    "change, words",
    [
        (
            lambda d: d["projections"][3]["connector"].update(pre=[[0, 1], [1]]),
            ("projection '", "field 'connector.pre'", "nested lists"),
        ),
        (lambda d: set_label(d, "S\ud800"), ("field 'label'", "printable", "U+D800")),
        (lambda d: set_label(d, "S\nT"), ("field 'label'", "printable", "U+000A")),
        (lambda d: set_label(d, "S\x1b[31m"), ("field 'label'", "printable", "U+001B")),
    ],
    ids=["ragged from_list", "lone surrogate", "newline", "escape"],
)
def test_malformed_structures_answer_in_one_line(tmp_path, network_file, change, words):
    data = json.loads(Path(network_file).read_text())
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))  # escapes the surrogate as JSON does
    refused(invoke("validate", path), *words)


# --- run folders given to compare ----------------------------------------------------------------------

GOOD_SPIKES = {
    "dt_ms": 1.0,
    "duration_ms": 10.0,
    "backend": "b",
    "populations": {"P": {"size": 1, "spike_times_ms": [[1.0]]}},
}


@pytest.mark.parametrize(
    "manifest, spikes, words",
    [
        ([], GOOD_SPIKES, ("manifest.json", "expected a JSON object")),
        (None, GOOD_SPIKES, ("manifest.json", "expected a JSON object")),
        ({"model": []}, GOOD_SPIKES, ("manifest.json", "field 'model'")),
        ({"model": {"name": "m"}}, [], ("spikes.json", "expected a mapping")),
        ({"model": {"name": "m"}}, None, ("spikes.json", "expected a mapping")),
        (
            {"model": {"name": "m"}},
            {**GOOD_SPIKES, "populations": {"P": {"size": 1, "spike_times_ms": [[12.0]]}}},
            ("population 'P'", "field 'spike_times_ms[0]'", "not within the run"),
        ),
        (
            {"model": {"name": "m"}},
            {**GOOD_SPIKES, "populations": {"P": {"size": 1, "spike_times_ms": [[-1.0]]}}},
            ("population 'P'", "field 'spike_times_ms[0]'"),
        ),
        (
            {"model": {"name": "m"}},
            {**GOOD_SPIKES, "populations": {"P": {"size": 0, "spike_times_ms": []}}},
            ("population 'P'", "field 'size'"),
        ),
        ({"model": {"name": "m"}}, {**GOOD_SPIKES, "duration_ms": 0}, ("spikes.json", "field 'duration_ms'")),
        ({"model": {"name": "m"}}, {**GOOD_SPIKES, "dt_ms": "nan"}, ("spikes.json", "field 'dt_ms'")),
    ],
    ids=[
        "manifest list",
        "manifest null",
        "model not an object",
        "spikes list",
        "spikes null",
        "spike after the run",
        "negative spike",
        "empty population",
        "zero duration",
        "dt nan",
    ],
)
def test_compare_checks_run_folders_as_inputs(tmp_path, manifest, spikes, words):
    reference = write_run_folder(tmp_path / "reference", [[1.0]])
    broken = write_run_folder(tmp_path / "broken", [], manifest=manifest, spikes=spikes)
    refused(invoke("compare", broken, reference), *words)
    refused(invoke("compare", reference, broken), *words)


# --- target files --------------------------------------------------------------------------------------


def target_file(folder: Path, name: str, change) -> Path:
    lines = [
        line
        for line in (REPOSITORY / "targets" / "spinn5.yaml").read_text().splitlines()
        if not line.startswith("name:")
    ]
    text = change("\n".join([f"name: {name}", *lines]) + "\n")
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "change, field, words",
    [
        (lambda t: t.replace("neurons_per_core: 256", ""), "neurons_per_core", "is required"),
        (lambda t: t.replace("neurons_per_core: 256", "neurons_per_core: -1"), "neurons_per_core", "must be >= 1"),
        (lambda t: t.replace("neurons_per_core: 256", "neurons_per_core: many"), "neurons_per_core", "integer"),
        (lambda t: t.replace("timestep_ms: 1.0", "timestep_ms: .nan"), "timestep_ms", "finite"),
        (lambda t: t.replace("timestep_ms: 1.0", "timestep_ms: 0"), "timestep_ms", "must be > 0"),
        (lambda t: t.replace("chips: 48", "chips: 48\nchipz: 3"), "chipz", "unknown field"),
        (lambda t: t.replace("kind: spinnaker", "kind: [1]"), "kind", "non-empty string"),
    ],
    ids=["missing", "negative", "text", "nan", "zero timestep", "unknown key", "kind not a name"],
)
def test_target_files_are_checked_against_their_kind(tmp_path, network_file, change, field, words):
    path = target_file(tmp_path, "broken", change)
    env = {"NEURODEPLOY_TARGET_PATH": str(tmp_path)}
    refused(
        invoke("compile", network_file, "--target", "broken", "--no-map", "--out", tmp_path / "o", env=env),
        f"target file '{path}'",
        f"field '{field}'",
        words,
    )
    listed = invoke("targets", env=env)
    assert listed.exit_code == 0 and "spinn5" in listed.stdout and "broken" not in listed.stdout
    assert f"target file '{path}'" in listed.stderr


def test_a_broken_target_file_does_not_break_the_others(tmp_path, network_file):
    (tmp_path / "unreadable.yaml").write_bytes(b"\xff")
    target_file(tmp_path, "copy", lambda t: t)
    env = {"NEURODEPLOY_TARGET_PATH": str(tmp_path)}
    assert catalog.checked_target(catalog.target_description("spinn5").data, "spinn5") is not None
    result = invoke("compile", network_file, "--target", "copy", "--no-map", "--out", tmp_path / "o", env=env)
    assert result.exit_code in (0, 1) and "unreadable.yaml" not in result.output
    assert (tmp_path / "o" / "compile.json").is_file()


# --- connectors ----------------------------------------------------------------------------------------


def test_a_tiny_connection_probability_ends_at_once(tmp_path, network_file):
    started = time.perf_counter()
    for p in (1e-320, 1e-300, 5e-324):
        assert _bernoulli_positions(10**12, p, np.random.default_rng(0)).size == 0
    positions = _bernoulli_positions(10**12, 1e-11, np.random.default_rng(0))
    assert positions.size < 60 and np.all(np.diff(positions) > 0) and np.all((positions >= 0) & (positions < 10**12))
    path = mutated(network_file, tmp_path, lambda d: d["projections"][2]["connector"].update(p=1e-320))
    result = invoke("validate", path)
    assert result.exit_code == 0 and time.perf_counter() - started < 10


def test_generated_connections_keep_their_probability():
    rng = np.random.default_rng(5)
    positions = _bernoulli_positions(200_000, 0.01, rng)
    assert abs(positions.size - 2000) < 6 * np.sqrt(2000)
    assert np.all(np.diff(positions) > 0) and positions[-1] < 200_000
    assert _bernoulli_positions(7, 1.0, rng).tolist() == list(range(7))


# --- determinism ---------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["spinnaker", "brian2", "lava"])
def test_same_seed_same_bytes_whatever_the_hash_seed(tmp_path, backend):
    net = nd.Network("many", seed=4, duration=20.0)
    net.spike_source("S", [[1.0, 2.0, 3.0]] * 4)
    for index in range(6):
        net.population(f"pop{index}", 4, parameters={"i_offset": 2.0})
        net.project("S", f"pop{index}", nd.AllToAll(), weight=2.0, delay=1.0)
        net.record(f"pop{index}")
    model = nd.save(net, tmp_path / "many.json")
    written = []
    for hash_seed in ("1", "2", "3"):
        out = tmp_path / f"out{hash_seed}"
        subprocess.run(
            [sys.executable, "-m", "neurodeploy", "run", str(model), "--backend", backend, "--out", str(out)],
            cwd=REPOSITORY,
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPOSITORY)},
        )
        written.append((out / "spikes.json").read_bytes())
    assert written[0] == written[1] == written[2]
    assert list(json.loads(written[0])["populations"]) == [f"pop{index}" for index in range(6)]


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda d: d["spike_sources"][0]["spike_times"][0].append(10**400), "spike_times[0]"),
        (lambda d: d["projections"][1].update(weight=[0.1, 10**400, 0.3, 0.4, 0.5, 0.6]), "weight"),
    ],
)
def test_integers_past_the_float_range_in_lists_answer_in_one_line(tmp_path, network_file, change, field):
    data = json.loads(Path(network_file).read_text())
    change(data)
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(data))
    refused(invoke("validate", path), f"field '{field}'", "is too large for a number")


def test_a_target_variant_takes_its_base_figures_and_names_a_missing_base(tmp_path):
    (tmp_path / "variant.yaml").write_text("name: variant\nbase: loihi2\nsummary: loihi2, other integers\n")
    (tmp_path / "orphan.yaml").write_text("name: orphan\nbase: loihi9\n")
    (tmp_path / "chained.yaml").write_text("name: chained\nbase: variant\n")
    env = {"NEURODEPLOY_TARGET_PATH": str(tmp_path)}
    listed = invoke("targets", env=env)
    assert "variant" in listed.stdout and "loihi2, other integers" in listed.stdout
    assert "no target named 'loihi9'" in listed.stderr and "'variant' has a base of its own" in listed.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NEURODEPLOY_TARGET_PATH", str(tmp_path))
        variant, base = catalog.target_description("variant").data, catalog.target_description("loihi2").data
    assert {key: value for key, value in variant.items() if key not in ("name", "summary")} == {
        key: value for key, value in base.items() if key not in ("name", "summary")
    }


def test_a_target_variant_names_itself_and_takes_the_base_its_name_resolves_to(tmp_path, monkeypatch):
    (tmp_path / "nameless.yaml").write_text("base: spinn5\nring_buffer_bits: 15\n")
    (tmp_path / "loihi2.yaml").write_text(
        (catalog.target_description("loihi2").path).read_text().replace("neuro_cores: 128", "neuro_cores: 2")
    )
    monkeypatch.setenv("NEURODEPLOY_TARGET_PATH", str(tmp_path))
    assert catalog.target_description("spinn5").data["ring_buffer_bits"] != 15
    listed = invoke("targets", env={"NEURODEPLOY_TARGET_PATH": str(tmp_path)})
    assert "nameless.yaml" in listed.stderr and "field 'name'" in listed.stderr
    mine = catalog.target_description("loihi2")
    assert mine.path.parent == tmp_path and mine.data["neuro_cores"] == 2
    assert catalog.target_description("loihi2-nir-paper").data["neuro_cores"] == 2  # the loihi2 that --target finds


def test_a_model_whose_build_runs_out_of_memory_is_refused_naming_its_parameters():
    def allocates(n: int = 1):
        return [0] * n  # eight bytes a neuron, before any size check

    with pytest.raises(nd.ValidationError) as refusal:
        catalog._call_builder(allocates, {"n": 10**13}, "model 'allocates'", "tests", trusted=True)
    assert "model 'allocates' with n=10000000000000" in str(refusal.value) and "out of memory" in str(refusal.value)
