"""PyNN scripts in and out: a SpiNNaker user's script (``import pyNN.spiNNaker as sim``) captured as the
description ``neurodeploy.pynn`` builds from it, and deployed through the command line; a description
exported as a PyNN script that, run on ``neurodeploy.pynn``, gives the description's own Brian2 spikes."""

import json
import re
import subprocess
import sys
import types
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyNN
import pytest
from click.testing import CliRunner

import neurodeploy as nd
import neurodeploy.pynn as sim
from neurodeploy import catalog
from neurodeploy.backends import make_backend
from neurodeploy.backends.spinnaker.toolchain import compile_network
from neurodeploy.cli import main
from neurodeploy.description import Semantics
from neurodeploy.errors import ValidationError
from neurodeploy.interchange import pynn_export
from neurodeploy.pynn import simulator
from neurodeploy.pynn.build import build_network
from neurodeploy.pynn.capture import capture, run_script
from neurodeploy.results import SpikeRecord

NETWORK = """
sim.setup(timestep=0.1, seed=3)
stimulus = sim.Population(20, sim.SpikeSourcePoisson(rate=50.0), label="stimulus")
cue = sim.Population(3, sim.SpikeSourceArray(spike_times=[[1.0, 7.5], [2.0], []]), label="cue")
excitatory = sim.Population(40, sim.IF_curr_exp(tau_m=15.0, i_offset=0.2), label="excitatory")
inhibitory = sim.Population(10, sim.IF_cond_exp(), label="inhibitory")
excitatory.initialize(v=-60.0)
sim.Projection(stimulus, excitatory, sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(seed=4)),
               sim.StaticSynapse(weight=0.8, delay=1.0), label="drive")
sim.Projection(cue, excitatory[5:8], sim.OneToOneConnector(), sim.StaticSynapse(weight=2.0, delay=0.5))
sim.Projection(excitatory, inhibitory, sim.AllToAllConnector(), sim.StaticSynapse(weight=0.01, delay=0.5))
sim.Projection(inhibitory, excitatory, sim.FromListConnector([(0, 1, 0.5, 1.0), (3, 2, 0.25, 2.0)]),
               receptor_type="inhibitory")
excitatory.record(["spikes", "v"])
"""
SCRIPT = "import pyNN.spiNNaker as sim\n\nsim.set_number_of_neurons_per_core(sim.IF_curr_exp, 32)\n" + NETWORK


@pytest.fixture(autouse=True)
def fresh_simulator():
    yield
    sim.end()


def write_script(folder, text, name="script.py"):
    path = folder / name
    path.write_text(text)
    return path


def test_a_spinnaker_script_captured_is_the_description_neurodeploy_pynn_builds(tmp_path, monkeypatch):
    path = write_script(tmp_path, SCRIPT + "sim.run(80.0)\ndata = excitatory.get_data()\nsim.end()\n")
    spynnaker = types.ModuleType("pyNN.spiNNaker")  # sPyNNaker, imported before: as a package attribute too
    monkeypatch.setitem(sys.modules, "pyNN.spiNNaker", spynnaker)
    monkeypatch.setattr(pyNN, "spiNNaker", spynnaker, raising=False)
    captured = capture(path)
    assert sys.modules["pyNN.spiNNaker"] is spynnaker and pyNN.spiNNaker is spynnaker  # put back

    exec(NETWORK, {"sim": sim})  # the same calls on neurodeploy.pynn itself, built without running
    built = build_network(simulator.state, 80.0)
    assert captured.name == "script"  # the script's name
    built.name = captured.name
    assert captured == built
    assert captured.duration == 80.0 and captured.semantics.dt == 0.1
    assert [len(t) for t in captured.spike_sources["cue"].spike_times] == [2, 1, 0]
    assert sum(len(t) for t in captured.spike_sources["stimulus"].spike_times) > 0
    assert captured.recordings == {"excitatory": ("spikes", "v")}


LEARNING = """
sim.setup(timestep=1.0, seed=5)
source = sim.Population(4, sim.SpikeSourceArray(spike_times=[5.0, 15.0, 25.0]), label="source")
cells = sim.Population(4, sim.IF_curr_exp(), label="cells")
stdp = sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0, A_plus=0.1, A_minus=0.1),
                         weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=5.0), weight=3.0, delay=1.0)
learning = sim.Projection(source, cells, sim.OneToOneConnector(), stdp, label="learning")
rewiring = sim.Projection(source, cells, sim.FromListConnector([(0, 1, 0.5, 1.0)]), sim.StructuralMechanismStatic(
    sim.RandomSelection(), sim.DistanceDependentFormation(grid=[2, 2]), sim.RandomByWeightElimination(threshold=0.5),
    with_replacement=False, weight=0.5, delay=1.0), label="rewiring")
cells.record("spikes")
sim.run(30.0)
"""


def test_a_script_reading_learned_and_rewired_weights_after_its_run_is_captured(tmp_path):
    # The weights a run learned and the synapses it rewired are the run's: captured (nothing simulated) the
    # script reads them as it reads its recordings, and the description is the one it builds.
    reads = 'learned = learning.get("weight", format="list")\nheld = rewiring.get("weight", format="array")\n'
    path = write_script(tmp_path, "import pyNN.spiNNaker as sim\n" + LEARNING + reads + "sim.end()\n")
    captured = capture(path)
    exec(LEARNING, {"sim": sim})
    built = build_network(simulator.state, 30.0)
    built.name = captured.name
    assert captured == built


def test_a_script_that_never_runs_or_fails_is_one_line_naming_it(tmp_path):
    quiet = write_script(tmp_path, SCRIPT, "quiet.py")
    with pytest.raises(ValidationError, match=r"^script '.*quiet\.py': never calls run\(\)"):
        capture(quiet)
    failing = write_script(tmp_path, SCRIPT + "sim.run(10.0)\nrate = 1 / 0\n", "failing.py")
    result = CliRunner().invoke(main, ["capture", str(failing), "--out", str(tmp_path / "m.yaml")])
    line = SCRIPT.count("\n") + 2
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert result.output == f"error: script '{failing}', line {line}: ZeroDivisionError: division by zero\n"
    assert not (tmp_path / "m.yaml").exists()
    broken = write_script(tmp_path, "import pyNN.spiNNaker as sim\nsim.setup(timestep=1.0\n", "broken.py")
    with pytest.raises(ValidationError, match=r"^script '.*broken\.py', line 2: SyntaxError: '\(' was never closed"):
        capture(broken)


def test_capture_writes_the_description_and_its_stimulus(tmp_path):
    path = write_script(tmp_path, SCRIPT + "sim.run(50.0)\n")
    out = tmp_path / "model.yaml"
    result = CliRunner().invoke(main, ["capture", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    loaded = catalog.load_model(str(out)).network
    assert loaded == catalog.load_model(str(path)).network  # the script as MODEL is the same network
    stimulus = json.loads((tmp_path / "model.stimulus.json").read_text())
    assert stimulus["cue"] == [[1.0, 7.5], [2.0], []]
    assert stimulus["stimulus"] == [t.tolist() for t in loaded.spike_sources["stimulus"].spike_times]


def test_a_pynn_script_deploys_to_spinn5_from_the_command_line(tmp_path):
    script = """
import pyNN.spiNNaker as sim

sim.setup(timestep=1.0)
stimulus = sim.Population(3, sim.SpikeSourceArray(spike_times=[[2.0, 30.0], [5.0], [9.0, 40.0]]), label="stimulus")
neurons = sim.Population(5, sim.IF_curr_exp(tau_m=10.0, v_thresh=-55.0), label="neurons")
sim.Projection(stimulus, neurons, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=1.0))
neurons.record("spikes")
sim.run(60.0)
sim.end()
"""
    path = write_script(tmp_path, script, "small.py")
    result = CliRunner().invoke(main, ["deploy", str(path), "--target", "spinn5", "--out", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "PASS: spinnaker on spinn5" in result.output
    spikes = SpikeRecord.from_dict(
        json.loads((tmp_path / "d" / "spinn5" / "target" / "spikes.json").read_text()), "spikes.json"
    )
    assert spikes.duration_ms == 60.0 and sum(len(t) for t in spikes.populations["neurons"]) > 0


EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "ei_stdp.py"


@pytest.mark.slow
def test_the_readme_example_with_stdp_deploys_unchanged_to_both_targets(tmp_path, monkeypatch):
    # The README's example, a pyNN.spiNNaker script with STDP, as written (but 200 ms): each target equals its
    # quantization-aware reference spike for spike and weight for weight; the script's own output is not shown.
    monkeypatch.chdir(tmp_path)
    arguments = ["deploy", str(EXAMPLE), "--target", "spinn5", "--target", "loihi2", "--out", "runs/ei"]
    result = CliRunner().invoke(main, [*arguments, "--duration", "200"])
    assert result.exit_code == 0, result.output
    assert "E fired" not in result.output
    for target, backend in (("spinn5", "spinnaker"), ("loihi2", "lava")):
        assert f"PASS: {backend} on {target}" in result.output
        correctness = result.output.split(f"{target} vs its quantization-aware reference:")[1].splitlines()[0]
        assert "same tick 100.00%" in correctness
        assert f"{target} vs its quantization-aware reference: final weights: noise→E identical" in result.output


# --- export ----------------------------------------------------------------------------------------------


def one_line(script: str) -> str:
    """The script with its calls' line breaks taken out, to look for a call in it."""
    return re.sub(r",? \)", ")", re.sub(r"([(\[]) ", r"\1", re.sub(r"\s+", " ", script)))


def exported_spikes(network, folder) -> SpikeRecord:
    """Export ``network``, run the script with ``pyNN.spiNNaker`` being neurodeploy.pynn (on Brian2), and
    read the spikes it writes."""
    exported = pynn_export.to_script(network)
    folder.mkdir()
    exported.write(folder)
    run_script(folder / pynn_export.SCRIPT, ["--spikes", str(folder / "spikes.json")])
    return SpikeRecord.from_dict(json.loads((folder / "spikes.json").read_text()), "spikes.json")


@pytest.mark.slow
def test_the_exported_static_script_runs_on_pyNN_brian2_by_changing_its_import(tmp_path):
    # "Runnable with PyNN's other simulators where the model allows": PyNN's own pyNN.brian2 (no NEST here)
    # runs the exported feed-forward script with the import changed, its sources firing the described
    # spikes exactly. Its neurons are PyNN-Brian2's (continuous integration, its own delay convention), so
    # their spikes are only compared in count: 10% more here, 8% on the default size (docs/pynn.md).
    network = catalog.load_model(
        "feedforward-poisson", {"n_neurons": 30, "n_inputs": 40, "rate_hz": 40.0, "duration_ms": 300.0}
    ).network
    pynn_export.to_script(network).write(tmp_path)
    script = (
        (tmp_path / pynn_export.SCRIPT).read_text().replace("import pyNN.spiNNaker as sim", "import pyNN.brian2 as sim")
    )
    (tmp_path / "on_brian2.py").write_text(script)
    completed = subprocess.run(
        [sys.executable, "on_brian2.py", "--spikes", "spikes.json"], cwd=tmp_path, capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    theirs = SpikeRecord.from_dict(json.loads((tmp_path / "spikes.json").read_text()), "spikes.json")
    ours = make_backend("brian2").run(network, network.duration).spikes
    for their_train, our_train in zip(theirs.populations["inputs"], ours.populations["inputs"], strict=True):
        np.testing.assert_allclose(their_train, our_train, rtol=1e-12, atol=0)  # Brian2 times as dt multiples
    counts = [sum(len(t) for t in record.populations["neurons"]) for record in (theirs, ours)]
    assert counts[1] > 30 and abs(counts[0] - counts[1]) <= 0.2 * counts[1], counts


def assert_same_spikes(network, exported: SpikeRecord):
    reference = make_backend("brian2").run(network, network.duration).spikes
    assert set(exported.populations) == set(network.recordings)
    for label, trains in reference.populations.items():
        assert [t.tolist() for t in exported.populations[label]] == [t.tolist() for t in trains], label
    return reference


def test_the_exported_feedforward_script_gives_the_descriptions_spikes(tmp_path):
    network = catalog.load_model(
        "feedforward-poisson",
        {"n_neurons": 30, "n_inputs": 40, "rate_hz": 40.0, "duration_ms": 300.0, "w_low": 1.0, "w_high": 2.5},
    ).network
    reference = assert_same_spikes(network, exported_spikes(network, tmp_path / "export"))
    assert sum(len(t) for t in reference.populations["neurons"]) > 30
    script = one_line((tmp_path / "export" / pynn_export.SCRIPT).read_text())
    assert "import pyNN.spiNNaker as sim" in script
    assert "sim.Population(30, sim.IF_curr_exp(" in script
    connections = network.connections("inputs->neurons")
    rows = np.load(tmp_path / "export" / "inputs-_neurons.connections.npy")
    assert np.array_equal(rows[:, 0], connections.pre) and np.array_equal(rows[:, 2], connections.weight)


def ca3_memory(plastic: bool):
    """The CA3 memory with a store-then-recall stimulus (cue with content, then the cue alone)."""
    network = catalog.load_model("ca3-cam").network
    cue, content = [[5.0, 40.0]] * 5, [[5.0]] * 10
    network = network.with_spike_times({"IN": cue + content})
    if not plastic:
        static = {label: replace(p, plasticity=None) for label, p in network.projections.items()}
        network = network.replaced(projections=static)
    network.duration = 60.0
    return network


def test_the_exported_ca3_memory_without_its_stdp_gives_the_descriptions_spikes(tmp_path):
    """Its sliced one-to-ones and all-to-alls without self-connections between two populations are
    written as the description's connections, the others as PyNN's connectors."""
    network = ca3_memory(plastic=False)
    reference = assert_same_spikes(network, exported_spikes(network, tmp_path / "export"))
    assert sum(len(t) for t in reference.populations["OUT"]) > 0
    script = one_line((tmp_path / "export" / pynn_export.SCRIPT).read_text())
    assert "sim.AllToAllConnector(allow_self_connections=False)" in script
    assert "sim.OneToOneConnector()" in script


def test_the_exported_ca3_memory_gives_the_descriptions_spikes(tmp_path):
    network = ca3_memory(plastic=True)
    reference = assert_same_spikes(network, exported_spikes(network, tmp_path / "export"))
    assert sum(len(t) for t in reference.populations["CA3cueContRecall"]) > 0


def test_the_exported_script_states_stdp_as_spynnaker_does(tmp_path):
    script = one_line(pynn_export.to_script(ca3_memory(plastic=True)).script)
    assert (
        "sim.STDPMechanism(timing_dependence=sim.SpikePairRule(tau_plus=3.0, tau_minus=3.0, A_plus=6.0, "
        "A_minus=6.0), weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=6.0), weight=0.0, "
        "delay=1.0)"
    ) in script


def test_export_refuses_what_pynn_cannot_state_naming_it():
    network = catalog.load_model("feedforward-poisson", {"n_neurons": 3, "n_inputs": 2}).network
    subtracting = network.replaced()
    subtracting.semantics = Semantics(dt=1.0, reset="subtract")
    with pytest.raises(ValidationError, match="semantics reset 'subtract': PyNN states only 'to_v_reset'"):
        pynn_export.to_script(subtracting)
    with pytest.raises(ValidationError, match="CoincidenceWiring has no PyNN or sPyNNaker mechanism"):
        pynn_export.to_script(catalog.load_model("livewired-assoc").network)
    untimed = catalog.load_model("ca3-cam").network
    with pytest.raises(ValidationError, match="has no duration: give --duration"):
        pynn_export.to_script(untimed)
    grown = catalog.load_model("topographic-map", {"n": 4}).network
    label, rewired = next((k, p) for k, p in grown.projections.items() if p.structural is not None)
    oblong = grown.replaced(projections={label: replace(rewired, structural=replace(rewired.structural, grid=(2, 8)))})
    with pytest.raises(ValidationError, match=r"grid \[2, 8\]: sPyNNaker places neuron n at"):
        pynn_export.to_script(oblong, duration=10.0)


def test_export_to_pynn_replaces_only_its_own_folder(tmp_path):
    model = ["feedforward-poisson", "--param", "n_neurons=3", "--param", "n_inputs=2", "--to", "pynn"]
    out = tmp_path / "out"
    first = CliRunner().invoke(main, ["export", *model, "--out", str(out)])
    assert first.exit_code == 0, first.output
    (out / "notes.md").write_text("mine")
    again = CliRunner().invoke(main, ["export", *model, "--param", "n_neurons=4", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert "sim.Population(4, sim.IF_curr_exp(" in one_line((out / pynn_export.SCRIPT).read_text())
    assert (out / "notes.md").read_text() == "mine"
    users = tmp_path / "users"
    users.mkdir()
    (users / pynn_export.SCRIPT).write_text("print('mine')\n")
    refused = CliRunner().invoke(main, ["export", *model, "--out", str(users)])
    assert refused.exit_code == 2 and refused.output.count("\n") == 1, refused.output
    assert (users / pynn_export.SCRIPT).read_text() == "print('mine')\n"


def test_an_exported_script_is_a_model_again(tmp_path):
    """``neurodeploy run DIR/pynn_script.py`` reads the export back: the same populations, sources and
    synapses."""
    network = catalog.load_model("feedforward-poisson", {"n_neurons": 5, "n_inputs": 6, "duration_ms": 50.0}).network
    pynn_export.to_script(network).write(tmp_path)
    again = catalog.load_model(str(tmp_path / pynn_export.SCRIPT)).network
    assert again.duration == 50.0 and again.semantics == network.semantics
    ours, theirs = network.populations["neurons"], again.populations["neurons"]
    assert ours.cell_type == theirs.cell_type
    for name in (*ours.parameters, *ours.initial_values):
        assert np.array_equal(ours.value(name), theirs.value(name)), name
    for label in ("inputs->neurons",):
        ours, theirs = network.connections(label), again.connections(label)
        assert all(np.array_equal(a, b) for a, b in zip(ours, theirs))


def test_the_spinn5_script_states_what_spynnaker_is_handed(tmp_path):
    """Under semantics PyNN cannot state (``>``, euler, no init factor) the compiled script is the export of
    the handed network: read back, its cells' parameters and synapses are the lowered graph's."""
    network = nd.Network("handed", nd.Semantics(dt=1.0, threshold=">", discretization="euler", synaptic_init="none"))
    network.spike_source("S", [[1.0, 4.0], [2.0], [3.0]])
    network.population("P", 4, "IF_curr_exp", {"tau_m": 4.0, "tau_syn_E": 2.0, "tau_syn_I": [2.0, 3.0, 4.0, 5.0]})
    network.project("S", "P", nd.AllToAll(), weight=0.5, delay=1.0, label="uniform")
    network.project("S", "P", nd.FixedProbability(0.6, seed=2), weight=0.25, delay=2.0, receptor="inhibitory")
    network.record("P")
    compiled = compile_network(network, catalog.target_description("spinn5").data, tmp_path)
    assert not compiled.errors
    read_back = capture(tmp_path / pynn_export.SCRIPT, ["--duration", "10"])
    graph = compiled.graph
    cell = read_back.populations["P"]
    for name, value in graph.populations["P"].parameters.items():
        assert np.array_equal(cell.value(name), np.broadcast_to(value, 4)), name
    assert graph.populations["P"].parameters["tau_m"] != 4.0  # the handed time constant, not the description's
    for label, projection in graph.projections.items():
        connections = read_back.connections(label)
        ours = sorted(zip(connections.pre, connections.post, connections.weight, connections.delay_ticks * 1.0))
        if projection.is_from_list:
            theirs = sorted(map(tuple, projection.connections))
        else:
            pairs = network.connections(label)
            theirs = sorted((i, j, projection.weight, projection.delay) for i, j in zip(pairs.pre, pairs.post))
        assert ours == theirs, label
