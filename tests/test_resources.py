"""Memory estimates before allocation: every unbounded input of issue 13 is refused in one line naming
its cause and estimate, fast; estimates over-estimate the measured peak, within a small factor; normal
models still run. Commands run in a subprocess capped at a few GB of address space, so a regression
fails the test instead of exhausting the machine."""

import json
import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import neurodeploy.description as nd
from neurodeploy.description import resources
from neurodeploy.errors import ValidationError

ROOT = Path(__file__).resolve().parents[1]
ADDRESS_SPACE_CAP = 3 * 2**30
TIMEOUT_S = 60


def _cap_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


def capped(arguments, memory_limit="2GB", cwd=ROOT):
    """Run ``python ARGUMENTS`` under the address-space cap; ``(exit code, stdout, stderr, seconds)``."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop(resources.ENVIRONMENT_VARIABLE, None)
    if memory_limit is not None:
        environment[resources.ENVIRONMENT_VARIABLE] = memory_limit
    started = time.perf_counter()
    finished = subprocess.run(
        [sys.executable, *arguments],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        preexec_fn=_cap_address_space,
    )
    return finished.returncode, finished.stdout, finished.stderr, time.perf_counter() - started


def network_file(
    directory: Path, name: str, populations, projections, semantics=None, spike_sources=(), recordings=None
) -> Path:
    data = {
        "format": "neurodeploy.network",
        "name": name,
        "seed": 0,
        "duration": 100.0,
        "populations": list(populations),
        "spike_sources": list(spike_sources),
        "projections": list(projections),
        "recordings": recordings or {populations[0]["label"]: ["spikes"]},
    }
    if semantics:
        data["semantics"] = semantics
    path = directory / f"{name}.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """The model files of the issue's examples."""
    directory = tmp_path_factory.mktemp("models")
    big = [{"label": "E", "size": 30000}]

    def between_big(connector):
        return [{"label": "E->E", "pre": "E", "post": "E", "connector": connector, "weight": 0.1, "delay": 1.0}]

    one_input = [{"label": "S", "size": 1, "spike_times": [[1.0]]}]
    small = [{"label": "E", "size": 10}]
    delayed = [
        {"label": "S->E", "pre": "S", "post": "E", "connector": {"kind": "all_to_all"}, "weight": 2.0, "delay": 1e9}
    ]
    return {
        "all_to_all": network_file(directory, "all_to_all", big, between_big({"kind": "all_to_all"})),
        "fixed_probability": network_file(
            directory, "fixed_probability", big, between_big({"kind": "fixed_probability", "p": 0.9})
        ),
        "tiny_p": network_file(directory, "tiny_p", big, between_big({"kind": "fixed_probability", "p": 1e-320})),
        "delay": network_file(directory, "delay", small, delayed, spike_sources=one_input),
        "dt": network_file(
            directory,
            "dt",
            small,
            [{**delayed[0], "delay": 1.0}],
            semantics={"dt": 1e-9},
            spike_sources=[{"label": "S", "size": 1, "spike_times": [[1e-9]]}],
        ),
    }


REFUSED = [
    (["validate", "all_to_all"], "projection 'E->E', field 'connector': 9.0e8 synapses need about"),
    (["validate", "fixed_probability"], "projection 'E->E', field 'connector': 8.1e8 synapses need about"),
    (["run", "delay", "--backend", "brian2"], "projection 'S->E': delays of 1.0e9 ticks need about"),
    (["run", "delay", "--backend", "spinnaker"], "population 'E': ring buffers of 1.1e9 ticks need about"),
    # Within the bound on ticks (2^31 - 1), which refuses --duration 100 at this dt before any estimate.
    (["run", "dt", "--duration", "1", "--backend", "brian2"], "projection 'S->E': delays of 1.0e9 ticks need about"),
    (
        ["run", "dt", "--duration", "1", "--backend", "lava"],
        "recording 'E': spikes of 10 neurons over 1.0e9 ticks need about",
    ),
    (
        ["validate", "feedforward-poisson", "--param", "n_neurons=10000000"],
        "connector fixed_probability: 2.0e8 synapses need about",
    ),
    (["validate", "ca3-cam", "--param", "cue_size=100000"], "1.0e10 synapses need about"),
    # The longest duration the bound on ticks lets through (--duration 1e12 is refused by that bound).
    (
        ["run", "feedforward-poisson", "--duration", "2e8", "--backend", "brian2"],
        "recording 'neurons': about 4.0e9 recorded spikes need about",
    ),
    (
        ["run", "feedforward-poisson", "--duration", "2e8", "--backend", "spinnaker"],
        "recording 'neurons': about 4.0e9 recorded spikes need about",
    ),
    (
        ["run", "feedforward-poisson", "--duration", "2e8", "--backend", "lava"],
        "recording 'neurons': spikes of 200 neurons over 2.0e8 ticks need about",
    ),
    (["deploy", "feedforward-poisson", "--duration", "2e8", "--target", "loihi2"], "2.0e8 ticks need about"),
]


@pytest.mark.parametrize("command, cause", REFUSED, ids=[" ".join(c[:3]) for c, _ in REFUSED])
def test_unbounded_inputs_are_refused_by_estimate_in_one_line(models, tmp_path, command, cause):
    command = [str(models.get(word, word)) if index == 1 else word for index, word in enumerate(command)]
    if command[0] in ("run", "compile", "deploy"):
        command += ["--out", str(tmp_path / "out")]
    code, _, stderr, seconds = capped(["-m", "neurodeploy", *command])
    lines = stderr.strip().splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and cause in lines[0], stderr
    assert "above the memory limit of 2.0 GB (raise it with --memory-limit)" in lines[0]
    assert seconds < 30
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("target, step", [("spinn5", "spinnaker compile step"), ("loihi2", "loihi compile step")])
def test_a_compile_step_refuses_what_its_lowering_would_not_fit(tmp_path, target, step):
    # The description's own connections fit the limit, the compile step's copies of them do not.
    model = network_file(
        tmp_path,
        "medium",
        [{"label": "E", "size": 1000}],
        [
            {
                "label": "E->E",
                "pre": "E",
                "post": "E",
                "connector": {"kind": "fixed_probability", "p": 1.0},
                "weight": 0.001,
                "delay": 1.0,
            }
        ],
    )
    code, _, stderr, _ = capped(
        ["-m", "neurodeploy", "compile", str(model), "--target", target, "--no-map", "--out", str(tmp_path / "out")],
        memory_limit="150MB",
    )
    assert code == 2
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: projection 'E->E': 1.0e6 synapses need about "), stderr
    assert f"on the {step}" in lines[0]
    assert lines[0].endswith("above the memory limit of 150 MB (raise it with --memory-limit)")
    assert not (tmp_path / "out").exists()


def test_memory_limit_option_raises_the_limit_until_the_process_cap_stops_it(models, tmp_path):
    # Above the estimate the connections are generated, and the address-space cap of this test turns the
    # allocation into one line (never an abort or a killed process).
    code, _, stderr, _ = capped(["-m", "neurodeploy", "validate", str(models["all_to_all"]), "--memory-limit", "1TB"])
    assert code == 2
    assert stderr.strip().splitlines() == [
        f"error: out of memory: an allocation exceeds the memory limit of "
        f"{resources.format_size(ADDRESS_SPACE_CAP)} (raise it with --memory-limit)"
    ]


def test_an_allocation_the_estimates_miss_is_one_line(tmp_path):
    # A user's builder allocates what no description object can see: the process cap stops it.
    builder = tmp_path / "hungry.py"
    builder.write_text("import numpy as np\n\ndef build():\n    return np.ones(10**10)\n")
    code, _, stderr, seconds = capped(["-m", "neurodeploy", "validate", f"{builder}:build"])
    assert code == 2
    assert stderr.strip().splitlines() == [
        f"error: function 'build' in '{builder}': failed: MemoryError: "
        "Unable to allocate 74.5 GiB for an array with shape (10000000000,) and "
        "data type float64"
    ]
    assert seconds < 30


def test_a_tiny_connection_probability_draws_nothing_and_returns(models):
    code, stdout, stderr, seconds = capped(["-m", "neurodeploy", "validate", str(models["tiny_p"])])
    assert code == 0, stderr
    assert seconds < 30


@pytest.mark.slow
def test_normal_models_still_run_under_a_modest_limit(tmp_path):
    code, _, stderr, _ = capped(
        ["-m", "neurodeploy", "run", "feedforward-poisson", "--backend", "spinnaker", "--out", str(tmp_path / "ff")],
        memory_limit="1GB",
    )
    assert code == 0, stderr
    code, stdout, stderr, _ = capped(
        [
            "-m",
            "neurodeploy",
            "run",
            "ca3-cam",
            "--protocol",
            str(ROOT / "models/protocols/ca3-cam-exp1.json"),
            "--backend",
            "brian2",
            "--out",
            str(tmp_path / "cam"),
        ],
        memory_limit=None,
    )
    assert code == 0, stderr
    assert (tmp_path / "cam" / "answers.json").is_file()


# The peak is this process's own high-water mark (VmHWM, reset by exec), not ru_maxrss, which Linux
# carries over exec from the forked parent: the test process's size, which grows with the suite.
MEASURE = textwrap.dedent("""
    import json, re, sys
    import neurodeploy.description as nd
    from neurodeploy.backends import make_backend
    network = nd.Network("medium", seed=0)
    network.spike_source("S", [[1.0, 5.0, 9.0]] * 1000)
    network.population("E", 1200)
    network.project("S", "E", nd.AllToAll(), 0.05, 2.0)
    network.project("E", "E", nd.FixedProbability(0.05), 0.01, 1.0, label="E->E")
    network.record("E", ["spikes", "v"])
    backend = make_backend(sys.argv[1])
    estimate = backend.estimate_memory(network, 300.0).total
    network.validate()
    backend.run(network, 300.0)
    peak = int(re.search(r"VmHWM:\\s*(\\d+) kB", open("/proc/self/status").read()).group(1)) * 1024
    print(json.dumps({"estimate": estimate, "peak": peak}))
""")


@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
def test_estimate_is_a_modest_over_estimate_of_the_measured_peak(backend):
    code, stdout, stderr, _ = capped(["-c", MEASURE, backend], memory_limit=None)
    assert code == 0, stderr
    measured = json.loads(stdout)
    assert measured["peak"] <= measured["estimate"] <= 3 * measured["peak"], measured


# --- the description layer, in process -------------------------------------------------------------


@pytest.fixture
def limit():
    def set_limit(size):
        resources.set_memory_limit(size)

    yield set_limit
    resources.set_memory_limit(None)


@pytest.mark.parametrize(
    "connector, n_pre, n_post",
    [
        (nd.AllToAll(), 30, 40),
        (nd.AllToAll(allow_self_connections=False), 30, 40),
        (nd.AllToAll(allow_self_connections=False), 40, 40),
        (nd.OneToOne(), 25, 25),
        (nd.FromList([0, 1, 2, 2], [3, 3, 1, 0]), 3, 4),
    ],
)
def test_exact_connectors_count_their_synapses_without_generating_them(connector, n_pre, n_post):
    assert connector.expected_count(n_pre, n_post) == len(connector.connect(n_pre, n_post, None)[0])


def test_fixed_probability_counts_a_little_above_what_it_draws():
    connector = nd.FixedProbability(0.1, seed=3)
    drawn = [len(nd.FixedProbability(0.1, seed=seed).connect(300, 400, None)[0]) for seed in range(20)]
    expected = connector.expected_count(300, 400)
    assert max(drawn) <= expected <= 1.1 * 300 * 400 * 0.1


def test_description_objects_refuse_their_own_size_before_allocating(limit):
    limit(10**9)
    started = time.perf_counter()
    network = nd.Network()
    network.population("A", 100000)
    with pytest.raises(ValidationError, match=r"population 'B', field 'size': 1.0e9 neurons need about"):
        network.population("B", 10**9)
    with pytest.raises(ValidationError, match=r"projection 'A->A', field 'connector': 1.0e10 synapses need about"):
        network.project("A", "A", nd.AllToAll())
    with pytest.raises(ValidationError, match=r"connector fixed_probability: 5.0e9 synapses need about 3\d\d GB"):
        nd.FixedProbability(0.5).connect(100000, 100000, np.random.default_rng(0))
    assert time.perf_counter() - started < 5  # what allocating would take is far longer


def test_the_limit_comes_from_the_environment_and_sizes_read_as_people_write_them(monkeypatch):
    assert [resources.parse_size(text) for text in ("8GB", "512 MB", "2GiB", "1.5e9", "100")] == [
        8 * 10**9,
        512 * 10**6,
        2 * 2**30,
        1_500_000_000,
        100,
    ]
    for bad in ("abc", "-1GB", "8 parsecs", "0"):
        with pytest.raises(ValueError):
            resources.parse_size(bad)
    monkeypatch.setenv(resources.ENVIRONMENT_VARIABLE, "3GB")
    assert resources.memory_limit() == 3 * 10**9
    monkeypatch.setenv(resources.ENVIRONMENT_VARIABLE, "lots")
    with pytest.raises(ValidationError, match="environment variable NEURODEPLOY_MEMORY_LIMIT"):
        resources.memory_limit()


def test_a_refusal_names_the_largest_item_and_the_whole(limit):
    limit(10**9)
    estimate = resources.MemoryEstimate("test backend")
    estimate.add("projection 'P'", "5 synapses", 0.9e9)
    estimate.add("recording 'R'", "v", 0.3e9)
    with pytest.raises(ValidationError) as refusal:
        estimate.check()
    assert str(refusal.value) == (
        "projection 'P': 5 synapses need about 900 MB on the test backend (about 1.2 GB "
        "in all), above the memory limit of 1.0 GB (raise it with --memory-limit)"
    )
    limit(2 * 10**9)
    assert estimate.check() is estimate
