"""Compile-time benchmark: build, validate, lower, check and quantize random networks of growing size
for the SpiNNaker target (no mapping), and report the time of each stage.

    .venv/bin/python scripts/bench_compile.py                     # 10^3 .. 10^5 neurons, ~100 synapses each
    .venv/bin/python scripts/bench_compile.py --neurons 100000 --fan-in 100
"""

from __future__ import annotations

import argparse
import tempfile
import time

from neurodeploy.backends.spinnaker.graph import lower
from neurodeploy.backends.spinnaker.quantize import projection_report, ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_target
from neurodeploy.catalog import target_descriptions
from neurodeploy.description import FixedProbability, Network


def build(neurons: int, fan_in: int) -> Network:
    network = Network("bench", seed=1)
    network.spike_source("inputs", [[1.0]] * (neurons // 10))
    network.population("excitatory", neurons)
    network.project("inputs", "excitatory", FixedProbability(fan_in / 2 / (neurons // 10)), weight=0.1, delay=1.0)
    network.project("excitatory", "excitatory", FixedProbability(fan_in / 2 / neurons), weight=0.05, delay=2.0)
    return network


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neurons", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--fan-in", type=int, default=100, help="synapses per neuron")
    args = parser.parse_args(argv)
    target = target_descriptions()["spinn5"].data
    print(
        f"{'neurons':>8} {'synapses':>10} {'build+validate':>14} {'lower':>7} {'scaling':>8} {'rules+report':>12} "
        f"{'write':>7} {'total s':>8}"
    )
    for neurons in args.neurons:
        times = [time.perf_counter()]
        network = build(neurons, args.fan_in).validate()
        synapses = sum(len(network.connections(label).pre) for label in network.projections)
        times.append(time.perf_counter())
        graph = lower(network)
        times.append(time.perf_counter())
        scaling = ring_buffer_scaling(graph)
        times.append(time.perf_counter())
        check_target(network, graph, scaling, target)
        projection_report(network, graph, scaling)
        times.append(time.perf_counter())
        with tempfile.TemporaryDirectory() as folder:
            graph.save(folder)
        times.append(time.perf_counter())
        stages = [b - a for a, b in zip(times, times[1:])]
        print(
            f"{neurons:>8} {synapses:>10} "
            + " ".join(f"{s:>{w}.2f}" for s, w in zip(stages, (14, 7, 8, 12, 7)))
            + f" {times[-1] - times[0]:>8.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
