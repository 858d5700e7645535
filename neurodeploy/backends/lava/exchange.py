"""The files the main process and the Lava worker exchange, in one folder: the main process writes the
request, the worker its progress and result (or its error). Both sides import this module, the worker
under Python 3.10 and numpy 1.x, so it imports no Lava and nothing newer.

* ``request.json``: the duration in ticks, the integer state to probe, the classes of the lowered numbers;
* ``network.json``: the description (``io.save``): populations, connections, sources, rules, recordings;
* ``lava_parameters.npz``: the lowered numbers (the compile's own in a deploy), which the worker runs;
* ``progress``: the fraction of ticks run, rewritten after each chunk;
* ``result.json`` and ``result.npz``: what the run produced (:class:`LavaRun`), written once it is complete;
* ``error.txt``: the worker's one-line error, when it refuses or fails (the trace is in ``worker.log``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurodeploy.description.io import write_atomically
from neurodeploy.description.structural import Event

REQUEST, NETWORK, PARAMETERS = "request.json", "network.json", "lava_parameters.npz"
PROGRESS, RESULT, ARRAYS, ERROR, LOG = "progress", "result.json", "result.npz", "error.txt", "worker.log"
REFUSED = "refused.txt"
"""The worker's one-line refusal of the run (a NeurodeployError: the network, not the worker, is at fault)."""
PARENT_PID = "NEURODEPLOY_LAVA_PARENT"
"""The environment variable holding the pid of the process the worker must not outlive."""


@dataclass(frozen=True, eq=False)
class LavaRun:
    """What the processes held at the end of a run, read out before they stopped (empty for a network
    with nothing to simulate)."""

    spikes: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """Per recorded population, the neuron and the tick index of each spike, in order of tick, then neuron."""
    voltages: dict[str, np.ndarray] = field(default_factory=dict)
    """V (mV) of each population recorded, ticks x neurons."""
    weights: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    """Per plastic projection, the weight mantissas of its synapses and their pre neurons (a structural
    projection's synapses are its slots, -1 when empty)."""
    probed: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)
    """The integer state ``probe`` asked for, per (population, variable), ticks x neurons."""
    events: list[Event] = field(default_factory=list)
    """Formations and eliminations of the structural projections."""
    turnover: dict[str, list[dict]] = field(default_factory=dict)
    """Each turnover population's epochs."""
    about: dict = field(default_factory=dict)
    """The worker's versions and timings."""


def write_progress(folder: Path, fraction: float) -> None:
    write_atomically(folder / PROGRESS, lambda path: Path(path).write_text(f"{fraction:.6f}\n"))


def read_progress(folder: Path) -> float | None:
    try:
        return float((folder / PROGRESS).read_text())
    except (FileNotFoundError, ValueError):
        return None


def write_result(folder: Path, run: LavaRun) -> None:
    """The arrays go to one npz under positional names (labels may hold any character); the JSON says
    which name holds what. The JSON is written last: its presence means the result is complete."""
    arrays: dict[str, np.ndarray] = {}

    def stored(value) -> str:
        name = f"a{len(arrays)}"
        arrays[name] = np.asarray(value)
        return name

    index = {
        "spikes": {label: [stored(neurons), stored(ticks)] for label, (neurons, ticks) in run.spikes.items()},
        "voltages": {label: stored(v) for label, v in run.voltages.items()},
        "weights": {label: [stored(mantissas), stored(pre)] for label, (mantissas, pre) in run.weights.items()},
        "probed": [[label, variable, stored(values)] for (label, variable), values in run.probed.items()],
        "events": [
            [event.tick, event.kind, event.projection, event.pre, event.post, event.slot] for event in run.events
        ],
        "turnover": run.turnover,
        "about": run.about,
    }

    def save_arrays(path: str) -> None:
        with open(path, "wb") as file:  # a file, not a name: np.savez would add ".npz" to the temporary one
            np.savez(file, **arrays)

    write_atomically(folder / ARRAYS, save_arrays)
    write_atomically(folder / RESULT, lambda path: Path(path).write_text(json.dumps(index)))


def read_result(folder: Path) -> LavaRun:
    index = json.loads((folder / RESULT).read_text())
    with np.load(folder / ARRAYS) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return LavaRun(
        spikes={label: (arrays[neurons], arrays[ticks]) for label, (neurons, ticks) in index["spikes"].items()},
        voltages={label: arrays[name] for label, name in index["voltages"].items()},
        weights={label: (arrays[mantissas], arrays[pre]) for label, (mantissas, pre) in index["weights"].items()},
        probed={(label, variable): arrays[name] for label, variable, name in index["probed"]},
        events=[Event(*event) for event in index["events"]],
        turnover=index["turnover"],
        about=index["about"],
    )
