"""The process graph in the process that runs it: the processes the compile report names, our recorders
against Lava's stock sink and Var reads, the pipes' threads and shared memory."""

import threading

import numpy as np
import pytest
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source

import neurodeploy as nd
import neurodeploy.backends.lava.graph as graph
from neurodeploy.backends.lava import lower
from neurodeploy.backends.lava.graph import LavaGraph
from neurodeploy.backends.lava.proc.readout.process import SpikeRecorder, VarRecorder
from neurodeploy.backends.lava.toolchain import LoihiToolchain
from neurodeploy.catalog import target_descriptions


def run_graph(network, duration_ms, progress=None):
    lowered = lower(network)
    ticks = network.semantics.duration_ticks(duration_ms)
    return LavaGraph(network, lowered.populations, lowered.projections, lowered.stock, ticks).run(progress)


def rewiring_network(n_pre: int, plasticity=None):
    """Regular sources into 16 neurons through a structural projection "sp" of 8 slots."""
    network = nd.Network("rewiring", seed=4)
    network.spike_source("S", [[float(t) for t in range(i % 5, 40, 7)] for i in range(n_pre)])
    network.population("P", 16, parameters={"tau_refrac": 2.0, "tau_syn_E": 0.3, "tau_m": 3.0, "cm": 0.27})
    grid = (4, 4) if n_pre <= 16 else (32, 32)
    network.project(
        "S",
        "P",
        nd.FromList([0, 1], [0, 5]),
        weight=10.0,
        label="sp",
        structural=nd.Synaptogenesis(s_max=8, grid=grid, initial_weight=10.0, weight_threshold=0.5),
        plasticity=plasticity,
    )
    return network


def driven_population(size: int):
    network = nd.Network("driven")
    network.population("P", size, parameters={"i_offset": np.linspace(0.8, 2.0, size)})
    network.record("P", ["spikes", "v"])
    return network


def test_recorders_pass_to_the_host_what_lavas_stock_sink_and_var_get_hold():
    """A hand-made raster (neurons beyond a packed word's 64 bits, silent ticks, a silent neuron) through
    Lava's stock ring buffers and our recorders, taken in uneven chunks; a Var read at the last tick."""
    neurons, ticks, chunks = 150, 23, (10, 1, 12)
    raster = np.random.default_rng(3).random((neurons, ticks)) < 0.2
    raster[:, [0, 4, 5, ticks - 1]] = False
    raster[77] = False
    raster[149, 7] = raster[64, 8] = raster[63, 8] = True
    source = Source(data=raster.astype(np.int32))
    sink, recorder = Sink(shape=(neurons,), buffer=ticks), SpikeRecorder(shape=(neurons,), buffer=max(chunks))
    final = VarRecorder(vars=[source.data], every_tick=False, last_tick=ticks)
    source.s_out.connect(sink.a_in)
    source.s_out.connect(recorder.a_in)
    received = []
    try:
        for steps in chunks:
            source.run(condition=RunSteps(num_steps=steps), run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
            received.append(recorder.receive(steps))
        stock = sink.data.get().astype(bool)
        data = final.receive(0)[0]
    finally:
        source.stop()
    assert stock.shape == (neurons, ticks) and np.array_equal(stock, raster)
    assert np.array_equal(np.concatenate(received).T, stock)
    assert data.dtype == np.int64 and np.array_equal(data, raster)


def test_recorders_pipes_end_with_the_run():
    # Lava starts a listening thread per host end of a pipe, which its stop leaves running.
    network = driven_population(3)
    baseline = threading.active_count()
    for _ in range(2):
        run_graph(network, 20.0)
        assert threading.active_count() == baseline

    def interrupt(fraction):
        raise RuntimeError("during the run")

    with pytest.raises(RuntimeError):
        run_graph(network, 20.0, progress=interrupt)
    assert threading.active_count() == baseline


def test_chunks_are_bounded_by_the_recorders_shared_memory(monkeypatch):
    # 14 neurons' v and spikes: 14 * 8 + 2 bytes a tick, 20 ticks in 2,400 bytes: 200 ticks in 10 runs
    # by default, in 10 runs of 20 ticks when the pipes may hold 2,400 bytes, in 100 runs when 300 bytes.
    network = driven_population(14)
    runs = {}
    for pipes_bytes in (graph.PIPES_BYTES, 2400, 300):
        monkeypatch.setattr(graph, "PIPES_BYTES", pipes_bytes)
        reports = []
        result = run_graph(network, 200.0, progress=reports.append)
        runs[pipes_bytes] = (len(reports), result.spikes["P"], result.voltages["P"])
        assert reports[-1] == 1.0
    assert [count for count, _, _ in runs.values()] == [10, 10, 100]
    (_, (neurons, ticks), v), *others = runs.values()
    assert len(ticks) > 50
    assert all(
        np.array_equal(other_neurons, neurons) and np.array_equal(other_ticks, ticks) and np.array_equal(other_v, v)
        for _, (other_neurons, other_ticks), other_v in others
    )


def test_compile_report_names_the_processes_the_graph_builds(tmp_path):
    network = rewiring_network(16)
    network.project("S", "P", nd.OneToOne(), weight=0.5, label="static")
    network.project("S", "P", nd.OneToOne(), weight=0.5, delay=3.0, label="delayed")
    network.project("S", "P", nd.OneToOne(), weight=0.5, plasticity=nd.STDP(w_max=1.0), label="plastic")
    network.project(
        "S",
        "P",
        nd.FromList([0], [1]),
        weight=1.0,
        label="plastic structural",
        plasticity=nd.STDP(w_max=12.0),
        structural=network.projections["sp"].structural,
    )
    network.population("Q", 3, "IF_cond_exp")
    network.project("P", "Q", nd.AllToAll(), weight=0.01, label="P->Q")
    network.population("L", 3, parameters={"tau_refrac": 0.0, "v_reset": -65.0})
    network.project("S", "L", nd.AllToAll(), weight=0.5, label="S->L")
    lowered = lower(network)
    assert lowered.stock == {"L"}
    processes = LoihiToolchain().compile(network, target_descriptions()["loihi2"].data, tmp_path, 10.0).processes()
    graph = LavaGraph(network, lowered.populations, lowered.projections, lowered.stock, 10)
    built = {"populations": graph.neurons, "projections": graph.connections, "spike_sources": graph.sources}
    assert {kind: {label: name for label, (name, _) in items.items()} for kind, items in processes.items()} == {
        kind: {
            label: (
                type(process).__name__
                if type(process).__module__.startswith("neurodeploy")
                else f"{type(process).__module__.removesuffix('.process')}.{type(process).__name__}"
            )
            for label, process in items.items()
        }
        for kind, items in built.items()
    }
    assert processes["projections"]["sp"] == ("StructuralSynapses", "neurodeploy")
    assert {name for items in processes.values() for name, _ in items.values()} >= {
        "lava.proc.sparse.Sparse",
        "lava.proc.sparse.DelaySparse",
        "PairSTDPSynapses",
        "lava.proc.lif.LIF",
    }


@pytest.mark.parametrize("plastic", [False, True])
def test_structural_processes_hold_slots_not_candidate_pairs(plastic):
    # 1,000 inputs onto 16 neurons of 8 slots: 128 synapses, not 16,000 candidate pairs
    network = rewiring_network(1000, nd.STDP(A_plus=0.1, A_minus=0.1, w_min=0.0, w_max=12.0) if plastic else None)
    lowered = lower(network)
    process = LavaGraph(network, lowered.populations, lowered.projections, lowered.stock, 10).structural["sp"]
    assert process.pre.shape == process.weights.shape == ((128,) if plastic else (16, 8))
