"""Lava benchmark: compile time and simulation speed of neurodeploy's Lava graphs against a
hand-written Lava graph of the same network (stock LIF, Sparse, ring-buffer source and sink, with
the same integer parameters), for 10^3 to 10^4 neurons. Both must produce the same spikes.

    .venv-lava/bin/python scripts/bench_lava.py [--neurons 1000 3000 10000] [--steps 200]

It runs in the Lava environment (Python 3.10, lava-nc), where the graph is built and run in-process.
"""

from __future__ import annotations

import argparse
import time

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


def network(neurons: int, steps: int, fan_in: int = 100) -> Network:
    net = Network("bench", seed=3)
    inputs = neurons // 2
    net.spike_source("inputs", poisson_spike_times(inputs, 20.0, steps, 1.0, np.random.default_rng(3)))
    net.population("neurons", neurons, parameters={"tau_refrac": 0.0})
    net.project("inputs", "neurons", FixedProbability(min(1.0, fan_in / inputs), seed=5), weight=1.5, label="in")
    net.record("neurons")
    return net


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


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neurons", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--steps", type=int, default=200)
    args = parser.parse_args(argv)
    print(
        f"{'neurons':>8} {'synapses':>9} {'ours: compile s':>15} {'run ms/step':>11} "
        f"{'hand-written: build s':>21} {'run ms/step':>11} {'same spikes':>11}"
    )
    for neurons in args.neurons:
        net = network(neurons, args.steps)
        started = time.perf_counter()
        lowered = lower(net)
        graph = LavaGraph(net, lowered.populations, lowered.projections, lowered.stock, args.steps, chunks=1)
        compiled = time.perf_counter()
        spikes = graph.run().spikes
        ours_run = time.perf_counter() - compiled

        started_hand = time.perf_counter()
        lif, sink = hand_written(net, lowered, args.steps)
        built = time.perf_counter()
        try:
            lif.run(condition=RunSteps(num_steps=args.steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
            hand_spikes = np.nonzero(sink.data.get())
        finally:
            lif.stop()
        hand_run = time.perf_counter() - built
        same = all(np.array_equal(a, b) for a, b in zip(spikes["neurons"], hand_spikes))
        print(
            f"{neurons:>8} {len(net.connections('in').pre):>9} {compiled - started:>15.2f} "
            f"{1000 * ours_run / args.steps:>11.1f} {built - started_hand:>21.2f} "
            f"{1000 * hand_run / args.steps:>11.1f} {str(same):>11}",
            flush=True,
        )


if __name__ == "__main__":
    main()
