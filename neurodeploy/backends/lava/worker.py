"""The Lava worker: ``python -m neurodeploy.backends.lava.worker FOLDER``, run by :mod:`.launcher` in the
Lava environment (Python 3.10, lava-nc, numpy 1.x), the only process that imports Lava.

It reads the request, lowers the description as the main process did, checks that its numbers are the
ones it was sent and runs those (two numpy versions must not round apart), builds the process graph, runs it and
writes the result (:mod:`.exchange`). It dies with the process that started it; a termination signal
stops Lava and ends it with 128 + the signal's number; a refusal or failure ends it with one line in
``error.txt`` (the trace goes to its log).
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
from importlib import metadata
from pathlib import Path

import numpy as np

from neurodeploy.backends.lava import lower, parameter_arrays
from neurodeploy.backends.lava.exchange import (
    ERROR,
    NETWORK,
    PARAMETERS,
    PARENT_PID,
    REQUEST,
    LavaRun,
    write_atomically,
    write_progress,
    write_result,
)
from neurodeploy.description import io
from neurodeploy.errors import BackendError, NeurodeployError
from neurodeploy.processes import Interrupted, die_with_parent, termination_signals_raise

FLOAT_RTOL = 1e-12
"""How far the worker's float intermediates may be from the main process's (two numpy versions' ``log``
and ``exp`` differ in the last bit); its integers must be equal."""


def adopt_parameters(sent: Path, lowered) -> None:
    """Run the numbers the main process compiled: the worker's own lowering must give the same integers
    and floats within ``FLOAT_RTOL``, and then takes the sent values (the ones the main process's
    quantization-aware reference used)."""
    computed = parameter_arrays(lowered)
    with np.load(sent) as stored:
        arrays = {name: stored[name] for name in stored.files}
    differing = sorted(set(arrays) ^ set(computed))
    for name in sorted(set(arrays) & set(computed)):
        mine, theirs = computed[name], arrays[name]
        exact = not (np.issubdtype(mine.dtype, np.floating) or np.issubdtype(theirs.dtype, np.floating))
        if mine.shape != theirs.shape or not (np.array_equal(mine, theirs) if exact
                                              else np.allclose(mine, theirs, rtol=FLOAT_RTOL, atol=0)):
            differing.append(name)
    if differing:
        raise BackendError(f"the Lava environment lowers the description to other numbers than the main process "
                           f"sent ({', '.join(differing[:3])}{', ...' if len(differing) > 3 else ''}): "
                           "set it up again with `neurodeploy setup-lava`")
    for name, value in arrays.items():
        kind, label, field = _split(name)
        fixed = (lowered.populations if kind == "population" else lowered.projections)[label]
        holder = fixed if hasattr(fixed, field) else fixed.input
        setattr(holder, field, value.item() if value.ndim == 0 else value)


def _split(name: str) -> tuple[str, str, str]:
    """``population.LABEL.FIELD``: labels may hold dots, fields do not."""
    kind, rest = name.split(".", 1)
    label, field = rest.rsplit(".", 1)
    return kind, label, field


def run(folder: Path) -> LavaRun:
    from neurodeploy.backends.lava.graph import LavaGraph  # Lava itself: loaded after the cheap checks

    request = json.loads((folder / REQUEST).read_text())
    network = io.load(folder / NETWORK)
    lowered = lower(network)
    adopt_parameters(folder / PARAMETERS, lowered)
    started = time.perf_counter()
    graph = LavaGraph(network, lowered.populations, lowered.projections, lowered.stock, request["ticks"])
    for label, variable in request["probes"]:
        graph.probe(label, variable)
    built = time.perf_counter()
    result = graph.run(lambda fraction: write_progress(folder, fraction))
    finished = time.perf_counter()
    about = {"versions": {"lava-nc": metadata.version("lava-nc"), "numpy (Lava worker)": np.__version__,
                          "python (Lava worker)": platform.python_version()},
             "build_s": built - started, "simulation_wall_time_s": finished - built,
             "structural": bool(graph.structural)}
    return LavaRun(result.spikes, result.voltages, result.weights, result.probed, result.events, result.turnover,
                   about)


def main(argv: list[str]) -> int:
    die_with_parent(int(os.environ[PARENT_PID]))
    folder = Path(argv[1])
    try:
        with termination_signals_raise():
            write_result(folder, run(folder))
        return 0
    except Interrupted as interrupted:
        return interrupted.exit_code
    except NeurodeployError as error:
        message = str(error)
    except MemoryError:
        message = "out of memory"
    except Exception as error:  # anything else: its trace to the log, one line to the main process
        traceback.print_exc()
        message = f"{type(error).__name__}: {error}"
    write_atomically(folder / ERROR, lambda path: path.write_text(message.splitlines()[0] if message else "failed"))
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
