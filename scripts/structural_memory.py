"""Memory of structural plasticity: the topographic map (rewiring + STDP on both projections) at grid
sides n = 16, 32, 64 (256 to 4,096 neurons) on each backend, each run in its own process.

Per run: the peak resident memory of the run's process and its descendants (Lava's workers included),
sampled with psutil, and the bytes of the structural state the backend holds for its structural
projections (its slot tables, with the per-slot synaptic state and the pre neurons' rows), read from
the backend's objects just before it simulates; beside them the candidate pairs a pair-per-synapse
store would hold. Structural state per neuron is constant in n when it is O(N_post s_max).

    .venv/bin/python scripts/structural_memory.py [--duration-ms 200] [--sides 16 32 64]
        [--backends brian2 spinnaker lava] [--out scripts/results]

Writes structural_memory.json to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from neurodeploy.catalog import load_model  # noqa: E402

STRUCTURAL = ("S->P", "P->P")


def _brian2_state(record: dict):
    """Sum the Brian2 arrays of the structural projections' synapses, relays and rows when the network runs,
    each array once: the synapses' delays are their pathways' in some Brian2 versions (2.8), their own and
    also named ``delay`` in others (2.11)."""
    import brian2 as b2

    run = b2.Network.run

    def measured(self, *args, **kwargs):
        if "bytes" not in record:
            names = {f"projection_{index}" for index, label in enumerate(record["projections"]) if label in STRUCTURAL}
            owners = [
                obj
                for obj in self.objects
                if obj.name in names
                or obj.name.rsplit("_", 1)[0] in names
                and obj.name.rsplit("_", 1)[1] in ("slots", "rows")
            ]
            arrays = {}
            for obj in owners:
                holders = [obj, *getattr(obj, "_pathways", [])]
                for holder in holders:
                    arrays.update(
                        (id(variable), variable)
                        for variable in holder.variables.values()
                        if isinstance(variable, b2.core.variables.ArrayVariable)
                        and variable.owner.name in {h.name for h in holders}
                    )
            record["bytes"] = int(sum(variable.get_value().nbytes for variable in arrays.values()))
        return run(self, *args, **kwargs)

    b2.Network.run = measured


def _spinnaker_state(record: dict):
    """Sum the emulator's arrays of its structural projections and the decision procedure's tables."""
    from neurodeploy.backends.spinnaker import kernel

    run = kernel.Emulator.run

    def measured(self, *args, **kwargs):
        total = 0
        for projection in self.structural.values():
            total += sum(value.nbytes for value in vars(projection).values() if isinstance(value, np.ndarray))
        for rewiring in self.engine.projections.values():
            total += rewiring.pre.nbytes + rewiring.weight.nbytes + rewiring.attached.nbytes
        record["bytes"] = int(total)
        return run(self, *args, **kwargs)

    kernel.Emulator.run = measured


def _lava_state(record: dict):
    """Sum the Vars of the structural processes (int32 in the models), the decision procedure's tables
    they build counted from the description (one copy per process)."""
    from neurodeploy.backends.lava import graph
    from neurodeploy.description.structural import rewiring_for

    run = graph.LavaGraph.run

    def measured(self, *args, **kwargs):
        total = 0
        for label, process in self.structural.items():
            total += sum(4 * int(np.prod(var.shape)) for var in process.vars)
            rewiring = rewiring_for(self.network, label)
            total += rewiring.pre.nbytes + rewiring.weight.nbytes + rewiring.attached.nbytes
        record["bytes"] = int(total)
        return run(self, *args, **kwargs)

    graph.LavaGraph.run = measured


MEASURE = {"brian2": _brian2_state, "spinnaker": _spinnaker_state, "lava": _lava_state}


def _child(backend: str, n: int, duration_ms: float):
    """The run itself (in its own process); prints its structural state and wall time as JSON."""
    from neurodeploy.backends import make_backend

    network = load_model("topographic-map", {"n": n, "duration_ms": duration_ms}).network  # the blob scales with n
    record = {"projections": list(network.projections)}
    MEASURE[backend](record)
    started = time.perf_counter()
    if backend == "lava":  # this is the Lava environment (see measure): the graph runs here, where it is measured
        from neurodeploy.backends.lava import lower
        from neurodeploy.backends.lava.graph import LavaGraph

        lowered = lower(network)
        LavaGraph(
            network,
            lowered.populations,
            lowered.projections,
            lowered.stock,
            network.semantics.duration_ticks(duration_ms),
        ).run()
    else:
        make_backend(backend).run(network, duration_ms)
    print(
        json.dumps(
            {
                "structural_state_bytes": record["bytes"],
                "wall_s": time.perf_counter() - started,
                "slots": int(
                    sum(
                        network.size_of(network.projections[label].post) * network.projections[label].structural.s_max
                        for label in STRUCTURAL
                    )
                ),
                "candidate_pairs": int(
                    sum(
                        network.size_of(network.projections[label].pre)
                        * network.size_of(network.projections[label].post)
                        for label in STRUCTURAL
                    )
                ),
            }
        )
    )


def measure(backend: str, n: int, duration_ms: float) -> dict:
    """One run in a fresh process; peak RSS of it and its descendants, sampled every 20 ms."""
    python = sys.executable
    if backend == "lava":  # Lava runs only in the Lava environment
        from neurodeploy.backends.lava.environment import LavaEnvironment, default_location

        python = str(LavaEnvironment(default_location()).python)
    child = subprocess.Popen(
        [python, __file__, "--child", backend, str(n), str(duration_ms)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.02)
    output = child.stdout.read()
    if child.returncode:
        raise RuntimeError(f"{backend} n={n} ended with exit code {child.returncode}")
    result = json.loads(output.strip().splitlines()[-1])
    return {
        "backend": backend,
        "n": n,
        "neurons": n * n,
        "duration_ms": duration_ms,
        "peak_rss_bytes": peak,
        **result,
        "structural_bytes_per_neuron": result["structural_state_bytes"] / (n * n),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration-ms", type=float, default=200.0)
    parser.add_argument("--sides", type=int, nargs="+", default=[16, 32, 64])
    parser.add_argument("--backends", nargs="+", default=list(MEASURE))
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--child", nargs=3, metavar=("BACKEND", "N", "DURATION_MS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return _child(args.child[0], int(args.child[1]), float(args.child[2]))
    runs = []
    for backend in args.backends:
        for n in args.sides:
            runs.append(measure(backend, n, args.duration_ms))
            run = runs[-1]
            print(
                f"{backend:9s} n={n:3d} ({run['neurons']:5d} neurons): "
                f"peak RSS {run['peak_rss_bytes'] / 2**20:7.1f} MiB, "
                f"structural state {run['structural_state_bytes'] / 2**20:7.2f} MiB "
                f"({run['structural_bytes_per_neuron']:.0f} B/neuron), {run['wall_s']:.1f} s",
                flush=True,
            )
    growth = {}
    for backend in args.backends:
        mine = sorted((r for r in runs if r["backend"] == backend), key=lambda r: r["n"])
        per_neuron = [r["structural_bytes_per_neuron"] for r in mine]
        growth[backend] = {
            "bytes_per_neuron": per_neuron,
            "largest_over_smallest_per_neuron": per_neuron[-1] / per_neuron[0],
        }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "structural_memory.json").write_text(
        json.dumps(
            {
                "model": "topographic-map",
                "runs": runs,
                "growth": growth,
                "machine": {"python": platform.python_version(), "cpus": psutil.cpu_count()},
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
