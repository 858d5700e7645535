"""STDP's heterosynaptic depression: its declaration (validation, saving), its meaning on the float
reference against weights derived by hand, and the targets that cannot run it saying so. The integer
rule is tested with the other pair-rule integers (test_pair_stdp.py) and in wave-layers' identity runs."""

import math

import numpy as np
import pytest

import neurodeploy as nd
from conftest import run_reference
from neurodeploy.catalog import load_model
from neurodeploy.errors import ValidationError
from neurodeploy.interchange import pynn_export


def one_neuron_network(semantics: nd.STDPSemantics, late_pre: bool = False, loss: float = 0.05) -> nd.Network:
    """Three inputs onto one neuron that D makes fire at about 20 and 50 ms: input 0 spikes at 5 ms, inputs 1
    and 2 never; with ``late_pre`` all three spike at 70 ms too, after the neuron's last spike."""
    net = nd.Network("heterosynaptic", duration=80.0)
    late = [70.0] if late_pre else []
    net.spike_source("S", [np.array([5.0, *late]), np.array(late), np.array(late)])
    net.spike_source("D", [np.array([20.0, 50.0])])
    net.population("P", 1, "IF_curr_exp", parameters={"tau_refrac": 25.0}, initial_values={"v": -65.0})
    net.project("D", "P", nd.OneToOne(), weight=40.0)
    rule = nd.STDP(tau_plus=20.0, A_plus=0.1, A_minus=0.0, w_max=1.0, heterosynaptic=loss, semantics=semantics)
    net.project("S", "P", nd.AllToAll(), weight=np.array([0.5, 0.02, 0.3]), plasticity=rule)
    net.record("P")
    return net


def expected_weights(post) -> list[float]:
    """By hand. Input 0 (pre trace 1 from tick 5): at each post spike + A+ exp(-(p - 5) / 20), then - 0.05.
    Input 1: 0.02 - 0.05 clamps at w_min 0 and stays there; input 2: 0.3 - 2 x 0.05."""
    return [0.5 + sum(0.1 * math.exp(-(p - 5) / 20.0) - 0.05 for p in post), 0.0, 0.2]


def test_each_post_spike_takes_the_constant_from_every_synapse_onto_the_neuron():
    result = run_reference(one_neuron_network(nd.STDPSemantics.immediate()), 80.0)
    (post,) = result.spikes.ticks("P")
    assert len(post) == 2  # one spike per drive
    weights = result.weights["S->P"]["weight"][np.argsort(result.weights["S->P"]["pre"])]
    assert weights == pytest.approx(expected_weights(post), abs=1e-9)


def test_under_the_deferred_update_a_synapse_shows_its_losses_at_its_next_pre_spike():
    # sPyNNaker's semantics (the defaults): the visible weights change only when their pre neuron
    # spikes; inputs 1 and 2 never do, input 0 spiked before the post spikes.
    result = run_reference(one_neuron_network(nd.STDPSemantics()), 80.0)
    weights = result.weights["S->P"]["weight"][np.argsort(result.weights["S->P"]["pre"])]
    assert weights == pytest.approx([0.5, 0.02, 0.3], abs=1e-12)
    # A pre spike of every input after the neuron's last spike replays both losses (A- is 0): input 0 its
    # potentiations (as the rule without the term has them) less 2 x 0.05, input 1 clamped at 0, input 2 0.2.
    late = {}
    for loss in (0.0, 0.05):
        result = run_reference(one_neuron_network(nd.STDPSemantics(), late_pre=True, loss=loss), 80.0)
        assert len(result.spikes.ticks("P")[0]) == 2
        late[loss] = result.weights["S->P"]["weight"][np.argsort(result.weights["S->P"]["pre"])]
    assert late[0.0][0] > 0.5 + 0.05  # potentiated
    assert late[0.05] == pytest.approx([late[0.0][0] - 0.1, 0.0, 0.2], abs=1e-9)


def test_the_declaration_is_checked_and_saved():
    rule = nd.STDP(heterosynaptic=0.05)
    rule.validate("projection 'x'")
    assert rule.to_dict()["heterosynaptic"] == 0.05
    assert nd.STDP.from_dict(rule.to_dict(), "projection 'x'").heterosynaptic == 0.05
    assert "heterosynaptic" not in nd.STDP().to_dict()  # off: saved as before
    scaled = nd.STDP(w_max=2.0, heterosynaptic=0.1, semantics=nd.STDPSemantics(amplitude="scaled_by_w_max"))
    assert scaled.heterosynaptic_loss == pytest.approx(0.2)
    with pytest.raises(ValidationError, match="heterosynaptic.*>= 0"):
        nd.STDP(heterosynaptic=-0.1).validate("projection 'x'")
    with pytest.raises(ValidationError, match="additive weight dependence only"):
        nd.STDP(weight_dependence="multiplicative", heterosynaptic=0.1).validate("projection 'x'")
    network = one_neuron_network(nd.STDPSemantics())
    again = nd.Network.from_dict(network.to_dict())
    assert again.projections["S->P"].plasticity.heterosynaptic == 0.05
    with pytest.raises(ValidationError, match="not for structural slots"):
        network.project(
            "S",
            "P",
            nd.FromList([0], [0]),
            weight=0.5,
            label="slots",
            plasticity=nd.STDP(heterosynaptic=0.05),
            structural=nd.Synaptogenesis(s_max=2, grid=(1, 1), initial_weight=0.5),
        )


def test_sPyNNaker_and_PyNN_refuse_it_naming_the_rule():
    from neurodeploy.backends.spinnaker.graph import lower
    from neurodeploy.backends.spinnaker.quantize import ring_buffer_scaling
    from neurodeploy.backends.spinnaker.rules import check_target
    from neurodeploy.catalog import target_descriptions

    network = load_model("wave-layers", {"n": 4, "r_e": 1.0, "r_i": 2.0, "duration_ms": 50}).network
    graph = lower(network)
    findings = check_target(network, graph, ring_buffer_scaling(graph), target_descriptions()["spinn5"].data)
    errors = [f for f in findings if f.level == "error"]
    assert [f.subject for f in errors] == ["projection 'L1->L2'"]
    assert "heterosynaptic depression" in errors[0].message and "no sPyNNaker" in errors[0].message
    off = load_model("wave-layers", {"n": 4, "r_e": 1.0, "r_i": 2.0, "duration_ms": 50, "heterosynaptic": 0}).network
    graph = lower(off)
    findings = check_target(off, graph, ring_buffer_scaling(graph), target_descriptions()["spinn5"].data)
    assert not [f for f in findings if f.level == "error"]
    with pytest.raises(ValidationError, match="heterosynaptic"):
        pynn_export.to_script(network)


def test_loihi2_names_a_loss_its_weight_steps_hold_coarsely_or_not_at_all():
    from neurodeploy.backends.lava import lower
    from neurodeploy.backends.lava.rules import stdp_step_findings

    def findings(heterosynaptic):
        network = load_model("wave-layers", {"n": 4, "r_e": 1.0, "r_i": 2.0, "heterosynaptic": heterosynaptic}).network
        fixed = lower(network).projections["L1->L2"]
        rule = network.projections["L1->L2"].plasticity
        found = [f.message for f in stdp_step_findings("L1->L2", rule, fixed, network.populations["L2"])]
        return [m for m in found if "heterosynaptic" in m], rule.heterosynaptic / fixed.weight_unit

    (message,), steps = findings(0.1 / 0.6)  # 0.1 nA
    assert steps > 1 and f"held as {round(steps)} " in message
    (message,), steps = findings(0.0001)
    assert steps < 0.5 and "becomes 0" in message


def test_the_quantization_report_gives_the_loss_as_described_and_as_run():
    from neurodeploy.backends.lava import lower
    from neurodeploy.report.page import _stdp_text
    from neurodeploy.runs.quantization import quantization_effects

    network = load_model("wave-layers", {"n": 4, "r_e": 1.0, "r_i": 2.0}).network
    lowered = lower(network)
    unit = lowered.projections["L1->L2"].weight_unit
    plasticity = quantization_effects(network, lowered.reference_network())["projections"]["L1->L2"]["plasticity"]
    described = network.projections["L1->L2"].plasticity.heterosynaptic
    assert plasticity["heterosynaptic"] == pytest.approx([described, round(described / unit) * unit], rel=1e-12)
    assert "heterosynaptic" in _stdp_text(plasticity)
    off = load_model("wave-layers", {"n": 4, "r_e": 1.0, "r_i": 2.0, "heterosynaptic": 0}).network
    assert (
        "heterosynaptic"
        not in quantization_effects(off, lower(off).reference_network())["projections"]["L1->L2"]["plasticity"]
    )
