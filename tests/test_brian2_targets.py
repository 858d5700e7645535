"""The Brian2 reference on its code targets: Cython-compiled code and numpy compute the same run, bit for
bit; the integer roundings are numpy's own on both; compiled code is reused; without a compiler the run
falls back to numpy, saying so in one line."""

import brian2 as b2
import numpy as np
import pytest

from conftest import random_plastic_network, run_reference
from neurodeploy.backends.brian2 import compiled
from neurodeploy.backends.brian2.fixed_point import NEAREST, TRUNCATED, WHOLE, wrap_function
from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling
from neurodeploy.errors import BackendError

HALVES = np.array([-2.5, -1.5, -0.5, -0.0, 0.5, 1.5, 2.5, -3.7, 3.7, 2.0**52 - 0.5, 0.5 - 2.0**52, 1e300])


@pytest.mark.parametrize("codegen", ["numpy", "cython"])
def test_the_integer_roundings_are_numpys_floor_trunc_and_rint_on_both_targets(codegen):
    """Halves round to even, the largest halves a float64 holds included; nothing goes through an integer type."""
    compiled.code_target(codegen)
    group = b2.NeuronGroup(
        HALVES.size,
        "x : 1\nfloored : 1\ntruncated_x : 1\nnearest_x : 1",
        namespace={"whole": WHOLE, "truncated": TRUNCATED, "nearest": NEAREST},
        name="roundings",
    )
    group.x = HALVES
    group.run_regularly(
        "floored = whole(x)\ntruncated_x = truncated(x)\nnearest_x = nearest(x)", name="roundings_update"
    )
    b2.Network(group).run(group.clock.dt, namespace={})
    assert np.array_equal(group.floored[:], np.floor(HALVES))
    assert np.array_equal(group.truncated_x[:], np.trunc(HALVES))
    assert np.array_equal(group.nearest_x[:], np.rint(HALVES))


@pytest.mark.parametrize("codegen", ["numpy", "cython"])
@pytest.mark.parametrize("bits", [16, 32])
def test_the_wraps_are_twos_complement_on_both_targets(codegen, bits):
    """Whole numbers in range are kept (-0.0 made 0.0); the rest wrap as Python's modulo of integers does, at
    and around both bounds, far outside them and at the top of float64's exact whole numbers."""
    compiled.code_target(codegen)
    half = 2 ** (bits - 1)
    whole = [0, 1, -1, half - 1, -half, half, -half - 1, 2 * half, 3 * half + 7, -5 * half - 3, 2**52 + 2, -(2**52)]
    group = b2.NeuronGroup(
        len(whole) + 1, "x : 1\nwrapped_x : 1", namespace={"wrap": wrap_function(bits)}, name=f"wraps_{bits}"
    )
    group.x = np.array([*whole, -0.0], dtype=np.float64)
    group.run_regularly("wrapped_x = wrap(x)", name=f"wraps_{bits}_update")
    b2.Network(group).run(group.clock.dt, namespace={})
    expected = [float((value + half) % (2 * half) - half) for value in [*whole, 0]]
    assert group.wrapped_x[:].tolist() == expected
    assert np.array_equal(np.signbit(group.wrapped_x[:]), np.signbit(expected))


def same_runs(network, duration_ms, weight_ulps: int = 0):
    """The run on both targets: the same spikes and traces, and weights within ``weight_ulps`` of each other."""
    runs = {codegen: run_reference(network, duration_ms, codegen=codegen) for codegen in ("numpy", "cython")}
    numpy_run, cython_run = runs["numpy"], runs["cython"]
    assert (numpy_run.details["codegen"], cython_run.details["codegen"]) == ("numpy", "cython")
    for label in numpy_run.spikes.populations:
        ticks = [[t.tolist() for t in run.spikes.ticks(label)] for run in (numpy_run, cython_run)]
        assert ticks[0] == ticks[1], label
    for label, traces in numpy_run.traces.items():
        for variable, values in traces.items():
            assert np.array_equal(values, cython_run.traces[label][variable]), (label, variable)
    for label, weights in numpy_run.weights.items():
        assert all(np.array_equal(weights[key], cython_run.weights[label][key]) for key in ("pre", "post"))
        np.testing.assert_array_max_ulp(weights["weight"], cython_run.weights[label]["weight"], weight_ulps)
    return numpy_run


def test_both_targets_run_every_kind_of_object_alike(small_network):
    """Float64: static, plastic, sliced and listed projections, delays of one to three ticks. Float STDP's
    traces decay by ``exp``, which numpy computes by its own vectorised code and compiled code by the C
    library's: they may differ in the last bit, and so may learned weights."""
    run = same_runs(small_network, 30.0, weight_ulps=8)
    assert sum(len(t) for t in run.spikes.ticks("A")) > 5


def test_both_targets_run_the_chips_integers_alike():
    """sPyNNaker's integers: its accumulating LIF and its STDP, weights in flight on delays of three ticks."""
    network = random_plastic_network(4, "additive", 3, "IF_curr_exp", "all_to_all")
    network.record("P", ["spikes", "v"])
    graph = lower(network)
    run = same_runs(quantization_aware(network, graph, ring_buffer_scaling(graph)), 300.0)
    assert len(np.unique(run.weights["S->P"]["weight"])) > 40


def test_a_second_run_compiles_nothing(small_network):
    """Every object is named by the network, never after what else lives in the process (Brian2 numbers a
    name already taken, and the names are in the code): the same network's code is found in the cache."""
    run_reference(small_network, 30.0, codegen="cython")
    before = sorted(compiled.cache_folder().glob("*.so"))
    taken = [b2.Clock(1 * b2.ms, name="neurodeploy_clock")]
    taken += [b2.NeuronGroup(1, "v : 1", name=name) for name in ("spikemonitor", "statemonitor")]
    run_reference(small_network, 30.0, codegen="cython")
    assert sorted(compiled.cache_folder().glob("*.so")) == before


def test_without_a_compiler_the_run_falls_back_to_numpy_in_one_line(small_network, monkeypatch, tmp_path, capsys):
    """A cache folder that cannot be made stands for any reason compiled code cannot be loaded here."""
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("NEURODEPLOY_BRIAN2_CACHE", str(tmp_path / "file" / "brian2"))
    run = run_reference(small_network, 30.0, codegen="auto")
    assert run.details["codegen"] == "numpy"
    notice = capsys.readouterr().err
    assert notice.count("\n") == 1 and notice.startswith("notice: brian2 runs numpy code (slower): ")
    assert str(tmp_path / "file" / "brian2") in notice
    with pytest.raises(BackendError, match="codegen=cython needs compiled code, but its cache folder"):
        run_reference(small_network, 30.0, codegen="cython")


def test_the_environment_chooses_the_code_target_of_runs_that_do_not(small_network, monkeypatch):
    monkeypatch.setenv("NEURODEPLOY_BRIAN2_CODEGEN", "cython")
    assert run_reference(small_network, 30.0).details["codegen"] == "cython"
    monkeypatch.setenv("NEURODEPLOY_BRIAN2_CODEGEN", "numpy")
    assert run_reference(small_network, 30.0).details["codegen"] == "numpy"
    monkeypatch.setenv("NEURODEPLOY_BRIAN2_CODEGEN", "cpp")
    with pytest.raises(BackendError, match="NEURODEPLOY_BRIAN2_CODEGEN='cpp' is not one of auto, cython, numpy"):
        run_reference(small_network, 30.0)


def test_both_targets_run_heterosynaptic_depression_alike():
    """wave-layers' plastic projections lose a constant at every post spike, in float and on spinn5's integers."""
    from neurodeploy.catalog import load_model

    network = load_model("wave-layers", {"n": 5, "r_e": 1.5, "r_i": 3.0, "duration_ms": 300}).network
    assert network.projections["L1->L2"].plasticity.heterosynaptic > 0
    run = same_runs(network, 300.0, weight_ulps=8)
    assert sum(len(t) for t in run.spikes.ticks("L2")) > 5
    graph = lower(network)
    on_the_chip = quantization_aware(network, graph, ring_buffer_scaling(graph))
    assert on_the_chip.projections["L1->L2"].plasticity.heterosynaptic > 0  # not rounded away
    integer = same_runs(on_the_chip, 300.0)
    assert np.abs(integer.weights["L1->L2"]["weight"] - on_the_chip.projections["L1->L2"].weight).max() > 0
