"""Lava benchmark: compile time, simulation speed and read-back cost of neurodeploy's Lava graphs against a
hand-written Lava graph of the same network (stock LIF, Sparse, ring-buffer source and sink, with the same
integer parameters), for 10^3 to 10^4 neurons, and a 5 s feed-forward deploy to loihi2 end to end.

    .venv-lava/bin/python scripts/bench_lava.py [--neurons 1000 3000 10000] [--steps 200] [--repeats 3]
                                                [--deploy-python .venv/bin/python] [--out FILE.json]

It runs in the Lava environment (Python 3.10, lava-nc), where the graphs are built and run in-process; the
deploy runs the command line of the main environment (``--deploy-python``; ``--deploy-python ''`` leaves it
out). Each figure is the median of ``--repeats`` runs, all in one invocation:

* ours, spikes recorded: the graph's run (Lava's compile, the ticks, reading results back) per step, and
  the share of it spent writing and reading what was recorded (``read_back_s``: the processes' seconds and
  the host's); the same with v recorded too; and with nothing recorded, against which the difference is the
  recording's whole cost, read-back or not (noisy on a shared machine: it can come out negative);
* hand-written: the run per step and the share of it that reading Lava's sink (``Var.get``) takes;
* the deploy (``neurodeploy deploy feedforward-poisson --target loihi2 --duration 5000``): its wall time end
  to end, the worker's simulation time and read-back seconds (from the run's manifest).

Ours and the hand-written graph must produce the same spikes. The results and the machine go to ``--out``
(default ``scripts/results/bench_lava.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source
from lava.proc.lif.process import LIF
from lava.proc.sparse.process import Sparse
from scipy.sparse import csr_matrix

from neurodeploy.backends.lava import lower
from neurodeploy.backends.lava.graph import LavaGraph
from neurodeploy.backends.lava.quantize import stock_threshold
from neurodeploy.catalog import model_families
from neurodeploy.description import FixedProbability, Network

poisson_spike_times = model_families()["feedforward-poisson"].module.poisson_spike_times
REPOSITORY = Path(__file__).resolve().parents[1]
DEPLOY = ["deploy", "feedforward-poisson", "--target", "loihi2", "--duration", "5000"]


def network(neurons: int, steps: int, recorded: tuple[str, ...], fan_in: int = 100) -> Network:
    net = Network("bench", seed=3)
    inputs = neurons // 2
    net.spike_source("inputs", poisson_spike_times(inputs, 20.0, steps, 1.0, np.random.default_rng(3)))
    net.population("neurons", neurons, parameters={"tau_refrac": 0.0})
    net.project("inputs", "neurons", FixedProbability(min(1.0, fan_in / inputs), seed=5), weight=1.5, label="in")
    if recorded:
        net.record("neurons", recorded)
    return net


def by_neuron(neurons: np.ndarray, ticks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((ticks, neurons))
    return neurons[order], ticks[order]


def hand_written(net: Network, lowered, steps: int):
    """What a Lava user writes by hand for the same network and integers."""
    fixed = lowered.populations["neurons"]
    weights = lowered.projections["in"]
    c = net.connections("in")
    data = np.zeros((net.size_of("inputs"), steps), dtype=np.int32)
    for i, times in enumerate(net.spike_sources["inputs"].spike_times):
        data[i, times.astype(int)] = 1
    source = Source(data=data)
    sparse = Sparse(
        weights=csr_matrix((weights.mantissas, (c.post, c.pre)), shape=(net.size_of("neurons"), net.size_of("inputs"))),
        weight_exp=weights.weight_exp,
    )
    lif = LIF(
        shape=(net.size_of("neurons"),),
        du=int(fixed.du_exc[0]),
        dv=int(fixed.dv[0]),
        vth=stock_threshold(fixed.vth, net.semantics.threshold),
        bias_mant=fixed.bias_mant,
        bias_exp=fixed.bias_exp,
    )
    sink = Sink(shape=(net.size_of("neurons"),), buffer=steps)
    source.s_out.connect(sparse.s_in)
    sparse.a_out.connect(lif.a_in)
    lif.s_out.connect(sink.a_in)
    return lif, sink


def ours(neurons: int, steps: int, recorded: tuple[str, ...]) -> dict:
    net = network(neurons, steps, recorded)
    started = time.perf_counter()
    lowered = lower(net)
    graph = LavaGraph(net, lowered.populations, lowered.projections, lowered.stock, steps, chunks=1)
    compiled = time.perf_counter()
    result = graph.run()
    run_s = time.perf_counter() - compiled
    read_back_s = result.about.get("read_back_s", 0.0)
    return {
        "compile_s": compiled - started,
        "run_s": run_s,
        "read_back_s": read_back_s,
        "spikes": by_neuron(*result.spikes["neurons"]) if "neurons" in result.spikes else None,
        "synapses": len(net.connections("in").pre),
    }


def hand(neurons: int, steps: int) -> dict:
    net = network(neurons, steps, ("spikes",))
    lowered = lower(net)
    started = time.perf_counter()
    lif, sink = hand_written(net, lowered, steps)
    built = time.perf_counter()
    try:
        lif.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        ran = time.perf_counter()
        fired = sink.data.get()
        read = time.perf_counter()
    finally:
        lif.stop()
    return {
        "build_s": built - started,
        "run_s": read - built,
        "read_back_s": read - ran,
        "spikes": by_neuron(*np.nonzero(fired)),
    }


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def deploy(python: str, repeats: int) -> dict | None:
    """The deploy's wall time end to end and what its manifest says of the Lava run, median of ``repeats``."""
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-lava-deploy-") as folder:
            started = time.perf_counter()
            done = subprocess.run(
                [python, "-m", "neurodeploy", *DEPLOY, "--out", f"{folder}/run"],
                cwd=REPOSITORY,
                capture_output=True,
                text=True,
            )
            wall_s = time.perf_counter() - started
            if done.returncode != 0:
                raise SystemExit(f"the deploy failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
            backend = json.loads(Path(folder, "run", "target", "manifest.json").read_text())["backend"]
        runs.append(
            {
                "wall_s": wall_s,
                "lava_run_s": backend["simulation_wall_time_s"],
                "read_back_s": backend["read_back_s"],
            }
        )
    figures = {key: median_of(runs, key) for key in runs[0]}
    figures["each_run"] = runs
    figures["read_back_share_of_lava_run"] = figures["read_back_s"] / figures["lava_run_s"]
    figures["read_back_share_of_deploy"] = figures["read_back_s"] / figures["wall_s"]
    return figures


def machine() -> dict:
    lines = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python (Lava environment)": platform.python_version(),
        "lava-nc": metadata.version("lava-nc"),
        "numpy (Lava environment)": np.__version__,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neurons", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--deploy-python", default=str(REPOSITORY / ".venv" / "bin" / "python"))
    parser.add_argument("--out", type=Path, default=REPOSITORY / "scripts" / "results" / "bench_lava.json")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} (1 min), {os.cpu_count()} cpus", flush=True)
    print(
        f"{'neurons':>8} {'synapses':>9} | {'ours: compile s':>15} {'ms/step':>8} {'read-back':>9} "
        f"{'+v ms/step':>10} {'read-back':>9} {'none ms/step':>12} {'recording':>9} | "
        f"{'hand-written: ms/step':>21} {'read-back':>9} | {'speed-up':>8} {'same spikes':>11}"
    )
    rows = []
    for neurons in args.neurons:
        spikes, with_v, unrecorded, handwritten = [], [], [], []
        for _ in range(args.repeats):
            spikes.append(ours(neurons, args.steps, ("spikes",)))
            with_v.append(ours(neurons, args.steps, ("spikes", "v")))
            unrecorded.append(ours(neurons, args.steps, ()))
            handwritten.append(hand(neurons, args.steps))
        same = all(
            np.array_equal(a, b) for run in [*spikes, *with_v] for a, b in zip(run["spikes"], handwritten[0]["spikes"])
        )
        row = {
            "neurons": neurons,
            "synapses": spikes[0]["synapses"],
            "steps": args.steps,
            "ours_compile_s": median_of(spikes, "compile_s"),
            "ours_run_ms_per_step": 1000 * median_of(spikes, "run_s") / args.steps,
            "ours_read_back_share": statistics.median(run["read_back_s"] / run["run_s"] for run in spikes),
            "ours_with_v_run_ms_per_step": 1000 * median_of(with_v, "run_s") / args.steps,
            "ours_with_v_read_back_share": statistics.median(run["read_back_s"] / run["run_s"] for run in with_v),
            "ours_unrecorded_run_ms_per_step": 1000 * median_of(unrecorded, "run_s") / args.steps,
            "hand_written_build_s": median_of(handwritten, "build_s"),
            "hand_written_run_ms_per_step": 1000 * median_of(handwritten, "run_s") / args.steps,
            "hand_written_read_back_share": statistics.median(run["read_back_s"] / run["run_s"] for run in handwritten),
            "same_spikes": same,
            "each_run": {
                name: [{key: run[key] for key in ("run_s", "read_back_s")} for run in runs]
                for name, runs in (
                    ("ours", spikes),
                    ("ours_with_v", with_v),
                    ("ours_unrecorded", unrecorded),
                    ("hand_written", handwritten),
                )
            },
        }
        row["recording_cost_vs_unrecorded"] = 1 - row["ours_unrecorded_run_ms_per_step"] / row["ours_run_ms_per_step"]
        row["speed_up_vs_hand_written"] = row["hand_written_run_ms_per_step"] / row["ours_run_ms_per_step"]
        rows.append(row)
        print(
            f"{neurons:>8} {row['synapses']:>9} | {row['ours_compile_s']:>15.2f} {row['ours_run_ms_per_step']:>8.2f} "
            f"{row['ours_read_back_share']:>9.1%} {row['ours_with_v_run_ms_per_step']:>10.2f} "
            f"{row['ours_with_v_read_back_share']:>9.1%} {row['ours_unrecorded_run_ms_per_step']:>12.2f} "
            f"{row['recording_cost_vs_unrecorded']:>9.1%} | {row['hand_written_run_ms_per_step']:>21.2f} "
            f"{row['hand_written_read_back_share']:>9.1%} | {row['speed_up_vs_hand_written']:>7.1f}x {str(same):>11}",
            flush=True,
        )
    deployed = None
    if args.deploy_python:
        deployed = deploy(args.deploy_python, args.repeats)
        print(
            f"neurodeploy {' '.join(DEPLOY)}: {deployed['wall_s']:.1f} s end to end (goal: under 30 s), Lava run "
            f"{deployed['lava_run_s']:.1f} s, read-back {deployed['read_back_s']:.2f} s = "
            f"{deployed['read_back_share_of_lava_run']:.1%} of the Lava run, "
            f"{deployed['read_back_share_of_deploy']:.1%} of the deploy (goal: at most 20%)",
            flush=True,
        )
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} (1 min)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "created_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "repeats": args.repeats,
                "graphs": rows,
                "deploy": {"command": ["neurodeploy", *DEPLOY], **deployed} if deployed else None,
                "machine": {**machine(), "load_average_before": load_before, "load_average_after": load_after},
            },
            indent=1,
        )
        + "\n"
    )
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
