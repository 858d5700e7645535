"""Several runs with changes between them: PyNN's system scenarios on run/reset/set between runs
(NeuralEnsemble/PyNN 0.13 ``test/system/scenarios``: test__simulation_control, test_update_SpikeSourceArray,
test_ticket166, test_reset_recording), re-written with their assertions for ``neurodeploy.pynn`` on
brian2 and spinnaker (one on Lava); a trace derived by hand for ``set(i_offset)`` between runs; a two-run script against
the single description with the same schedule; the description's schedule checked and serialized."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_almost_equal, assert_array_equal
from pyNN.parameters import Sequence

import neurodeploy.description as nd
import neurodeploy.pynn as sim
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava.toolchain import LoihiToolchain
from neurodeploy.backends.spinnaker.graph import lower as spinnaker_graph
from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling
from neurodeploy.backends.spinnaker.toolchain import SpinnakerToolchain
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.pynn import simulator

BACKENDS = ("brian2", "spinnaker")


def on(backend: str) -> dict:
    """setup()'s arguments for ``backend``, recording as PyNN's scenarios expect on every backend (the
    initial value, then the end of each tick), where on spinnaker neurodeploy.pynn records as sPyNNaker does."""
    return {"backend": backend, "backend_options": {"recording": "end_of_tick"} if backend == "spinnaker" else None}


@pytest.fixture(autouse=True)
def fresh_simulator():
    yield
    sim.end()


def signal(segment) -> np.ndarray:
    return np.asarray(segment.analogsignals[0].magnitude)


# --- PyNN's test__simulation_control.py ---------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset(backend):
    sim.setup(timestep=1, min_delay=1, t_flush=10.0, **on(backend))
    p = sim.Population(1, sim.IF_curr_exp(i_offset=0.1))
    p.record("v")
    for _ in range(3):
        sim.run(10.0)
        sim.reset()
    data = p.get_data(clear=False)
    assert len(data.segments) == 3
    for segment in data.segments[1:]:
        assert_array_almost_equal(segment.analogsignals[0], data.segments[0].analogsignals[0], 10)
    assert np.ptp(signal(data.segments[0])) > 0.5  # the current charged the membrane


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_with_clear(backend):
    sim.setup(timestep=1, min_delay=1, t_flush=10.0, **on(backend))
    p = sim.Population(1, sim.IF_curr_exp(i_offset=0.1))
    p.record("v")
    data = []
    for _ in range(3):
        sim.run(10.0)
        data.append(p.get_data(clear=True))
        sim.reset()
    for block in data:
        assert len(block.segments) == 1
        assert_allclose(signal(block.segments[0]), signal(data[0].segments[0]), 1e-11)
    assert signal(data[0].segments[0]).shape == (11, 1)


def test_spike_counts_after_clear_count_the_spikes_since():
    # As PyNN's NEST and Brian2 modules count them: clear empties the recording, counts included.
    sim.setup(timestep=1.0)
    source = sim.Population(2, sim.SpikeSourceArray(spike_times=[[2.0, 4.0, 12.0], [3.0]]))
    source.record("spikes")
    sim.run(5.0)
    assert source.get_spike_counts() == {source[0]: 2, source[1]: 1}
    source.get_data(clear=True)
    sim.run(10.0)
    since = source.get_data().segments[0].spiketrains
    assert [list(train.magnitude) for train in since] == [[12.0], []]
    assert source.get_spike_counts() == {source[0]: 1, source[1]: 0}


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_with_spikes(backend):
    sim.setup(timestep=0.1, min_delay=0.1, t_flush=200.0, **on(backend))
    p1 = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.2, 3.8, 9.2], [1.5, 1.9, 2.7, 4.8, 6.8]]))
    p2 = sim.Population(2, sim.IF_curr_exp())
    p2.record("v")
    sim.Projection(p1, p2, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.5, delay=0.5))
    for _ in range(3):
        sim.run(10.0)
        sim.reset()
    data = p2.get_data(clear=False)
    assert len(data.segments) == 3
    for segment in data.segments[1:]:
        assert_array_almost_equal(segment.analogsignals[0], data.segments[0].analogsignals[0], 10)
    assert signal(data.segments[0]).max() > -64.0  # the spikes arrived


@pytest.mark.parametrize("backend", BACKENDS)
def test_setup(backend):
    data = []
    for _ in range(3):
        sim.setup(timestep=1, min_delay=1, **on(backend))
        p = sim.Population(1, sim.IF_curr_exp(i_offset=0.1))
        p.record("v")
        sim.run(10.0)
        data.append(p.get_data())
        sim.end()
    for block in data:
        assert len(block.segments) == 1
        signals = block.segments[0].analogsignals
        assert len(signals) == 1
        assert_array_equal(signals[0], data[0].segments[0].analogsignals[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_run_until(backend):
    sim.setup(timestep=0.1, **on(backend))
    p = sim.Population(1, sim.IF_cond_exp())
    p.record("v")
    sim.run_until(12.7)
    assert sim.get_current_time() == pytest.approx(12.7)
    sim.run_until(12.7)
    assert sim.get_current_time() == pytest.approx(12.7)
    sim.run_until(99.9)
    assert sim.get_current_time() == pytest.approx(99.9)
    with pytest.raises(ValueError):
        sim.run_until(88.8)
    assert signal(p.get_data().segments[0]).shape == (1000, 1)  # 0 to 99.9 ms


# --- spike times, electrodes' neighbours, recording -----------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_update_SpikeSourceArray(backend):
    sim.setup(**on(backend))
    sources = sim.Population(2, sim.SpikeSourceArray(spike_times=[]))
    sources.record("spikes")
    sim.run(10.0)
    sources.set(spike_times=[Sequence([12, 15, 18]), Sequence([17, 19])])
    sim.run(10.0)
    sources.set(spike_times=[Sequence([22, 25]), Sequence([23, 27, 29])])
    sim.run(10.0)
    trains = sources.get_data().segments[0].spiketrains
    assert_array_equal(trains[0].magnitude, [12, 15, 18, 22, 25])
    assert_array_equal(trains[1].magnitude, [17, 19, 23, 27, 29])


@pytest.mark.parametrize("backend", BACKENDS)
def test_ticket166(backend):
    """Changing the spike times of one source of two mid-simulation (PyNN ticket 166)."""
    dt, t_step, lag = 0.1, 100.0, 3.0
    sim.setup(timestep=dt, min_delay=dt, **on(backend))
    sources = sim.Population(2, sim.SpikeSourceArray())
    cells = sim.Population(2, sim.IF_cond_exp())
    sim.Projection(sources, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.01))
    cells.record("v")
    spiketimes = np.arange(2.0, t_step, t_step / 13.0)
    sources[0].spike_times = spiketimes
    sources[1].spike_times = spiketimes + lag
    sim.run(t_step)  # both neurons depolarized by synaptic input
    sim.run(t_step)  # no more synaptic input, neurons decay
    spiketimes += 2 * t_step
    sources[0].spike_times = spiketimes  # no new spikes for the second source
    sim.run(t_step)  # the first neuron is depolarized again
    vm = cells.get_data().segments[0].analogsignals[0]
    assert vm[-1, 0] > -60.0
    assert vm[-1, 1] < -64.99


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_recording(backend):
    """record(None) after reset() changes what the next block records (PyNN's test_recording)."""
    sim.setup(**on(backend))
    p = sim.Population(7, sim.IF_cond_exp())
    p[3].i_offset = 0.1
    p[4].i_offset = 0.2
    p[3:4].record("v")
    sim.run(10.0)
    sim.reset()
    p.record(None)
    p[4:5].record("v")
    sim.run(10.0)
    data = p.get_data()

    def times(i):
        return data.segments[i].analogsignals[0].times

    assert_array_equal(times(0), times(1))
    assert_array_equal(data.segments[0].analogsignals[0].array_annotations["channel_index"], np.array([3]))
    assert_array_equal(data.segments[1].analogsignals[0].array_annotations["channel_index"], np.array([4]))
    v0, v1 = signal(data.segments[0]), signal(data.segments[1])
    assert v0.shape == v1.shape == (101, 1)
    assert v0[0, 0] == v1[0, 0] == p.initial_values["v"].evaluate(simplify=True)
    assert not (v0[1:, 0] == v1[1:, 0]).any()


# --- set() between runs, derived by hand ----------------------------------------------------------

TOLERANCE = {"brian2": 1e-9, "spinnaker": 0.02}
"""mV. brian2: float64. spinnaker: exp(-dt / tau_m) is held in s16.15, 2^-16 of a decay of 0.005 per tick at
dt 0.1 ms: the time constant off by up to 0.3 %, V by 0.3 % of a charging of at most 14 mV (< 0.02 mV)."""


@pytest.mark.parametrize("backend", BACKENDS)
def test_set_i_offset_between_runs_charges_towards_the_new_level(backend):
    """An LIF neuron (tau_m 20 ms, cm 1 nF, v_rest -65 mV) charges under i_offset 0.4 nA towards
    -65 + 0.4 * 20 = -57 mV: v(t) = -57 - 8 exp(-t / 20). At 20 ms the script sets i_offset 0.7: from
    the first tick of the second run the level is -51 mV, v(t) = -51 + (v(20) + 51) exp(-(t - 20) / 20).
    Only neuron 1 of two is changed (through a view); neuron 0 goes on towards -57 mV."""
    sim.setup(timestep=0.1, **on(backend))
    cells = sim.Population(2, sim.IF_curr_exp(i_offset=0.4))
    cells.record("v")
    sim.run(20.0)
    cells[1:2].set(i_offset=0.7)
    assert list(cells.get("i_offset")) == [0.4, 0.7]
    sim.run(20.0)
    v = signal(cells.get_data().segments[0])
    t = np.arange(401) * 0.1
    first = -57.0 - 8.0 * np.exp(-t / 20.0)
    at_change = -57.0 - 8.0 * np.exp(-1.0)
    second = np.where(t <= 20.0, first, -51.0 + (at_change + 51.0) * np.exp(-(t - 20.0) / 20.0))
    assert v.shape == (401, 2)
    assert_allclose(v[:, 0], first, rtol=0, atol=TOLERANCE[backend])
    assert_allclose(v[:, 1], second, rtol=0, atol=TOLERANCE[backend])
    assert v[201, 1] - v[201, 0] > 0.5 * 0.3 * 20.0 * (1 - np.exp(-0.1 / 20.0))  # the first tick after: new level


def two_run_script(backend: str):
    """Two runs with a parameter change through a view, new spike times and a weight change between."""
    sim.setup(timestep=0.1, **on(backend))
    sources = sim.Population(2, sim.SpikeSourceArray(spike_times=[[1.0, 12.0, 19.8], [3.0]]), label="in")
    cells = sim.Population(2, sim.IF_curr_exp(tau_m=10.0), label="cells")
    projection = sim.Projection(
        sources, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.5, delay=0.5), label="feed"
    )
    cells.record(["v", "spikes"])
    sim.run(20.0)
    cells[0:1].set(i_offset=1.2)
    sources.set(spike_times=[Sequence([20.0, 26.0]), Sequence([24.0])])
    projection.set(weight=[3.0, 0.5])
    sim.run(20.0)
    block = cells.get_data()
    return signal(block.segments[0]), [train.magnitude for train in block.segments[0].spiketrains]


def scheduled_description() -> nd.Network:
    """The same network as one description whose schedule holds the changes the script made at 20 ms
    (PyNN's IF_curr_exp defaults written out)."""
    network = nd.Network("pynn", nd.Semantics(dt=0.1), duration=40.0)
    network.add(nd.SpikeSource("in", 2, [[1.0, 12.0, 19.8, 20.0, 26.0], [3.0, 24.0]]))
    parameters = dict(
        tau_m=10.0, cm=1.0, v_rest=-65.0, v_reset=-65.0, v_thresh=-50.0, tau_refrac=0.1, i_offset=0.0,
        tau_syn_E=5.0, tau_syn_I=5.0,
    )  # fmt: skip
    network.population("cells", 2, "IF_curr_exp", parameters, {"v": -65.0})
    network.project("in", "cells", nd.OneToOne(), weight=1.5, delay=0.5, label="feed")
    network.record("cells", ["v", "spikes"])
    network.change(nd.ParameterChange(20.0, "cells", {"i_offset": 1.2}, [0]))
    network.change(nd.WeightChange(20.0, "feed", [3.0, 0.5]))
    return network.validate()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_two_run_script_is_the_description_with_its_schedule(backend):
    v, trains = two_run_script(backend)
    result = make_backend(backend).run(scheduled_description(), 40.0)
    assert_array_equal(v[1:], result.traces["cells"]["v"])
    assert_array_equal(v[0], [-65.0, -65.0])
    for train, expected in zip(trains, result.spikes.populations["cells"]):
        assert_array_equal(train, expected)
    assert len(trains[0]) > 0  # the new i_offset (1.2 nA: level -53 mV) with the new weight fires neuron 0


def test_lava_runs_the_two_run_script_as_its_scheduled_description():
    """Lava's worker runs in pieces and sets the processes' Vars between them: the script's result is the
    description's, and its spikes are brian2's within one tick (Lava's integers)."""
    v, trains = two_run_script("lava")
    result = make_backend("lava").run(scheduled_description(), 40.0)
    assert_array_equal(v[1:], result.traces["cells"]["v"])
    reference, reference_trains = two_run_script("brian2")
    assert len(trains[0]) > 0
    for train, expected in zip(trains, reference_trains):
        assert len(train) == len(expected)
        assert_allclose(train, expected, atol=0.1 + 1e-9)
    assert np.abs(v[:200] - reference[:200]).max() < 0.05  # before the first spike


@pytest.mark.parametrize(
    "change, message",
    [
        (nd.ParameterChange(0.0, "p", {"i_offset": 0.5}), "before the first tick"),
        (nd.ParameterChange(5.0, "p", {"v_rest": -60.0}), "v is held relative to v_rest"),
        (nd.ParameterChange(5.0, "p", {"tau_syn_E": 1.0}), "the factor its arriving weights are scaled by"),
    ],
)
def test_lava_refuses_what_its_integers_cannot_change_naming_it(change, message):
    network = small_network()
    network.change(change)
    with pytest.raises(ValidationError, match=message):
        make_backend("lava").run(network.validate(), 20.0)


def test_the_two_backends_agree_on_the_two_run_script():
    brian2, _ = two_run_script("brian2")
    spinnaker, _ = two_run_script("spinnaker")
    assert np.abs(brian2 - spinnaker).max() < 0.05


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_weight_change_reaches_spikes_emitted_from_its_tick_on(backend):
    """Delay 3 ms: the spike emitted at 18 ms (before the change at 19 ms) arrives at 21 ms with the old
    weight, as in the run without the change; the one emitted at 19 ms arrives at 22 ms with the new."""

    def network(changed: bool) -> nd.Network:
        network = nd.Network("w", nd.Semantics(dt=1.0), duration=30.0)
        network.population("p", 1, "IF_curr_exp", {"v_thresh": 0.0})
        network.spike_source("s", [[18.0, 19.0]])
        network.project("s", "p", nd.OneToOne(), weight=0.5, delay=3.0, label="w")
        network.record("p", ["v"])
        if changed:
            network.change(nd.WeightChange(19.0, "w", 2.0))
        return network

    backend_ = make_backend(backend)
    before, after = (backend_.run(network(changed), 30.0).traces["p"]["v"][:, 0] for changed in (False, True))
    # Row k is V after tick k; input of tick 21 is the first spike, of tick 22 the second.
    assert_array_equal(after[:22], before[:22])
    assert after[22] - before[22] > 0.5


def test_a_synaptic_time_constant_change_scales_the_input_arriving_from_its_tick_on():
    """tau_syn_E changes at 19 ms while spikes (delay 2 ms) arrive every tick: the input of each tick is
    scaled by that tick's factor on both backends (Brian2 delivers a tick's input in the tick before:
    its factor changes a tick earlier); the spinnaker emulation's s16.15 is the only difference."""

    network = nd.Network("w", nd.Semantics(dt=1.0), duration=30.0)
    network.population("p", 1, "IF_curr_exp", {"v_thresh": 0.0})
    network.spike_source("s", [[16.0, 17.0, 18.0, 19.0, 20.0]])
    network.project("s", "p", nd.OneToOne(), weight=2.0, delay=2.0, label="w")
    network.record("p", ["v"])
    network.change(nd.ParameterChange(19.0, "p", {"tau_syn_E": 1.0}))
    brian2, spinnaker = (make_backend(b).run(network, 30.0).traces["p"]["v"][:, 0] for b in BACKENDS)
    assert np.abs(brian2 - spinnaker).max() < 0.005


def test_the_fixed_point_reference_runs_a_schedule_as_the_emulation_does():
    """The Brian2 reference on the chip's numbers and arithmetic (quantization_aware's Accumulator), with
    the same changes in the chip's numbers (i_offset 0.5 -> 1.0 nA and the stored weights doubled, both
    exact in s16.15), is the emulation bit for bit."""
    network = nd.Network("w", nd.Semantics(dt=1.0), duration=40.0)
    network.population("p", 2, "IF_curr_exp", {"i_offset": 0.5})
    network.spike_source("s", [[5.0, 25.0], [6.0, 26.0]])
    network.project("s", "p", nd.OneToOne(), weight=1.0, delay=1.0, label="w")
    network.record("p", ["v", "spikes"])
    graph = spinnaker_graph(network.validate())
    reference = quantization_aware(network, graph, ring_buffer_scaling(graph))
    reference.change(nd.ParameterChange(20.0, "p", {"i_offset": 1.0}))
    reference.change(nd.WeightChange(20.0, "w", reference.connections("w").weight * 2))
    network.change(nd.ParameterChange(20.0, "p", {"i_offset": 1.0}))
    network.change(nd.WeightChange(20.0, "w", 2.0))
    expected = make_backend("spinnaker").run(network.validate(), 40.0)
    result = make_backend("brian2").run(reference.validate(), 40.0)
    assert reference.populations["p"].arithmetic is not None
    assert_array_equal(result.traces["p"]["v"], expected.traces["p"]["v"])
    assert np.ptp(expected.traces["p"]["v"][20:30]) > 1.0


# --- reset keeps parameters, drops weight changes -------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_reset_keeps_parameters_set_and_restores_weights(backend):
    """PyNN's reset: time, initial values and synaptic weights back to their initial values, parameters
    as set. A block with i_offset set to 0.5 between runs, then after reset a block starting with 0.5;
    a weight raised during the first block is the initial one again in the second."""
    sim.setup(timestep=1.0, **on(backend))
    sources = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0, 12.0]))
    cells = sim.Population(1, sim.IF_curr_exp(tau_m=10.0))
    projection = sim.Projection(sources, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0))
    cells.record("v")
    sim.run(10.0)
    cells.set(i_offset=0.5)
    projection.set(weight=4.0)
    sim.run(10.0)
    sim.reset()
    sim.run(20.0)
    first, second = (signal(segment)[:, 0] for segment in cells.get_data().segments)
    expected = sim_free_charging(10.0, 0.5, 20)  # i_offset 0.5 from t = 0, no spikes yet at 1 ms
    assert_allclose(second[:3], expected[:3], atol=TOLERANCE[backend])
    assert_allclose(first[:3], [-65.0, -65.0, -65.0], atol=TOLERANCE[backend])
    # The spike at 12 ms: weight 4 in the first block, 1 in the second (on top of the charging).
    assert first[14] - first[13] > second[14] - second[13] + 1.0


def sim_free_charging(tau_m: float, current: float, ticks: int) -> np.ndarray:
    t = np.arange(ticks + 1) * 1.0
    return -65.0 + current * tau_m * (1 - np.exp(-t / tau_m))


# --- the description's schedule -------------------------------------------------------------------


def small_network() -> nd.Network:
    network = nd.Network("s", nd.Semantics(dt=1.0), duration=20.0)
    network.population("p", 2, "IF_curr_exp")
    network.spike_source("s", [[1.0], [2.0]])
    network.project("s", "p", nd.OneToOne(), weight=0.5, label="w")
    return network


@pytest.mark.parametrize(
    "change, field, message",
    [
        (nd.ParameterChange(10.5, "p", {"i_offset": 1.0}), "time", "not a multiple of dt"),
        (nd.ParameterChange(20.0, "p", {"i_offset": 1.0}), "time", "at or after the end of the run"),
        (nd.ParameterChange(1.0, "q", {"i_offset": 1.0}), "population", "unknown population 'q'"),
        (nd.ParameterChange(1.0, "s", {"i_offset": 1.0}), "population", "unknown population 's'"),
        (nd.ParameterChange(1.0, "p", {"v": -60.0}), "parameters.v", "not a parameter of IF_curr_exp"),
        (nd.ParameterChange(1.0, "p", {"tau_m": -1.0}), "parameters.tau_m", "must be > 0"),
        (nd.ParameterChange(1.0, "p", {"i_offset": [1.0, 2.0, 3.0]}), "parameters.i_offset", "3 values"),
        (nd.ParameterChange(1.0, "p", {"i_offset": 1.0}, [2]), "neurons", "out of range"),
        (nd.WeightChange(1.0, "x", 1.0), "projection", "unknown projection 'x'"),
        (nd.WeightChange(1.0, "w", [1.0, 2.0, 3.0]), "weight", "3 values but there are 2 connections"),
        (nd.WeightChange(1.0, "w", -1.0), "weight", "must be >= 0"),
    ],
)
def test_a_change_is_checked_naming_what_is_wrong(change, field, message):
    network = small_network()
    network.change(change)
    with pytest.raises(ValidationError, match=message) as caught:
        network.validate()
    assert caught.value.field == field


def test_the_schedule_is_serialized_and_its_stages_apply_changes_in_time_order(tmp_path):
    network = small_network()
    network.change(nd.ParameterChange(10.0, "p", {"i_offset": 0.5}, [1]))
    network.change(nd.WeightChange(5.0, "w", [0.1, 0.2]))
    network.change(nd.ParameterChange(10.0, "p", {"tau_m": 15.0}))
    network.validate()
    nd.save(network, tmp_path / "model.yaml")
    assert "changes:" in (tmp_path / "model.yaml").read_text()
    copy = nd.load(tmp_path / "model.yaml")
    assert copy == network
    assert [change.time for change in copy.changes] == [5.0, 10.0, 10.0]
    stages = copy.stages()
    assert [(stage.tick, stage.populations, stage.projections) for stage in stages] == [
        (5, (), ("w",)),
        (10, ("p",), ()),
    ]
    assert_array_equal(stages[0].network.connections("w").weight, [0.1, 0.2])
    assert_array_equal(stages[1].network.populations["p"].value("i_offset"), [0.0, 0.5])
    assert stages[1].network.populations["p"].cell.tau_m == 15.0
    assert stages[1].network.changes == [] and network.populations["p"].cell.i_offset == 0.0


def test_what_cannot_run_a_schedule_refuses_it_naming_the_change(tmp_path):
    network = small_network()
    network.change(nd.WeightChange(3.0, "w", 1.0))
    network.validate()
    with pytest.raises(BackendError, match="discrete mode only"):
        make_backend("brian2", mode="physics").run(network, 20.0)
    for toolchain, target in ((SpinnakerToolchain, "spinn5"), (LoihiToolchain, "loihi2")):
        with pytest.raises(ValidationError, match=f"the {target} target does not run parameter or weight changes"):
            toolchain().compile(network, {"name": target}, tmp_path, 20.0)
    plastic = nd.Network("s", nd.Semantics(dt=1.0), duration=20.0)
    plastic.population("p", 2, "IF_curr_exp")
    plastic.spike_source("s", [[1.0], [2.0]])
    plastic.project("s", "p", nd.OneToOne(), weight=0.5, label="w", plasticity=nd.STDP())
    plastic.change(nd.WeightChange(3.0, "w", 1.0))
    for backend in BACKENDS:
        with pytest.raises(ValidationError, match="'w' is plastic"):
            make_backend(backend).run(plastic.validate(), 20.0)


def test_what_a_block_cannot_change_is_refused_naming_it():
    sim.setup(timestep=1.0)
    sources = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0]))
    cells = sim.Population(1, sim.IF_curr_exp())
    projection = sim.Projection(sources, cells, sim.OneToOneConnector(), sim.StaticSynapse(weight=1.0))
    cells.record("v")
    sim.run(10.0)
    projection.set(weight=sim.RandomDistribution("uniform", (2.0, 3.0)))  # any form PyNN takes: one change
    (change,) = simulator.state.changes
    assert isinstance(change, nd.WeightChange) and change.time == 10.0 and 2.0 <= change.weight <= 3.0
    assert projection.get("weight", format="list", with_address=False) == [change.weight]
    with pytest.raises(NotImplementedError, match=r"initialize\(\) after run\(\) \(before reset\(\)\)"):
        cells.initialize(v=-60.0)
    with pytest.raises(NotImplementedError, match=r"creating projections after run\(\)"):
        sim.Projection(sources, cells, sim.OneToOneConnector())
    cells.set(tau_m=-1.0)  # checked by the description when the block runs, naming the change
    sim.run(5.0)
    with pytest.raises(ValidationError, match="parameter change at 10 ms of population .*tau_m.*must be > 0"):
        cells.get_data()


def test_a_plastic_projections_weights_are_refused_when_set_between_runs():
    # No backend changes learned weights: refused where the script sets them, the block still readable.
    sim.setup(timestep=1.0)
    sources = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0, 6.0]))
    cells = sim.Population(1, sim.IF_curr_exp())
    stdp = sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.1, A_minus=0.1),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=5.0),
        weight=1.0,
        delay=1.0,
    )
    projection = sim.Projection(sources, cells, sim.OneToOneConnector(), stdp)
    sim.run(10.0)
    for change in (lambda: projection.set(weight=2.0), lambda: setattr(projection[0], "weight", 2.0)):
        with pytest.raises(NotImplementedError, match="plastic projection's weights after run"):
            change()
    assert simulator.state.changes == []
    sim.run(5.0)
    assert len(projection.get("weight", format="list")) == 1


@pytest.mark.parametrize("backend", [*BACKENDS, "lava"])
def test_set_i_offset_between_runs_adds_to_an_injected_current(backend):
    # The expectation: one run in which the i_offset step is a second current source (the cell adds
    # i_offset and every injected current alike, in the chip's units each).
    def two_runs():
        sim.setup(timestep=1.0, **on(backend))
        cells = sim.Population(2, sim.IF_curr_exp(v_thresh=-40.0))
        cells.inject(sim.DCSource(amplitude=0.2, start=2.0))
        cells.record("v")
        sim.run(10.0)
        cells.set(i_offset=0.5)
        sim.run(10.0)
        return signal(cells.get_data().segments[0])

    def one_run():
        sim.setup(timestep=1.0, **on(backend))
        cells = sim.Population(2, sim.IF_curr_exp(v_thresh=-40.0))
        cells.inject(sim.DCSource(amplitude=0.2, start=2.0))
        cells.inject(sim.StepCurrentSource(times=[10.0], amplitudes=[0.5]))
        cells.record("v")
        sim.run(20.0)
        return signal(cells.get_data().segments[0])

    changed, expected = two_runs(), one_run()
    assert changed[-1, 0] > changed[10, 0] + 1.0  # the change charged the membrane further
    if backend == "brian2":
        assert_allclose(changed, expected, rtol=0, atol=1e-12)
    else:
        assert_array_equal(changed, expected)
