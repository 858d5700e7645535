"""IF_curr_delta on every backend: its declared meaning (a weight is a charge, the current of its tick is
charge / dt, gone at the tick's end, lost while refractory), hand-derived traces on the float reference,
on each chip's integers (sPyNNaker 7.4.1's, from its binaries; Lava's) and on the emulations, and the
200-neuron benchmark deployed to spinn5 and loihi2 against the quantization-aware reference."""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

import neurodeploy as nd
from conftest import ROOT, run_reference, spike_ticks, v_trace
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import lower
from neurodeploy.backends.lava.rules import check_fixed
from neurodeploy.backends.spinnaker import cells as spinnaker_cells
from neurodeploy.backends.spinnaker.rules import check_semantics
from neurodeploy.catalog import target_descriptions
from neurodeploy.description.cells import IFCurrDelta
from neurodeploy.runs.deployment import comparison

E = math.exp(-1 / 20)  # the membrane's decay at dt = 1 ms, tau_m = 20 ms (PyNN's defaults)
LOIHI2 = target_descriptions()["loihi2"].data
ACCUMULATOR = {"kind": "accumulator", "input_limit": {"excitatory": 64.0, "inhibitory": 64.0}}


def one_neuron(weights, receptor="excitatory", dt=1.0, arithmetic=None, **parameters) -> nd.Network:
    """A source firing at ``dt * k`` for each (k, weight) in ``weights`` onto one IF_curr_delta neuron
    (delay one tick: the weight arrives in tick k + 1)."""
    net = nd.Network("delta", nd.Semantics(dt=dt))
    net.spike_source("S", [[round(k * dt, 9)] for k, _ in weights])
    net.population("P", 1, "IF_curr_delta", parameters, arithmetic=arithmetic)
    net.project(
        "S",
        "P",
        nd.FromList(list(range(len(weights))), [0] * len(weights)),
        weight=[w for _, w in weights],
        delay=dt,
        receptor=receptor,
    )
    net.record("P", ["spikes", "v"])
    return net


def test_the_cell_declares_a_charge_that_acts_for_one_tick():
    semantics = nd.Semantics(dt=0.5)
    population = nd.Population("P", 2, "IF_curr_delta", {"cm": 0.5}, {"isyn_exc": "3 nA*ms"})
    assert population.cell.synapse.time_constants == {} and "tau_syn_E" not in population.parameters
    assert population.init_factor("excitatory", semantics).tolist() == [2.0, 2.0]  # 1 / dt
    assert population.synaptic_decay("inhibitory", semantics).tolist() == [0.0, 0.0]
    assert population.initial_input("excitatory", semantics).tolist() == [6.0, 6.0]  # the charge over dt
    again = nd.Network.from_dict(json.loads(json.dumps(one_neuron([(0, 1.0)]).to_dict())))
    assert again.populations["P"].cell_type == "IF_curr_delta"
    with pytest.raises(nd.ValidationError, match="tau_syn_E.*unknown for IF_curr_delta"):
        nd.Population("P", 1, "IF_curr_delta", {"tau_syn_E": 5.0})


def test_float_reference_by_hand():
    # 5 nA ms arriving in tick 1: I = 5 nA for the tick, V = a - E (a - V) with a = 5 R + v_rest.
    a = -65.0 + 5.0 * 20.0
    v1 = a - E * (a - -65.0)
    expected = [-65.0, v1, -65.0 + E * (v1 + 65.0), -65.0 + E * E * (v1 + 65.0)]
    assert v_trace(run_reference(one_neuron([(0, 5.0)]), 4.0)) == pytest.approx(expected, abs=1e-12)
    # inhibitory: the same step down
    assert v_trace(run_reference(one_neuron([(0, 5.0)], "inhibitory"), 2.0))[1] == pytest.approx(-65.0 - (v1 + 65.0))
    # 16 nA ms: V would pass -50 (15.6 mV up), so it spikes in tick 1 and is held for ceil(0.1 / 1) = 1 tick;
    # the 16 arriving in that tick 2 is lost (no carry-over), the one in tick 3 spikes again.
    result = run_reference(one_neuron([(0, 16.0), (1, 16.0), (2, 16.0)]), 5.0)
    assert spike_ticks(result) == [1, 3] and v_trace(result)[1:3] == [-65.0, -65.0]


def test_physics_mode_moves_v_by_the_charge_over_cm():
    # Continuous time: 2 nA ms into 0.5 nF is a 4 mV step at arrival (delivered at 1 ms, applied in the
    # next 0.1 ms step before its threshold), then the leak.
    result = make_backend("brian2", mode="physics", physics_dt=0.1).run(one_neuron([(0, 2.0)], cm=0.5), 3.0)
    v = result.traces["P"]["v"][:, 0]
    assert v[10] == pytest.approx(-65.0, abs=1e-12) and v[11] == pytest.approx(-61.0, abs=1e-12)
    assert v[21] == pytest.approx(-65.0 + 4.0 * math.exp(-1.0 / 20), abs=1e-9)


# sPyNNaker 7.4.1's IF_curr_delta (research/spynnaker-delta-izk.md, section 2.5): V in s16.15 bits from the
# arrival tick on, defaults, one weight.
SPYNNAKER_EXAMPLES = {
    "A: 5 nA ms, dt 1": (5.0, "excitatory", 1.0, [-1970120, -1977912, -1985324]),
    "A': 5 nA ms, dt 0.1": (5.0, "excitatory", 0.1, [-1966929, -1967739, -1968545]),
    "B: 0.7 nA ms": (0.7, "excitatory", 1.0, [-2107547, -2108638, -2109675]),
    "C: 2 nA ms inhibitory": (2.0, "inhibitory", 1.0, [-2193840, -2190722, -2187756]),
}


@pytest.mark.parametrize("example", list(SPYNNAKER_EXAMPLES))
def test_accumulator_reference_is_spynnakers_arithmetic(example):
    # Accumulator with a delta synapse: the weight enters unscaled, I = floor(s sf / 2^15) with
    # sf = floor(2^30 / rint(2^15 dt)), the LIF closed form floored, s = 0 after the tick.
    weight, receptor, dt, expected = SPYNNAKER_EXAMPLES[example]
    result = run_reference(one_neuron([(0, weight)], receptor, dt, ACCUMULATOR), 4 * dt)
    assert [round(v * 2**15) for v in v_trace(result)] == [-2129920] + expected


def test_accumulator_reference_loses_input_while_refractory():
    # Example D: 16 nA ms spikes in its arrival tick (V would be -1618560 >= -1638400); the next tick is
    # refractory and the 16 arriving then is never read; at rest afterwards.
    result = run_reference(one_neuron([(0, 16.0), (1, 16.0)], arithmetic=ACCUMULATOR), 4.0)
    assert spike_ticks(result) == [1] and [round(v * 2**15) for v in v_trace(result)] == [-2129920] * 4


@pytest.mark.parametrize("example", list(SPYNNAKER_EXAMPLES))
def test_spinnaker_emulation_by_hand(example):
    weight, receptor, dt, expected = SPYNNAKER_EXAMPLES[example]
    result = make_backend("spinnaker").run(one_neuron([(0, weight)], receptor, dt), 4 * dt)
    assert [round(v * 2**15) for v in v_trace(result)] == [-2129920] + expected


def test_spinnaker_emulation_loses_input_while_refractory():
    result = make_backend("spinnaker").run(one_neuron([(0, 16.0), (1, 16.0), (2, 16.0)]), 5.0)
    assert spike_ticks(result) == [1, 3]


def test_lava_integers_by_hand():
    # Loihi-class integers: dv = round(4096 (1 - e^-1/20)) = 200, du = 4095 (u keeps 4096 - 4096 = 0 of
    # itself: it is the tick's input), gain (1 - E') R = 200/4096 x 20. S = 2^18 (2 x 15 mV within 2^23;
    # 5 x gain within 2^21); a weight adds S gain w / dt = 256000 w; 1280000 is mantissa 156 at
    # exponent 7 (156 << 13 = 1277952). Then v = trunc(v 3896 / 4096) + u.
    net = one_neuron([(0, 5.0)])
    lowered = lower(net)
    fixed, projection = lowered.populations["P"], lowered.projections["S->P"]
    assert (fixed.dv[0], fixed.du_exc[0], fixed.scale) == (200, 4095, 2**18)
    assert (projection.weight_exp, projection.mantissas[0]) == (7, 156)
    expected = [0, 1277952, 1215552, 1156198]
    lava = np.rint((np.array(v_trace(make_backend("lava").run(net, 4.0))) + 65.0) * 2**18).astype(int)
    assert lava.tolist() == expected
    reference = run_reference(lowered.reference_network(), 4.0)  # FixedPointLIF: F = 0, init 1 / dt
    assert np.rint((np.array(v_trace(reference)) + 65.0) * 2**18).astype(int).tolist() == expected


@pytest.mark.parametrize("stock", [False, True])
def test_lava_loses_input_while_refractory(stock):
    # Our CurrExpLIF holds V for the refractory tick; Lava's own LIF (no refractory period, reset to rest)
    # runs a delta synapse exactly too (du = 4095), and then the tick-2 weight spikes at once.
    parameters = {"tau_refrac": 0.0} if stock else {}
    net = one_neuron([(0, 16.0), (1, 16.0), (2, 16.0)], **parameters)
    assert lower(net).stock == ({"P"} if stock else set())
    assert spike_ticks(make_backend("lava").run(net, 5.0)) == ([1, 2, 3] if stock else [1, 3])


def test_quantization_reports_and_design_rules():
    # spinn5: sPyNNaker's own IF_curr_delta (LIF, delta synapse, delta input type), weights written as they
    # are; a charge present at the start is not written by the PyNN script, which its design rules say.
    # loihi2: u forgets itself every tick (du 4095); a charge present at the start is lost there (Lava
    # decays u before its first use), which its design rules say.
    build = spinnaker_cells.build(IFCurrDelta)
    assert (build.model, build.synapse, build.input) == (
        "IF_curr_delta",
        spinnaker_cells.SynapseTypeDelta,
        spinnaker_cells.InputTypeDelta,
    )
    assert build.input.weight_scale == 1.0
    net = one_neuron([(0, 5.0)])
    fixed = lower(net).populations["P"]
    assert fixed.report()["du_exc"] == [4095] and fixed.report()["du_inh"] == [4095]
    data = net.to_dict()
    data["populations"][0]["initial_values"]["isyn_exc"] = 1.0
    charged = nd.Network.from_dict(data)
    lowered = lower(charged)
    text = " | ".join(str(f) for f in check_fixed(charged, lowered.populations, lowered.projections, LOIHI2))
    assert "warning: population 'P': a synaptic state decays to 0 within a tick here" in text
    spinnaker = " | ".join(str(f) for f in check_semantics(charged))
    assert "initial isyn_exc is not 0" in spinnaker


def deploy(target: str, tmp_path, duration_ms: float) -> dict:
    """``neurodeploy deploy`` of the 200-neuron benchmark with IF_curr_delta (about 25 Hz), its comparison
    against the quantization-aware reference."""
    out = tmp_path / target
    command = [
        sys.executable,
        "-m",
        "neurodeploy",
        "deploy",
        "feedforward-poisson",
        "--target",
        target,
        "--param",
        "cell_type=IF_curr_delta",
        "--param",
        "w_low=2.0",
        "--param",
        "w_high=4.0",
        "--param",
        "i_offset=0.2",
        "--duration",
        str(duration_ms),
        "--out",
        str(out),
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS" in done.stdout
    return json.loads((out / "deploy.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("target", ["spinn5", "loihi2"])
def test_deploy_delta_benchmark_matches_the_quantization_aware_reference(target, tmp_path):
    correctness = comparison(deploy(target, tmp_path, 300.0), "correctness")
    neurons = correctness["spikes"]["populations"]["neurons"]
    assert neurons["same_tick_fraction"] == 1.0 and neurons["run_spikes"] > 1000
