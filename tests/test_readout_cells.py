"""Cells without a threshold (LI_curr_delta, LI_curr_exp) or without leak (PIF_curr_delta, PI_curr_delta):
hand-derived traces on the float reference under both discretizations, the NIR nodes they import from
(LI, CubaLI, IF, I) with their traces, export and import again, and the backends and targets that refuse
them."""

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import run_reference, v_trace
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import lower as lava_lower
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.cli import main
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.interchange import nir_export
from neurodeploy.interchange.nir_import import read_graph

nir = pytest.importorskip("nir")

DT = 0.5  # ms
TICKS = 10
# Inputs (tick the weight arrives, signed charge or current): one tick after the source's spike.
ARRIVALS = [(1, 1.5), (3, -0.5), (4, 2.0)]


def one_neuron(cell_type, parameters, discretization, synaptic_init="mean_first_tick", initial=None) -> nd.Network:
    """One source neuron per arrival of ARRIVALS onto one neuron (delay one tick), negative weights
    inhibitory."""
    net = nd.Network("one", nd.Semantics(dt=DT, discretization=discretization, synaptic_init=synaptic_init))
    net.spike_source("S", [[(t - 1) * DT] for t, _ in ARRIVALS])
    net.population("P", 1, cell_type, parameters, initial or {})
    for receptor, chosen in (
        ("excitatory", [k for k, (_, w) in enumerate(ARRIVALS) if w > 0]),
        ("inhibitory", [k for k, (_, w) in enumerate(ARRIVALS) if w < 0]),
    ):
        weights = [abs(ARRIVALS[k][1]) for k in chosen]
        net.project(
            "S",
            "P",
            nd.FromList(chosen, [0] * len(chosen)),
            weight=weights,
            delay=DT,
            receptor=receptor,
            label=receptor,
        )
    return net


def arriving(tick: int) -> float:
    return sum(w for t, w in ARRIVALS if t == tick)


def decay(tau, discretization):
    return math.exp(-DT / tau) if discretization == "exact" else 1 - DT / tau


@pytest.mark.parametrize("cell_type", ["LI_curr_delta", "LI_curr_exp", "PI_curr_delta"])
def test_a_cell_that_never_spikes_records_only_v(cell_type):
    with pytest.raises(ValidationError, match="spikes"):
        one_neuron(cell_type, {}, "exact").record("P", ["spikes"])


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_leaky_integrator_with_delta_synapses_by_hand(discretization):
    # tau_m 4 ms, cm 2 nF (R = 2 MOhm), v_rest -1 mV, i_offset 0.25 nA. A charge q in tick t is the current
    # q / dt in that tick: a = (q / dt + i_offset) R + v_rest, V = a - E (a - V). Never a threshold.
    net = one_neuron("LI_curr_delta", {"tau_m": 4.0, "cm": 2.0, "v_rest": -1.0, "i_offset": 0.25}, discretization)
    net.record("P", ["v"])
    e, expected, v = decay(4.0, discretization), [], -1.0
    for tick in range(TICKS):
        a = (arriving(tick) / DT + 0.25) * 2.0 - 1.0
        v = a - e * (a - v)
        expected.append(v)
    np.testing.assert_allclose(v_trace(run_reference(net, TICKS * DT)), expected, rtol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
@pytest.mark.parametrize("synaptic_init", ["mean_first_tick", "none"])
def test_leaky_integrator_with_exponential_synapses_by_hand(discretization, synaptic_init):
    # tau_syn 1 ms: I += init w on arrival (init = (tau/dt)(1 - exp(-dt/tau)) for mean_first_tick under exact,
    # else 1), then a = I R + v_rest, V = a - E_m (a - V), then I *= E_syn.
    parameters = {"tau_m": 4.0, "cm": 2.0, "v_rest": 0.0, "tau_syn_E": 1.0, "tau_syn_I": 1.0}
    net = one_neuron("LI_curr_exp", parameters, discretization, synaptic_init)
    net.record("P", ["v"])
    e_m, e_s = decay(4.0, discretization), decay(1.0, discretization)
    init = (1.0 / DT) * (1 - math.exp(-DT)) if (discretization, synaptic_init) == ("exact", "mean_first_tick") else 1
    expected, v, current = [], 0.0, 0.0
    for tick in range(TICKS):
        current += init * arriving(tick)
        a = current * 2.0
        v = a - e_m * (a - v)
        current *= e_s
        expected.append(v)
    np.testing.assert_allclose(v_trace(run_reference(net, TICKS * DT)), expected, rtol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_perfect_integrate_and_fire_by_hand(discretization):
    # cm 0.5 nF: a charge q moves V by q / cm, i_offset 0.1 nA by dt 0.1 / cm = 0.1 mV a tick, whatever the
    # discretization. From v 0.1: 0.2 in tick 0; 0.2 + 3 + 0.1 in tick 1 (>= 3: spike, V = -1, held for
    # tau_refrac 1 ms = 2 ticks, so the inhibitory charge of tick 3 is lost); -1 + 4 + 0.1 in tick 4 (spike,
    # V = -1, held in ticks 5 and 6); then 0.1 mV a tick.
    parameters = {"cm": 0.5, "i_offset": 0.1, "v_thresh": 3.0, "v_reset": -1.0, "tau_refrac": 1.0}
    net = one_neuron("PIF_curr_delta", parameters, discretization, initial={"v": 0.1})
    net.record("P", ["spikes", "v"])
    result = run_reference(net, TICKS * DT)
    assert result.spikes.ticks("P")[0].tolist() == [1, 4]
    np.testing.assert_allclose(v_trace(result), [0.2] + [-1.0] * 6 + [-0.9, -0.8, -0.7], rtol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_perfect_integrator_by_hand(discretization):
    # V += (dt / cm)(q / dt + i_offset) = q / cm + dt i_offset / cm: cm 2 nF, i_offset -0.2 nA (-0.05 mV a tick).
    net = one_neuron("PI_curr_delta", {"cm": 2.0, "i_offset": -0.2}, discretization)
    net.record("P", ["v"])
    expected, v = [], 0.0
    for tick in range(TICKS):
        v += arriving(tick) / 2.0 - 0.05
        expected.append(v)
    np.testing.assert_allclose(v_trace(run_reference(net, TICKS * DT)), expected, rtol=1e-12, atol=1e-15)


# --- NIR: LI, CubaLI, IF, I ----------------------------------------------------------------------

INPUT_TICKS = [2, 5]  # the input's spikes; each is the input w held over the next tick
WEIGHT, BIAS = 1.5, 0.2


def nir_graph(tmp_path, neuron, name="graph.nir"):
    """Input -> Affine(WEIGHT, BIAS) -> neuron -> Output."""
    nodes = {
        "input": nir.Input(input_type=np.array([1])),
        "w": nir.Affine(weight=np.array([[WEIGHT]]), bias=np.array([BIAS])),
        "neuron": neuron,
        "output": nir.Output(output_type=np.array([1])),
    }
    path = tmp_path / name
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=[("input", "w"), ("w", "neuron"), ("neuron", "output")]))
    return path


def nir_input(tick: int) -> float:
    """NIR's input in a tick: the weight one tick after a spike, the bias from the first tick on (one edge)."""
    return WEIGHT * ((tick - 1) in INPUT_TICKS) + BIAS * (tick >= 1)


def imported_run(path, discretization):
    network = read_graph(path, DT, discretization=discretization)
    network = network.with_spike_times({"input": [[t * DT for t in INPUT_TICKS]]})
    return network, run_reference(network, TICKS * DT)


def one(value):
    return np.array([value], dtype=np.float64)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_nir_li_is_the_leaky_integrator_of_its_input(tmp_path, discretization):
    # tau dv/dt = v_leak - v + r u, u held over each tick: v -> (v_leak + r u) - E (v_leak + r u - v), from v_leak.
    tau_s, r, v_leak = 2e-3, 3.0, -0.5
    network, result = imported_run(
        nir_graph(tmp_path, nir.LI(tau=one(tau_s), r=one(r), v_leak=one(v_leak))), discretization
    )
    assert network.populations["neuron"].cell_type == "LI_curr_delta"
    assert network.recordings["neuron"] == ("v",) or list(network.recordings["neuron"]) == ["v"]
    e, v, expected = decay(tau_s * 1e3, discretization), v_leak, []
    for tick in range(TICKS):
        a = v_leak + r * nir_input(tick)
        v = a - e * (a - v)
        expected.append(v)
    np.testing.assert_allclose(v_trace(result, "neuron"), expected, rtol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_nir_cuba_li_is_the_synapse_then_the_leaky_integrator(tmp_path, discretization):
    # The synaptic state reaches (1 - E_syn) of w_in u held over the tick: syn = E_syn syn + (1 - E_syn) w_in u;
    # then the membrane as LI with r syn (snnTorch's syn = alpha syn + x, mem = beta mem + syn under euler
    # when dt/tau_syn w_in = 1 and dt/tau_mem r = 1).
    tau_syn_s, tau_mem_s, r, v_leak, w_in = 1e-3, 4e-3, 2.0, 0.25, 1.5
    node = nir.CubaLI(tau_syn=one(tau_syn_s), tau_mem=one(tau_mem_s), r=one(r), v_leak=one(v_leak), w_in=one(w_in))
    network, result = imported_run(nir_graph(tmp_path, node), discretization)
    assert network.populations["neuron"].cell_type == "LI_curr_exp"
    e_s, e_m = decay(tau_syn_s * 1e3, discretization), decay(tau_mem_s * 1e3, discretization)
    syn, v, expected = 0.0, v_leak, []
    for tick in range(TICKS):
        syn = e_s * syn + (1 - e_s) * w_in * nir_input(tick)
        a = v_leak + r * syn
        v = a - e_m * (a - v)
        expected.append(v)
    np.testing.assert_allclose(v_trace(result, "neuron"), expected, rtol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_nir_if_integrates_without_leak_and_resets(tmp_path, discretization):
    # dv/dt = r u: v += r u dt (seconds) under either discretization, from 0; v > v_threshold spikes, v = v_reset.
    r, threshold, reset = 1e3, 1.0, -0.25
    node = nir.IF(r=one(r), v_threshold=one(threshold), v_reset=one(reset))
    network, result = imported_run(nir_graph(tmp_path, node), discretization)
    assert network.populations["neuron"].cell_type == "PIF_curr_delta"
    v, expected, spikes = 0.0, [], []
    for tick in range(TICKS):
        v += r * nir_input(tick) * DT * 1e-3
        if v > threshold:
            v = reset
            spikes.append(tick)
        expected.append(v)
    assert spikes  # the graph's numbers reach the threshold
    assert result.spikes.ticks("neuron")[0].tolist() == spikes
    np.testing.assert_allclose(v_trace(result, "neuron"), expected, rtol=1e-12)


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_nir_i_integrates_its_input(tmp_path, discretization):
    r = 400.0
    network, result = imported_run(nir_graph(tmp_path, nir.I(r=one(r))), discretization)
    assert network.populations["neuron"].cell_type == "PI_curr_delta"
    expected = np.cumsum([r * nir_input(tick) * DT * 1e-3 for tick in range(TICKS)])
    np.testing.assert_allclose(v_trace(result, "neuron"), expected, rtol=1e-12)


def test_a_node_that_never_spikes_feeds_only_an_output(tmp_path):
    nodes = {
        "input": nir.Input(input_type=np.array([1])),
        "readout": nir.LI(tau=one(2e-3), r=one(1.0), v_leak=one(0.0)),
        "w": nir.Linear(weight=np.array([[1.0]])),
        "lif": nir.LIF(tau=one(2e-3), r=one(1.0), v_leak=one(0.0), v_threshold=one(1.0), v_reset=one(0.0)),
    }
    path = tmp_path / "graph.nir"
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=[("input", "readout"), ("readout", "w"), ("w", "lif")]))
    with pytest.raises(ValidationError, match="NIR node 'readout'.*never spikes.*only an Output"):
        read_graph(path, DT)


def mixed_network(discretization) -> nd.Network:
    """Every new cell: a source onto PIF_curr_delta and PI_curr_delta, the PIF onto LI_curr_exp and
    LI_curr_delta, with refractoriness, offsets and initial values the import alone would not give."""
    net = nd.Network("mixed", nd.Semantics(dt=DT, discretization=discretization, threshold=">", synaptic_init="none"))
    net.spike_source("S", [[0.0, 1.0, 1.5], [0.5, 2.0]])
    net.population(
        "pif",
        2,
        "PIF_curr_delta",
        {"cm": 0.5, "v_thresh": 1.0, "v_reset": 0.0, "tau_refrac": 0.5, "i_offset": 0.1},
        {"v": 0.2},
    )
    net.population("pi", 1, "PI_curr_delta", {"cm": 2.0, "i_offset": -0.05})
    net.population("li", 2, "LI_curr_delta", {"cm": 1.0, "tau_m": 3.0, "v_rest": 0.5})
    net.population(
        "cuba",
        1,
        "LI_curr_exp",
        {"cm": 1.0, "tau_m": 3.0, "v_rest": 0.0, "tau_syn_E": 1.0, "tau_syn_I": 1.0, "i_offset": 0.3},
    )
    net.project("S", "pif", nd.AllToAll(), weight=0.4, delay=DT)
    net.project("S", "pi", nd.AllToAll(), weight=[0.3, 0.6], delay=2 * DT, receptor="inhibitory")
    net.project("pif", "li", nd.OneToOne(), weight=0.7, delay=DT)
    net.project("pif", "cuba", nd.AllToAll(), weight=[1.2, 0.8], delay=DT)
    net.record("pif", ["spikes", "v"])
    for label in ("pi", "li", "cuba"):
        net.record(label, ["v"])
    return net.validate()


@pytest.mark.parametrize("discretization", ["exact", "euler"])
def test_export_then_import_is_the_same_network_and_traces(tmp_path, discretization):
    original = mixed_network(discretization)
    path = tmp_path / "mixed.nir"
    exported = nir_export.write(original, path)
    kinds = {name: type(node).__name__ for name, node in exported.graph.nodes.items()}
    assert {kinds[label] for label in ("pif", "pi", "li", "cuba")} == {"IF", "I", "LI", "CubaLI"}
    nir.read(path)
    imported = read_graph(path).with_spike_times(exported.stimulus)
    for label, population in original.populations.items():
        again = imported.populations[label]
        assert again.cell_type == population.cell_type
        for name in (*population.parameters, *population.initial_values):
            np.testing.assert_allclose(again.value(name), population.value(name), rtol=1e-12, err_msg=f"{label} {name}")
    runs = [run_reference(network, 6.0) for network in (original, imported)]
    assert len(runs[0].spikes.ticks("pif")[0]) > 0
    assert runs[1].spikes.ticks("pif")[0].tolist() == runs[0].spikes.ticks("pif")[0].tolist()
    for label in original.populations:
        np.testing.assert_allclose(runs[1].traces[label]["v"], runs[0].traces[label]["v"], rtol=1e-12, atol=1e-12)


def test_a_read_out_that_projects_cannot_be_exported():
    net = mixed_network("exact")
    net.project("li", "pi", nd.AllToAll(), weight=1.0, delay=DT, label="from the read-out")
    with pytest.raises(ValidationError, match="population 'li'.*never spikes"):
        nir_export.to_graph(net)


# --- the SpiNNaker emulation and Lava: integer traces by hand -----------------------------------------

ONE = 1 << 15  # s16.15


def s1615(x: float) -> int:
    return int(round(x * ONE))


def trunc_div(a: int, b: int) -> int:
    return -(-a // b) if a < 0 else a // b


def li_delta_network():
    # Charges exactly representable in s16.15 and in the ring buffers.
    return one_neuron("LI_curr_delta", {"tau_m": 4.0, "cm": 2.0, "v_rest": -1.0, "i_offset": 0.25}, "exact")


def test_spinnaker_runs_the_leaky_integrator_on_s1615(tmp_path):
    # sPyNNaker's LIF step without its threshold type: a charge q is s = S(q); I = floor(s sf / 2^15) per
    # receptor + S(i_offset) with sf = floor(2^30 / S(dt)); alpha = floor(I R / 2^15) + S(v_rest);
    # V = alpha - floor(exp_TC (alpha - V) / 2^15), R = floor(S(tau) 2^15 / S(cm)), exp_TC the chip's exp.
    net = li_delta_network()
    net.record("P", ["v"])
    exp_tc = fp.membrane_constants(4.0, 2.0, DT)[0]
    resistance = (s1615(4.0) << 15) // s1615(2.0)
    sf = (ONE * ONE) // s1615(DT)
    v, expected = s1615(-1.0), []
    for tick in range(TICKS):
        exc = sum(s1615(w) for t, w in ARRIVALS if t == tick and w > 0)
        inh = sum(s1615(-w) for t, w in ARRIVALS if t == tick and w < 0)
        current = (exc * sf >> 15) - (inh * sf >> 15) + s1615(0.25)
        alpha = (current * resistance >> 15) + s1615(-1.0)
        v = alpha - (exp_tc * (alpha - v) >> 15)
        expected.append(v / ONE)
    assert v_trace(make_backend("spinnaker").run(net, TICKS * DT)) == expected


@pytest.mark.parametrize("cell_type", ["PIF_curr_delta", "PI_curr_delta"])
def test_spinnaker_runs_the_perfect_integrators_on_s1615(cell_type):
    # V += floor(I G / 2^15), G = S(dt / cm), I as above; PIF: V >= S(v_thresh) spikes, V = S(v_reset), held
    # for T_refract = 2 ticks (the inhibitory charge of tick 3 is lost); PI never spikes.
    spiking = cell_type == "PIF_curr_delta"
    parameters = {"cm": 0.5, "i_offset": 0.125}
    if spiking:
        parameters.update(v_thresh=3.0, v_reset=-1.0, tau_refrac=1.0)
    net = one_neuron(cell_type, parameters, "exact", initial={"v": 0.25})
    net.record("P", ["spikes", "v"] if spiking else ["v"])
    gain, sf = s1615(DT / 0.5), (ONE * ONE) // s1615(DT)
    v, refractory, expected, spikes = s1615(0.25), 0, [], []
    for tick in range(TICKS):
        exc = sum(s1615(w) for t, w in ARRIVALS if t == tick and w > 0)
        inh = sum(s1615(-w) for t, w in ARRIVALS if t == tick and w < 0)
        current = (exc * sf >> 15) - (inh * sf >> 15) + s1615(0.125)
        if refractory > 0:
            refractory -= 1
        else:
            v += current * gain >> 15
        if spiking and v >= s1615(3.0):
            v, refractory = s1615(-1.0), 2
            spikes.append(tick)
        expected.append(v / ONE)
    result = make_backend("spinnaker").run(net, TICKS * DT)
    assert v_trace(result) == expected
    if spiking:
        assert spikes and result.spikes.ticks("P")[0].tolist() == spikes


def lava_units(lowered, label):
    """The units of u each synapse of a projection adds: its mantissa << (exponent + 6)."""
    fixed = lowered.projections[label]
    return (fixed.mantissas << (fixed.weight_exp + 6)).tolist()


@pytest.mark.parametrize("cell_type", ["LI_curr_delta", "PI_curr_delta"])
def test_lava_runs_them_on_the_lif_integers(cell_type):
    # CurrExpLIF's step: v = clip(trunc(v (4096 - dv) / 4096) + u_exc - u_inh + (bias_mant << bias_exp)), u the
    # tick's arriving units (du = 4095), vth = 2^23 never reached. LI: dv = rint(4096 (1 - exp(-dt/tau_m))),
    # v relative to v_rest; PI: dv = 0 (v relative to 0 mV). The weights' units and S come from the lowering.
    if cell_type == "LI_curr_delta":
        net, dv, origin = li_delta_network(), round(4096 * (1 - math.exp(-DT / 4.0))), -1.0
    else:
        net, dv, origin = one_neuron("PI_curr_delta", {"cm": 2.0, "i_offset": -0.2}, "exact"), 0, 0.0
    net.record("P", ["v"])
    lowered = lava_lower(net)
    fixed = lowered.populations["P"]
    assert fixed.vth.tolist() == [1 << 23] and fixed.dv.tolist() == [dv]
    units = {"excitatory": lava_units(lowered, "excitatory"), "inhibitory": lava_units(lowered, "inhibitory")}
    arrivals = {"excitatory": [t for t, w in ARRIVALS if w > 0], "inhibitory": [t for t, w in ARRIVALS if w < 0]}
    bias = int(fixed.bias_mant[0]) << int(fixed.bias_exp[0])
    v, expected = 0, []
    for tick in range(TICKS):
        drive = sum(u for t, u in zip(arrivals["excitatory"], units["excitatory"]) if t == tick)
        drive -= sum(u for t, u in zip(arrivals["inhibitory"], units["inhibitory"]) if t == tick)
        v = trunc_div(v * (4096 - dv), 4096) + drive + bias
        expected.append(origin + v / fixed.scale)
    np.testing.assert_array_equal(v_trace(make_backend("lava").run(net, TICKS * DT)), expected)


def sustained(cell_type, parameters, ticks, weight, receptor="excitatory", record=True) -> nd.Network:
    """One source spiking every tick onto one neuron (delay one tick)."""
    net = nd.Network("sustained", nd.Semantics(dt=DT))
    net.spike_source("S", [[tick * DT for tick in range(ticks)]])
    net.population("P", 1, cell_type, parameters)
    net.project("S", "P", nd.AllToAll(), weight=weight, delay=DT, receptor=receptor, label=receptor)
    if record:
        net.record("P", ["v"])
    return net


@pytest.mark.parametrize(
    "cell_type, parameters, bound",
    [
        # A charge of 0.25 every tick is the current 0.5: V -> v_rest + R (0.1 + 0.5) = 12 mV.
        ("LI_curr_delta", {}, 20.0 * (0.1 + 0.25 / DT)),
        # mean_first_tick: I -> init w / (1 - E) = (tau_syn / dt) w = 1 nA, V -> R (0.1 + 1) = 22 mV.
        ("LI_curr_exp", {"tau_syn_E": 2.0}, 20.0 * (0.1 + 2.0 / DT * 0.25)),
    ],
)
def test_lava_holds_the_read_outs_v_within_its_bound(cell_type, parameters, bound):
    # The old scale (from one tick's drive, about 0.3 mV) clipped v at 2 mV. Now S is the largest power of two
    # keeping twice the bound on |V - v_rest| within 2^23, and v rises to near the bound unclipped, step for
    # step the integers of CurrExpLIF (u decays by 4096 - (du + 1), truncated) and within the 8-bit weights'
    # and 12-bit decays' relative error (2^-9 each) of Brian2's float v.
    ticks = 80
    net = sustained(cell_type, {"tau_m": 20.0, "cm": 1.0, "v_rest": 0.0, "i_offset": 0.1, **parameters}, ticks, 0.25)
    lowered = lava_lower(net)
    fixed = lowered.populations["P"]
    assert fixed.scale == 2.0 ** math.floor(math.log2(2**23 / (2 * bound)))
    units = lava_units(lowered, "excitatory")[0]
    bias = int(fixed.bias_mant[0]) << int(fixed.bias_exp[0])
    keep_u, keep_v = 4096 - (int(fixed.du_exc[0]) + 1), 4096 - int(fixed.dv[0])
    u = v = 0
    expected = []
    for tick in range(ticks):
        u = trunc_div(u * keep_u, 4096) + (units if tick >= 1 else 0)
        v = trunc_div(v * keep_v, 4096) + u + bias
        expected.append(v / fixed.scale)
    lava = v_trace(make_backend("lava").run(net, ticks * DT))
    np.testing.assert_array_equal(lava, expected)
    reference = v_trace(run_reference(net, ticks * DT))
    assert max(lava) > 0.75 * bound and max(reference) < bound
    np.testing.assert_allclose(lava, reference, rtol=0, atol=2.0**-7 * bound)


def first_beyond(limit, drive_per_tick) -> int:
    """The first tick whose v (the running sum of the ticks' drives, from 0) is beyond ``limit``."""
    v = 0.0
    for tick, drive in enumerate(drive_per_tick):
        v += drive
        if abs(v) > limit:
            return tick
    raise AssertionError("never beyond the limit")


@pytest.mark.parametrize("record", [True, False])
@pytest.mark.parametrize(
    "cell_type, parameters, receptor",
    [
        ("PI_curr_delta", {"cm": 1.0, "i_offset": 0.1}, "excitatory"),
        ("PIF_curr_delta", {"cm": 1.0, "v_thresh": 1.0, "v_reset": 0.0, "tau_refrac": 0.0}, "inhibitory"),
    ],
)
def test_lava_refuses_an_integrator_whose_v_was_clipped(cell_type, parameters, receptor, record):
    # One tick's largest drive (|i_offset| dt / cm + 0.25 / cm mV) sets S = 2^22, so v's 24 bits end at
    # (2^23 - 1) / 2^22 mV: integrating past it fails the run, naming the population, the tick and the limit,
    # whether v is recorded or not.
    ticks = 40
    net = sustained(cell_type, parameters, ticks, 0.25, receptor, record)
    assert lava_lower(net).populations["P"].scale == 2.0**22
    sign = 1.0 if receptor == "excitatory" else -1.0
    drives = [parameters.get("i_offset", 0.0) * DT + (sign * 0.25 if tick >= 1 else 0.0) for tick in range(ticks)]
    limit = (2**23 - 1) / 2**22
    tick = first_beyond(limit, drives)
    with pytest.raises(BackendError) as refused:
        make_backend("lava").run(net, ticks * DT)
    message = str(refused.value)
    assert "population 'P': v of neuron 0 reached the limit" in message
    assert f"at tick {tick} (t = {tick * DT:g} ms)" in message and f"[{-limit:g}, {limit:g}] mV" in message
    assert "\n" not in message and "worker failed" not in message and "(log:" not in message
    assert not list(Path(tempfile.gettempdir()).glob(f"neurodeploy-lava-{os.getpid()}-*"))  # nothing kept


def test_lava_runs_an_integrator_that_stays_within_its_range():
    # The same drive for fewer ticks than it needs to reach the limit: the run succeeds. S = 2^22 holds the
    # bias S dt i_offset / cm with a mantissa of 2^6 units, each tick's within half of that.
    net = sustained("PI_curr_delta", {"cm": 1.0, "i_offset": 0.1}, 6, 0.25)
    v = v_trace(make_backend("lava").run(net, 6 * DT))
    np.testing.assert_allclose(v, [0.05 + 0.3 * tick for tick in range(6)], rtol=0, atol=6 * 2.0**5 / 2**22)


@pytest.mark.parametrize("backend", ["spinnaker", "lava"])
def test_a_nir_graph_with_an_li_read_out_runs_within_the_quantization_step(tmp_path, backend):
    # Input -> Affine -> LIF -> Affine -> LI -> Output: the read-out's v on the fixed-point backend within a
    # few of its steps (s16.15's 2^-15, Lava's 1/S) of Brian2's float v, and the hidden layer's spikes equal.
    nodes = {
        "input": nir.Input(input_type=np.array([1])),
        "w1": nir.Affine(weight=np.array([[3.0], [2.0]]), bias=np.array([0.0, 0.0])),
        "lif": nir.LIF(
            tau=one(2e-3).repeat(2),
            r=one(1.0).repeat(2),
            v_leak=np.zeros(2),
            v_threshold=one(1.0).repeat(2),
            v_reset=np.zeros(2),
        ),
        "w2": nir.Affine(weight=np.array([[0.5, -0.25]]), bias=np.array([0.0])),  # Lava loses a tick-0 charge
        "readout": nir.LI(tau=one(5e-3), r=one(2.0), v_leak=one(0.0)),
        "output": nir.Output(output_type=np.array([1])),
    }
    edges = [("input", "w1"), ("w1", "lif"), ("lif", "w2"), ("w2", "readout"), ("readout", "output")]
    path = tmp_path / "readout.nir"
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges))
    network = read_graph(path, DT).with_spike_times({"input": [[0.0, 1.0, 1.5, 3.0, 3.5, 4.0]]})
    reference = run_reference(network, 10.0)
    result = make_backend(backend).run(network, 10.0)
    assert len(reference.spikes.ticks("lif")[0]) > 0
    for neuron in range(2):
        assert result.spikes.ticks("lif")[neuron].tolist() == reference.spikes.ticks("lif")[neuron].tolist()
    # s16.15: a few LSBs of floored products; Lava: the 12-bit decay and the weights' mantissas, a relative
    # error of about 2^-12 per tick that the leak keeps below 2^-10 of the largest v.
    v, expected = result.traces["readout"]["v"][:, 0], reference.traces["readout"]["v"][:, 0]
    assert np.ptp(expected) > 0.1
    tolerance = 16 * 2.0**-15 if backend == "spinnaker" else 2.0**-10 * np.max(np.abs(expected))
    np.testing.assert_allclose(v, expected, rtol=0, atol=tolerance)


# --- the targets without these cells -------------------------------------------------------

REFUSALS = {
    "spinn5": {
        "LI": "sPyNNaker has no neuron model without a threshold",
        "leakless": "sPyNNaker has no neuron model without leak",
    },
    "loihi2": {"LI": "no threshold of Lava's LIF is out of reach", "leakless": "Lava's LIF with dv = 0"},
}


@pytest.mark.parametrize("target", list(REFUSALS))
@pytest.mark.parametrize(
    "cell_type, parameters, kind",
    [
        ("LI_curr_delta", {}, "LI"),
        ("LI_curr_exp", {}, "LI"),
        ("PIF_curr_delta", {"v_thresh": 3.0, "v_reset": -1.0}, "leakless"),
        ("PI_curr_delta", {}, "leakless"),
    ],
)
def test_the_targets_refuse_them_saying_what_the_chip_would_need(tmp_path, target, cell_type, parameters, kind):
    net = one_neuron(cell_type, parameters, "exact")
    net.record("P", ["v"])
    model = tmp_path / "model.json"
    model.write_text(json.dumps(net.to_dict()))
    done = CliRunner().invoke(main, ["compile", str(model), "--target", target, "--out", str(tmp_path / "out")])
    assert done.exit_code != 0
    assert REFUSALS[target][kind] in done.output


def test_the_exported_read_out_and_integrator_nodes_carry_the_cells_numbers(tmp_path):
    """What a plain NIR reader sees (metadata aside): LI's tau = tau_m and r = tau_m / cm, CubaLI's the same
    with tau_syn and w_in = 1, IF's and I's r = 1 / cm in NIR's seconds (V moves by r w dt per tick)."""
    nir_export.write(mixed_network("exact"), tmp_path / "mixed.nir")
    nodes = nir.read(tmp_path / "mixed.nir").nodes
    assert {name: type(nodes[name]).__name__ for name in ("pif", "pi", "li", "cuba")} == {
        "pif": "IF",
        "pi": "I",
        "li": "LI",
        "cuba": "CubaLI",
    }
    np.testing.assert_allclose(nodes["li"].tau, [3e-3] * 2)
    np.testing.assert_allclose(nodes["li"].r, [3.0] * 2)  # 3 ms / 1 nF
    np.testing.assert_allclose(nodes["li"].v_leak, [0.5] * 2)
    np.testing.assert_allclose(nodes["cuba"].tau_mem, [3e-3])
    np.testing.assert_allclose(nodes["cuba"].tau_syn, [1e-3])
    np.testing.assert_allclose((nodes["cuba"].r, nodes["cuba"].w_in), ([3.0], [1.0]))
    np.testing.assert_allclose(nodes["pif"].r, [1e3 / 0.5] * 2)  # per second: V += (dt / cm) I
    np.testing.assert_allclose((nodes["pif"].v_threshold, nodes["pif"].v_reset), ([1.0] * 2, [0.0] * 2))
    np.testing.assert_allclose(nodes["pi"].r, [1e3 / 2.0])


def test_run_names_a_read_out_and_what_it_recorded(tmp_path):
    model = tmp_path / "readout.json"
    model.write_text(json.dumps(mixed_network("exact").to_dict()))
    result = CliRunner().invoke(main, ["run", str(model), "--duration", "3", "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.split()[:3] == ["li", "2", "neurons"] and line.endswith("v recorded") for line in lines)
    assert any(line.split()[:3] == ["pif", "2", "neurons"] and line.endswith("spikes") for line in lines)


@pytest.mark.parametrize(
    "cell_type, reason",
    [
        ("LI_curr_delta", "no Lava process for NIR's read-outs LI and CubaLI"),
        ("LI_curr_exp", "no Lava process for NIR's read-outs LI and CubaLI"),
        ("PIF_curr_delta", "no Lava process for NIR's leakless IF and I"),
        ("PI_curr_delta", "no Lava process for NIR's leakless IF and I"),
        ("IF_curr_exp", "no Lava process for a CubaLIF"),
    ],
)
def test_the_nir_paper_quantization_says_which_nir_node_it_lacks(cell_type, reason):
    # The paper's nir_to_lava.py makes a Lava LIF of NIR's LIF nodes and raises on every other neuron node.
    net = one_neuron(cell_type, {}, "euler")
    with pytest.raises(BackendError) as refused:
        lava_lower(net, "nir-paper")
    assert f"population 'P' is {cell_type}: the paper's Lava conversion configures a NIR LIF" in str(refused.value)
    assert f"(it has {reason}" in str(refused.value)


def test_lava_names_the_population_that_clipped_first():
    """Two integrators driven to their limits, the one defined first from tick 20 on, the other from tick 0:
    the second clips first (about 4 ticks of input fill v's 24 bits at each one's scale) and is the one
    named, the earliest clip being what usually causes the others."""
    net = nd.Network("two", nd.Semantics(dt=DT))
    for label, start in (("Late", 20), ("Early", 0)):
        net.spike_source(f"S {label}", [[tick * DT for tick in range(start, 40)]])
        net.population(label, 1, "PI_curr_delta", {"cm": 1.0})
        net.project(f"S {label}", label, nd.AllToAll(), weight=0.25, delay=DT, label=label)
    with pytest.raises(BackendError, match="^population 'Early': v of neuron 0 reached the limit") as refused:
        make_backend("lava").run(net, 40 * DT)
    assert int(str(refused.value).split(" at tick ")[1].split()[0]) < 20
