"""The description layer: validation messages, round trip, connectors, semantics constants."""

import copy
import math

import numpy as np
import pytest

import neurodeploy as nd
from neurodeploy.description import io


def mutated(network, change):
    data = copy.deepcopy(network.to_dict())
    change(data)
    return data


def population(data, label):
    return next(p for p in data["populations"] if p["label"] == label)


def projection(data, label):
    return next(p for p in data["projections"] if p["label"] == label)


# Each bad input: (what to change, expected text in "where", expected field, words of the message).
BAD_INPUTS = {
    "unknown parameter": (
        lambda d: population(d, "A")["parameters"].update(tau_mm=3.0),
        "population 'A'",
        "parameters.tau_mm",
        "unknown",
    ),
    "wrong type": (
        lambda d: population(d, "A")["parameters"].update(tau_m="fast"),
        "population 'A'",
        "parameters.tau_m",
        "expected a number",
    ),
    "wrong unit": (
        lambda d: population(d, "A")["parameters"].update(tau_m="3 mV"),
        "population 'A'",
        "parameters.tau_m",
        "wrong unit",
    ),
    "unknown unit": (
        lambda d: population(d, "A")["parameters"].update(tau_m="3 zorks"),
        "population 'A'",
        "parameters.tau_m",
        "unknown unit",
    ),
    "NaN": (
        lambda d: population(d, "B")["parameters"].update(v_thresh=float("nan")),
        "population 'B'",
        "parameters.v_thresh",
        "finite",
    ),
    "inf in an array": (
        lambda d: population(d, "A")["parameters"].update(i_offset=[0.0, float("inf"), 1.0]),
        "population 'A'",
        "parameters.i_offset",
        "finite",
    ),
    "non-positive time constant": (
        lambda d: population(d, "A")["parameters"].update(tau_m=0.0),
        "population 'A'",
        "parameters.tau_m",
        "must be > 0",
    ),
    "negative delay": (lambda d: projection(d, "S->A").update(delay=-1.0), "projection 'S->A'", "delay", "must be > 0"),
    "zero delay": (lambda d: projection(d, "S->A").update(delay=0.0), "projection 'S->A'", "delay", "must be > 0"),
    "delay not a multiple of dt": (
        lambda d: projection(d, "S->A").update(delay=1.5),
        "projection 'S->A'",
        "delay",
        "not a multiple of dt",
    ),
    "negative weight": (lambda d: projection(d, "S->A").update(weight=-2.0), "projection 'S->A'", "weight", ">= 0"),
    "index out of range": (
        lambda d: projection(d, "A->A")["connector"].update(post=[1, 2]),
        "projection 'A->A'",
        "connector.post",
        "out of range",
    ),
    "per-neuron size mismatch": (
        lambda d: population(d, "A")["parameters"].update(i_offset=[0.0, 1.0]),
        "population 'A'",
        "parameters.i_offset",
        "2 values but there are 3 neurons",
    ),
    "per-synapse size mismatch": (
        lambda d: projection(d, "A->B").update(weight=[0.1, 0.2]),
        "projection 'A->B'",
        "weight",
        "2 values but there are 6 connections",
    ),
    "one-to-one size mismatch": (
        lambda d: projection(d, "S->A").update(post="B"),
        "projection 'S->A'",
        "connector",
        "same size",
    ),
    "spike lists size mismatch": (
        lambda d: d["spike_sources"][0].update(spike_times=[[1.0]]),
        "spike source 'S'",
        "spike_times",
        "1 lists but there are 3 neurons",
    ),
    "spike time not on the grid": (
        lambda d: d["spike_sources"][0].update(spike_times=[[1.5], [], []]),
        "spike source 'S'",
        "spike_times[0]",
        "not a multiple of dt",
    ),
    "unsorted spike times": (
        lambda d: d["spike_sources"][0].update(spike_times=[[5.0, 1.0], [], []]),
        "spike source 'S'",
        "spike_times[0]",
        "strictly increasing",
    ),
    "duplicate label": (
        lambda d: d["populations"].append(copy.deepcopy(d["populations"][0])),
        "population 'A'",
        "label",
        "duplicate",
    ),
    "duplicate label across kinds": (lambda d: d["populations"][0].update(label="S"), "'S'", "label", "duplicate"),
    "unknown population in projection": (
        lambda d: projection(d, "S->A").update(pre="Z"),
        "projection 'S->A'",
        "pre",
        "unknown population or spike source 'Z'",
    ),
    "slice out of range": (
        lambda d: projection(d, "A->A").update(post_slice=[1, 4]),
        "projection 'A->A'",
        "post_slice",
        "out of range",
    ),
    "unknown receptor": (
        lambda d: projection(d, "S->A").update(receptor="exc"),
        "projection 'S->A'",
        "receptor",
        "must be one of",
    ),
    "unknown connector": (
        lambda d: projection(d, "S->A").update(connector={"kind": "gaussian"}),
        "projection 'S->A'",
        "connector.kind",
        "unknown connector",
    ),
    "unknown projection field": (
        lambda d: projection(d, "S->A").update(weigth=1.0),
        "projection 'S->A'",
        "weigth",
        "unknown field",
    ),
    "STDP weight outside bounds": (
        lambda d: projection(d, "plastic").update(weight=2.0),
        "projection 'plastic'",
        "weight",
        "[w_min, w_max]",
    ),
    "STDP unknown semantics option": (
        lambda d: projection(d, "plastic")["plasticity"]["semantics"].update(traces="sometimes"),
        "stdp semantics",
        "traces",
        "must be one of",
    ),
    "bad dt": (lambda d: d["semantics"].update(dt=-1.0), "semantics", "dt", "must be > 0"),
    "size not an integer": (lambda d: population(d, "B").update(size=2.5), "population 'B'", "size", "integer"),
    "boolean as number": (
        lambda d: population(d, "B")["parameters"].update(cm=True),
        "population 'B'",
        "parameters.cm",
        "boolean",
    ),
    "recording of unknown variable": (
        lambda d: d["recordings"].update(S=["v"]),
        "recording 'S'",
        "variables",
        "must be one of",
    ),
    "null parameter": (
        lambda d: population(d, "A")["parameters"].update(tau_m=None),
        "population 'A'",
        "parameters.tau_m",
        "expected a number",
    ),
    "null initial value": (
        lambda d: population(d, "A")["initial_values"].update(v=None),
        "population 'A'",
        "initial_values.v",
        "expected a number",
    ),
    "parameters not a mapping": (
        lambda d: population(d, "A").update(parameters=[]),
        "population 'A'",
        "parameters",
        "mapping",
    ),
    "two spike times in one tick": (
        lambda d: d["spike_sources"][0].update(spike_times=[[], [2.0, 2.0 + 1e-10], []]),
        "spike source 'S'",
        "spike_times[1]",
        "two times in tick 2",
    ),
    "fixed-point LIF arithmetic on Izhikevich": (
        lambda d: population(d, "B").update(
            cell_type="Izhikevich", parameters={}, initial_values={}, arithmetic={"kind": "fixed_point", "v_unit": 0.01}
        ),
        "population 'B' arithmetic",
        "kind",
        "leaky integrate-and-fire",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_one_error_naming_object_and_field(small_network, case):
    change, where, field, words = BAD_INPUTS[case]
    with pytest.raises(nd.ValidationError) as caught:
        nd.Network.from_dict(mutated(small_network, change))
    error = caught.value
    assert where in error.where
    assert error.field == field
    assert words in error.message
    assert "\n" not in str(error)


def test_round_trip_json_and_yaml_is_exact(small_network, tmp_path):
    for suffix in (".json", ".yaml"):
        path = nd.save(small_network, tmp_path / f"net{suffix}")
        loaded = nd.load(path)
        assert loaded == small_network
        assert io.dumps(loaded, suffix[1:]) == path.read_text()
        assert loaded.connections("plastic").pre.tolist() == small_network.connections("plastic").pre.tolist()


def test_round_trip_keeps_every_bit_of_floats(tmp_path):
    net = nd.Network("floats")
    values = [0.1 + 0.2, 1 / 3, 2**-40, -65.00000000000001]
    net.population("P", 4, parameters={"v_rest": values})
    for suffix in (".json", ".yaml"):
        loaded = nd.load(nd.save(net, tmp_path / f"f{suffix}"))
        assert loaded.populations["P"].parameters["v_rest"].tolist() == values


def test_units_are_converted_to_canonical():
    pop = nd.Population("P", 1, parameters={"cm": "270 pF", "tau_m": "0.003 s", "i_offset": "500 pA"})
    assert pop.parameters["cm"] == pytest.approx(0.27, rel=1e-15)
    assert pop.parameters["tau_m"] == pytest.approx(3.0, rel=1e-15)
    assert pop.parameters["i_offset"] == pytest.approx(0.5, rel=1e-15)


def test_initial_v_defaults_to_v_rest_per_neuron():
    pop = nd.Population("P", 2, parameters={"v_rest": [-70.0, -60.0]})
    assert pop.value("v").tolist() == [-70.0, -60.0]


def test_python_api_errors_name_the_field():
    net = nd.Network("api")
    net.population("P", 2)
    with pytest.raises(nd.ValidationError, match="projection 'X->P', field 'pre': unknown population"):
        net.project("X", "P", nd.OneToOne())
    with pytest.raises(nd.ValidationError, match="field 'label': duplicate label"):
        net.population("P", 3)
    with pytest.raises(nd.ValidationError, match="field 'p': must be a probability"):
        nd.FixedProbability(1.5)


def test_all_to_all_without_self_leaves_out_equal_local_indices():
    pre, post = nd.AllToAll(allow_self_connections=False).connect(3, 4, None)
    pairs = set(zip(pre.tolist(), post.tolist()))
    assert len(pairs) == 3 * 4 - 3 and all(a != b for a, b in pairs)
    assert list(zip(pre.tolist(), post.tolist())) == sorted(pairs)


def test_fixed_probability_is_seeded_and_has_the_right_density():
    connector = nd.FixedProbability(0.1, seed=42)
    first = connector.connect(300, 400, None)
    second = connector.connect(300, 400, None)
    assert np.array_equal(first[0], second[0]) and np.array_equal(first[1], second[1])
    count, expected = len(first[0]), 300 * 400 * 0.1
    assert abs(count - expected) < 5 * math.sqrt(expected * 0.9)
    flat = first[0] * 400 + first[1]
    assert np.all(np.diff(flat) > 0)
    other = nd.FixedProbability(0.1, seed=43).connect(300, 400, None)
    assert not np.array_equal(first[0][:100], other[0][:100])


def test_fixed_probability_without_seed_follows_network_seed():
    def build(seed):
        net = nd.Network("seeded", seed=seed)
        net.population("P", 50)
        net.project("P", "P", nd.FixedProbability(0.2), label="rec")
        return net.connections("rec").pre.tolist()

    assert build(1) == build(1)
    assert build(1) != build(2)


def test_semantics_constants_match_target_semantics_md():
    semantics = nd.Semantics()
    assert semantics.init_factor(5.0) == pytest.approx(0.9063, abs=5e-5)
    assert semantics.init_factor(0.3) == pytest.approx(0.2893, abs=5e-5)
    assert nd.Semantics(synaptic_init="none").init_factor(5.0) == 1.0
    assert semantics.refractory_ticks(np.array([0.0, 0.1, 1.0, 1.5, 2.0])).tolist() == [0, 1, 1, 2, 2]
    assert nd.Semantics(dt=0.1).refractory_ticks(0.3) == 3
    assert nd.Semantics(dt=0.1).ticks(0.3, "x", "y") == 3


def test_stimulus_replaces_spike_times_and_is_checked(small_network):
    changed = small_network.with_spike_times({"S": [[3.0], [], [4.0, 6.0]]})
    assert [t.tolist() for t in changed.spike_sources["S"].spike_times] == [[3.0], [], [4.0, 6.0]]
    with pytest.raises(nd.ValidationError, match="field 'Q': unknown spike source"):
        small_network.with_spike_times({"Q": [[1.0]]})
    with pytest.raises(nd.ValidationError, match="stimulus for 'S', field 'spike_times'"):
        small_network.with_spike_times({"S": [[1.0]]})


def test_a_population_is_replaced_as_a_typed_copy_checked_again(small_network):
    """dataclasses.replace on a population and its cell makes a new, validated population; the network's
    replaced() swaps it in by label and refuses what does not fit."""
    from dataclasses import replace

    population = small_network.populations["A"]
    faster = replace(population, cell=replace(population.cell, tau_m=np.array([5.0, 6.0, 7.0])))
    copy_ = small_network.replaced(populations={"A": faster})
    assert copy_.populations["A"].value("tau_m").tolist() == [5.0, 6.0, 7.0]
    assert small_network.populations["A"].value("tau_m").tolist() == population.value("tau_m").tolist()
    with pytest.raises(nd.ValidationError, match="parameters.tau_m.*must be > 0"):
        replace(population, cell=replace(population.cell, tau_m=-1.0))
    with pytest.raises(TypeError):
        replace(population.cell, tau_mm=5.0)  # a misspelled field cannot be written
    with pytest.raises(nd.ValidationError, match="unknown population 'Z'"):
        small_network.replaced(populations={"Z": faster})
    with pytest.raises(nd.ValidationError, match="labelled 'B'"):
        small_network.replaced(populations={"B": faster})
    with pytest.raises(nd.ValidationError, match="cell_type"):
        nd.Population("P", 2, "IF_cond_exp", cell=nd.IFCurrExp())


def test_a_cells_arrays_are_frozen_with_it():
    population = nd.Population("P", 3, parameters={"tau_m": [10.0, 20.0, 30.0]})
    with pytest.raises(ValueError):
        population.cell.tau_m[0] = 1.0


def test_accumulator_arithmetic_written_by_an_earlier_version_loads():
    data = {
        "label": "P",
        "size": 1,
        "cell_type": "IF_curr_exp",
        "parameters": {},
        "initial_values": {},
        "arithmetic": {
            "kind": "accumulator",
            "input_limit": {"excitatory": 2.0, "inhibitory": 1.0},
            "fraction_bits": 15,
            "weight_scale": 1.0,
            "conductance_shift": 10,
        },
    }
    population = nd.Population(**data)
    assert isinstance(population.arithmetic, nd.Accumulator)
    assert population.to_dict()["arithmetic"] == data["arithmetic"]


def test_weights_onto_delta_synapses_are_charges():
    net = nd.Network("q")
    net.spike_source("S", [[1.0]])
    net.population("P", 1, "IF_curr_delta")
    net.project("S", "P", nd.OneToOne(), weight="5 nA*ms")
    assert net.validate().connections("S->P").weight.tolist() == [5.0]
    with pytest.raises(nd.ValidationError, match="charges \\(nA\\*ms\\), got a value in nA"):
        net.project("S", "P", nd.OneToOne(), weight="5 nA", label="current")


def test_a_saved_nearest_trace_loads_as_the_symmetric_nearest_pairs_it_meant():
    # Saved before sPyNNaker's pairing (nearest_spynnaker) had a name, "nearest" meant the symmetric rule.
    network = nd.Network("old", nd.Semantics(dt=1.0), duration=10.0)
    network.population("p", 1, "IF_curr_exp")
    network.spike_source("s", [[1.0]])
    network.project("s", "p", nd.OneToOne(), weight=0.5, label="w", plasticity=nd.STDP())
    saved = network.to_dict()
    saved["projections"][0]["plasticity"]["semantics"] = {"traces": "nearest"}
    loaded = nd.Network.from_dict(saved)
    assert loaded.projections["w"].plasticity.semantics.traces == "nearest_symmetric"


def test_spike_trains_given_as_arrays_are_checked_as_lists_are():
    """Arrays (int or float) become the same trains as lists; a fault in one is named by its neuron."""
    lists = nd.SpikeSource("S", 3, [[1.0, 4.0], [], [2.0]]).spike_times
    arrays = nd.SpikeSource("S", 3, [np.array([1, 4]), np.array([], dtype=float), np.array([2.0])]).spike_times
    assert [t.tolist() for t in arrays] == [t.tolist() for t in lists] == [[1.0, 4.0], [], [2.0]]
    assert all(t.dtype == np.float64 for t in arrays)
    for trains, field in (
        ([np.array([1.0]), np.array([3.0, 2.0])], "spike_times[1]"),
        ([np.array([-1.0])], "spike_times[0]"),
    ):
        with pytest.raises(nd.ValidationError) as error:
            nd.SpikeSource("S", len(trains), trains)
        assert error.value.field == field


def test_connections_hold_int32_indices_and_delays_through_a_round_trip(tmp_path):
    """Indices up to the largest of a population of three million neurons survive save and load as int32,
    as do slices' offsets and whole-tick delays."""
    size = 3_000_000
    net = nd.Network("wide")
    net.population("A", size)
    net.population("B", size)
    pre, post = [0, size - 1, 1_234_567], [size - 2, 5, size - 1]
    net.project("A", "B", nd.FromList(pre, post), weight=[0.5, 1.0, 1.5], delay=[1.0, 3.0, 2.0], label="wide")
    net.project("A", "B", nd.OneToOne(), weight=0.25, pre_slice=(size - 2, size), post_slice=(0, 2), label="sliced")
    for suffix in (".json", ".yaml"):
        loaded = nd.load(nd.save(net, tmp_path / f"wide{suffix}"))
        wide, sliced = loaded.connections("wide"), loaded.connections("sliced")
        assert [array.dtype for array in (wide.pre, wide.post, wide.delay_ticks)] == [np.int32] * 3
        assert wide.pre.tolist() == pre and wide.post.tolist() == post and wide.delay_ticks.tolist() == [1, 3, 2]
        assert sliced.pre.tolist() == [size - 2, size - 1] and sliced.post.tolist() == [0, 1]
        assert sliced.pre.dtype == np.int32


def test_fixed_probability_int32_indices_are_the_positions_of_its_draws():
    """Pre and post split each drawn position of the n_pre x n_post grid; int32 keeps every one."""
    connector = nd.FixedProbability(0.01, seed=5)
    pre, post = connector.connect(3000, 7000, None)
    assert pre.dtype == post.dtype == np.int32
    positions = pre.astype(np.int64) * 7000 + post
    assert np.all(np.diff(positions) > 0)
    assert post.max() < 7000 and pre.max() < 3000
    assert abs(len(pre) - 210_000) < 6 * math.sqrt(210_000)


def _fixed_probability_by_division(n_pre, n_post, p, seed, allow_self):
    """FixedProbability's draws restated plainly: geometric gaps in chunks of the expected count plus six
    standard deviations plus 64, summed into positions of the n_pre x n_post grid, split by division."""
    rng = np.random.default_rng(seed)
    total, expected = n_pre * n_post, n_pre * n_post * p
    chunk = int(expected + 6.0 * np.sqrt(expected) + 64)
    pairs, last = [], -1
    while last < total:
        for gap in rng.geometric(p, size=chunk).tolist():
            last += gap
            if last >= total:
                break
            pairs.append(divmod(last, n_post))
    return [(pre, post) for pre, post in pairs if allow_self or pre != post]


@pytest.mark.parametrize(
    "n_pre, n_post, p, allow_self",
    [(40, 70, 0.1, True), (70, 40, 0.3, False), (1, 9, 0.5, True), (9, 1, 1.0, True), (13, 17, 0.002, True)],
)
def test_fixed_probability_draws_the_pairs_its_positions_divide_into(n_pre, n_post, p, allow_self):
    pre, post = nd.FixedProbability(p, allow_self, seed=11).connect(n_pre, n_post, None)
    expected = _fixed_probability_by_division(n_pre, n_post, p, 11, allow_self)
    assert list(zip(pre.tolist(), post.tolist())) == expected
    assert pre.dtype == post.dtype == np.int32


def test_feedforward_poisson_draws_its_network_as_stated():
    """The model's draws in their order (trains, connector seed, connections, weights, delays in ticks) give
    its network: the same seed, the same pairs, weights and delays."""
    from neurodeploy.catalog import load_model
    from neurodeploy.models.feedforward_poisson import poisson_spike_times

    params = {"n_neurons": 60, "n_inputs": 50, "p_connect": 0.3, "dt_ms": 0.5, "max_delay_ms": 2.0, "seed": 7}
    params.update(duration_ms=20.0, w_low=0.1, w_high=0.9)
    network = load_model("feedforward-poisson", params).network
    rng = np.random.default_rng(7)
    poisson_spike_times(50, 10.0, 20.0, 0.5, rng)
    pairs = _fixed_probability_by_division(50, 60, 0.3, int(rng.integers(2**31)), True)
    weights, ticks = rng.uniform(0.1, 0.9, len(pairs)), rng.integers(1, 5, len(pairs))
    connections, projection = network.connections("inputs->neurons"), network.projections["inputs->neurons"]
    assert list(zip(connections.pre.tolist(), connections.post.tolist())) == pairs
    assert connections.weight.tolist() == weights.tolist()
    assert connections.delay_ticks.tolist() == ticks.tolist()
    assert projection.delay.tolist() == (ticks * 0.5).tolist()
    assert nd.Network.from_dict(network.to_dict()).to_dict() == network.to_dict()


def test_delays_given_in_ticks_read_as_milliseconds():
    """A projection holding its delays as ticks is the projection given them in ms: same times, file and
    connections; in a network of another dt its times are converted, and refused off that dt's grid."""

    def network(dt, delay):
        net = nd.Network("ticks", nd.Semantics(dt=dt))
        net.population("A", 3)
        net.project("A", "A", nd.AllToAll(), weight=0.5, delay=delay, label="p")
        return net

    ticks = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9])
    given = network(0.5, nd.DelayTicks(ticks, 0.5))
    assert given.projections["p"].delay.tolist() == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5]
    assert given.to_dict() == network(0.5, (ticks * 0.5).tolist()).to_dict()
    assert given.connections("p").delay_ticks.tolist() == ticks.tolist()
    assert given.connections("p").delay_ticks.dtype == np.int32
    finer = network(0.25, nd.DelayTicks(ticks, 0.5))
    assert finer.connections("p").delay_ticks.tolist() == (2 * ticks).tolist()
    with pytest.raises(nd.ValidationError, match="0.5 ms is not a multiple of dt = 1 ms"):
        network(1.0, nd.DelayTicks(ticks, 0.5)).connections("p")
    with pytest.raises(nd.ValidationError, match="field 'delay': must be > 0 ms, got 0 ms"):
        network(0.5, nd.DelayTicks(np.array([1, 0, 2, 1, 1, 1, 1, 1, 1]), 0.5))
    with pytest.raises(nd.ValidationError, match="field 'delay': has 2 values but there are 9 connections"):
        network(0.5, nd.DelayTicks(np.array([1, 2]), 0.5)).connections("p")
    with pytest.raises(nd.ValidationError, match="whole ticks"):
        network(0.5, nd.DelayTicks(np.array([1.0, 2.0]), 0.5))


def test_delays_in_ms_on_the_tick_grid_are_held_as_ticks_once_connected():
    """A network's delays that are exactly their ticks times dt are kept as ticks after its connections are
    made (the same times, file and connections); delays that only round to ticks keep their own floats."""
    data = {
        "format": "neurodeploy.network",
        "semantics": {"dt": 0.1},
        "populations": [{"label": "A", "size": 2}],
        "projections": [
            {
                "label": "grid",
                "pre": "A",
                "post": "A",
                "connector": {"kind": "all_to_all"},
                "delay": [0.1, 0.2, 0.30000000000000004, 0.4],
            },
            {
                "label": "near",
                "pre": "A",
                "post": "A",
                "connector": {"kind": "all_to_all"},
                "delay": [0.1, 0.2, 0.3, 0.4],
            },
        ],
    }
    network = nd.Network.from_dict(data)
    grid, near = network.projections["grid"], network.projections["near"]
    assert grid.held_delay_ticks(0.1).tolist() == [1, 2, 3, 4] and near.held_delay_ticks(0.1) is None
    assert grid.delay.tolist() == [0.1, 0.2, 0.30000000000000004, 0.4] and near.delay.tolist() == [0.1, 0.2, 0.3, 0.4]
    assert [p["delay"] for p in network.to_dict()["projections"]] == [p["delay"] for p in data["projections"]]
    assert network.connections("grid").delay_ticks.tolist() == network.connections("near").delay_ticks.tolist()


def test_arrays_the_caller_can_still_change_are_copied_when_projected():
    """A projection holds a read-only array as given, but copies one its caller could still write: its own
    writable delay ticks, or a read-only view of a writable array (changing that must not change the
    network, nor slip a negative weight or a delay of zero ticks past the checks)."""

    def network(weight, delay):
        net = nd.Network("held", nd.Semantics(dt=0.5))
        net.population("A", 2)
        net.project("A", "A", nd.AllToAll(), weight=weight, delay=delay, label="p")
        return net

    ticks, weights = np.array([1, 2, 3, 4], dtype=np.int32), np.array([0.1, 0.2, 0.3, 0.4])
    read_only_view = weights[:]
    read_only_view.flags.writeable = False
    for given in (
        network(np.broadcast_to(weights, (4,)), nd.DelayTicks(ticks, 0.5)),
        network(read_only_view, nd.DelayTicks(ticks, 0.5)),
    ):
        before = given.to_dict()
        ticks[0], weights[0] = 0, -9.0
        assert given.to_dict() == before
        assert given.connections("p").delay_ticks.tolist() == [1, 2, 3, 4]
        assert given.connections("p").weight.tolist() == [0.1, 0.2, 0.3, 0.4]
        ticks[0], weights[0] = 1, 0.1
    frozen = np.array([0.1, 0.2, 0.3, 0.4])
    frozen.flags.writeable = False
    held = network(frozen, 1.0)
    assert held.projections["p"].weight is frozen and held.connections("p").weight is frozen


def test_range_checks_name_the_first_fault_past_a_nan():
    from neurodeploy.description import values

    with pytest.raises(nd.ValidationError, match="must be >= 0, got -2"):
        values.check_range(np.array([np.nan, 1.0, -2.0, -3.0]), "here", "w", "", at_least=0)
    values.check_range(np.array([np.nan, 1.0]), "here", "w", "", at_least=0, at_most=2)
    with pytest.raises(nd.ValidationError, match="entry 1 is inf"):
        values.number_or_array(np.array([1.0, np.inf]), None, "here", "w")


def test_indices_past_int32_stay_int64():
    from neurodeploy.description import values

    big = [2**31, 2**33 + 7]
    array = values.index_array(big, "here", "pre", 2**40, "a side")
    assert array.dtype == np.int64 and array.tolist() == big
    assert values.index_array([2**31 - 1], "here", "pre", 2**31, "a side").dtype == np.int32
