"""The Brian2 reference against values derived by hand from the semantics (target-semantics.md).

Notation: E = exp(-dt/tau_m), D = exp(-dt/tau_syn), R = tau_m/cm, init = (tau_syn/dt)(1 - D).
"""

import math

import numpy as np
import pytest

import neurodeploy as nd
from conftest import run_reference


def single_neuron(i_offset=0.0, **parameters):
    net = nd.Network("one")
    net.population("P", 1, parameters={"i_offset": i_offset, **parameters})
    net.record("P", ["spikes", "v"])
    return net


def test_membrane_trace_under_constant_current():
    # tau_m 10 ms, cm 1 nF (R = 10 MOhm), 1 nA: a = v_rest + 10 mV, V_n = a - E^n (a - v_rest).
    result = run_reference(single_neuron(i_offset=1.0, tau_m=10.0, cm=1.0), 30.0)
    v = result.traces["P"]["v"][:, 0]
    n = np.arange(1, 31)
    expected = -55.0 - np.exp(-n / 10.0) * 10.0
    np.testing.assert_allclose(v, expected, rtol=0, atol=1e-12)
    assert v[0] == pytest.approx(-65.0 + 10.0 * (1 - math.exp(-0.1)), abs=1e-12)  # -64.048374180...
    assert v[0] == pytest.approx(-64.04837418035960, abs=1e-12)
    assert not any(len(t) for t in result.spikes.populations["P"])


def psp_network(weight, delay=1.0, receptor="excitatory", **semantics):
    net = nd.Network("psp", nd.Semantics(**semantics))
    net.spike_source("S", [[5.0]])
    net.population("P", 1, parameters={"tau_m": 10.0, "cm": 0.5, "tau_syn_E": 2.0, "tau_syn_I": 2.0})
    net.project("S", "P", nd.OneToOne(), weight=weight, delay=delay, receptor=receptor)
    net.record("P", ["spikes", "v"])
    return net


def test_psp_shape_and_peak():
    # Input arrives in tick 6 (spike in tick 5, delay 1). Tick k >= 6: I_k = init*w*D^(k-6),
    # V_k - v_rest = (1-E) R init w sum_{j=0}^{k-6} D^j E^(k-6-j).
    w, E, D, R = 1.0, math.exp(-0.1), math.exp(-0.5), 20.0
    init = 2.0 * (1 - D)
    result = run_reference(psp_network(w), 40.0)
    v = result.traces["P"]["v"][:, 0] + 65.0
    assert np.all(v[:6] == 0.0)
    expected = [(1 - E) * R * init * w * sum(D**j * E ** (m - j) for j in range(m + 1)) for m in range(34)]
    np.testing.assert_allclose(v[6:], expected, rtol=1e-12, atol=1e-12)
    peak_tick = int(np.argmax(v))
    assert peak_tick == 6 + int(np.argmax(expected))
    assert peak_tick == 9  # rises while D^m > E^m (1-E)/(1-D) ... first decreasing step after m = 3
    assert v[6] == pytest.approx((1 - E) * R * init, rel=1e-12)  # 1.4976... mV in the arrival tick


def test_inhibitory_psp_is_the_mirror_image():
    excitatory = run_reference(psp_network(1.0), 20.0).traces["P"]["v"][:, 0] + 65.0
    inhibitory = run_reference(psp_network(1.0, receptor="inhibitory"), 20.0).traces["P"]["v"][:, 0] + 65.0
    np.testing.assert_allclose(inhibitory, -excitatory, rtol=0, atol=1e-12)


def test_a_population_may_give_its_own_init_factor():
    network = psp_network(1.0)
    data = network.to_dict()
    data["populations"][0]["synaptic_init"] = {"excitatory": 0.5}
    given = nd.Network.from_dict(data)
    assert nd.Network.from_dict(given.to_dict()).to_dict() == given.to_dict()  # exact round trip
    v = run_reference(given, 10.0).traces["P"]["v"][6, 0] + 65.0
    assert v == pytest.approx((1 - math.exp(-0.1)) * 20.0 * 0.5, rel=1e-12)  # (1 - E) R init w
    for bad, words in (({"excitatory": 0.0}, "must be > 0"), ({"dopamine": 1.0}, "unknown field")):
        data["populations"][0]["synaptic_init"] = bad
        with pytest.raises(nd.ValidationError, match=words):
            nd.Network.from_dict(data)


def test_init_factor_is_applied_or_not_as_declared():
    scaled = run_reference(psp_network(1.0), 10.0).traces["P"]["v"][6, 0] + 65.0
    unscaled = run_reference(psp_network(1.0, synaptic_init="none"), 10.0).traces["P"]["v"][6, 0] + 65.0
    assert scaled / unscaled == pytest.approx(2.0 * (1 - math.exp(-0.5)), rel=1e-12)


@pytest.mark.parametrize("delay", [1, 2, 5, 17])
def test_delay_arrival_tick(delay):
    # The source fires in tick 5; with delay d the input enters in tick 5 + d, not a tick earlier.
    result = run_reference(psp_network(1.0, delay=float(delay)), 30.0)
    v = result.traces["P"]["v"][:, 0]
    first_change = int(np.flatnonzero(v != -65.0)[0])
    assert first_change == 5 + delay
    strong = run_reference(psp_network(50.0, delay=float(delay)), 30.0)
    assert strong.spikes.populations["P"][0].tolist()[0] == 5.0 + delay


def test_runs_fed_in_segments_equal_one_piece_runs(monkeypatch):
    # Long runs feed the spike generators segment by segment (SEGMENT_STEPS): spikes in the last tick
    # of a segment, the first of the next and later arrive after their delay, as in one piece.
    from neurodeploy.backends import brian2 as backend

    edge = 50
    monkeypatch.setattr(backend, "SEGMENT_STEPS", edge)
    net = nd.Network("segments")
    net.spike_source("S", [[edge - 1.0, edge + 0.0, edge + 3.0, 2 * edge + 0.0]])
    net.population("P", 1, parameters={"tau_refrac": 0.0})
    net.project("S", "P", nd.OneToOne(), weight=1.0, delay=2.0)
    net.record("P", ["spikes", "v"])
    segmented = run_reference(net, 3 * edge).traces["P"]["v"][:, 0]
    assert int(np.flatnonzero(segmented != -65.0)[0]) == edge - 1 + 2
    monkeypatch.setattr(backend, "SEGMENT_STEPS", 10**9)
    assert np.array_equal(segmented, run_reference(net, 3 * edge).traces["P"]["v"][:, 0])


@pytest.mark.parametrize("tau_refrac, held_ticks", [(0.0, 0), (0.1, 1), (1.0, 1), (2.0, 2), (2.5, 3), (5.0, 5)])
def test_refractory_period_holds_v_for_ceil_ticks(tau_refrac, held_ticks):
    # A current so large that V crosses threshold in the first tick it integrates: the neuron
    # fires every held_ticks + 1 ticks, and V stays at v_reset in the held ticks.
    result = run_reference(single_neuron(i_offset=100.0, tau_refrac=tau_refrac), 40.0)
    spikes = result.spikes.populations["P"][0]
    assert np.all(np.diff(spikes) == held_ticks + 1)
    assert spikes[0] == 0.0
    v = result.traces["P"]["v"][:, 0]
    for spike in spikes[:-1].astype(int):
        held = v[spike + 1 : spike + 1 + held_ticks]
        assert np.all(held == -65.0)


@pytest.mark.parametrize("comparison, fires", [(">=", True), (">", False)])
def test_threshold_comparison_is_explicit(comparison, fires):
    # V starts exactly at v_rest = v_thresh and no input keeps it there bit for bit; after a reset
    # below it, V only approaches v_rest and never reaches it again.
    net = nd.Network("edge", nd.Semantics(threshold=comparison))
    net.population("P", 1, parameters={"v_rest": -50.0, "v_reset": -60.0, "v_thresh": -50.0})
    net.record("P", ["spikes"])
    spikes = run_reference(net, 10.0).spikes.populations["P"][0]
    assert spikes.tolist() == ([0.0] if fires else [])


def test_threshold_is_tested_while_refractory():
    # Step 3 is not conditioned on refractoriness: with v_reset at threshold, V held at v_reset
    # spikes again in every held tick.
    net = nd.Network("held")
    net.population("P", 1, parameters={"v_rest": -50.0, "v_reset": -50.0, "v_thresh": -50.0, "tau_refrac": 3.0})
    net.record("P", ["spikes"])
    assert run_reference(net, 5.0).spikes.populations["P"][0].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]


# --- STDP -------------------------------------------------------------------------------------

TAU_PLUS, TAU_MINUS, A_PLUS, A_MINUS, W0 = 4.0, 5.0, 0.1, 0.12, 0.5


def stdp_pair(lag, delay=1, final_pre=40.0, semantics=None, dependence="additive", pre_times=(10.0,)):
    """A pre spike at 10 and a post spike at t_post = 10 + lag - delay, so that the post spike seen
    shifted by the delay lies ``lag`` ticks after the pre spike. The post cell is driven by a
    separate strong input one tick ahead; a last pre spike at ``final_pre`` commits lazy updates."""
    t_post = 10.0 + lag - delay
    net = nd.Network("pair")
    times = list(pre_times) + ([final_pre] if final_pre else [])
    net.spike_source("pre", [times])
    net.spike_source("drive", [[t_post - 1.0]])
    net.population("post", 1, parameters={"tau_m": 10.0, "cm": 1.0, "tau_syn_E": 0.3})
    net.project("drive", "post", nd.OneToOne(), weight=200.0, delay=1.0)
    rule = nd.STDP(
        tau_plus=TAU_PLUS,
        tau_minus=TAU_MINUS,
        A_plus=A_PLUS,
        A_minus=A_MINUS,
        w_min=0.0,
        w_max=1.0,
        weight_dependence=dependence,
        semantics=semantics or nd.STDPSemantics(),
    )
    net.project("pre", "post", nd.OneToOne(), weight=W0, delay=float(delay), plasticity=rule, label="plastic")
    net.record("post", ["spikes"])
    result = run_reference(net, 60.0)
    assert result.spikes.populations["post"][0].tolist() == [t_post]
    return result.weights["plastic"]["weight"][0], 10.0 + lag


def final_depression(shifted_post):
    return A_MINUS * math.exp(-(40.0 - shifted_post) / TAU_MINUS)


@pytest.mark.parametrize("delay", [1, 2])
@pytest.mark.parametrize("lag", [-2, -1, 0, 1, 2])
def test_spynnaker_stdp_pair(lag, delay):
    weight, shifted_post = stdp_pair(lag, delay)
    if lag > 0:
        expected = W0 + A_PLUS * math.exp(-lag / TAU_PLUS)
    elif lag == 0:
        expected = W0 - A_MINUS  # no earlier pre to potentiate against; depression at zero lag
    else:
        expected = W0 - A_MINUS * math.exp(lag / TAU_MINUS)
    expected -= final_depression(shifted_post)
    assert weight == pytest.approx(expected, abs=1e-12)


def test_coincident_spikes_pre_first_potentiates_at_zero_lag():
    weight, shifted_post = stdp_pair(0, semantics=nd.STDPSemantics(coincident_spikes="pre_first"))
    assert weight == pytest.approx(W0 + A_PLUS - final_depression(shifted_post), abs=1e-12)


def test_post_shift_none_uses_the_unshifted_post_time():
    # With delay 2 and no shift, a post spike at 9 is one tick *before* the pre at 10.
    weight, _ = stdp_pair(1, delay=2, semantics=nd.STDPSemantics(post_spike_shift="none"))
    assert weight == pytest.approx(
        W0 - A_MINUS * math.exp(-1 / TAU_MINUS) - A_MINUS * math.exp(-31 / TAU_MINUS), abs=1e-12
    )


def test_lazy_update_is_invisible_until_the_next_pre_spike():
    lazy, _ = stdp_pair(1, final_pre=None)
    assert lazy == W0
    eager, _ = stdp_pair(1, final_pre=None, semantics=nd.STDPSemantics(weight_update="at_each_spike"))
    assert eager == pytest.approx(W0 + A_PLUS * math.exp(-1 / TAU_PLUS), abs=1e-12)


def test_amplitude_scaled_by_w_max():
    net_weight, _ = stdp_pair(1, semantics=nd.STDPSemantics(amplitude="scaled_by_w_max"))
    assert net_weight == pytest.approx(W0 + A_PLUS * math.exp(-1 / TAU_PLUS) - final_depression(11.0), abs=1e-12)


def test_multiplicative_weight_dependence():
    weight, shifted_post = stdp_pair(1, dependence="multiplicative")
    after_post = W0 + A_PLUS * math.exp(-1 / TAU_PLUS) * (1.0 - W0)
    expected = after_post - A_MINUS * math.exp(-(40.0 - shifted_post) / TAU_MINUS) * (after_post - 0.0)
    assert weight == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("traces, pre_trace", [("all_to_all", math.exp(-2 / TAU_PLUS) + 1), ("nearest_symmetric", 1.0)])
def test_pre_traces_accumulate_or_not(traces, pre_trace):
    # Pre spikes at 8 and 10, shifted post at 11: potentiation uses the trace at the last pre.
    weight, shifted_post = stdp_pair(1, pre_times=(8.0, 10.0), semantics=nd.STDPSemantics(traces=traces))
    expected = W0 + A_PLUS * pre_trace * math.exp(-1 / TAU_PLUS) - final_depression(shifted_post)
    assert weight == pytest.approx(expected, abs=1e-12)


def paired_weight(traces, pre_times, post_times, delay):
    """The final weight of one plastic synapse (tau+- 20 ms, A+ 0.1, A- 0.12, w0 0.5) whose post cell
    spikes at ``post_times`` (driven separately, one tick ahead)."""
    net = nd.Network("pairs")
    net.spike_source("pre", [list(pre_times)])
    net.spike_source("drive", [[t - 1.0 for t in post_times]])
    net.population("post", 1, parameters={"tau_m": 10.0, "cm": 1.0, "tau_syn_E": 0.3})
    net.project("drive", "post", nd.OneToOne(), weight=200.0, delay=1.0)
    rule = nd.STDP(A_plus=0.1, A_minus=0.12, w_max=1.0, semantics=nd.STDPSemantics(traces=traces))
    net.project("pre", "post", nd.OneToOne(), weight=0.5, delay=float(delay), plasticity=rule, label="plastic")
    net.record("post", ["spikes"])
    result = run_reference(net, 60.0)
    assert result.spikes.populations["post"][0].tolist() == list(post_times)
    return result.weights["plastic"]["weight"][0]


@pytest.mark.parametrize(
    "traces, potentiation, trace_at_31",
    [
        (
            "all_to_all",
            math.exp(-4 / 20) + math.exp(-6 / 20) + math.exp(-21 / 20),
            (math.exp(-0.1) + 1) * math.exp(-0.75) + 1,
        ),
        ("nearest_symmetric", math.exp(-4 / 20) + math.exp(-6 / 20) + math.exp(-21 / 20), 1.0),
        ("nearest_spynnaker", math.exp(-4 / 20), 1.0),
    ],
)
def test_which_post_events_pair_with_a_pre_spike(traces, potentiation, trace_at_31):
    # Pre at 10 and 40, post at 13, 15, 30 seen at 14, 16, 31 (delay 1). All three post events follow
    # the pre at 10: all-to-all and symmetric nearest pair each with it, sPyNNaker's nearest only the
    # first (the post spike before 15 is 13, after 10). The pre at 40 depresses against 31, with the
    # post trace there (accumulated, or 1).
    weight = paired_weight(traces, (10.0, 40.0), (13.0, 15.0, 30.0), 1)
    assert weight == pytest.approx(0.5 + 0.1 * potentiation - 0.12 * trace_at_31 * math.exp(-9 / 20), abs=1e-12)


def test_spynnaker_nearest_pairs_compare_the_unshifted_post_spike_with_the_pre_spike():
    # Delay 3: post spikes at 9 and 11 are seen at 12 and 14, both after the pre at 10. The second
    # still pairs: the post spike before it, 9, is not later than 10. The pre at 40 depresses against 14.
    weight = paired_weight("nearest_spynnaker", (10.0, 40.0), (9.0, 11.0), 3)
    assert weight == pytest.approx(0.5 + 0.1 * (math.exp(-2 / 20) + math.exp(-4 / 20)) - 0.12 * math.exp(-26 / 20))


def test_a_first_pre_spike_pairs_spynnaker_nearest_against_time_zero():
    # Post at 2 (seen at 3), one pre at 10: sPyNNaker's last pre time is 0 before a first spike, so the
    # post event potentiates by exp(-3/20); all-to-all traces are 0 then. Both depress against 3.
    depression = 0.12 * math.exp(-7 / 20)
    assert paired_weight("nearest_spynnaker", (10.0,), (2.0,), 1) == pytest.approx(
        0.5 + 0.1 * math.exp(-3 / 20) - depression, abs=1e-12
    )
    assert paired_weight("all_to_all", (10.0,), (2.0,), 1) == pytest.approx(0.5 - depression, abs=1e-12)


def clamp_network() -> nd.Network:
    """Pre spikes each just before a post spike: potentiation takes the plastic weight past w_max, where it stops."""
    net = nd.Network("clamp")
    net.spike_source("pre", [[10.0, 12.0, 14.0, 40.0]])
    net.spike_source("drive", [[11.0, 13.0, 15.0]])
    net.population("post", 1, parameters={"tau_syn_E": 0.3, "tau_refrac": 0.0})
    net.project("drive", "post", nd.OneToOne(), weight=200.0)
    rule = nd.STDP(tau_plus=20.0, tau_minus=20.0, A_plus=0.5, A_minus=0.0, w_max=1.0)
    net.project("pre", "post", nd.OneToOne(), weight=0.9, plasticity=rule, label="plastic")
    return net


def test_weights_clamp_at_bounds():
    assert run_reference(clamp_network(), 50.0).weights["plastic"]["weight"][0] == 1.0


def test_final_weights_outlive_the_run_that_made_them():
    # The clamp network's weight reaches w_max = 1.0; another run afterwards (Brian2 reuses the memory of
    # a network that is gone) must leave it 1.0, not what the later run wrote there.
    net = clamp_network()
    first = run_reference(net, 50.0)
    for _ in range(3):
        run_reference(net.replaced(projections={}), 50.0)
    assert first.weights["plastic"]["weight"].tolist() == [1.0]


def test_delivered_weight_before_or_after_update():
    # Post spike at 9, seen at 10 (delay 1): the pre spike at 10 is at zero lag, o = 1, and the
    # depression halves the weight. after_update delivers 0.5, before_update the old 1.0. The
    # plastic input's share of V in tick 11 (V minus V without the pre spike) shows which.
    def plastic_share(delivered):
        def v_at_11(pre_times):
            net = nd.Network("delivered")
            net.spike_source("pre", [pre_times])
            net.spike_source("drive", [[8.0]])
            net.population("post", 1, parameters={"tau_syn_E": 0.3})
            net.project("drive", "post", nd.OneToOne(), weight=200.0)
            rule = nd.STDP(A_plus=0.0, A_minus=0.5, w_max=1.0, semantics=nd.STDPSemantics(delivered_weight=delivered))
            net.project("pre", "post", nd.OneToOne(), weight=1.0, plasticity=rule, label="plastic")
            net.record("post", ["spikes", "v"])
            result = run_reference(net, 20.0)
            assert result.spikes.populations["post"][0].tolist() == [9.0]
            return result.traces["post"]["v"][11, 0]

        return v_at_11([10.0]) - v_at_11([])

    after, before = plastic_share("after_update"), plastic_share("before_update")
    assert before > 0
    assert after / before == pytest.approx(0.5, rel=1e-9)


def test_physics_mode_runs_static_networks_and_rejects_stdp(small_network):
    # The continuous PSP starts at the spike arrival (t = 6 ms) and rises within the tick, where the
    # discrete model sees the input's first-tick mean: the first spikes fall in the same tick.
    net = psp_network(50.0)
    physics = run_reference(net, 20.0, mode="physics", physics_dt=0.1)
    discrete = run_reference(net, 20.0)
    assert physics.spikes.dt_ms == 0.1
    assert discrete.spikes.populations["P"][0][0] == 6.0
    assert 6.0 < physics.spikes.populations["P"][0][0] < 7.0
    with pytest.raises(nd.BackendError, match="does not run STDP: physics mode runs static projections only"):
        run_reference(small_network, 10.0, mode="physics")


# --- conductance-based cells ---------------------------------------------------------------------


def conductance_psp(weight, receptor="excitatory", v_rest=-65.0, **semantics):
    net = nd.Network("cond", nd.Semantics(**semantics))
    net.spike_source("S", [[5.0]])
    net.population(
        "P",
        1,
        "IF_cond_exp",
        parameters={
            "tau_m": 10.0,
            "cm": 0.5,
            "tau_syn_E": 2.0,
            "tau_syn_I": 2.0,
            "e_rev_E": 0.0,
            "e_rev_I": -80.0,
            "v_rest": v_rest,
        },
    )
    net.project("S", "P", nd.OneToOne(), weight=weight, receptor=receptor)
    net.record("P", ["spikes", "v"])
    return net


@pytest.mark.parametrize("receptor, reversal", [("excitatory", 0.0), ("inhibitory", -80.0)])
def test_conductance_psp_drives_with_the_voltage_the_tick_starts_from(receptor, reversal):
    # Tick k >= 6: g_k = init*w*D^(k-6); V_k = a_k - E (a_k - V_{k-1}), a_k = v_rest + R g_k (E_rev - V_{k-1}).
    w, E, D, R = 0.05, math.exp(-0.1), math.exp(-0.5), 20.0
    init = 2.0 * (1 - D)
    v = run_reference(conductance_psp(w, receptor), 30.0).traces["P"]["v"][:, 0]
    assert np.all(v[:6] == -65.0)
    expected, previous = [], -65.0
    for m in range(24):
        a = -65.0 + R * init * w * D**m * (reversal - previous)
        previous = a - E * (a - previous)
        expected.append(previous)
    np.testing.assert_allclose(v[6:], expected, rtol=0, atol=1e-12)
    assert v[6] == pytest.approx(-65.0 + (1 - E) * R * init * w * (reversal + 65.0), abs=1e-12)


def test_conductance_input_reverses_at_the_reversal_potential():
    # An inhibitory conductance (E_rev_I -80 mV) pulls V down from above -80 mV and up from below it:
    # the sign of the driving force, which a current-based synapse cannot have.
    def v6(v_rest):
        return run_reference(conductance_psp(0.05, "inhibitory", v_rest=v_rest), 10.0).traces["P"]["v"][6, 0]

    assert v6(-60.0) < -60.0 and v6(-90.0) > -90.0


def test_physics_mode_runs_conductance_cells_close_to_the_ticks():
    discrete = run_reference(conductance_psp(0.05), 30.0).traces["P"]["v"][:, 0]
    physics = run_reference(conductance_psp(0.05), 30.0, mode="physics", physics_dt=0.1).traces["P"]["v"][:, 0]
    # Same PSP amplitude to within the half-tick timing difference of the two modes.
    assert (physics.max() + 65.0) == pytest.approx(discrete.max() + 65.0, rel=0.15)


def test_weight_units_follow_the_post_cell():
    net = nd.Network("units")
    net.spike_source("S", [[1.0]])
    net.population("C", 1, "IF_cond_exp")
    net.population("I", 1)
    net.project("S", "C", nd.OneToOne(), weight="0.2 uS", label="ok")
    assert net.connections("ok").weight[0] == pytest.approx(0.2)
    net.project("S", "C", nd.OneToOne(), weight="200 nS", label="ok2")
    assert net.connections("ok2").weight[0] == pytest.approx(0.2)
    with pytest.raises(nd.ValidationError, match="projection 'bad'.*'C' is IF_cond_exp: its weights are conductances"):
        net.project("S", "C", nd.OneToOne(), weight="12 nA", label="bad")
    with pytest.raises(
        nd.ValidationError, match="'I' is IF_curr_exp: its weights are currents \\(nA\\), got a value in uS"
    ):
        net.project("S", "I", nd.OneToOne(), weight=0.2, label="bad", plasticity=nd.STDP(w_max="1 uS", w_min=0.0))
    with pytest.raises(
        nd.ValidationError,
        match="weight.*expected a current \\(nA\\), a conductance \\(uS\\) or a charge \\(nA\\*ms\\)",
    ):
        net.project("S", "I", nd.OneToOne(), weight="3 mV", label="bad")


# --- STDP on a declared fixed-point arithmetic ----------------------------------------------------

LSB, STEP = 2.0**-10, 2.0**-6  # nA per unit; stored weights are whole 16-unit steps


def fixed_point_run(history, post_ticks=(12, 14, 16, 18, 20), pre_ticks=(10, 30)):
    """One plastic synapse (units: w0 512, A+ 256, A- 128, w_max 1024), tau+- 20 ms; the post cell
    spikes at ``post_ticks``, driven separately."""
    net = nd.Network("fixed")
    net.spike_source("pre", [[float(t) for t in pre_ticks]])
    net.spike_source("drive", [[t - 1.0 for t in post_ticks]])
    net.population("post", 1, parameters={"tau_syn_E": 0.3, "tau_refrac": 0.0})
    net.project("drive", "post", nd.OneToOne(), weight=200.0)
    arithmetic = nd.FixedPointSTDP(weight_lsb=LSB, weight_step=STEP, history=history)
    rule = nd.STDP(
        tau_plus=20.0, tau_minus=20.0, A_plus=256 * LSB, A_minus=128 * LSB, w_max=1024 * LSB, arithmetic=arithmetic
    )
    net.project("pre", "post", nd.OneToOne(), weight=512 * LSB, receptor="inhibitory", plasticity=rule, label="plastic")
    net.record("post", ["spikes"])
    result = run_reference(net, 40.0)
    assert result.spikes.ticks("post")[0].tolist() == list(post_ticks)
    return result.weights["plastic"]["weight"][0] / LSB


def decay(k):
    return math.floor(2048 * math.exp(-k / 20.0))


def expected_units(remembered, post_ticks=(12, 14, 16, 18, 20)):
    """By hand from FixedPointSTDP's steps: the pre spike at 10 finds no post spike and leaves r0 = 2048,
    t0 = 10; the one at 30 (d = 1) potentiates with the ``remembered`` latest post spikes s, each by
    floor(256 floor(2048 E(s + 1 - 10) / 2048) / 2048), and depresses by the trace of the spike at 20."""
    w = 512
    for s in post_ticks[-remembered:]:
        w = min(w + 256 * decay(s + 1 - 10) // 2048, 1024)
    trace, last = 0, 0
    for s in post_ticks:
        trace, last = trace * decay(s - last) // 2048 + 2048, s
    o1 = trace * decay(30 - 20 - 1) // 2048
    w = max(w - 128 * o1 // 2048, 0)
    return w // 16 * 16


@pytest.mark.parametrize("history", [3, 15])
def test_fixed_point_stdp_remembers_the_latest_post_spikes(history):
    weight = fixed_point_run(history)
    assert weight == expected_units(min(history, 5))
    assert expected_units(3) != expected_units(5)  # the memory matters here


def test_fixed_point_stdp_floors_to_whole_steps():
    # Post at 12 only (trace 2048): potentiation floor(256 E(3) / 2048), depression
    # floor(128 E(17) / 2048) from 512 leave a count of units off the 16-unit grid; the store floors it.
    weight = fixed_point_run(15, post_ticks=(12,))
    raw = 512 + 256 * decay(3) // 2048 - 128 * decay(17) // 2048
    assert raw % 16 and weight == raw // 16 * 16


def test_fixed_point_arithmetic_is_validated():
    rule = dict(tau_plus=20.0, tau_minus=20.0, A_plus=256 * LSB, A_minus=128 * LSB, w_max=1024 * LSB)
    with pytest.raises(nd.ValidationError, match="A_plus.*whole units of weight_lsb"):
        nd.STDP(**{**rule, "A_plus": 256.5 * LSB}, arithmetic=nd.FixedPointSTDP(LSB, STEP)).validate("p")
    with pytest.raises(nd.ValidationError, match="trace_bits.*at most 15, got 2000"):
        nd.STDP(**rule, arithmetic=nd.FixedPointSTDP(LSB, STEP, trace_bits=2000)).validate("p")
    with pytest.raises(nd.ValidationError, match="trace_width.*must exceed trace_bits"):
        nd.STDP(**rule, arithmetic=nd.FixedPointSTDP(LSB, STEP, trace_bits=12, trace_width=12)).validate("p")
    with pytest.raises(nd.ValidationError, match="deferred rule"):
        nd.STDP(**rule, semantics=nd.STDPSemantics.immediate(), arithmetic=nd.FixedPointSTDP(LSB, STEP)).validate("p")
    net = nd.Network("grid")
    net.spike_source("pre", [[1.0]])
    net.population("post", 1)
    net.project(
        "pre",
        "post",
        nd.OneToOne(),
        weight=520 * LSB,  # not a whole step of 16 units
        plasticity=nd.STDP(**rule, arithmetic=nd.FixedPointSTDP(LSB, STEP)),
    )
    with pytest.raises(nd.ValidationError, match="whole steps of weight_step"):
        net.validate()
    for field, value, words in (
        ("decay_rounding", "up", "must be one of 'floor', 'nearest'"),
        ("weight_signed", 1, "expected true or false"),
    ):
        with pytest.raises(nd.ValidationError, match=f"{field}.*{words}"):
            nd.STDP(**rule, arithmetic=nd.FixedPointSTDP(LSB, STEP, **{field: value})).validate("p")
    with pytest.raises(nd.ValidationError, match="v_unit.*must be > 0"):
        nd.Population("P", 1, arithmetic={"v_unit": 0.0})
    with pytest.raises(nd.ValidationError, match="state_bits.*at most 32"):
        nd.Population("P", 1, arithmetic=nd.FixedPointLIF(0.01, state_bits=40))
    with pytest.raises(nd.ValidationError, match="conductance_shift.*IF_curr_exp has none"):
        nd.Population("P", 1, arithmetic={"v_unit": 0.01, "conductance_shift": 3})
    with pytest.raises(nd.ValidationError, match="'combined' needs .* equal tau_syn_E and tau_syn_I"):
        nd.Population("P", 1, parameters={"tau_syn_I": 10.0}, arithmetic={"v_unit": 0.01, "currents": "combined"})
    with pytest.raises(nd.ValidationError, match="input_limit.*inhibitory.*is required"):
        nd.Population("P", 1, arithmetic={"kind": "accumulator", "input_limit": {"excitatory": 1.0}})
    with pytest.raises(nd.ValidationError, match="kind.*must be one of 'fixed_point', 'accumulator'"):
        nd.Population("P", 1, arithmetic={"kind": "float", "v_unit": 0.01})
    accumulators = nd.Population("P", 1, arithmetic=nd.Accumulator({"excitatory": 2.0, "inhibitory": 1.0}))
    assert nd.Population(**accumulators.to_dict()).to_dict() == accumulators.to_dict()
    population = nd.Population("P", 1, "IF_cond_exp", arithmetic={"v_unit": 0.01, "conductance_shift": 3})
    assert nd.Population(**{**population.to_dict()}).to_dict() == population.to_dict()
    loaded = nd.STDP.from_dict(nd.STDP(**rule, arithmetic=nd.FixedPointSTDP(LSB, STEP, history=3)).to_dict(), "p")
    assert loaded.arithmetic.to_dict() == nd.FixedPointSTDP(LSB, STEP, history=3).to_dict()


# --- a membrane on a declared fixed-point arithmetic -----------------------------------------------


def test_fixed_point_membrane_follows_its_stated_integers():
    # S = 64 units per mV, 12-bit decays. By hand, from FixedPointLIF's steps: E = rint(4096 e^-1/20) /
    # 4096, bias = rint(64 (1 - E) 20 i_offset), an input spike adds 64 (1 - E) 20 init w to u (here not
    # a whole number: rounded), v = trunc(v E) + u_exc - u_inh + bias (toward zero: v goes below rest
    # after the inhibitory spike at 40), spikes at level 960 (-50 mV), reset to 0 units, held 2 ticks.
    net = nd.Network("integers")
    net.spike_source("exc", [[3.0, 4.0, 30.0]])
    net.spike_source("inh", [[40.0]])
    net.population(
        "P",
        1,
        parameters={"i_offset": 0.6, "tau_refrac": 2.0, "v_reset": -65.0},
        arithmetic=nd.FixedPointLIF(v_unit=1 / 64),
    )
    net.project("exc", "P", nd.OneToOne(), weight=1.3)
    net.project("inh", "P", nd.OneToOne(), weight=9.0, receptor="inhibitory")
    net.record("P", ["spikes", "v"])
    result = run_reference(net, 60.0)
    keep_m, keep_u = round(4096 * math.exp(-1 / 20)), round(4096 * math.exp(-1 / 5))
    gain = (1 - keep_m / 4096) * 20.0
    bias = round(64 * gain * 0.6)
    per_weight = 64 * gain * (5.0 * (1 - math.exp(-1 / 5)))
    assert per_weight * 1.3 != round(per_weight * 1.3)
    v, u_exc, u_inh, held, spikes, trace = 0, 0, 0, 0, [], []
    for tick in range(60):
        u_exc = round(u_exc + per_weight * 1.3 * sum(tick == t + 1 for t in (3, 4, 30)))
        u_inh = round(u_inh + per_weight * 9.0 * (tick == 41))
        if held <= 0:
            v = math.trunc(v * keep_m / 4096) + u_exc - u_inh + bias
        else:
            held -= 1
        if v >= 960:
            spikes.append(tick)
            v, held = 0, 2
        u_exc, u_inh = math.trunc(u_exc * keep_u / 4096), math.trunc(u_inh * keep_u / 4096)
        trace.append(-65.0 + v / 64)
    assert spikes and min(trace) < -66.0
    assert result.spikes.ticks("P")[0].tolist() == spikes
    assert result.traces["P"]["v"][:, 0].tolist() == trace


def test_accumulator_membrane_follows_its_stated_integers():
    # s16.15 accumulators (sPyNNaker's kernel as Accumulator states it), by hand in Python integers:
    # products floored (// on the exact integer products), u0.32 decay and init, the input capped at
    # 1 nA per tick (two spikes of 0.8 nA arrive together in tick 5), i_offset 1.2 nA.
    net = nd.Network("accumulators")
    net.spike_source("in", [[4.0], [4.0, 20.0]])
    net.population(
        "P",
        1,
        parameters={"i_offset": 1.2},
        arithmetic=nd.Accumulator(input_limit={"excitatory": 1.0, "inhibitory": 1.0}),
    )
    net.project("in", "P", nd.AllToAll(), weight=0.8)
    net.record("P", ["spikes", "v"])
    result = run_reference(net, 40.0)
    one = 32768
    resistance, keep = round(one * 20.0), round(one * math.exp(-1 / 20))
    decay, init = round(2**32 * math.exp(-1 / 5)), round(2**32 * 5 * (1 - math.exp(-1 / 5)))
    v, s, held, spikes, trace = -65 * one, 0, 0, [], []
    for tick in range(40):
        arriving = {5: 1.6, 21: 0.8}.get(tick, 0.0)
        s += round(one * min(arriving, 1.0)) * init // 2**32
        if held <= 0:
            a = (s + round(one * 1.2)) * resistance // one - 65 * one
            v = a - keep * (a - v) // one
        else:
            held -= 1
        if v >= -50 * one:
            spikes.append(tick)
            v, held = -65 * one, 1
        s = s * decay // 2**32
        trace.append(v / one)
    assert spikes and result.spikes.ticks("P")[0].tolist() == spikes
    assert result.traces["P"]["v"][:, 0].tolist() == trace
