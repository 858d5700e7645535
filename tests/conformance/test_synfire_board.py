"""sPyNNaker8's synfire rings recorded on a SpiNNaker board (``../shared/external/spynnaker8-synfire-board/``):
every neuron's spikes, ``v`` and excitatory current every millisecond, against the spinnaker emulation under
both encoding profiles (through a plain PyNN script, as the integration tests ran them) and against the
float64 reference, each recording as sPyNNaker records."""

import numpy as np
import pytest

import neurodeploy as nd
import neurodeploy.pynn as sim
from neurodeploy.backends import make_backend

from .conftest import external

RINGS = [(1, 100.0, 33), (7, 200.0, 22), (17, 500.0, 27)]  # delay (ms), runtime (ms), the tests' spike count
S16_15 = 2.0**-15  # the board's resolution (nA and mV)
CELL = {
    "cm": 0.25,
    "i_offset": 0.0,
    "tau_m": 20.0,
    "tau_refrac": 2.0,
    "tau_syn_E": 5.0,
    "tau_syn_I": 5.0,
    "v_reset": -70.0,
    "v_rest": -65.0,
    "v_thresh": -50.0,
}


@pytest.fixture(autouse=True)
def fresh_simulator():
    yield
    sim.end()


def board() -> object:
    return external("spynnaker8-synfire-board")


def board_spikes(delay: int) -> list[tuple[int, float]]:
    return sorted((int(n), float(t)) for n, t in np.loadtxt(board() / f"20_{delay}_spikes.csv", delimiter=","))


def board_trace(delay: int, kind: str, runtime: float) -> np.ndarray:
    """A board recording (``v`` or ``gsyn``) as ticks x neurons."""
    rows = np.loadtxt(board() / f"20_{delay}_{kind}.csv", delimiter=",")
    trace = np.full((int(runtime), 20), np.nan)
    trace[rows[:, 1].astype(int), rows[:, 0].astype(int)] = rows[:, 2]
    return trace


def synfire_script(delay: int, runtime: float, backend_options=None):
    """sPyNNaker8's SynfireRunner with its defaults (the board folder's README), as a PyNN script."""
    sim.setup(timestep=1.0, min_delay=1.0, backend="spinnaker", backend_options=backend_options)
    ring = sim.Population(20, sim.IF_curr_exp(**CELL), label="pop_1")
    stimulus = sim.Population(1, sim.SpikeSourceArray(spike_times=[0]), label="inputSpikes_1")
    ring_list = [(i, (i + 1) % 20, 2.0, delay) for i in range(20)]
    sim.Projection(ring, ring, sim.FromListConnector(ring_list), synapse_type=sim.StaticSynapse())
    sim.Projection(stimulus, ring, sim.FromListConnector([(0, 0)]), synapse_type=sim.StaticSynapse(weight=2.0, delay=1))
    ring.record(["spikes", "v", "gsyn_exc"])
    sim.run(runtime)
    return ring.get_data()


def segment_spikes(segment) -> list[tuple[int, float]]:
    return sorted((int(t.annotations["source_index"]), float(s)) for t in segment.spiketrains for s in t.magnitude)


def synfire_network(delay: int, runtime: float) -> nd.Network:
    """The same ring in neurodeploy's own API."""
    network = nd.Network("synfire", duration=runtime)
    network.population("ring", 20, parameters=CELL)
    network.spike_source("in", [[0.0]])
    network.project("ring", "ring", nd.FromList(list(range(20)), [(i + 1) % 20 for i in range(20)]), 2.0, float(delay))
    network.project("in", "ring", nd.FromList([0], [0]), weight=2.0, delay=1.0)
    network.record("ring", ["spikes", "v", "isyn_exc"])
    return network


@pytest.mark.parametrize("delay, runtime, count", RINGS)
def test_the_emulation_under_7_4_1_gives_the_boards_spikes_and_traces_within_spynnakers_tolerances(
    delay, runtime, count
):
    """sPyNNaker 7.4.1's cores compute their constants with spinn_common's exp, which rounds where sPyNNaker8's
    host truncated: the spikes stay exact, the traces move within the integration tests' tolerances."""
    block = synfire_script(delay, runtime)
    assert len(block.segments) == 1
    segment = block.segments[0]
    spikes = segment_spikes(segment)
    assert spikes == board_spikes(delay) and len(spikes) == count
    first = segment.spiketrains[0]
    assert first.annotations == {"source_population": "pop_1", "source_index": 0, "channel_id": 0}
    assert block.annotations["label"] == "pop_1" and block.annotations["size"] == 20
    [v] = segment.filter(name="v")
    [gsyn] = segment.filter(name="gsyn_exc")
    assert v.shape == gsyn.shape == (int(runtime), 20) and str(v.units.dimensionality) == "mV"
    assert str(gsyn.units.dimensionality) == "nA"
    recorded_v, recorded_gsyn = board_trace(delay, "v", runtime), board_trace(delay, "gsyn", runtime)
    assert np.allclose(v.magnitude, recorded_v, rtol=1e-3, atol=0)
    assert np.allclose(gsyn.magnitude, recorded_gsyn, rtol=1e-4, atol=0)
    # not bit for bit: one s16.15 step of exp(-1/20) apart, up to 0.0086 mV and 5 steps of current
    assert 0 < np.abs(v.magnitude - recorded_v).max() <= 0.0086
    assert 0 < np.abs(gsyn.magnitude - recorded_gsyn).max() <= 5 * S16_15


@pytest.mark.parametrize("delay, runtime, count", RINGS)
def test_the_emulation_under_2019_gives_the_boards_spikes_v_and_gsyn_bit_for_bit(delay, runtime, count):
    """sPyNNaker8 computed exp(-dt/tau) and init on the host and truncated them: with that encoding the
    emulation records every v and gsyn_exc sample the board recorded, bit for bit."""
    segment = synfire_script(delay, runtime, {"encoding": "2019"}).segments[0]
    spikes = segment_spikes(segment)
    assert spikes == board_spikes(delay) and len(spikes) == count
    [v] = segment.filter(name="v")
    [gsyn] = segment.filter(name="gsyn_exc")
    np.testing.assert_array_equal(v.magnitude, board_trace(delay, "v", runtime))
    np.testing.assert_array_equal(gsyn.magnitude, board_trace(delay, "gsyn", runtime))


@pytest.mark.parametrize("delay, runtime, count", RINGS)
def test_the_float_reference_gives_the_boards_spikes_and_traces_within_the_boards_resolution(delay, runtime, count):
    """The Brian2 reference in float64, recording as sPyNNaker does: the spikes exact, v within the tests'
    tolerance; the current within a few s16.15 steps but not within the tests' relative tolerance, because
    the board floors every decay product (its current runs low, and its tails reach 0 where float64's do
    not)."""
    network = synfire_network(delay, runtime)
    result = make_backend("brian2", recording="spynnaker").run(network, runtime)
    spikes = sorted((i, float(t)) for i, train in enumerate(result.spikes.ticks("ring")) for t in train)
    assert spikes == board_spikes(delay) and len(spikes) == count
    v, current = result.traces["ring"]["v"], result.traces["ring"]["isyn_exc"]
    recorded_v, recorded_current = board_trace(delay, "v", runtime), board_trace(delay, "gsyn", runtime)
    assert np.allclose(v, recorded_v, rtol=1e-3, atol=0)
    np.testing.assert_allclose(current, recorded_current, rtol=0, atol=4 * S16_15)
    assert not np.allclose(current, recorded_current, rtol=1e-4)
    assert np.all(current >= recorded_current)  # floored products only ever lose
