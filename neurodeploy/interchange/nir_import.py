"""Reading a NIR graph (neuromorphs/NIR) as a network.

NIR's nodes are continuous-time ODEs in seconds with unitless values; they become cells in ms, mV, nA
and MOhm, stepped as the semantics block's ``discretization`` says (``exact`` or ``euler``):

- ``Input`` (top level): a spike source labelled with the node's name, one neuron per channel.
- ``LIF``: ``IF_curr_delta`` with ``tau_m = tau``, ``cm = tau_m / r``, ``v_rest = v_leak``, no refractory
  period. A weight ``w`` is the input ``w`` held over one tick: the charge ``w dt``. An ``Affine`` bias
  ``b`` is the constant current ``i_offset = b``.
- ``CubaLIF``: ``IF_curr_exp`` with ``tau_syn_E = tau_syn_I = tau_syn``; a weight ``w`` becomes the
  synaptic state reached by ``w_in w`` held over one tick, ``w_in w (1 - E_syn)`` (``E_syn`` the
  synapse's decay per tick); a bias ``b`` feeds the synapse every tick: ``i_offset = w_in b``.
- ``LI`` and ``CubaLI`` (read-outs: their output is the membrane potential, never a spike): ``LI_curr_delta``
  and ``LI_curr_exp``, mapped as ``LIF`` and ``CubaLIF`` without threshold and reset.
- ``IF`` (``dv/dt = r I``): ``PIF_curr_delta`` with ``cm = 1 / r`` (in ms: ``1e3 / r``), so a weight ``w``
  (the charge ``w dt``) moves V by ``r w dt`` under either discretization; no refractory period, v starts
  at 0. ``I`` (an integrator without threshold): ``PI_curr_delta`` likewise. Biases as for ``LIF``.
- A bias reaches its node over an edge as every input does, one tick after the run starts: an initial
  synaptic state cancels it in tick 0 (``isyn_exc = -b dt``, a charge, onto ``LIF``; ``-w_in b`` onto
  ``CubaLIF``, whose transient then starts in tick 1). So an imported network is its source's
  (snnTorch's step) one tick later per edge, from the first tick on. A bias delayed by a ``Delay`` node
  would start later still: refused.
- ``Affine``, ``Linear``, ``Scale``, ``Flatten``, ``Conv1d``, ``Conv2d``, ``SumPool2d``, ``AvgPool2d``
  and ``Delay`` between a source (an ``Input`` or a spiking node) and a spiking node compose into that
  pair's synapses: positive weights excitatory, negative ones inhibitory with their magnitude, zeros
  dropped. Every edge into a spiking node is one tick of delay; a ``Delay`` node adds its own.
- Subgraphs are flattened, their nodes named ``graph.node``; ``Output`` nodes are ignored.

A node neurodeploy has no cell for (``Threshold``), an edge out of a node that never spikes (``LI``,
``CubaLI``, ``I``: only an ``Output`` may follow them) and parameters it cannot express are errors naming
the node, never approximations.

The neurodeploy metadata a graph may carry (written by the export, read here as defaults):

- the graph's ``metadata[METADATA_KEY]``: a mapping with any of ``GRAPH_FIELDS``: the semantics block's
  fields as :meth:`Semantics.to_dict` writes them (``dt`` in ms), and the network's ``name``, ``seed``
  and ``duration`` (ms). The options given to :func:`read_graph` win over them.
- a spiking node's ``metadata[METADATA_KEY]``: a mapping with any of ``NODE_FIELDS``: ``cell_type`` (the
  cell type the node was exported from; it must be the one the node imports as), ``parameters`` and
  ``initial_values`` (names and units of the cell type, as ``Population.to_dict`` writes them, e.g.
  ``tau_refrac``, ``i_offset``). They replace the cell's fields the node gives, after the weights are
  converted (weights are converted with the node's own NIR values).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy import sparse

from neurodeploy.description import values
from neurodeploy.description.cells import IFCurrDelta, IFCurrExp, LICurrDelta, LICurrExp, PICurrDelta, PIFCurrDelta
from neurodeploy.description.connectors import FromList
from neurodeploy.description.network import Network, Population, Projection, SpikeSource
from neurodeploy.description.semantics import Semantics
from neurodeploy.errors import ValidationError
from neurodeploy.interchange import nir_package

METADATA_KEY = "neurodeploy"
GRAPH_FIELDS = (*Semantics.FIELDS, "name", "seed", "duration")
NODE_FIELDS = ("cell_type", "parameters", "initial_values")
NODE_CHECKED = ("tau_m", "cm", "tau_syn_E", "tau_syn_I")
"""Parameters a node's metadata keeps exactly that its NIR fields also give (in seconds and r)."""

DEFAULTS = {"threshold": ">", "reset": "to_v_reset", "discretization": "exact", "synaptic_init": "none"}
"""The semantics of an imported graph when neither the options nor its metadata say: snnTorch, Norse
and Lava spike on ``v > threshold``; NIR's neurons reset to ``v_reset``; arriving weights are not
scaled."""

MS_PER_SECOND = 1e3
V_RECORDING_LIMIT = 4096
"""Populations up to this many neurons have their membrane potential recorded too."""

REFUSED = {
    "Threshold": "a threshold without a membrane: neurodeploy's neurons all integrate their input",
}
SPIKING = ("LIF", "CubaLIF", "IF")
READ_OUTS = ("LI", "CubaLI", "I")
"""Neuron nodes whose output is their membrane potential: they never spike."""
NEURONS = (*SPIKING, *READ_OUTS)
SHAPE_FIELD = {"LIF": "v_threshold", "CubaLIF": "v_threshold", "IF": "v_threshold", "LI": "v_leak", "CubaLI": "v_leak"}
"""The parameter whose shape is a neuron node's (``I`` has only ``r``)."""
TRANSFORMS = ("Affine", "Linear", "Scale", "Flatten", "Delay", "Conv1d", "Conv2d", "SumPool2d", "AvgPool2d")


def read_graph(
    path,
    dt_ms: float | None = None,
    discretization: str | None = None,
    reset: str | None = None,
    threshold: str | None = None,
) -> Network:
    """The network a NIR file describes (see the module docstring). ``dt_ms`` is required unless the
    graph's metadata gives it; the other options default to the metadata's, then to ``DEFAULTS``."""
    graph = _read_file(Path(path))
    metadata = _neurodeploy_metadata(graph.metadata, f"NIR graph '{path}' metadata", GRAPH_FIELDS)
    given = {"dt": dt_ms, "discretization": discretization, "reset": reset, "threshold": threshold}
    fields = {
        **DEFAULTS,
        **{key: value for key, value in metadata.items() if key in Semantics.FIELDS},
        **{key: value for key, value in given.items() if value is not None},
    }
    if "dt" not in fields:
        raise ValidationError(
            "option --dt",
            None,
            f"is required for the NIR graph '{path}': NIR graphs carry no time step (and its metadata gives none)",
        )
    network = Network(
        metadata.get("name", Path(path).stem), Semantics(**fields), metadata.get("seed", 0), metadata.get("duration")
    )
    return _Import(network, *_flattened(graph, "", nir_package("reading NIR graphs"))).build()


def _read_file(path: Path):
    nir = nir_package("reading NIR graphs")
    if not path.is_file():
        raise ValidationError(f"NIR graph '{path}'", None, "no such file")
    try:
        return nir.read(path, type_check=False)  # the import checks every shape itself (nir's inference
        # takes a grouped convolution's input channels for its weight's)
    except Exception as error:  # the nir package reports a damaged file with whatever its readers raise
        text = (str(error).splitlines() or [""])[0][:200]
        raise ValidationError(f"NIR graph '{path}'", None, f"cannot be read: {type(error).__name__}: {text}") from None


def _plain(value):
    """A metadata value as JSON would hold it: HDF5 gives strings as bytes and lists as arrays."""
    if isinstance(value, bytes):
        return value.decode("utf8", "replace")
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return _plain(value.item()) if value.ndim == 0 else [_plain(item) for item in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _neurodeploy_metadata(metadata, where: str, allowed: tuple) -> dict:
    data = _plain((metadata or {}).get(METADATA_KEY, {}))
    if not isinstance(data, dict):
        raise ValidationError(where, METADATA_KEY, f"expected a mapping, got {values.describe(data)}")
    values.check_keys(data, allowed, f"{where} '{METADATA_KEY}'")
    return data


class _PassThrough:
    """A subgraph's ``Input`` or ``Output`` node once flattened: its signal goes through unchanged."""


def _flattened(graph, prefix: str, nir) -> tuple[dict, list]:
    """The graph's nodes by full name (subgraphs' inside, their names joined with '.') and its edges
    between them."""
    nodes, edges, entries, exits = {}, [], {}, {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            inner, inner_edges = _flattened(node, full + ".", nir)
            nodes.update(inner)
            edges += inner_edges
            for ends, kind in ((entries, nir.Input), (exits, nir.Output)):
                ends[full] = [f"{full}.{n}" for n, item in node.nodes.items() if isinstance(item, kind)]
                if len(ends[full]) != 1:
                    raise ValidationError(
                        f"NIR node '{full}'",
                        None,
                        f"a subgraph needs exactly one {kind.__name__} node, it has {len(ends[full])}",
                    )
        elif prefix and isinstance(node, (nir.Input, nir.Output)):
            nodes[full] = _PassThrough()
        else:
            nodes[full] = node
    for source, target in graph.edges:
        for name in (prefix + source, prefix + target):
            if name not in nodes and name not in entries:
                raise ValidationError(f"NIR edge {source} -> {target}", None, f"names no node '{name}'")
        edges += [
            (pre, post)
            for pre in exits.get(prefix + source, [prefix + source])
            for post in entries.get(prefix + target, [prefix + target])
        ]
    return nodes, edges


@dataclass
class _Signal:
    """What reaches a node: per (source, added delay in ticks), the sparse map from the source's neurons
    to this node's channels, and the constant bias of every channel; ``shape`` the channels' shape."""

    shape: tuple
    paths: dict
    bias: np.ndarray

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def mapped(self, matrix, shape, bias=None) -> "_Signal":
        """Through the linear map ``matrix`` (output channels x these channels), plus ``bias``."""
        out = matrix @ self.bias
        return _Signal(
            tuple(shape),
            {key: (matrix @ path).tocsr() for key, path in self.paths.items()},
            out if bias is None else out + bias,
        )


class _Import:
    def __init__(self, network: Network, nodes: dict, edges: list):
        self.network, self.nodes, self.edges = network, nodes, edges
        self.nir = nir_package("reading NIR graphs")
        self.incoming = {name: [] for name in nodes}
        for pre, post in edges:
            self.incoming[post].append(pre)
        self.signals, self.visiting = {}, set()

    def build(self) -> Network:
        for name, node in self.nodes.items():
            kind = type(node).__name__
            if kind in REFUSED:
                raise ValidationError(f"NIR node '{name}'", None, f"{kind} is {REFUSED[kind]}")
            if not isinstance(node, _PassThrough) and kind not in (*NEURONS, *TRANSFORMS, "Input", "Output"):
                raise ValidationError(
                    f"NIR node '{name}'",
                    None,
                    f"{kind} nodes cannot be imported (supported: Input, Output, {', '.join((*NEURONS, *TRANSFORMS))}, "
                    "subgraphs)",
                )
            if kind == "Input":
                if self.incoming[name]:
                    raise ValidationError(f"NIR node '{name}'", None, "an Input node has no incoming edges")
                self.network.add(SpikeSource(name, self._shape_size(name), [[] for _ in range(self._shape_size(name))]))
        neurons = [name for name, node in self.nodes.items() if type(node).__name__ in NEURONS]
        for name in neurons:
            signal = self._input_of(name)
            self._add_population(name, signal)
        for name in neurons:
            self._add_projections(name, self._input_of(name))
        for name in neurons:
            size = self.network.populations[name].size
            if type(self.nodes[name]).__name__ in READ_OUTS:  # their output is v, whatever their size
                self.network.record(name, ("v",))
            else:
                self.network.record(name, ("spikes", "v") if size <= V_RECORDING_LIMIT else ("spikes",))
        return self.network.validate()

    # --- shapes and signals --------------------------------------------------------------------

    def _where(self, name: str) -> str:
        return f"NIR node '{name}'"

    def _shape_of(self, name: str) -> tuple:
        """The shape of a node's neurons: an Input's declared shape, a neuron node's parameters'."""
        node = self.nodes[name]
        kind = type(node).__name__
        if kind == "Input":
            shape = node.input_type.get("input")
        else:
            shape = np.shape(getattr(node, SHAPE_FIELD.get(kind, "r")))
        shape = tuple(int(n) for n in np.atleast_1d(shape)) if shape is not None else ()
        if not shape or min(shape) < 1:
            raise ValidationError(self._where(name), "shape", f"needs a positive shape, got {shape}")
        return shape

    def _shape_size(self, name: str) -> int:
        return int(np.prod(self._shape_of(name)))

    def _input_of(self, name: str) -> _Signal:
        """The sum of the signals on the node's incoming edges."""
        signals = [self._output_of(pre) for pre in self.incoming[name]]
        if not signals:
            return None
        total = signals[0]
        paths, bias = dict(total.paths), total.bias.copy()
        for pre, signal in zip(self.incoming[name][1:], signals[1:]):
            if signal.size != total.size:
                raise ValidationError(
                    self._where(name),
                    "input",
                    f"its inputs disagree in size: {signal.size} from '{pre}', {total.size} from "
                    f"'{self.incoming[name][0]}'",
                )
            for key, path in signal.paths.items():
                paths[key] = paths[key] + path if key in paths else path
            bias = bias + signal.bias
        return _Signal(total.shape, paths, bias)

    def _output_of(self, name: str) -> _Signal:
        node = self.nodes[name]
        kind = type(node).__name__
        if kind in READ_OUTS:
            raise ValidationError(
                self._where(name),
                None,
                f"a {kind} node never spikes (its output is its membrane potential): only an Output node may follow it",
            )
        if kind in ("Input", *SPIKING):
            size = self._shape_size(name)
            return _Signal(self._shape_of(name), {(name, 0): sparse.identity(size, format="csr")}, np.zeros(size))
        if kind == "Output":
            raise ValidationError(self._where(name), None, "an Output node has no outgoing edges")
        if name in self.signals:
            return self.signals[name]
        if name in self.visiting:
            raise ValidationError(self._where(name), None, "is on a loop without a spiking node (an algebraic loop)")
        self.visiting.add(name)
        signal = self._input_of(name)
        if signal is None:
            raise ValidationError(self._where(name), None, "has no input: no edge leads into it")
        self.signals[name] = self._transform(name, node, signal)
        self.visiting.discard(name)
        return self.signals[name]

    # --- transforms -----------------------------------------------------------------------------

    def _array(self, name: str, field: str, value) -> np.ndarray:
        array = np.asarray(value, dtype=np.float64)
        if not np.all(np.isfinite(array)):
            raise ValidationError(self._where(name), field, "has a value that is not finite")
        return array

    def _expect_size(self, name: str, signal: _Signal, size: int, what: str):
        if signal.size != size:
            raise ValidationError(
                self._where(name), "input", f"{what} takes {size} channels, its input has {signal.size}"
            )

    def _transform(self, name: str, node, signal: _Signal) -> _Signal:
        kind = type(node).__name__
        if isinstance(node, _PassThrough):
            return signal
        if kind in ("Affine", "Linear"):
            weight = self._array(name, "weight", node.weight)
            if weight.ndim != 2:
                raise ValidationError(self._where(name), "weight", f"expected a matrix, got shape {weight.shape}")
            self._expect_size(name, signal, weight.shape[1], f"its weight matrix {weight.shape}")
            bias = None
            if kind == "Affine":
                bias = self._array(name, "bias", node.bias)
                if bias.shape not in ((weight.shape[0],), ()):
                    raise ValidationError(
                        self._where(name), "bias", f"shape {bias.shape} does not fit {weight.shape[0]} outputs"
                    )
                bias = np.broadcast_to(bias, (weight.shape[0],))
            return signal.mapped(sparse.csr_matrix(weight), (weight.shape[0],), bias)
        if kind == "Scale":
            scale = self._per_channel(name, "scale", node.scale, signal)
            return signal.mapped(sparse.diags(scale, format="csr"), signal.shape)
        if kind == "Flatten":
            declared = node.input_type.get("input")
            if declared is not None and int(np.prod(declared)) != signal.size:
                raise ValidationError(
                    self._where(name),
                    "input_type",
                    f"declares {int(np.prod(declared))} channels, its input has {signal.size}",
                )
            return _Signal((signal.size,), signal.paths, signal.bias)
        if kind == "Delay":
            return self._delayed(name, node, signal)
        if kind in ("Conv1d", "Conv2d"):
            return self._convolution(name, node, signal)
        return self._pooling(name, node, signal)

    def _per_channel(self, name: str, field: str, value, signal: _Signal) -> np.ndarray:
        array = self._array(name, field, value)
        if array.size not in (1, signal.size):
            raise ValidationError(
                self._where(name), field, f"has {array.size} values, its input has {signal.size} channels"
            )
        return np.broadcast_to(array.reshape(-1), (signal.size,))

    def _delayed(self, name: str, node, signal: _Signal) -> _Signal:
        """Each channel's paths move to a later delay class."""
        delay = self._per_channel(name, "delay", node.delay, signal)
        ticks = self.network.semantics.ticks(delay * MS_PER_SECOND, self._where(name), "delay")
        if np.any(signal.bias[ticks > 0] != 0):
            raise ValidationError(
                self._where(name),
                "delay",
                "delays a bias: a constant input that starts later than one tick into the run cannot be expressed "
                "(put the Affine with the bias after the Delay)",
            )
        paths = {}
        for (source, before), path in signal.paths.items():
            for extra in np.unique(ticks):
                rows = sparse.diags((ticks == extra).astype(np.float64), format="csr") @ path
                rows.eliminate_zeros()
                if rows.nnz:
                    key = (source, before + int(extra))
                    paths[key] = paths[key] + rows if key in paths else rows
        return _Signal(signal.shape, paths, signal.bias)

    def _convolution(self, name: str, node, signal: _Signal) -> _Signal:
        weight = self._array(name, "weight", node.weight)
        dimensions = weight.ndim - 2
        if dimensions != (1 if type(node).__name__ == "Conv1d" else 2):
            raise ValidationError(self._where(name), "weight", f"has shape {weight.shape}")
        groups = int(node.groups)
        channels_in = weight.shape[1] * groups
        if groups < 1 or weight.shape[0] % groups:
            raise ValidationError(self._where(name), "groups", f"{groups} does not divide {weight.shape[0]} outputs")
        spatial = self._spatial_shape(name, node.input_shape, signal, channels_in, dimensions)
        bias = np.broadcast_to(self._array(name, "bias", node.bias), (weight.shape[0],))
        matrix, out_shape = _convolution_matrix(
            weight,
            spatial,
            _pair(node.stride, dimensions),
            _padding(node.padding, weight.shape[2:], _pair(node.dilation, dimensions), dimensions),
            _pair(node.dilation, dimensions),
            groups,
        )
        return signal.mapped(matrix, out_shape, np.repeat(bias, int(np.prod(out_shape[1:]))))

    def _spatial_shape(self, name, declared, signal: _Signal, channels: int, dimensions: int) -> tuple:
        """The input's spatial shape: the node's ``input_shape`` if it gives one, else its input's."""
        if declared is not None:
            spatial = tuple(int(n) for n in np.atleast_1d(declared))
        elif len(signal.shape) == dimensions + 1:
            spatial = tuple(signal.shape[1:])
        else:
            raise ValidationError(
                self._where(name),
                "input_shape",
                f"needs the spatial shape of its input, which has shape {signal.shape}",
            )
        self._expect_size(name, signal, channels * int(np.prod(spatial)), f"input ({channels}, {spatial})")
        return spatial

    def _pooling(self, name: str, node, signal: _Signal) -> _Signal:
        """A pooling is a convolution of each channel with a kernel of ones (SumPool2d) or of
        1 / its size (AvgPool2d, padding counted)."""
        kernel = _pair(node.kernel_size, 2)
        declared = node.input_type.get("input") if node.input_type else None
        shape = tuple(int(n) for n in np.atleast_1d(declared)) if declared is not None else signal.shape
        if len(shape) != 3:
            raise ValidationError(
                self._where(name), "input_type", f"needs its input's (channels, height, width), got {shape}"
            )
        channels = shape[0]
        self._expect_size(name, signal, int(np.prod(shape)), f"input {shape}")
        value = 1.0 if type(node).__name__ == "SumPool2d" else 1.0 / (kernel[0] * kernel[1])
        matrix, out_shape = _convolution_matrix(
            np.full((channels, 1, *kernel), value),
            shape[1:],
            _pair(node.stride, 2),
            tuple((p, p) for p in _pair(node.padding, 2)),
            (1, 1),
            channels,
        )
        return signal.mapped(matrix, out_shape)

    # --- populations and projections ----------------------------------------------------------

    def _parameters(self, name: str, node, names: tuple) -> dict:
        """The node's NIR parameters as float64 arrays of the node's size."""
        size = self._shape_size(name)
        arrays = {}
        for field in names:
            array = self._array(name, field, getattr(node, field))
            if array.size not in (1, size):
                raise ValidationError(self._where(name), field, f"has {array.size} values for {size} neurons")
            arrays[field] = np.broadcast_to(array.reshape(-1), (size,)).astype(np.float64)
        for field in ("tau", "tau_mem", "tau_syn", "r"):
            if field in arrays and np.any(arrays[field] <= 0):
                raise ValidationError(self._where(name), field, "must be positive")
        if self.network.semantics.reset == "subtract" and "v_reset" in arrays and np.any(arrays["v_reset"] != 0):
            raise ValidationError(
                self._where(name),
                "v_reset",
                "reset by subtraction lowers v by v_threshold (NIR's v_reset is then 0), but this node resets to "
                f"{_compact(arrays['v_reset'])}: use reset 'to_v_reset'",
            )
        return arrays

    def _add_population(self, name: str, signal: _Signal | None):
        node = self.nodes[name]
        size = self._shape_size(name)
        bias = signal.bias if signal is not None else np.zeros(size)
        if signal is not None and signal.size != size:
            raise ValidationError(
                self._where(name), "input", f"has {size} neurons, its input has {signal.size} channels"
            )
        cell = self._cell(name, node, bias)
        population = Population(name, size, cell=cell)
        metadata = _neurodeploy_metadata(node.metadata, f"{self._where(name)} metadata", NODE_FIELDS)
        if metadata.get("cell_type", cell.name) != cell.name:
            raise ValidationError(
                f"{self._where(name)} metadata",
                "cell_type",
                f"says {metadata['cell_type']!r}, but a {type(node).__name__} node imports as {cell.name}",
            )
        self._check_against_node(name, cell, metadata.get("parameters", {}))
        if metadata.get("parameters") or metadata.get("initial_values"):
            population = Population(
                name,
                size,
                cell=replace(
                    cell,
                    **cell.named_values(
                        metadata.get("parameters", {}), metadata.get("initial_values", {}), self._where(name)
                    ),
                ),
            )
        self.network.add(population)

    def _check_against_node(self, name: str, cell, parameters: dict):
        """Metadata restores a value the node also gives only when both agree (to float64 rounding: the
        node holds it in seconds): a graph edited after its export is refused, not silently overridden."""
        for field in NODE_CHECKED:
            if field not in parameters or not hasattr(cell, field):
                continue
            kept = np.asarray(parameters[field], dtype=np.float64)
            given = np.asarray(getattr(cell, field), dtype=np.float64)
            try:
                agree = bool(np.allclose(kept, given, rtol=1e-12, atol=0.0))
            except ValueError:  # shapes that do not broadcast
                agree = False
            if not agree:
                raise ValidationError(
                    f"{self._where(name)} metadata",
                    f"parameters.{field}",
                    f"differs from the node's own value ({_shown(kept)} vs {_shown(given)}): the graph was changed "
                    "after neurodeploy wrote it; remove the node's neurodeploy metadata to import the node as it is",
                )

    def _cell(self, name: str, node, bias: np.ndarray):
        """The node's cell (see the module docstring), ``bias`` its constant input per neuron."""
        kind = type(node).__name__
        charge = _compact(-bias * self.network.semantics.dt)  # the bias's first tick cancelled, as a charge
        if kind in ("LIF", "LI"):
            fields = ("tau", "r", "v_leak") + (("v_threshold", "v_reset") if kind == "LIF" else ())
            p = self._parameters(name, node, fields)
            tau_m = p["tau"] * MS_PER_SECOND
            membrane = {"tau_m": _compact(tau_m), "cm": _compact(tau_m / p["r"]), "v_rest": _compact(p["v_leak"])}
            if kind == "LI":
                return LICurrDelta(**membrane, i_offset=_compact(bias), isyn_exc=charge)
            return IFCurrDelta(
                **membrane,
                v_thresh=_compact(p["v_threshold"]),
                v_reset=_compact(p["v_reset"]),
                tau_refrac=0.0,
                i_offset=_compact(bias),
                isyn_exc=charge,
            )
        if kind in ("IF", "I"):
            p = self._parameters(name, node, ("r", "v_threshold", "v_reset") if kind == "IF" else ("r",))
            cm = _compact(MS_PER_SECOND / p["r"])
            if kind == "I":
                return PICurrDelta(cm=cm, i_offset=_compact(bias), isyn_exc=charge, v=0.0)
            return PIFCurrDelta(
                cm=cm,
                v_thresh=_compact(p["v_threshold"]),
                v_reset=_compact(p["v_reset"]),
                tau_refrac=0.0,
                i_offset=_compact(bias),
                isyn_exc=charge,
                v=0.0,
            )
        fields = ("tau_syn", "tau_mem", "r", "v_leak", "w_in") + (
            ("v_threshold", "v_reset") if kind == "CubaLIF" else ()
        )
        p = self._parameters(name, node, fields)
        tau_m, tau_syn = p["tau_mem"] * MS_PER_SECOND, p["tau_syn"] * MS_PER_SECOND
        current = p["w_in"] * bias
        common = {
            "tau_m": _compact(tau_m),
            "cm": _compact(tau_m / p["r"]),
            "tau_syn_E": _compact(tau_syn),
            "tau_syn_I": _compact(tau_syn),
            "v_rest": _compact(p["v_leak"]),
            "i_offset": _compact(current),
            "isyn_exc": _compact(-current),
        }
        if kind == "CubaLI":
            return LICurrExp(**common)
        return IFCurrExp(**common, v_thresh=_compact(p["v_threshold"]), v_reset=_compact(p["v_reset"]), tau_refrac=0.0)

    def _synaptic_decay(self, name: str, tau_syn_ms: np.ndarray) -> np.ndarray:
        self.network.semantics.check_time_constant(tau_syn_ms, self._where(name), "tau_syn")
        return self.network.semantics.decay(tau_syn_ms)

    def _weight_scale(self, name: str) -> np.ndarray:
        """Per post neuron, the description's weight for a NIR weight of 1 (see the module docstring)."""
        node = self.nodes[name]
        size = self._shape_size(name)
        if type(node).__name__ not in ("CubaLIF", "CubaLI"):  # delta synapses: the charge of the tick
            return np.full(size, self.network.semantics.dt)
        p = self._parameters(name, node, ("tau_syn", "w_in"))
        tau_syn = self.network.populations[name].value("tau_syn_E")  # the node's, or its metadata's exact one
        return p["w_in"] * (1.0 - self._synaptic_decay(name, tau_syn))

    def _add_projections(self, name: str, signal: _Signal | None):
        if signal is None:
            return
        scale = self._weight_scale(name)
        dt = self.network.semantics.dt
        for (source, extra), path in sorted(signal.paths.items()):
            matrix = sparse.diags(scale, format="csr") @ path
            matrix = matrix.tocoo()
            for receptor, keep in (("excitatory", matrix.data > 0), ("inhibitory", matrix.data < 0)):
                if not np.any(keep):
                    continue
                label = f"{source}->{name}" + (f" +{extra} ticks" if extra else "")
                label += " inhibitory" if receptor == "inhibitory" else ""
                self.network.add(
                    Projection(
                        label,
                        source,
                        name,
                        FromList(matrix.col[keep].astype(np.int64), matrix.row[keep].astype(np.int64)),
                        weight=np.abs(matrix.data[keep]),
                        delay=(1 + extra) * dt,
                        receptor=receptor,
                    )
                )


def _shown(array: np.ndarray) -> str:
    """A value for a message: the number, or the first of several."""
    value = _compact(array)
    return f"{value:g}" if isinstance(value, float) else f"{value.flat[0]:g}, ... ({value.size} values)"


def _compact(array: np.ndarray):
    """A scalar when every neuron has the same value, else the array."""
    array = np.asarray(array, dtype=np.float64)
    return float(array.flat[0]) if array.size and np.all(array == array.flat[0]) else array


def _pair(value, dimensions: int) -> tuple:
    array = np.atleast_1d(np.asarray(value)).astype(np.int64)
    return tuple(int(n) for n in np.broadcast_to(array, (dimensions,)))


def _padding(padding, kernel: tuple, dilation: tuple, dimensions: int) -> tuple:
    """(before, after) per spatial dimension; 'same' pads as PyTorch does (the extra one after)."""
    if isinstance(padding, (str, bytes)):
        padding = padding.decode() if isinstance(padding, bytes) else padding
        if padding == "valid":
            return ((0, 0),) * dimensions
        total = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple((t // 2, t - t // 2) for t in total)
    return tuple((p, p) for p in _pair(padding, dimensions))


def _convolution_matrix(weight, spatial, stride, padding, dilation, groups) -> tuple:
    """The sparse map (outputs x inputs, both flattened channel-first) of a PyTorch convolution
    (cross-correlation) with ``weight`` (C_out, C_in / groups, *kernel), and the output's shape."""
    channels_out, channels_group = weight.shape[:2]
    kernel = weight.shape[2:]
    out_spatial = tuple(
        (n + before + after - d * (k - 1) - 1) // s + 1
        for n, (before, after), d, k, s in zip(spatial, padding, dilation, kernel, stride)
    )
    if min(out_spatial) < 1:
        return sparse.csr_matrix((0, channels_group * groups * int(np.prod(spatial)))), (channels_out, *out_spatial)
    grids = np.meshgrid(
        np.arange(channels_out),
        *(np.arange(n) for n in out_spatial),
        np.arange(channels_group),
        *(np.arange(k) for k in kernel),
        indexing="ij",
    )
    dims = len(spatial)
    out_channel, outs, group_channel, taps = grids[0], grids[1 : 1 + dims], grids[1 + dims], grids[2 + dims :]
    positions = [o * s - before + t * d for o, s, (before, _), t, d in zip(outs, stride, padding, taps, dilation)]
    inside = np.logical_and.reduce([(p >= 0) & (p < n) for p, n in zip(positions, spatial)])
    in_channel = (out_channel // (channels_out // groups)) * channels_group + group_channel
    pre = np.ravel_multi_index(
        (in_channel[inside], *(p[inside] for p in positions)), (channels_group * groups, *spatial)
    )
    post = np.ravel_multi_index((out_channel[inside], *(o[inside] for o in outs)), (channels_out, *out_spatial))
    values_ = weight[(out_channel[inside], group_channel[inside], *(t[inside] for t in taps))]
    shape = (channels_out * int(np.prod(out_spatial)), channels_group * groups * int(np.prod(spatial)))
    return sparse.csr_matrix((values_, (post, pre)), shape=shape), (channels_out, *out_spatial)


def latencies(network: Network) -> dict[str, int]:
    """Per population reached from a spike source, the fewest ticks a spike takes from any spike source to
    it (the sum of the smallest delays along the way)."""
    edges = {}
    for projection in network.projections.values():
        ticks = network.connections(projection.label).delay_ticks
        delay = int(ticks.min()) if ticks.size else np.iinfo(np.int64).max
        key = (projection.pre, projection.post)
        edges[key] = min(edges.get(key, delay), delay)
    queue = [(0, label) for label in network.spike_sources]
    best = {label: 0 for label in network.spike_sources}
    while queue:
        ticks, label = heapq.heappop(queue)
        if ticks > best.get(label, ticks):
            continue
        for (pre, post), delay in edges.items():
            if pre == label and ticks + delay < best.get(post, np.inf):
                best[post] = ticks + delay
                heapq.heappush(queue, (ticks + delay, post))
    return {label: ticks for label, ticks in best.items() if label in network.populations}


def latency_report(network: Network) -> list[str]:
    """One line per population: how many ticks after its inputs it can first respond."""
    found = latencies(network)
    return [
        f"latency {label}: "
        + (
            f"{found[label]} tick{'s' if found[label] != 1 else ''} from the inputs"
            if label in found
            else "no input reaches it"
        )
        for label in network.populations
    ]
