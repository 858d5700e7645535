"""The PyNN graph a network lowers to on sPyNNaker, as data: what the standalone script builds, what
the ring-buffer shifts are computed from, and what the emulator runs.

Connectors are sPyNNaker's own where they mean exactly what the description says: OneToOne, and
AllToAll with scalar weight and delay between whole populations (without self-connections only when
pre and post are one population: sPyNNaker ignores ``allow_self_connections`` between different
populations). Everything else (fixed-probability draws, from-lists, per-synapse weights or delays,
all-to-all without self between two populations, and projections on population views) becomes a
FromListConnector of the very synapses the description defines, between whole populations with
global indices, so every backend runs the same synapses. (sPyNNaker 7.4.1 fails on views: its
OneToOneConnector in create_synaptic_block, its FromListConnector when routing.)

The semantics sPyNNaker does not compute itself are handed to it as numbers (:mod:`.cells`): under
``euler`` the time constants whose exponential decay is ``1 - dt / tau``; with ``threshold: '>'`` the
threshold one LSB up; where the semantics' init factor is not sPyNNaker's (``synaptic_init: none``,
``euler``) the weights divided by the chip's (:func:`host_weights`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from neurodeploy.backends.spinnaker import cells
from neurodeploy.description import STDP, AllToAll, FromList, Network, OneToOne, Projection, Semantics
from neurodeploy.interchange.pynn_export import PYNN_RECORDABLE

GRAPH_FILE = "graph.json"
CONNECTIONS_FILE = "connections.npz"


@dataclass(eq=False)
class GraphPopulation:
    label: str
    size: int
    model: str  # the PyNN cell (:mod:`.cells`) or "SpikeSourceArray"
    parameters: dict = field(default_factory=dict)  # PyNN parameters, or {"spike_times": [array per neuron]}
    initial_v: float | list | None = None
    record: list = field(default_factory=list)
    weight_scale: float | None = None  # the cell's global weight scale (its input type's); None for sources

    def script_spec(self) -> dict:
        """What the PyNN script builds the population from."""
        spec = {k: v for k, v in vars(self).items() if k != "weight_scale"}
        spec["parameters"] = {name: _plain(value) for name, value in self.parameters.items()}
        return spec


# sPyNNaker's timing rule for each pairing of the description's STDP it runs (rules.check_semantics).
TIMING_DEPENDENCE = {"all_to_all": "SpikePairRule", "nearest_spynnaker": "SpikeNearestPairRule"}


@dataclass(eq=False)
class GraphProjection:
    label: str
    pre: str
    post: str
    connector: str  # OneToOneConnector, AllToAllConnector or FromListConnector
    receptor: str
    allow_self_connections: bool = True
    weight: float | None = None  # scalar weight and delay of native connectors
    delay: float | None = None
    stdp: dict | None = None
    structural: dict | None = None  # Synaptogenesis parameters (StructuralMechanismStatic/STDP)
    network: Network | None = field(default=None, repr=False)  # whose synapses a from-list lists

    @property
    def is_from_list(self) -> bool:
        return self.connector == "FromListConnector"

    @property
    def connections(self) -> np.ndarray | None:
        """FromListConnector rows (pre, post, weight as the host writes it, delay in ms), made when asked: only
        the PyNN script and the mapping read them; the emulation and the ring-buffer scaling read the
        network's own arrays."""
        if not self.is_from_list:
            return None
        connections = self.network.connections(self.label)
        return np.column_stack(
            [
                connections.pre,
                connections.post,
                host_weights(self.network, self.label),
                connections.delay_ticks * self.network.semantics.dt,
            ]
        ).astype(np.float64)


@dataclass(eq=False)
class SpinnakerGraph:
    dt: float
    populations: dict[str, GraphPopulation]
    projections: dict[str, GraphProjection]

    def save(self, directory: Path) -> None:
        """graph.json plus connections.npz (from-list rows), read by the standalone PyNN script."""
        directory = Path(directory)
        arrays = {label: p.connections for label, p in self.projections.items() if p.is_from_list}
        document = {
            "dt": self.dt,
            "populations": [p.script_spec() for p in self.populations.values()],
            "projections": [{k: v for k, v in vars(p).items() if k != "network"} for p in self.projections.values()],
            "from_list_keys": {label: f"p{i}" for i, label in enumerate(arrays)},
        }
        (directory / GRAPH_FILE).write_text(json.dumps(document, indent=1) + "\n")
        np.savez(
            directory / CONNECTIONS_FILE, **{document["from_list_keys"][label]: rows for label, rows in arrays.items()}
        )


def _scalar(value):
    return float(value) if np.ndim(value) == 0 else None


def weight_factor(network: Network, projection: Projection) -> np.ndarray | None:
    """Per post neuron, what the host multiplies the projection's weights by (None: written as described)."""
    population = network.populations[projection.post]
    return cells.build(population.cell).weight_factor(population, projection.receptor, network.semantics)


def host_weights(network: Network, label: str) -> np.ndarray:
    """The weights of a projection's connections as the host writes them for sPyNNaker."""
    connections = network.connections(label)
    factor = weight_factor(network, network.projections[label])
    return connections.weight if factor is None else connections.weight * factor[connections.post]


def handed_network(network: Network) -> Network:
    """The network as the host hands it to sPyNNaker, stated in PyNN's own semantics: each cell with its
    PyNN model's parameters (:meth:`.cells.CellBuild.parameters`: time constants for the discretization,
    the threshold a board compares ``>=`` with), the weights the host writes (:func:`host_weights`). The
    compiled pynn_script.py is its PyNN export."""
    semantics = network.semantics
    populations = {
        label: replace(
            population,
            cell=replace(population.cell, **cells.build(population.cell).parameters(population.cell, semantics)),
        )
        for label, population in network.populations.items()
    }
    projections = {}
    for label, projection in network.projections.items():
        factor = weight_factor(network, projection)
        if factor is None:
            projections[label] = projection
        elif np.ndim(projection.weight) == 0 and np.all(factor == factor[0]):
            projections[label] = replace(projection, weight=float(projection.weight) * float(factor[0]))
        else:
            connections = network.connections(label)
            projections[label] = replace(
                projection,
                connector=FromList(connections.pre, connections.post),
                weight=host_weights(network, label),
                delay=connections.delay_ticks * semantics.dt,
                pre_slice=None,
                post_slice=None,
            )
    handed = network.replaced(populations=populations, projections=projections)
    handed.semantics = Semantics(dt=semantics.dt)
    return handed


def _native_connector(projection: Projection, factor: np.ndarray | None):
    """The sPyNNaker connector that means exactly this projection, or None (use a from-list): a scalar
    weight stays one when every post neuron's weight factor is the same."""
    if np.ndim(projection.weight) or projection.pre_slice or projection.post_slice or projection.structural:
        return None
    if _scalar(projection.delay) is None:
        return None
    if factor is not None and np.any(factor != factor[0]):
        return None
    if isinstance(projection.connector, OneToOne):
        return "OneToOneConnector", True
    if isinstance(projection.connector, AllToAll):
        if projection.connector.allow_self_connections:
            return "AllToAllConnector", True
        if projection.pre == projection.post:
            return "AllToAllConnector", False
    return None


def lower(network: Network) -> SpinnakerGraph:
    """The network as a PyNN graph for sPyNNaker (semantics are checked by the design rules)."""
    populations = {}
    for population in network.populations.values():
        build = cells.build(population.cell)
        populations[population.label] = GraphPopulation(
            population.label,
            population.size,
            build.model,
            {name: _plain(value) for name, value in build.parameters(population.cell, network.semantics).items()},
            _plain(population.initial_values["v"]),
            [PYNN_RECORDABLE.get(name, name) for name in network.recordings.get(population.label, ())],
            build.input.weight_scale,
        )
    for source in network.spike_sources.values():
        populations[source.label] = GraphPopulation(
            source.label,
            source.size,
            "SpikeSourceArray",
            {"spike_times": source.spike_times},
            record=list(network.recordings.get(source.label, ())),
        )
    projections = {}
    for projection in network.projections.values():
        connections = network.connections(projection.label)
        if len(connections.pre) == 0 and projection.structural is None:
            continue
        factor = weight_factor(network, projection)
        native = _native_connector(projection, factor)
        graph_projection = GraphProjection(
            projection.label,
            projection.pre,
            projection.post,
            native[0] if native else "FromListConnector",
            projection.receptor,
            allow_self_connections=native[1] if native else True,
        )
        if native:
            scale = 1.0 if factor is None else float(factor[0])
            graph_projection.weight, graph_projection.delay = float(projection.weight) * scale, float(projection.delay)
        else:
            graph_projection.network = network
        if isinstance(projection.plasticity, STDP):
            rule = projection.plasticity
            graph_projection.stdp = {
                **{name: getattr(rule, name) for name in STDP.FIELDS},
                "timing_dependence": TIMING_DEPENDENCE.get(rule.semantics.traces),  # None: refused by the rules
            }
        if projection.structural is not None:
            graph_projection.structural = {**projection.structural.to_dict(), "seed": network.seed}
        projections[projection.label] = graph_projection
    return SpinnakerGraph(network.semantics.dt, populations, projections)


def _plain(value):
    """A JSON-able value: arrays as lists, lists of arrays (spike trains) as lists of lists."""
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value.tolist() if isinstance(value, np.ndarray) else value
