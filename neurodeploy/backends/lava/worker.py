"""The Lava worker: ``python -m neurodeploy.backends.lava.worker FOLDER``, run by :mod:`.launcher` in the
Lava environment (Python 3.10, lava-nc, numpy 1.x), the only process that imports Lava.

It reads the request, the description and the numbers the main process lowered it to (it lowers nothing
itself: the main process's reference and the chip run the very same integers), builds the process
graph, runs it and writes the result (:mod:`.exchange`). It dies with the process that started it; a
termination signal stops Lava and ends it with 128 + the signal's number; a refusal of the network (a
NeurodeployError, such as a clipped membrane) ends it with that line in ``refused.txt``, any other
failure with one line in ``error.txt`` (the trace goes to its log).
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

from neurodeploy.backends.lava import lowered_from
from neurodeploy.backends.lava.exchange import (
    ERROR,
    NETWORK,
    PARAMETERS,
    PARENT_PID,
    REFUSED,
    REQUEST,
    LavaRun,
    write_progress,
    write_result,
)
from neurodeploy.description import io
from neurodeploy.description.io import write_atomically
from neurodeploy.errors import NeurodeployError
from neurodeploy.processes import Interrupted, die_with_parent, termination_signals_raise


def run(folder: Path) -> LavaRun:
    from neurodeploy.backends.lava.graph import LavaGraph  # Lava itself: loaded after the cheap checks

    request = json.loads((folder / REQUEST).read_text())
    network = io.load(folder / NETWORK)
    with np.load(folder / PARAMETERS) as stored:
        lowered = lowered_from(network, request["numbers"], {name: stored[name] for name in stored.files})
    started = time.perf_counter()
    graph = LavaGraph(
        network,
        lowered.populations,
        lowered.projections,
        lowered.stock,
        request["ticks"],
        stages=lowered.stages,
        folder=folder,
    )
    for label, variable in request["probes"]:
        graph.probe(label, variable)
    built = time.perf_counter()
    result = graph.run(lambda fraction: write_progress(folder, fraction))
    finished = time.perf_counter()
    about = {
        "versions": {
            "lava-nc": metadata.version("lava-nc"),
            "numpy (Lava worker)": np.__version__,
            "python (Lava worker)": platform.python_version(),
        },
        "build_s": built - started,
        "simulation_wall_time_s": finished - built,
        "read_back_s": result.about.get("read_back_s"),
        "structural": bool(graph.structural),
    }
    return LavaRun(result.spikes, result.voltages, result.weights, result.probed, result.events, result.turnover, about)


def main(argv: list[str]) -> int:
    die_with_parent(int(os.environ[PARENT_PID]))
    folder = Path(argv[1])
    try:
        with termination_signals_raise():
            write_result(folder, run(folder))
        return 0
    except Interrupted as interrupted:
        return interrupted.exit_code
    except NeurodeployError as error:  # a refusal of the run, said as it is: nothing crashed
        refusal = str(error)
        write_atomically(folder / REFUSED, lambda path: Path(path).write_text(refusal))
        return 1
    except MemoryError:
        message = "out of memory"
    except Exception as error:  # anything else: its trace to the log, one line to the main process
        traceback.print_exc()
        message = f"{type(error).__name__}: {error}"
    write_atomically(
        folder / ERROR, lambda path: Path(path).write_text(message.splitlines()[0] if message else "failed")
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
