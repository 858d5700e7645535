"""What a run produces, whichever backend or board ran it: its spike record and its result. Backends,
toolchains and run folders all speak these types, so they live here, below all of them.

A spike record is the ``spikes.json`` form other tools read (and converts to neo):

``{"dt_ms": 1.0, "duration_ms": 90.0, "backend": "brian2",
   "populations": {"LABEL": {"size": N, "spike_times_ms": [[t, ...], ...one list per neuron]}}}``
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from neurodeploy.description import values
from neurodeploy.description.semantics import Semantics
from neurodeploy.errors import ValidationError

Progress = Callable[[float], None]
"""Called with the fraction of simulated time done (0..1) during long runs. A progress that also has an
``enter_stage(stage)`` method hears the stages of the run (:data:`STAGES`) as it enters them."""

STAGES = ("load", "build", "codegen", "simulate", "read_back", "write")
"""The stages of a run, in order: the model is loaded (its builder run), the backend builds what it runs
(Brian2's objects, the emulator's tables, Lava's lowering, worker, process graph and first chunk), Brian2
prepares its first step (generates its code, compiles it on a network's first run on Cython or loads it,
builds its spike queues), the backend simulates, reads back what it recorded (Lava: from its processes,
then from the worker), and the run folder is written. A backend announces build, simulate and read_back
(:func:`enter_stage`), Brian2 codegen too."""


def enter_stage(progress: Progress | None, stage: str) -> None:
    """Tell ``progress`` the run enters ``stage`` when it listens for stages; a plain callable hears
    fractions only."""
    announce = getattr(progress, "enter_stage", None)
    if announce is not None:
        announce(stage)


class StageTimes:
    """A progress that times the stages of a run (wall seconds per stage, in ``seconds``) and passes
    fractions and stages on to ``shown`` (a progress of either kind, or None)."""

    def __init__(self, shown: Progress | None = None, clock: Callable[[], float] = time.perf_counter):
        self.shown, self.clock = shown, clock
        self.seconds: dict[str, float] = {}
        self.stage: str | None = None
        self._since = clock()

    def enter_stage(self, stage: str, since: float | None = None) -> None:
        """Enter ``stage``, timed from ``since`` (a time of ``clock``, for a stage that began before it
        could be told; default: now)."""
        if stage == self.stage:
            return
        self.close()
        self.stage, self._since = stage, self.clock() if since is None else since
        enter_stage(self.shown, stage)

    def __call__(self, fraction: float) -> None:
        if self.shown is not None:
            self.shown(fraction)

    def close(self) -> None:
        """End the current stage (its time is added to ``seconds``)."""
        if self.stage is not None:
            now = self.clock()
            self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + now - self._since
            self.stage, self._since = None, now


SPIKES_PER_PIECE = 1 << 18
TRAINS_PER_PIECE = 1 << 14


def _groups_of_trains(trains: list[np.ndarray]):
    """Consecutive trains, a group ending once it holds ``SPIKES_PER_PIECE`` spikes or ``TRAINS_PER_PIECE``
    trains."""
    group, spikes = [], 0
    for times in trains:
        group.append(times)
        spikes += len(times)
        if spikes >= SPIKES_PER_PIECE or len(group) >= TRAINS_PER_PIECE:
            yield group
            group, spikes = [], 0
    if group:
        yield group


def _trains_text(trains: list[np.ndarray], dt_ms: float) -> str:
    """Trains as ``json.dumps(..., indent=1)`` writes them at depth four of a record (a train's brackets
    four spaces in, its times five), each time as its ``repr``, as json writes a float: formatted all at
    once, not through json's indenting encoder, which is written in Python and walks item by item."""
    texts = _time_texts(np.concatenate([np.empty(0), *trains]), dt_ms)
    pieces, start = [], 0
    for times in trains:
        stop = start + len(times)
        pieces.append("    [\n     " + ",\n     ".join(texts[start:stop]) + "\n    ]" if stop > start else "    []")
        start = stop
    return ",\n".join(pieces)


def _time_texts(times: np.ndarray, dt_ms: float) -> list[str]:
    """The ``repr`` of each time: made once per tick when every time of a tick is one float (as the times
    a run reports are), else time by time."""
    if times.size and not np.signbit(times).any():  # (-0.0 is 0.0 but prints otherwise)
        ticks = np.rint(times / dt_ms)
        first, last = ticks.min(), ticks.max()
        if 0 <= first and last - first <= times.size:
            ticks = (ticks - first).astype(np.int64)
            grid = np.empty(int(last - first) + 1)
            grid[ticks] = times
            if np.array_equal(grid[ticks], times):
                return np.array(list(map(float.__repr__, grid.tolist())), dtype=object)[ticks].tolist()
    return list(map(float.__repr__, times.tolist()))


@dataclass(eq=False)
class SpikeRecord:
    """Spike times (ms) per population, one float64 array per neuron, on a grid of ``dt_ms``."""

    dt_ms: float
    duration_ms: float
    backend: str
    populations: dict[str, list[np.ndarray]]

    def __post_init__(self):
        self.populations = {
            label: [np.asarray(times, dtype=np.float64) for times in trains]
            for label, trains in self.populations.items()
        }

    @classmethod
    def from_ticks(cls, dt_ms, duration_ms, backend, ticks: dict[str, tuple[int, np.ndarray, np.ndarray]]):
        """From ``{label: (size, neuron_indices, tick_indices)}`` as simulators report spikes."""
        populations = {}
        for label, (size, neurons, tick_indices) in ticks.items():
            neurons, tick_indices = sorted_pairs(neurons, tick_indices)
            starts = np.arange(size + 1, dtype=neurons.dtype if size < np.iinfo(neurons.dtype).max else np.int64)
            bounds = np.searchsorted(neurons, starts).tolist()
            times = tick_times(tick_indices, dt_ms)
            populations[label] = [times[start:stop] for start, stop in zip(bounds, bounds[1:])]
        return cls(float(dt_ms), float(duration_ms), backend, populations)

    def ticks(self, label: str) -> list[np.ndarray]:
        """Spike tick indices per neuron."""
        return [np.round(times / self.dt_ms).astype(np.int64) for times in self.populations[label]]

    def sizes(self) -> dict[str, int]:
        return {label: len(trains) for label, trains in self.populations.items()}

    def to_dict(self) -> dict:
        return {
            "dt_ms": self.dt_ms,
            "duration_ms": self.duration_ms,
            "backend": self.backend,
            "populations": {
                label: {"size": len(trains), "spike_times_ms": [t.tolist() for t in trains]}
                for label, trains in self.populations.items()
            },
        }

    def json_pieces(self):
        """The text of ``json.dumps(self.to_dict(), indent=1) + "\\n"`` in pieces of a bounded number of
        spikes and trains: a large record is written without its whole text, or a Python float per spike,
        held at once."""
        head = json.dumps({"dt_ms": self.dt_ms, "duration_ms": self.duration_ms, "backend": self.backend}, indent=1)
        yield head[:-2] + ',\n "populations": ' + ("{" if self.populations else "{}")
        for number, (label, trains) in enumerate(self.populations.items()):
            yield f'{"," if number else ""}\n  {json.dumps(label)}: {{\n   "size": {len(trains)},\n'
            yield '   "spike_times_ms": '
            if not trains:
                yield "[]\n  }"
                continue
            yield "["
            for index, group in enumerate(_groups_of_trains(trains)):
                yield ("," if index else "") + "\n" + _trains_text(group, self.dt_ms)
            yield "\n   ]\n  }"
        yield "\n }\n}\n" if self.populations else "\n}\n"

    @classmethod
    def from_dict(cls, data, origin: str = "spikes.json") -> "SpikeRecord":
        """A record read back, checked as any input: a positive dt, a duration of whole ticks, populations
        of at least one neuron, each spike a tick of the run (``0 <= t < duration``) in increasing order."""
        values.check_keys(
            data,
            ("dt_ms", "duration_ms", "backend", "populations"),
            origin,
            required=("dt_ms", "duration_ms", "backend", "populations"),
        )
        try:
            semantics = Semantics(dt=data["dt_ms"])
        except ValidationError as error:
            raise ValidationError(origin, "dt_ms", error.message) from None
        duration = values.number(data["duration_ms"], "ms", origin, "duration_ms")
        semantics.duration_ticks(duration, origin, "duration_ms")
        backend = values.label(data["backend"], origin, "backend")
        if not isinstance(data["populations"], dict):
            raise ValidationError(origin, "populations", "expected a mapping of population labels to spike trains")
        populations = {}
        for label, entry in data["populations"].items():
            where = f"{origin} population '{values.label(label, origin, 'populations')}'"
            values.check_keys(entry, ("size", "spike_times_ms"), where, required=("size", "spike_times_ms"))
            size = values.integer(entry["size"], where, "size", minimum=1)
            trains = entry["spike_times_ms"]
            if not isinstance(trains, list) or len(trains) != size:
                raise ValidationError(where, "spike_times_ms", f"expected {size} lists of spike times, one per neuron")
            populations[label] = _plain_trains(trains, semantics, duration, where) or [
                _checked_train(times, semantics, duration, where, f"spike_times_ms[{index}]")
                for index, times in enumerate(trains)
            ]
        return cls(semantics.dt, duration, backend, populations)

    def to_neo(self):
        """A ``neo.Block`` with one Segment; one SpikeTrain per neuron, annotated with its population
        and index (``population``, ``neuron``)."""
        import neo
        import quantities as pq

        block = neo.Block(name="neurodeploy run", backend=self.backend)
        segment = neo.Segment(name="run")
        block.segments.append(segment)
        for label, trains in self.populations.items():
            for index, times in enumerate(trains):
                segment.spiketrains.append(
                    neo.SpikeTrain(
                        times,
                        units=pq.ms,
                        t_start=0.0 * pq.ms,
                        t_stop=self.duration_ms * pq.ms,
                        sampling_period=self.dt_ms * pq.ms,
                        name=f"{label}[{index}]",
                        population=label,
                        neuron=index,
                    )
                )
        return block


def _plain_trains(trains: list, semantics: Semantics, duration: float, where: str) -> list[np.ndarray] | None:
    """The trains checked all at once, when each is a list of plain numbers and all pass the checks; None
    otherwise (the train-by-train check then names the first fault)."""
    if not all(type(times) is list for times in trains):
        return None
    if any(type(value) is not float and type(value) is not int for value in itertools.chain.from_iterable(trains)):
        return None
    lengths = np.fromiter(map(len, trains), dtype=np.int64, count=len(trains))
    try:
        flat = np.fromiter(itertools.chain.from_iterable(trains), dtype=np.float64, count=int(lengths.sum()))
        ticks = semantics.ticks(flat, where, "spike_times_ms")
    except (OverflowError, ValidationError):
        return None
    ends = np.cumsum(lengths)
    steps = np.diff(ticks)
    steps[ends[:-1][(lengths[:-1] > 0) & (ends[:-1] < flat.size)] - 1] = 1  # across trains: no order
    if not (np.all(flat < duration) and np.all(steps > 0)):
        return None
    return [flat[end - length : end] for end, length in zip(ends.tolist(), lengths.tolist())]


def _checked_train(times, semantics: Semantics, duration: float, where: str, field: str) -> np.ndarray:
    if not isinstance(times, list):
        raise ValidationError(where, field, f"expected a list of times (ms), got {type(times).__name__}")
    array = np.atleast_1d(values.number_or_array(times, "ms", where, field))
    ticks = semantics.ticks(array, where, field)
    if np.any(array >= duration):
        raise ValidationError(
            where, field, f"{array[array >= duration][0]:g} ms is not within the run's {duration:g} ms"
        )
    if np.any(np.diff(ticks) <= 0):
        raise ValidationError(where, field, "times must be strictly increasing")
    return array


def sorted_pairs(major, minor) -> tuple[np.ndarray, np.ndarray]:
    """Integer pairs given as two arrays (spikes' neurons and ticks, in either role) in order of ``major``, then
    ``minor``. Sorted as one key, ``major``'s offset from its least times ``minor``'s span plus ``minor``'s
    offset (a sort of pairs costs several times that), of 32 bits where the keys and the values fit, else of
    64 (and int64 when there are no pairs); by ``np.lexsort`` where not even 64 bits hold the keys."""
    major, minor = np.asarray(major), np.asarray(minor)
    if major.size == 0:
        return major.astype(np.int64), minor.astype(np.int64)
    least, most = (int(major.min()), int(minor.min())), (int(major.max()), int(minor.max()))
    span = most[1] - least[1] + 1
    keys_bound = (most[0] - least[0] + 1) * span
    if keys_bound >= 2**63:
        order = np.lexsort((minor, major))
        return major[order].astype(np.int64), minor[order].astype(np.int64)
    fits_32 = keys_bound < 2**31 and min(least) >= -(2**31) and max(most) < 2**31
    keys = major.astype(np.int32 if fits_32 else np.int64)
    keys -= least[0]
    keys *= span
    np.add(keys, minor, out=keys, casting="unsafe")
    keys -= least[1]
    keys.sort()
    major, minor = np.divmod(keys, span)
    major += least[0]
    minor += least[1]
    return major, minor


def tick_times(ticks, dt_ms: float) -> np.ndarray:
    """Time in ms of tick indices: ``n * dt``, rounded to 1e-9 ms so 3 * 0.1 is written 0.3."""
    times = np.array(ticks, dtype=np.float64)
    times *= dt_ms
    return np.round(times, 9, out=times)


@dataclass(eq=False)
class RunResult:
    """What a backend returns: spikes, recorded state traces, final plastic weights, versions."""

    spikes: SpikeRecord
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    weights: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    structural: dict | None = None
    """Formation and elimination events and connectivity snapshots (structural.json)."""
