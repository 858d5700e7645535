"""SpiNNaker emulation benchmark: a feed-forward network (N Poisson sources at 10 Hz onto N IF_curr_exp neurons,
fixed-probability synapses with uniform weights and delays of 1-4 ms, dt 1 ms) run for 1 s, measured side by
side with hand-written Brian2 (numpy and cython targets) on the same spike trains, connection probability,
weight and delay distributions. Each measurement runs in a fresh process:

- emulation: ``neurodeploy run``'s work in-process (build the model, run the backend, write the run folder),
  its tick loop (``Emulator.run``) and the stages around it;
- brian2-numpy, brian2-cython: the model's input trains made (the same draws), the network built
  (``connect(p=...)``), one warm-up tick (cython compiles then, or loads its cache), then the run (the
  loop); end to end is all of it (no file written);
- draws: hand-written numpy drawing this network's random numbers alone, in the model's order and
  distributions (each input's Bernoulli draw per tick, the geometric gaps between synapses, their weights
  and delays): what any implementation spends before its loop can start, the floor of the stages around it;
- peak memory per synapse: the process's peak resident size less its size after the imports (numba's or
  Brian2's included), over the synapses; for the emulation also up to the end of the run, before
  spikes.json is written.

Wall times are the figures; the loops' CPU times are printed beside them, since other work on a shared
machine stretches wall time (the load average before and after is recorded).

Ratios: "x real time" is simulated ms per wall ms of the loop (SpiNNaker runs 1 ms ticks in 1 ms); end to
end against the loop, against the loop and the draws, and against hand-written Brian2's own end to end. The
kinds run in turn, round after round. The weights are scaled so that each neuron's mean input is the same
fraction of threshold whatever its fan-in (``--drive``), so the neurons fire at tens of Hz in every case.
Results and the machine go to scripts/results/bench_emulation.json.

    .venv/bin/python scripts/bench_emulation.py                      # 10^4 and 10^5 neurons, 10^7 synapses, median of 3
    .venv/bin/python scripts/bench_emulation.py --cases 10000:10000000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
RESULTS = REPOSITORY / "scripts" / "results" / "bench_emulation.json"
KINDS = ("emulation", "brian2-numpy", "brian2-cython", "draws")
RATE_HZ, MAX_DELAY_MS, TAU_SYN_MS, RHEOBASE_NA = 10.0, 4.0, 5.0, 0.75  # PyNN's IF_curr_exp: 15 mV over 20 MOhm


def model_parameters(neurons: int, synapses: int, duration_ms: float, drive: float) -> dict:
    """feedforward-poisson's parameters: N sources onto N neurons, mean input ``drive`` times the rheobase."""
    p = synapses / neurons / neurons
    fan_in = p * neurons
    mean_weight = drive * RHEOBASE_NA / (fan_in * RATE_HZ / 1000.0 * TAU_SYN_MS)
    return {
        "n_neurons": neurons,
        "n_inputs": neurons,
        "rate_hz": RATE_HZ,
        "p_connect": p,
        "w_low": 0.0,
        "w_high": 2.0 * mean_weight,
        "max_delay_ms": MAX_DELAY_MS,
        "duration_ms": duration_ms,
    }


def _resident_mb() -> float:
    """This process's peak resident size (VmHWM: ru_maxrss would carry the forking parent's over exec)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024.0


def _current_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def measure_emulation(parameters: dict) -> dict:
    from neurodeploy import pipeline
    from neurodeploy.backends.spinnaker import delivery, kernel
    from neurodeploy.catalog import load_model
    from neurodeploy.runs.rundir import write_run_files

    delivery.kernels()  # numba imported
    loop = []
    run = kernel.Emulator.run

    def timed_run(*args, **kwargs):  # the tick loop's wall and CPU time
        started = time.perf_counter(), time.process_time()
        emulated = run(*args, **kwargs)
        loop.append((time.perf_counter() - started[0], time.process_time() - started[1]))
        return emulated

    kernel.Emulator.run = timed_run
    baseline = _current_mb()
    times = [time.perf_counter()]
    loaded = load_model("feedforward-poisson", parameters)
    times.append(time.perf_counter())
    result, manifest = pipeline.run_model(loaded, "spinnaker", parameters["duration_ms"])
    times.append(time.perf_counter())
    peak_run = _resident_mb()
    with tempfile.TemporaryDirectory() as folder:
        write_run_files(Path(folder), manifest, result, {})
    times.append(time.perf_counter())
    network = loaded.network
    build, run, write = (b - a for a, b in zip(times, times[1:]))
    return {
        "synapses": sum(len(network.connections(label).pre) for label in network.projections),
        "spikes": {label: sum(len(t) for t in trains) for label, trains in result.spikes.populations.items()},
        "loop_s": loop[0][0],
        "loop_cpu_s": loop[0][1],
        "simulate_s": result.details["simulation_wall_time_s"],
        "build_s": build,
        "run_s": run,
        "write_s": write,
        "end_to_end_s": times[-1] - times[0],
        "kernels": delivery.kernels().name,
        "baseline_mb": baseline,
        "peak_run_mb": peak_run,
        "peak_mb": _resident_mb(),
    }


def measure_brian2(parameters: dict, target: str) -> dict:
    """Hand-written Brian2: the model's spike trains, Brian2's own fixed-probability connect, weights and delays."""
    import brian2 as b2
    import numpy as np

    from neurodeploy.catalog import load_model

    b2.prefs.codegen.target = target
    b2.prefs.logging.console_log_level = "ERROR"
    b2.seed(1)
    n, duration_ms = parameters["n_neurons"], parameters["duration_ms"]
    started = time.perf_counter()
    sources = load_model("feedforward-poisson", {**parameters, "p_connect": 0.0}).network.spike_sources["inputs"]
    indices = np.concatenate([np.full(len(t), i) for i, t in enumerate(sources.spike_times)])
    spike_times = np.concatenate(sources.spike_times)
    del sources
    inputs_s = time.perf_counter() - started
    baseline = _current_mb()
    times = [time.perf_counter()]
    b2.defaultclock.dt = 1 * b2.ms
    inputs = b2.SpikeGeneratorGroup(n, indices, spike_times * b2.ms)
    neurons = b2.NeuronGroup(
        n,
        """dv/dt = (v_rest - v) / tau_m + (i_syn + i_offset) / c_m : volt (unless refractory)
        di_syn/dt = -i_syn / tau_syn : amp""",
        threshold="v >= v_thresh",
        reset="v = v_reset",
        refractory=0.1 * b2.ms,
        method="exact",
        namespace={
            "v_rest": -65 * b2.mV,
            "tau_m": 20 * b2.ms,
            "c_m": 1 * b2.nF,
            "tau_syn": TAU_SYN_MS * b2.ms,
            "i_offset": 0 * b2.nA,
            "v_thresh": -50 * b2.mV,
            "v_reset": -65 * b2.mV,
        },
    )
    neurons.v = -65 * b2.mV
    synapses = b2.Synapses(inputs, neurons, "w : amp", on_pre="i_syn += w")
    synapses.connect(p=parameters["p_connect"])
    synapses.w = f"rand() * {parameters['w_high']} * nA"
    synapses.delay = f"ceil(rand() * {parameters['max_delay_ms']}) * ms"
    monitor = b2.SpikeMonitor(neurons)
    network = b2.Network(inputs, neurons, synapses, monitor)
    times.append(time.perf_counter())
    network.run(1 * b2.ms)  # code generation (cython: compiled, or loaded from its cache)
    times.append(time.perf_counter())
    started = time.process_time()
    network.run((duration_ms - 1) * b2.ms)
    loop_cpu = time.process_time() - started
    times.append(time.perf_counter())
    build, warm_up, loop = (b - a for a, b in zip(times, times[1:]))
    return {
        "synapses": len(synapses),
        "spikes": {"neurons": int(monitor.num_spikes)},
        "loop_s": loop * duration_ms / (duration_ms - 1),
        "loop_cpu_s": loop_cpu * duration_ms / (duration_ms - 1),
        "inputs_s": inputs_s,
        "build_s": build,
        "warm_up_s": warm_up,
        "end_to_end_s": inputs_s + build + warm_up + loop,
        "baseline_mb": baseline,
        "peak_mb": _resident_mb(),
    }


def measure_draws(parameters: dict) -> dict:
    """The network's random numbers drawn by hand, in the model's order and distributions, nothing kept."""
    import numpy as np

    from neurodeploy.models.feedforward_poisson import DRAWS_PER_BLOCK

    n, ticks, p = parameters["n_neurons"], int(parameters["duration_ms"]), parameters["p_connect"]
    chance = parameters["rate_hz"] / 1000.0
    started = time.perf_counter()
    rng = np.random.default_rng(1)
    spikes, block = 0, max(1, DRAWS_PER_BLOCK // ticks)
    for first in range(0, parameters["n_inputs"], block):
        count = min(block, parameters["n_inputs"] - first)
        spikes += len(np.nonzero(rng.random((count, ticks)) < chance)[0])
    positions = np.cumsum(rng.geometric(p, size=round(n * n * p)))
    synapses = int(np.searchsorted(positions, n * n))
    rng.uniform(parameters["w_low"], parameters["w_high"], synapses)
    rng.integers(1, int(parameters["max_delay_ms"]) + 1, synapses, dtype=np.int32)
    return {"synapses": synapses, "spikes": {"inputs": spikes}, "draws_s": time.perf_counter() - started}


def worker(kind: str, parameters: dict) -> dict:
    if kind == "draws":
        return measure_draws(parameters)
    measured = measure_emulation(parameters) if kind == "emulation" else measure_brian2(parameters, kind.split("-")[1])
    for peak in ("peak_run", "peak"):
        if f"{peak}_mb" in measured:
            growth = measured[f"{peak}_mb"] - measured["baseline_mb"]
            measured[peak.replace("peak", "bytes_per_synapse")] = growth * 2**20 / measured["synapses"]
    return measured


def run_worker(kind: str, parameters: dict) -> dict:
    """One measurement in a fresh process, on the neurodeploy of this checkout."""
    path = os.pathsep.join(filter(None, [str(REPOSITORY), os.environ.get("PYTHONPATH")]))
    finished = subprocess.run(
        [sys.executable, __file__, "--worker", kind, json.dumps(parameters)],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env={**os.environ, "PYTHONPATH": path},
    )
    if finished.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{finished.stderr}")
    return json.loads(finished.stdout.strip().splitlines()[-1])


def machine() -> dict:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for package in ("numpy", "numba", "brian2", "cython"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        **versions,
        "transparent_hugepages": transparent_hugepages(),
    }


def transparent_hugepages() -> str | None:
    """The kernel's transparent huge page mode, and numpy's choice of asking for them (``NUMPY_MADVISE_HUGEPAGE``):
    what fresh memory is made of, which the stages around the loop allocate much of."""
    path = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    mode = path.read_text().strip() if path.exists() else None
    return f"{mode}; NUMPY_MADVISE_HUGEPAGE={os.environ.get('NUMPY_MADVISE_HUGEPAGE', 'unset')}"


def median_of(runs: list[dict]) -> dict:
    """Each number the median over the repeats."""
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, float):
            merged[key] = statistics.median(run[key] for run in runs)
    return merged


def _summary(measured: dict, args) -> str:
    if "draws_s" in measured:
        return f"drawing the random numbers alone {measured['draws_s']:6.2f} s"
    return (
        f"loop {measured['loop_s']:6.2f} s = {args.duration / 1000 / measured['loop_s']:5.2f}x real time "
        f"(CPU {measured['loop_cpu_s']:5.2f} s)"
        + (f"  end to end {measured['end_to_end_s']:6.2f} s" if "end_to_end_s" in measured else "")
        + f"  {measured['bytes_per_synapse']:5.1f} B/synapse"
        + (f" ({measured['bytes_per_synapse_run']:.1f} to the run's end)" if "peak_run_mb" in measured else "")
        + f"  {measured['spikes']['neurons']} spikes"
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=["10000:10000000", "100000:10000000"], help="NEURONS:SYNAPSES")
    parser.add_argument("--duration", type=float, default=1000.0, help="ms")
    parser.add_argument("--drive", type=float, default=1.1, help="mean input over the rheobase current")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker[0], json.loads(args.worker[1]))))
        return
    document = {
        "machine": machine(),
        "load_average_before": os.getloadavg(),
        "duration_ms": args.duration,
        "repeats": args.repeats,
        "cases": [],
    }
    for case in args.cases:
        neurons, synapses = (int(float(part)) for part in case.split(":"))
        parameters = model_parameters(neurons, synapses, args.duration, args.drive)
        runs = {kind: [] for kind in args.kinds}
        for _ in range(args.repeats):  # round after round: a slower minute of a shared machine falls on every kind
            for kind in args.kinds:
                runs[kind].append(run_worker(kind, parameters))
        results = {kind: median_of(measured) for kind, measured in runs.items()}
        for kind, measured in results.items():
            print(f"{neurons:>7} neurons {measured['synapses']:>9} synapses  {kind:<14} " + _summary(measured, args))
        ratios = {}
        if "emulation" in results:
            emulation = results["emulation"]
            ratios["emulation_x_real_time"] = args.duration / 1000 / emulation["loop_s"]
            ratios["end_to_end_over_loop"] = emulation["end_to_end_s"] / emulation["loop_s"]
            if "draws" in results:
                floor = emulation["loop_s"] + results["draws"]["draws_s"]
                ratios["end_to_end_over_loop_and_draws"] = emulation["end_to_end_s"] / floor
            if "brian2-cython" in results:
                whole = results["brian2-cython"]["end_to_end_s"]
                ratios["end_to_end_over_brian2-cython_end_to_end"] = emulation["end_to_end_s"] / whole
            for kind in ("brian2-numpy", "brian2-cython"):
                if kind in results:
                    ratios[f"emulation_loop_over_{kind}"] = emulation["loop_s"] / results[kind]["loop_s"]
        print("   " + "  ".join(f"{key} {value:.2f}" for key, value in ratios.items()), flush=True)
        document["cases"].append(
            {"neurons": neurons, "parameters": parameters, "results": results, "ratios": ratios, "runs": runs}
        )
    document["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=1) + "\n")
    print(
        f"load average {document['load_average_before'][0]:.1f} -> {document['load_average_after'][0]:.1f}; {args.out}"
    )


if __name__ == "__main__":
    main()
