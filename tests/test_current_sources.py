"""Current sources (DC, step, AC, noisy): their per-tick values derived by hand, their validation, the
membrane they drive against the semantics iterated here, the SpiNNaker emulation against its
quantization-aware Brian2 reference spike for spike, and PyNN's electrode scenarios through
``neurodeploy.pynn`` (``test/system/scenarios/test_scenario2.py`` and ``test_electrodes.py`` of PyNN 0.13)."""

import math

import numpy as np
import pytest

import neurodeploy as nd
import neurodeploy.pynn as sim
from conftest import run_reference
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava.rules import check_semantics as lava_check_semantics
from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_target
from neurodeploy.catalog import target_descriptions
from neurodeploy.description import injected_current
from neurodeploy.errors import BackendError, ValidationError

BACKENDS = ("brian2", "spinnaker")


@pytest.fixture(autouse=True)
def fresh_simulator():
    yield
    sim.end()


def one_population(dt=1.0, size=1, cell="IF_curr_exp", parameters=None, seed=0):
    network = nd.Network("currents", nd.Semantics(dt=dt), seed=seed)
    network.population("P", size, cell, parameters or {"tau_m": 20.0, "cm": 1.0, "v_rest": -65.0})
    network.record("P", ["spikes", "v"])
    return network


def current_of(network, first=0, stop=20):
    return injected_current(network, "P", first, stop)[:, 0]


# --- the description: per-tick values -------------------------------------------------------------


def test_a_dc_source_is_on_from_the_tick_of_start_to_the_tick_before_stop():
    network = one_population(dt=0.5)
    network.inject("P", nd.DCSource(amplitude=0.25, start=1.0, stop=2.5))
    assert current_of(network, 0, 7).tolist() == [0, 0, 0.25, 0.25, 0.25, 0, 0]


def test_step_times_round_to_the_grid_and_a_repeated_tick_keeps_its_last_amplitude():
    # PyNN's test_issue512: [0.41, 0.42, 0.86] at dt 0.1 is [0.4, 0.9] with [-0.5, 0.5].
    step = nd.StepCurrentSource([0.41, 0.42, 0.86], [0.5, -0.5, 0.5]).on_grid(0.1)
    assert np.allclose(step.times, [0.4, 0.9], atol=1e-9, rtol=0)
    assert step.amplitudes.tolist() == [-0.5, 0.5]
    step = nd.StepCurrentSource([0.451, 0.452, 0.86], [0.5, -0.5, 0.5]).on_grid(0.01)
    assert np.allclose(step.times, [0.45, 0.86], atol=1e-9, rtol=0)
    network = one_population(dt=0.1)
    network.inject("P", nd.StepCurrentSource([0.4, 0.9], [-0.5, 0.5]))
    assert current_of(network, 0, 11).tolist() == [0, 0, 0, 0, -0.5, -0.5, -0.5, -0.5, -0.5, 0.5, 0.5]


@pytest.mark.parametrize(
    "times, message",
    [([0.4, -0.6, 0.8], "must be >= 0"), ([0.4, 0.2, 0.8], "must be increasing"), ([0.5, 0.4999, 0.8], "increasing")],
)
def test_step_times_must_be_increasing_and_not_negative(times, message):
    with pytest.raises(ValidationError, match=message):
        nd.StepCurrentSource(times, [0.5, -0.5, 0.5])


def test_an_ac_source_counts_its_phase_from_start():
    # 250 Hz at dt 1 ms: a quarter period per tick, so sin takes 0, 1, 0, -1 from start; 90 degrees
    # shifts that by one tick.
    network = one_population(dt=1.0)
    network.inject("P", nd.ACSource(amplitude=2.0, offset=0.5, frequency=250.0, phase=0.0, start=2.0, stop=8.0))
    assert np.allclose(current_of(network, 0, 10), [0, 0, 0.5, 2.5, 0.5, -1.5, 0.5, 2.5, 0, 0], atol=1e-12, rtol=0)
    shifted = one_population(dt=1.0)
    shifted.inject("P", nd.ACSource(amplitude=2.0, offset=0.5, frequency=250.0, phase=90.0, start=2.0, stop=8.0))
    assert np.allclose(current_of(shifted, 2, 6), [2.5, 0.5, -1.5, 0.5], atol=1e-12, rtol=0)


def test_noise_holds_each_sample_for_its_dt_and_is_the_seeds():
    def noise(seed, label="noise"):
        network = one_population(dt=0.1, seed=seed)
        network.inject("P", nd.NoisyCurrentSource(mean=0.5, stdev=0.25, start=1.0, stop=401.0, dt=0.4), label=label)
        return current_of(network, 0, 4020)

    current = noise(3)
    assert np.all(current[:10] == 0) and np.all(current[4010:] == 0)
    held = current[10:4010].reshape(-1, 4)  # one sample per 4 ticks
    assert np.all(held == held[:, :1])
    samples = held[:, 0]
    # 1000 normal samples: mean within 4 standard errors, stdev within 10%.
    assert abs(samples.mean() - 0.5) < 4 * 0.25 / math.sqrt(1000)
    assert abs(samples.std() - 0.25) < 0.025
    assert np.array_equal(noise(3), current)
    assert not np.array_equal(noise(4), current)
    assert not np.array_equal(noise(3, "other noise"), current)


def test_the_description_holds_change_points_and_round_trips():
    network = one_population(dt=0.1, size=3)
    network.inject("P", nd.DCSource(0.5, 1.0, 2.0), neurons=[1])
    network.inject("P", nd.StepCurrentSource([0.5, 1.5], [0.1, 0.2]))
    network.inject("P", nd.ACSource(1.0, 0.0, 100.0, 90.0, 0.5, None), neurons=[0, 2])
    network.inject("P", nd.NoisyCurrentSource(0.5, 0.1, 0.0, None, 0.3))
    data = network.to_dict()["current_sources"]
    assert data[0] == {
        "label": "P current 0",
        "population": "P",
        "source": {"kind": "DCSource", "amplitude": 0.5, "start": 1.0, "stop": 2.0},
        "neurons": [1],
    }
    assert data[3]["source"] == {
        "kind": "NoisyCurrentSource",
        "mean": 0.5,
        "stdev": 0.1,
        "start": 0.0,
        "stop": None,
        "dt": 0.3,
    }
    copy = nd.Network.from_dict(network.to_dict())
    assert copy == network
    assert np.array_equal(injected_current(copy, "P", 0, 50), injected_current(network, "P", 0, 50))


@pytest.mark.parametrize(
    "source, neurons, field, message",
    [
        (nd.NoisyCurrentSource(0.0, 1.0, dt=0.25), None, "dt", "not a multiple of dt"),
        (nd.DCSource(1.0, start=0.05), None, "start", "not a multiple of dt"),
        (nd.DCSource(1.0), [3], "neurons", "out of range"),
    ],
)
def test_an_injection_is_checked_against_the_network(source, neurons, field, message):
    network = one_population(dt=0.1, size=3)
    with pytest.raises(ValidationError, match=message) as error:
        network.inject("P", source, neurons=neurons)
    assert error.value.field.endswith(field)


def test_sources_are_validated_when_made():
    with pytest.raises(ValidationError, match="stop.*must be >= start"):
        nd.DCSource(1.0, start=5.0, stop=2.0)
    with pytest.raises(ValidationError, match="stdev.*>= 0"):
        nd.NoisyCurrentSource(0.0, -1.0)
    with pytest.raises(ValidationError, match="one amplitude per time"):
        nd.StepCurrentSource([1.0, 2.0], [1.0])
    with pytest.raises(ValidationError, match="unknown population 'Q'"):
        one_population().inject("Q", nd.DCSource())


# --- the membranes they drive ---------------------------------------------------------------------


def iterated_lif(current: np.ndarray, dt=0.1, tau_m=20.0, cm=1.0, v_rest=-65.0) -> np.ndarray:
    """V at the end of each tick under semantics step 2 with the tick's current, no spike."""
    decay, resistance, v, trace = math.exp(-dt / tau_m), tau_m / cm, v_rest, []
    for amplitude in current:
        a = amplitude * resistance + v_rest
        v = a - decay * (a - v)
        trace.append(v)
    return np.array(trace)


@pytest.mark.parametrize(
    "source",
    [
        nd.DCSource(0.4, 2.0, 6.0),
        nd.StepCurrentSource([1.0, 3.0, 7.0], [0.2, -0.3, 0.5]),
        nd.ACSource(0.5, 0.1, 100.0, 30.0, 1.5, 8.5),
        nd.NoisyCurrentSource(0.3, 0.2, 1.0, 9.0, 0.5),
    ],
    ids=lambda source: source.kind,
)
def test_a_source_drives_the_float_reference_as_the_semantics_iterated_by_hand(source):
    network = one_population(dt=0.1, parameters={"tau_m": 20.0, "cm": 1.0, "v_rest": -65.0, "v_thresh": 0.0})
    network.inject("P", source)
    trace = run_reference(network, 10.0).traces["P"]["v"][:, 0]
    current = current_of(network, 0, 100)
    assert np.allclose(trace, iterated_lif(current), atol=1e-9, rtol=0)
    first = int(np.flatnonzero(current)[0])
    assert np.all(trace[:first] == -65.0) and trace[first] != -65.0  # the tick of start is the first driven


def mixed_network() -> nd.Network:
    """Every source on IF_curr_exp, IF_cond_exp and Izhikevich cells, some neurons with several, all
    spiking: the targets' arithmetic on each input."""
    network = nd.Network("mixed", nd.Semantics(dt=0.1), seed=5)
    lif = {"tau_m": 20.0, "cm": 1.0, "v_rest": -65.0, "v_thresh": -55.0, "tau_refrac": 2.0}
    network.population("curr", 5, "IF_curr_exp", lif)
    network.population("cond", 5, "IF_cond_exp", lif)
    network.population("izh", 5, "Izhikevich", {"a": 0.02, "b": 0.2, "c": -65.0, "d": 8.0})
    for label, scale in (("curr", 1.0), ("cond", 1.0), ("izh", 12.0)):
        sources = [
            (nd.DCSource(0.7 * scale, 5.0, 150.0), [0, 4]),
            (nd.StepCurrentSource([10.0, 60.0, 110.0], [0.9 * scale, 0.55 * scale, 1.3 * scale]), [1, 4]),
            (nd.ACSource(0.5 * scale, 0.75 * scale, 40.0, 45.0, 2.0, 180.0), [2, 4]),
            (nd.NoisyCurrentSource(0.8 * scale, 0.4 * scale, 3.0, 190.0, 0.5), [3, 4]),
        ]
        for source, neurons in sources:
            network.inject(label, source, neurons=neurons, label=f"{label} {source.kind}")
        network.record(label, ["spikes", "v"])
    return network


def test_the_emulation_is_its_quantization_aware_reference_spike_for_spike():
    network = mixed_network()
    graph = lower(network)
    reference = run_reference(quantization_aware(network, graph, ring_buffer_scaling(graph)), 200.0)
    target = make_backend("spinnaker").run(network, 200.0)
    for label in ("curr", "cond", "izh"):
        ticks = [t.tolist() for t in target.spikes.ticks(label)]
        assert ticks == [t.tolist() for t in reference.spikes.ticks(label)], label
        assert np.array_equal(target.traces[label]["v"], reference.traces[label]["v"]), label
        assert all(len(t) > 0 for t in ticks), label


def test_targets_without_current_sources_refuse_them_saying_why():
    network = one_population(dt=1.0)
    for source in (nd.DCSource(), nd.StepCurrentSource([1.0], [1.0]), nd.ACSource(), nd.NoisyCurrentSource()):
        network.inject("P", source, label=source.kind)
    graph = lower(network)
    findings = {f.subject: f.message for f in check_target(network, graph, ring_buffer_scaling(graph), SPINN5)}
    assert "draws on chip" in findings["current source 'NoisyCurrentSource'"]
    assert "rad/ms" in findings["current source 'ACSource'"]
    assert "not yet written into pynn_script.py" in findings["current source 'DCSource'"]
    lava = [f for f in lava_check_semantics(network) if f.level == "error"]
    assert [f.subject for f in lava] == [
        f"current source '{kind}'" for kind in ("DCSource", "StepCurrentSource", "ACSource", "NoisyCurrentSource")
    ]
    with pytest.raises(BackendError, match="discrete mode only"):
        make_backend("brian2", mode="physics").run(network, 5.0)


SPINN5 = target_descriptions()["spinn5"].data
