"""Structural initial delays as sPyNNaker's ``initial_delay`` (a delay, or a uniform range of ticks) on every
backend: a formed synapse's first spike arrives that many ticks after it, derived by hand from the
documented stream (``neurodeploy.description.structural``)."""

import math
import zlib

import numpy as np
import pytest

import neurodeploy as nd
from neurodeploy.backends import make_backend
from neurodeploy.errors import ValidationError

BACKENDS = ["brian2", "spinnaker", "lava"]
LABELS = [f"p{i}" for i in range(6)]


def delayed_formation(initial_delay, labels=LABELS, plasticity=None) -> nd.Network:
    """One source spiking every tick onto one neuron per projection, each projection's single slot
    filled at tick 0 with certainty (random partner, formation probability 1, no elimination)."""
    network = nd.Network("delays", duration=12.0, seed=7)
    network.spike_source("stim", [[float(t) for t in range(12)]])
    for label in labels:
        network.population(f"post_{label}", 1)
        rule = nd.Synaptogenesis(
            s_max=1,
            f_rew=1000.0,
            partner_selection="random",
            grid=(1, 1),
            p_form_forward=1.0,
            p_elim_dep=0.0,
            p_elim_pot=0.0,
            initial_weight=1.0,
            initial_delay=initial_delay,
        )
        network.project(
            "stim", f"post_{label}", nd.FromList([], []), 0.0, 1.0, structural=rule, label=label, plasticity=plasticity
        )
        network.record(f"post_{label}", ["spikes", "isyn_exc"])
    return network


def first_draws(seed: int, label: str) -> np.ndarray:
    """The four draws of a projection's first attempt: its stream as the module docstring defines it."""
    stream = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(zlib.crc32(b"structural"), zlib.crc32(label.encode())))
    )
    return stream.random((1, 4))[0]


def first_arrivals(result, labels) -> dict[str, int]:
    return {label: int(np.flatnonzero(result.traces[f"post_{label}"]["isyn_exc"][:, 0])[0]) for label in labels}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_fixed_initial_delay_delivers_the_formation_ticks_spike_that_many_ticks_later(backend):
    result = make_backend(backend, recording="spynnaker").run(delayed_formation(4.0, LABELS[:1]), 12.0)
    assert result.structural["events"]["p0"] == [[0, "form", 0, 0]]
    assert first_arrivals(result, LABELS[:1]) == {"p0": 4}  # the spike of tick 0, 4 ticks later


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_range_of_initial_delays_draws_each_from_the_formation_draw(backend):
    """With certain formation the delay is the range's low end plus the fourth draw times the range's
    width in ticks, rounded down."""
    expected = {label: 2 + math.floor(4 * first_draws(7, label)[3]) for label in LABELS}
    assert len(set(expected.values())) >= 3  # the streams give different delays: the draw is what decides
    result = make_backend(backend, recording="spynnaker").run(delayed_formation([2.0, 5.0]), 12.0)
    assert first_arrivals(result, LABELS) == expected


def test_initial_delays_round_trip_and_are_checked():
    network = delayed_formation([2.0, 5.0], LABELS[:1])
    again = nd.Network.from_dict(network.to_dict())
    assert again.projections["p0"].structural.initial_delay == (2.0, 5.0)
    assert "initial_delay" not in nd.Synaptogenesis().to_dict()  # one tick, as before
    with pytest.raises(ValidationError, match="initial_delay.*low end 5 exceeds 2"):
        delayed_formation([5.0, 2.0], LABELS[:1]).validate()
    with pytest.raises(ValidationError, match="initial_delay.*whole number of ticks"):
        delayed_formation(0.0, LABELS[:1]).validate()
    stdp = nd.STDP(tau_plus=20.0, tau_minus=20.0, A_plus=0.1, A_minus=0.1, w_max=2.0)
    delayed_formation([2.0, 5.0], LABELS[:1], plasticity=stdp).validate()  # with STDP too
    turning = delayed_formation(3.0, LABELS[:1])
    with pytest.raises(ValidationError, match="turnover.*delay of 1 tick.*'p0' has longer delays"):
        turning.turnover("post_p0", nd.NeuronTurnover(initial_alive=1, input_projection="p0", new_inputs=1))
        turning.validate()


@pytest.mark.parametrize("plastic", [False, True])
@pytest.mark.parametrize(
    "initial_delay, written", [(4.0, "initial_delay=4.0,"), ([2.0, 5.0], "initial_delay=(2.0, 5.0),")]
)
def test_spinn5_lowers_initial_delays_to_spynnakers_initial_delay(initial_delay, written, plastic, tmp_path):
    from neurodeploy.backends.spinnaker.toolchain import compile_network
    from neurodeploy.catalog import target_descriptions

    stdp = nd.STDP(tau_plus=20.0, tau_minus=20.0, A_plus=0.1, A_minus=0.1, w_max=2.0) if plastic else None
    network = delayed_formation(initial_delay, LABELS[:1], plasticity=stdp)
    compile_network(network, target_descriptions()["spinn5"].data, tmp_path)
    script = (tmp_path / "pynn_script.py").read_text()
    mechanism = "StructuralMechanismSTDP" if plastic else "StructuralMechanismStatic"
    assert f"sim.{mechanism}(" in script and written in script


def test_spinn5s_quantization_aware_reference_holds_the_delays_as_the_emulation(tmp_path):
    from neurodeploy.backends.spinnaker.toolchain import SpinnakerToolchain
    from neurodeploy.catalog import target_descriptions

    network = delayed_formation([2.0, 5.0])
    toolchain = SpinnakerToolchain()
    compiled = toolchain.compile(network, target_descriptions()["spinn5"].data, tmp_path, 12.0, map_resources=False)
    emulated = toolchain.execute(compiled, tmp_path, 12.0)
    reference = make_backend("brian2").run(compiled.reference_network(), 12.0)
    for label in LABELS:
        np.testing.assert_array_equal(
            reference.traces[f"post_{label}"]["isyn_exc"], emulated.traces[f"post_{label}"]["isyn_exc"]
        )
    assert first_arrivals(reference, LABELS) == first_arrivals(emulated, LABELS)


def test_the_memory_estimate_counts_a_formed_synapses_longest_delay():
    from neurodeploy.description.resources import max_delay_ticks

    network = delayed_formation([2.0, 5.0], LABELS[:1])
    assert max_delay_ticks(network, network.projections["p0"]) == 5.0
    network = delayed_formation(None, LABELS[:1])
    assert max_delay_ticks(network, network.projections["p0"]) == 1.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_spike_in_flight_arrives_after_its_synapse_is_eliminated(backend):
    """Formation and elimination both certain: the slot forms in even ticks and empties in odd ones, so each
    formed synapse transmits its formation tick's spike only, which arrives after the synapse is gone."""
    network = nd.Network("in_flight", duration=12.0, seed=7)
    network.spike_source("stim", [[float(t) for t in range(12)]])
    network.population("post", 1, parameters={"tau_syn_E": 0.1})  # the current gone within a tick
    rule = nd.Synaptogenesis(
        s_max=1,
        f_rew=1000.0,
        partner_selection="random",
        grid=(1, 1),
        p_form_forward=1.0,
        p_elim_dep=1.0,
        p_elim_pot=1.0,
        initial_weight=1.0,
        initial_delay=4.0,
    )
    network.project("stim", "post", nd.FromList([], []), 0.0, 1.0, structural=rule, label="p")
    network.record("post", ["isyn_exc"])
    result = make_backend(backend, recording="spynnaker").run(network, 12.0)
    events = result.structural["events"]["p"]
    assert [(tick, kind) for tick, kind, _, _ in events] == [
        (t, "form" if t % 2 == 0 else "eliminate") for t in range(12)
    ]
    current = result.traces["post"]["isyn_exc"][:, 0]
    arrived = current > 0.5 * 0.1 * (1.0 - math.exp(-10.0))  # init w, init = (tau/dt)(1 - exp(-dt/tau))
    assert np.flatnonzero(arrived).tolist() == [4, 6, 8, 10]


def learning_with_delay(delay=3.0, arithmetic=None) -> nd.Network:
    """A synapse formed at once (random partner, certain formation) with ``delay`` under additive pair STDP,
    pre spikes chosen, post spikes made by a drive through short synaptic currents. The structural synapse
    is inhibitory, so neither its weight nor the drive's sets the other's scale on a chip."""
    # pre spikes in ticks 0, 6 and 14; the drive's in 1 and 7 make the post neuron spike in 2 and 8
    network = nd.Network("stdp_delay", duration=20.0, seed=3)
    network.spike_source("stim", [[0.0, 6.0, 14.0]])
    network.spike_source("drive", [[1.0, 7.0]])
    network.population("post", 1, parameters={"tau_syn_E": 0.1})
    rule = nd.Synaptogenesis(
        s_max=1,
        f_rew=1000.0,
        partner_selection="random",
        grid=(1, 1),
        p_form_forward=1.0,
        p_elim_dep=0.0,
        p_elim_pot=0.0,
        initial_weight=0.5,
        initial_delay=delay,
    )
    stdp = nd.STDP(tau_plus=20.0, tau_minus=20.0, A_plus=0.1, A_minus=0.1, w_min=0.0, w_max=2.0)
    network.project("stim", "post", nd.FromList([], []), 0.0, 1.0, "inhibitory", stdp, label="p", structural=rule)
    network.project("drive", "post", nd.OneToOne(), 300.0, 1.0, label="drive")
    network.record("post", ["spikes"])
    return network


@pytest.mark.parametrize("backend, tolerance", [("brian2", 1e-12), ("spinnaker", 1e-3), ("lava", 0.03)])
def test_a_formed_synapse_with_a_delay_learns_from_post_spikes_seen_after_it(backend, tolerance):
    # By hand, post events at 2 + 3 and 8 + 3: the one at 5 potentiates against the pre spike at 0, the
    # pre spike at 6 depresses against it, the one at 11 potentiates against the pre trace of 0 and 6, the
    # pre spike at 14 depresses against the post trace of 2 and 8 (seen at 11).
    result = make_backend(backend).run(learning_with_delay(), 20.0)
    assert result.structural["events"]["p"] == [[0, "form", 0, 0]]
    assert [ticks.tolist() for ticks in result.spikes.ticks("post")] == [[2, 8]]
    e, trace = math.exp, 1.0 + math.exp(-6 / 20)  # both traces: spikes 6 ticks apart
    expected = 0.5 + 0.1 * e(-5 / 20) - 0.1 * e(-1 / 20) + 0.1 * trace * e(-5 / 20) - 0.1 * trace * e(-3 / 20)
    one_tick = 0.5 + 0.1 * trace * e(-3 / 20) - 0.1 * trace * e(-5 / 20)  # the same spikes seen 1 tick late
    assert abs(expected - one_tick) > 0.04
    assert result.weights["p"]["weight"][0] == pytest.approx(expected, abs=tolerance)


def test_spikes_in_flight_under_stdp_deliver_their_own_weights_as_on_the_emulation(tmp_path):
    """Slots formed and emptied in turn with delays drawn from a range, under STDP: each spike in flight
    delivers the weight its own synapse's update stored, though another synapse holds the slot by then: on
    spinn5's quantization-aware reference as on the emulation, and on the float reference within rounding."""
    from neurodeploy.backends.spinnaker.toolchain import SpinnakerToolchain
    from neurodeploy.catalog import target_descriptions

    network = nd.Network("in_flight_stdp", duration=40.0, seed=7)
    network.spike_source("stim", [[float(t) for t in range(40)]])
    network.spike_source("drive", [[float(t) for t in range(3, 40, 5)]])
    network.population("post", 1, parameters={"tau_syn_E": 0.1})
    rule = nd.Synaptogenesis(
        s_max=1,
        f_rew=1000.0,
        partner_selection="random",
        grid=(1, 1),
        p_form_forward=1.0,
        p_elim_dep=1.0,
        p_elim_pot=1.0,
        initial_weight=1.0,
        initial_delay=[2.0, 5.0],
    )
    stdp = nd.STDP(tau_plus=20.0, tau_minus=20.0, A_plus=0.2, A_minus=0.1, w_max=2.0)
    network.project("stim", "post", nd.FromList([], []), 0.0, 1.0, "inhibitory", stdp, label="p", structural=rule)
    network.project("drive", "post", nd.OneToOne(), 300.0, 1.0, label="drive")
    network.record("post", ["spikes", "isyn_inh"])
    toolchain = SpinnakerToolchain()
    compiled = toolchain.compile(network, target_descriptions()["spinn5"].data, tmp_path, 40.0, map_resources=False)
    emulated = toolchain.execute(compiled, tmp_path, 40.0)
    reference = make_backend("brian2").run(compiled.reference_network(), 40.0)
    delivered = emulated.traces["post"]["isyn_inh"][:, 0]
    assert len(set(np.round(delivered[delivered != 0], 6).tolist())) > 2  # weights that STDP moved arrive
    np.testing.assert_array_equal(reference.traces["post"]["isyn_inh"], emulated.traces["post"]["isyn_inh"])
    described = make_backend("brian2").run(network, 40.0)  # the float reference, within what the chip rounds
    np.testing.assert_allclose(described.traces["post"]["isyn_inh"], emulated.traces["post"]["isyn_inh"], atol=3e-3)
