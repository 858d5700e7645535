"""NIR import: small graphs written with the ``nir`` package, run on the Brian2 reference against traces
derived by hand (formulas below), lowerings of convolutions and pooling against a direct computation,
refused nodes, and the NIR paper's public graphs (``../shared/external/``)."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from conftest import ROOT
from neurodeploy.backends import make_backend
from neurodeploy.cli import main
from neurodeploy.errors import ValidationError
from neurodeploy.interchange.nir_import import METADATA_KEY, latencies, read_graph
from neurodeploy.runs.deployment import comparison

nir = pytest.importorskip("nir")

EXTERNAL = ROOT.parent / "shared" / "external"
LIF_GRAPH = EXTERNAL / "nir-paper-lif-loihi2"
BRAILLE = EXTERNAL / "nir-paper-braille-srnn"


def external(folder):
    if not folder.is_dir():
        pytest.skip(f"needs ../shared/external/{folder.name}/ beside the checkout: no {folder}")
    return folder


def graph_file(tmp_path, nodes, edges, metadata=None, name="graph.nir"):
    path = tmp_path / name
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata or {}, type_check=False))
    return path


def one(value):
    return np.array([value], dtype=np.float64)


def lif(tau_s, r, v_leak, v_threshold, v_reset=0.0, size=1):
    return nir.LIF(
        tau=np.full(size, tau_s),
        r=np.full(size, r),
        v_leak=np.full(size, v_leak),
        v_threshold=np.full(size, v_threshold),
        v_reset=np.full(size, v_reset),
    )


def cuba(tau_syn_s, tau_mem_s, r, w_in, v_threshold, v_leak=0.0, v_reset=0.0, size=1):
    return nir.CubaLIF(
        tau_syn=np.full(size, tau_syn_s),
        tau_mem=np.full(size, tau_mem_s),
        r=np.full(size, r),
        v_leak=np.full(size, v_leak),
        v_threshold=np.full(size, v_threshold),
        v_reset=np.full(size, v_reset),
        w_in=np.full(size, w_in),
    )


def single_neuron_graph(tmp_path, neuron, weight=1.0, bias=0.0, delay_s=None):
    nodes = {
        "input": nir.Input(input_type=np.array([1])),
        "w": nir.Affine(weight=np.array([[weight]]), bias=one(bias)),
        "neuron": neuron,
        "output": nir.Output(output_type=np.array([1])),
    }
    edges = [("input", "w"), ("w", "neuron"), ("neuron", "output")]
    if delay_s is not None:
        nodes["delay"] = nir.Delay(delay=one(delay_s))
        edges = [("input", "delay"), ("delay", "w"), ("w", "neuron"), ("neuron", "output")]
    return graph_file(tmp_path, nodes, edges)


def run(network, duration_ms, stimulus=None):
    if stimulus is not None:
        network = network.with_spike_times(stimulus)
    return make_backend("brian2").run(network, duration_ms)


def decay(dt, tau, discretization):
    return math.exp(-dt / tau) if discretization == "exact" else 1 - dt / tau


DT = 0.5  # ms
TICKS = 12


@pytest.mark.parametrize("discretization", ["exact", "euler"])
@pytest.mark.parametrize("weight", [0.8, -0.8])
def test_lif_input_spike_moves_v_by_r_w_times_one_minus_the_decay_one_tick_later(tmp_path, discretization, weight):
    """A spike in tick 2 is the input w held over tick 3 (one tick per edge): V jumps there by
    r w (1 - E) from v_leak, then relaxes as E^k; a negative weight is inhibitory."""
    tau, r, v_leak = 2.0, 2.0, 0.1
    path = single_neuron_graph(tmp_path, lif(tau * 1e-3, r, v_leak, 10.0), weight=weight)
    network = read_graph(path, DT, discretization)
    assert {p.receptor for p in network.projections.values()} == {"excitatory" if weight > 0 else "inhibitory"}
    result = run(network, TICKS * DT, {"input": [[2 * DT]]})
    v = result.traces["neuron"]["v"][:, 0]
    E = decay(DT, tau, discretization)
    expected = [v_leak if k < 3 else v_leak + r * weight * (1 - E) * E ** (k - 3) for k in range(TICKS)]
    np.testing.assert_allclose(v, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_lif_spikes_and_resets_to_v_reset(tmp_path, discretization):
    """Threshold '>' crossed in tick 1 (the input's spike in tick 0): spike, V = v_reset, then V relaxes
    towards v_leak as v_leak - (v_leak - v_reset) E^k."""
    tau, r, v_leak, v_thresh, v_reset, w = 2.0, 1.0, 0.0, 0.3, -0.2, 2.0
    path = single_neuron_graph(tmp_path, lif(tau * 1e-3, r, v_leak, v_thresh, v_reset), weight=w)
    result = run(read_graph(path, DT, discretization), TICKS * DT, {"input": [[0.0]]})
    E = decay(DT, tau, discretization)
    assert r * w * (1 - E) > v_thresh
    assert result.spikes.populations["neuron"][0].tolist() == [1 * DT]
    expected = [0.0] + [v_leak - (v_leak - v_reset) * E ** (k - 1) for k in range(1, TICKS)]
    np.testing.assert_allclose(result.traces["neuron"]["v"][:, 0], expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_lif_reset_by_subtraction_keeps_the_overshoot(tmp_path, discretization):
    """Needs the backends' reset 'subtract': V = r w (1 - E) - v_threshold after the spike in tick 1."""
    tau, r, v_thresh, w = 2.0, 1.0, 0.3, 2.0
    path = single_neuron_graph(tmp_path, lif(tau * 1e-3, r, 0.0, v_thresh), weight=w)
    result = run(read_graph(path, DT, discretization, reset="subtract"), TICKS * DT, {"input": [[0.0]]})
    E = decay(DT, tau, discretization)
    after = r * w * (1 - E) - v_thresh
    assert result.spikes.populations["neuron"][0].tolist() == [1 * DT]
    expected = [0.0] + [after * E ** (k - 1) for k in range(1, TICKS)]
    np.testing.assert_allclose(result.traces["neuron"]["v"][:, 0], expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_cuba_lif_synapse_and_membrane(tmp_path, discretization):
    """CubaLIF: the spike of tick 0 sets the synaptic state I = w_in w (1 - E_s) in tick 1, which decays
    as E_s per tick; the membrane steps V = E_m V + (1 - E_m) r I (v_leak 0)."""
    tau_syn, tau_mem, r, w_in, w = 1.0, 4.0, 3.0, 1.5, 0.7
    path = single_neuron_graph(tmp_path, cuba(tau_syn * 1e-3, tau_mem * 1e-3, r, w_in, 100.0), weight=w)
    result = run(read_graph(path, DT, discretization), TICKS * DT, {"input": [[0.0]]})
    Es, Em = decay(DT, tau_syn, discretization), decay(DT, tau_mem, discretization)
    current, v, expected = 0.0, 0.0, []
    for k in range(TICKS):
        current = current + (w_in * w * (1 - Es) if k == 1 else 0.0)
        v = Em * v + (1 - Em) * r * current
        expected.append(v)
        current *= Es
    np.testing.assert_allclose(result.traces["neuron"]["v"][:, 0], expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_affine_bias_is_a_constant_input_from_the_second_tick(tmp_path, discretization):
    """A bias b, like any input over an edge, starts one tick into the run. LIF: V = v_leak + r b (1 - E^k)
    in tick k. CubaLIF: the synapse's drive in tick k is w_in b (1 - E_s^k), stepping V as above."""
    tau, r, b, v_leak = 2.0, 2.0, 0.3, 0.1
    result = run(
        read_graph(single_neuron_graph(tmp_path, lif(tau * 1e-3, r, v_leak, 10.0), bias=b), DT, discretization),
        TICKS * DT,
    )
    E = decay(DT, tau, discretization)
    expected = [v_leak + r * b * (1 - E**k) for k in range(TICKS)]
    np.testing.assert_allclose(result.traces["neuron"]["v"][:, 0], expected, rtol=1e-9, atol=1e-12)

    tau_syn, tau_mem, w_in = 1.0, 4.0, 1.5
    path = single_neuron_graph(tmp_path, cuba(tau_syn * 1e-3, tau_mem * 1e-3, r, w_in, 100.0), bias=-b)
    result = run(read_graph(path, DT, discretization), TICKS * DT)
    Es, Em = decay(DT, tau_syn, discretization), decay(DT, tau_mem, discretization)
    v, expected = 0.0, []
    for k in range(TICKS):
        v = Em * v + (1 - Em) * r * w_in * -b * (1 - Es**k)
        expected.append(v)
    np.testing.assert_allclose(result.traces["neuron"]["v"][:, 0], expected, rtol=1e-9, atol=1e-12)


def test_a_delay_node_adds_its_ticks_to_the_edge(tmp_path):
    path = single_neuron_graph(tmp_path, lif(2e-3, 1.0, 0.0, 10.0), weight=0.5, delay_s=3 * DT * 1e-3)
    network = read_graph(path, DT, "euler")
    assert set(network.connections(next(iter(network.projections))).delay_ticks.tolist()) == {4}
    assert latencies(network) == {"neuron": 4}
    v = run(network, TICKS * DT, {"input": [[DT]]}).traces["neuron"]["v"][:, 0]
    assert np.flatnonzero(v)[0] == 1 + 4


def signed_matrix(network, post, pre):
    """The imported weights from ``pre`` to ``post`` as one signed dense matrix (post x pre), in NIR's
    units (LIF: the charge w dt, divided back by dt)."""
    matrix = np.zeros((network.size_of(post), network.size_of(pre)))
    for projection in network.projections.values():
        if (projection.pre, projection.post) == (pre, post):
            connections = network.connections(projection.label)
            sign = 1.0 if projection.receptor == "excitatory" else -1.0
            np.add.at(matrix, (connections.post, connections.pre), sign * connections.weight / network.semantics.dt)
    return matrix


def test_scale_and_linear_compose_with_their_signs(tmp_path):
    weight = np.array([[1.0, -2.0, 0.0], [0.5, 0.0, 3.0]])
    scale = np.array([2.0, -1.0, 4.0])
    path = graph_file(
        tmp_path,
        {
            "input": nir.Input(input_type=np.array([3])),
            "scale": nir.Scale(scale=scale),
            "w": nir.Linear(weight=weight),
            "neurons": lif(2e-3, 1.0, 0.0, 1.0, size=2),
        },
        [("input", "scale"), ("scale", "w"), ("w", "neurons")],
    )
    network = read_graph(path, DT)
    np.testing.assert_allclose(signed_matrix(network, "neurons", "input"), weight * scale)
    assert sum(len(network.connections(label).pre) for label in network.projections) == 4  # zeros dropped


def conv2d_reference(x, weight, stride, padding, dilation, groups):
    """PyTorch's Conv2d (cross-correlation) of one (C, H, W) input, by loops."""
    channels_out, group_in, kh, kw = weight.shape
    channels, height, width = x.shape
    padded = np.zeros((channels, height + 2 * padding[0], width + 2 * padding[1]))
    padded[:, padding[0] : padding[0] + height, padding[1] : padding[1] + width] = x
    out_h = (height + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    out_w = (width + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((channels_out, out_h, out_w))
    per_group = channels_out // groups
    for co in range(channels_out):
        for oy in range(out_h):
            for ox in range(out_w):
                for ci in range(group_in):
                    for ky in range(kh):
                        for kx in range(kw):
                            out[co, oy, ox] += (
                                weight[co, ci, ky, kx]
                                * padded[
                                    (co // per_group) * group_in + ci,
                                    oy * stride[0] + ky * dilation[0],
                                    ox * stride[1] + kx * dilation[1],
                                ]
                            )
    return out


def reference_matrix(function, in_shape):
    """The matrix of a linear map, column by column: its outputs on each unit input."""
    columns = []
    for index in range(int(np.prod(in_shape))):
        unit = np.zeros(int(np.prod(in_shape)))
        unit[index] = 1.0
        columns.append(function(unit.reshape(in_shape)).reshape(-1))
    return np.stack(columns, axis=1)


@pytest.mark.parametrize(
    "out_channels, in_channels, kernel, stride, padding, dilation, groups",
    [(3, 2, (3, 3), (2, 2), (1, 1), (1, 1), 1), (4, 2, (2, 3), (1, 2), (2, 1), (2, 1), 2)],
)
def test_conv2d_lowers_to_the_synapses_of_a_direct_convolution(
    tmp_path, out_channels, in_channels, kernel, stride, padding, dilation, groups
):
    rng = np.random.default_rng(1)
    in_shape = (in_channels, 5, 6)
    weight = rng.normal(size=(out_channels, in_channels // groups, *kernel))
    conv = nir.Conv2d(
        input_shape=in_shape[1:],
        weight=weight,
        stride=stride,
        padding=padding,
        dilation=dilation,
        groups=groups,
        bias=np.zeros(out_channels),
    )
    convolved = conv2d_reference(np.zeros(in_shape), weight, stride, padding, dilation, groups)
    expected = reference_matrix(lambda x: conv2d_reference(x, weight, stride, padding, dilation, groups), in_shape)
    path = graph_file(
        tmp_path,
        {
            "input": nir.Input(input_type=np.array(in_shape)),
            "conv": conv,
            "flat": nir.Flatten(input_type={"input": np.array(convolved.shape)}, start_dim=0),
            "neurons": lif(2e-3, 1.0, 0.0, 1.0, size=expected.shape[0]),
        },
        [("input", "conv"), ("conv", "flat"), ("flat", "neurons")],
    )
    network = read_graph(path, DT)
    np.testing.assert_allclose(signed_matrix(network, "neurons", "input"), expected, atol=1e-12)


@pytest.mark.parametrize(
    "pooling, kernel, stride, padding",
    [
        ("SumPool2d", (2, 2), (2, 2), (0, 0)),
        ("AvgPool2d", (3, 3), (1, 1), (1, 1)),
        ("SumPool2d", (2, 3), (1, 2), (1, 0)),
    ],
)
def test_pooling_lowers_to_the_synapses_of_a_direct_pooling(tmp_path, pooling, kernel, stride, padding):
    """SumPool2d sums each window; AvgPool2d divides by the window's size, padding counted (PyTorch's default)."""
    in_shape = (2, 4, 5)
    value = 1.0 if pooling == "SumPool2d" else 1.0 / (kernel[0] * kernel[1])
    ones = np.zeros((2, 1, *kernel)) + value
    expected = reference_matrix(lambda x: conv2d_reference(x, ones, stride, padding, (1, 1), 2), in_shape)
    node = getattr(nir, pooling)(kernel_size=np.array(kernel), stride=np.array(stride), padding=np.array(padding))
    path = graph_file(
        tmp_path,
        {
            "input": nir.Input(input_type=np.array(in_shape)),
            "pool": node,
            "neurons": lif(2e-3, 1.0, 0.0, 1.0, size=expected.shape[0]),
        },
        [("input", "pool"), ("pool", "neurons")],
    )
    network = read_graph(path, DT)
    np.testing.assert_allclose(signed_matrix(network, "neurons", "input"), expected, atol=1e-12)


def test_a_subgraph_is_flattened_with_dotted_names(tmp_path):
    inner = nir.NIRGraph(
        nodes={
            "input": nir.Input(input_type=np.array([2])),
            "w": nir.Linear(weight=np.array([[1.0, 0.0], [0.0, -1.0]])),
            "lif": lif(2e-3, 1.0, 0.0, 1.0, size=2),
            "output": nir.Output(output_type=np.array([2])),
        },
        edges=[("input", "w"), ("w", "lif"), ("lif", "output")],
        type_check=False,
    )
    path = graph_file(
        tmp_path,
        {
            "input": nir.Input(input_type=np.array([2])),
            "layer": inner,
            "readout": lif(2e-3, 1.0, 0.0, 1.0, size=2),
            "output": nir.Output(output_type=np.array([2])),
        },
        [("input", "layer"), ("layer", "readout"), ("readout", "output")],
    )
    network = read_graph(path, DT)
    assert list(network.populations) == ["layer.lif", "readout"]
    assert list(network.spike_sources) == ["input"]
    np.testing.assert_allclose(signed_matrix(network, "layer.lif", "input"), [[1.0, 0.0], [0.0, -1.0]])
    np.testing.assert_allclose(signed_matrix(network, "readout", "layer.lif"), np.eye(2))
    assert latencies(network) == {"layer.lif": 1, "readout": 2}


@pytest.mark.parametrize(
    "node, words",
    [
        (nir.Threshold(threshold=one(1.0)), "without a membrane"),
        (lif(float("nan"), 1.0, 0.0, 1.0), "not finite"),
        (lif(2e-3, -1.0, 0.0, 1.0), "must be positive"),
        (lif(2e-3, 1.0, 0.0, 1.0, size=3), "has 3 neurons, its input has 1"),
    ],
)
def test_a_node_neurodeploy_cannot_express_is_one_error_naming_it(tmp_path, node, words):
    path = graph_file(
        tmp_path,
        {"input": nir.Input(input_type=np.array([1])), "odd": node, "output": nir.Output(output_type=np.array([1]))},
        [("input", "odd"), ("odd", "output")],
    )
    with pytest.raises(ValidationError, match=words) as caught:
        read_graph(path, DT)
    assert "NIR node 'odd'" in str(caught.value)


def test_subtract_with_a_nonzero_v_reset_and_a_mismatched_affine_are_refused(tmp_path):
    path = single_neuron_graph(tmp_path, lif(2e-3, 1.0, 0.0, 1.0, v_reset=-0.5))
    with pytest.raises(ValidationError, match="NIR node 'neuron'.*v_reset.*to_v_reset"):
        read_graph(path, DT, reset="subtract")
    path = graph_file(
        tmp_path,
        {
            "input": nir.Input(input_type=np.array([2])),
            "w": nir.Linear(weight=np.ones((1, 3))),
            "n": lif(2e-3, 1, 0, 1),
        },
        [("input", "w"), ("w", "n")],
    )
    with pytest.raises(ValidationError, match="NIR node 'w'.*takes 3 channels, its input has 2"):
        read_graph(path, DT)


def test_neurodeploy_metadata_gives_defaults_the_options_override(tmp_path):
    neuron = lif(2e-3, 1.0, 0.0, 1.0)
    neuron.metadata = {METADATA_KEY: {"parameters": {"tau_refrac": 1.5}, "initial_values": {"v": 0.25}}}
    nodes = {"input": nir.Input(input_type=np.array([1])), "w": nir.Linear(weight=np.ones((1, 1))), "neuron": neuron}
    metadata = {METADATA_KEY: {"dt": 0.5, "threshold": ">=", "discretization": "euler", "name": "exported"}}
    path = graph_file(tmp_path, nodes, [("input", "w"), ("w", "neuron")], metadata)
    network = read_graph(path)
    assert (network.name, network.semantics.dt, network.semantics.threshold) == ("exported", 0.5, ">=")
    assert network.semantics.discretization == "euler" and network.semantics.synaptic_init == "none"
    cell = network.populations["neuron"].cell
    assert (cell.tau_refrac, cell.v) == (1.5, 0.25)
    assert read_graph(path, 0.25, "exact", threshold=">").semantics.to_dict() | {} == {
        **network.semantics.to_dict(),
        "dt": 0.25,
        "discretization": "exact",
        "threshold": ">",
    }
    neuron.metadata = {METADATA_KEY: {"cell_type": "IF_curr_exp"}}
    path = graph_file(tmp_path, nodes, [("input", "w"), ("w", "neuron")], metadata, name="wrong.nir")
    with pytest.raises(ValidationError, match="NIR node 'neuron' metadata.*cell_type.*IF_curr_delta"):
        read_graph(path)


def paper_stimulus(channels) -> dict:
    """The NIR paper's 0/1 input rows (one array per channel, a row per step of 0.1 ms) as the stimulus of
    the graphs' Input node."""
    return {"input": [[round(t * 0.1, 10) for t in np.flatnonzero(channel)] for channel in channels]}


def paper_stimulus_file(tmp_path, channels) -> Path:
    stimulus = tmp_path / "stimulus.json"
    stimulus.write_text(json.dumps(paper_stimulus(channels)))
    return stimulus


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_cli_needs_dt_for_a_graph_and_refuses_nir_options_elsewhere(tmp_path):
    path = single_neuron_graph(tmp_path, lif(2e-3, 1.0, 0.0, 1.0))
    result = invoke("validate", path)
    assert result.exit_code == 2 and "option --dt: is required" in result.output
    result = invoke("validate", path, "--dt", 0.5, "--discretization", "euler")
    assert result.exit_code == 0 and "latency neuron: 1 tick from the inputs" in result.output
    result = invoke("validate", "feedforward-poisson", "--reset", "subtract")
    assert result.exit_code == 2 and "option --reset: applies to NIR graphs" in result.output


def test_the_nir_papers_lif_on_brian2_is_norse_one_tick_later(tmp_path):
    """lif_norse.nir (tau 2.5 ms, r 1, threshold 0.1, reset to 0) under euler at dt 0.1 ms: Norse steps the
    same equations; our edge adds one tick, so V in tick t + 1 is Norse's V in step t (to float32
    precision: Norse computes in float32) and each spike is one tick later."""
    folder = external(LIF_GRAPH)
    norse = np.loadtxt(folder / "lif_norse.csv", delimiter=",")
    stimulus = paper_stimulus_file(tmp_path, [norse[:, 0]])
    out = tmp_path / "run"
    result = invoke(
        "run", folder / "lif_norse.nir", "--dt", 0.1, "--discretization", "euler", "--stimulus", stimulus,
        "--duration", 100, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "latency 1: 1 tick from the inputs" in result.output
    spikes = json.loads((out / "spikes.json").read_text())["populations"]["1"]["spike_times_ms"][0]
    assert np.rint(np.array(spikes) / 0.1).astype(int).tolist() == (np.flatnonzero(norse[:, 2]) + 1).tolist()
    v = np.load(out / "traces.npz")["1.v"][:, 0]
    np.testing.assert_allclose(v[1:], norse[:-1, 1], atol=1e-6)
    assert v[0] == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["spinnaker", "lava"])
def test_the_nir_papers_lif_runs_on_the_other_backends_under_its_node_name(tmp_path, backend):
    """The same command on the emulation and on Lava: the LIF node's spikes under its name, at Norse's steps
    one tick later (the emulation's s16.15 decays may move a spike that waits on the threshold)."""
    folder = external(LIF_GRAPH)
    norse = np.loadtxt(folder / "lif_norse.csv", delimiter=",")
    stimulus = paper_stimulus_file(tmp_path, [norse[:, 0]])
    out = tmp_path / "run"
    result = invoke(
        "run", folder / "lif_norse.nir", "--dt", 0.1, "--discretization", "euler", "--stimulus", stimulus,
        "--duration", 100, "--backend", backend, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    ticks = np.rint(
        np.array(json.loads((out / "spikes.json").read_text())["populations"]["1"]["spike_times_ms"][0]) / 0.1
    )
    expected = np.flatnonzero(norse[:, 2]) + 1
    assert len(ticks) == len(expected) and np.all(np.abs(ticks - expected) <= 10)
    if backend == "lava":
        assert ticks.tolist() == expected.tolist()


DEPLOYED = [
    pytest.param(target, graph, id=f"{graph}-{target}")
    for target in ("spinn5", "loihi2")
    for graph in ("lif", "braille", "braille-subtract")
    if not (target == "spinn5" and graph == "braille-subtract")  # spinn5 refuses subtract: tested apart
]


@pytest.mark.slow
@pytest.mark.parametrize("target, graph", DEPLOYED)
def test_the_nir_papers_graphs_deploy_and_pass_against_the_quantization_aware_reference(tmp_path, target, graph):
    """deploy of lif_norse.nir and of both Braille networks (biases and reset to 0; reset by subtraction)
    under euler: each target computes what its quantization-aware reference computes, spike for spike."""
    reset = "subtract" if graph == "braille-subtract" else "to_v_reset"
    if graph == "lif":
        folder, name = external(LIF_GRAPH), "lif_norse.nir"
        rows = np.loadtxt(folder / "lif_norse.csv", delimiter=",")
        channels, duration = [rows[:, 0]], 100
    else:
        folder = external(BRAILLE)
        name = "braille_noDelay_noBias_subtract.nir" if reset == "subtract" else "braille_noDelay_bias_zero.nir"
        taxels = np.load(folder / "derived_input_sample0.npy")
        channels, duration = list(taxels.T), (len(taxels) + 1) * 0.1
    stimulus = paper_stimulus_file(tmp_path, channels)
    out = tmp_path / "deploy"
    result = invoke(
        "deploy", folder / name, "--dt", 0.1, "--discretization", "euler", "--reset", reset, "--stimulus",
        stimulus, "--duration", round(duration, 6), "--target", target, "--min-same-tick", 1.0, "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    verdict = json.loads((out / "deploy.json").read_text())
    assert verdict["passed"]
    for population in comparison(verdict, "correctness")["spikes"]["populations"].values():
        assert population["same_tick_fraction"] == 1.0 and population["run_spikes"] > 0


def hidden_raster(network, taxels) -> np.ndarray:
    """The Braille network's hidden layer on brian2 driven by the sample: (ticks, neurons) 0/1, one tick
    more than the sample's steps (the input edge's)."""
    result = run(network, (len(taxels) + 1) * 0.1, paper_stimulus(taxels.T))
    trains = result.spikes.populations["lif1.lif"]
    raster = np.zeros((len(taxels) + 1, len(trains)))
    for neuron, times in enumerate(trains):
        raster[np.rint(times / 0.1).astype(int), neuron] = 1
    return raster


def test_the_braille_hidden_layer_is_snntorchs_raster_one_tick_later():
    """braille_noDelay_bias_zero.nir on brian2 (euler, reset to 0, '>'): lif1.lif fires exactly as
    snnTorch's hidden layer, one tick later (the input edge; the recurrent edge is one tick in both)."""
    folder = external(BRAILLE)
    taxels = np.load(folder / "derived_input_sample0.npy")
    snntorch = np.load(folder / "snntorch_activity_noDelay_bias_zero.npy")
    network = read_graph(folder / "braille_noDelay_bias_zero.nir", 0.1, "euler", "to_v_reset", ">")
    assert latencies(network) == {"lif1.lif": 1, "lif2": 2}
    raster = hidden_raster(network, taxels)
    assert raster[0].sum() == 0
    np.testing.assert_array_equal(raster[1:], snntorch)


def snntorch_subtract_step(graph, taxels, flag_from_previous_step: bool) -> np.ndarray:
    """The hidden layer of the Braille subtract graph stepped in numpy as snnTorch's RSynaptic does
    (euler: syn = alpha syn + W x + W_rec spk, mem = beta mem + syn, spike on mem > 1, subtract 1),
    optionally with snnTorch's ``reset_delay=False`` bookkeeping: a flag set when the membrane after a
    subtraction is still above threshold raises the next step's threshold by one more."""
    cell, dt = graph.nodes["lif1.lif"], 1e-4
    alpha, beta = 1 - dt / cell.tau_syn, 1 - dt / cell.tau_mem
    weight, recurrent = graph.nodes["fc1"].weight, graph.nodes["lif1.w_rec"].weight
    syn = mem = spk = np.zeros(weight.shape[0])
    raster = []
    for x in taxels.astype(np.float64):
        flag = (mem > 1.0) if flag_from_previous_step else np.zeros_like(mem)
        syn = alpha * syn + weight @ x + recurrent @ spk
        mem = beta * mem + syn
        spk = (mem - flag > 1.0).astype(np.float64)
        mem = mem - spk
        raster.append(spk)
    return np.array(raster)


def test_the_braille_subtract_graph_is_nirs_subtraction_and_snntorch_differs_only_by_its_reset_flag():
    """braille_noDelay_noBias_subtract.nir on brian2 (euler, reset by subtraction, '>'): lif1.lif is a
    numpy step of the graph's equations one tick later, exactly. snnTorch's recorded raster differs from
    it, and is that step with snnTorch's reset flag (``reset_delay=False`` tests the threshold against
    a membrane lowered once more while the previous step's reset flag is set), exactly: the difference is
    snnTorch's bookkeeping, not the graph's meaning."""
    folder = external(BRAILLE)
    taxels = np.load(folder / "derived_input_sample0.npy")
    snntorch = np.load(folder / "snntorch_activity_noDelay_noBias_subtract.npy")
    graph = nir.read(folder / "braille_noDelay_noBias_subtract.nir")
    network = read_graph(folder / "braille_noDelay_noBias_subtract.nir", 0.1, "euler", "subtract", ">")
    raster = hidden_raster(network, taxels)
    assert raster[0].sum() == 0
    np.testing.assert_array_equal(raster[1:], snntorch_subtract_step(graph, taxels, flag_from_previous_step=False))
    np.testing.assert_array_equal(snntorch_subtract_step(graph, taxels, flag_from_previous_step=True), snntorch)
    assert np.count_nonzero(raster[1:] != snntorch) > 0


def test_conv1d_lowers_as_a_convolution_along_one_axis(tmp_path):
    """Conv1d over (C, N) is Conv2d over (C, 1, N) with a kernel one row high."""
    rng = np.random.default_rng(2)
    weight = rng.normal(size=(3, 2, 3))
    expected = reference_matrix(
        lambda x: conv2d_reference(x, weight[:, :, None, :], (1, 2), (0, 1), (1, 2), 1), (2, 1, 7)
    )
    conv = nir.Conv1d(input_shape=7, weight=weight, stride=2, padding=1, dilation=2, groups=1, bias=np.zeros(3))
    path = graph_file(
        tmp_path,
        {
            "input": nir.Input(input_type=np.array([2, 7])),
            "conv": conv,
            "neurons": lif(2e-3, 1.0, 0.0, 1.0, size=expected.shape[0]),
        },
        [("input", "conv"), ("conv", "neurons")],
    )
    np.testing.assert_allclose(signed_matrix(read_graph(path, DT), "neurons", "input"), expected, atol=1e-12)


def test_without_the_nir_package_a_graph_is_one_line_naming_it(tmp_path, monkeypatch):
    path = single_neuron_graph(tmp_path, lif(2e-3, 1.0, 0.0, 1.0))
    monkeypatch.setitem(sys.modules, "nir", None)  # import nir raises ImportError, as when it is absent
    result = invoke("validate", path, "--dt", 0.5)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "error: NIR graph: reading NIR graphs needs the package 'nir' (pip install nir, which brings h5py)"
    ]


@pytest.mark.slow
def test_the_braille_subtract_graph_on_the_emulation_is_its_quantization_aware_reference():
    """spinn5 refuses reset by subtraction (sPyNNaker has no such neuron model), but the emulation computes
    it on sPyNNaker's integers: the graph's spikes and v equal the reference that declares those integers."""
    from neurodeploy.backends.spinnaker.graph import lower
    from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling

    folder = external(BRAILLE)
    taxels = np.load(folder / "derived_input_sample0.npy")
    network = read_graph(folder / "braille_noDelay_noBias_subtract.nir", 0.1, "euler", "subtract", ">")
    network = network.with_spike_times(paper_stimulus(taxels.T))
    graph = lower(network)
    reference = quantization_aware(network, graph, ring_buffer_scaling(graph))
    duration = (len(taxels) + 1) * 0.1
    emulated = make_backend("spinnaker").run(network, duration)
    expected = make_backend("brian2").run(reference, duration)
    assert sum(len(train) for train in emulated.spikes.populations["lif1.lif"]) > 100
    for label in ("lif1.lif", "lif2"):
        assert [t.tolist() for t in emulated.spikes.populations[label]] == [
            t.tolist() for t in expected.spikes.populations[label]
        ]
        np.testing.assert_array_equal(emulated.traces[label]["v"], expected.traces[label]["v"])
