"""Lava's published bit-accurate LIF and Dense unit tests, re-derived here from the chip's integer steps and
run as description networks.

LIF (lava-nc/lava ``tests/lava/proc/lif/test_models.py``, ``TestLIFProcessModelsFixed``): ``impulse_du`` and
``impulse_dv`` (one input in the first step onto a neuron whose current halves, or whose voltage halves with
the current decaying by the least step) on the Lava backend and on the reference's FixedPointLIF; ``no_decay``
and ``scaling_of_bias`` (a neuron without any decay driven by its bias) on the Lava backend, as
``PIF_curr_delta`` and ``PI_curr_delta`` (the reference's FixedPointLIF has no membrane without leak).

Dense (``tests/lava/proc/dense/test_models.py``, ``TestDenseProcessModelFixed`` and
``TestDelayDenseProcessModel``): ``fan_out_excitatory`` and its ``_delay`` variant, the one published Dense
our lowering can hand Lava (one projection is one receptor, so never Lava's mixed sign mode, and always
8-bit weights), with the synaptic input it delivers read from u and from v on both."""

import math

import numpy as np
import pytest

import neurodeploy as nd
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import lower as lower_for_lava

TICKS = 9  # the input arrives in tick 1: ticks 1-8 are Lava's steps 1-8
# Lava's expected values, as its tests list them
LAVA_IMPULSE_DU_U = [1 << (13 - j) for j in range(8)]
LAVA_IMPULSE_DV_V = [8192, 12286, 14331, 15351, 15859, 16111, 16235, 16295]
LAVA_NO_DECAY_SPIKE_STEPS = list(range(4, 10, 5))  # expected_spk_data[4:10:5] = 1, 0-based steps
LAVA_SCALED_BIAS_V = (2**12 - 1) * 2**5  # bias_mant * 2 ** bias_exp
LAVA_FAN_OUT_EXCITATORY_A_OUT = [0, 255, 40]  # at step 4, steps 4, 5, 6 with the delays 0, 1, 2


def lava_lif(du: int, dv: int, activation: int, steps: int) -> tuple[list[int], list[int]]:
    """Lava's fixed-point LIF step (``AbstractPyLifModelFixed.subthr_dynamics``): u decays by
    ``4096 - (du + 1)`` and v by ``4096 - dv`` in 2^-12, each truncated toward zero, then u takes the
    step's input ``<< 6`` and v takes u; an input in the first step only. u and v after each step."""

    def decayed(x: int, keep: int) -> int:
        return int(math.copysign(abs(x) * keep >> 12, x))

    u = v = 0
    us, vs = [], []
    for step in range(steps):
        u = decayed(u, 4096 - (du + 1)) + ((activation << 6) if step == 0 else 0)
        v = decayed(v, 4096 - dv) + u
        us.append(u)
        vs.append(v)
    return us, vs


def impulse_network(tau_syn: float, tau_m: float, weight: float = 1.0) -> nd.Network:
    network = nd.Network("lava_impulse", duration=float(TICKS))
    parameters = {"tau_syn_E": tau_syn, "tau_syn_I": tau_syn, "tau_m": tau_m, "tau_refrac": 0.0}
    network.population("P", 1, parameters=parameters)
    network.spike_source("S", [[0.0]])
    network.project("S", "P", nd.OneToOne(), weight=weight, delay=1.0, label="in")
    network.record("P", ["v", "isyn_exc"])
    return network


def lowered_impulse(tau_syn: float, tau_m: float):
    """The network whose one input is Lava's (its mantissa at exponent 0, the weight being that many of the
    lowering's units at exponent 0), with the lowering's integers."""
    probe = lower_for_lava(impulse_network(tau_syn, tau_m)).projections["in"]
    weight = 128 * float(probe.unit[0]) / 2**probe.weight_exp
    network = impulse_network(tau_syn, tau_m, weight)
    lowered = lower_for_lava(network)
    assert lowered.projections["in"].mantissas.tolist() == [128] and lowered.projections["in"].weight_exp == 0
    return network, lowered


def units(trace: np.ndarray, factor: float) -> list:
    scaled = trace * factor
    np.testing.assert_allclose(scaled, np.rint(scaled), atol=1e-6)  # whole units
    return np.rint(scaled).astype(np.int64).tolist()


def lava_lif_bias_driven(bias_mant: int, bias_exp: int, vth: int, steps: int) -> tuple[list[int], list[int]]:
    """Lava's fixed-point LIF with ``du = dv = 0`` and no input: u stays 0 (``0 (4096 - 1) >> 12``), v keeps
    itself (``v 4096 >> 12``) and takes the bias ``bias_mant << bias_exp`` each step, spikes when
    ``v > vth << 6`` and is reset to 0. v after each step, and the 0-based steps with a spike."""
    v, vs, spikes = 0, [], []
    for step in range(steps):
        v += bias_mant << bias_exp
        if v > vth << 6:
            v = 0
            spikes.append(step)
        vs.append(v)
    return vs, spikes


def lava_dense_excitatory(weights: np.ndarray, delays: np.ndarray, send_step: int, steps: int) -> np.ndarray:
    """Lava's bit-accurate (Delay)Dense in ``SignMode.EXCITATORY`` with 8-bit weights and ``weight_exp`` 0,
    every input spiking in ``send_step``: the weights cast to int32 (toward zero), clipped to [0, 255],
    summed per output over the inputs, and sent as a_out ``1 + delay`` steps later (a_out is the buffer of
    the step before). a_out per step and output."""
    integers = np.clip(weights.astype(np.int32), 0, 255)
    a_out = np.zeros((steps, weights.shape[0]), dtype=np.int64)
    for post, pre in zip(*np.nonzero(integers)):
        a_out[send_step + 1 + delays[post, pre], post] += integers[post, pre]
    return a_out


def fan_out(column: list[float], delays: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The published tests' weights and delays: one input onto every output, nothing else."""
    weights, delay = np.zeros((3, 4)), np.zeros((3, 4), dtype=np.int64)
    weights[:, 2], delay[:, 2] = column, delays
    return weights, delay


def test_the_hand_derived_integers_are_lavas_published_ones():
    assert lava_lif(du=2047, dv=0, activation=128, steps=8)[0] == LAVA_IMPULSE_DU_U
    assert lava_lif(du=0, dv=2048, activation=128, steps=8)[1] == LAVA_IMPULSE_DV_V
    assert lava_lif_bias_driven(bias_mant=2, bias_exp=6, vth=8, steps=10)[1] == LAVA_NO_DECAY_SPIKE_STEPS
    assert lava_lif_bias_driven(bias_mant=2**12 - 1, bias_exp=5, vth=2**17, steps=1)[0] == [LAVA_SCALED_BIAS_V]
    for delays in ([0, 0, 0], [0, 1, 2]):
        a_out = lava_dense_excitatory(*fan_out([0.5, 300, 40], delays), send_step=3, steps=8)
        assert [a_out[4 + d, post] for post, d in enumerate(delays)] == LAVA_FAN_OUT_EXCITATORY_A_OUT
        assert np.count_nonzero(a_out) == 2


@pytest.mark.parametrize(
    "case, tau_syn, tau_m",
    [
        ("impulse_du", 1.0 / math.log(2.0), 10.0),  # exp(-dt/tau_syn) = 1/2: du 2047
        ("impulse_dv", 4000.0, 1.0 / math.log(2.0)),  # round(4096 (1 - exp(-1/4000))) = 1: du 0; dv 2048
    ],
)
def test_lavas_impulse_responses_on_the_lava_backend_and_the_fixed_point_reference(case, tau_syn, tau_m):
    network, lowered = lowered_impulse(tau_syn, tau_m)
    cell = lowered.populations["P"]
    du, dv = int(cell.du_exc[0]), int(cell.dv[0])
    assert du == (2047 if case == "impulse_du" else 0)
    if case == "impulse_dv":
        assert dv == 2048
    expected_u, expected_v = lava_lif(du, dv, 128, TICKS - 1)
    u_factor, v_rest = cell.scale * cell.gain[0], network.populations["P"].parameters["v_rest"]
    # Lava records u after the step's input (its Monitor's moment: our ``spynnaker``), v after the step
    after_input = make_backend("lava", recording="spynnaker").run(network, float(TICKS)).traces["P"]
    at_end = make_backend("lava").run(network, float(TICKS)).traces["P"]
    assert units(after_input["isyn_exc"][:, 0], u_factor) == [0] + expected_u
    assert units(at_end["v"][:, 0] - v_rest, cell.scale) == [0] + expected_v
    # the reference on FixedPointLIF records the end of the tick: u decayed once more, v the same
    reference_network = lowered.reference_network()
    assert isinstance(reference_network.populations["P"].arithmetic, nd.FixedPointLIF)
    reference = make_backend("brian2").run(reference_network, float(TICKS)).traces["P"]
    keep = 4096 - (du + 1)
    assert units(reference["isyn_exc"][:, 0], u_factor) == [0] + [u * keep >> 12 for u in expected_u]
    assert units(reference["v"][:, 0] - v_rest, cell.scale) == [0] + expected_v
    if case == "impulse_du":
        assert expected_u == LAVA_IMPULSE_DU_U
    else:
        assert expected_v == LAVA_IMPULSE_DV_V


# --- a LIF without decay, driven by its bias: PIF_curr_delta and PI_curr_delta on Lava ----------------


def bias_driven_network(cell_type: str, parameters: dict, silent_weight: float, ticks: int) -> nd.Network:
    """One neuron, and a source that never spikes: Lava's tests drive their LIF from a process sending
    zeros. Its weight, the largest charge a tick could bring, bounds the voltage scale S (the largest power
    of two keeping one tick's input within u's range), which sets the integers Lava receives."""
    network = nd.Network("lava_bias", semantics=nd.Semantics(threshold=">"), duration=float(ticks))
    network.population("P", 1, cell_type, parameters={"cm": 1.0, **parameters})
    network.spike_source("S", [[]])
    network.project("S", "P", nd.OneToOne(), weight=silent_weight, delay=1.0, label="silent")
    network.record("P", ["spikes", "v"] if cell_type == "PIF_curr_delta" else ["v"])
    return network


def test_lavas_no_decay_on_the_lava_backend():
    """``test_bitacc_pm_no_decay``: a bias-driven neuron spiking every fifth step, with Lava's bias and
    threshold as the lowering's integers."""
    # Lava: bias 2 << 6, threshold 8 << 6. Here dt i_offset / cm is 2 mV a tick and v_thresh 8 mV; the silent
    # input's 24000 nA ms and the bias's 2 mV bound S by 2^21 / 24002, so S is 64 units per mV: v_thresh is
    # 512 = 8 << 6 and the bias 128 = 2 << 6 (our lowering's least exponent: mantissa 128 at 0)
    network = bias_driven_network(
        "PIF_curr_delta", {"i_offset": 2.0, "v_thresh": 8.0, "v_reset": 0.0, "tau_refrac": 0.0}, 24000.0, 10
    )
    cell = lower_for_lava(network).populations["P"]
    assert cell.scale == 64 and int(cell.dv[0]) == 0 and int(cell.vth[0]) == 8 << 6
    bias_integer = int(cell.bias_mant[0]) << int(cell.bias_exp[0])  # 128 at exponent 0: Lava's 2 at 6
    assert bias_integer == 2 << 6
    expected_v, expected_spikes = lava_lif_bias_driven(int(cell.bias_mant[0]), int(cell.bias_exp[0]), 8, 10)
    assert expected_spikes == LAVA_NO_DECAY_SPIKE_STEPS
    result = make_backend("lava").run(network, 10.0)
    assert result.spikes.ticks("P")[0].tolist() == expected_spikes
    assert units(result.traces["P"]["v"][:, 0], cell.scale) == expected_v


def test_lavas_scaling_of_bias_on_the_lava_backend():
    """``test_bitacc_pm_scaling_of_bias``: the largest bias mantissa shifted by its exponent without
    overflow, the lowering's bias being Lava's mantissa and exponent."""
    # Lava: bias_mant 4095, bias_exp 5, v after one step 4095 * 2^5. Here the silent input's 1500 nA ms and
    # the bias's i_offset (about 128 mV a tick) bound S by 2^21 / 1628, so S is 1024 units per mV, and
    # i_offset is that v in mV
    network = bias_driven_network("PI_curr_delta", {"i_offset": LAVA_SCALED_BIAS_V / 1024}, 1500.0, 1)
    cell = lower_for_lava(network).populations["P"]
    assert cell.scale == 1024 and int(cell.dv[0]) == 0
    assert (int(cell.bias_mant[0]), int(cell.bias_exp[0])) == (2**12 - 1, 5)
    expected_v = lava_lif_bias_driven(int(cell.bias_mant[0]), int(cell.bias_exp[0]), 2**17, 1)[0]
    result = make_backend("lava").run(network, 1.0)
    assert units(result.traces["P"]["v"][:, 0], cell.scale) == expected_v == [LAVA_SCALED_BIAS_V]


# --- Dense: the synaptic input a lowered projection delivers -------------------------------------------

DENSE_TICKS = 8  # the published delay tests' num_steps


def dense_network(weights: np.ndarray, delays: np.ndarray) -> nd.Network:
    """The published Dense as a projection: every pair, the weight ``weights[post, pre]`` (nA) and the
    delay of ``delays[post, pre]`` steps plus a tick (the description's least delay is Lava's Dense
    without delay), every input spiking in the published step, onto current cells whose u forgets each
    tick (tau_syn so short that du is the largest)."""
    network = nd.Network("lava_dense", duration=float(DENSE_TICKS))
    parameters = {"tau_syn_E": 0.1, "tau_syn_I": 0.1, "tau_refrac": 0.0}
    network.population("P", 3, "IF_curr_exp", parameters=parameters)
    network.spike_source("S", [[3.0]] * 4)
    post, pre = np.nonzero(np.ones(weights.shape))
    network.project(
        "S",
        "P",
        nd.FromList(pre=pre, post=post),
        weight=weights[post, pre],
        delay=delays[post, pre] + 1.0,
        label="dense",
    )
    network.record("P", ["v", "isyn_exc"])
    return network


def delivered_from_v(v: np.ndarray, dv: int) -> np.ndarray:
    """Each tick's u from v at the end of the ticks: ``v' = v (4096 - dv) >> 12 (toward zero) + u``."""
    before = np.vstack([np.zeros((1, v.shape[1]), dtype=np.int64), v[:-1]]) * (4096 - dv)
    return v - np.sign(before) * (np.abs(before) >> 12)


@pytest.mark.parametrize("case, delays", [("fan_out_excitatory", [0, 0, 0]), ("fan_out_excitatory_delay", [0, 1, 2])])
def test_lavas_dense_fan_out_on_the_lava_backend_and_the_fixed_point_reference(case, delays):
    """``test_bitacc_pm_fan_out_excitatory`` (``Dense``) and ``..._delay`` (``DelayDense``): the integers
    Lava's model makes of the published weights (cast toward zero, clipped) as the projection's mantissas
    at exponent 0 (our lowering neither truncates, it rounds, nor clips, it raises the exponent); every
    tick's delivered input read from u after the input on Lava and from v on Lava and on the reference."""
    published, delay = fan_out([0.5, 300, 40], delays)
    a_out = lava_dense_excitatory(published, delay, send_step=3, steps=DENSE_TICKS)
    integers = np.clip(published.astype(np.int32), 0, 255)
    probe = lower_for_lava(dense_network(np.ones(published.shape), delay)).projections["dense"]  # S: the levels'
    network = dense_network(integers * float(probe.unit[0]) / 2**probe.weight_exp, delay)
    lowered = lower_for_lava(network)
    fixed, cell = lowered.projections["dense"], lowered.populations["P"]
    order = network.connections("dense")
    assert fixed.weight_exp == 0
    assert fixed.mantissas.tolist() == integers[order.post, order.pre].tolist()
    assert int(cell.du_exc[0]) == 4095 and cell.input.u_scale(cell.scale) == cell.scale
    u_factor, dv, v_rest = cell.scale * cell.gain[0], int(cell.dv[0]), network.populations["P"].parameters["v_rest"]
    after_input = make_backend("lava", recording="spynnaker").run(network, float(DENSE_TICKS)).traces["P"]
    assert units(after_input["isyn_exc"], u_factor) == (a_out << 6).tolist()
    at_end = make_backend("lava").run(network, float(DENSE_TICKS)).traces["P"]
    reference_network = lowered.reference_network()
    assert isinstance(reference_network.populations["P"].arithmetic, nd.FixedPointLIF)
    reference = make_backend("brian2").run(reference_network, float(DENSE_TICKS)).traces["P"]
    for trace in (at_end, reference):
        v = np.array(units(trace["v"] - v_rest, cell.scale))
        assert delivered_from_v(v, dv).tolist() == (a_out << 6).tolist()
