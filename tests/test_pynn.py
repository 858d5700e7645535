"""The PyNN front end: plain PyNN scripts against ``neurodeploy.pynn`` give the same spikes as the network
built with neurodeploy's own API, and refuse what they cannot run yet, naming it (a SpiNNaker board's
recordings: tests/conformance/)."""

import numpy as np
import pytest

import neurodeploy as nd
import neurodeploy.pynn as sim
from neurodeploy.backends import make_backend


@pytest.fixture(autouse=True)
def fresh_simulator():
    yield
    sim.end()


def small_network_script(backend: str):
    """Every supported cell type and connector, both receptors, FromList weight and delay columns."""
    sim.setup(timestep=0.1, backend=backend, seed=4)
    source = sim.Population(3, sim.SpikeSourceArray(spike_times=[[2.0, 11.0], [4.0, 30.5], [7.0]]), label="S")
    a = sim.Population(4, sim.IF_curr_exp(tau_m=10.0, i_offset=[0.0, 0.2, 0.4, 1.2], tau_refrac=2.0), label="A")
    b = sim.Population(3, sim.IF_cond_exp(cm=0.5, e_rev_I=-80.0), label="B")
    c = sim.Population(2, sim.Izhikevich(a=0.02, b=0.2, c=-50.0, d=2.0, i_offset=[0.0, 5.0]), label="C")
    d = sim.Population(2, sim.IF_curr_delta(tau_m=15.0), label="D")
    a.initialize(v=[-60.0, -62.0, -64.0, -55.0])
    sim.Projection(source, a, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.5, delay=1.5))
    sim.Projection(
        a,
        b,
        sim.FixedProbabilityConnector(0.6, rng=sim.NumpyRNG(seed=11)),
        sim.StaticSynapse(weight=0.05, delay=0.5),
    )
    sim.Projection(source, b, sim.OneToOneConnector(), sim.StaticSynapse(weight=0.02), receptor_type="inhibitory")
    sim.Projection(a, a, sim.AllToAllConnector(allow_self_connections=False), sim.StaticSynapse(weight=0.3))
    sim.Projection(
        source,
        c,
        sim.FromListConnector([(0, 0, 8.0, 1.0), (1, 1, 3.0, 2.2), (2, 0, 4.0, 0.3)], column_names=["weight", "delay"]),
        sim.StaticSynapse(),
    )
    sim.Projection(a, d, sim.FromListConnector([(0, 0), (3, 1), (1, 1)]), sim.StaticSynapse(weight=6.0, delay=1.0))
    for population in (a, b, c, d):
        population.record("spikes")
    sim.run(60.0)
    return {population.label: population.get_data().segments[0].spiketrains for population in (a, b, c, d)}


def mock_pairs(n_pre: int, n_post: int, make_connector):
    """The (pre, post) pairs PyNN's own connector draws between two populations, under pyNN.mock (PyNN's
    reference simulator module, independent of neurodeploy's): what the description must hold."""
    import pyNN.mock

    pyNN.mock.setup(timestep=0.1)
    projection = pyNN.mock.Projection(
        pyNN.mock.Population(n_pre, pyNN.mock.IF_curr_exp()),
        pyNN.mock.Population(n_post, pyNN.mock.IF_curr_exp()),
        make_connector(pyNN.mock),
        pyNN.mock.StaticSynapse(),
    )
    pairs = sorted((int(i), int(j)) for i, j, _ in projection.get("weight", format="list"))
    pyNN.mock.end()
    return np.array([i for i, _ in pairs], dtype=np.int64), np.array([j for _, j in pairs], dtype=np.int64)


def small_network_directly() -> nd.Network:
    """The same network in neurodeploy's own API, written from the script above (PyNN's defaults are
    neurodeploy's, so only what the script sets is given)."""
    net = nd.Network("direct", nd.Semantics(dt=0.1), seed=4)
    net.spike_source("S", [[2.0, 11.0], [4.0, 30.5], [7.0]])
    net.population(
        "A",
        4,
        parameters={"tau_m": 10.0, "i_offset": [0.0, 0.2, 0.4, 1.2], "tau_refrac": 2.0},
        initial_values={"v": [-60.0, -62.0, -64.0, -55.0]},
    )
    net.population("B", 3, "IF_cond_exp", parameters={"cm": 0.5, "e_rev_I": -80.0})
    net.population("C", 2, "Izhikevich", parameters={"c": -50.0, "i_offset": [0.0, 5.0]})
    net.population("D", 2, "IF_curr_delta", parameters={"tau_m": 15.0})
    net.project("S", "A", nd.AllToAll(), weight=2.5, delay=1.5)
    net.project(
        "A",
        "B",
        nd.FromList(*mock_pairs(4, 3, lambda m: m.FixedProbabilityConnector(0.6, rng=m.NumpyRNG(seed=11)))),
        weight=0.05,
        delay=0.5,
    )
    net.project("S", "B", nd.OneToOne(), weight=0.02, delay=0.1, receptor="inhibitory")
    net.project("A", "A", nd.AllToAll(allow_self_connections=False), weight=0.3, delay=0.1)
    net.project("S", "C", nd.FromList([0, 1, 2], [0, 1, 0]), weight=[8.0, 3.0, 4.0], delay=[1.0, 2.2, 0.3])
    net.project("A", "D", nd.FromList([0, 3, 1], [0, 1, 1]), weight=6.0, delay=1.0)
    for label in "ABCD":
        net.record(label)
    return net


def test_a_pynn_script_runs_the_network_neurodeploys_own_api_describes():
    through_pynn = small_network_script("brian2")
    direct = make_backend("brian2").run(small_network_directly(), 60.0).spikes.populations
    for label, trains in through_pynn.items():
        assert [train.annotations["source_index"] for train in trains] == list(range(len(direct[label])))
        for train, expected in zip(trains, direct[label]):
            np.testing.assert_array_equal(train.magnitude, expected)
    counts = {label: sum(len(train) for train in trains) for label, trains in through_pynn.items()}
    assert all(count > 0 for count in counts.values()), counts


def a_ring():
    sim.setup(timestep=1.0)
    return sim.Population(4, sim.IF_curr_exp(), label="P")


def set_delays_after_a_run():
    projection = sim.Projection(a_ring(), sim.Population(4, sim.IF_curr_exp()), sim.OneToOneConnector())
    sim.run(10.0)
    projection.set(delay=2.0)


@pytest.mark.parametrize(
    "script, named",
    [
        (
            lambda: ((ring := a_ring()), sim.run(10.0), ring.inject(sim.DCSource())),
            "injecting a current source after run()",
        ),
        (lambda: sim.Vogels2011Rule(), "Vogels2011Rule"),
        (lambda: sim.TsodyksMarkramSynapse(), "TsodyksMarkramSynapse"),
        (
            lambda: sim.Projection(a_ring(), sim.Population(4, sim.IF_curr_exp()), sim.SmallWorldConnector(2, 0.1)),
            "the connector SmallWorldConnector",
        ),
        (lambda: set_delays_after_a_run(), "Projection.set of 'delay' after run()"),
        (lambda: a_ring().record("v", sampling_interval=2.5), "sampling_interval of 2.5 ms"),
        (lambda: sim.Population(2, sim.Izhikevich()).record("u"), "recording 'u'"),
        (lambda: sim.setup(timestep=1.0, spike_precision="on_grid"), "spike_precision"),
        (lambda: ((ring := a_ring()), sim.run(10.0), ring.record("v")), "record() after run() (before reset())"),
        (
            lambda: (
                sim.setup(),
                (noise := sim.Population(2, sim.SpikeSourcePoisson())),
                sim.run(10.0),
                noise.set(rate=10.0),
            ),
            "changing SpikeSourcePoisson parameters after run()",
        ),
        (lambda: (a_ring().set(tau_m=5.0), sim.run(10.0), sim.Population(1, sim.IF_curr_exp())), "after run()"),
    ],
)
def test_what_is_not_supported_yet_is_refused_naming_it(script, named):
    with pytest.raises(NotImplementedError, match=named.replace("(", r"\(").replace(")", r"\)")):
        script()


def test_a_refused_record_leaves_what_is_recorded_as_it_was():
    # PyNN's record() adds the cells before asking the simulator: a script that catches the refusal runs on
    # and records what it asked for before, nothing more.
    sim.setup(timestep=1.0)
    cells = sim.Population(2, sim.Izhikevich())
    for refused in (lambda: cells.record("u"), lambda: cells.record("v", sampling_interval=2.5)):
        with pytest.raises(NotImplementedError):
            refused()
    cells.record("v", sampling_interval=2.0)
    sim.run(6.0)
    (signal,) = cells.get_data().segments[0].analogsignals
    assert signal.name == "v" and signal.shape == (4, 2) and signal.sampling_period.magnitude == 2.0


def poisson_script(backend: str, seed: int, rate=40.0, start=12.3, duration=400.0, runtime=300.0, size=6):
    """A Poisson source driving a population; returns the source's spike trains as arrays."""
    sim.setup(timestep=0.1, backend=backend, seed=seed)
    source = sim.Population(size, sim.SpikeSourcePoisson(rate=rate, start=start, duration=duration), label="noise")
    target = sim.Population(2, sim.IF_curr_exp(), label="target")
    sim.Projection(source, target, sim.AllToAllConnector(), sim.StaticSynapse(weight=1.0, delay=1.0))
    source.record("spikes")
    sim.run(runtime)
    trains = [np.asarray(train.magnitude) for train in source.get_data().segments[0].spiketrains]
    sim.end()
    return trains


def test_poisson_spikes_are_the_same_on_every_backend_and_fixed_by_the_seed():
    brian2 = poisson_script("brian2", seed=7)
    assert sum(len(train) for train in brian2) > 0
    for train in brian2:
        ticks = train / 0.1
        assert np.allclose(ticks, np.round(ticks)) and np.all(np.diff(ticks) >= 1)
        assert np.all(train >= 12.3) and np.all(train < 300.0)  # the window, cut by the run's end
    for other in (poisson_script("spinnaker", seed=7), poisson_script("brian2", seed=7)):
        assert len(other) == len(brian2)
        for train, expected in zip(other, brian2):
            np.testing.assert_array_equal(train, expected)
    shorter = poisson_script("brian2", seed=7, runtime=150.0)
    for train, longer in zip(shorter, brian2):
        np.testing.assert_array_equal(train, longer[longer < 150.0])
    different = poisson_script("brian2", seed=8)
    assert any(not np.array_equal(a, b) for a, b in zip(different, brian2))


def test_poisson_count_is_rate_times_duration_within_five_sigma():
    # Each tick of the window fires with p = rate * dt, independently: the count over n ticks and all
    # neurons is binomial, mean N n p = N * rate * duration, standard deviation sqrt(N n p (1 - p)).
    rate, start, duration, size, dt = 80.0, 50.0, 20000.0, 10, 0.1
    trains = poisson_script(
        "brian2", seed=3, rate=rate, start=start, duration=duration, runtime=start + duration + 100.0, size=size
    )
    ticks = duration / dt
    p = rate * dt / 1000.0
    mean = size * ticks * p
    assert mean == pytest.approx(size * rate * duration / 1000.0)
    sigma = np.sqrt(size * ticks * p * (1 - p))
    count = sum(len(train) for train in trains)
    assert abs(count - mean) < 5 * sigma, (count, mean, sigma)
    assert all(train.min() >= start and train.max() < start + duration for train in trains)


def views_script():
    """Projections between contiguous and scattered PopulationViews, self-connections dropped by neuron."""
    sim.setup(timestep=0.1, backend="brian2", seed=5)
    source = sim.Population(
        6, sim.SpikeSourceArray(spike_times=[[2.0], [5.0, 20.0], [8.0], [11.0], [14.0, 40.0], [17.0]]), label="S"
    )
    a = sim.Population(8, sim.IF_curr_exp(tau_m=10.0, i_offset=0.3), label="A")
    b = sim.Population(5, sim.IF_cond_exp(), label="B")
    sim.Projection(source[1:4], a[2:5], sim.OneToOneConnector(), sim.StaticSynapse(weight=3.0, delay=1.0))
    sim.Projection(source[[0, 5]], a[[7, 0]], sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=0.5))
    sim.Projection(a[0:4], a[2:6], sim.AllToAllConnector(allow_self_connections=False), sim.StaticSynapse(weight=0.8))
    sim.Projection(
        source[[4, 2, 3]][[0, 1, 2]],
        a[[1, 6, 3]],
        sim.FromListConnector([(0, 1, 4.0), (2, 0, 5.0)], column_names=["weight"]),
        sim.StaticSynapse(delay=2.0),
    )
    sim.Projection(
        a[0:3], b[1:5], sim.FixedProbabilityConnector(0.7, rng=sim.NumpyRNG(seed=9)), sim.StaticSynapse(weight=0.06)
    )
    sim.Projection(source, b, sim.AllToAllConnector(allow_self_connections=False), sim.StaticSynapse(weight=0.03))
    sim.Projection(a[[5, 2]], a[[2, 4]], sim.OneToOneConnector(), sim.StaticSynapse(weight=1.5))
    for population in (a, b):
        population.record("spikes")
    sim.run(80.0)
    return {population.label: population.get_data().segments[0].spiketrains for population in (a, b)}


def views_directly() -> nd.Network:
    """The network above in neurodeploy's API, its scattered views' pairs written out by hand. PyNN sorts
    a view's index list (``a[[5, 2]]`` is neurons 2 then 5), so view index k is the k-th smallest."""
    net = nd.Network("direct", nd.Semantics(dt=0.1), seed=5)
    net.spike_source("S", [[2.0], [5.0, 20.0], [8.0], [11.0], [14.0, 40.0], [17.0]])
    net.population("A", 8, parameters={"tau_m": 10.0, "i_offset": 0.3})
    net.population("B", 5, "IF_cond_exp")
    net.project("S", "A", nd.OneToOne(), weight=3.0, delay=1.0, pre_slice=(1, 4), post_slice=(2, 5))
    net.project("S", "A", nd.FromList([0, 0, 5, 5], [7, 0, 7, 0]), weight=2.0, delay=0.5, label="scattered")
    pairs = [(i, j) for i in range(0, 4) for j in range(2, 6) if i != j]
    net.project("A", "A", nd.FromList(*zip(*pairs)), weight=0.8, delay=0.1)
    net.project("S", "A", nd.FromList([2, 4], [3, 1]), weight=[4.0, 5.0], delay=2.0, label="listed")
    pre, post = mock_pairs(3, 4, lambda m: m.FixedProbabilityConnector(0.7, rng=m.NumpyRNG(seed=9)))
    net.project("A", "B", nd.FromList(pre, post + 1), weight=0.06, delay=0.1)
    net.project("S", "B", nd.AllToAll(), weight=0.03, delay=0.1)
    net.project("A", "A", nd.FromList([2, 5], [2, 4]), weight=1.5, delay=0.1, label="sorted")
    for label in "AB":
        net.record(label)
    return net


def test_projections_between_population_views_run_the_network_slices_and_lists_describe():
    through_pynn = views_script()
    direct = make_backend("brian2").run(views_directly(), 80.0).spikes.populations
    for label, trains in through_pynn.items():
        assert len(trains) == len(direct[label])
        for train, expected in zip(trains, direct[label]):
            np.testing.assert_array_equal(train.magnitude, expected)
    assert all(sum(len(train) for train in trains) > 0 for trains in through_pynn.values())


FIXED_NUMBER_CONNECTORS = [
    (lambda rng: sim.FixedNumberPreConnector(3, rng=rng), "pre", 3),
    (lambda rng: sim.FixedNumberPostConnector(4, rng=rng), "post", 4),
    (lambda rng: sim.FixedNumberPreConnector(12, with_replacement=True, rng=rng), "pre", 12),
    (lambda rng: sim.FixedNumberPostConnector(5, allow_self_connections=False, rng=rng), "post", 5),
    (lambda rng: sim.FixedTotalNumberConnector(25, rng=rng), "total", 25),
]


def fixed_number_pairs(module, make_connector, seed: int, onto_itself: bool):
    """The (pre, post) pairs, in population indices, a fixed-number connector makes from ``A[2:9]`` onto
    B (or onto the same view of A) under ``module`` (neurodeploy.pynn, or pyNN.mock as PyNN's oracle)."""
    module.setup(timestep=0.1)
    a = module.Population(10, module.IF_curr_exp(), label="A")
    b = module.Population(6, module.IF_curr_exp(), label="B")
    pre = a[2:9]
    post = pre if onto_itself else b
    projection = module.Projection(pre, post, make_connector(module.NumpyRNG(seed=seed)), module.StaticSynapse())
    if module is sim:
        connector = projection.description.connector
        pairs = sorted(zip(connector.pre.tolist(), connector.post.tolist()))
    else:
        offset = 2 if onto_itself else 0
        pairs = sorted((int(i) + 2, int(j) + offset) for i, j, _ in projection.get("weight", format="list"))
    module.end()
    return pairs


@pytest.mark.parametrize("make_connector, counted, n", FIXED_NUMBER_CONNECTORS)
@pytest.mark.parametrize("onto_itself", [False, True])
def test_fixed_number_connectors_draw_pynns_own_pairs(make_connector, counted, n, onto_itself):
    import pyNN.mock

    pairs = fixed_number_pairs(sim, make_connector, seed=21, onto_itself=onto_itself)
    assert pairs == fixed_number_pairs(pyNN.mock, make_connector, seed=21, onto_itself=onto_itself)
    assert pairs == fixed_number_pairs(sim, make_connector, seed=21, onto_itself=onto_itself)
    assert pairs != fixed_number_pairs(sim, make_connector, seed=22, onto_itself=onto_itself)
    pre, post = np.array(pairs).T
    assert np.all((pre >= 2) & (pre < 9))
    post_size, post_start = (7, 2) if onto_itself else (6, 0)
    if counted == "pre":
        assert np.array_equal(np.bincount(post - post_start, minlength=post_size), np.full(post_size, n))
    elif counted == "post":
        assert np.array_equal(np.bincount(pre - 2, minlength=7), np.full(7, n))
    else:
        assert len(pairs) == n
    if counted != "total" and n <= (7 if counted == "pre" else post_size):
        assert len(set(pairs)) == len(pairs)  # without replacement: no pair twice
    if onto_itself and make_connector is FIXED_NUMBER_CONNECTORS[3][0]:
        assert all(i != j for i, j in pairs)


def test_a_fixed_number_projection_runs():
    sim.setup(timestep=0.1, backend="brian2")
    source = sim.Population(8, sim.SpikeSourceArray(spike_times=[[1.0 + i] for i in range(8)]), label="S")
    target = sim.Population(3, sim.IF_curr_exp(), label="T")
    sim.Projection(
        source, target, sim.FixedNumberPreConnector(8, rng=sim.NumpyRNG(seed=1)), sim.StaticSynapse(weight=2.0)
    )
    target.record("spikes")
    sim.run(30.0)
    counts = [len(train) for train in target.get_data().segments[0].spiketrains]
    direct = nd.Network("direct", nd.Semantics(dt=0.1))
    direct.spike_source("S", [[1.0 + i] for i in range(8)])
    direct.population("T", 3)
    direct.project("S", "T", nd.AllToAll(), weight=2.0, delay=0.1)
    direct.record("T")
    expected = make_backend("brian2").run(direct, 30.0).spikes.populations["T"]
    assert counts == [len(train) for train in expected] and sum(counts) > 0


def test_review_cases_views_of_views_unequal_one_to_one_and_a_random_start():
    """get/set through a view of a view reach the population's neurons; OneToOne between populations of
    different sizes connects i to i below the smaller size, as PyNN 0.13 does; a random initial v is
    drawn once, so the recording's first sample is the value the run started from (tau_m 1000 ms: v
    barely moves in the next tick)."""
    sim.setup(timestep=0.1, backend="brian2")
    b = sim.Population(6, sim.IF_curr_exp(), label="B")
    view = b[1:5][[0, 2]]
    view.set(tau_m=[30.0, 40.0])
    assert list(b.get("tau_m")) == [20.0, 30.0, 20.0, 40.0, 20.0, 20.0]
    assert list(view.get("tau_m")) == [30.0, 40.0]
    a = sim.Population(5, sim.IF_curr_exp(tau_m=1000.0), label="A")
    projection = sim.Projection(a, b[0:3], sim.OneToOneConnector(), sim.StaticSynapse(weight=0.1))
    connector = projection.description.connector
    assert (connector.pre.tolist(), connector.post.tolist()) == ([0, 1, 2], [0, 1, 2])
    a.initialize(v=sim.RandomDistribution("uniform", (-70.0, -60.0), rng=sim.NumpyRNG(seed=3)))
    a.record("v")
    sim.run(1.0)
    v = np.asarray(a.get_data().segments[0].analogsignals[0])
    sim.end()
    np.testing.assert_array_equal(v[0], a.started_from["v"])
    assert np.all(np.abs(v[1] - v[0]) < 0.01) and np.ptp(v[0]) > 1.0


@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
def test_get_data_gives_the_synaptic_state_as_the_backends_convention_samples_it(backend):
    """gsyn_exc/gsyn_inh of IF_cond_exp (uS) and of IF_curr_exp (its currents, nA, as sPyNNaker names them):
    on spinnaker sPyNNaker's samples, one per tick; on brian2 the initial value, then the end of each tick."""
    sim.setup(timestep=1.0, backend=backend)
    source = sim.Population(1, sim.SpikeSourceArray(spike_times=[2.0]), label="S")
    cells = {
        "nA": sim.Population(1, sim.IF_curr_exp(tau_syn_E=5.0), label="C"),
        "uS": sim.Population(1, sim.IF_cond_exp(tau_syn_E=5.0), label="G"),
    }
    for unit, population in cells.items():
        weight = 2.0 if unit == "nA" else 0.0625
        sim.Projection(source, population, sim.OneToOneConnector(), sim.StaticSynapse(weight=weight, delay=1.0))
        population.record(["gsyn_exc", "gsyn_inh"])
    sim.run(10.0)
    decay = np.exp(-1.0 / 5.0)
    for unit, population in cells.items():
        [gsyn] = population.get_data().segments[0].filter(name="gsyn_exc")
        [inhibitory] = population.get_data().segments[0].filter(name="gsyn_inh")
        assert str(gsyn.units.dimensionality) == unit and not np.any(inhibitory.magnitude)
        trace = gsyn.magnitude[:, 0]
        arrived = (2.0 if unit == "nA" else 0.0625) * 5.0 * (1.0 - decay)  # w init, in tick 3
        if backend == "spinnaker":  # tick t's state after its input: 0 until tick 3, then decaying
            assert len(trace) == 10 and not np.any(trace[:3])
            np.testing.assert_allclose(trace[3:], arrived * decay ** np.arange(7), rtol=2e-3)
        else:  # the initial 0, then the end of ticks 0..9: decayed once already in tick 3
            assert len(trace) == 11 and not np.any(trace[:4])
            np.testing.assert_allclose(trace[4:], arrived * decay ** np.arange(1, 8), rtol=1e-12)
