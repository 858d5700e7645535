"""The semantics' discretization (exact | euler), reset (to_v_reset | subtract) and threshold (>= | >):
hand-derived traces of one neuron on the float reference, on each fixed-point arithmetic and on the
SpiNNaker emulation, and small networks deployed to spinn5 against the quantization-aware reference."""

import json
import math

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import run_reference, spike_ticks, v_trace
from neurodeploy.backends import make_backend
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.quantize import ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_target
from neurodeploy.catalog import target_descriptions
from neurodeploy.cli import main
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.runs.deployment import comparison

SPINN5 = target_descriptions()["spinn5"].data
# tau_m = 4 ms, cm = 1 nF (R = 4 MOhm) at dt = 1 ms: euler's decay is 3/4, and a charge w (nA ms) of one
# tick moves V by w R dt / tau_m = w mV: every number below is a short binary fraction.
CELL = {"tau_m": 4.0, "cm": 1.0, "v_rest": 0.0, "v_reset": -0.25, "v_thresh": 1.0, "tau_refrac": 0.0}
ARITHMETICS = {
    "float": None,
    "fixed_point": {"kind": "fixed_point", "v_unit": 1 / 64},
    "accumulator": {"kind": "accumulator", "input_limit": {"excitatory": 64.0, "inhibitory": 64.0}},
}


def one_neuron(semantics, cell_type="IF_curr_delta", weight=1.0, arithmetic=None, **parameters) -> nd.Network:
    """A source firing at 0 ms onto one neuron (delay one tick: the weight arrives in tick 1)."""
    net = nd.Network("one", semantics)
    net.spike_source("S", [[0.0]])
    net.population("P", 1, cell_type, {**CELL, **parameters}, arithmetic=arithmetic)
    net.project("S", "P", nd.OneToOne(), weight=weight, delay=1.0)
    net.record("P", ["spikes", "v"])
    return net


# --- IF_curr_delta: the charge of one tick, on every arithmetic -----------------------------------


@pytest.mark.parametrize("arithmetic", list(ARITHMETICS))
@pytest.mark.parametrize("threshold", [">=", ">"])
def test_a_charge_landing_exactly_on_the_threshold(arithmetic, threshold):
    # Under euler a charge of 1 nA ms moves V from 0 by exactly 1 mV = v_thresh (every arithmetic holds
    # 1, 3/4 and R = 4 exactly): '>=' spikes and resets to -0.25 mV, '>' keeps V at 1, then 3/4, 9/16.
    semantics = nd.Semantics(dt=1.0, threshold=threshold, discretization="euler")
    result = run_reference(one_neuron(semantics, arithmetic=ARITHMETICS[arithmetic]), 4.0)
    if threshold == ">=":
        assert spike_ticks(result) == [1]
        assert v_trace(result) == [0.0, -0.25, -0.25 * 0.75, -0.25 * 0.75**2]
    else:
        assert spike_ticks(result) == []
        assert v_trace(result) == [0.0, 1.0, 0.75, 0.75**2]


@pytest.mark.parametrize("arithmetic", list(ARITHMETICS))
@pytest.mark.parametrize("reset", ["to_v_reset", "subtract"])
def test_the_reset_by_subtraction_keeps_the_overshoot(arithmetic, reset):
    # A charge of 1.5 moves V to 1.5 mV: to_v_reset sets -0.25; subtract lowers V by 1 - (-0.25), to 0.25.
    # Then V decays by 3/4 a tick (truncated or floored integers meet the float here: 16 and 12 units of
    # 1/64 mV, 8192 and 6144 of 2^-15).
    semantics = nd.Semantics(dt=1.0, reset=reset, discretization="euler")
    result = run_reference(one_neuron(semantics, weight=1.5, arithmetic=ARITHMETICS[arithmetic]), 4.0)
    after = 1.5 - (1.0 - -0.25) if reset == "subtract" else -0.25
    assert spike_ticks(result) == [1]
    assert v_trace(result) == [0.0, after, after * 0.75, after * 0.75**2]


@pytest.mark.parametrize("discretization", ["exact", "euler"])
@pytest.mark.parametrize("reset", ["to_v_reset", "subtract"])
def test_constant_current_charges_as_the_closed_form_says(discretization, reset):
    # From V = 0 under i_offset with a = i R: V_n = a (1 - E^n) until the first n with V_n >= v_thresh,
    # E = exp(-1/4) or 3/4; then the reset (to v_reset, or V_n - (v_thresh - v_reset)).
    a, threshold, v_reset = 2.0, 1.0, -0.25
    decay = math.exp(-0.25) if discretization == "exact" else 0.75
    first = math.ceil(math.log(1 - threshold / a) / math.log(decay))  # the first n with a (1 - E^n) >= T
    semantics = nd.Semantics(dt=1.0, reset=reset, discretization=discretization)
    net = one_neuron(semantics, weight=0.0, i_offset=a / 4.0)
    result = run_reference(net, float(first + 1))
    v = v_trace(result)
    assert spike_ticks(result)[0] == first - 1  # tick n - 1 ends with V_n
    assert v[: first - 1] == pytest.approx([a * (1 - decay ** (n + 1)) for n in range(first - 1)], rel=1e-12)
    reached = a * (1 - decay**first)
    expected = reached - (threshold - v_reset) if reset == "subtract" else v_reset
    assert v[first - 1] == pytest.approx(expected, rel=1e-12)
    assert v[first] == pytest.approx(a - decay * (a - expected), rel=1e-12)


# --- IF_curr_exp: the synaptic current's first tick and its decay ----------------------------------


@pytest.mark.parametrize(
    "discretization, synaptic_init", [("exact", "mean_first_tick"), ("exact", "none"), ("euler", "mean_first_tick")]
)
def test_one_psp_is_the_closed_form(discretization, synaptic_init):
    # A weight w arriving in tick 1 makes I = c w, decaying by E_s a tick; V_n (n ticks after) is
    # (1 - E_m) R c w (E_m^n - E_s^n) / (E_m - E_s). c is the first-tick mean (tau/dt)(1 - E_s) exactly
    # with mean_first_tick, else 1 (euler holds the state over the tick).
    tau_m, tau_s, w = 4.0, 2.0, 0.5
    if discretization == "exact":
        e_m, e_s = math.exp(-1 / tau_m), math.exp(-1 / tau_s)
    else:
        e_m, e_s = 1 - 1 / tau_m, 1 - 1 / tau_s
    c = tau_s * (1 - e_s) if (discretization, synaptic_init) == ("exact", "mean_first_tick") else 1.0
    semantics = nd.Semantics(dt=1.0, discretization=discretization, synaptic_init=synaptic_init)
    net = one_neuron(semantics, "IF_curr_exp", weight=w, tau_syn_E=tau_s, v_thresh=50.0)
    v = v_trace(run_reference(net, 10.0))
    expected = [0.0] + [(1 - e_m) * 4.0 * c * w * (e_m**n - e_s**n) / (e_m - e_s) for n in range(1, 10)]
    assert v == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("reset", ["to_v_reset", "subtract"])
def test_the_synaptic_current_outlives_a_reset_by_subtraction(reset):
    # euler, synaptic_init none: w = 2 makes I = 2 nA in tick 1 (V = 2 * 4 / 4 = 2 mV: a spike), then
    # I = 1 in tick 2: V = a - E (a - V_reset) with a = 4 mV. From subtract's 0.75 that is 1.5625, a
    # second spike (down to 0.3125); from -0.25, 0.8125.
    semantics = nd.Semantics(dt=1.0, reset=reset, discretization="euler", synaptic_init="none")
    net = one_neuron(semantics, "IF_curr_exp", weight=2.0, tau_syn_E=2.0)
    result = run_reference(net, 3.0)
    after = 2.0 - 1.25 if reset == "subtract" else -0.25
    integrated = 4.0 - 0.75 * (4.0 - after)
    assert v_trace(result)[:2] == [0.0, after]
    if reset == "subtract":
        assert spike_ticks(result) == [1, 2] and v_trace(result)[2] == integrated - 1.25
    else:
        assert spike_ticks(result) == [1] and v_trace(result)[2] == integrated


@pytest.mark.parametrize(
    "options, arithmetic",
    [({}, None), ({}, {"kind": "fixed_point_izhikevich", "fraction_bits": 12}), ({"mode": "physics"}, None)],
)
def test_izhikevich_has_no_reset_by_subtraction(options, arithmetic):
    net = nd.Network("izh", nd.Semantics(reset="subtract"))
    net.population("Izh", 1, "Izhikevich", arithmetic=arithmetic)
    with pytest.raises(ValidationError, match="population 'Izh', field 'semantics.reset': Izhikevich resets v to c"):
        make_backend("brian2", **options).run(net, 5.0)


# --- the SpiNNaker emulation: the chip's constants of the handed time constant --------------------


@pytest.mark.parametrize("threshold", [">=", ">"])
@pytest.mark.parametrize("reset", ["to_v_reset", "subtract"])
def test_the_emulation_computes_euler_from_the_handed_time_constant(threshold, reset):
    # sPyNNaker is handed tau' = -dt / ln(1 - dt/tau) and cm' = cm tau'/tau: its exp_TC is 3/4 of 2^15
    # up to its exp's rounding, R stays 4. One charge W (s16.15) of a tick: current W * sf (sf = 2^15,
    # 1/dt), alpha = current * R, V = alpha - exp_TC * alpha (floored products). With v_thresh set to that
    # V, '>=' spikes and '>' does not; subtract lowers V by the threshold's and v_reset's bits.
    tau_handed = -1.0 / math.log(0.75)
    exp_tc, resistance = fp.membrane_constants(tau_handed, tau_handed / 4.0, 1.0)
    assert abs(exp_tc - 24576) <= 2 and abs(resistance - 4 * 32768) <= 4
    alpha = fp.mul_accum(fp.mul_accum(fp.s1615(1.0), fp.kdivk(fp.ONE, fp.s1615(1.0))), resistance)
    landing = int(alpha - fp.mul_accum(exp_tc, alpha))
    semantics = nd.Semantics(dt=1.0, threshold=threshold, reset=reset, discretization="euler")
    net = one_neuron(semantics, v_thresh=landing / fp.ONE)
    result = make_backend("spinnaker").run(net, 3.0)
    bits = [round(v * fp.ONE) for v in v_trace(result)]
    reset_bits = fp.s1615(-0.25)
    if threshold == ">":
        assert spike_ticks(result) == [] and bits[1] == landing
        assert bits[2] == -fp.mul_accum(exp_tc, -landing)
    else:
        after = landing - (landing - reset_bits) if reset == "subtract" else reset_bits
        assert spike_ticks(result) == [1] and bits[1] == after
    assert abs(landing / fp.ONE - 1.0) < 1e-3  # euler's 1 mV (exact would be 4 (1 - exp(-1/4)) = 0.885)


def test_the_emulation_follows_euler_and_no_init_factor_as_the_float_reference():
    # IF_curr_exp under euler with synaptic_init none: the host divides the weight by the chip's init,
    # so the chip's PSP is the float reference's within the weight's and the decays' rounding.
    semantics = nd.Semantics(dt=1.0, discretization="euler", synaptic_init="none")
    net = one_neuron(semantics, "IF_curr_exp", weight=0.5, tau_syn_E=2.0, v_thresh=50.0)
    emulated = v_trace(make_backend("spinnaker").run(net, 10.0))
    reference = v_trace(run_reference(net, 10.0))
    assert max(reference) > 0.4
    assert np.max(np.abs(np.subtract(emulated, reference))) < 2e-3


def test_the_emulation_subtracts_and_refuses_izhikevich_subtraction():
    net = nd.Network("izh", nd.Semantics(reset="subtract"))
    net.population("Izh", 1, "Izhikevich")
    with pytest.raises(BackendError, match="population 'Izh': Izhikevich resets v to c"):
        make_backend("spinnaker").run(net, 5.0)


# --- spinn5: what sPyNNaker is handed, and what it cannot run --------------------------------------


def test_spinn5_hands_the_threshold_one_lsb_up_and_euler_as_time_constants():
    semantics = nd.Semantics(dt=1.0, threshold=">", discretization="euler", synaptic_init="none")
    net = one_neuron(semantics, "IF_curr_exp", weight=0.5, tau_syn_E=2.0)
    graph = lower(net)
    parameters = graph.populations["P"].parameters
    assert fp.s1615(parameters["v_thresh"]) == fp.s1615(1.0) + 1
    assert math.exp(-1.0 / parameters["tau_m"]) == pytest.approx(0.75, rel=1e-12)
    assert math.exp(-1.0 / parameters["tau_syn_E"]) == pytest.approx(0.5, rel=1e-12)
    assert parameters["tau_m"] / parameters["cm"] == pytest.approx(4.0, rel=1e-12)  # R kept
    init = fp.synapse_constants(parameters["tau_syn_E"], 1.0)[1] / 2**32  # the chip's, from the handed tau
    assert graph.projections["S->P"].weight == pytest.approx(0.5 / init, rel=1e-12)
    errors = [f for f in check_target(net, graph, ring_buffer_scaling(graph), SPINN5) if f.level == "error"]
    assert errors == []


def test_spinn5_refuses_the_reset_by_subtraction_saying_what_spynnaker_would_need():
    net = one_neuron(nd.Semantics(reset="subtract"))
    graph = lower(net)
    messages = [str(f) for f in check_target(net, graph, ring_buffer_scaling(graph), SPINN5) if f.level == "error"]
    assert messages == [
        "error: semantics: sPyNNaker's LIF neuron models reset V to v_reset: reset 'subtract' needs a neuron "
        "model whose neuron_model_has_spiked subtracts v_thresh - v_reset (the SpiNNaker emulation, `run "
        "--backend spinnaker`, computes it); use reset 'to_v_reset' for a board"
    ]


def small_network(semantics, cell_type, weight_scale) -> nd.Network:
    """Poisson-like sources onto 20 neurons: random all-to-all weights (a from-list) and a one-to-one
    projection with one weight (a native connector)."""
    rng = np.random.default_rng(7)
    net = nd.Network("small", semantics)
    net.spike_source("S", [sorted(rng.choice(np.arange(1, 300), 30, replace=False).astype(float)) for _ in range(20)])
    net.population("P", 20, cell_type, {"tau_m": 10.0, "tau_refrac": 2.0})
    net.project("S", "P", nd.AllToAll(), weight=rng.uniform(0, weight_scale, 400).tolist(), delay=1.0, label="all")
    net.project("S", "P", nd.OneToOne(), weight=weight_scale, delay=2.0, receptor="inhibitory", label="one")
    net.record("P", ["spikes"])
    return net


@pytest.mark.slow
@pytest.mark.parametrize(
    "cell_type, semantics, weight_scale",
    [
        ("IF_curr_delta", nd.Semantics(threshold=">", discretization="euler", synaptic_init="none"), 2.0),
        ("IF_curr_exp", nd.Semantics(synaptic_init="none"), 0.4),
    ],
)
def test_deploy_to_spinn5_is_the_quantization_aware_reference(tmp_path, cell_type, semantics, weight_scale):
    path = nd.save(small_network(semantics, cell_type, weight_scale), tmp_path / "small.yaml")
    out = tmp_path / "deployed"
    args = ["deploy", str(path), "--duration", "300", "--target", "spinn5", "--min-same-tick", "1.0"]
    result = CliRunner().invoke(main, args + ["--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "deploy.json").read_text())
    correctness = comparison(summary, "correctness", "spinn5/target")
    assert summary["passed"] and correctness["spikes"]["overall"]["same_tick_fraction"] == 1.0
    target = json.loads((out / "spinn5" / "target" / "spikes.json").read_text())
    reference = json.loads((out / "spinn5" / "reference" / "spikes.json").read_text())
    assert target["populations"]["P"] == reference["populations"]["P"]
    assert sum(len(train) for train in target["populations"]["P"]["spike_times_ms"]) > 100
