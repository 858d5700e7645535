"""sPyNNaker's structural-plasticity integration tests (SpiNNakerManchester/sPyNNaker
``spynnaker_integration_tests/test_struct_pl/``), written with the description's Synaptogenesis: the tests
where a decision has probability 1 (formation onto an empty slot of one neuron, elimination of every
synapse), whose synapses, weights and event counts do not depend on the random stream."""

import math

import numpy as np
import pytest

import neurodeploy as nd
from neurodeploy.backends import make_backend

BACKENDS = ["brian2", "spinnaker", "lava"]


def structural_without_stdp() -> nd.Network:
    """``test_structural_without_stdp``: one source spiking every tick, four single neurons; its rewiring
    rate is one attempt per tick, on a grid of one place (distance 0: formation probability p).
    ``RandomByWeightElimination(threshold, p_depression, p_potentiation)`` is weight_threshold, p_elim_dep,
    p_elim_pot; the connectors' synapses hold the mechanism's ``weight``."""
    network = nd.Network("structural_without_stdp", duration=10.0, seed=0)
    network.spike_source("stim", [list(map(float, range(10)))])
    for label in ("pop", "pop_2", "pop_3", "pop_4"):
        network.population(label, 1)
    cases = {  # post: (partner selection, p_form, threshold, p_elim, initial weight and delay, connector's synapses)
        "pop": ("last_neuron", 1.0, 2.0, 0.0, 2.0, 5.0, []),
        "pop_2": ("random", 1.0, 4.0, 0.0, 4.0, 3.0, []),
        "pop_3": ("last_neuron", 0.0, 4.0, 1.0, 2.0, 5.0, [0]),
        "pop_4": ("random", 0.0, 4.0, 1.0, 4.0, 3.0, [0]),
    }
    for post, (selection, p_form, threshold, p_elim, initial, delay, synapses) in cases.items():
        rule = nd.Synaptogenesis(
            s_max=1,
            f_rew=1000.0,
            partner_selection=selection,
            grid=(1, 1),
            p_form_forward=p_form,
            p_elim_dep=p_elim,
            p_elim_pot=p_elim,
            weight_threshold=threshold,
            initial_weight=initial,
            initial_delay=delay,
        )
        network.project("stim", post, nd.FromList(synapses, synapses), 0.0, 1.0, structural=rule, label=post)
        network.record(post, ["spikes", "isyn_exc"])
    return network


@pytest.mark.parametrize("backend", BACKENDS)
def test_structural_without_stdp_forms_with_the_initial_weight_and_eliminates_by_weight(backend):
    result = make_backend(backend, recording="spynnaker").run(structural_without_stdp(), 10.0)
    connectivity, events = result.structural["connectivity"], result.structural["events"]
    assert connectivity["pop"]["end"] == connectivity["pop_2"]["end"] == [[0, 0]]  # sPyNNaker: (0, 0, w, d)
    assert connectivity["pop_3"]["end"] == connectivity["pop_4"]["end"] == []
    # last-neuron selection finds its partner from tick 1 (the source spiked in tick 0), random at once
    assert events["pop"] == [[1, "form", 0, 0]] and events["pop_2"] == [[0, "form", 0, 0]]
    assert events["pop_3"] == events["pop_4"] == [[0, "eliminate", 0, 0]]
    # the formed synapses carry their initial weight and delay (sPyNNaker's (0, 0, 2.0, 5.0) and (0, 0, 4.0, 3.0)):
    # the spike of their formation tick arrives that delay later, the current after it init w with
    # init = (tau_syn_E/dt)(1 - exp(-dt/tau_syn_E)) (Lava's 8-bit weights: within its step)
    init = 5.0 * (1.0 - math.exp(-0.2))
    for label, formed, weight, delay in (("pop", 1, 2.0, 5), ("pop_2", 0, 4.0, 3)):
        current = result.traces[label]["isyn_exc"][:, 0]
        assert np.all(current[: formed + delay] == 0.0)
        assert current[formed + delay] == pytest.approx(init * weight, rel=1e-4 if backend != "lava" else 1e-2)
    for label in ("pop_3", "pop_4"):  # eliminated before the first spike
        assert np.all(result.traces[label]["isyn_exc"] == 0.0)


def structural_elimination_to_empty() -> nd.Network:
    """``test_structural_elimination_to_empty``: sources onto as many neurons all to all (weight 0), a slot
    for each, no formation, elimination with certainty whatever the weight, an attempt per tick."""
    network = nd.Network("structural_eliminate_to_empty", duration=1000.0, seed=0)
    network.spike_source("stim", [list(map(float, range(10)))] * 9)
    network.population("pop", 9)
    rule = nd.Synaptogenesis(
        s_max=9,
        f_rew=1000.0,
        partner_selection="random",
        grid=(3, 3),
        p_form_forward=0.0,
        p_elim_dep=1.0,
        p_elim_pot=1.0,
        weight_threshold=4.0,
        initial_weight=4.0,
    )
    network.project("stim", "pop", nd.AllToAll(), 0.0, 1.0, structural=rule, label="proj")
    return network


@pytest.mark.parametrize("backend", BACKENDS)
def test_structural_elimination_to_empty_eliminates_all_81_synapses_and_forms_none(backend):
    result = make_backend(backend).run(structural_elimination_to_empty(), 1000.0)
    events = result.structural["events"]["proj"]
    assert [kind for _, kind, _, _ in events] == ["eliminate"] * 81
    assert sorted((pre, post) for _, _, pre, post in events) == [(i, j) for i in range(9) for j in range(9)]
    assert result.structural["connectivity"]["proj"]["end"] == []


def structural_with_stdp() -> nd.Network:
    """``test_structural_with_stdp``: a source spiking every other tick, additive pair STDP on each projection;
    last-neuron selection forms ``proj``'s synapse the tick after the source's first spike, with a delay of
    two ticks, random selection ``proj_2``'s at once with a delay of one; ``proj_3`` and ``proj_4`` eliminate
    their connector's synapse and never form, so their initial delays never apply."""
    network = nd.Network("structural_with_stdp", duration=10.0, seed=0)
    network.spike_source("stim", [[0.0, 2.0, 4.0, 6.0, 8.0]])
    cases = {  # label: (post, partner selection, p_form, threshold, p_elim, initial weight and delay, synapses)
        "proj": ("pop", "last_neuron", 1.0, 2.0, 0.0, 5.0, 2.0, []),
        "proj_2": ("pop_2", "random", 1.0, 4.0, 0.0, 4.0, 1.0, []),
        "proj_3": ("pop_3", "last_neuron", 0.0, 4.0, 1.0, 2.0, 5.0, [0]),
        "proj_4": ("pop_4", "random", 0.0, 4.0, 1.0, 4.0, 3.0, [0]),
    }
    for label, (post, selection, p_form, threshold, p_elim, initial, delay, synapses) in cases.items():
        network.population(post, 1)
        network.record(post, ["spikes"])
        rule = nd.Synaptogenesis(
            s_max=1,
            f_rew=1000.0,
            partner_selection=selection,
            grid=(1, 1),
            p_form_forward=p_form,
            p_elim_dep=p_elim,
            p_elim_pot=p_elim,
            weight_threshold=threshold,
            initial_weight=initial,
            initial_delay=delay,
        )
        stdp = nd.STDP(tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.01, w_min=0.0, w_max=5.0)
        network.project(
            "stim", post, nd.FromList(synapses, synapses), 0.0, 1.0, structural=rule, plasticity=stdp, label=label
        )
    return network


@pytest.mark.parametrize("backend, tolerance", [("brian2", 1e-6), ("spinnaker", 3e-4)])
def test_structural_with_stdp_gives_spynnakers_additive_pair_weight(backend, tolerance):
    """The formed synapse's final weight is what sPyNNaker's own ``calculate_spike_pair_additive_stdp_weight``
    gives for the run's post spikes, within the test's tolerance and within what each arithmetic loses."""
    from spynnaker.pyNN.models.neuron.synapse_dynamics import calculate_spike_pair_additive_stdp_weight

    result = make_backend(backend).run(structural_with_stdp(), 10.0)
    assert result.structural["events"]["proj"] == [[1, "form", 0, 0]]
    assert result.structural["events"]["proj_2"] == [[0, "form", 0, 0]]
    # the test's pre spikes: those after the formation (last-neuron selection forms from tick 1)
    for label, post, pre, initial, delay in (
        ("proj", "pop", [2.0, 4.0, 6.0, 8.0], 5.0, 2),
        ("proj_2", "pop_2", [0.0, 2.0, 4.0, 6.0, 8.0], 4.0, 1),
    ):
        spikes = np.asarray(result.spikes.ticks(post)[0], dtype=float)
        assert spikes.size > 0  # the formed synapse makes the neuron fire: pairs in both orders
        expected = calculate_spike_pair_additive_stdp_weight(
            np.array(pre), spikes, initial, delay, 0.01, 0.01, 20.0, 20.0
        )
        held = result.weights[label]
        assert held["pre"].tolist() == held["post"].tolist() == [0]
        assert held["weight"][0] == pytest.approx(expected, abs=0.01)
        assert held["weight"][0] == pytest.approx(expected, abs=tolerance)
    # proj starts at w_max, so its potentiation is clipped; proj_2's weight moved
    assert result.weights["proj_2"]["weight"][0] != 4.0
    for label in ("proj_3", "proj_4"):
        assert result.weights[label]["pre"].size == 0
        assert result.structural["events"][label] == [[0, "eliminate", 0, 0]]
