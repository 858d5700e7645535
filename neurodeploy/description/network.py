"""A network: populations, spike sources, projections, recordings and the semantics that give them
meaning. Objects validate themselves when made; :meth:`Network.validate` checks what needs the whole
network (labels, sizes, index ranges, delays against dt)."""

from __future__ import annotations

import itertools
import zlib
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from neurodeploy.description import values
from neurodeploy.description.cells import (
    CELL_TYPES,
    Accumulator,
    CellType,
    FixedPointIzhikevich,
    FixedPointLIF,
    implausible_text,
    membrane_arithmetic,
)
from neurodeploy.description.connectors import Connector, connector_from_dict
from neurodeploy.description.currents import CurrentInjection, CurrentSource
from neurodeploy.description.plasticity import STDP
from neurodeploy.description.resources import (
    BYTES_PER_GENERATED_SYNAPSE,
    BYTES_PER_NEURON_VALUE,
    count_text,
    refuse_above_limit,
    synapse_count,
)
from neurodeploy.description.schedule import ParameterChange, Stage, WeightChange, change_from_dict
from neurodeploy.description.semantics import MAX_TICKS, Semantics
from neurodeploy.description.structural import (
    STRUCTURAL_RULES,
    CoincidenceWiring,
    Synaptogenesis,
    check_projection,
    structural_from_dict,
)
from neurodeploy.description.turnover import NeuronTurnover, check_turnover
from neurodeploy.errors import ValidationError

FORMAT = "neurodeploy.network"
FORMAT_VERSION = 1
RECEPTORS = ("excitatory", "inhibitory")


@dataclass(eq=False, init=False)
class Population:
    """``size`` neurons of one cell type: ``cell`` is a typed cell (:mod:`.cells`) whose fields are
    scalars or one value per neuron, in the cell type's units; missing ones take the cell type's defaults
    (a default naming another field, as ``v`` naming ``v_rest``, is resolved once, when the cell is made).
    It is made from a cell (``cell=``, or in place of ``cell_type``), or from a cell type's name with
    ``parameters`` and ``initial_values`` mappings (the serialized form), IF_curr_exp when neither is
    given; :func:`dataclasses.replace` makes a changed copy, checked again.

    ``synaptic_init`` (optional, per receptor, a scalar or one value per neuron) replaces the factor the
    cell's synapse part gives arriving weights: a reference run on a target's exact numbers sets it (the
    targets compute their own and refuse it). ``arithmetic`` (optional: :class:`FixedPointLIF`,
    :class:`Accumulator` or :class:`FixedPointIzhikevich`) declares that the neurons compute on a chip's
    integers, for the same use."""

    label: str
    size: int
    cell: CellType
    synaptic_init: dict | None = None
    arithmetic: FixedPointLIF | Accumulator | FixedPointIzhikevich | None = None

    FIELDS = ("label", "size", "cell_type", "parameters", "initial_values", "synaptic_init", "arithmetic")

    def __init__(
        self,
        label: str,
        size: int,
        cell_type: str | CellType | None = None,
        parameters: dict | None = None,
        initial_values: dict | None = None,
        synaptic_init: dict | None = None,
        arithmetic=None,
        *,
        cell: CellType | None = None,
    ):
        self.label = values.label(label, "population")
        where = f"population '{self.label}'"
        self.size = values.integer(size, where, "size", minimum=1)
        if cell is not None and cell_type is not None:
            raise ValidationError(where, "cell_type", "give a cell type's name or a cell, not both")
        cell = ("IF_curr_exp" if cell_type is None else cell_type) if cell is None else cell
        if not isinstance(cell, CellType):
            cell = CELL_TYPES[values.choice(cell, tuple(CELL_TYPES), where, "cell_type")]()
        cell = replace(
            cell,
            **cell.named_values(
                {} if parameters is None else parameters, {} if initial_values is None else initial_values, where
            ),
        )
        refuse_above_limit(
            self.size * len(cell.specs()) * BYTES_PER_NEURON_VALUE, where, "size", f"{count_text(self.size)} neurons"
        )
        self.cell = cell.checked(where, self.size)
        self.synaptic_init = synaptic_init
        self.arithmetic = arithmetic
        if self.synaptic_init is not None:
            values.check_keys(self.synaptic_init, self.cell.receptors, f"{where} synaptic_init")
            self.synaptic_init = {
                receptor: values.number_or_array(value, None, where, f"synaptic_init.{receptor}", self.size)
                for receptor, value in self.synaptic_init.items()
            }
            for receptor, value in self.synaptic_init.items():
                values.check_range(value, where, f"synaptic_init.{receptor}", "", above=0)
        if self.arithmetic is not None:
            self.arithmetic = membrane_arithmetic(self.arithmetic, where)
            self.arithmetic.validate(where, self)

    @property
    def cell_type(self) -> str:
        return self.cell.name

    @property
    def parameters(self) -> dict:
        return self.cell.parameters

    @property
    def initial_values(self) -> dict:
        return self.cell.initial_values

    def value(self, name: str) -> np.ndarray:
        """A parameter or initial value as one float64 per neuron."""
        return self.per_neuron(getattr(self.cell, name))

    def per_neuron(self, value) -> np.ndarray:
        """A scalar or one value per neuron as one float64 per neuron."""
        return np.broadcast_to(np.asarray(value, dtype=np.float64), (self.size,)).copy()

    def init_factor(self, receptor: str, semantics) -> np.ndarray:
        """The factor arriving weights on ``receptor`` are scaled by, one per neuron: ``synaptic_init``'s
        if given, else the cell's synapse part's."""
        if self.synaptic_init is not None and receptor in self.synaptic_init:
            return self.per_neuron(self.synaptic_init[receptor])
        return self.per_neuron(self.cell.synapse.init_factor(self.cell, receptor, semantics))

    def synaptic_decay(self, receptor: str, semantics) -> np.ndarray:
        """The synaptic state's factor at the end of a tick (the synapse part's), one per neuron."""
        return self.per_neuron(self.cell.synapse.decay(self.cell, receptor, semantics))

    def initial_input(self, receptor: str, semantics) -> np.ndarray:
        """The synaptic state the first tick starts from (the synapse part's, from the initial values)."""
        return self.per_neuron(self.cell.synapse.initial_input(self.cell, receptor, semantics))

    def to_dict(self) -> dict:
        data = {
            "label": self.label,
            "size": self.size,
            "cell_type": self.cell_type,
            "parameters": {k: values.to_plain(v) for k, v in self.parameters.items()},
            "initial_values": {k: values.to_plain(v) for k, v in self.initial_values.items()},
        }
        if self.synaptic_init is not None:
            data["synaptic_init"] = {k: values.to_plain(v) for k, v in self.synaptic_init.items()}
        if self.arithmetic is not None:
            data["arithmetic"] = self.arithmetic.to_dict()
        return data


@dataclass(eq=False)
class SpikeSource:
    """``size`` neurons that fire at given times: ``spike_times[i]`` lists neuron ``i``'s times (ms,
    strictly increasing, multiples of dt). A time ``t`` fires in tick ``t / dt``."""

    label: str
    size: int
    spike_times: list = field(default_factory=list)

    FIELDS = ("label", "size", "spike_times")
    recordables = ("spikes",)

    def __post_init__(self):
        self.label = values.label(self.label, "spike source")
        where = f"spike source '{self.label}'"
        self.size = values.integer(self.size, where, "size", minimum=1)
        if isinstance(self.spike_times, (list, tuple)):
            spikes = sum(len(times) for times in self.spike_times if isinstance(times, (list, tuple, np.ndarray)))
            refuse_above_limit(
                (self.size + spikes) * BYTES_PER_NEURON_VALUE, where, "spike_times", f"{count_text(spikes)} spike times"
            )
        self.spike_times = checked_spike_times(self.spike_times, self.size, where)

    def to_dict(self) -> dict:
        return {"label": self.label, "size": self.size, "spike_times": [t.tolist() for t in self.spike_times]}


def checked_spike_times(spike_times, size: int, where: str) -> list[np.ndarray]:
    """One strictly increasing, finite, non-negative float64 array per neuron."""
    if not isinstance(spike_times, (list, tuple)):
        raise ValidationError(where, "spike_times", "expected one list of times (ms) per neuron")
    if len(spike_times) != size:
        raise ValidationError(where, "spike_times", f"has {len(spike_times)} lists but there are {size} neurons")
    fast = _plain_spike_times(spike_times)
    if fast is not None:
        return fast
    checked = []
    for index, times in enumerate(spike_times):
        field_name = f"spike_times[{index}]"
        if not isinstance(times, (list, tuple, np.ndarray)):
            raise ValidationError(where, field_name, f"expected a list of times (ms), got {times!r}")
        array = values.number_or_array(times if isinstance(times, np.ndarray) else list(times), "ms", where, field_name)
        values.check_range(array, where, field_name, "ms", at_least=0)
        if np.any(np.diff(array) <= 0):
            bad = int(np.argmax(np.diff(array) <= 0))
            raise ValidationError(
                where, field_name, f"times must be strictly increasing ({array[bad]:g} then {array[bad + 1]:g})"
            )
        checked.append(array)
    return checked


def _check_one_spike_per_tick(ticks: np.ndarray, trains: list, first: int, where: str):
    """A neuron fires at most once in a tick (``ticks``: the trains' times in ticks, concatenated): two
    times within one tick would be one spike on some backends and two on others."""
    ends = np.cumsum([len(times) for times in trains])
    repeated = np.diff(ticks) == 0
    boundaries = ends[:-1] - 1  # the step from one train's last time to the next train's first
    repeated[boundaries[(boundaries >= 0) & (boundaries < repeated.size)]] = False
    if np.any(repeated):
        position = int(np.argmax(repeated))
        index = int(np.searchsorted(ends, position, side="right"))
        raise ValidationError(
            where,
            f"spike_times[{first + index}]",
            f"two times in tick {int(ticks[position])} (a neuron fires at most once per tick)",
        )


def _groups_of_spikes(trains, spikes_per_group: int = 1 << 20):
    """(index of the first train, trains) in groups of about ``spikes_per_group`` spikes: checks of many
    trains at once, with temporaries of bounded size."""
    first, group, count = 0, [], 0
    for index, times in enumerate(trains):
        group.append(times)
        count += len(times)
        if count >= spikes_per_group:
            yield first, group
            first, group, count = index + 1, [], 0
    if group:
        yield first, group


def _plain_spike_times(spike_times) -> list[np.ndarray] | None:
    """The checked trains, vectorized, when every train is a list of plain numbers, or every train a flat
    numpy array of numbers, that pass the checks; None otherwise (the per-neuron check then names the
    first fault)."""
    arrays = all(type(times) is np.ndarray and times.ndim == 1 and times.dtype.kind in "iuf" for times in spike_times)
    if not arrays and not all(type(times) is list for times in spike_times):
        return None
    lengths = np.fromiter(map(len, spike_times), dtype=np.int64, count=len(spike_times))
    if arrays:
        flat = np.concatenate([np.empty(0), *spike_times]).astype(np.float64, copy=False)
    else:
        flat_items = itertools.chain.from_iterable(spike_times)
        if any(type(value) is not float and type(value) is not int for value in flat_items):
            return None
        try:
            flat = np.fromiter(itertools.chain.from_iterable(spike_times), dtype=np.float64, count=int(lengths.sum()))
        except OverflowError:  # an integer past the float range: named by the per-neuron check
            return None
    ends = np.cumsum(lengths)
    steps = np.diff(flat)
    steps[ends[:-1][(lengths[:-1] > 0) & (ends[:-1] < flat.size)] - 1] = np.inf  # across trains: no order
    if not (np.all(np.isfinite(flat)) and np.all(flat >= 0) and np.all(steps > 0)):
        return None
    return [flat[end - length : end] if length else _NO_SPIKES for end, length in zip(ends.tolist(), lengths.tolist())]


_NO_SPIKES = np.empty(0, dtype=np.float64)
_NO_SPIKES.flags.writeable = False  # shared by every silent train


class DelayTicks(NamedTuple):
    """Delays given as whole ticks of ``dt`` ms, one integer per connection: a projection holds them so (four
    bytes a synapse, the ticks its network's connections use when their dt is ``dt``) and makes their times
    in ms, ``ticks * dt``, only where they are read."""

    ticks: np.ndarray
    dt: float


@dataclass(eq=False)
class Projection:
    """Connections from ``pre`` to ``post`` (populations or spike sources; ``post`` a population).

    ``pre_slice`` / ``post_slice`` (``[start, stop)``) restrict either side to a contiguous view;
    connector indices are local to the views. ``weight`` (in the post cell's weight unit, nA or uS;
    non-negative: the ``receptor`` gives the sign) and ``delay`` (ms, a positive multiple of dt) are
    scalars or one value per connection; ``delay`` may be given as :class:`DelayTicks`, and reads as ms
    either way.
    """

    label: str
    pre: str
    post: str
    connector: Connector
    weight: float | np.ndarray = 0.0
    delay: float | np.ndarray = 1.0
    receptor: str = "excitatory"
    plasticity: STDP | None = None
    pre_slice: tuple | None = None
    post_slice: tuple | None = None
    structural: Synaptogenesis | CoincidenceWiring | None = None

    def __post_init__(self):
        self.label = values.label(self.label, "projection")
        where = f"projection '{self.label}'"
        self.pre = values.label(self.pre, where, "pre")
        self.post = values.label(self.post, where, "post")
        if not isinstance(self.connector, Connector):
            raise ValidationError(where, "connector", f"expected a connector, got {self.connector!r}")
        self.weight_units = set()
        self.weight = values.weight(self.weight, where, "weight", self.weight_units)
        values.check_range(self.weight, where, "weight", "", at_least=0)
        if isinstance(self._delay, DelayTicks):  # as given (reading ``delay`` gives ms)
            self.delay = _checked_delay_ticks(self._delay, where)
        else:
            self.delay = values.number_or_array(self.delay, "ms", where, "delay")
            values.check_range(self.delay, where, "delay", "ms", above=0)
        self.receptor = values.choice(self.receptor, RECEPTORS, where, "receptor")
        if self.plasticity is not None:
            if not isinstance(self.plasticity, STDP):
                raise ValidationError(where, "plasticity", f"expected STDP, got {self.plasticity!r}")
            self.plasticity.validate(where)
            low, high = self.plasticity.w_min, self.plasticity.w_max
            if np.any((np.atleast_1d(self.weight) < low) | (np.atleast_1d(self.weight) > high)):
                raise ValidationError(
                    where, "weight", f"initial weights must lie in [w_min, w_max] = [{low:g}, {high:g}]"
                )
        self.pre_slice = self._slice(self.pre_slice, "pre_slice")
        self.post_slice = self._slice(self.post_slice, "post_slice")
        if self.structural is not None:
            if not isinstance(self.structural, tuple(STRUCTURAL_RULES.values())):
                raise ValidationError(
                    where, "structural", f"expected Synaptogenesis or CoincidenceWiring, got {self.structural!r}"
                )
            if self.pre_slice or self.post_slice:
                raise ValidationError(where, "structural", "structural projections connect whole populations")
            self.structural.validate(where)
            if self.plasticity is not None and self.plasticity.heterosynaptic > 0:
                raise ValidationError(
                    where,
                    "plasticity.heterosynaptic",
                    "heterosynaptic depression is defined for fixed synapses, not for structural slots",
                )

    def held_delay_ticks(self, dt: float) -> np.ndarray | None:
        """The delays in ticks when they are held as ticks of ``dt`` (given so), else None."""
        held = self._delay
        return held.ticks if isinstance(held, DelayTicks) and held.dt == dt else None

    def _slice(self, value, name):
        if value is None:
            return None
        where = f"projection '{self.label}'"
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValidationError(where, name, f"expected [start, stop), got {value!r}")
        start, stop = (values.integer(v, where, name, minimum=0) for v in value)
        if stop <= start:
            raise ValidationError(where, name, f"needs start < stop, got [{start}, {stop})")
        return (start, stop)

    def to_dict(self) -> dict:
        data = {
            "label": self.label,
            "pre": self.pre,
            "post": self.post,
            "connector": self.connector.to_dict(),
            "weight": values.to_plain(self.weight),
            "delay": values.to_plain(self.delay),
            "receptor": self.receptor,
        }
        if self.plasticity is not None:
            data["plasticity"] = self.plasticity.to_dict()
        if self.structural is not None:
            data["structural"] = self.structural.to_dict()
        for name in ("pre_slice", "post_slice"):
            if getattr(self, name) is not None:
                data[name] = list(getattr(self, name))
        return data

    @classmethod
    def from_dict(cls, data) -> "Projection":
        where = f"projection '{data.get('label')}'" if isinstance(data, dict) else "projection"
        values.check_keys(
            data,
            (
                "label",
                "pre",
                "post",
                "connector",
                "weight",
                "delay",
                "receptor",
                "plasticity",
                "pre_slice",
                "post_slice",
                "structural",
            ),
            where,
            required=("label", "pre", "post", "connector"),
        )
        fields = dict(data)
        fields["connector"] = connector_from_dict(data["connector"], where)
        if data.get("plasticity") is not None:
            fields["plasticity"] = STDP.from_dict(data["plasticity"], where)
        if data.get("structural") is not None:
            fields["structural"] = structural_from_dict(data["structural"], where)
        return cls(**fields)


def _delay_ms(projection: Projection):
    """The delays in ms: as given, or made from the ticks they are held in (read-only, so that a changed
    copy of the projection takes them without copying)."""
    held = projection._delay
    if not isinstance(held, DelayTicks):
        return held
    delay = held.ticks * held.dt
    delay.flags.writeable = False
    return delay


def _set_delay(projection: Projection, value):
    projection._delay = value


Projection.delay = property(_delay_ms, _set_delay)


def _checked_delay_ticks(delay: DelayTicks, where: str) -> DelayTicks:
    """Delays given in ticks: a flat array of integers of at least one tick (of a positive dt), as int32 (a
    copy unless no one can change the array given, see ``values.unchangeable``)."""
    dt = values.number(delay.dt, "ms", where, "delay.dt")
    values.check_range(dt, where, "delay.dt", "ms", above=0)
    ticks = np.asarray(delay.ticks)
    if ticks.ndim != 1 or (ticks.size and ticks.dtype.kind not in "iu"):
        raise ValidationError(where, "delay", f"expected a flat array of whole ticks, got {values.describe(ticks)}")
    if ticks.size and (ticks.min() < 1 or ticks.max() > MAX_TICKS):
        values.check_range(ticks * dt, where, "delay", "ms", above=0)
        raise ValidationError(where, "delay", f"{int(ticks.max())} ticks is more than the {MAX_TICKS} a delay can have")
    return DelayTicks(ticks.astype(np.int32, copy=not values.unchangeable(ticks)), dt)


def _whole_ticks(delay: np.ndarray, ticks: np.ndarray, dt: float) -> bool:
    """Whether each delay (ms) is exactly its ticks times dt, the time made from them where read (compared in
    blocks, so that the products stay small)."""
    return all(
        np.array_equal(ticks[start : start + DELAY_BLOCK] * dt, delay[start : start + DELAY_BLOCK])
        for start in range(0, delay.size, DELAY_BLOCK)
    )


DELAY_BLOCK = 1 << 20


def _global_indices(local: np.ndarray, offset: int, size: int) -> np.ndarray:
    """A projection's local indices of a slice starting at ``offset`` as indices into the whole population."""
    indices = local.astype(values.index_dtype(size), copy=False)
    return indices + offset if offset else indices


class Connections(NamedTuple):
    """A projection's synapses as arrays: global pre and post indices (int32 where they fit), weight (nA),
    delay (int32 ticks)."""

    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    delay_ticks: np.ndarray


class Network:
    """The whole description. Labels of populations and spike sources share one namespace."""

    def __init__(
        self, name: str = "network", semantics: Semantics | None = None, seed: int = 0, duration: float | None = None
    ):
        self.name = values.label(name, "network", "name")
        self.semantics = semantics if semantics is not None else Semantics()
        if not isinstance(self.semantics, Semantics):
            raise ValidationError("network", "semantics", "expected a Semantics block")
        self.seed = values.integer(seed, "network", "seed", minimum=0)
        self.duration = None if duration is None else values.number(duration, "ms", "network", "duration")
        if self.duration is not None:
            values.check_range(self.duration, "network", "duration", "ms", above=0)
        self.populations: dict[str, Population] = {}
        self.spike_sources: dict[str, SpikeSource] = {}
        self.projections: dict[str, Projection] = {}
        self.recordings: dict[str, tuple[str, ...]] = {}
        self.connectivity_recordings: dict[str, tuple[int, ...]] = {}
        self.turnovers: dict[str, NeuronTurnover] = {}
        self.changes: list[ParameterChange | WeightChange] = []
        self.injections: dict[str, CurrentInjection] = {}
        self._connections: dict[str, Connections] = {}
        self._stages: list[Stage] | None = None

    # --- building ------------------------------------------------------------------------------

    def add(self, item):
        """Add a Population, SpikeSource or Projection; labels must be unique."""
        if isinstance(item, (Population, SpikeSource)):
            if item.label in self.populations or item.label in self.spike_sources:
                raise ValidationError(
                    f"{_kind(item)} '{item.label}'", "label", "duplicate label: already used in this network"
                )
            (self.populations if isinstance(item, Population) else self.spike_sources)[item.label] = item
        elif isinstance(item, Projection):
            if item.label in self.projections:
                raise ValidationError(
                    f"projection '{item.label}'", "label", "duplicate label: already used in this network"
                )
            for side in ("pre", "post"):
                self._check_endpoint(item, side)
            self._check_weight_units(item)
            synapses = synapse_count(self, item)
            refuse_above_limit(
                synapses * BYTES_PER_GENERATED_SYNAPSE,
                f"projection '{item.label}'",
                "connector",
                f"{count_text(synapses)} synapses",
            )
            self.projections[item.label] = item
        elif isinstance(item, CurrentInjection):
            if item.label in self.injections:
                raise ValidationError(item.where, "label", "duplicate label: already used in this network")
            self._check_injection(item)
            self.injections[item.label] = item
        else:
            raise ValidationError("network", None, f"cannot add {item!r}")
        self._connections.clear()
        self._stages = None
        return item

    def change(self, item: ParameterChange | WeightChange):
        """Schedule a change of parameters or weights during the run (:mod:`.schedule`); the schedule keeps
        time order, changes at one time in the order given."""
        if not isinstance(item, (ParameterChange, WeightChange)):
            raise ValidationError("network", "changes", f"expected a ParameterChange or WeightChange, got {item!r}")
        self.changes.append(item)
        self.changes.sort(key=lambda change: change.time)
        self._stages = None
        return item

    def population(self, label, size, cell_type=None, parameters=None, initial_values=None, arithmetic=None):
        """Add a population of ``cell_type`` (a name or a cell; IF_curr_exp by default)."""
        return self.add(Population(label, size, cell_type, parameters, initial_values, arithmetic=arithmetic))

    def spike_source(self, label, spike_times, size=None):
        return self.add(SpikeSource(label, len(spike_times) if size is None else size, spike_times))

    def project(
        self,
        pre,
        post,
        connector,
        weight=0.0,
        delay=1.0,
        receptor="excitatory",
        plasticity=None,
        label=None,
        pre_slice=None,
        post_slice=None,
        structural=None,
    ):
        pre, post = _label_of(pre), _label_of(post)
        label = label or f"{pre}->{post}"
        return self.add(
            Projection(
                label, pre, post, connector, weight, delay, receptor, plasticity, pre_slice, post_slice, structural
            )
        )

    def inject(self, population, source: CurrentSource, neurons=None, label=None) -> CurrentInjection:
        """Inject ``source`` (:mod:`.currents`) into the neurons ``neurons`` (indices; None: all) of a
        population."""
        population = _label_of(population)
        return self.add(
            CurrentInjection(label or f"{population} current {len(self.injections)}", population, source, neurons)
        )

    def _check_injection(self, injection: CurrentInjection):
        if injection.population not in self.populations:
            raise ValidationError(injection.where, "population", f"unknown population '{injection.population}'")
        size = self.populations[injection.population].size
        if injection.neurons is not None and injection.neurons.size and injection.neurons.max() >= size:
            raise ValidationError(
                injection.where,
                "neurons",
                f"index {int(injection.neurons.max())} is out of range for '{injection.population}' of size {size}",
            )
        injection.source.check(self.semantics, f"{injection.where} source")

    def record(self, label, variables=("spikes",)):
        """Record ``variables`` of a population (its cell's ``recordables``: ``spikes``, ``v``, its synaptic state) or
        spike source (``spikes``)."""
        label = _label_of(label)
        where = f"recording '{label}'"
        target = self.populations.get(label) or self.spike_sources.get(label)
        if target is None:
            raise ValidationError(where, "population", f"unknown population or spike source '{label}'")
        if isinstance(variables, str) or not isinstance(variables, (list, tuple)):
            raise ValidationError(where, "variables", f"expected a list of variable names, got {variables!r}")
        allowed = target.recordables if isinstance(target, SpikeSource) else target.cell.recordables
        for variable in variables:
            values.choice(variable, allowed, where, "variables")
        self.recordings[label] = tuple(dict.fromkeys(variables))

    def turnover(self, population, rule: NeuronTurnover):
        """Give a population neuron turnover (apoptosis of dormant neurons, neurogenesis)."""
        label = _label_of(population)
        where = f"population '{label}'"
        if label not in self.populations:
            raise ValidationError(where, "turnover", f"unknown population '{label}'")
        if not isinstance(rule, NeuronTurnover):
            raise ValidationError(where, "turnover", f"expected NeuronTurnover, got {rule!r}")
        rule.validate(where)
        self.turnovers[label] = rule
        return rule

    def record_connectivity(self, projection, ticks):
        """Snapshot a structural projection's synapses at the start of these ticks (after rewiring)."""
        label = projection.label if isinstance(projection, Projection) else projection
        where = f"connectivity recording '{label}'"
        if label not in self.projections or self.projections[label].structural is None:
            raise ValidationError(where, "projection", f"no structural projection '{label}'")
        if not isinstance(ticks, (list, tuple)):
            raise ValidationError(where, "ticks", f"expected a list of ticks, got {ticks!r}")
        self.connectivity_recordings[label] = tuple(values.integer(t, where, "ticks", minimum=0) for t in ticks)

    # --- queries -------------------------------------------------------------------------------

    def size_of(self, label: str) -> int:
        return (self.populations.get(label) or self.spike_sources[label]).size

    def connections(self, label: str) -> Connections:
        """The synapses of one projection (computed once, vectorized)."""
        if label not in self._connections:
            self._connections[label] = self._build_connections(self.projections[label])
        return self._connections[label]

    def stages(self) -> list[Stage]:
        """The network after each time of the schedule (:class:`Stage`, in time order): at every tick with
        changes, a validated copy with every change up to then made and no schedule of its own."""
        if self._stages is None:
            self._stages = self._make_stages()
        return self._stages

    def _make_stages(self) -> list[Stage]:
        populations, projections = dict(self.populations), dict(self.projections)
        ticks = [self._change_tick(change) for change in self.changes]
        stages = []
        for tick in sorted(set(ticks)):
            changed_populations, changed_projections = [], []
            for change, at in zip(self.changes, ticks):
                if at != tick:
                    continue
                if isinstance(change, ParameterChange):
                    populations[change.population] = change.applied(populations[change.population])
                    changed_populations.append(change.population)
                else:
                    count = len(self.connections(change.projection).pre)
                    projections[change.projection] = change.applied(projections[change.projection], count)
                    changed_projections.append(change.projection)
            network = self._copy(populations, projections, ())
            stages.append(
                Stage(
                    tick, network, tuple(dict.fromkeys(changed_populations)), tuple(dict.fromkeys(changed_projections))
                )
            )
        return stages

    def _change_tick(self, change) -> int:
        """The tick a change applies before, checked: a known target, on the tick grid, within the run."""
        if isinstance(change, ParameterChange) and change.population not in self.populations:
            raise ValidationError(change.where, "population", f"unknown population '{change.population}'")
        if isinstance(change, WeightChange) and change.projection not in self.projections:
            raise ValidationError(change.where, "projection", f"unknown projection '{change.projection}'")
        tick = int(self.semantics.ticks(change.time, change.where, "time"))
        if self.duration is not None and tick >= self.semantics.duration_ticks(self.duration):
            raise ValidationError(
                change.where, "time", f"at or after the end of the run ({self.duration:g} ms): it would change nothing"
            )
        return tick

    def input_per_tick(self) -> dict[tuple[str, str], np.ndarray]:
        """Per (population, receptor), the summed weight (nA) each neuron receives if all its inputs
        arrive in one tick, plastic synapses at w_max and structural projections at full capacity
        (s_max synapses of the largest weight they can hold): a bound for fixed-point formats."""
        sums = {}
        for projection in self.projections.values():
            connections = self.connections(projection.label)
            weights = np.abs(connections.weight)
            if projection.plasticity is not None:
                weights = np.full_like(weights, projection.plasticity.w_max)
            key = (projection.post, projection.receptor)
            size = self.size_of(projection.post)
            per_post = np.bincount(connections.post, weights, minlength=size)
            if projection.structural is not None:
                largest = max(
                    weights.max(initial=0.0),
                    projection.structural.initial_weight,
                    projection.plasticity.w_max if projection.plasticity is not None else 0.0,
                )
                per_post = np.full(size, projection.structural.s_max * largest)
            sums[key] = sums.get(key, 0) + per_post
        return sums

    def _build_connections(self, projection: Projection) -> Connections:
        where = f"projection '{projection.label}'"
        pre_offset, n_pre = self._view(projection, "pre")
        post_offset, n_post = self._view(projection, "post")
        seed_sequence = np.random.SeedSequence(self.seed, spawn_key=(zlib.crc32(projection.label.encode()),))
        held = sum(len(connections.pre) for connections in self._connections.values())
        expected = projection.connector.expected_count(n_pre, n_post)
        refuse_above_limit(
            (held + expected) * BYTES_PER_GENERATED_SYNAPSE,
            where,
            "connector",
            f"{count_text(expected)} synapses (with the {count_text(held)} generated before)",
        )
        try:
            pre, post = projection.connector.connect(n_pre, n_post, np.random.default_rng(seed_sequence))
        except ValidationError as error:
            field_name = "connector" if error.field is None else f"connector.{error.field}"
            raise ValidationError(where, field_name, error.message) from None
        count = len(pre)
        # The projection's own arrays, not copies: a synapse costs its indices, weight and delay once.
        weight = values.number_or_array(projection.weight, None, where, "weight", count, "connections", copy=False)
        delay_ticks = projection.held_delay_ticks(self.semantics.dt)
        if delay_ticks is None:
            delay = values.number_or_array(projection.delay, "ms", where, "delay", count, "connections", copy=False)
            delay_ticks = self.semantics.ticks(delay, where, "delay", minimum=1, dtype=np.int32)
            if np.ndim(delay_ticks) and _whole_ticks(delay, delay_ticks, self.semantics.dt):
                projection.delay = DelayTicks(delay_ticks, self.semantics.dt)  # the same times, held once
        elif delay_ticks.size != count:
            raise ValidationError(where, "delay", f"has {delay_ticks.size} values but there are {count} connections")
        return Connections(
            _global_indices(pre, pre_offset, self.size_of(projection.pre)),
            _global_indices(post, post_offset, self.size_of(projection.post)),
            weight if np.ndim(weight) else np.full(count, weight),
            delay_ticks if np.ndim(delay_ticks) else np.full(count, delay_ticks, dtype=np.int32),
        )

    def _view(self, projection: Projection, side: str) -> tuple[int, int]:
        size = self.size_of(getattr(projection, side))
        view = getattr(projection, f"{side}_slice")
        if view is None:
            return 0, size
        if view[1] > size:
            raise ValidationError(
                f"projection '{projection.label}'",
                f"{side}_slice",
                f"[{view[0]}, {view[1]}) is out of range for '{getattr(projection, side)}' of size {size}",
            )
        return view[0], view[1] - view[0]

    def _check_endpoint(self, projection: Projection, side: str):
        label = getattr(projection, side)
        allowed = (self.populations,) if side == "post" else (self.populations, self.spike_sources)
        if not any(label in group for group in allowed):
            kind = "population" if side == "post" else "population or spike source"
            raise ValidationError(f"projection '{projection.label}'", side, f"unknown {kind} '{label}'")

    def _check_weight_units(self, projection: Projection):
        """Weights given with a unit must be of the kind the post cell takes (currents, conductances, charges)."""
        cell = self.populations[projection.post].cell
        given = set(projection.weight_units)
        for rule in (projection.plasticity, projection.structural):
            given |= getattr(rule, "weight_units", set())
        wrong = sorted(given - {cell.weight_unit})
        if wrong:
            raise ValidationError(
                f"projection '{projection.label}'",
                "weight",
                f"'{projection.post}' is {cell.name}: its weights are "
                f"{values.WEIGHT_KINDS.get(cell.weight_unit, cell.weight_unit)}, "
                f"got a value in {wrong[0]}",
            )

    def _check_fixed_point(self, projection: Projection):
        """Weights on the rule's grid of stored steps."""
        where = f"projection '{projection.label}' stdp arithmetic"
        step = projection.plasticity.arithmetic.weight_step
        for name, weights in (
            ("weight", self.connections(projection.label).weight),
            ("structural.initial_weight", getattr(projection.structural, "initial_weight", 0.0)),
        ):
            scaled = np.asarray(weights, dtype=np.float64) / step
            if np.any(np.abs(scaled - np.rint(scaled)) > projection.plasticity.arithmetic.UNIT_TOLERANCE):
                raise ValidationError(where, name, f"weights must be whole steps of weight_step ({step:g})")

    def validate(self) -> "Network":
        """Check everything that needs the whole network; return self."""
        for population in self.populations.values():
            population.cell.check_times(self.semantics, f"population '{population.label}'")
        for source in self.spike_sources.values():
            where = f"spike source '{source.label}'"
            for first, trains in _groups_of_spikes(source.spike_times):
                try:  # many trains at once; train by train only to name the one at fault
                    ticks = self.semantics.ticks(np.concatenate([np.empty(0), *trains]), where, "spike_times")
                except ValidationError:
                    for index, times in enumerate(trains, first):
                        self.semantics.ticks(times, where, f"spike_times[{index}]")
                _check_one_spike_per_tick(ticks, trains, first, where)
        for projection in self.projections.values():
            for side in ("pre", "post"):
                self._check_endpoint(projection, side)
            self._check_weight_units(projection)
            self.connections(projection.label)
            if projection.structural is not None:
                check_projection(projection, self, f"projection '{projection.label}'")
            if projection.plasticity is not None and projection.plasticity.arithmetic is not None:
                self._check_fixed_point(projection)
        for label, rule in self.turnovers.items():
            check_turnover(label, rule, self)
        for injection in self.injections.values():
            self._check_injection(injection)
        for label in self.recordings:
            if label not in self.populations and label not in self.spike_sources:
                raise ValidationError(
                    f"recording '{label}'", "population", f"unknown population or spike source '{label}'"
                )
        self._stages = None
        self.stages()
        return self

    def implausible_values(self) -> list[str]:
        """Warnings, one line each, for values that are legal but almost surely a unit mistake: cell
        parameters and initial values in the windows their cell type declares (a capacitance in picofarads, a
        threshold in volts, a time constant in seconds) and weights in the window of the post cell's input
        type. Nothing is refused: a network may mean them."""
        found = []
        for population in self.populations.values():
            found += population.cell.implausible_values(f"population '{population.label}'")
        for projection in self.projections.values():
            cell = self.populations[projection.post].cell
            found.append(
                implausible_text(
                    cell.implausible_weight,
                    projection.weight,
                    cell.weight_unit,
                    f"projection '{projection.label}', field 'weight'",
                    "synapses",
                )
            )
        return [text for text in found if text]

    def with_spike_times(self, stimulus: dict) -> "Network":
        """A copy whose spike sources fire at the times in ``stimulus`` (label -> lists per neuron)."""
        if not isinstance(stimulus, dict):
            raise ValidationError("stimulus", None, "expected a mapping of spike-source labels to lists of times")
        data = self.to_dict()
        sources = {source["label"]: source for source in data["spike_sources"]}
        for label, spike_times in stimulus.items():
            if label not in sources:
                known = ", ".join(sources) or "none"
                raise ValidationError("stimulus", str(label), f"unknown spike source (known: {known})")
            where = f"stimulus for '{label}'"
            sources[label]["spike_times"] = [
                t.tolist() for t in checked_spike_times(spike_times, sources[label]["size"], where)
            ]
        return Network.from_dict(data)

    def replaced(self, populations: dict | None = None, projections: dict | None = None) -> "Network":
        """A validated copy in which the populations and projections given by label are replaced (the typed
        transforms of quantization-aware references make them with :func:`dataclasses.replace`)."""
        populations, projections = populations or {}, projections or {}
        for kind, replacements, known, cls in (
            ("population", populations, self.populations, Population),
            ("projection", projections, self.projections, Projection),
        ):
            for label, item in replacements.items():
                if label not in known:
                    raise ValidationError("network", None, f"cannot replace unknown {kind} '{label}'")
                if not isinstance(item, cls) or item.label != label:
                    raise ValidationError(
                        f"{kind} '{label}'",
                        None,
                        f"must be replaced by a {cls.__name__} labelled '{label}', got {item!r}",
                    )
        return self._copy({**self.populations, **populations}, {**self.projections, **projections}, self.changes)

    def _copy(self, populations: dict, projections: dict, changes) -> "Network":
        """A validated copy with these populations, projections (all of them, by label) and schedule."""
        copy = Network(self.name, self.semantics, self.seed, self.duration)
        for population in populations.values():
            copy.add(population)
        for source in self.spike_sources.values():
            copy.add(source)
        for projection in projections.values():
            copy.add(projection)
        copy.recordings = dict(self.recordings)
        copy.connectivity_recordings = dict(self.connectivity_recordings)
        copy.turnovers = dict(self.turnovers)
        copy.changes = list(changes)
        copy.injections = dict(self.injections)
        return copy.validate()

    # --- serialization -------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "name": self.name,
            "seed": self.seed,
            "duration": self.duration,
            "semantics": self.semantics.to_dict(),
            "populations": [p.to_dict() for p in self.populations.values()],
            "spike_sources": [s.to_dict() for s in self.spike_sources.values()],
            "projections": [p.to_dict() for p in self.projections.values()],
            "recordings": {label: list(variables) for label, variables in self.recordings.items()},
            **(
                {
                    "connectivity_recordings": {
                        label: list(ticks) for label, ticks in self.connectivity_recordings.items()
                    }
                }
                if self.connectivity_recordings
                else {}
            ),
            **(
                {"turnover": {label: rule.to_dict() for label, rule in self.turnovers.items()}}
                if self.turnovers
                else {}
            ),
            **({"changes": [change.to_dict() for change in self.changes]} if self.changes else {}),
            **(
                {"current_sources": [injection.to_dict() for injection in self.injections.values()]}
                if self.injections
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, data) -> "Network":
        values.check_keys(
            data,
            (
                "format",
                "version",
                "name",
                "seed",
                "duration",
                "semantics",
                "populations",
                "spike_sources",
                "projections",
                "recordings",
                "connectivity_recordings",
                "turnover",
                "changes",
                "current_sources",
            ),
            "network",
            required=("format",),
        )
        if data["format"] != FORMAT:
            raise ValidationError("network", "format", f"expected {FORMAT!r}, got {data['format']!r}")
        if data.get("version", FORMAT_VERSION) != FORMAT_VERSION:
            raise ValidationError(
                "network", "version", f"this neurodeploy reads version {FORMAT_VERSION}, got {data['version']!r}"
            )
        semantics = Semantics.from_dict(data.get("semantics", {}))
        network = cls(data.get("name", "network"), semantics, data.get("seed", 0), data.get("duration"))
        for key, make in (
            ("populations", _population_from_dict),
            ("spike_sources", _source_from_dict),
            ("projections", Projection.from_dict),
        ):
            items = data.get(key, [])
            if not isinstance(items, list):
                raise ValidationError("network", key, "expected a list")
            for item in items:
                network.add(make(item))
        recordings = data.get("recordings", {})
        if not isinstance(recordings, dict):
            raise ValidationError("network", "recordings", "expected a mapping of labels to variable lists")
        for label, variables in recordings.items():
            network.record(label, variables)
        snapshots = data.get("connectivity_recordings", {})
        if not isinstance(snapshots, dict):
            raise ValidationError("network", "connectivity_recordings", "expected a mapping of projections to ticks")
        for label, ticks in snapshots.items():
            network.record_connectivity(label, ticks)
        turnovers = data.get("turnover", {})
        if not isinstance(turnovers, dict):
            raise ValidationError("network", "turnover", "expected a mapping of populations to turnover rules")
        for label, rule in turnovers.items():
            network.turnover(label, NeuronTurnover.from_dict(rule, f"population '{label}'"))
        changes = data.get("changes", [])
        if not isinstance(changes, list):
            raise ValidationError("network", "changes", "expected a list of parameter and weight changes")
        for change in changes:
            network.change(change_from_dict(change))
        injections = data.get("current_sources", [])
        if not isinstance(injections, list):
            raise ValidationError("network", "current_sources", "expected a list")
        for injection in injections:
            network.add(CurrentInjection.from_dict(injection))
        return network.validate()

    def __eq__(self, other):
        return isinstance(other, Network) and self.to_dict() == other.to_dict()

    def __repr__(self):
        return (
            f"Network({self.name!r}: {len(self.populations)} populations, {len(self.spike_sources)} "
            f"spike sources, {len(self.projections)} projections)"
        )


def _population_from_dict(data) -> Population:
    where = f"population '{data.get('label')}'" if isinstance(data, dict) else "population"
    values.check_keys(data, Population.FIELDS, where, required=("label", "size"))
    return Population(**data)


def _source_from_dict(data) -> SpikeSource:
    where = f"spike source '{data.get('label')}'" if isinstance(data, dict) else "spike source"
    values.check_keys(data, SpikeSource.FIELDS, where, required=("label", "size"))
    return SpikeSource(**data)


def _kind(item) -> str:
    return "population" if isinstance(item, Population) else "spike source"


def _label_of(item) -> str:
    return item.label if isinstance(item, (Population, SpikeSource)) else item
