"""The SpiNNaker target: fixed-point values derived by hand, sPyNNaker's own choices on its virtual
board, the hardware recordings, and equivalence with the quantization-aware reference."""

import dataclasses
import json
import math
from typing import ClassVar

import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import ROOT, feedforward_variant, random_plastic_network, run_reference, stdp_pair_network
from neurodeploy.backends import make_backend
from neurodeploy.backends.spinnaker import cells
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_target
from neurodeploy.backends.spinnaker.toolchain import (
    SCRIPT,
    VIRTUAL_BOARD_CONFIG,
    PrivateRun,
    compile_network,
    map_on_virtual_board,
    run_with_private_config,
)
from neurodeploy.catalog import load_model, target_descriptions
from neurodeploy.cli import main
from neurodeploy.description.cells import CurrentInput, LIFParameters
from neurodeploy.errors import BackendError
from neurodeploy.runs.compare import compare
from neurodeploy.runs.deployment import comparison
from test_hippocampus import RECORDINGS, recorded

SPINN5 = target_descriptions()["spinn5"].data


def run_spinnaker(network, duration_ms):
    return make_backend("spinnaker").run(network, duration_ms)


def bits(values):
    """Recorded V (float) back to s16.15 bits: exact, as the float is bits / 2^15."""
    scaled = np.asarray(values) * 32768
    assert np.all(scaled == np.round(scaled))
    return scaled.astype(np.int64)


# --- on-chip constants ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tau, exp_tc, decay, init",
    [
        # Independent values: a separate port of spinn_common 7.4.1's exp (research notes), dt = 1 ms.
        (20.0, 31170, 4085544196, 4188461980),
        (10.0, 29650, 3886339153, 4086281420),
        (5.0, 26828, 3516490311, 3892384920),
        (2.0, 19874, 2605026136, 3379882318),
    ],
)
def test_on_chip_exponentials(tau, exp_tc, decay, init):
    x = (32768 << 15) // fp.s1615(tau)  # kdivk(dt, tau) = floor(2^15 * 2^15 / tau_bits)
    assert fp.expk(-x) == exp_tc
    assert fp.synapse_constants(tau, 1.0) == (decay, init)
    # The 15-bit exp is the truncated exact value; the 32-bit decay carries the quadratic series'
    # error (about 1e-6): the chip's decays are that far from exp, which the quantization-aware
    # reference takes over.
    assert exp_tc == math.floor(math.exp(-x / 32768) * 32768)
    assert 0 < abs(decay / 2**32 - math.exp(-x / 32768)) < 2e-6


def test_encodings_and_small_constants():
    assert fp.s1615(-65.0) == -65 * 32768 and fp.s1615(0.27) == 8847  # 0.27 * 32768 = 8847.36
    assert fp.s1615(2.5 / 32768) == 2  # half to even
    assert fp.membrane_constants(10.0, 1.0, 1.0) == (29650, 10 * 32768)
    assert [fp.refractory_ticks(t, 1.0) for t in (0.0, 0.1, 1.0, 1.5, 2.0)] == [0, 1, 1, 2, 2]
    lut = fp.stdp_lut(20.0, 1.0)
    assert lut.size == 154 and lut[:3].tolist() == [2048, 1948, 1853] and lut[28] == 505


# --- the kernel against hand-derived integer traces -------------------------------------------


def test_membrane_under_constant_current_bit_by_bit():
    net = nd.Network("one")
    net.population("P", 1, parameters={"i_offset": 1.0, "tau_m": 10.0, "cm": 1.0})
    net.record("P", ["v"])
    v = bits(run_spinnaker(net, 20.0).traces["P"]["v"][:, 0])
    # alpha = (I * R >> 15) + v_rest = 32768 * 327680 / 32768 - 2129920; V' = alpha - (E (alpha - V) >> 15)
    alpha, expected, state = 327680 - 2129920, [], -2129920
    for _ in range(20):
        state = alpha - ((29650 * (alpha - state)) >> 15)
        expected.append(state)
    assert v.tolist() == expected
    assert v[0] == -2098740  # -64.0484 mV; the float model gives -64.0484 too


def test_one_synapse_psp_bit_by_bit():
    net = nd.Network("psp")
    net.spike_source("S", [[5.0]])
    net.population("P", 1, parameters={"tau_m": 10.0, "cm": 1.0, "tau_syn_E": 5.0})
    net.project("S", "P", nd.OneToOne(), weight=1.0, delay=1.0)
    net.record("P", ["v"])
    v = bits(run_spinnaker(net, 12.0).traces["P"]["v"][:, 0])
    # One projection of weight 1: W = 1 < 2^1, shift 1; w16 = rint(1 * 2^14) = 16384, read as 16384 << 1.
    assert ring_buffer_scaling(lower(net))["P"][0].shift == 1
    syn = (32768 * 3892384920) >> 32  # input times init, in tick 6 (spike in 5, delay 1)
    state, expected = -2129920, []
    for tick in range(6, 12):
        alpha = ((syn * 327680) >> 15) - 2129920
        state = alpha - ((29650 * (alpha - state)) >> 15)
        expected.append(state)
        syn = (syn * 3516490311) >> 32  # decay after the update
    assert np.all(v[:6] == -2129920)
    assert v[6:].tolist() == expected


def test_conductance_psp_bit_by_bit():
    net = nd.Network("cond")
    net.spike_source("S", [[5.0]])
    net.population("P", 1, "IF_cond_exp", parameters={"tau_m": 10.0, "cm": 1.0, "tau_syn_E": 5.0, "e_rev_E": 0.0})
    net.project("S", "P", nd.OneToOne(), weight=0.01, delay=1.0)
    net.record("P", ["v"])
    v = bits(run_spinnaker(net, 12.0).traces["P"]["v"][:, 0])
    # Conductances are held x1024: the bound is 0.01 * 1024 = 10.24 (sPyNNaker's sum term, 0.01, is
    # left unscaled), shift 4; w16 = rint(10.24 * 2^11) = 20972. g = syn >> 10, I = g (E - V) >> 15.
    scaling = ring_buffer_scaling(lower(net))["P"][0]
    assert (scaling.shift, scaling.max_summed_weight, scaling.resolution) == (4, pytest.approx(10.24), 2.0**-11 / 1024)
    syn = ((20972 << 4) * 3892384920) >> 32
    state, expected = -2129920, []
    for tick in range(6, 12):
        current = ((syn >> 10) * (0 - state)) >> 15
        alpha = ((current * 327680) >> 15) - 2129920
        state = alpha - ((29650 * (alpha - state)) >> 15)
        expected.append(state)
        syn = (syn * 3516490311) >> 32
    assert np.all(v[:6] == -2129920)
    assert v[6:].tolist() == expected


def test_inhibitory_conductance_negates_before_the_product():
    # inh = ((-g) * (E_rev_I - V)) >> 15 floors the negated product, as the chip does; with E_rev_I at
    # -80.3 mV the product is no multiple of 2^15, so -((g * (E_rev_I - V)) >> 15) would differ by one.
    net = nd.Network("cond-inh")
    net.spike_source("S", [[1.0]])
    net.population("P", 1, "IF_cond_exp", parameters={"tau_m": 10.0, "cm": 1.0, "tau_syn_I": 5.0, "e_rev_I": -80.3})
    net.project("S", "P", nd.OneToOne(), weight=0.013, receptor="inhibitory")
    net.record("P", ["v"])
    v = bits(run_spinnaker(net, 3.0).traces["P"]["v"][:, 0])
    units = round(0.013 * 1024 * 2**11)  # shift 4 again (13.3 < 16)
    g = (((units << 4) * 3892384920) >> 32) >> 10
    force = fp.s1615(-80.3) + 2129920
    inh = ((-g) * force) >> 15
    assert inh != -((g * force) >> 15)
    alpha = ((-inh * 327680) >> 15) - 2129920
    assert v[2] == alpha - ((29650 * (alpha + 2129920)) >> 15)


@pytest.mark.parametrize("cell, weight, w_max", [("IF_curr_exp", 0.5, 1.0), ("IF_cond_exp", 0.005, 0.01)])
def test_multiplicative_stdp_learns_at_the_described_rate_on_either_cell(cell, weight, w_max):
    # sPyNNaker writes w_min and w_max times the conductance scale (1024), multiplicative A+ and A-
    # unscaled (they are rates): the weight then moves as on the reference.
    net = nd.Network("multiplicative")
    net.spike_source("S", [[10.0, 30.0, 50.0, 70.0]])
    net.spike_source("T", [[11.0, 31.0, 51.0, 71.0]])
    net.population("P", 1, cell)
    net.project("T", "P", nd.OneToOne(), weight=100 * w_max, label="drive")
    net.project(
        "S",
        "P",
        nd.OneToOne(),
        weight=weight,
        label="plastic",
        plasticity=nd.STDP(
            tau_plus=20.0,
            tau_minus=20.0,
            A_plus=0.01,
            A_minus=0.012,
            w_min=0.0,
            w_max=w_max,
            weight_dependence="multiplicative",
        ),
    )
    net.record("P", ["spikes"])
    reference, target = run_reference(net, 100.0), run_spinnaker(net, 100.0)
    assert target.spikes.ticks("P")[0].tolist() == reference.spikes.ticks("P")[0].tolist()
    expected = reference.weights["plastic"]["weight"][0]
    assert expected < weight and target.weights["plastic"]["weight"][0] == pytest.approx(expected, rel=0.03)


def test_refractory_hold_and_threshold_as_on_chip():
    net = nd.Network("refractory")
    net.population("P", 1, parameters={"i_offset": 100.0, "tau_refrac": 2.0})
    net.record("P", ["spikes", "v"])
    result = run_spinnaker(net, 12.0)
    assert result.spikes.populations["P"][0].tolist() == [0.0, 3.0, 6.0, 9.0]
    assert np.all(result.traces["P"]["v"][[1, 2, 4, 5], 0] == -65.0)


@pytest.mark.parametrize("firing, saturated", [(25, False), (50, True)])
def test_ring_buffer_saturates_at_16_bits(firing, saturated):
    # 100 sources of 1 nA with mixed delays (1, 2, 1, 2, ...): sPyNNaker sizes the ring for a Poisson
    # bound (3 + 5 sqrt(3) = 11.7 nA: shift 4, 2048 units per nA, capacity 0xFFFF units = 32.0 nA).
    # 2 * firing sources fire in tick 2; the `firing` with delay 1 arrive together in tick 3.
    net = nd.Network("saturation")
    net.spike_source("S", [[2.0]] * (2 * firing) + [[]] * (100 - 2 * firing))
    net.population("P", 1, parameters={"tau_m": 10.0, "cm": 1.0, "tau_syn_E": 5.0, "v_thresh": 100.0})
    net.project("S", "P", nd.AllToAll(), weight=1.0, delay=[1.0, 2.0] * 50, label="many")
    net.record("P", ["v"])
    scaling = ring_buffer_scaling(lower(net))
    assert scaling["P"][0].shift == 4 and scaling["P"][0].max_summed_weight == pytest.approx(3 + 5 * math.sqrt(3))
    v = bits(run_spinnaker(net, 5.0).traces["P"]["v"][:, 0])
    units = min(firing * 2048, 0xFFFF)
    assert (firing * 2048 > 0xFFFF) == saturated
    syn = ((units << 4) * 3892384920) >> 32
    alpha = ((syn * 327680) >> 15) - 2129920
    assert v[3] == alpha - ((29650 * (alpha + 2129920)) >> 15)
    if saturated:
        findings = check_target(net, lower(net), scaling, SPINN5)
        assert any("would saturate at 32 nA" in f.message for f in findings if f.level == "warning")


def test_stdp_pair_bit_by_bit():
    # Pre spikes at 10 and 40, post spike at 11 (driven separately), delay 1, tau+- = 20 ms, A+- = 0.5 nA.
    net, rule = stdp_pair_network()
    result = run_spinnaker(net, 50.0)
    assert result.spikes.populations["post"][0].tolist() == [11.0]
    # Inhibitory shift 1 (W = w_max = 1); w = 8192 units = 16384 accum bits.
    # Pre at 40: the post event (11, trace 2048) seen at 12, lag 2 after the pre at 10 (trace 2048):
    # r1 = 2048 * LUT[2] >> 11 = 1853, w += 16384 * (1853 << 4) >> 15 = 14824 (below w_max 32768);
    # then depression from that post, lag 28: o1 = LUT[28] = 505, w -= 16384 * (505 << 4) >> 15 = 4040;
    # written back floored: (16384 + 14824 - 4040) >> 1 = 13584 units.
    assert result.weights["plastic"]["weight"][0] == 13584 * 2.0**-14
    float_rule = 0.5 + 0.5 * math.exp(-2 / 20) - 0.5 * math.exp(-28 / 20)
    assert abs(result.weights["plastic"]["weight"][0] - float_rule) < 1e-3


# --- sPyNNaker's own choices ------------------------------------------------------------------


def test_ring_buffer_shifts_and_mapping_come_from_spynnaker(tmp_path):
    """Our port of the shift algorithm against what sPyNNaker 7.4.1 chooses on its virtual board:
    constant delays (sum), random delays (Poisson bound), STDP (w_max), several receptors, conductances."""
    net = load_model("feedforward-poisson", {"n_neurons": 40, "n_inputs": 30, "duration_ms": 100.0}).network
    net.population("other", 300)
    net.population("learners", 100)
    net.population("conductances", 20, "IF_cond_exp")
    net.project("neurons", "other", nd.FixedProbability(0.3, seed=4), weight=0.7, delay=2.0, receptor="inhibitory")
    net.project("inputs", "other", nd.AllToAll(), weight=0.05, delay=1.0)
    net.project(
        "inputs", "learners", nd.AllToAll(), weight=0.02, delay=1.0, plasticity=nd.STDP(w_max=0.5), label="plastic"
    )
    net.project("inputs", "conductances", nd.AllToAll(), weight=0.02, delay=1.0)
    net.project(
        "neurons",
        "conductances",
        nd.FromList(list(range(40)), [i % 20 for i in range(40)]),
        weight=0.01,
        delay=[1.0, 3.0] * 20,
        receptor="inhibitory",
    )
    compiled = compile_network(net, SPINN5, tmp_path)
    mapping = map_on_virtual_board(compiled, tmp_path, 100.0)
    assert mapping["ring_buffer_shifts_agree"], mapping["ring_buffer_shifts"]
    assert mapping["ring_buffer_shifts"]["learners"] == [4, 0]  # W = 30 pre x w_max 0.5 = 15 < 2^4
    # Held x1024: excitatory W = max(30 x 0.02, 1024 x 0.02) = 20.48 < 2^5 (sPyNNaker leaves 1024 out of the sum)
    assert mapping["ring_buffer_shifts"]["conductances"][0] == 5
    # 300 neurons at 256 per core: two cores; placements and SDRAM per core reported
    assert len(mapping["populations"]["other"]) == 2
    assert all(p["sdram_bytes"] > 0 for placements in mapping["populations"].values() for p in placements)
    assert mapping["routing_entries"] and mapping["board_chips"] == 48


def test_pynn_graph_holds_exactly_the_described_synapses(tmp_path):
    """The compiled PyNN script, run by sPyNNaker, read back with PyNN's Projection.get."""
    net = load_model("ca3-cam", {"cue_size": 4, "content_size": 5}).network
    compiled = compile_network(net, SPINN5, tmp_path)
    (tmp_path / "dump.py").write_text(
        "import json, runpy, sys, pyNN.spiNNaker as sim\n"
        "made, project, end = [], sim.Projection, sim.end\n"
        "def kept(*args, **kwargs):\n"
        "    made.append(project(*args, **kwargs))\n"
        "    return made[-1]\n"
        "def dump_then_end(*args):\n"
        "    out = {p.label: [list(map(float, c)) for c in p.get(['weight', 'delay'], 'list')] for p in made}\n"
        "    json.dump(out, open('dump.json', 'w'))\n"
        "    end()\n"
        "sim.Projection, sim.end = kept, dump_then_end\n"
        "sys.argv = ['pynn_script.py', '--duration', '1']\n"
        "runpy.run_path('pynn_script.py', run_name='__main__')\n"
    )
    run_with_private_config(tmp_path, VIRTUAL_BOARD_CONFIG.format(version=5), ["dump.py"], "build the graph")
    built = json.loads((tmp_path / "dump.json").read_text())
    assert set(built) == set(compiled.graph.projections)
    for label, rows in built.items():
        connections = net.connections(label)
        projection = net.projections[label]
        ours = sorted(zip(connections.pre.tolist(), connections.post.tolist(), connections.delay_ticks.tolist()))
        theirs = sorted((int(a), int(b), int(round(d))) for a, b, _, d in rows)
        assert ours == theirs, label
        if projection.plasticity is None:
            shift = compiled.scaling[projection.post][0 if projection.receptor == "excitatory" else 1].shift
            resolution = 2.0 ** (shift - 15)
            assert sorted(round(w / resolution) for *_, w, _ in rows) == sorted(
                np.rint(connections.weight / resolution).astype(int).tolist()
            ), label
    script = (tmp_path / SCRIPT).read_text()
    assert "import neurodeploy" not in script and "from neurodeploy" not in script  # it runs without neurodeploy


def test_mapping_failure_is_a_clear_error(tmp_path):
    net = nd.Network("huge")
    net.population("P", 20000)
    target = dict(SPINN5, name="pretend", board_version=3, application_cores=10**6)  # design rules let it through
    compiled = compile_network(net, target, tmp_path)
    with pytest.raises(BackendError, match="sPyNNaker could not map the network: .*"):
        map_on_virtual_board(compiled, tmp_path, 10.0)


def test_a_failed_run_fails_again_when_finished_again(tmp_path):
    # A deploy finishes a mapping more than once (when it has ended, again before the verdicts): the later
    # calls fail as the first did, rather than hand back the log of a run that wrote no mapping.
    (tmp_path / "fails.py").write_text("raise RuntimeError('no room on the board')\n")
    run = PrivateRun(tmp_path, VIRTUAL_BOARD_CONFIG.format(version=5), ["fails.py"], "map the network")
    for _ in range(2):
        with pytest.raises(
            BackendError, match="sPyNNaker could not map the network: RuntimeError: no room on the board"
        ):
            run.finish()


def test_a_run_stopped_before_it_finished_says_so_when_finished(tmp_path):
    (tmp_path / "waits.py").write_text("import time\ntime.sleep(60)\n")
    run = PrivateRun(tmp_path, VIRTUAL_BOARD_CONFIG.format(version=5), ["waits.py"], "map the network")
    run.stop()
    assert run.done()
    for _ in range(2):
        with pytest.raises(BackendError, match="sPyNNaker was stopped before it could map the network"):
            run.finish()


# --- the hardware recordings and equivalence --------------------------------------------------


@pytest.mark.parametrize("name", list(RECORDINGS))
def test_spinnaker_backend_reproduces_the_hardware_recordings(cam_recordings, name):
    data = json.loads((cam_recordings / name).read_text())
    c, m, expected = recorded(data)
    network = load_model("ca3-cam", {"cue_size": c, "content_size": m}).network
    network = network.with_spike_times({"IN": [[float(t) for t in train] for train in expected["IN"]]})
    result = run_spinnaker(network, RECORDINGS[name])
    for population, trains in expected.items():
        assert [ticks.tolist() for ticks in result.spikes.ticks(population)] == trains, population


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["own", "conductance"])
def test_feedforward_is_the_quantization_aware_reference(variant):
    # The reference on the chip's numbers and accumulators (Accumulator: floored products, u0.32
    # decays, g = s >> 10, the ring buffer's cap) has the emulation's every spike and every V, bit for
    # bit, with excitation, inhibition and initial synaptic state. (With a float membrane: 99.8% in the
    # same tick; 96% with conductances, whose g the chip floors.)
    network = feedforward_variant(variant)
    network.record("neurons", ("spikes", "v"))
    graph = lower(network)
    reference = run_reference(quantization_aware(network, graph, ring_buffer_scaling(graph)), 2000.0)
    target = run_spinnaker(network, 2000.0)
    assert sum(len(t) for t in reference.spikes.ticks("neurons")) > 4000
    assert [t.tolist() for t in target.spikes.ticks("neurons")] == [
        t.tolist() for t in reference.spikes.ticks("neurons")
    ]
    assert np.array_equal(target.traces["neurons"]["v"], reference.traces["neurons"]["v"])


def test_the_reference_holds_refractory_periods_for_the_chips_tick_count():
    # dt = 0.3 ms is 9830/32768 on chip: tau_refrac 0.6 ms is 3 ticks there (ceil of 2.0001), 2 in float.
    net = nd.Network("refractory", semantics=nd.Semantics(dt=0.3))
    net.population("P", 1, parameters={"i_offset": 3.0, "tau_refrac": 0.6})
    net.record("P", ("spikes", "v"))
    graph = lower(net)
    reference = run_reference(quantization_aware(net, graph, ring_buffer_scaling(graph)), 30.0)
    target = run_spinnaker(net, 30.0)
    assert fp.refractory_ticks(0.6, 0.3) == 3
    assert len(target.spikes.ticks("P")[0]) > 3
    assert target.spikes.ticks("P")[0].tolist() == reference.spikes.ticks("P")[0].tolist()
    assert np.array_equal(target.traces["P"]["v"], reference.traces["P"]["v"])


@pytest.mark.parametrize(
    "seed, dependence, delay, cell, traces",
    [
        (0, "additive", 1, "IF_curr_exp", "all_to_all"),
        (2, "multiplicative", 1, "IF_curr_exp", "all_to_all"),
        (4, "additive", 3, "IF_curr_exp", "all_to_all"),
        (5, "multiplicative", 4, "IF_curr_exp", "all_to_all"),
        (1, "multiplicative", 1, "IF_cond_exp", "all_to_all"),
        (4, "additive", 3, "IF_curr_exp", "nearest_spynnaker"),
        (1, "multiplicative", 1, "IF_cond_exp", "nearest_spynnaker"),
    ],
)
def test_stdp_on_the_chips_integers_is_the_emulation(seed, dependence, delay, cell, traces):
    # The quantization-aware reference runs STDP on sPyNNaker's integers (FixedPointSTDP): with neurons
    # whose floors never decide a spike here, every spike and every final weight is the emulation's,
    # post memories overflowing (up to 80 post spikes between sparse pre spikes), weights in flight
    # (pre spikes a tick apart on delays of 3-4 ticks) and products beyond 32 bits (conductances,
    # held x1024, multiplicative) included.
    network = random_plastic_network(seed, dependence, delay, cell, traces)
    graph = lower(network)
    reference = run_reference(quantization_aware(network, graph, ring_buffer_scaling(graph)), 300.0)
    target = run_spinnaker(network, 300.0)
    assert [t.tolist() for t in target.spikes.ticks("P")] == [t.tolist() for t in reference.spikes.ticks("P")]
    assert all(t[0] == 0 for t in target.spikes.ticks("P"))
    weights = target.weights["S->P"]["weight"]
    assert np.array_equal(weights, reference.weights["S->P"]["weight"])
    assert len(np.unique(weights)) > (40 if traces == "all_to_all" else 10)  # learned apart, not all at a bound


@pytest.mark.slow
def test_feedforward_catches_an_injected_delay_bug():
    """The same check fails when the target's delays are one tick longer."""
    network = load_model("feedforward-poisson", {"duration_ms": 1000.0}).network
    graph = lower(network)
    reference = run_reference(quantization_aware(network, graph, ring_buffer_scaling(graph)), 1000.0)
    data = network.to_dict()
    data["projections"][0]["delay"] = [d + 1.0 for d in data["projections"][0]["delay"]]
    shifted = run_spinnaker(nd.Network.from_dict(data), 1000.0)
    assert compare(shifted.spikes, reference.spikes, inputs=("inputs",)).overall.same_tick_fraction < 0.2


def test_quantization_aware_network_carries_the_chip_numbers():
    network = load_model("feedforward-poisson", {"duration_ms": 100.0}).network
    graph = lower(network)
    scaling = ring_buffer_scaling(graph)
    quantized = quantization_aware(network, graph, scaling)
    population = quantized.populations["neurons"]
    exp_tc, resistance = fp.membrane_constants(20.0, 1.0, 1.0)
    assert math.exp(-1.0 / population.value("tau_m")[0]) == pytest.approx(exp_tc / 32768, rel=1e-12)
    decay, init = fp.synapse_constants(5.0, 1.0)
    assert math.exp(-1.0 / population.value("tau_syn_E")[0]) == pytest.approx(decay / 2**32, rel=1e-12)
    assert population.init_factor("excitatory", quantized.semantics)[0] == init / 2**32  # the chip's own
    assert population.value("tau_m")[0] / population.value("cm")[0] == pytest.approx(resistance / 32768, rel=1e-12)
    resolution = 2.0 ** (scaling["neurons"][0].shift - 15)
    weights = quantized.connections("inputs->neurons").weight
    assert np.allclose(weights / resolution, np.round(weights / resolution), atol=1e-9)
    assert np.max(np.abs(weights - network.connections("inputs->neurons").weight)) <= resolution / 2


def test_quantization_aware_reference_is_a_typed_copy_on_the_chips_numbers():
    # Per-neuron fields stay numpy arrays; the conductance is held x1024 in s16.15, so an initial
    # 0.004 uS is rint(0.004 * 1024 * 2^15) = 134218 units of 2^-25; e_rev_E 0.1 mV is 3277 / 2^15.
    net = nd.Network("typed")
    net.spike_source("S", [[1.0], [2.0]])
    net.population(
        "P", 2, "IF_cond_exp", parameters={"tau_m": [10.0, 20.0], "e_rev_E": 0.1}, initial_values={"gsyn_exc": 0.004}
    )
    net.project(
        "S",
        "P",
        nd.OneToOne(),
        weight=[0.01, 0.02],
        delay=1.0,
        plasticity=nd.STDP(A_plus=0.001, A_minus=0.001, w_min=0.0, w_max=0.03),
    )
    graph = lower(net)
    scaling = ring_buffer_scaling(graph)
    quantized = quantization_aware(net, graph, scaling)
    cell = quantized.populations["P"].cell
    assert type(cell) is nd.IFCondExp and cell.gsyn_exc == 134218 / 2**25 and cell.e_rev_E == 3277 / 2**15
    assert isinstance(cell.tau_m, np.ndarray) and cell.tau_m.shape == (2,)
    projection = quantized.projections["S->P"]
    resolution = scaling["P"][0].resolution
    assert isinstance(projection.weight, np.ndarray)
    assert projection.weight.tolist() == [np.rint(w / resolution) * resolution for w in (0.01, 0.02)]
    assert projection.plasticity.w_max == fp.s1615(0.03 * 1024) / 2**15 / 1024
    assert net.populations["P"].cell.gsyn_exc == 0.004 and net.projections["S->P"].plasticity.w_max == 0.03


def test_a_cell_type_lowers_through_its_class_or_is_refused_by_name():
    @dataclasses.dataclass(frozen=True, eq=False)
    class Variant(nd.IFCondExp):  # a subclass is built as its registered base
        pass

    @dataclasses.dataclass(frozen=True, eq=False)
    class Unregistered(LIFParameters):
        name: ClassVar[str] = "unregistered"
        input: ClassVar[object] = CurrentInput()
        v: float = -65.0
        isyn_exc: float = 0.0
        isyn_inh: float = 0.0

    assert cells.build(Variant) == cells.build(nd.IFCondExp) and cells.build(Variant).input.weight_scale == 1024
    net = nd.Network("unknown")
    net.add(nd.Population("P", 1, Unregistered()))
    with pytest.raises(BackendError, match="the spinnaker backend cannot lower Unregistered"):
        run_spinnaker(net, 10.0)


def test_a_subclass_composed_of_another_part_is_refused_not_built_as_its_base():
    # IF_curr_exp is an exponential synapse on chip: a subclass with a delta synapse is no model
    # sPyNNaker runs (its delta input type comes with IF_curr_delta), so it is refused, not emulated as
    # IF_curr_exp; Lava, which composes its numbers from the cell's own parts, runs it.
    @dataclasses.dataclass(frozen=True, eq=False)
    class DeltaCurrExp(nd.IFCurrExp):
        synapse: ClassVar[object] = nd.IFCurrDelta.synapse

    def network(cell):
        net = nd.Network("delta-curr-exp")
        net.spike_source("S", [[1.0]])
        net.add(nd.Population("P", 1, cell))
        net.project("S", "P", nd.OneToOne(), weight=2.0)
        net.record("P", ["v"])
        return net

    with pytest.raises(
        BackendError, match="lowers IFCurrExp with synapse ExponentialSynapse; DeltaCurrExp's synapse is DeltaSynapse"
    ):
        run_spinnaker(network(DeltaCurrExp()), 10.0)
    with pytest.raises(BackendError, match="DeltaCurrExp"):
        cells.build(DeltaCurrExp)
    lava = make_backend("lava")
    v = lava.run(network(DeltaCurrExp()), 10.0).traces["P"]["v"]
    assert np.ptp(v) > 0 and np.array_equal(v, lava.run(network(nd.IFCurrDelta()), 10.0).traces["P"]["v"])


# --- design rules -----------------------------------------------------------------------------


def findings_for(network, target=SPINN5):
    graph = lower(network)
    return check_target(network, graph, ring_buffer_scaling(graph), target)


def test_design_rules_name_what_cannot_run():
    net = nd.Network("bad", nd.Semantics(reset="subtract"))
    net.spike_source("S", [[1.0], [2.0]])
    net.population("P", 2)
    net.population("Q", 2)
    net.project("S", "P", nd.OneToOne(), weight=1.0, delay=400.0, label="too long")
    net.project("S", "Q", nd.AllToAll(), weight=0.1, delay=40.0, plasticity=nd.STDP(w_max=1.0), label="plastic far")
    net.project(
        "P",
        "Q",
        nd.AllToAll(),
        weight=0.1,
        plasticity=nd.STDP(w_max=1.0, semantics=nd.STDPSemantics(post_spike_shift="none")),
        label="other rule",
    )
    messages = " | ".join(str(f) for f in findings_for(net))
    assert (
        "error: semantics: sPyNNaker's LIF neuron models reset V to v_reset: reset 'subtract' needs a neuron model "
        "whose neuron_model_has_spiked subtracts v_thresh - v_reset"
    ) in messages
    assert "projection 'too long': delay of 400 ticks exceeds the 288 ticks" in messages
    assert "projection 'plastic far': STDP with a delay of 40 ticks needs a delay extension" in messages
    assert "projection 'other rule': sPyNNaker runs STDP with post_spike_shift = 'synaptic_delay'" in messages
    symmetric = nd.Network("nearest pairings")
    symmetric.spike_source("S", [[1.0]])
    symmetric.population("Q", 2)
    symmetric.population("R", 2)
    for post, traces in (("Q", "nearest_symmetric"), ("R", "nearest_spynnaker")):
        rule = nd.STDP(semantics=nd.STDPSemantics(traces=traces))
        symmetric.project("S", post, nd.AllToAll(), plasticity=rule, label=traces)
    assert [str(f) for f in findings_for(symmetric) if f.level == "error"] == [
        "error: projection 'nearest_symmetric': sPyNNaker runs STDP with traces 'all_to_all' or "
        "'nearest_spynnaker' (SpikePairRule, SpikeNearestPairRule), not 'nearest_symmetric': change the rule's "
        "semantics"
    ]
    different = nd.Network("two rules")
    different.spike_source("S", [[1.0]])
    different.population("Q", 2)
    different.project("S", "Q", nd.AllToAll(), plasticity=nd.STDP(tau_plus=10.0), label="first")
    different.project("S", "Q", nd.AllToAll(), plasticity=nd.STDP(tau_plus=20.0), label="second")
    nearest = nd.STDP(tau_plus=10.0, semantics=nd.STDPSemantics(traces="nearest_spynnaker"))
    different.project("S", "Q", nd.AllToAll(), plasticity=nearest, label="third")
    assert "error: projection 'third': plastic projections into 'Q' must share one STDP rule on sPyNNaker, " in (
        " | ".join(str(f) for f in findings_for(different))
    )
    assert (
        "error: projection 'second': plastic projections into 'Q' must share one STDP rule on sPyNNaker, "
        "but 'first' has different parameters"
    ) in [str(f) for f in findings_for(different)]
    wide = nd.Network("wide")
    wide.spike_source("S", [[1.0]])
    wide.population("Q", 300)
    wide.project("S", "Q", nd.AllToAll(), plasticity=nd.STDP(), label="fan-out")
    assert any(
        "a pre neuron has 256 synapses onto one core of 'Q'" in str(f) and "at most 254 plastic" in str(f)
        for f in findings_for(wide)
    )


def test_values_beyond_s1615_are_refused_not_overflowed():
    net = nd.Network("wide")
    net.population("P", 1, "IF_cond_exp", parameters={"e_rev_E": 70000.0}, initial_values={"gsyn_exc": 100.0})
    with pytest.raises(BackendError) as caught:
        run_spinnaker(net, 5.0)
    assert "e_rev_E does not fit s16.15" in str(caught.value)
    assert "gsyn_exc does not fit s16.15 (|x| < 65536 / 1024)" in str(caught.value)  # held x1024
    assert any("initial gsyn_exc is not 0" in f.message for f in findings_for(net) if f.level == "warning")


@pytest.mark.parametrize(
    "backend, words",
    [("spinnaker", "sPyNNaker computes the synaptic init factor"), ("lava", "first-tick mean of their decay")],
)
def test_targets_refuse_a_given_init_factor(backend, words):
    data = load_model("feedforward-poisson", {"duration_ms": 10.0}).network.to_dict()
    data["populations"][0]["synaptic_init"] = {"excitatory": 0.9}
    with pytest.raises(BackendError, match=words):
        make_backend(backend).run(nd.Network.from_dict(data), 10.0)


@pytest.mark.parametrize("backend", ["spinnaker", "lava"])
def test_targets_refuse_a_declared_arithmetic(backend):
    # The Loihi reference declares the neurons' and STDP's integers: a reference's stand-in for the chip.
    from neurodeploy.backends.lava import lower as lava_lower

    network = lava_lower(random_plastic_network(0, "additive", 1)).reference_network()
    with pytest.raises(BackendError) as caught:
        make_backend(backend).run(network, 10.0)
    assert "population 'P'" in str(caught.value) and "projection 'S->P'" in str(caught.value)
    assert str(caught.value).count("drop arithmetic") == 2
    with pytest.raises(BackendError, match="population 'P': a fixed-point arithmetic runs in the discrete mode"):
        make_backend("brian2", mode="physics").run(network, 10.0)


def test_design_rules_warn_about_precision_and_resources():
    net = nd.Network("lossy")
    net.spike_source("S", [[1.0]] * 2)
    net.population("P", 1)
    net.project("S", "P", nd.AllToAll(), weight=[10.0, 0.0001], delay=[1.0, 40.0], label="mixed")
    findings = findings_for(net)
    assert all(f.level == "warning" for f in findings)
    text = " | ".join(str(f) for f in findings)
    assert "projection 'mixed': 1 of 2 weights are below half the resolution" in text
    assert "projection 'mixed': delays up to 40 ticks exceed the 32-tick on-core ring" in text
    spinn3 = target_descriptions()["spinn3"].data
    big = nd.Network("big")
    big.population("P", 20000)
    assert any(
        "needs about 79 application cores" in f.message and f.level == "error" for f in findings_for(big, spinn3)
    )


# --- the command line -------------------------------------------------------------------------


def test_compile_writes_the_script_and_reports(tmp_path):
    out = tmp_path / "compiled"
    result = CliRunner().invoke(main, ["compile", "ca3-cam", "--target", "spinn3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "target spinn3: 0 errors" in result.output and "ring-buffer shifts agree" in result.output
    report = json.loads((out / "compile.json").read_text())
    assert report["mapping"]["application_cores"] == 10
    assert report["quantization"]["CA3MergeCue->OUT(cue)"]["shift"] == 4
    assert (out / SCRIPT).exists() and (out / "graph.json").exists()


def test_compile_exits_1_on_design_rule_errors(tmp_path):
    net = nd.Network("bad", nd.Semantics(reset="subtract"))
    net.population("P", 1)
    path = nd.save(net, tmp_path / "bad.yaml")
    result = CliRunner().invoke(main, ["compile", str(path), "--target", "spinn5", "--out", str(tmp_path / "c")])
    assert result.exit_code == 1 and "error: semantics: sPyNNaker's LIF neuron models reset V" in result.output
    assert not (tmp_path / "c" / "mapping.json").exists()


@pytest.mark.slow
def test_deploy_reports_the_verdict_with_numbers(tmp_path, monkeypatch):
    out = tmp_path / "deployed"
    args = ["deploy", "feedforward-poisson", "--param", "duration_ms=1000", "--target", "spinn5", "--out", str(out)]
    result = CliRunner().invoke(main, args + ["--min-same-tick", "1.0"])
    assert result.exit_code == 0, result.output
    assert "PASS: spinnaker on spinn5" in result.output
    assert "spinn5 vs its quantization-aware reference: same tick" in result.output
    summary = json.loads((out / "deploy.json").read_text())
    correctness = comparison(summary, "correctness", "spinn5/target", "spinn5/reference")
    assert summary["passed"] and correctness["spikes"]["overall"]["same_tick_fraction"] == 1.0
    for folder in ("spinn5/target", "spinn5/reference", "reference-float"):
        assert (out / folder / "spikes.json").exists()
    # A kernel whose delays are one tick long (an injected bug) fails the verdict.
    from neurodeploy.backends.spinnaker import kernel

    built = kernel._Projection.__init__

    def one_tick_late(self, *args, **kwargs):
        built(self, *args, **kwargs)
        self.delay = self.delay + 1

    monkeypatch.setattr(kernel._Projection, "__init__", one_tick_late)
    failing = CliRunner().invoke(main, args[:-1] + [str(tmp_path / "late")])
    assert failing.exit_code == 1 and "FAIL" in failing.output


@pytest.mark.slow
def test_deploy_compares_cam_answers(tmp_path):
    out = tmp_path / "cam"
    result = CliRunner().invoke(
        main,
        [
            "deploy",
            "ca3-cam",
            "--protocol",
            str(ROOT / "models/protocols/ca3-cam-exp1.json"),
            "--target",
            "spinn5",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "9/9 operations answer as on the reference" in result.output
    assert json.loads((out / "spinn5" / "target" / "answers.json").read_text())["summary"]["all_agree"]
