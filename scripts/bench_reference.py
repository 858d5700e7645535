"""Reference benchmark: the Brian2 reference's simulation loop against hand-written Brian2 on the same
feed-forward network (``feedforward-poisson``: 10^4 Poisson inputs at 10 Hz onto 10^4 IF_curr_exp neurons,
10^7 synapses of delays 1-4 ms, 1 s), on the Cython target (after the first compile) and on numpy; the
quantization-aware reference (spinn5's ``compilation.reference_network()``) against the float one; peak
memory per synapse. Prints the ratios; writes bench_reference.json to ``--out`` with the machine and its load.

The hand-written baseline is what a Brian2 user writes for this network: its input spikes and synapses
taken from the same description, a LIF with an exponential current as ODEs integrated exactly, ``I += w``
on each spike, spike monitors; Brian2's default compiler flags. Each measurement runs in a process of its
own, the kinds in turn round after round (so that a slower minute of the machine falls on each kind); loop
times exclude Brian2's preparation before the first step (code generated, compiled or loaded, spike queues
built), reported as ``build_s``: a first compile is measured in a fresh cache folder.
Memory: the backend's or hand-written code's own peak (above the process's memory once the description is
built, the kernel's peak counter reset there) and the whole process's peak above its imports, per synapse.

    .venv/bin/python scripts/bench_reference.py [--neurons 10000] [--synapses 10000000] [--duration-ms 1000]
        [--repeats 3] [--out scripts/results]
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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from neurodeploy.catalog import load_model  # noqa: E402


def _kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak():
    """The kernel's peak resident memory of this process (VmHWM, and with it ru_maxrss) starts again from now."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def network(neurons: int, synapses: int, duration_ms: float):
    params = {"n_neurons": neurons, "n_inputs": neurons, "p_connect": synapses / neurons**2, "duration_ms": duration_ms}
    return load_model("feedforward-poisson", params).network.validate()


class Preparation:
    """Brian2's report callback: its first call, right after the run's preparation, ends the build time."""

    def __init__(self):
        self.called, self.build_s = time.perf_counter(), None

    def __call__(self, elapsed, completed, start, duration):
        if self.build_s is None:
            self.build_s = time.perf_counter() - self.called


def handwritten(net, duration_ms: float, target: str, cache: str) -> dict:
    """The network in plain Brian2, as its user would write it."""
    import brian2 as b2

    b2.prefs.codegen.target = target
    b2.prefs.codegen.runtime.cython.cache_dir = cache
    b2.defaultclock.dt = net.semantics.dt * b2.ms
    source, population = net.spike_sources["inputs"], net.populations["neurons"]
    cell = population.cell
    times = [np.asarray(train) for train in source.spike_times]
    inputs = b2.SpikeGeneratorGroup(
        source.size, np.repeat(np.arange(source.size), [len(t) for t in times]), np.concatenate(times) * b2.ms
    )
    neurons = b2.NeuronGroup(
        population.size,
        """
        dv/dt = (v_rest - v) / tau_m + (I + i_offset) / c_m : volt (unless refractory)
        dI/dt = -I / tau_syn : amp
        """,
        threshold="v > v_thresh",
        reset="v = v_reset",
        # held for the ticks the description holds V (Brian2 frees a neuron at its spike plus refractory)
        refractory=(net.semantics.refractory_ticks(cell.tau_refrac) + 1) * net.semantics.dt * b2.ms,
        method="exact",
        namespace={
            "v_rest": cell.v_rest * b2.mV,
            "v_thresh": cell.v_thresh * b2.mV,
            "v_reset": cell.v_reset * b2.mV,
            "tau_m": cell.tau_m * b2.ms,
            "tau_syn": cell.tau_syn_E * b2.ms,
            "c_m": cell.cm * b2.nF,
            "i_offset": cell.i_offset * b2.nA,
        },
    )
    neurons.v = cell.v * b2.mV
    connections = net.connections("inputs->neurons")
    synapses = b2.Synapses(inputs, neurons, "w : amp (constant)", on_pre="I += w")
    synapses.connect(i=connections.pre, j=connections.post)
    synapses.w = connections.weight * b2.nA
    synapses.delay = connections.delay_ticks * net.semantics.dt * b2.ms
    monitors = b2.SpikeMonitor(neurons), b2.SpikeMonitor(inputs)
    simulation = b2.Network(inputs, neurons, synapses, *monitors)
    preparation = Preparation()
    started = time.perf_counter()
    simulation.run(duration_ms * b2.ms, report=preparation, report_period=1000 * b2.second)
    wall = time.perf_counter() - started
    return {"loop_s": wall - preparation.build_s, "build_s": preparation.build_s, "spikes": int(monitors[0].num_spikes)}


def reference(net, duration_ms: float, codegen: str) -> dict:
    from neurodeploy.backends import make_backend

    result = make_backend("brian2", codegen=codegen).run(net, duration_ms)
    return {
        "loop_s": result.details["simulation_wall_time_s"],
        "build_s": result.details["build_s"],
        "codegen": result.details["codegen"],
        "spikes": int(sum(len(train) for train in result.spikes.populations["neurons"])),
    }


def child(kind: str, codegen: str, neurons: int, synapses: int, duration_ms: float, cache: str) -> dict:
    os.environ["NEURODEPLOY_BRIAN2_CACHE"] = cache
    import brian2  # noqa: F401  (imported before the memory is measured, as the backend is)

    import neurodeploy.backends.brian2  # noqa: F401

    imported = _kib("VmRSS:")
    net = network(neurons, synapses, duration_ms)
    count = sum(len(net.connections(label).pre) for label in net.projections)
    if kind == "quantized":  # its compile would hold its own arrays: built first, memory not compared
        net = quantized_network(net, duration_ms)
    built, building_peak = _kib("VmRSS:"), _kib("VmHWM:")
    _reset_peak()
    started = time.perf_counter()
    if kind == "handwritten":
        run = handwritten(net, duration_ms, codegen, cache)
    elif kind == "quantized":
        run = reference(net, duration_ms, "cython")
    else:
        run = reference(net, duration_ms, codegen)
    run["run_s"] = time.perf_counter() - started
    own = _kib("VmHWM:") - built
    peak = max(building_peak, _kib("VmHWM:"))
    return {
        **run,
        "synapses": count,
        "rss_imported_bytes": imported,
        "rss_built_bytes": built,
        "process_peak_bytes": peak,
        "own_peak_bytes_per_synapse": own / count,
        "process_peak_bytes_per_synapse": (peak - imported) / count,
    }


def quantized_network(net, duration_ms: float):
    """spinn5's quantization-aware reference network (its compile, not timed)."""
    from neurodeploy.catalog import target_description
    from neurodeploy.toolchains import toolchain

    target = target_description("spinn5")
    with tempfile.TemporaryDirectory() as folder:
        compilation = toolchain(target.data["kind"]).compile(
            net, target.data, Path(folder), duration_ms, map_resources=False
        )
    return compilation.reference_network()


def measure(kind: str, codegen: str, args, cache: str) -> dict:
    command = [sys.executable, __file__, "--child", kind, codegen, cache, "--neurons", str(args.neurons)]
    command += ["--synapses", str(args.synapses), "--duration-ms", str(args.duration_ms)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def machine() -> dict:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    model = next((line.split(":", 1)[1].strip() for line in lines if "model name" in line), platform.processor())
    import brian2
    import Cython

    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "brian2": brian2.__version__,
        "cython": Cython.__version__,
    }


MEASUREMENTS = [
    ("reference", "cython"),
    ("handwritten", "cython"),
    ("reference", "numpy"),
    ("handwritten", "numpy"),
    ("quantized", "cython"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neurons", type=int, default=10_000)
    parser.add_argument("--synapses", type=int, default=10_000_000)
    parser.add_argument("--duration-ms", type=float, default=1000.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "CODEGEN", "CACHE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child[:2], args.neurons, args.synapses, args.duration_ms, args.child[2])))
        return
    load = {"start": os.getloadavg()}
    with tempfile.TemporaryDirectory() as caches:
        first = {}
        for kind, codegen in MEASUREMENTS:
            if codegen == "cython":  # the first compile, in a fresh cache of its own
                first[kind] = measure(kind, codegen, args, f"{caches}/{kind}")["build_s"]
                print(f"{kind:12s} first compile: build {first[kind]:6.1f} s", flush=True)
        runs = {f"{kind} {codegen}": [] for kind, codegen in MEASUREMENTS}
        for _ in range(args.repeats):  # round after round: a slower minute of a shared machine falls on every kind
            for kind, codegen in MEASUREMENTS:
                runs[f"{kind} {codegen}"].append(measure(kind, codegen, args, f"{caches}/{kind}"))
        for name, measured in runs.items():
            loops = [run["loop_s"] for run in measured]
            last = measured[-1]
            print(
                f"{name:20s} loop {statistics.median(loops):6.2f} s (of {', '.join(f'{s:.2f}' for s in loops)}), "
                f"build {last['build_s']:5.2f} s, {last['spikes']} spikes, own peak "
                f"{last['own_peak_bytes_per_synapse']:5.1f} B/synapse, process peak "
                f"{last['process_peak_bytes_per_synapse']:5.1f} B/synapse",
                flush=True,
            )
    load["end"] = os.getloadavg()
    median = {name: statistics.median(run["loop_s"] for run in measured) for name, measured in runs.items()}
    ratios = {
        "reference / handwritten, cython": median["reference cython"] / median["handwritten cython"],
        "reference / handwritten, numpy": median["reference numpy"] / median["handwritten numpy"],
        "reference cython / handwritten numpy": median["reference cython"] / median["handwritten numpy"],
        "quantized / float reference, cython": median["quantized cython"] / median["reference cython"],
    }
    for name, ratio in ratios.items():
        print(f"{name:40s} {ratio:5.2f}x")
    print(f"load average (1, 5, 15 min): start {load['start']}, end {load['end']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "bench_reference.json").write_text(
        json.dumps(
            {
                "network": {
                    "model": "feedforward-poisson",
                    "neurons": args.neurons,
                    "synapses": runs["reference cython"][0]["synapses"],
                    "duration_ms": args.duration_ms,
                },
                "first_compile_s": first,
                "median_loop_s": median,
                "ratios": ratios,
                "runs": runs,
                "machine": {**machine(), "load_average": load},
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
