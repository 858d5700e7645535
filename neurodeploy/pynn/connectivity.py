"""A PyNN projection as description projections: which connector, pairs, weights and delays.

The description's own connectors (OneToOne, AllToAll, on whole populations or contiguous slices) stay
where they make exactly PyNN's pairs: no pair is listed then, and where the synapse's weight and delay
are single numbers nothing is evaluated either, so a projection of millions of synapses costs nothing
here. Every other projection is connected by PyNN's own ``connect`` (the connector's rng, PyNN's
positions and distances, the synapse's random distributions, distance expressions, functions and
arrays, evaluated as PyNN evaluates them for every simulator), collected through
``_convergent_connect`` and described as a FromList with one weight and delay per connection (as the
own connectors' weights and delays too, when PyNN evaluates them): one description projection per pair
of populations an Assembly side spans.

Weights follow PyNN's sign rules (a negative weight is a current-based inhibitory synapse) and
sPyNNaker's (a positive weight on the inhibitory receptor is inhibition too): the description holds
the magnitude and the receptor."""

from __future__ import annotations

import warnings
from copy import copy
from dataclasses import replace
from typing import NamedTuple

import numpy as np
from pyNN import connectors, errors
from pyNN.common import Assembly, PopulationView
from pyNN.standardmodels import synapses

import neurodeploy.description as nd
from neurodeploy.pynn.build import unsupported

NOT_CONNECTED_BY_PYNN = (connectors.CSAConnector, connectors.SmallWorldConnector)


class Side(NamedTuple):
    """A projection's pre or post side as description neurons."""

    populations: tuple  # the PyNN Populations its neurons belong to
    population_of: np.ndarray  # per side neuron: its population's place in ``populations``
    index: np.ndarray  # per side neuron: its index in that population
    local: tuple  # per population: each neuron's index in the side, -1 where it is not in the side

    @property
    def labels(self) -> list[str]:
        return [population.description_label for population in self.populations]


def side_neurons(side) -> Side:
    """The neurons of a Population, PopulationView (of views) or Assembly, in the side's order."""
    parts = side.populations if isinstance(side, Assembly) else [side]
    populations, population_of, index = [], [], []
    for part in parts:
        population = part.grandparent if isinstance(part, PopulationView) else part
        if population not in populations:
            populations.append(population)
        population_of.append(np.full(part.size, populations.index(population), dtype=np.int64))
        local = np.arange(part.size)
        index.append(np.asarray(part.index_in_grandparent(local) if isinstance(part, PopulationView) else local))
    population_of, index = np.concatenate(population_of), np.concatenate(index).astype(np.int64)
    lookups = []
    for place, population in enumerate(populations):
        lookup = np.full(population.size, -1, dtype=np.int64)
        mine = np.flatnonzero(population_of == place)
        lookup[index[mine]] = mine  # PyNN's Assemblies hold a neuron once
        lookups.append(lookup)
    return Side(tuple(populations), population_of, index, tuple(lookups))


def description_parts(projection, label: str) -> list[nd.Projection]:
    """The description projections of a PyNN projection, checked and drawn when the script makes it."""
    if projection.source is not None:
        raise unsupported(f"a projection's source ({projection.source!r})")
    synapse = projection.synapse_type
    plastic = isinstance(synapse, synapses.STDPMechanism) and hasattr(synapse, "description")
    rewired = hasattr(synapse, "structural_description")
    if type(synapse).__mro__[1] is not synapses.StaticSynapse and not plastic and not rewired:
        raise unsupported(f"the synapse type {type(synapse).__name__} (only StaticSynapse and STDPMechanism)")
    plasticity = synapse.description() if plastic else None
    structural = synapse.structural_description(projection) if rewired else None
    connector = projection._connector
    if connector.location_selector is not None:
        raise unsupported("a connector's location_selector")
    if isinstance(connector, NOT_CONNECTED_BY_PYNN):
        raise unsupported(f"the connector {type(connector).__name__}")
    pre, post = side_neurons(projection.pre), side_neurons(projection.post)
    dt = projection._simulator.state.dt
    weight, delay = (single_value(synapse.parameter_space[name]) for name in ("weight", "delay"))
    own = own_connector(connector, pre, post)
    if own is not None:
        description, (pre_slice, post_slice) = own
        if weight is None or delay is None:  # PyNN evaluates them; the description takes them in its order
            pre_local, post_local, weights, delays = drawn_connections(projection)
            in_order = np.lexsort((post_local, pre_local))  # (pre, post), as OneToOne and AllToAll make them
            weight, delay = collapsed(weights[in_order], 0.0), collapsed(delays[in_order], dt)
        magnitude, projection.weight_sign = weight_magnitudes(weight, projection)
        return [
            nd.Projection(
                label,
                pre.labels[0],
                post.labels[0],
                description,
                magnitude,
                delays_on_grid(delay, dt, label),
                projection.receptor_type,
                plasticity=plasticity,
                pre_slice=pre_slice,
                post_slice=post_slice,
                structural=structural,
            )
        ]
    listed = listed_connections(connector, weight, delay)
    pre_local, post_local, weights, delays = listed if listed is not None else drawn_connections(projection)
    for local, side, name in ((pre_local, pre, "pre"), (post_local, post, "post")):
        if local.size and (local.min() < 0 or local.max() >= len(side.index)):
            raise errors.ConnectionError(f"a {name} index is out of range for a side of {len(side.index)} neurons")
    magnitudes, projection.weight_sign = weight_magnitudes(weights, projection)
    delays = delays_on_grid(delays, dt, label)
    parts = split_by_population(
        label, projection.receptor_type, plasticity, pre, post, pre_local, post_local, magnitudes, delays, dt
    )
    return [replace(part, structural=structural) for part in parts] if rewired else parts


def delays_on_grid(delays, dt: float, label: str):
    """Delays rounded to the nearest time step (at least one), as NEST and sPyNNaker round them, with a
    warning saying how many moved and by how much at most (never silently)."""
    given = np.asarray(delays, dtype=float)
    rounded = np.maximum(np.round(given / dt), 1) * dt
    moved = ~np.isclose(rounded, given, rtol=0, atol=1e-9 * dt)
    if np.any(moved):
        warnings.warn(
            f"projection '{label}': {int(moved.sum())} of {moved.size} delays rounded to the time step {dt:g} ms "
            f"(by up to {float(np.abs(rounded - given).max()):.3g} ms)",
            stacklevel=4,
        )
        return float(rounded) if rounded.ndim == 0 else rounded
    return delays


def single_value(lazy) -> float | None:
    """A synapse parameter's value when it is one number for every connection, else None."""
    if not lazy.is_homogeneous or callable(lazy.base_value):
        return None
    one = copy(lazy)
    one.shape = (1,)
    return float(one.evaluate(simplify=True))


def own_connector(connector, pre: Side, post: Side):
    """The description's own connector and (pre_slice, post_slice) where they make exactly PyNN's pairs,
    else None."""
    if type(connector) not in (connectors.OneToOneConnector, connectors.AllToAllConnector):
        return None
    if len(pre.populations) != 1 or len(post.populations) != 1:
        return None
    ranges = [contiguous_range(side) for side in (pre, post)]
    if None in ranges:
        return None
    slices = tuple(
        None if (start, stop) == (0, side.populations[0].size) else (start, stop)
        for (start, stop), side in zip(ranges, (pre, post))
    )
    if isinstance(connector, connectors.OneToOneConnector):
        return (nd.OneToOne(), slices) if len(pre.index) == len(post.index) else None
    if connector.allow_self_connections or pre.populations[0] is not post.populations[0]:
        return nd.AllToAll(), slices
    if ranges[0] == ranges[1]:
        return nd.AllToAll(allow_self_connections=False), slices  # local i == j is one neuron
    (pre_start, pre_stop), (post_start, post_stop) = ranges
    return (nd.AllToAll(), slices) if pre_stop <= post_start or post_stop <= pre_start else None


def contiguous_range(side: Side) -> tuple[int, int] | None:
    start = int(side.index[0]) if len(side.index) else 0
    if not np.array_equal(side.index, np.arange(start, start + len(side.index))):
        return None
    return start, start + len(side.index)


def listed_connections(connector, weight, delay):
    """A FromListConnector's own list (its order kept), where the synapse gives single numbers for what
    the list's columns do not; None otherwise (PyNN's connect evaluates the rest)."""
    if type(connector) is not connectors.FromListConnector:
        return None
    extra = set(connector.column_names) - {"weight", "delay"}
    if extra:
        raise unsupported(f"FromListConnector columns {sorted(extra)} (only weight and delay)")
    given = {"weight": weight, "delay": delay}
    if any(given[name] is None for name in given if name not in connector.column_names):
        return None
    columns = np.asarray(connector.conn_list, dtype=float).reshape(-1, 2 + len(connector.column_names))
    if not np.array_equal(columns[:, :2], np.round(columns[:, :2])):
        raise unsupported("FromListConnector indices that are not whole numbers")
    for place, name in enumerate(connector.column_names, 2):
        given[name] = columns[:, place]
    return columns[:, 0].astype(np.int64), columns[:, 1].astype(np.int64), given["weight"], given["delay"]


def drawn_connections(projection):
    """The side-local pairs, weights and delays PyNN's own ``connect`` makes, as every PyNN simulator gets
    them (through ``_convergent_connect``, one call per post neuron)."""
    projection.drawn = []
    projection._connector.connect(projection)
    drawn = projection.__dict__.pop("drawn")
    counts = [len(sources) for sources, *_ in drawn]
    if not drawn:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0), np.empty(0)

    def column(values) -> np.ndarray:
        return np.concatenate([np.broadcast_to(np.asarray(v, dtype=float), (n,)) for v, n in zip(values, counts)])

    pre = np.concatenate([np.asarray(sources, dtype=np.int64) for sources, *_ in drawn])
    post = np.repeat(np.array([target for _, target, *_ in drawn], dtype=np.int64), counts)
    return pre, post, column(w for *_, w, _ in drawn), column(d for *_, d in drawn)


def weight_magnitudes(weights, projection):
    """The description's weights (magnitudes) and the sign the script gave them (-1.0 or 1.0). PyNN's
    rules: one sign per projection, and negative only onto a current-based inhibitory receptor (PyNN's
    inhibition); sPyNNaker's positive weights on the inhibitory receptor are inhibition too."""
    array = np.asarray(weights, dtype=float)
    negative = bool(np.any(array < 0))
    if negative and np.any(array > 0):
        raise errors.ConnectionError("Weights must be either all positive or all negative")
    if negative and (projection.post.conductance_based or projection.receptor_type != "inhibitory"):
        raise errors.ConnectionError(
            "Weights must be positive for conductance-based and/or excitatory synapses "
            "(negative weights are PyNN's current-based inhibitory synapses)"
        )
    magnitudes = np.abs(array)
    return (float(magnitudes) if magnitudes.ndim == 0 else magnitudes), (-1.0 if negative else 1.0)


def collapsed(values: np.ndarray, fallback: float):
    """Per-connection values as one number where they are all equal (the description stays small)."""
    if values.size == 0:
        return fallback
    return float(values[0]) if np.all(values == values[0]) else values


def split_by_population(label, receptor, plasticity, pre: Side, post: Side, pre_local, post_local, weights, delays, dt):
    """One FromList description projection per (pre population, post population) the pairs join (one
    empty one, of delay ``dt``, when there are no pairs)."""
    weights = np.broadcast_to(np.asarray(weights, dtype=float), pre_local.shape)
    delays = np.broadcast_to(np.asarray(delays, dtype=float), pre_local.shape)
    pre_place, post_place = pre.population_of[pre_local], post.population_of[post_local]
    keys = pre_place * len(post.populations) + post_place
    parts = []
    for key in np.unique(keys) if len(keys) else [0]:
        mine = keys == key
        pre_population, post_population = (
            pre.populations[key // len(post.populations)],
            post.populations[key % len(post.populations)],
        )
        several = len(pre.populations) > 1 or len(post.populations) > 1
        parts.append(
            nd.Projection(
                f"{label} ({pre_population.description_label}->{post_population.description_label})"
                if several
                else label,
                pre_population.description_label,
                post_population.description_label,
                nd.FromList(pre.index[pre_local[mine]], post.index[post_local[mine]]),
                collapsed(weights[mine], 0.0),
                collapsed(delays[mine], dt),
                receptor,
                plasticity=plasticity,
            )
        )
    return parts


def description_connections(parts: list[nd.Projection], sizes: dict[str, int], dt: float) -> list[nd.Connections]:
    """Each part's synapses (population indices, in the description's order), generated by the
    description's own connection builder from the sides' ``sizes`` (all it needs); delays stay the
    parts' (in ms: a set() may give them off the time step, which the run refuses, naming them)."""
    network = nd.Network("connections", nd.Semantics(dt=dt))
    for label, size in sizes.items():
        network.add(nd.Population(label, size))
    for part in parts:
        network.add(replace(part, delay=dt))
    return [network.connections(part.label) for part in parts]


def values_at(lazy, pre: np.ndarray, post: np.ndarray):
    """A synapse parameter PyNN gives for a whole (pre x post) matrix (an array, random distribution,
    distance expression or function) at each connection, evaluated column by column at the connected pre
    neurons, as PyNN's connectors evaluate them (a pair connected twice gets one value)."""
    result = np.empty(len(pre))
    order = np.argsort(post, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(post[order]) != 0]) if len(order) else np.empty(0, dtype=int)
    for begin, end in zip(starts, np.r_[starts[1:], len(order)]):
        connections = order[begin:end]
        sources, inverse = np.unique(pre[connections], return_inverse=True)
        column = np.broadcast_to(np.asarray(lazy[sources, int(post[connections[0]])], dtype=float), sources.shape)
        result[connections] = column[inverse]
    return result
