"""Recordings as the chips define them: the synaptic state (isyn_exc/isyn_inh, gsyn_exc/gsyn_inh) on every
backend against hand-derived traces, sampled under each recording convention (the end of the tick, or as
sPyNNaker records: V at the start of the tick, the synaptic state after input and before decay)."""

import json
import math

import numpy as np
import pytest

import neurodeploy as nd
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import lower as lower_for_lava
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling
from neurodeploy.errors import BackendError, ValidationError

TICKS = 10
TAU_SYN = 5.0
SPIKES = [0.0, 3.0]  # arriving in ticks 1 and 4 (excitatory, delay 1) and 2 and 5 (inhibitory, delay 2)


def pulse_network(cell_type="IF_curr_exp", weight=2.0, arithmetic=None):
    """One neuron, one source spiking at 0 and 3 ms onto both receptors: the inhibitory weight is half the
    excitatory one and arrives a tick later."""
    network = nd.Network("pulses", duration=float(TICKS))
    network.population("P", 1, cell_type=cell_type, parameters={"tau_syn_E": TAU_SYN, "tau_syn_I": TAU_SYN})
    if arithmetic is not None:
        network.populations["P"].arithmetic = arithmetic
    network.spike_source("S", [SPIKES])
    network.project("S", "P", nd.OneToOne(), weight=weight, delay=1.0, label="exc")
    network.project("S", "P", nd.OneToOne(), weight=weight / 2, delay=2.0, receptor="inhibitory", label="inh")
    state = "isyn" if cell_type != "IF_cond_exp" else "gsyn"
    network.record("P", ["v", f"{state}_exc", f"{state}_inh"])
    return network


def arrivals(first_tick: int, weight: float) -> np.ndarray:
    """Per tick, the weight arriving then (the two spikes, over the projection's delay)."""
    arriving = np.zeros(TICKS)
    arriving[[first_tick, first_tick + 3]] = weight
    return arriving


def float_state(arriving: np.ndarray, after_input: bool) -> np.ndarray:
    """The semantics' synaptic state per tick in float64: ``I += init w``, then ``I *= E``; sampled after the
    input (before the decay) or at the end of the tick."""
    decay = math.exp(-1.0 / TAU_SYN)
    init = TAU_SYN * (1.0 - decay)
    state, samples = 0.0, []
    for weight in arriving:
        state += init * weight
        samples.append(state if after_input else state * decay)
        state *= decay
    return np.array(samples)


def chip_state(arriving: np.ndarray, after_input: bool, weight_scale: int = 1, shift: int = 0) -> np.ndarray:
    """The same on sPyNNaker's integers: the weight's s16.15 bits (times the input type's weight scale)
    join the state times the u0.32 init, floored; the state decays by the u0.32 decay, floored; a
    conductance is read as ``s >> shift``."""
    decay, init = fp.synapse_constants(TAU_SYN, 1.0)
    state, samples = 0, []
    for weight in arriving:
        state += (round(weight * weight_scale * fp.ONE) * init) >> 32
        if after_input:
            samples.append(state >> shift)
        state = (state * decay) >> 32
        if not after_input:
            samples.append(state >> shift)
    return np.array(samples) / fp.ONE


def test_each_cell_declares_its_synaptic_state_as_recordable():
    network = pulse_network()
    with pytest.raises(ValidationError, match="gsyn_exc"):
        network.record("P", ["gsyn_exc"])
    conductance = pulse_network("IF_cond_exp", 0.0625)
    with pytest.raises(ValidationError, match="isyn_exc"):
        conductance.record("P", ["isyn_exc"])
    assert nd.Izhikevich.recordables == ("spikes", "v", "isyn_exc", "isyn_inh")
    assert "isyn_exc" not in nd.IFCurrDelta.recordables  # a delta synapse holds no state across ticks


@pytest.mark.parametrize("recording, after_input", [("end_of_tick", False), ("spynnaker", True)])
def test_brian2_records_the_synaptic_current_at_the_declared_moment(recording, after_input):
    result = make_backend("brian2", recording=recording).run(pulse_network(), TICKS)
    traces = result.traces["P"]
    np.testing.assert_allclose(traces["isyn_exc"][:, 0], float_state(arrivals(1, 2.0), after_input), rtol=1e-12)
    np.testing.assert_allclose(traces["isyn_inh"][:, 0], float_state(arrivals(2, 1.0), after_input), rtol=1e-12)
    assert result.details["recording"] == recording


def test_brian2_samples_v_at_the_start_of_the_tick_as_the_end_of_the_one_before():
    at_end = make_backend("brian2").run(pulse_network(), TICKS).traces["P"]["v"][:, 0]
    at_start = make_backend("brian2", recording="spynnaker").run(pulse_network(), TICKS).traces["P"]["v"][:, 0]
    assert at_start[0] == -65.0  # v_rest, the initial value
    np.testing.assert_array_equal(at_start[1:], at_end[:-1])


@pytest.mark.parametrize("recording, after_input", [("end_of_tick", False), ("spynnaker", True)])
def test_the_emulation_records_the_chips_synaptic_integers(recording, after_input):
    traces = make_backend("spinnaker", recording=recording).run(pulse_network(), TICKS).traces["P"]
    np.testing.assert_array_equal(traces["isyn_exc"][:, 0], chip_state(arrivals(1, 2.0), after_input))
    np.testing.assert_array_equal(traces["isyn_inh"][:, 0], chip_state(arrivals(2, 1.0), after_input))
    conductance = make_backend("spinnaker", recording=recording).run(pulse_network("IF_cond_exp", 0.0625), TICKS)
    gsyn = conductance.traces["P"]["gsyn_exc"][:, 0]
    np.testing.assert_array_equal(gsyn, chip_state(arrivals(1, 0.0625), after_input, weight_scale=1024, shift=10))


@pytest.mark.parametrize("cell_type, weight", [("IF_curr_exp", 2.0), ("IF_cond_exp", 0.0625), ("Izhikevich", 2.0)])
def test_the_reference_on_the_chips_numbers_records_what_the_emulation_records(cell_type, weight):
    network = pulse_network(cell_type, weight)
    graph = lower(network)
    reference = make_backend("brian2").run(quantization_aware(network, graph, ring_buffer_scaling(graph)), TICKS)
    emulated = make_backend("spinnaker").run(network, TICKS)
    assert set(reference.traces["P"]) == set(emulated.traces["P"]) == set(network.recordings["P"])
    for variable, trace in emulated.traces["P"].items():
        np.testing.assert_array_equal(reference.traces["P"][variable], trace, err_msg=variable)
    assert np.any(emulated.traces["P"][network.recordings["P"][1]] > 0)


def test_brian2_records_fixed_point_state_in_whole_units_and_refuses_a_combined_current():
    v_unit = 1.0 / 64
    network = pulse_network(arithmetic=nd.FixedPointLIF(v_unit=v_unit))
    trace = make_backend("brian2").run(network, TICKS).traces["P"]["isyn_exc"][:, 0]
    # u = rint(S (1 - E) R init w) joins in tick 1 and decays by trunc(u F), F the 12-bit decay;
    # it is read as u / (S (1 - E) R)
    cell = network.populations["P"].cell
    gain = (1.0 - np.rint(4096 * math.exp(-1.0 / cell.tau_m)) / 4096) * cell.tau_m / cell.cm / v_unit
    keep = np.rint(4096 * math.exp(-1.0 / TAU_SYN))
    u, expected = 0.0, []
    for weight in arrivals(1, 2.0):
        u = np.rint(u + gain * TAU_SYN * (1.0 - math.exp(-1.0 / TAU_SYN)) * weight)
        u = np.trunc(u * keep / 4096)
        expected.append(u / gain)
    np.testing.assert_allclose(trace, expected, rtol=1e-12)
    combined = pulse_network(arithmetic=nd.FixedPointLIF(v_unit=v_unit, currents="combined"))
    with pytest.raises(BackendError, match="one combined current"):
        make_backend("brian2").run(combined, TICKS)


def test_sampling_as_spynnaker_in_an_integer_arithmetic_is_refused_on_brian2():
    network = pulse_network()
    graph = lower(network)
    reference = quantization_aware(network, graph, ring_buffer_scaling(graph))
    with pytest.raises(BackendError, match="float64's discrete mode only"):
        make_backend("brian2", recording="spynnaker").run(reference, TICKS)


@pytest.mark.parametrize("cell_type, weight", [("IF_curr_exp", 2.0), ("IF_cond_exp", 0.0625), ("Izhikevich", 2.0)])
def test_lava_records_the_synaptic_state_its_reference_computes(cell_type, weight):
    network = pulse_network(cell_type, weight)
    lowered = lower_for_lava(network)
    assert "P" not in lowered.stock  # recording the state per receptor keeps it off Lava's one-current LIF
    run = make_backend("lava").run(network, TICKS)
    reference = make_backend("brian2").run(lowered.reference_network(), TICKS)
    for variable, trace in run.traces["P"].items():
        np.testing.assert_allclose(trace, reference.traces["P"][variable], rtol=1e-12, atol=1e-15, err_msg=variable)
    # and against the float semantics: within what the integers lose
    state = network.recordings["P"][1]
    expected = float_state(arrivals(1, weight), after_input=False)
    np.testing.assert_allclose(run.traces["P"][state][:, 0], expected, rtol=0.01, atol=1e-12)


def test_lavas_recorded_current_is_whole_units_decaying_as_the_process_decays_them():
    network = pulse_network()
    fixed = lower_for_lava(network).populations["P"]
    trace = make_backend("lava").run(network, TICKS).traces["P"]["isyn_exc"][:, 0]
    units = trace * fixed.scale * fixed.gain[0]  # u = S (1 - E') R I
    np.testing.assert_allclose(units, np.rint(units), atol=1e-6)
    units = np.rint(units).astype(np.int64)
    keep = 4096 - 1 - int(fixed.du_exc[0])
    for tick in (2, 3, 5, 6, 7, 8, 9):  # no input arrives: u' = trunc(u keep / 4096)
        assert units[tick] == units[tick - 1] * keep // 4096
    # what arrived in tick 1 is the weight's u, S (1 - E') R init w, within its 8-bit mantissa's step
    arrived = fixed.scale * fixed.gain[0] * fixed.init_exc[0] * 2.0
    assert abs(units[1] * 4096 / keep - arrived) <= arrived / 128


def synfire_ring(delay: float = 1.0, duration: float = 100.0) -> nd.Network:
    """sPyNNaker8's 20-neuron synfire ring (../shared/external/spynnaker8-synfire-board/README.md)."""
    network = nd.Network("synfire", duration=duration)
    parameters = {"cm": 0.25, "tau_refrac": 2.0, "v_reset": -70.0, "v_thresh": -50.0}
    network.population("ring", 20, parameters={**parameters, "tau_m": 20.0, "tau_syn_E": 5.0, "tau_syn_I": 5.0})
    network.spike_source("in", [[0.0]])
    network.project("ring", "ring", nd.FromList(list(range(20)), [(i + 1) % 20 for i in range(20)]), 2.0, delay)
    network.project("in", "ring", nd.FromList([0], [0]), weight=2.0, delay=1.0)
    network.record("ring", ["spikes", "v", "isyn_exc"])
    return network


def test_the_encoding_profiles_are_the_hosts_and_the_cores_constants():
    # 7.4.1: the cores' exp of -dt/tau as s16.15 divides it (1638 / 2^15 for 1/20); 2019: the host's, truncated
    assert fp.membrane_constants(20.0, 0.25, 1.0) == (fp.expk(-(fp.ONE // 20)), 80 * fp.ONE)
    assert fp.membrane_constants(20.0, 0.25, 1.0, "2019") == (math.floor(fp.ONE * math.exp(-0.05)), 80 * fp.ONE)
    assert fp.membrane_constants(20.0, 0.25, 1.0, "2019")[0] == 31169
    decay, init = fp.synapse_constants(5.0, 1.0, "2019")
    assert (decay, init) == (math.floor(2**32 * math.exp(-0.2)), math.floor(2**32 * 5 * (1 - math.exp(-0.2))))


@pytest.mark.parametrize("target", ["spinn5", "spinn5-2019"])
def test_a_targets_profile_is_followed_by_the_emulation_and_the_reference(target, tmp_path):
    from neurodeploy.backends.spinnaker.toolchain import SpinnakerToolchain
    from neurodeploy.catalog import target_descriptions

    description = target_descriptions()[target].data
    network = synfire_ring()
    toolchain = SpinnakerToolchain()
    compiled = toolchain.compile(network, description, tmp_path, 100.0, map_resources=False)
    profile = "2019" if target == "spinn5-2019" else "7.4.1"
    assert compiled.report()["encoding_profile"] == profile
    emulated = toolchain.execute(compiled, tmp_path, 100.0)
    reference = make_backend("brian2").run(compiled.reference_network(), 100.0)
    assert emulated.details["encoding"] == profile
    for variable in ("v", "isyn_exc"):
        np.testing.assert_array_equal(reference.traces["ring"][variable], emulated.traces["ring"][variable])
    other = make_backend("spinnaker", encoding="7.4.1" if profile == "2019" else "2019").run(network, 100.0)
    assert not np.array_equal(other.traces["ring"]["v"], emulated.traces["ring"]["v"])


def test_an_unknown_encoding_profile_is_refused_naming_the_profiles(tmp_path):
    from neurodeploy.backends.spinnaker.toolchain import compile_network
    from neurodeploy.catalog import target_descriptions

    target = {**target_descriptions()["spinn5"].data, "encoding_profile": "6.0"}
    with pytest.raises(ValidationError, match="encoding_profile"):
        compile_network(synfire_ring(), target, tmp_path)
    with pytest.raises(ValidationError, match="2019"):
        make_backend("spinnaker", encoding="6.0")


def test_compare_traces_gives_the_largest_difference_and_bit_identity():
    from neurodeploy.runs.compare import compare_traces

    reference = {"P": {"v": np.array([[-65.0, -64.0], [-63.0, -62.0]]), "isyn_exc": np.array([[0.5], [0.25]])}}
    run = {"P": {"v": np.array([[-65.0, -64.0], [-63.5, -62.0]]), "isyn_exc": np.array([[0.5], [0.25]])}}
    result = compare_traces(run, reference)
    assert result["traces"]["P.v"] == {"max_abs_difference": 0.5, "bit_identical": False, "samples": 4}
    assert result["traces"]["P.isyn_exc"] == {"max_abs_difference": 0.0, "bit_identical": True, "samples": 2}
    assert compare_traces(run, reference, "spynnaker", "end_of_tick")["traces"] == {}


def test_compare_and_deploy_report_the_traces_both_runs_recorded(tmp_path):
    from click.testing import CliRunner

    from neurodeploy.cli import main

    model = tmp_path / "ring.yaml"
    nd.save(synfire_ring(duration=50.0), model)

    def invoke(*args):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    for backend, options in (
        ("brian2", ()),
        ("spinnaker", ()),
        ("spinnaker", ("--backend-option", "recording=spynnaker")),
    ):
        out = tmp_path / f"{backend}{len(options)}"
        assert invoke("run", model, "--backend", backend, *options, "--out", out).exit_code == 0
    answer = invoke("compare", tmp_path / "spinnaker0", tmp_path / "brian20")
    assert "traces: ring.v max |diff|" in answer.output  # the chip's integers against float64
    document = json.loads((tmp_path / "spinnaker0" / "compare.json").read_text())
    assert document["traces"]["recording"] == "end_of_tick"
    assert 0 < document["traces"]["traces"]["ring.v"]["max_abs_difference"] < 0.05
    assert not document["traces"]["traces"]["ring.isyn_exc"]["bit_identical"]
    answer = invoke("compare", tmp_path / "spinnaker2", tmp_path / "brian20")
    assert "not compared: the runs sample their traces differently (spynnaker vs end_of_tick)" in answer.output
    deployed = invoke("deploy", model, "--target", "spinn5-2019", "--out", tmp_path / "deploy")
    assert (
        "spinn5-2019 vs its quantization-aware reference: traces: ring.v bit-identical, ring.isyn_exc bit-identical"
        in deployed.output
    )


def test_lava_samples_as_spynnaker_the_monitors_u_and_v_at_the_start_of_the_tick():
    network = pulse_network()
    at_end = make_backend("lava").run(network, TICKS).traces["P"]
    as_spynnaker = make_backend("lava", recording="spynnaker").run(network, TICKS)
    traces = as_spynnaker.traces["P"]
    assert as_spynnaker.details["recording"] == "spynnaker"
    np.testing.assert_array_equal(traces["v"][1:], at_end["v"][:-1])
    assert traces["v"][0, 0] == -65.0
    expected = float_state(arrivals(1, 2.0), after_input=True)
    np.testing.assert_allclose(traces["isyn_exc"][:, 0], expected, rtol=0.01, atol=1e-12)
    fixed = lower_for_lava(network).populations["P"]
    units = np.rint(traces["isyn_exc"][:, 0] * fixed.scale * fixed.gain[0]).astype(np.int64)
    decayed = units * (4096 - 1 - int(fixed.du_exc[0])) // 4096  # what the next step starts from
    np.testing.assert_allclose(decayed / (fixed.scale * fixed.gain[0]), at_end["isyn_exc"][:, 0], rtol=1e-12)
    with pytest.raises(BackendError, match="decays its synaptic state within its step"):
        make_backend("lava", recording="spynnaker").run(pulse_network("Izhikevich"), TICKS)
