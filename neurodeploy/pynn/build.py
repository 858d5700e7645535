"""The neurodeploy description of what a PyNN script created: populations and spike sources from the
cell types and their (native) parameters, projections from the connectors and static synapses. Anything
that has no description yet raises PyNN's NotImplementedError naming it, rather than being left out."""

from __future__ import annotations

import numpy as np
from pyNN import connectors, random
from pyNN.common import Assembly, Population, PopulationView
from pyNN.standardmodels import synapses
from pyNN.standardmodels.cells import SpikeSourceArray, SpikeSourcePoisson

import neurodeploy.description as nd


def unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(f"neurodeploy.pynn does not support {what} yet")


def build_network(state, duration: float) -> nd.Network:
    """Everything ``state`` holds, as one network of ``duration`` ms on PyNN's time step."""
    network = nd.Network("pynn", nd.Semantics(dt=state.dt), seed=state.seed, duration=duration)
    for index, population in enumerate(state.populations):
        network.add(population_description(population, poisson_rng(state.seed, index), state.dt, duration))
        recorded = [variable.name for variable, ids in population.recorder.recorded.items() if ids]
        if recorded:
            network.record(population.description_label, recorded)
    for projection in state.projections:
        network.add(projection.description)
    return network.validate()


def poisson_rng(seed, index: int) -> np.random.Generator:
    """The generator of the ``index``-th population's Poisson spikes: fixed by setup's seed, its own per
    population, so adding a population later leaves the earlier ones' spikes as they were."""
    return np.random.default_rng([int(seed), index])


def population_description(
    population, rng: np.random.Generator, dt: float, duration: float
) -> nd.Population | nd.SpikeSource:
    label = population.description_label
    parameters = {name: plain(value) for name, value in population._parameters.items()}
    if isinstance(population.celltype, SpikeSourcePoisson):
        return nd.SpikeSource(label, population.size, poisson_trains(parameters, population.size, rng, dt, duration))
    if isinstance(population.celltype, SpikeSourceArray):
        trains = np.broadcast_to(np.asarray(parameters["spike_times"], dtype=object), (population.size,))
        return nd.SpikeSource(label, population.size, [np.asarray(train.value, dtype=float) for train in trains])
    cell = nd.CELL_TYPES[population.celltype.neurodeploy_cell]
    names = cell.initial_value_specs()
    initial = {name: plain(value.evaluate(simplify=True)) for name, value in population.initial_values.items()}
    return nd.Population(
        label, population.size, cell.name, parameters, {name: initial[name] for name in names if name in initial}
    )


def poisson_trains(
    parameters: dict, size: int, rng: np.random.Generator, dt: float, duration: float
) -> list[np.ndarray]:
    """PyNN's Poisson process of ``rate`` Hz in [start, start + duration) on the tick grid, within the run:
    each tick fires with probability rate * dt, so the expected count is rate * duration, and a neuron fires
    at most once per tick (as every backend's spike sources do). Drawn here, once, so every backend gets
    the same spikes."""
    rate, start, length = (np.broadcast_to(parameters[name], (size,)) for name in ("rate", "start", "duration"))
    probability = rate * dt / 1000.0
    if np.any(probability > 1) or np.any(probability < 0):
        raise ValueError(f"SpikeSourcePoisson rates must lie in [0, 1/dt] = [0, {1000.0 / dt:g}] Hz")
    last_tick = round(duration / dt)
    first = np.clip(np.ceil(start / dt - TICK_SLACK), 0, last_tick).astype(np.int64)
    stop = np.clip(np.ceil((start + length) / dt - TICK_SLACK), 0, last_tick).astype(np.int64)
    trains = []
    for neuron in range(size):
        ticks = np.arange(first[neuron], max(stop[neuron], first[neuron]))
        fired = rng.random(ticks.size) < probability[neuron]
        trains.append(ticks[fired] * dt)
    return trains


TICK_SLACK = 1e-9  # a start or end given as a multiple of dt stays on its own tick despite float rounding


def plain(value):
    """A parameter value as the description takes it: a float, or one float per neuron."""
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else array


def projection_description(projection, label: str) -> nd.Projection:
    """The description of a PyNN projection, checked when the script creates it."""
    for side in (projection.pre, projection.post):
        if isinstance(side, (PopulationView, Assembly)) or not isinstance(side, Population):
            raise unsupported(f"projections from or to a {type(side).__name__} (only whole Populations)")
    if projection.source is not None:
        raise unsupported(f"a projection's source ({projection.source!r})")
    synapse = projection.synapse_type
    if type(synapse).__mro__[1] is not synapses.StaticSynapse:
        raise unsupported(f"the synapse type {type(synapse).__name__} (only StaticSynapse)")
    connector = projection._connector
    if connector.location_selector is not None:
        raise unsupported("a connector's location_selector")
    weight = synapse_value(synapse, "weight")
    delay = synapse_value(synapse, "delay")
    if isinstance(connector, connectors.OneToOneConnector):
        description = nd.OneToOne()
    elif isinstance(connector, connectors.AllToAllConnector):
        description = nd.AllToAll(allow_self_connections=self_connections(connector))
    elif isinstance(connector, connectors.FixedProbabilityConnector):
        if not isinstance(connector.rng, random.NumpyRNG):
            raise unsupported(f"FixedProbabilityConnector with a {type(connector.rng).__name__} (only NumpyRNG)")
        description = nd.FixedProbability(
            connector.p_connect, allow_self_connections=self_connections(connector), seed=connector.rng.seed
        )
    elif isinstance(connector, connectors.FromListConnector):
        columns = connector.conn_list.reshape(len(connector.conn_list), -1)
        extra = set(connector.column_names) - {"weight", "delay"}
        if extra:
            raise unsupported(f"FromListConnector columns {sorted(extra)} (only weight and delay)")
        if not np.array_equal(columns[:, :2], np.round(columns[:, :2])):
            raise unsupported("FromListConnector indices that are not whole numbers")
        description = nd.FromList(columns[:, 0].astype(np.int64), columns[:, 1].astype(np.int64))
        for index, name in enumerate(connector.column_names):
            if name == "weight":
                weight = columns[:, 2 + index].astype(float)
            else:
                delay = columns[:, 2 + index].astype(float)
    else:
        raise unsupported(f"the connector {type(connector).__name__}")
    if np.any(np.asarray(weight) < 0):
        raise unsupported("negative weights (give the magnitude with receptor_type='inhibitory')")
    return nd.Projection(
        label,
        projection.pre.description_label,
        projection.post.description_label,
        description,
        weight,
        delay,
        projection.receptor_type,
    )


def synapse_value(synapse, name: str):
    value = synapse.parameter_space[name].base_value
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise unsupported(f"a synapse {name} given as {type(value).__name__} (only a number or a FromList column)")
    return float(value)


def self_connections(connector) -> bool:
    if not isinstance(connector.allow_self_connections, bool):
        raise unsupported(f"allow_self_connections={connector.allow_self_connections!r}")
    return connector.allow_self_connections
