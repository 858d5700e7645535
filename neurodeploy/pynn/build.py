"""The neurodeploy description of what a PyNN script created: populations and spike sources from the
cell types and their (native) parameters, projections from the connectors and static synapses. Anything
that has no description yet raises PyNN's NotImplementedError naming it, rather than being left out."""

from __future__ import annotations

import numpy as np
from pyNN import connectors, errors
from pyNN.common import Population, PopulationView
from pyNN.standardmodels import synapses
from pyNN.standardmodels.cells import SpikeSourceArray, SpikeSourcePoisson

import neurodeploy.description as nd


def unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(f"neurodeploy.pynn does not support {what} yet")


def build_network(state, duration: float) -> nd.Network:
    """Everything ``state`` holds, as one network of ``duration`` ms on PyNN's time step."""
    network = nd.Network("pynn", nd.Semantics(dt=state.dt), seed=state.seed, duration=duration)
    for index, population in enumerate(state.populations):
        network.add(population_description(population, (int(state.seed), index), state.dt, duration))
        recorded = [variable.name for variable, ids in population.recorder.recorded.items() if ids]
        if recorded:
            network.record(population.description_label, recorded)
    for projection in state.projections:
        network.add(projection.description)
    for source in state.current_sources:
        for injection in source.injections(state.dt, duration, int(state.seed)):
            network.add(injection)
    return network.validate()


def population_description(
    population, poisson_key: tuple[int, int], dt: float, duration: float
) -> nd.Population | nd.SpikeSource:
    label = population.description_label
    parameters = {name: plain(value) for name, value in population._parameters.items()}
    if isinstance(population.celltype, SpikeSourcePoisson):
        return nd.SpikeSource(
            label, population.size, poisson_trains(parameters, population.size, poisson_key, dt, duration)
        )
    if isinstance(population.celltype, SpikeSourceArray):
        trains = np.broadcast_to(np.asarray(parameters["spike_times"], dtype=object), (population.size,))
        return nd.SpikeSource(label, population.size, [np.asarray(train.value, dtype=float) for train in trains])
    cell = nd.CELL_TYPES[population.celltype.neurodeploy_cell]
    names = cell.initial_value_specs()
    initial = {name: plain(value.evaluate(simplify=True)) for name, value in population.initial_values.items()}
    population.started_from = initial  # drawn once: the recording's first sample is the same draw
    return nd.Population(
        label, population.size, cell.name, parameters, {name: initial[name] for name in names if name in initial}
    )


def poisson_trains(parameters: dict, size: int, key: tuple[int, int], dt: float, duration: float) -> list[np.ndarray]:
    """PyNN's Poisson process of ``rate`` Hz in [start, start + duration) on the tick grid, within the run:
    each tick fires with probability rate * dt, so the expected count is rate * duration, and a neuron fires
    at most once per tick (as every backend's spike sources do). Drawn here, once, so every backend gets
    the same spikes; each neuron from its own generator, keyed by (setup's seed, the population's place,
    the neuron), so a longer run or another population leaves the spikes drawn so far as they were."""
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
        fired = np.random.default_rng([*key, neuron]).random(ticks.size) < probability[neuron]
        trains.append(ticks[fired] * dt)
    return trains


TICK_SLACK = 1e-9  # a start or end given as a multiple of dt stays on its own tick despite float rounding


def plain(value):
    """A parameter value as the description takes it: a float, or one float per neuron."""
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else array


def projection_description(projection, label: str) -> nd.Projection:
    """The description of a PyNN projection, checked when the script creates it."""
    pre_label, pre_indices = side_indices(projection.pre)
    post_label, post_indices = side_indices(projection.post)
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
    same_neurons = same_neuron_pairs(projection, pre_indices, post_indices)
    slices = contiguous_slices(projection, pre_indices, post_indices)
    pairs = None  # view-local (pre, post) pairs, when the connector's own pairs are given here
    description = None
    if isinstance(connector, connectors.OneToOneConnector):
        if slices is not None and len(pre_indices) == len(post_indices):
            description = nd.OneToOne()
        else:
            count = min(len(pre_indices), len(post_indices))
            pairs = np.arange(count), np.arange(count)
    elif isinstance(connector, connectors.AllToAllConnector):
        allow_self = self_connections(connector, same_neurons, slices)
        if slices is not None and allow_self is not None:
            description = nd.AllToAll(allow_self_connections=allow_self)
        else:
            pre, post = np.meshgrid(np.arange(len(pre_indices)), np.arange(len(post_indices)), indexing="ij")
            keep = ~same_neurons if connector.allow_self_connections is False else np.ones_like(same_neurons)
            pairs = pre[keep], post[keep]
    elif isinstance(connector, connectors.FromListConnector):
        columns = connector.conn_list.reshape(len(connector.conn_list), -1)
        extra = set(connector.column_names) - {"weight", "delay"}
        if extra:
            raise unsupported(f"FromListConnector columns {sorted(extra)} (only weight and delay)")
        if not np.array_equal(columns[:, :2], np.round(columns[:, :2])):
            raise unsupported("FromListConnector indices that are not whole numbers")
        pairs = columns[:, 0].astype(np.int64), columns[:, 1].astype(np.int64)
        for index, name in enumerate(connector.column_names):
            if name == "weight":
                weight = columns[:, 2 + index].astype(float)
            else:
                delay = columns[:, 2 + index].astype(float)
    elif isinstance(connector, DRAWN_BY_PYNN):
        pairs = pynn_pairs(projection)
    else:
        raise unsupported(f"the connector {type(connector).__name__}")
    if np.any(np.asarray(weight) < 0):
        raise unsupported("negative weights (give the magnitude with receptor_type='inhibitory')")
    if pairs is not None:
        description = nd.FromList(*population_pairs(pairs, pre_indices, post_indices))
        slices = None, None
    return nd.Projection(
        label,
        pre_label,
        post_label,
        description,
        weight,
        delay,
        projection.receptor_type,
        pre_slice=slices[0],
        post_slice=slices[1],
    )


DRAWN_BY_PYNN = (
    connectors.FixedProbabilityConnector,
    connectors.FixedNumberPreConnector,
    connectors.FixedNumberPostConnector,
    connectors.FixedTotalNumberConnector,
)


def pynn_pairs(projection) -> tuple[np.ndarray, np.ndarray]:
    """The view-local pairs PyNN's own ``connect`` draws with the connector's rng, as every PyNN simulator
    gets them (through ``_convergent_connect``), drawn when the script makes the projection as PyNN does."""
    projection.drawn_pairs = []
    projection._connector.connect(projection)
    if not projection.drawn_pairs:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    pre = np.concatenate([sources for sources, _ in projection.drawn_pairs])
    post = np.concatenate([np.full(len(sources), target) for sources, target in projection.drawn_pairs])
    return pre, post


def side_indices(side) -> tuple[str, np.ndarray]:
    """The description label of the population a projection's side belongs to, and the side's neurons'
    indices in it."""
    if isinstance(side, Population):
        return side.description_label, np.arange(side.size)
    if isinstance(side, PopulationView):
        return side.grandparent.description_label, np.asarray(side.index_in_grandparent(np.arange(side.size)))
    raise unsupported(f"projections from or to a {type(side).__name__} (only Populations and PopulationViews)")


def same_neuron_pairs(projection, pre_indices: np.ndarray, post_indices: np.ndarray) -> np.ndarray:
    """Which (pre, post) pairs are one neuron: PyNN's self-connections, compared by cell as PyNN does."""
    pre_population = getattr(projection.pre, "grandparent", projection.pre)
    post_population = getattr(projection.post, "grandparent", projection.post)
    if pre_population is not post_population:
        return np.zeros((len(pre_indices), len(post_indices)), dtype=bool)
    return pre_indices[:, None] == post_indices[None, :]


def contiguous_slices(projection, pre_indices: np.ndarray, post_indices: np.ndarray):
    """The description's (pre_slice, post_slice) when both sides are contiguous, ascending ranges of their
    population (None for a whole population); None when either side is not."""
    slices = []
    for side, indices in ((projection.pre, pre_indices), (projection.post, post_indices)):
        start = int(indices[0])
        if not np.array_equal(indices, np.arange(start, start + len(indices))):
            return None
        whole = start == 0 and len(indices) == getattr(side, "grandparent", side).size
        slices.append(None if whole else (start, start + len(indices)))
    return tuple(slices)


def self_connections(connector, same_neurons: np.ndarray, slices) -> bool | None:
    """The description connector's allow_self_connections (which drops local i == j) that is PyNN's
    (which drops pairs of one neuron); None when none is."""
    if not isinstance(connector.allow_self_connections, bool):
        raise unsupported(f"allow_self_connections={connector.allow_self_connections!r}")
    if connector.allow_self_connections or not same_neurons.any():
        return True
    local_diagonal = np.eye(*same_neurons.shape, dtype=bool)
    if slices is not None and np.array_equal(same_neurons, local_diagonal):
        return False
    return None


def population_pairs(pairs, pre_indices: np.ndarray, post_indices: np.ndarray):
    """View-local pairs as indices in the sides' populations."""
    pre, post = (np.asarray(local, dtype=np.int64) for local in pairs)
    for local, indices, name in ((pre, pre_indices, "pre"), (post, post_indices, "post")):
        if local.size and (local.min() < 0 or local.max() >= len(indices)):
            raise errors.ConnectionError(f"a {name} index is out of range for a side of {len(indices)} neurons")
    return pre_indices[pre], post_indices[post]


def synapse_value(synapse, name: str):
    value = synapse.parameter_space[name].base_value
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise unsupported(f"a synapse {name} given as {type(value).__name__} (only a number or a FromList column)")
    return float(value)
