"""Izhikevich (PyNN ``Izhikevich``, sPyNNaker's ``IZK_curr_exp``) on every backend: hand-derived traces of
sPyNNaker 7.4.1's integer step (the worked examples of research/spynnaker-delta-izk.md, read from its
binary), of the Lava process's integers and of the float64 step, the design rules each target states, and
the 200-neuron feed-forward benchmark deployed to spinn5 and loihi2 against its quantization-aware
reference."""

import json
import subprocess
import sys

import numpy as np
import pytest

import neurodeploy as nd
from conftest import spike_ticks
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import lower
from neurodeploy.backends.lava.cells import IzhikevichFixed
from neurodeploy.backends.lava.rules import check_fixed
from neurodeploy.backends.spinnaker import cells as spinnaker_cells
from neurodeploy.backends.spinnaker import graph as spinnaker_graph
from neurodeploy.backends.spinnaker.quantize import quantization_aware, ring_buffer_scaling
from neurodeploy.description.cells import Accumulator, FixedPointIzhikevich, Izhikevich
from neurodeploy.runs.deployment import comparison

ONE = 2**15  # s16.15


def network(ticks_dt=1.0, arithmetic=None, **fields):
    net = nd.Network("izhikevich", nd.Semantics(dt=ticks_dt))
    net.population("P", 1, Izhikevich(**fields), arithmetic=arithmetic)
    net.record("P", ["spikes", "v"])
    return net


def bits(result) -> list[int]:
    return np.rint(result.traces["P"]["v"][:, 0] * ONE).astype(np.int64).tolist()


CHIP = Accumulator(input_limit={"excitatory": 1.0, "inhibitory": 1.0})

# (fields, dt, V bits after each tick, spike ticks): the research file's examples A, B, C and D.
# A: at the real fixed point (v = -70, u = -14) the chip drifts: beta = floor(-28 * 655 / 2^15) = -1, ...
# B: i_offset 40 nA spikes in tick 1 (V' = 9213423) and, with the step 1.85 ms (60620), again in tick 2.
# C: dt = 0.1 (h = 3277, p = 65): tick 5's beta is 28 in the binary's order, 29 in the source's.
# D: a 2 nA weight arriving in tick 0 is syn = 59393 then (initial isyn_exc 59393 / 2^15 nA acts alike), and
#    decays by the chip's 3516490311 / 2^32 (on the chip's numbers only: rint(2^32 e^-0.2) is one more).
CHIP_EXAMPLES = [
    ({}, 1.0, [-2292768, -2292231, -2291895], []),
    ({"i_offset": 40.0}, 1.0, [-850559, -2129920, -2129920], [1, 2]),
    ({"i_offset": 10.0}, 0.1, [-2261808, -2231478, -2202480, -2174559, -2147496, -2121091], []),
]
SYNAPTIC_EXAMPLE = ({"isyn_exc": 59393 / ONE}, 1.0, [-2250096, -2230423, -2224552], [])


@pytest.mark.parametrize("fields, dt, expected, spikes", CHIP_EXAMPLES)
def test_the_reference_on_the_chips_accumulators_computes_spynnakers_bits(fields, dt, expected, spikes):
    result = make_backend("brian2").run(network(dt, CHIP, **fields), len(expected) * dt)
    assert bits(result) == expected
    assert spike_ticks(result) == spikes


@pytest.mark.parametrize("fields, dt, expected, spikes", CHIP_EXAMPLES + [SYNAPTIC_EXAMPLE])
def test_spinnaker_emulation_and_its_quantization_aware_reference_compute_spynnakers_bits(fields, dt, expected, spikes):
    net = network(dt, **fields)
    emulated = make_backend("spinnaker").run(net, len(expected) * dt)
    assert bits(emulated) == expected and spike_ticks(emulated) == spikes
    graph = spinnaker_graph.lower(net)
    reference = quantization_aware(net, graph, ring_buffer_scaling(graph))
    assert isinstance(reference.populations["P"].arithmetic, Accumulator)
    computed = make_backend("brian2").run(reference, len(expected) * dt)
    assert bits(computed) == expected and spike_ticks(computed) == spikes


def test_spinnaker_step_by_hand():
    # Example C's tick 5 at dt = 0.1: X = floor(V 6554 / 2^15) - U = 29079, p = floor(3277 * 655 / 2^15) = 65,
    # beta = floor(floor(29079 * 65 / 2^15) / 2) = 28; then V' = -2121091, U' = -458543.
    net = network(0.1, i_offset=10.0, v=-2147496 / ONE, u=-458605 / ONE)
    neurons = spinnaker_cells.build(net.populations["P"].cell).neuron.build(net.populations["P"], nd.Semantics(dt=0.1))
    assert neurons.step(np.zeros(1, np.int64), np.zeros(1, np.int64), None).size == 0
    assert (neurons.v.tolist(), neurons.u.tolist(), neurons.h.tolist()) == ([-2121091], [-458543], [3277])
    # Example B's tick 1 from (V, U) = (-850559, -456130): V' >= 30 mV, V = c, U = -444504 + 65536, h = 60620.
    net = network(i_offset=40.0, v=-850559 / ONE, u=-456130 / ONE)
    neurons = spinnaker_cells.build(net.populations["P"].cell).neuron.build(net.populations["P"], nd.Semantics(dt=1.0))
    assert neurons.step(np.zeros(1, np.int64), np.zeros(1, np.int64), None).tolist() == [0]
    assert (neurons.v.tolist(), neurons.u.tolist(), neurons.h.tolist()) == ([-2129920], [-378968], [60620])


def test_float_step_by_hand():
    # i_offset 10, dt 1: pre = 10 + 140 + 14 = 164, alpha = 164 + (0.04 (-70) + 5) (-70) = 10, eta = -65,
    # beta = 0, V = -70 + 164 + (-2.6 + 5) (-65) = -62, U = -14 + (0.2 (-65) + 14) 0.02 = -13.98; then
    # pre = 163.98, alpha = 7.74, eta = -58.13, beta = 0.0158, V = -62 + 163.9642 - 2.6748 * 58.13 = -53.521924.
    result = make_backend("brian2").run(network(i_offset=10.0), 2.0)
    np.testing.assert_allclose(result.traces["P"]["v"][:, 0], [-62.0, -53.521924], rtol=0, atol=1e-9)
    # i_offset 40: V = -26, U = -13.92; tick 1: alpha = 90.96, eta = 19.48, V' = 280.411616 spikes, U = -11.565424
    # and the step becomes 1.85 ms: alpha = 35.565424, eta = -32.1019828, V' = 68.76... spikes again.
    result = make_backend("brian2").run(network(i_offset=40.0), 3.0)
    np.testing.assert_allclose(result.traces["P"]["v"][:, 0], [-26.0, -65.0, -65.0], rtol=0, atol=1e-9)
    assert spike_ticks(result) == [1, 2]


def test_the_continuous_model_fires_regularly_under_constant_current():
    result = make_backend("brian2", mode="physics").run(network(i_offset=10.0), 200.0)
    intervals = np.diff(result.spikes.populations["P"][0])
    assert len(intervals) > 5 and np.ptp(intervals[-3:]) < 0.5  # adapted to a regular rhythm


def test_lava_integers_by_hand():
    # Defaults with isyn_exc 2 nA: scale 2^15 (twice |v| = 70 mV within 23 bits), s = 65536, decaying by
    # 4096 - round(4096 (1 - e^-0.2)) = 3354 / 4096, truncated: 65536 -> 53664 -> 43942. The step as the
    # chip's: tick 0 pre = 65536 + 4587520 + 458752, alpha = pre + floor((floor(V 1311 / 2^15) + 163840) V / 2^15)...
    net = network(isyn_exc=2.0)
    fixed = lower(net).populations["P"]
    assert isinstance(fixed, IzhikevichFixed) and fixed.fraction_bits == 15
    assert (fixed.du_exc.tolist(), fixed.s_exc.tolist(), fixed.step.tolist(), fixed.spike_step.tolist()) == (
        [742],
        [65536],
        [32768],
        [60620],
    )
    result = make_backend("lava").run(net, 3.0)
    assert bits(result) == [-2245567, -2223550, -2216793]
    # The reference on the process's arithmetic computes the same integers.
    reference = lower(net).reference_network()
    assert isinstance(reference.populations["P"].arithmetic, FixedPointIzhikevich)
    assert bits(make_backend("brian2").run(reference, 3.0)) == [-2245567, -2223550, -2216793]


def test_lava_clips_v_to_24_bits_and_still_spikes():
    # Example B's tick 1 overshoots to V' = 9213423 > 2^23 - 1: held at 8388607, which is still >= 30 mV.
    result = make_backend("lava").run(network(i_offset=40.0), 3.0)
    assert bits(result) == [-850559, -2129920, -2129920] and spike_ticks(result) == [1, 2]


def test_loihi2_design_rules_name_the_microcode_it_needs():
    findings = lower(network()).populations["P"].findings("population 'P'")
    microcode = [f for f in findings if "microcode" in f.message]
    assert len(microcode) == 1 and microcode[0].level == "warning"
    assert all(word in microcode[0].message for word in ("two 24-bit state variables", "square", "48 bits"))


def test_loihi2_design_rules_refuse_turnover():
    # CurrExpIzhikevich runs no neuron turnover: compile says so, and run refuses before building the graph.
    net = network()
    net.turnover("P", nd.NeuronTurnover(initial_alive=1, epoch=10.0, dormant_tau=0.2, dormant_epochs=2))
    lowered = lower(net)
    errors = [f for f in check_fixed(net, lowered.populations, lowered.projections, None) if f.level == "error"]
    assert [(f.subject, f.message) for f in errors] == [
        ("population 'P'", "CurrExpIzhikevich runs no neuron turnover: drop the population's turnover")
    ]
    with pytest.raises(nd.BackendError, match="^population 'P': CurrExpIzhikevich runs no neuron turnover"):
        make_backend("lava").run(net, 10.0)


BENCHMARK = [
    "feedforward-poisson",
    "--param",
    "cell_type=Izhikevich",
    "--param",
    "i_offset=5",
    "--param",
    "w_low=1",
    "--param",
    "w_high=3",
]


@pytest.mark.slow
@pytest.mark.parametrize("target", ["spinn5", "loihi2"])
def test_deploy_benchmark_matches_the_quantization_aware_reference(target, tmp_path):
    out = tmp_path / target
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "neurodeploy",
            "deploy",
            *BENCHMARK,
            "--duration",
            "300",
            "--target",
            target,
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr
    verdict = comparison(json.loads((out / "deploy.json").read_text()), "correctness")["spikes"]["overall"]
    assert verdict["reference_spikes"] > 1000 and verdict["same_tick_fraction"] == 1.0
