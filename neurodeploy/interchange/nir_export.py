"""A description's static part as a NIR graph (neuromorphs/NIR): the inverse of the import mapping.

Spike sources become ``Input`` nodes named by their labels (their spike times go to a stimulus file beside
the graph, in ``--stimulus``'s format); ``IF_curr_delta`` populations ``LIF`` nodes, ``IF_curr_exp``
ones ``CubaLIF`` nodes (``w_in`` 1), ``LI_curr_delta`` ``LI``, ``LI_curr_exp`` ``CubaLI``, ``PIF_curr_delta`` ``IF``
and ``PI_curr_delta`` ``I`` (``r = 1 / cm``), named by their labels. The connections from one population or source
to another with one delay become one dense weight node (``Linear``, or ``Affine`` when it carries the
post population's ``i_offset`` as a bias), signed (inhibitory negative), duplicates summed, holding what
the import turns back into the same per-tick input: onto delta synapses the current of the tick (the
charge over dt), onto exponential ones the input held over a tick that raises the synaptic state by the description's
effective weight (``init`` times the weight; ``1 - E_syn`` of it under either discretization). Every edge
carries the one-tick minimum delay implicitly; longer delays put a ``Delay`` node (the delay beyond that
tick, per pre neuron) before the weights, so a bias is never delayed. Under reset by subtraction the
nodes' potentials are shifted by ``v_reset`` (NIR's, snnTorch's ``v -= v_threshold`` has ``v_reset`` 0).

NIR has no tick, discretization, threshold comparison, reset mode, refractoriness or initial state: the
graph's metadata (``METADATA_KEY``) holds the semantics, name, seed and duration, and each neuron node's
its cell type, ``tau_refrac``, ``i_offset`` and initial values (and under subtraction the unshifted
potentials), which replace what the importer would derive (the bias, which it starts one tick into the
run; v at v_leak; no refractoriness). Recordings are not exported. :attr:`Export.unseen` says which of
them a reader of plain NIR would miss.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurodeploy.description.cells import DeltaSynapse, ExponentialSynapse
from neurodeploy.description.io import write_atomically
from neurodeploy.description.network import Network
from neurodeploy.description.resources import count_text, refuse_above_limit
from neurodeploy.errors import ValidationError
from neurodeploy.interchange import nir_package
from neurodeploy.interchange.nir_import import METADATA_KEY

SEMANTICS_METADATA = ("dt", "threshold", "reset", "refractory", "delay_convention", "discretization")
"""The semantics fields the graph's metadata holds (``update_order`` has one value, ``synaptic_init`` is
``SYNAPTIC_INIT``)."""
SYNAPTIC_INIT = "none"
"""The weights fold the description's init factors in: the import adds them unscaled."""
NODE_TYPES = {
    "IF_curr_delta": "LIF",
    "IF_curr_exp": "CubaLIF",
    "LI_curr_delta": "LI",
    "LI_curr_exp": "CubaLI",
    "PIF_curr_delta": "IF",
    "PI_curr_delta": "I",
}
READ_OUTS = ("LI", "CubaLI", "I")
"""NIR's neuron nodes that never spike: nothing but an Output may follow them."""
LEAKLESS = ("IF", "I")
"""NIR's neuron nodes without leak, which the import starts at v = 0 (the others at v_leak)."""
NO_NODE = {
    "IF_cond_exp": "NIR has no conductance-based neuron",
    "Izhikevich": "NIR has no Izhikevich neuron",
}
NEURON_METADATA = {
    "parameters": ("tau_m", "cm", "tau_syn_E", "tau_syn_I", "tau_refrac", "i_offset"),
    "initial_values": ("v", "isyn_exc", "isyn_inh"),
}
"""The cell's values a NIR neuron node does not carry (or carries only as a bias), and its time constants
and capacitance (NIR's seconds and ``r`` would bring them back a few ulps off), kept in its metadata
(those of them the cell has)."""
SHIFTED = ("v_rest", "v_thresh", "v_reset")
"""Under reset by subtraction the node's potentials are these less v_reset (NIR's subtraction of
v_threshold is then the description's of v_thresh - v_reset); the metadata keeps them as they are."""
BYTES_PER_DENSE_WEIGHT = 16
"""A float64 matrix entry, and its copy when ``nir.write`` serializes the graph."""
SECONDS_PER_MS = 1e-3
NAME_SEPARATORS = {"/": "HDF5 separates groups with it"}
STIMULUS_SUFFIX = ".stimulus.json"


@dataclass(eq=False)
class Export:
    """The graph, the spike sources' times (label -> one list of ms per neuron), and what a reader of
    plain NIR would not see, one phrase each."""

    graph: object  # nir.NIRGraph
    stimulus: dict[str, list[list[float]]]
    unseen: list[str] = field(default_factory=list)


def stimulus_path(path) -> Path:
    """Where the stimulus of the graph at ``path`` (``FILE.nir``) goes: ``FILE.stimulus.json``."""
    path = Path(path)
    return path.with_name(path.stem + STIMULUS_SUFFIX)


def write(network: Network, path) -> Export:
    """Export ``network`` to ``path`` (a ``.nir`` file) and its stimulus beside it, each written atomically."""
    path = Path(path)
    if path.suffix.lower() != ".nir":
        raise ValidationError(f"file '{path}'", None, "expected a .nir file")
    nir = nir_package("writing NIR graphs")
    _refuse_to_replace(path, nir)
    exported = to_graph(network)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, lambda temporary: nir.write(temporary, exported.graph))
    text = json.dumps(exported.stimulus) + "\n"
    write_atomically(stimulus_path(path), lambda temporary: Path(temporary).write_text(text))
    return exported


def _refuse_to_replace(graph: Path, nir):
    """An export replaces only an export: ``FILE.nir`` whose graph carries neurodeploy's metadata and the
    stimulus beside such a graph; any other file there is the user's and stays."""
    existing = [path for path in (graph, stimulus_path(graph)) if path.exists()]
    if not existing:
        return
    try:
        ours = graph.is_file() and METADATA_KEY in (nir.read(graph).metadata or {})
    except Exception:  # unreadable as NIR: not an export of ours
        ours = False
    if not ours:
        raise ValidationError(
            f"file '{existing[0]}'", None, "exists and is not a neurodeploy export: remove it or choose another --out"
        )


def to_graph(network: Network) -> Export:
    """The NIR graph of ``network``'s static part; a ValidationError for what NIR cannot hold."""
    nir = nir_package("writing NIR graphs")
    network.validate()
    _refuse_dynamics(network)
    groups = _weight_groups(network)
    semantics = network.semantics
    nodes, edges, unseen = {}, [], []
    names = _Names(network)
    for source in network.spike_sources.values():
        nodes[source.label] = nir.Input(input_type={"input": np.array([source.size])})
    refractory, started, offsets = [], [], []
    for population in network.populations.values():
        nodes[population.label] = _neuron_node(population, semantics)
        if "tau_refrac" in population.cell.parameter_specs() and np.any(
            semantics.refractory_ticks(population.value("tau_refrac")) > 0
        ):
            refractory.append(population.label)
    biased = set()
    for (pre, post, delay), matrix in groups.items():
        population = network.populations[post]
        weights = _nir_weights(population, matrix, semantics)
        bias = None
        if post not in biased and np.any(population.value("i_offset")):
            bias = population.value("i_offset")
            biased.add(post)
        weight_name = names.new(f"{pre}->{post}" + ("" if delay == 1 else f" delay {delay} weights"))
        nodes[weight_name] = nir.Linear(weight=weights) if bias is None else nir.Affine(weight=weights, bias=bias)
        if delay == 1:
            edges.append((pre, weight_name))
        else:
            delay_name = names.new(f"{pre}->{post} delay {delay}")
            seconds = (delay - 1) * semantics.dt * SECONDS_PER_MS
            nodes[delay_name] = nir.Delay(delay=np.full(network.size_of(pre), seconds))
            edges += [(pre, delay_name), (delay_name, weight_name)]
        edges.append((weight_name, post))
    for population in network.populations.values():
        if population.label not in biased and np.any(population.value("i_offset") != 0):
            offsets.append(population.label)
        if not _starts_as_nir_does(population, semantics, population.label in biased):
            started.append(population.label)
    for label in _output_populations(network, groups):
        output = names.new(f"{label} output")
        nodes[output] = nir.Output(output_type={"output": np.array([network.size_of(label)])})
        edges.append((label, output))
    metadata = {METADATA_KEY: _graph_metadata(network)}
    unseen.append(f"the time step dt = {semantics.dt:g} ms and the '{semantics.discretization}' discretization")
    if network.projections:
        unseen.append("the one tick every connection takes (Delay nodes hold only the delay beyond it)")
    if semantics.threshold != ">":
        unseen.append(f"the threshold comparison V {semantics.threshold} v_thresh (NIR's neurons spike on v > v_th)")
    if semantics.reset != "to_v_reset":
        unseen.append(
            f"the reset '{semantics.reset}' (NIR's neurons reset to v_reset; the nodes' potentials are the "
            "populations' less v_reset, so that v -= v_threshold subtracts v_thresh - v_reset)"
        )
    for what, labels in (
        ("refractory periods", refractory),
        ("i_offset, which no weight node carries as a bias,", offsets),
        ("initial values", started),
    ):
        if labels:
            unseen.append(f"the {what} of {', '.join(labels)}")
    return Export(nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata), _stimulus(network), unseen)


def _refuse_dynamics(network: Network):
    """One error for the first thing NIR cannot express: a changing network, a cell without a NIR node,
    two synaptic time constants, a chip's arithmetic, a label NIR cannot name a node with."""
    for label, projection in network.projections.items():
        where = f"projection '{label}'"
        if projection.plasticity is not None:
            raise ValidationError(where, "plasticity", "NIR graphs are static: STDP cannot be exported")
        if projection.structural is not None:
            raise ValidationError(where, "structural", "NIR graphs are static: structural rewiring cannot be exported")
    for label in network.turnovers:
        raise ValidationError(
            f"population '{label}'", "turnover", "NIR graphs are static: neuron turnover cannot be exported"
        )
    for injection in network.injections.values():
        raise ValidationError(
            injection.where, "source", "NIR has no node for an injected current: it cannot be exported"
        )
    for label in (*network.spike_sources, *network.populations):
        for separator, reason in NAME_SEPARATORS.items():
            if separator in label:
                raise ValidationError(
                    f"'{label}'", "label", f"cannot name a NIR node: it contains '{separator}' ({reason})"
                )
    for label, population in network.populations.items():
        where = f"population '{label}'"
        if population.cell_type not in NODE_TYPES:
            reason = NO_NODE.get(population.cell_type, "NIR has no node for it")
            raise ValidationError(
                where,
                "cell_type",
                f"{population.cell_type} cannot be exported: {reason} "
                f"(NIR's neurons: {', '.join(NODE_TYPES.values())})",
            )
        if population.arithmetic is not None:
            raise ValidationError(
                where, "arithmetic", "a chip's integer arithmetic cannot be exported: NIR's neurons compute on reals"
            )
        if NODE_TYPES[population.cell_type] in READ_OUTS and any(
            projection.pre == label for projection in network.projections.values()
        ):
            raise ValidationError(
                where,
                "projections",
                f"{population.cell_type} never spikes, yet projects: a NIR {NODE_TYPES[population.cell_type]} node's "
                "output is its membrane potential, which no NIR edge from it would carry as spikes",
            )
        if isinstance(population.cell.synapse, ExponentialSynapse) and np.any(
            population.value("tau_syn_E") != population.value("tau_syn_I")
        ):
            raise ValidationError(
                where,
                "parameters.tau_syn_I",
                f"differs from tau_syn_E: NIR's {NODE_TYPES[population.cell_type]} has one synaptic time constant for "
                "both signs",
            )


def _weight_groups(network: Network) -> dict[tuple[str, str, int], np.ndarray]:
    """Per (pre, post, delay in ticks), the dense matrix (post x pre) of summed signed effective
    weights (the increments of the synaptic state per spike); groups that sum to zero everywhere are
    left out. The matrices' memory is refused before any is made."""
    semantics = network.semantics
    delays: dict[tuple[str, str], set] = {}
    for label, projection in network.projections.items():
        ticks = semantics.ticks(projection.delay, f"projection '{label}'", "delay", minimum=1)
        delays.setdefault((projection.pre, projection.post), set()).update(np.unique(ticks).tolist())
    entries = sum(len(d) * network.size_of(pre) * network.size_of(post) for (pre, post), d in delays.items())
    refuse_above_limit(
        entries * BYTES_PER_DENSE_WEIGHT,
        f"network '{network.name}'",
        None,
        f"NIR's dense weight matrices ({count_text(entries)} entries)",
    )
    groups = {}
    for label, projection in network.projections.items():
        population = network.populations[projection.post]
        connections = network.connections(label)
        sign = 1.0 if projection.receptor == "excitatory" else -1.0
        effective = sign * connections.weight * population.init_factor(projection.receptor, semantics)[connections.post]
        for delay in np.unique(connections.delay_ticks).tolist():
            chosen = connections.delay_ticks == delay
            key = (projection.pre, projection.post, delay)
            if key not in groups:
                groups[key] = np.zeros((population.size, network.size_of(projection.pre)))
            np.add.at(groups[key], (connections.post[chosen], connections.pre[chosen]), effective[chosen])
    return {key: matrix for key, matrix in sorted(groups.items(), key=_group_order(network)) if np.any(matrix)}


def _group_order(network: Network):
    """Groups in the order of their projections, delays ascending."""
    first = {}
    for projection in network.projections.values():
        first.setdefault((projection.pre, projection.post), len(first))
    return lambda item: (first[item[0][:2]], item[0][2])


def _nir_weights(population, effective: np.ndarray, semantics) -> np.ndarray:
    """The NIR weights whose import gives ``effective``: onto a delta synapse the tick's current itself; an
    exponential synapse's state reaches ``(1 - E_syn)`` of an input held over the tick."""
    if isinstance(population.cell.synapse, DeltaSynapse):
        return effective
    return effective / (1.0 - population.synaptic_decay("excitatory", semantics))[:, None]


def _starts_as_nir_does(population, semantics, biased: bool) -> bool:
    """Whether the population starts as the import of plain NIR starts it: v at v_leak (0 without leak),
    and a synaptic state that cancels the bias in the first tick (a bias arrives over an edge, one tick
    into the run), or none."""
    start = 0.0 if NODE_TYPES[population.cell_type] in LEAKLESS else population.value("v_rest")
    if not np.all(population.value("v") == start):
        return False
    offset = population.value("i_offset") if biased else np.zeros(population.size)
    if isinstance(population.cell.synapse, DeltaSynapse):
        offset = offset * semantics.dt  # a delta synapse's state is a charge
    return np.array_equal(population.value("isyn_exc") - population.value("isyn_inh"), -offset)


def _neuron_node(population, semantics):
    """The population's NIR neuron node (``NODE_TYPES``), one value per neuron, in NIR's seconds; its
    metadata holds what the node cannot."""
    cell, kind = population.cell, NODE_TYPES[population.cell_type]
    kept = {
        group: {name: _plain(getattr(cell, name)) for name in names if hasattr(cell, name)}
        for group, names in NEURON_METADATA.items()
    }
    shift = np.zeros(population.size)
    spiking = kind not in READ_OUTS
    if semantics.reset == "subtract" and spiking:
        shift = population.value("v_reset")
        kept["parameters"].update({name: _plain(getattr(cell, name)) for name in SHIFTED if hasattr(cell, name)})
    common = {"metadata": {METADATA_KEY: {"cell_type": population.cell_type, **kept}}}
    if spiking:
        common.update(v_threshold=population.value("v_thresh") - shift, v_reset=population.value("v_reset") - shift)
    nir = nir_package("writing NIR graphs")
    if kind in LEAKLESS:
        r = 1.0 / (population.value("cm") * SECONDS_PER_MS)
        return nir.IF(r=r, **common) if kind == "IF" else nir.I(r=r, **common)
    tau_m = population.value("tau_m")
    common.update(r=tau_m / population.value("cm"), v_leak=population.value("v_rest") - shift)
    if kind == "LIF":
        return nir.LIF(tau=tau_m * SECONDS_PER_MS, **common)
    if kind == "LI":
        return nir.LI(tau=tau_m * SECONDS_PER_MS, **common)
    synapse = {
        "tau_mem": tau_m * SECONDS_PER_MS,
        "tau_syn": population.value("tau_syn_E") * SECONDS_PER_MS,
        "w_in": np.ones(population.size),
    }
    return nir.CubaLIF(**synapse, **common) if kind == "CubaLIF" else nir.CubaLI(**synapse, **common)


def _plain(value):
    """A cell's value as metadata: a float, or one float64 per neuron."""
    return np.array(value, dtype=np.float64) if isinstance(value, np.ndarray) else float(value)


def _output_populations(network: Network, groups) -> list[str]:
    """The populations recorded for spikes, and the read-outs (which never spike) recorded; if none is,
    those no weight node leaves."""
    recorded = [
        label
        for label, variables in network.recordings.items()
        if label in network.populations
        and ("spikes" in variables or NODE_TYPES[network.populations[label].cell_type] in READ_OUTS)
    ]
    if recorded:
        return recorded
    feeding = {pre for pre, _, _ in groups}
    return [label for label in network.populations if label not in feeding]


def _graph_metadata(network: Network) -> dict:
    """The semantics, name, seed and duration: what the description has beyond nodes and edges."""
    metadata = {
        **{name: getattr(network.semantics, name) for name in SEMANTICS_METADATA},
        "synaptic_init": SYNAPTIC_INIT,
        "name": network.name,
        "seed": network.seed,
    }
    if network.duration is not None:
        metadata["duration"] = network.duration
    return metadata


def _stimulus(network: Network) -> dict[str, list[list[float]]]:
    return {label: [times.tolist() for times in source.spike_times] for label, source in network.spike_sources.items()}


class _Names:
    """Node names not yet taken (labels of populations and sources are taken by their nodes)."""

    def __init__(self, network: Network):
        self.taken = {*network.populations, *network.spike_sources}

    def new(self, wanted: str) -> str:
        name, number = wanted, 1
        while name in self.taken:
            number += 1
            name = f"{wanted} {number}"
        self.taken.add(name)
        return name
