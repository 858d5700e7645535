"""Lava's published bit-accurate LIF unit tests (lava-nc/lava ``tests/lava/proc/lif/test_models.py``,
``TestLIFProcessModelsFixed.test_bitacc_pm_impulse_du`` and ``..._impulse_dv``): one input in the first
step onto a neuron whose current halves (its du plus the chip's ds_offset is half of unity) or whose voltage
halves (the current decaying by the least step), re-derived here from the chip's integer step and run as a
description network on the Lava backend and on the reference's FixedPointLIF."""

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


def units(trace: np.ndarray, factor: float) -> list[int]:
    scaled = trace[:, 0] * factor
    np.testing.assert_allclose(scaled, np.rint(scaled), atol=1e-6)  # whole units
    return np.rint(scaled).astype(np.int64).tolist()


def test_the_hand_derived_integers_are_lavas_published_ones():
    assert lava_lif(du=2047, dv=0, activation=128, steps=8)[0] == LAVA_IMPULSE_DU_U
    assert lava_lif(du=0, dv=2048, activation=128, steps=8)[1] == LAVA_IMPULSE_DV_V


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
    assert units(after_input["isyn_exc"], u_factor) == [0] + expected_u
    assert units(at_end["v"] - v_rest, cell.scale) == [0] + expected_v
    # the reference on FixedPointLIF records the end of the tick: u decayed once more, v the same
    reference_network = lowered.reference_network()
    assert isinstance(reference_network.populations["P"].arithmetic, nd.FixedPointLIF)
    reference = make_backend("brian2").run(reference_network, float(TICKS)).traces["P"]
    keep = 4096 - (du + 1)
    assert units(reference["isyn_exc"], u_factor) == [0] + [u * keep >> 12 for u in expected_u]
    assert units(reference["v"] - v_rest, cell.scale) == [0] + expected_v
    if case == "impulse_du":
        assert expected_u == LAVA_IMPULSE_DU_U
    else:
        assert expected_v == LAVA_IMPULSE_DV_V
