"""The process graph in the process that runs it: the processes the compile report names, what the
processes record against Lava's stock sink, Monitor and Var reads, the threads and files a run leaves."""

import threading

import numpy as np
import pytest
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.dense.process import Dense
from lava.proc.io.sink import RingBuffer as Sink
from lava.proc.io.source import RingBuffer as Source
from lava.proc.lif.process import LIF
from lava.proc.monitor.process import Monitor

import neurodeploy as nd
import neurodeploy.backends.lava.graph as graph_module
from neurodeploy.backends.lava import lower
from neurodeploy.backends.lava.graph import LavaGraph
from neurodeploy.backends.lava.proc.recording import Recordings
from neurodeploy.backends.lava.proc.stock import STOCK_MODELS
from neurodeploy.backends.lava.toolchain import LoihiToolchain
from neurodeploy.catalog import model_families, target_descriptions


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


def test_stock_processes_write_what_lavas_sink_monitor_and_var_get_hold(tmp_path):
    """A hand-made raster (silent ticks, a silent neuron) from Lava's ring buffer through Dense into Lava's LIF
    with a bias per neuron, both on their stock models with the recording mixin, run in uneven chunks: the
    spikes each wrote are what Lava's stock sinks received, the v the LIF wrote each tick what Lava's Monitor
    read, and the data the source wrote at the end what ``Var.get`` gives."""
    neurons, ticks, chunks = 70, 23, (10, 1, 12)
    raster = np.random.default_rng(3).random((neurons, ticks)) < 0.2
    raster[:, [0, 4, 5, ticks - 1]] = False
    raster[37] = False
    source = Source(data=raster.astype(np.int32))
    dense = Dense(weights=np.eye(neurons, dtype=np.int32) * 90)
    lif = LIF(shape=(neurons,), du=2000, dv=300, vth=100, bias_mant=np.arange(neurons) * 12, bias_exp=3)
    source.s_out.connect(dense.s_in)
    dense.a_out.connect(lif.a_in)
    inputs, outputs = Sink(shape=(neurons,), buffer=ticks), Sink(shape=(neurons,), buffer=ticks)
    source.s_out.connect(inputs.a_in)
    lif.s_out.connect(outputs.a_in)
    monitor = Monitor()
    monitor.probe(lif.v, ticks)
    recordings = Recordings(tmp_path, ticks)
    recordings.spikes(source)
    recordings.final(source.data)
    recordings.spikes(lif)
    recordings.trace(lif.v)
    recordings.give_plans()
    try:
        for steps in chunks:
            source.run(
                condition=RunSteps(num_steps=steps),
                run_cfg=Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=STOCK_MODELS),
            )
        sent, fired = inputs.data.get().astype(bool), outputs.data.get().astype(bool)
        v = monitor.get_data()[lif.name]["v"]
        data = source.data.get()
    finally:
        source.stop()
    assert np.array_equal(sent, raster) and 0 < fired.sum() < fired.size and np.ptp(v) > 0
    for process, stock in ((source, sent), (lif, fired)):
        neurons_, ticks_ = recordings.spikes_of(process)
        assert np.array_equal(np.transpose(np.nonzero(stock.T)), np.stack([ticks_, neurons_], axis=1))
    assert np.array_equal(recordings.trace_of(lif.v), v)
    assert np.array_equal(recordings.finals()[(source.name, "data")], data)
    assert recordings.seconds() > 0


def test_a_run_leaves_no_threads_and_no_files(tmp_path):
    network = driven_population(3)
    lowered = lower(network)
    baseline = threading.active_count()

    def graph():
        return LavaGraph(network, lowered.populations, lowered.projections, lowered.stock, 20, folder=tmp_path)

    for _ in range(2):
        assert graph().run().about["read_back_s"] > 0
        assert threading.active_count() == baseline and not list(tmp_path.iterdir())

    def interrupt(fraction):
        raise RuntimeError("during the run")

    with pytest.raises(RuntimeError):
        graph().run(progress=interrupt)
    assert threading.active_count() == baseline and not list(tmp_path.iterdir())


def test_chunks_report_progress_and_change_nothing():
    # 14 neurons' v and spikes over 200 ticks in 1, 7 and 10 runs: a report after each, the same results
    network = driven_population(14)
    lowered = lower(network)
    runs = {}
    for chunks in (10, 1, 7):
        reports = []
        graph = LavaGraph(network, lowered.populations, lowered.projections, lowered.stock, 200, chunks=chunks)
        result = graph.run(progress=reports.append)
        runs[chunks] = (len(reports), result.spikes["P"], result.voltages["P"])
        assert reports[-1] == 1.0
    assert [count for count, _, _ in runs.values()] == [10, 1, 7]
    (_, (neurons, ticks), v), *others = runs.values()
    assert len(ticks) > 50 and v.shape == (200, 14)
    assert all(
        np.array_equal(other_neurons, neurons) and np.array_equal(other_ticks, ticks) and np.array_equal(other_v, v)
        for _, (other_neurons, other_ticks), other_v in others
    )


def test_delay_sparse_built_once_runs_as_lavas_own_model(monkeypatch):
    """Feed-forward with delays 1 to 4 and recurrence, the delayed weights changed at 40 ms: the same spikes
    and v as with Lava's own DelaySparse model, which builds its weights by delay every tick; without the
    change, the same until 40 ms only (the change is taken up)."""
    network = model_families()["feedforward-poisson"].module.build(
        n_neurons=30, n_inputs=20, rate_hz=40.0, duration_ms=80.0, recurrent_p=0.1, w_high=3.0
    )
    network.record("neurons", ["spikes", "v"])
    unchanged = network.replaced()
    network.change(nd.WeightChange(40.0, "inputs->neurons", 0.8))
    lavas_own = {process: model for process, model in STOCK_MODELS.items() if process.__name__ != "DelaySparse"}
    runs = []
    for net, models in ((network, STOCK_MODELS), (network, lavas_own), (unchanged, STOCK_MODELS)):
        monkeypatch.setattr(graph_module, "STOCK_MODELS", models)
        lowered = lower(net)
        graph = LavaGraph(net, lowered.populations, lowered.projections, lowered.stock, 80, stages=lowered.stages)
        assert type(graph.connections["inputs->neurons"]).__name__ == "DelaySparse"
        run = graph.run()
        runs.append((*run.spikes["neurons"], run.voltages["neurons"]))
    (neurons, ticks, v), lavas, before = runs
    assert ticks.size > 50 and all(np.array_equal(a, b) for a, b in zip((neurons, ticks, v), lavas))
    assert np.array_equal(v[:40], before[2][:40]) and not np.array_equal(v[40:], before[2][40:])


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
