"""sPyNNaker's structural plasticity in neurodeploy.pynn: a script's StructuralMechanismStatic/STDP builds the
description the same network has in neurodeploy's own API (sPyNNaker's parameter names and defaults, read
from the installed sPyNNaker), runs to the same rewiring on brian2 and spinnaker, and a structural model
exported as a PyNN script comes back as the same description, spikes and rewiring."""

import inspect

import numpy as np
import pytest

import neurodeploy as nd
import neurodeploy.pynn as sim
from neurodeploy import catalog
from neurodeploy.backends import make_backend
from neurodeploy.interchange import pynn_export
from neurodeploy.pynn import simulator
from neurodeploy.pynn.build import build_network
from neurodeploy.pynn.capture import capture

DURATION = 120.0
CELL = {
    "v_rest": -65.0,
    "cm": 0.27,
    "tau_m": 3.0,
    "tau_refrac": 2.0,
    "tau_syn_E": 0.3,
    "tau_syn_I": 5.0,
    "i_offset": 0.0,
    "v_reset": -65.0,
    "v_thresh": -62.0,
}
"""A neuron that each input spike alone makes fire (spike times that do not hang on arithmetic)."""
TIMES = [[float(t) for t in range(1 + i % 5, int(DURATION), 7)] for i in range(16)]
INITIAL = ([0, 1, 2], [0, 5, 5])
STDP_PARAMETERS = dict(tau_plus=20.0, tau_minus=30.0, A_plus=0.5, A_minus=0.4)
REWIRING = dict(
    s_max=6,
    f_rew=2000.0,
    grid=(4, 4),
    p_form_forward=0.5,
    sigma_form_forward=2.0,
    p_elim_dep=0.2,
    p_elim_pot=0.1,
    weight_threshold=9.0,
    initial_weight=10.0,
)


@pytest.fixture(autouse=True)
def fresh_simulator():
    yield
    sim.end()


def scripted(selection: str, plastic: bool, backend: str = "brian2", seed=7):
    """The network as a PyNN script writes it (sPyNNaker's classes and names); the projection."""
    sim.setup(timestep=1.0, backend=backend)
    sources = sim.Population(16, sim.SpikeSourceArray(spike_times=TIMES), label="S")
    neurons = sim.Population(16, sim.IF_curr_exp(**CELL), label="P")
    neurons.initialize(v=-65.0)
    neurons.record("spikes")
    structural = dict(
        partner_selection=sim.LastNeuronSelection() if selection == "last_neuron" else sim.RandomSelection(),
        formation=sim.DistanceDependentFormation(grid=[4, 4], p_form_forward=0.5, sigma_form_forward=2.0),
        elimination=sim.RandomByWeightElimination(threshold=9.0, prob_elim_depressed=0.2, prob_elim_potentiated=0.1),
        f_rew=2000.0,
        initial_weight=10.0,
        initial_delay=1.0,
        s_max=6,
        with_replacement=False,
        seed=seed,
        weight=10.0,
        delay=1.0,
    )
    if plastic:
        mechanism = sim.StructuralMechanismSTDP(
            **structural,
            timing_dependence=sim.SpikePairRule(**STDP_PARAMETERS),
            weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=12.0),
        )
    else:
        mechanism = sim.StructuralMechanismStatic(**structural)
    connector = sim.FromListConnector(list(zip(*INITIAL)))
    return sim.Projection(sources, neurons, connector, mechanism, receptor_type="excitatory", label="S->P")


def described(selection: str, plastic: bool) -> nd.Network:
    """The same network in neurodeploy's own API."""
    network = nd.Network("pynn", nd.Semantics(dt=1.0), seed=7, duration=DURATION)
    network.spike_source("S", TIMES)
    network.population("P", 16, "IF_curr_exp", parameters=CELL, initial_values={"v": -65.0})
    network.record("P")
    stdp = nd.STDP(**STDP_PARAMETERS, w_min=0.0, w_max=12.0, semantics=nd.STDPSemantics()) if plastic else None
    network.project(
        "S",
        "P",
        nd.FromList(*INITIAL),
        weight=10.0,
        delay=1.0,
        label="S->P",
        plasticity=stdp,
        structural=nd.Synaptogenesis(**REWIRING, partner_selection=selection),
    )
    return network.validate()


@pytest.mark.parametrize("plastic", [False, True], ids=["static", "stdp"])
@pytest.mark.parametrize("selection", ["last_neuron", "random"])
def test_a_scripted_structural_mechanism_is_the_description_of_neurodeploys_api(selection, plastic):
    scripted(selection, plastic)
    sim.run(DURATION)
    assert_same_description(build_network(simulator.state, DURATION), described(selection, plastic))


def assert_same_description(ours: nd.Network, theirs: nd.Network):
    """Everything the descriptions hold equal: populations neuron by neuron (a script gives per-neuron
    values), projections by their synapses (a connector the export wrote as the list of its synapses), all
    else as written."""
    mine, other = ours.to_dict(), theirs.to_dict()
    for key in ("populations", "projections", "name"):
        mine.pop(key), other.pop(key)
    assert mine == other
    assert ours.populations.keys() == theirs.populations.keys()
    for label, population in theirs.populations.items():
        again = ours.populations[label]
        assert (again.cell_type, again.size) == (population.cell_type, population.size)
        for name in (*population.parameters, *population.initial_values):
            assert np.array_equal(again.value(name), population.value(name)), (label, name)
    assert ours.projections.keys() == theirs.projections.keys()
    for label, projection in theirs.projections.items():
        again = ours.projections[label]
        assert (again.pre, again.post, again.receptor) == (projection.pre, projection.post, projection.receptor)
        assert again.structural.to_dict() == projection.structural.to_dict()
        assert (again.plasticity and again.plasticity.to_dict()) == (
            projection.plasticity and projection.plasticity.to_dict()
        )
        for mine_part, their_part in zip(ours.connections(label), theirs.connections(label)):
            assert np.array_equal(mine_part, their_part), label


SPYNNAKER_CLASSES = {
    "StructuralMechanismStatic": "synapse_dynamics.SynapseDynamicsStructuralStatic",
    "StructuralMechanismSTDP": "synapse_dynamics.SynapseDynamicsStructuralSTDP",
    "LastNeuronSelection": "structural_plasticity.synaptogenesis.partner_selection.LastNeuronSelection",
    "RandomSelection": "structural_plasticity.synaptogenesis.partner_selection.RandomSelection",
    "DistanceDependentFormation": "structural_plasticity.synaptogenesis.formation.DistanceDependentFormation",
    "RandomByWeightElimination": "structural_plasticity.synaptogenesis.elimination.RandomByWeightElimination",
}


def spynnaker_class(name: str):
    module, _, attribute = f"spynnaker.pyNN.models.neuron.{SPYNNAKER_CLASSES[name]}".rpartition(".")
    return getattr(pytest.importorskip(module), attribute)


def defaults(signature: inspect.Signature) -> dict:
    return {name: p.default for name, p in signature.parameters.items() if name != "self"}


@pytest.mark.parametrize("name", SPYNNAKER_CLASSES)
def test_the_classes_take_spynnakers_parameters_and_defaults(name):
    assert defaults(inspect.signature(getattr(sim, name))) == defaults(inspect.signature(spynnaker_class(name)))


def test_spynnakers_defaults_are_the_descriptions_synaptogenesis_but_with_replacement():
    """A mechanism given only what sPyNNaker requires (and one synapse per pair) rewires as sPyNNaker's
    defaults say: the values read from its installed classes."""
    sim.setup(timestep=1.0)
    sources = sim.Population(4, sim.SpikeSourceArray(spike_times=[[1.0]] * 4))
    neurons = sim.Population(4, sim.IF_curr_exp())
    mechanism = sim.StructuralMechanismStatic(
        sim.RandomSelection(),
        sim.DistanceDependentFormation(),
        sim.RandomByWeightElimination(threshold=0.5),
        with_replacement=False,
    )
    projection = sim.Projection(sources, neurons, sim.FromListConnector([]), mechanism)
    rule = projection.description.structural
    theirs = {
        **defaults(inspect.signature(spynnaker_class("StructuralMechanismStatic"))),
        **defaults(inspect.signature(spynnaker_class("DistanceDependentFormation"))),
        **defaults(inspect.signature(spynnaker_class("RandomByWeightElimination"))),
    }
    assert (rule.f_rew, rule.s_max, rule.initial_weight) == (theirs["f_rew"], theirs["s_max"], theirs["initial_weight"])
    assert rule.grid == tuple(theirs["grid"])
    for name in ("p_form_forward", "sigma_form_forward", "p_form_lateral", "sigma_form_lateral"):
        assert getattr(rule, name) == theirs[name], name
    assert (rule.p_elim_dep, rule.p_elim_pot) == (theirs["prob_elim_depressed"], theirs["prob_elim_potentiated"])
    assert rule.weight_threshold == 0.5 and rule.partner_selection == "random"
    assert theirs["initial_delay"] == 1.0  # one time step here, as the description forms synapses
    assert projection.description.delay == 1.0  # delay None: the minimum delay, one time step


@pytest.mark.parametrize(
    "change, named",
    [
        (dict(with_replacement=True), "with_replacement=True"),
        (dict(initial_delay=(1.0, 2.0, 3.0)), r"initial_delay=\(1.0, 2.0, 3.0\)"),
    ],
)
def test_what_the_description_cannot_hold_is_refused_naming_it(change, named):
    with pytest.raises(NotImplementedError, match=named):
        scripted_with(**change)


@pytest.mark.parametrize("given, described", [(1.0, None), (2.0, 2.0), ((2.0, 5.0), (2.0, 5.0))])
def test_initial_delays_are_the_descriptions(given, described):
    # sPyNNaker's initial_delay (one delay, or a (low, high) range of whole steps): the description's own
    # (one time step, its default, is left unset so saved models stay as they were).
    projection = scripted_with(initial_delay=given)
    assert projection.description.structural.initial_delay == described


@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
def test_an_stdp_mechanisms_initial_delay_is_the_descriptions_and_runs_as_it(backend):
    # sPyNNaker's structural test with STDP, its first projection: last-neuron formation with a 2 ms delay
    sim.setup(timestep=1.0, backend=backend)
    stim = sim.Population(1, sim.SpikeSourceArray(spike_times=[0.0, 2.0, 4.0, 6.0, 8.0]), label="stim")
    pop = sim.Population(1, sim.IF_curr_exp(v_thresh=-60.0), label="pop")  # fires early: pairs in both orders
    pop.record("spikes")
    mechanism = sim.StructuralMechanismSTDP(
        partner_selection=sim.LastNeuronSelection(),
        formation=sim.DistanceDependentFormation([1, 1], 1.0),
        elimination=sim.RandomByWeightElimination(2.0, 0.0, 0.0),
        timing_dependence=sim.SpikePairRule(20.0, 20.0, 0.01, 0.01),
        weight_dependence=sim.AdditiveWeightDependence(0.0, 5.0),
        f_rew=1000,
        initial_weight=4.0,
        initial_delay=2,
        s_max=1,
        seed=0,
        weight=0.0,
        delay=1.0,
        with_replacement=False,
    )
    projection = sim.Projection(stim, pop, sim.FromListConnector([]), mechanism, label="proj")
    sim.run(10.0)
    ours = [(i, j, w) for i, j, w, _ in projection.get(["weight", "delay"], "list")]
    description = projection.description
    assert description.structural.initial_delay == 2.0 and description.plasticity.w_max == 5.0
    described = make_backend(backend).run(build_network(simulator.state, 10.0), 10.0)
    assert ours == [(0, 0, float(described.weights["proj"]["weight"][0]))]
    assert ours[0][2] != 4.0  # the delayed pairs moved it


def test_other_buffers_delays_and_weight_dependences_are_refused_naming_them():
    with pytest.raises(NotImplementedError, match="spike_buffer_size=32"):
        sim.LastNeuronSelection(spike_buffer_size=32)
    for grid in ([4, 8], [8, 1]):  # sPyNNaker's formation_distance_dependent_impl.h: x = n / grid_x, y = n % grid_y
        with pytest.raises(NotImplementedError, match=rf"grid=\[{grid[0]}, {grid[1]}\]"):
            sim.DistanceDependentFormation(grid=grid)
    assert sim.DistanceDependentFormation(grid=[1, 8]).grid == (1, 8)
    with pytest.raises(NotImplementedError, match="delay=3 ms on a structural projection"):
        scripted_with(weight=1.0, delay=3.0)
    sim.setup(timestep=1.0)
    sources = sim.Population(16, sim.SpikeSourceArray(spike_times=TIMES), label="S")
    neurons = sim.Population(16, sim.IF_curr_exp(**CELL), label="P")
    multiplicative = sim.StructuralMechanismSTDP(
        sim.RandomSelection(),
        sim.DistanceDependentFormation(grid=[4, 4]),
        sim.RandomByWeightElimination(threshold=1.0),
        sim.SpikePairRule(),
        sim.MultiplicativeWeightDependence(),
        with_replacement=False,
    )
    with pytest.raises(NotImplementedError, match="StructuralMechanismSTDP with MultiplicativeWeightDependence"):
        sim.Projection(sources, neurons, sim.FromListConnector([]), multiplicative)


def scripted_with(**change):
    """The static network, one of the mechanism's arguments changed."""
    sim.setup(timestep=1.0)
    sources = sim.Population(16, sim.SpikeSourceArray(spike_times=TIMES), label="S")
    neurons = sim.Population(16, sim.IF_curr_exp(**CELL), label="P")
    arguments = {
        "partner_selection": sim.RandomSelection(),
        "formation": sim.DistanceDependentFormation(grid=[4, 4]),
        "elimination": sim.RandomByWeightElimination(threshold=9.0),
        "with_replacement": False,
        **change,
    }
    return sim.Projection(sources, neurons, sim.FromListConnector([]), sim.StructuralMechanismStatic(**arguments))


def test_views_and_different_seeds_are_refused_naming_them():
    sim.setup(timestep=1.0, seed=0)
    sources = sim.Population(16, sim.SpikeSourceArray(spike_times=TIMES), label="S")
    neurons = sim.Population(16, sim.IF_curr_exp(**CELL), label="P")

    def mechanism(seed=None):
        return sim.StructuralMechanismStatic(
            sim.RandomSelection(),
            sim.DistanceDependentFormation(grid=[4, 4]),
            sim.RandomByWeightElimination(threshold=1.0),
            with_replacement=False,
            seed=seed,
        )

    with pytest.raises(NotImplementedError, match="structural projection on a PopulationView"):
        sim.Projection(sources[:8], neurons, sim.FromListConnector([]), mechanism())
    sim.Projection(sources, neurons, sim.FromListConnector([]), mechanism())
    assert build_network(simulator.state, 10.0).seed == 0  # no seed given: setup's
    sim.Projection(sources, neurons, sim.FromListConnector([]), mechanism(seed=1))
    sim.Projection(neurons, neurons, sim.FromListConnector([]), mechanism(seed=2))
    with pytest.raises(NotImplementedError, match=r"different seeds \[1, 2\]"):
        build_network(simulator.state, 10.0)


def rewiring(result, label="S->P"):
    return result.structural["events"][label]


@pytest.mark.parametrize("plastic", [False, True], ids=["static", "stdp"])
@pytest.mark.parametrize("backend", ["brian2", "spinnaker"])
def test_a_scripted_structural_network_rewires_as_neurodeploys_api_on_the_same_backend(backend, plastic):
    """The same formations and eliminations, spikes, and (``get``) the synapses the slots hold at the end:
    a plastic projection's the run's weights; a static one's the connector's weight where a synapse was never
    touched, the initial weight where its last event formed it."""
    projection = scripted("last_neuron", plastic, backend)
    sim.run(DURATION)
    ours = simulator.state.execute()
    theirs = make_backend(backend).run(described("last_neuron", plastic), DURATION)
    events = rewiring(theirs)
    assert {kind for _, kind, *_ in events} == {"form", "eliminate"}
    assert rewiring(ours) == events
    assert [t.tolist() for t in ours.spikes.populations["P"]] == [t.tolist() for t in theirs.spikes.populations["P"]]
    final = projection.get(["weight", "delay"], format="list")
    end = theirs.structural["connectivity"]["S->P"]["end"]
    assert [[i, j] for i, j, *_ in final] == end
    matrix = projection.get("weight", format="array")
    assert [[int(i), int(j)] for j, i in sorted(zip(*np.nonzero(~np.isnan(matrix.T))))] == end
    assert [matrix[i, j] for i, j, *_ in final] == [w for _, _, w, _ in final]
    assert {delay for *_, delay in final} == {1.0}
    assert len(projection) == len(end)  # len and connections are the same synapses as get
    held = [(c.presynaptic_index, c.postsynaptic_index, c.weight, c.delay) for c in projection.connections]
    assert held == [tuple(connection) for connection in final]
    if plastic:
        weights = theirs.weights["S->P"]
        assert [w for _, _, w, _ in final] == weights["weight"].tolist()
        return
    last = {}
    for _, kind, i, j in events:
        last[(i, j)] = kind
    for i, j, weight, _ in final:
        assert weight == (10.0 if (i, j) not in last else REWIRING["initial_weight"])
    assert {(i, j) for i, j, *_ in final} - set(last) <= set(zip(*INITIAL))


def test_an_exported_structural_model_comes_back_as_its_description_spikes_and_rewiring(tmp_path):
    network = catalog.load_model("topographic-map", {"n": 4, "duration_ms": 100.0, "f_mean": 80.0}).network
    pynn_export.to_script(network).write(tmp_path)
    again = capture(tmp_path / pynn_export.SCRIPT)
    assert_same_description(again, network)
    ours, theirs = (make_backend("brian2").run(n, 100.0) for n in (again, network))
    assert [t.tolist() for t in ours.spikes.populations["P"]] == [t.tolist() for t in theirs.spikes.populations["P"]]
    assert sum(len(t) for t in theirs.spikes.populations["P"]) > 0
    for label in ("S->P", "P->P"):
        assert rewiring(ours, label) == rewiring(theirs, label)
    assert any(rewiring(theirs, label) for label in ("S->P", "P->P"))


@pytest.mark.parametrize("plastic", [False, True], ids=["static", "stdp"])
def test_a_network_of_neurodeploys_api_exported_comes_back_as_its_description(plastic, tmp_path):
    network = described("random", plastic)
    pynn_export.to_script(network).write(tmp_path)
    assert_same_description(capture(tmp_path / pynn_export.SCRIPT), network)


@pytest.mark.slow
def test_a_scripted_structural_network_deploys_to_spinn5_as_the_script_it_came_from(tmp_path):
    """Compiled for spinn5 (sPyNNaker maps it on its virtual board), run on the emulation and compared with the
    reference; the target's pynn_script.py, captured again, is the description the script built."""
    from neurodeploy.catalog import LoadedModel
    from neurodeploy.pipeline import deploy_model

    scripted("last_neuron", plastic=True)
    network = build_network(simulator.state, DURATION)
    summary = deploy_model(
        LoadedModel(network, "pynn-structural", "test"), "spinn5", tmp_path / "deploy", DURATION, None
    )
    assert summary["per_target"]["spinn5"]["errors"] == [] and summary["passed"], summary
    compiled = tmp_path / "deploy" / "spinn5" / "compile"
    assert (compiled / "mapping.json").is_file()
    assert_same_description(capture(compiled / pynn_export.SCRIPT, ["--duration", str(DURATION)]), network)
