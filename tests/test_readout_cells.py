"""Cells without a threshold (LI_curr_delta, LI_curr_exp) or without leak (PIF_curr_delta, PI_curr_delta):
hand-derived traces on the float reference under both discretizations, the NIR nodes they import from
(LI, CubaLI, IF, I) with their traces, export and import again, and the backends and targets that refuse
them."""

import math

import numpy as np
import pytest

import neurodeploy as nd
from conftest import run_reference
from neurodeploy.backends import make_backend
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


def v_trace(result, label="P") -> list[float]:
    return result.traces[label]["v"][:, 0].tolist()


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
