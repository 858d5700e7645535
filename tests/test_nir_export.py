"""NIR export: the graph `nir.read` gets back holds, node by node, the numbers derived by hand from a tiny
description; what NIR cannot hold is refused in one line; and the import of an export is the same network
(populations, cells, per-tick numbers, connections, Brian2 spikes) for every registered static model."""

import json
import math

import nir
import numpy as np
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import ROOT, run_reference
from neurodeploy.catalog import load_model, model_families
from neurodeploy.cli import main
from neurodeploy.description import resources
from neurodeploy.interchange import nir_export, nir_import


def tiny(discretization="exact", synaptic_init="mean_first_tick", **semantics) -> nd.Network:
    """S (2 sources) -> A (3 IF_curr_exp, tau_syn 2 ms) in one tick, excitatory and inhibitory onto one
    pair; A -> B (2 IF_curr_delta, i_offset 0.3 nA) inhibitory in 3 ticks; dt 0.5 ms."""
    semantics = nd.Semantics(dt=0.5, discretization=discretization, synaptic_init=synaptic_init, **semantics)
    net = nd.Network("tiny", semantics, seed=4, duration=20.0)
    net.spike_source("S", [[0.5, 3.0], [1.0]])
    net.population(
        "A",
        3,
        "IF_curr_exp",
        {"tau_m": 10.0, "cm": 0.5, "tau_syn_E": 2.0, "tau_syn_I": 2.0, "v_rest": -60.0, "v_reset": -70.0},
        {"v": -60.0},
    )
    net.population("B", 2, "IF_curr_delta", {"tau_m": 20.0, "cm": 2.0, "tau_refrac": 0.0, "i_offset": 0.3})
    net.project("S", "A", nd.FromList([0, 1], [0, 2]), weight=[1.0, 4.0], delay=0.5, label="S->A")
    net.project("S", "A", nd.FromList([0], [0]), weight=0.25, delay=0.5, receptor="inhibitory", label="S-|A")
    net.project("A", "B", nd.AllToAll(), weight=0.4, delay=1.5, receptor="inhibitory")
    net.record("B")
    return net


def test_nir_reads_the_export_with_the_numbers_derived_by_hand(tmp_path):
    exported = nir_export.write(tiny(), tmp_path / "tiny.nir")
    graph = nir.read(tmp_path / "tiny.nir")
    kinds = {name: type(node).__name__ for name, node in graph.nodes.items()}
    assert kinds == {
        "S": "Input",
        "A": "CubaLIF",
        "B": "LIF",
        "S->A": "Linear",
        "A->B delay 3": "Delay",
        "A->B delay 3 weights": "Affine",
        "B output": "Output",
    }
    assert sorted(graph.edges) == sorted(
        [
            ("S", "S->A"),
            ("S->A", "A"),
            ("A", "A->B delay 3"),
            ("A->B delay 3", "A->B delay 3 weights"),
            ("A->B delay 3 weights", "B"),
            ("B", "B output"),
        ]
    )
    assert graph.nodes["S"].input_type["input"].tolist() == [2]
    a, b = graph.nodes["A"], graph.nodes["B"]
    assert a.tau_mem.tolist() == pytest.approx([0.01] * 3) and a.tau_syn.tolist() == pytest.approx([0.002] * 3)
    assert a.r.tolist() == pytest.approx([20.0] * 3)  # tau_m / cm: 10 ms / 0.5 nF
    assert (a.v_leak.tolist(), a.v_threshold.tolist(), a.v_reset.tolist()) == ([-60.0] * 3, [-50.0] * 3, [-70.0] * 3)
    assert a.w_in.tolist() == [1.0] * 3
    assert b.tau.tolist() == pytest.approx([0.02] * 2) and b.r.tolist() == pytest.approx([10.0] * 2)
    # A's synaptic state jumps by init w = (tau_syn/dt)(1 - E) w; an input held over a tick raises it by (1 - E):
    # NIR's weight is (tau_syn/dt) w = 4 w, the inhibitory 0.25 on the same pair subtracted.
    np.testing.assert_allclose(graph.nodes["S->A"].weight, [[4 * (1.0 - 0.25), 0.0], [0.0, 0.0], [0.0, 16.0]])
    # B's weights are charges: the tick's current is q / dt = -0.4 / 0.5; the bias is i_offset.
    affine = graph.nodes["A->B delay 3 weights"]
    np.testing.assert_allclose(affine.weight, [[-0.8] * 3] * 2)
    assert affine.bias.tolist() == [0.3, 0.3]
    assert graph.nodes["A->B delay 3"].delay.tolist() == pytest.approx([0.001] * 3)  # 2 ticks beyond the edge's
    assert graph.nodes["B output"].output_type["output"].tolist() == [2]
    assert graph.metadata["neurodeploy"]["dt"] == 0.5 and graph.metadata["neurodeploy"]["threshold"] == ">="
    assert graph.metadata["neurodeploy"]["synaptic_init"] == "none" and graph.metadata["neurodeploy"]["seed"] == 4
    kept = a.metadata["neurodeploy"]
    assert kept["cell_type"] == "IF_curr_exp" and kept["parameters"]["tau_refrac"] == 0.1
    assert kept["initial_values"]["v"] == -60.0 and b.metadata["neurodeploy"]["parameters"]["i_offset"] == 0.3
    assert json.loads((tmp_path / "tiny.stimulus.json").read_text()) == {"S": [[0.5, 3.0], [1.0]]}
    assert exported.unseen == [
        "the time step dt = 0.5 ms and the 'exact' discretization",
        "the one tick every connection takes (Delay nodes hold only the delay beyond it)",
        "the threshold comparison V >= v_thresh (NIR's neurons spike on v > v_th)",
        "the refractory periods of A",
        "the initial values of B",  # a plain import cancels B's bias in tick 0 (a charge of -0.3 * 0.5 nA ms)
    ]


def test_weights_follow_the_discretization_and_synaptic_init():
    # euler: init 1 and 1 - E = dt / tau_syn: again (tau_syn / dt) w
    euler = nir_export.to_graph(tiny("euler")).graph.nodes["S->A"].weight
    np.testing.assert_allclose(euler, [[3.0, 0.0], [0.0, 0.0], [0.0, 16.0]])
    # no init scaling: the weight itself is the jump, w / (1 - exp(-dt / tau_syn))
    unscaled = nir_export.to_graph(tiny(synaptic_init="none")).graph.nodes["S->A"].weight
    rise = 1.0 - math.exp(-0.25)
    np.testing.assert_allclose(unscaled, [[0.75 / rise, 0.0], [0.0, 0.0], [0.0, 4.0 / rise]])


def test_i_offset_is_a_bias_and_the_start_it_implies_is_said():
    net = tiny()
    offset = nd.Population("A", 3, "IF_curr_exp", {**net.populations["A"].parameters, "i_offset": 0.5})
    exported = nir_export.to_graph(net.replaced(populations={"A": offset}))
    assert exported.graph.nodes["S->A"].bias.tolist() == [0.5] * 3  # i_offset = w_in b, w_in 1
    # a plain import starts the bias one tick into the run (a synaptic state of -b cancels it in tick 0)
    assert exported.unseen[-1] == "the initial values of A, B"
    started = nd.Population("A", 3, "IF_curr_exp", offset.parameters, {"isyn_exc": -0.5, "v": -60.0})
    exported = nir_export.to_graph(net.replaced(populations={"A": started}))
    assert exported.unseen[-1] == "the initial values of B"
    unfed = nd.Network("unfed")
    unfed.population("P", 1, "IF_curr_delta", {"i_offset": 1.0})
    assert "the i_offset, which no weight node carries as a bias, of P" in nir_export.to_graph(unfed).unseen


def static_network(**changes) -> nd.Network:
    net = nd.Network("n", nd.Semantics(**changes.pop("semantics", {})))
    net.spike_source("S", [[1.0]])
    net.population("P", 2, changes.pop("cell_type", "IF_curr_exp"), changes.pop("parameters", {}))
    net.project("S", "P", nd.AllToAll(), weight=0.5, **changes)
    return net


@pytest.mark.parametrize(
    "network, expected",
    [
        (
            lambda: static_network(plasticity=nd.STDP(w_max=1.0)),
            "projection 'S->P', field 'plasticity': NIR graphs are static: STDP cannot be exported",
        ),
        (lambda: load_model("livewired-assoc").network, "field 'structural': NIR graphs are static"),
        (
            lambda: static_network(cell_type="IF_cond_exp"),
            "IF_cond_exp cannot be exported: NIR has no conductance-based neuron",
        ),
        (lambda: static_network(cell_type="Izhikevich"), "Izhikevich cannot be exported: NIR has no Izhikevich"),
        (
            lambda: static_network(parameters={"tau_syn_I": 10.0}),
            "field 'parameters.tau_syn_I': differs from tau_syn_E: NIR's CubaLIF has one synaptic time constant",
        ),
    ],
)
def test_what_nir_cannot_hold_is_refused_in_one_line(network, expected):
    with pytest.raises(nd.ValidationError) as error:
        nir_export.to_graph(network())
    assert expected in str(error.value) and "\n" not in str(error.value)


def test_turnover_is_refused():
    network = static_network()
    network.turnover("P", nd.NeuronTurnover(initial_alive=1))  # the one dynamic part
    with pytest.raises(nd.ValidationError, match="population 'P', field 'turnover': NIR graphs are static"):
        nir_export.to_graph(network)


def test_a_current_source_is_refused():
    network = static_network()
    network.inject("P", nd.DCSource(0.5), label="drive")
    with pytest.raises(nd.ValidationError, match="current source 'drive', field 'source': NIR has no node"):
        nir_export.to_graph(network)


def test_dense_weights_beyond_the_memory_limit_are_refused_before_they_are_made():
    net = nd.Network("wide")
    net.spike_source("S", [[] for _ in range(300)])
    net.population("P", 300)
    net.project("S", "P", nd.OneToOne(), weight=0.1, delay=1.0, label="near")
    net.project("S", "P", nd.OneToOne(), weight=0.1, delay=2.0, label="far")
    net.validate()
    # two delays: two 300 x 300 matrices, 16 bytes an entry
    resources.set_memory_limit(2 * 300 * 300 * 16 - 1)
    try:
        with pytest.raises(nd.ValidationError, match=r"NIR's dense weight matrices \(180000 entries\) need about 2.9"):
            nir_export.to_graph(net)
    finally:
        resources.set_memory_limit(None)


def test_the_command_writes_the_graph_and_stimulus_and_says_what_plain_nir_misses(tmp_path):
    out = tmp_path / "ff.nir"
    arguments = ["export", "feedforward-poisson", "--param", "n_neurons=5", "--param", "n_inputs=3"]
    result = CliRunner().invoke(main, [*arguments, "--seed", "2", "--to", "nir", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "a plain NIR reader does not see" in result.output and "refractory periods of neurons" in result.output
    model = load_model("feedforward-poisson", {"n_neurons": 5, "n_inputs": 3}, seed=2).network
    times = json.loads((tmp_path / "ff.stimulus.json").read_text())["inputs"]
    assert times == [train.tolist() for train in model.spike_sources["inputs"].spike_times]
    assert nir.read(out).nodes["neurons"].tau_mem.shape == (5,)
    refused = CliRunner().invoke(main, ["export", "ca3-cam", "--to", "nir", "--out", str(tmp_path / "c.nir")])
    assert refused.exit_code == 2 and "STDP cannot be exported" in refused.output
    assert not (tmp_path / "c.nir").exists()


# --- round trip through the importer -----------------------------------------------------------------

SMALL = {
    "feedforward-poisson": {
        "n_neurons": 20,
        "n_inputs": 10,
        "duration_ms": 100.0,
        "rate_hz": 200.0,
        "w_high": 3.0,
        "recurrent_p": 0.2,
    },
    "topographic-map": {"duration_ms": 20.0, "rewiring": False},
}
"""Parameters that keep a family's network small; the others are small by default."""
VARIANTS = [
    ("feedforward-poisson", {**SMALL["feedforward-poisson"], "cell_type": "IF_curr_delta", "i_offset": 0.2}),
    ("feedforward-poisson", {**SMALL["feedforward-poisson"], "i_offset": 0.5, "dt_ms": 0.5, "max_delay_ms": 3.0}),
]
"""Variants of a static family that reach the other cell type, a bias and another dt."""
DURATION_MS = 60.0


def test_an_export_makes_its_folder_replaces_only_its_own_files_and_keeps_the_users(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    arguments = ["export", "feedforward-poisson", "--param", "n_neurons=5", "--param", "n_inputs=3", "--to", "nir"]
    made = CliRunner().invoke(main, [*arguments, "--out", "new/folder/ff.nir"])
    assert made.exit_code == 0, made.output
    assert nir.read(tmp_path / "new" / "folder" / "ff.nir").nodes["neurons"].tau_mem.shape == (5,)
    again = CliRunner().invoke(main, [*arguments, "--param", "n_neurons=6", "--out", "new/folder/ff.nir"])
    assert again.exit_code == 0, again.output
    assert nir.read(tmp_path / "new" / "folder" / "ff.nir").nodes["neurons"].tau_mem.shape == (6,)
    for name, content in (("mine.stimulus.json", "precious\n"), ("theirs.nir", "not a graph\n")):
        (tmp_path / name).write_text(content)
        out = name.replace(".stimulus.json", ".nir")
        refused = CliRunner().invoke(main, [*arguments, "--out", out])
        assert refused.exit_code == 2 and "is not a neurodeploy export" in refused.output, refused.output
        assert (tmp_path / name).read_text() == content
        assert len(refused.output.strip().splitlines()) == 1


def read_graph(path):
    """The importer's reading of a graph (its metadata giving dt and the semantics), with the stimulus
    written beside it."""
    network = nir_import.read_graph(path)
    return network.with_spike_times(json.loads(nir_export.stimulus_path(path).read_text()))


def connection_set(network) -> dict:
    """(pre label, pre, post label, post, delay ticks) -> summed signed effective weight (the synaptic
    state's jump), zeros left out."""
    sums = {}
    for label, projection in network.projections.items():
        connections = network.connections(label)
        population = network.populations[projection.post]
        factor = population.init_factor(projection.receptor, network.semantics)[connections.post]
        sign = 1.0 if projection.receptor == "excitatory" else -1.0
        for pre, post, weight, delay in zip(
            connections.pre.tolist(),
            connections.post.tolist(),
            (sign * factor * connections.weight).tolist(),
            connections.delay_ticks.tolist(),
        ):
            key = (projection.pre, pre, projection.post, post, delay)
            sums[key] = sums.get(key, 0.0) + weight
    return {key: weight for key, weight in sums.items() if weight != 0.0}


def per_tick(population, semantics) -> dict:
    """The numbers a tick computes with: decays, resistance, refractory ticks, init factors."""
    numbers = {
        "E_m": semantics.decay(population.value("tau_m")),
        "R": population.value("tau_m") / population.value("cm"),
        "refractory": semantics.refractory_ticks(population.value("tau_refrac")),
    }
    for receptor in population.cell.receptors:
        numbers[f"E_{receptor}"] = population.synaptic_decay(receptor, semantics)
        numbers[f"start_{receptor}"] = population.initial_input(receptor, semantics)
    return numbers


def assert_same_network(original: nd.Network, imported: nd.Network):
    assert imported.semantics.dt == original.semantics.dt
    for name in ("threshold", "reset", "refractory", "discretization"):
        assert getattr(imported.semantics, name) == getattr(original.semantics, name), name
    assert list(imported.spike_sources) == list(original.spike_sources)
    for label, source in original.spike_sources.items():
        assert [t.tolist() for t in imported.spike_sources[label].spike_times] == [
            t.tolist() for t in source.spike_times
        ]
    assert list(imported.populations) == list(original.populations)
    for label, population in original.populations.items():
        again = imported.populations[label]
        assert (again.size, again.cell_type) == (population.size, population.cell_type), label
        for name in (*population.parameters, *population.initial_values):
            np.testing.assert_array_equal(again.value(name), population.value(name), err_msg=f"{label} {name}")
        expected, got = per_tick(population, original.semantics), per_tick(again, imported.semantics)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name], err_msg=f"{label} {name}")
    expected, got = connection_set(original), connection_set(imported)
    assert got.keys() == expected.keys()
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), rtol=4 * np.finfo(float).eps)


def round_trip_cases():
    cases = []
    for name in model_families():
        cases.append(pytest.param(name, SMALL.get(name, {}), id=name))
    cases += [pytest.param(name, parameters, id=f"{name}-{parameters['i_offset']}") for name, parameters in VARIANTS]
    return cases


@pytest.mark.parametrize("family, parameters", round_trip_cases())
def test_import_of_an_export_is_the_same_network(tmp_path, family, parameters):
    original = load_model(family, dict(parameters)).network
    dynamic = [p for p in original.projections.values() if p.plasticity is not None or p.structural is not None]
    if dynamic or original.turnovers:
        with pytest.raises(nd.ValidationError, match="NIR graphs are static"):
            nir_export.to_graph(original)
        return
    assert_round_trip(original, tmp_path / "model.nir")


@pytest.mark.parametrize(
    "semantics",
    [{}, {"discretization": "euler"}, {"discretization": "euler", "reset": "subtract", "threshold": ">"}],
    ids=["exact", "euler", "euler-subtract"],
)
def test_the_semantics_come_back_with_the_graph(tmp_path, semantics):
    assert_round_trip(tiny(**semantics), tmp_path / "tiny.nir")


def assert_round_trip(original: nd.Network, path):
    """Export, import: the same network, and the same spikes on Brian2 (some of them in populations)."""
    nir_export.write(original, path)
    imported = read_graph(path)
    assert_same_network(original, imported)
    for network in (original, imported):
        for label in network.populations:
            network.record(label)
    spikes = [run_reference(network, DURATION_MS).spikes for network in (original, imported)]
    assert sum(len(train) for label in original.populations for train in spikes[0].populations[label]) > 0
    for label in original.populations:
        assert [t.tolist() for t in spikes[1].populations[label]] == [t.tolist() for t in spikes[0].populations[label]]


@pytest.mark.parametrize("graph, reset", [("bias_zero", "to_v_reset"), ("noBias_subtract", "subtract")])
def test_an_imported_public_graph_exports_to_the_same_network(tmp_path, graph, reset):
    """The NIR paper's Braille graphs (dotted node names, biases, a recurrent edge) survive import, export
    and import again."""
    path = ROOT.parent / "shared" / "external" / "nir-paper-braille-srnn" / f"braille_noDelay_{graph}.nir"
    if not path.is_file():
        pytest.skip(f"needs ../shared/external beside the checkout: no {path}")
    original = nir_import.read_graph(path, dt_ms=0.1, discretization="euler", reset=reset, threshold=">")
    original = original.with_spike_times({"input": [[0.1 * k for k in range(3, 200, 7)]] * 12})
    assert_round_trip(original, tmp_path / "braille.nir")


def test_a_graph_changed_after_its_export_is_refused_not_overridden_by_its_metadata(tmp_path):
    """The metadata keeps tau_m exactly; a graph whose node was edited since disagrees with it: one error,
    never the metadata's value in silence."""
    path = tmp_path / "tiny.nir"
    nir_export.write(tiny(), path)
    assert_same_network(tiny(), read_graph(path))  # unedited: the metadata agrees with the node
    graph = nir.read(path)
    graph.nodes["A"].tau_mem = graph.nodes["A"].tau_mem * 3
    nir.write(path, graph)
    with pytest.raises(nd.ValidationError, match="parameters.tau_m.*changed after neurodeploy wrote it"):
        read_graph(path)
