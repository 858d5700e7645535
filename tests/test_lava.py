"""The Loihi-class target on Lava: an independent integer implementation (written from
target-semantics.md's Loihi equations and our processes' stated equations, not from the backend)
reproduces Lava's u, v and spikes exactly; the hardware recordings; equivalence; design rules; CLI."""

import contextlib
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import psutil
import pytest
from click.testing import CliRunner

import neurodeploy as nd
from conftest import ROOT, feedforward_variant, random_plastic_network, run_reference, stdp_pair_network
from neurodeploy.backends import make_backend
from neurodeploy.backends.lava import launcher, lower, write_parameters
from neurodeploy.backends.lava.environment import MARKER, LavaEnvironment, default_location
from neurodeploy.backends.lava.launcher import run_in_worker
from neurodeploy.backends.lava.quantize import decay_table, stdp_units
from neurodeploy.backends.lava.rules import check_fixed
from neurodeploy.catalog import load_model, target_descriptions
from neurodeploy.cli import main
from neurodeploy.description.cells import CellType, CurrentInput, parameter
from neurodeploy.errors import BackendError
from neurodeploy.runs.deployment import comparison
from test_hippocampus import RECORDINGS, recorded

LOIHI2 = target_descriptions()["loihi2"].data


# --- an independent integer model -------------------------------------------------------------


def toward_zero(x):
    """sgn(x) (|x| >> 12)"""
    x = np.asarray(x, dtype=np.int64)
    return np.sign(x) * (np.abs(x) >> 12)


def wrap24(u):
    u = np.where(u > 2**23, u - 2**24, u)
    return np.where(u <= -(2**23), u + 2**24, u)


class IntegerNeurons:
    """target-semantics.md's Loihi LIF; with ``refractory`` and two currents as CurrExpLIF states."""

    def __init__(self, fixed, stock):
        self.stock, self.f = stock, fixed
        n = len(fixed.vth)
        self.u = {"excitatory": fixed.u_exc.copy(), "inhibitory": fixed.u_inh.copy()}
        if stock:
            self.u = {"excitatory": fixed.u_exc - fixed.u_inh, "inhibitory": np.zeros(n, np.int64)}
        self.v = fixed.v_init.copy()
        self.refractory = np.zeros(n, np.int64)
        self.bias = fixed.bias_mant * 2**fixed.bias_exp

    def step(self, a_exc, a_inh):
        f = self.f
        if self.stock:  # one u; the inhibitory input arrives as negative activation
            self.u["excitatory"] = wrap24(
                toward_zero(self.u["excitatory"] * (4096 - (f.du_exc + 1))) + ((a_exc - a_inh) << 6)
            )
            self.v = np.clip(
                toward_zero(self.v * (4096 - f.dv)) + self.u["excitatory"] + self.bias, -(2**23 - 1), 2**23 - 1
            )
            threshold = np.rint((f.vth - 1) / 64).astype(np.int64) << 6
            spikes = self.v > threshold
            self.v[spikes] = 0
            return spikes
        for receptor, a, du in (("excitatory", a_exc, f.du_exc), ("inhibitory", a_inh, f.du_inh)):
            self.u[receptor] = wrap24(toward_zero(self.u[receptor] * (4096 - (du + 1))) + (a << 6))
        integrated = np.clip(
            toward_zero(self.v * (4096 - f.dv)) + self.u["excitatory"] - self.u["inhibitory"] + self.bias,
            -(2**23 - 1),
            2**23 - 1,
        )
        held = self.refractory > 0
        self.v = np.where(held, self.v, integrated)
        self.refractory = np.where(held, self.refractory - 1, self.refractory)
        spikes = self.v >= f.vth
        self.v[spikes] = f.v_reset[spikes]
        self.refractory[spikes] = f.refractory_ticks[spikes]
        return spikes


def integer_run(network, lowered, ticks):
    """Step the integer model: spikes of tick t enter the target's u in tick t + d as (W s) << exp."""
    populations = {
        label: IntegerNeurons(lowered.populations[label], label in lowered.stock) for label in network.populations
    }
    pending = {label: np.zeros((ticks + 70, 2, network.size_of(label)), np.int64) for label in network.populations}
    sources = {
        label: [set(network.semantics.ticks(t, label, "x").tolist()) for t in s.spike_times]
        for label, s in network.spike_sources.items()
    }
    trace = {label: {"v": [], "u_exc": [], "u_inh": [], "spikes": []} for label in network.populations}
    for t in range(ticks):
        fired = {}
        for label, neurons in populations.items():
            fired[label] = neurons.step(pending[label][t, 0], pending[label][t, 1])
            trace[label]["v"].append(neurons.v.copy())
            trace[label]["u_exc"].append(neurons.u["excitatory"].copy())
            trace[label]["u_inh"].append(neurons.u["inhibitory"].copy())
            trace[label]["spikes"].append(fired[label].copy())
        for label, trains in sources.items():
            fired[label] = np.array([t in train for train in trains])
        for label, projection in network.projections.items():
            assert projection.plasticity is None
            c = network.connections(label)
            active = fired[projection.pre][c.pre]
            np.add.at(
                pending[projection.post],
                (t + c.delay_ticks[active], int(projection.receptor == "inhibitory"), c.post[active]),
                lowered.projections[label].mantissas[active] << lowered.projections[label].weight_exp,
            )
    return {label: {k: np.array(v) for k, v in item.items()} for label, item in trace.items()}


def lava_run(network, ticks, probes):
    lowered = lower(network)
    return lowered, run_in_worker(lowered, ticks, probes=probes)


def small_network(semantics=None):
    net = nd.Network("small", semantics=semantics)
    net.spike_source("S", [[1.0, 2.0, 9.0, 15.0], [2.0, 3.0, 4.0], [5.0, 6.0, 20.0]])
    net.population(
        "A",
        4,
        parameters={
            "tau_m": 8.0,
            "cm": 0.3,
            "tau_syn_E": 4.0,
            "tau_syn_I": 1.5,
            "tau_refrac": 2.0,
            "v_reset": -70.0,
            "v_thresh": -58.0,
            "i_offset": [0.0, 0.1, 0.2, 0.35],
        },
    )
    net.population("B", 2, parameters={"tau_m": 15.0, "cm": 0.5, "tau_syn_E": 2.0, "tau_refrac": 0.0})
    net.project("S", "A", nd.AllToAll(), weight=[0.6, 0.9, 0.3, 1.2] * 3, delay=[1.0, 2.0, 3.0, 1.0] * 3)
    net.project("S", "A", nd.FromList([2, 0], [1, 3]), weight=0.7, delay=3.0, receptor="inhibitory", label="inh")
    net.project("A", "B", nd.AllToAll(), weight=1.5, delay=2.0)
    for label in ("A", "B"):
        net.record(label, ["spikes", "v"])
    return net


def test_integer_model_reproduces_lava_u_v_and_spikes_exactly():
    net = small_network()
    ticks = 40
    lowered, run = lava_run(net, ticks, [("A", "u_exc"), ("A", "u_inh"), ("A", "v"), ("B", "u"), ("B", "v")])
    probed = run.probed
    assert lowered.stock == {"B"}  # no refractoriness, reset to rest, one current: Lava's own LIF
    expected = integer_run(net, lowered, ticks)
    assert np.array_equal(probed[("A", "u_exc")], expected["A"]["u_exc"])
    assert np.array_equal(probed[("A", "u_inh")], expected["A"]["u_inh"])
    assert np.array_equal(probed[("A", "v")], expected["A"]["v"])
    assert np.array_equal(probed[("B", "u")], expected["B"]["u_exc"])
    assert np.array_equal(probed[("B", "v")], expected["B"]["v"])
    for label in ("A", "B"):
        lava_spikes = np.zeros((ticks, net.size_of(label)), bool)
        neurons, tick_indices = run.spikes[label]
        lava_spikes[tick_indices, neurons] = True
        assert np.array_equal(lava_spikes, expected[label]["spikes"]), label
    assert expected["A"]["spikes"].sum() > 3 and expected["B"]["spikes"].sum() > 0
    assert np.any(np.diff(expected["A"]["v"], axis=0) == 0)  # refractory holds happened


def test_pair_stdp_process_follows_its_stated_integer_rule():
    # Pre at 10 and 40, post at 11 (driven), delay 1: at the pre spike of 40 the post event (11, seen
    # at 12) potentiates against the pre at 10 (lag 2), then depresses from it (lag 28).
    net, rule = stdp_pair_network()
    result = make_backend("lava").run(net, 50.0)
    assert result.spikes.populations["post"][0].tolist() == [11.0]
    fixed = lower(net).projections["plastic"]
    units = stdp_units({name: getattr(rule, name) for name in rule.FIELDS}, fixed)
    plus, minus = decay_table(20.0, 1.0), decay_table(20.0, 1.0)
    assert plus[2] == round(4096 * math.exp(-0.1)) and minus[28] == round(4096 * math.exp(-1.4))
    weight = int(fixed.mantissas[0])
    r = 256  # pre trace after the pre at 10; post trace 256 after the post at 11
    weight = min(weight + ((units["A_plus"] * ((r * plus[2]) >> 12)) >> 8), units["w_max"])
    weight = max(weight - ((units["A_minus"] * ((256 * minus[28]) >> 12)) >> 8), units["w_min"])
    assert result.weights["plastic"]["weight"][0] == pytest.approx(weight * fixed.unit[0], rel=1e-12)
    float_rule = 0.5 + 0.5 * math.exp(-0.1) - 0.5 * math.exp(-1.4)
    assert abs(result.weights["plastic"]["weight"][0] - float_rule) < 0.01


def test_conversion_by_hand():
    net = nd.Network("one")
    net.population("P", 1, parameters={"tau_m": 20.0, "cm": 1.0, "tau_syn_E": 5.0, "v_thresh": -50.0})
    net.spike_source("S", [[1.0]])
    net.project("S", "P", nd.OneToOne(), weight=1.0)
    lowered = lower(net)
    fixed = lowered.populations["P"]
    assert fixed.dv[0] == round(4096 * (1 - math.exp(-1 / 20)))  # 200
    assert fixed.du_exc[0] == round(4096 * (1 - math.exp(-1 / 5))) - 1  # 741
    gain = 200 / 4096 * 20.0
    decay = (4096 - 742) / 4096
    init = -(1 - decay) / math.log(decay)
    # the largest single-tick input (1 nA) must stay within 2^21 units of u; 2 x 15 mV within 2^23
    scale = 2 ** math.floor(math.log2(min(2**23 / 30.0, 2**21 / (gain * init * 1.0))))
    assert fixed.scale == scale and fixed.vth[0] == 15 * scale
    c = scale * gain * init * 1.0
    exponent = max(0, math.ceil(math.log2(c / 255)) - 6)
    assert lowered.projections["S->P"].weight_exp == exponent
    assert lowered.projections["S->P"].mantissas[0] == round(c / 2 ** (exponent + 6))
    assert lowered.stock == {"P"} or fixed.refractory_ticks[0] > 0


def test_conductance_neuron_by_hand():
    # CondExpLIF: u holds 2^k (1 - E') R init g, the drive is u (e_rev - v) >> k with the v the tick starts from.
    net = nd.Network("cond")
    net.spike_source("S", [[5.0]])
    net.population("P", 1, "IF_cond_exp", parameters={"tau_m": 10.0, "cm": 0.5, "tau_syn_E": 2.0, "e_rev_E": 0.0})
    net.project("S", "P", nd.OneToOne(), weight=0.05)
    net.record("P", ["v"])
    lowered = lower(net)
    fixed, projection = lowered.populations["P"], lowered.projections["S->P"]
    dv, du = round(4096 * (1 - math.exp(-0.1))), round(4096 * (1 - math.exp(-0.5))) - 1  # 390, 1611
    gain = dv / 4096 * 20.0
    decay = (4096 - du - 1) / 4096
    init = -(1 - decay) / math.log(decay)
    # v's scale from the widest level, E_rev_E - v_rest = 65 mV; u's from the single-tick conductance 0.05 uS
    assert fixed.scale == 2 ** math.floor(math.log2(2**23 / 130))
    shift = math.floor(math.log2(2**21 / (gain * init * 0.05)))
    assert fixed.input.conductance_shift == shift and fixed.input.e_rev_exc[0] == 65 * fixed.scale
    c = 2**shift * gain * init * 0.05
    exponent = max(0, math.ceil(math.log2(c / 255)) - 6)
    mantissa = round(c / 2 ** (exponent + 6))
    assert (projection.weight_exp, projection.mantissas[0]) == (exponent, mantissa)
    v = np.rint((make_backend("lava").run(net, 12.0).traces["P"]["v"][:, 0] + 65.0) * fixed.scale).astype(int)
    u, state, expected = mantissa << exponent << 6, 0, []
    for tick in range(6, 12):
        product = u * (65 * int(fixed.scale) - state)
        state = (state * (4096 - dv) >> 12) + (product >> shift)  # both positive here: floor = truncation
        expected.append(state)
        u = u * (4096 - du - 1) >> 12
    assert np.all(v[:6] == 0) and v[6:].tolist() == expected


def test_cells_lower_through_their_class_and_the_reference_is_typed():
    # A cell type is lowered by the registration of the nearest class it derives from, composed with its
    # input type's; one Lava has none for is refused in one line. The reference holds numpy arrays.
    @dataclass(frozen=True, eq=False)
    class SlowIFCondExp(nd.IFCondExp):
        name: ClassVar[str] = "slow_IF_cond_exp"

    @dataclass(frozen=True, eq=False)
    class Unknown(CellType):
        name: ClassVar[str] = "unknown"
        input: ClassVar[object] = CurrentInput()
        tau_refrac: float = parameter("ms", 0.0)

    net = nd.Network("sub")
    net.spike_source("S", [[1.0]])
    net.population("P", 3, SlowIFCondExp(tau_m=40.0))
    net.project("S", "P", nd.AllToAll(), weight=0.01)
    lowered = lower(net)
    fixed = lowered.populations["P"]
    assert fixed.input.conductance_shift > 0 and fixed.process_type == "CondExpLIF"
    assert fixed.dv[0] == round(4096 * (1 - math.exp(-1 / 40)))
    reference = lowered.reference_network().populations["P"]
    assert type(reference.cell) is SlowIFCondExp and isinstance(reference.cell.e_rev_E, np.ndarray)
    assert np.array_equal(reference.cell.e_rev_E, fixed.input.e_rev_exc / fixed.scale - 65.0)
    net.population("Q", 1, Unknown())
    with pytest.raises(BackendError, match="the lava backend cannot lower Unknown"):
        lower(net)


# --- the semantics' variants: discretization, reset, threshold, synaptic_init -----------------


def one_neuron_each(semantics: nd.Semantics, charge: float) -> nd.Network:
    """A delta and an exponential neuron (ours: v_reset off rest) and, under ``to_v_reset``, an exponential
    one on Lava's LIF, each receiving ``charge`` (nA ms; nA onto the exponential ones) in ticks 1 and 2."""
    net = nd.Network("one each", semantics=semantics)
    net.spike_source("S", [[0.0, 1.0]])
    common = {"tau_m": 16.0, "cm": 1.0, "v_thresh": -55.0, "tau_refrac": 0.0}
    net.population("delta", 1, "IF_curr_delta", parameters={**common, "v_reset": -60.0})
    net.population("exp", 1, parameters={**common, "v_reset": -60.0, "tau_syn_E": 4.0})
    stock = semantics.reset == "to_v_reset"
    if stock:
        net.population("stock", 1, parameters={**common, "v_reset": -65.0, "tau_syn_E": 4.0})
    for label in ("delta", "exp") + (("stock",) if stock else ()):
        net.project("S", label, nd.OneToOne(), weight=charge, label=label)
        net.record(label, ["spikes", "v"])
    return net


def by_hand(keep_v, keep_u, arriving, vth, v_reset, subtract, ticks):
    """Our processes' stated integer step for one neuron, '>' threshold (every value here is positive, so
    ``>> 12`` truncates toward zero)."""
    u = v = 0
    trace, spikes = [], []
    for tick in range(ticks):
        u = (u * keep_u >> 12) + arriving.get(tick, 0)
        v = (v * keep_v >> 12) + u
        spikes.append(v > vth)
        if v > vth:
            v = v - (vth - v_reset) if subtract else v_reset
        trace.append(v)
    return trace, spikes


@pytest.mark.parametrize("discretization, reset", [("euler", "subtract"), ("exact", "to_v_reset")])
def test_one_neuron_by_hand_under_the_semantics_variants(discretization, reset):
    # tau_m 16 ms, tau_syn 4 ms, dt 1 ms. Euler: the membrane keeps 4096 (1 - 1/16) of 4096, the current
    # 4096 (1 - 1/4), and (1 - E) R = 1 mV/nA; exact: 12-bit roundings of exp(-1/16) and exp(-1/4). Each
    # input moves v by exactly the threshold's 10 mV, so with '>' the first lands on the threshold and
    # does not fire; the second does. S: 2 x 10 mV within 2^23 and a 10 mV tick within 2^21 units.
    semantics = nd.Semantics(threshold=">", reset=reset, discretization=discretization, synaptic_init="none")
    euler = discretization == "euler"
    dv = 4096 // 16 if euler else round(4096 * (1 - math.exp(-1 / 16)))  # 256 or 248
    du = 4096 // 4 if euler else round(4096 * (1 - math.exp(-1 / 4)))  # 1024 or 906
    gain = dv / 4096 * 16.0
    net = one_neuron_each(semantics, 10.0 / gain)
    lowered = lower(net)
    scale = 2 ** math.floor(math.log2(min(2**23 / 20.0, 2**21 / 10.0)))
    assert lowered.stock == (set() if reset == "subtract" else {"stock"})
    ticks = 8
    run = run_in_worker(lowered, ticks, probes=[(label, "v") for label in net.populations])
    vth, v_reset = 10 * scale, 5 * scale
    for label in net.populations:
        fixed, projection = lowered.populations[label], lowered.projections[label]
        assert (fixed.scale, fixed.dv[0], fixed.du_exc[0] + 1) == (scale, dv, 4096 if label == "delta" else du)
        assert int(projection.mantissas[0]) << (projection.weight_exp + 6) == vth  # 10 mV in one tick
        keep_u = 0 if label == "delta" else 4096 - du
        expected_v, expected_spikes = by_hand(
            4096 - dv, keep_u, {1: vth, 2: vth}, vth, 0 if label == "stock" else v_reset, reset == "subtract", ticks
        )
        assert run.probed[(label, "v")][:, 0].tolist() == expected_v, label
        assert expected_v[1] == vth and not expected_spikes[1]  # on the threshold: no spike under '>'
        fired = np.zeros(ticks, bool)
        fired[run.spikes[label][1]] = True
        assert fired.tolist() == expected_spikes, label
    assert sum(expected_spikes) >= (3 if reset == "subtract" else 1)


def test_euler_subtract_strict_threshold_and_unscaled_weights_are_the_reference_on_lava():
    # Lava's integers and the quantization-aware reference (brian2 on FixedPointLIF) agree spike for
    # spike for a network of excitation, inhibition, delays and refractoriness under all four variants.
    semantics = nd.Semantics(threshold=">", reset="subtract", discretization="euler", synaptic_init="none")
    network = small_network(semantics)
    lowered = lower(network)
    assert lowered.stock == set()
    reference = run_reference(lowered.reference_network(), 60.0)
    lava = make_backend("lava").run(network, 60.0)
    for label in ("A", "B"):
        assert [t.tolist() for t in lava.spikes.ticks(label)] == [t.tolist() for t in reference.spikes.ticks(label)]
    assert sum(len(t) for t in lava.spikes.ticks("A")) > 5 and sum(len(t) for t in lava.spikes.ticks("B")) > 0


# --- recordings and equivalence --------------------------------------------------------------


@pytest.mark.parametrize("name", list(RECORDINGS))
def test_lava_reproduces_the_hardware_recordings(cam_recordings, name):
    data = json.loads((cam_recordings / name).read_text())
    c, m, expected = recorded(data)
    network = load_model("ca3-cam", {"cue_size": c, "content_size": m}).network
    network = network.with_spike_times({"IN": [[float(t) for t in train] for train in expected["IN"]]})
    result = make_backend("lava").run(network, RECORDINGS[name])
    for population, trains in expected.items():
        assert [ticks.tolist() for ticks in result.spikes.ticks(population)] == trains, population


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["stock", "own", "conductance"])
def test_feedforward_is_the_quantization_aware_reference(variant):
    # The reference on Lava's numbers and integers (FixedPointLIF) fires every spike in Lava's tick
    # (with a float membrane: 99.7% in the same tick, 99.6% with conductances).
    network = feedforward_variant(variant)
    lowered = lower(network)
    assert (lowered.stock == {"neurons"}) == (variant == "stock")
    reference = run_reference(lowered.reference_network(), 2000.0)
    target = make_backend("lava").run(network, 2000.0)
    assert sum(len(t) for t in reference.spikes.ticks("neurons")) > 5000
    assert [t.tolist() for t in target.spikes.ticks("neurons")] == [
        t.tolist() for t in reference.spikes.ticks("neurons")
    ]


@pytest.mark.parametrize(
    "seed, dependence, delay, cell, traces",
    [
        (4, "additive", 3, "IF_curr_exp", "all_to_all"),
        (5, "multiplicative", 4, "IF_curr_exp", "all_to_all"),
        (1, "multiplicative", 1, "IF_cond_exp", "all_to_all"),
        (3, "additive", 3, "IF_curr_exp", "nearest_spynnaker"),
    ],
)
def test_stdp_on_lavas_integers_is_lava(seed, dependence, delay, cell, traces):
    # The quantization-aware reference runs STDP on PairSTDPSynapses' integers (FixedPointSTDP: rounded
    # 12-bit decays, saturating traces, products floored once, int32 weights): every spike and final
    # weight is Lava's, multiplicative weights overshooting w_max and falling below 0 included, with
    # all-to-all and with sPyNNaker's nearest pairs.
    network = random_plastic_network(seed, dependence, delay, cell, traces)
    reference = run_reference(lower(network).reference_network(), 300.0)
    lava = make_backend("lava").run(network, 300.0)
    assert [t.tolist() for t in lava.spikes.ticks("P")] == [t.tolist() for t in reference.spikes.ticks("P")]
    weights = lava.weights["S->P"]["weight"]
    assert np.allclose(weights, reference.weights["S->P"]["weight"], rtol=0, atol=1e-12)
    assert len(np.unique(weights)) > (30 if traces == "all_to_all" else 10)  # nearest pairs are fewer


@pytest.mark.slow
def test_saturating_traces_and_two_rules_onto_one_population_on_lava():
    # Sources firing in 80% of ticks with tau+- of 300 and 900 ms drive every trace to its 2^15 - 1
    # ceiling; an inhibitory projection with its own rule remembers the post spikes with its own tau-.
    network = random_plastic_network(6, "additive", 2)
    data = network.to_dict()
    rng = np.random.default_rng(6)
    data["spike_sources"].append(
        {
            "label": "B",
            "size": 10,
            "spike_times": [np.flatnonzero(rng.random(300) < 0.8).astype(float).tolist() for _ in range(10)],
        }
    )
    network = nd.Network.from_dict(data)
    network.project(
        "B",
        "P",
        nd.AllToAll(),
        weight=0.2,
        plasticity=nd.STDP(tau_plus=300.0, tau_minus=300.0, A_plus=0.01, A_minus=0.012, w_max=1.0),
        label="B->P",
    )
    network.project(
        "B",
        "P",
        nd.AllToAll(),
        weight=0.5,
        receptor="inhibitory",
        plasticity=nd.STDP(tau_plus=300.0, tau_minus=900.0, A_plus=0.01, A_minus=0.011, w_max=1.0),
        label="B-|P",
    )
    lowered = lower(network)
    reference = run_reference(lowered.reference_network(), 300.0)
    lava = make_backend("lava").run(network, 300.0)
    assert [t.tolist() for t in lava.spikes.ticks("P")] == [t.tolist() for t in reference.spikes.ticks("P")]
    for label in ("S->P", "B->P", "B-|P"):
        assert np.allclose(lava.weights[label]["weight"], reference.weights[label]["weight"], rtol=0, atol=1e-12)
    assert all(len(np.unique(lava.weights[label]["weight"])) > 2 for label in ("B->P", "B-|P"))  # not all at a bound


def test_lava_processes_are_stopped_on_errors_and_interrupts(tmp_path, monkeypatch):
    """Nothing is left behind, neither a process nor the exchange folder, whether the run is interrupted,
    the caller's progress fails or the run ends."""
    network = load_model("feedforward-poisson", {"n_neurons": 5, "n_inputs": 5, "duration_ms": 100.0}).network
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def interrupt(fraction):
        raise KeyboardInterrupt

    def fail(fraction):
        raise RuntimeError("the progress display broke")

    with pytest.raises(KeyboardInterrupt):
        make_backend("lava").run(network, 100.0, progress=interrupt)
    assert psutil.Process().children(recursive=True) == [] and list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError, match="the progress display broke"):
        make_backend("lava").run(network, 100.0, progress=fail)
    assert psutil.Process().children(recursive=True) == [] and list(tmp_path.iterdir()) == []
    make_backend("lava").run(network, 50.0)
    assert psutil.Process().children(recursive=True) == [] and list(tmp_path.iterdir()) == []


# --- design rules and the command line ---------------------------------------------------------


def test_design_rules_for_loihi():
    net = nd.Network("bad", semantics=nd.Semantics(threshold=">", synaptic_init="none"))
    net.spike_source("S", [[1.0]] * 2)
    net.population("P", 2, parameters={"tau_syn_E": 0.1}, initial_values={"isyn_exc": 1.0})
    net.project("S", "P", nd.OneToOne(), weight=1.0, delay=70.0, label="far")
    net.project("S", "P", nd.AllToAll(), weight=[2.0, 0.001, 2.0, 2.0], label="tiny", receptor="inhibitory")
    net.project("S", "P", nd.AllToAll(), plasticity=nd.STDP(semantics=nd.STDPSemantics.immediate()), label="classic")
    symmetric = nd.STDP(semantics=nd.STDPSemantics(traces="nearest_symmetric"))
    net.project("S", "P", nd.AllToAll(), plasticity=symmetric, label="symmetric")
    lowered = lower(net)
    findings = check_fixed(net, lowered.populations, lowered.projections, LOIHI2)
    text = " | ".join(str(f) for f in findings)
    assert "error: projection 'far': delays up to 70 ticks exceed the 62" in text
    assert "warning: projection 'tiny': 1 of 4 weights are below half a mantissa step" in text
    assert "error: projection 'classic': the loihi target's PairSTDPSynapses runs sPyNNaker's rules" in text
    assert (
        "error: projection 'symmetric': the loihi target's PairSTDPSynapses runs sPyNNaker's rules (traces = "
        "'all_to_all' or 'nearest_spynnaker'), not 'nearest_symmetric'"
    ) in text
    assert not [f for f in findings if f.subject == "semantics"]  # '>' and synaptic_init none run as they are
    assert "warning: population 'P': a synaptic state decays to 0 within a tick here" in text
    big = nd.Network("big")
    big.population("P", 2_000_000)
    lowered = lower(big)
    findings = check_fixed(big, lowered.populations, lowered.projections, LOIHI2)
    assert any("needs about 245 neuro cores" in str(f) for f in findings)


def test_a_membrane_whose_twelve_bit_leak_is_zero_is_flagged():
    # dv = rint(4096 (1 - exp(-1 / tau_m))): 1 at 8000 ms (4096 / 8000 = 0.51), 0 at 9000 ms (0.46), where the
    # gain (dv / 4096) R and so the bias from i_offset are 0; PIF_curr_delta keeps its gain dt / cm
    def lowered(cell_type, parameters):
        net = nd.Network("slow")
        net.population("P", 1, cell_type, parameters={"i_offset": 2.0, **parameters})
        fixed = lower(net).populations["P"]
        findings = " | ".join(str(f) for f in check_fixed(net, {"P": fixed}, {}, None))
        return fixed, "tau_m is so long that the 12-bit dv is 0" in findings

    fixed, flagged = lowered("IF_curr_exp", {"tau_m": 8000.0})
    assert int(fixed.dv[0]) == 1 and fixed.bias_mant[0] != 0 and not flagged
    fixed, flagged = lowered("IF_curr_exp", {"tau_m": 9000.0})
    assert int(fixed.dv[0]) == 0 and fixed.bias_mant[0] == 0 and flagged
    fixed, flagged = lowered("PIF_curr_delta", {})
    assert int(fixed.dv[0]) == 0 and fixed.bias_mant[0] != 0 and not flagged


def test_compile_reports_stock_and_own_processes(tmp_path):
    out = tmp_path / "loihi"
    result = CliRunner().invoke(main, ["compile", "ca3-cam", "--target", "loihi2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "CA3cueCueRecall->CA3contCueRecall: PairSTDPSynapses (neurodeploy)" in result.output
    assert "IN(cue)->CA3cueCueRecall: lava.proc.sparse.Sparse (stock Lava)" in result.output
    report = json.loads((out / "compile.json").read_text())
    assert report["resources"]["neuro_cores"] == 9 and report["resources"]["available"] == 128
    assert report["processes"]["populations"]["OUT"] == {"process": "CurrExpLIF", "origin": "neurodeploy"}


@pytest.mark.slow
def test_deploy_on_loihi_compares_cam_answers_and_reports_the_verdict(tmp_path):
    out = tmp_path / "cam"
    result = CliRunner().invoke(
        main,
        [
            "deploy",
            "ca3-cam",
            "--protocol",
            str(ROOT / "models/protocols/ca3-cam-exp1.json"),
            "--target",
            "loihi2",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "9/9 operations answer as on the reference" in result.output and "PASS: lava on loihi2" in result.output
    summary = json.loads((out / "deploy.json").read_text())
    assert comparison(summary, "correctness")["spikes"]["overall"]["same_tick_fraction"] == 1.0


@pytest.mark.slow
def test_deploy_on_loihi_of_an_euler_subtract_strict_threshold_network(tmp_path):
    semantics = nd.Semantics(threshold=">", reset="subtract", discretization="euler", synaptic_init="none")
    path = nd.save(small_network(semantics), tmp_path / "small.json")
    out = tmp_path / "deploy"
    result = CliRunner().invoke(
        main, ["deploy", str(path), "--target", "loihi2", "--duration", "60", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "PASS: lava on loihi2" in result.output
    summary = json.loads((out / "deploy.json").read_text())
    assert comparison(summary, "correctness")["spikes"]["overall"]["same_tick_fraction"] == 1.0
    compiled = json.loads((out / "loihi2" / "compile" / "compile.json").read_text())
    assert not [f for f in compiled["findings"] if f["level"] == "error"]


@pytest.mark.slow
def test_run_with_the_lava_backend(tmp_path):
    result = CliRunner().invoke(
        main,
        [
            "run",
            "ca3-cam",
            "--protocol",
            str(ROOT / "models/protocols/ca3-cam-exp1.json"),
            "--backend",
            "lava",
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 0 and "agreement with an ideal associative memory: 9/9" in result.output


def test_unconnected_parts_all_run_as_on_the_reference():
    # Lava compiles what is connected to one process: two source->population chains, a recorded source
    # with nothing else and nine populations driven by i_offset alone (twelve parts: more than one
    # Join holds) all run, spike for spike as the quantization-aware reference.
    network = nd.Network("parts")
    for part in ("1", "2"):
        network.spike_source(f"S{part}", [[1.0, 2.0, 3.0, 12.0], [5.0, 6.0]])
        network.population(f"P{part}", 2)
        network.project(f"S{part}", f"P{part}", nd.AllToAll(), weight=2.0 * float(part))
    network.spike_source("alone", [[2.0, 7.0], [], [9.0]])
    network.spike_source("unread", [[1.0]])
    for k in range(9):
        network.population(f"I{k}", 2, parameters={"i_offset": [0.8 + 0.05 * k, 1.2 + 0.1 * k]})
    for label in [*network.populations, "alone"]:
        network.record(label, ["spikes"])
    network.record("I3", ["spikes", "v"])
    reference = run_reference(lower(network).reference_network(), 60.0)
    lava = make_backend("lava").run(network, 60.0)
    for label in [*network.populations, "alone"]:
        assert [t.tolist() for t in lava.spikes.ticks(label)] == [t.tolist() for t in reference.spikes.ticks(label)], (
            label
        )
        assert sum(len(t) for t in lava.spikes.ticks(label)) > 0, label
    assert lava.traces["I3"]["v"].shape == (60, 2)


# --- the worker in the Lava environment ---------------------------------------------------------


def logged(error: BackendError) -> Path:
    """The worker's log an error names."""
    return Path(re.search(r"\(log: (.*)\)$", str(error)).group(1))


def test_the_worker_runs_the_numbers_it_was_sent_and_refuses_a_file_without_them(tmp_path):
    """The worker runs the compiled parameters, not a lowering of its own: with the input projection's
    mantissas zeroed in the file, A's neuron without bias no longer fires; a file that lacks a
    population's numbers is one error naming what is missing: a refusal, so no log is kept."""
    network = small_network()
    lowered = lower(network)
    write_parameters(lowered, tmp_path / "sent.npz")
    with np.load(tmp_path / "sent.npz") as stored:
        arrays = {name: stored[name] for name in stored.files}
    sent = run_in_worker(lowered, 40, parameters=tmp_path / "sent.npz")
    assert 0 in sent.spikes["A"][0]  # A's neuron 0 has no bias: S drives it
    silenced = {**arrays, "projection.S->A.mantissas": np.zeros_like(arrays["projection.S->A.mantissas"])}
    np.savez(tmp_path / "silenced.npz", **silenced)
    quiet = run_in_worker(lowered, 40, parameters=tmp_path / "silenced.npz")
    assert 0 not in quiet.spikes["A"][0] and quiet.spikes["A"][0].size < sent.spikes["A"][0].size
    np.savez(tmp_path / "partial.npz", **{k: v for k, v in arrays.items() if k != "population.B.dv"})
    with pytest.raises(BackendError, match=r"do not hold the lowered network: 'dv'") as bad:
        run_in_worker(lowered, 40, parameters=tmp_path / "partial.npz")
    assert "(log:" not in str(bad.value) and "worker failed" not in str(bad.value)


def still_running(processes: list[psutil.Process], within_s: float = 5.0) -> list[int]:
    """Which of ``processes`` still run after ``within_s`` (polled): a killed worker's own children are
    orphans, no longer among this process's children, so they are looked up by what was seen running."""

    def runs(process: psutil.Process) -> bool:
        try:
            return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    deadline = time.monotonic() + within_s
    while True:
        running = [process.pid for process in processes if runs(process)]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.2)


@contextlib.contextmanager
def processes_seen():
    """What this process's descendants were while the block ran, noted as they start (the worker, its
    tracker and Lava's processes): pid -> (process, command line, the shared memory it mapped)."""
    seen, done = {}, threading.Event()

    def note():
        while not done.wait(0.1):
            for process in psutil.Process().children(recursive=True):
                try:
                    with open(f"/proc/{process.pid}/maps") as maps:
                        shared = set(re.findall(r"/dev/shm/\S+", maps.read()))
                    _, _, before = seen.get(process.pid, (None, None, set()))
                    seen[process.pid] = (process, " ".join(process.cmdline()), before | shared)
                except (OSError, psutil.NoSuchProcess):
                    pass

    watcher = threading.Thread(target=note)
    watcher.start()
    try:
        yield seen
    finally:
        done.set()
        watcher.join()


def test_a_worker_past_its_timeout_is_stopped_with_everything_it_started():
    network = load_model("feedforward-poisson", {"n_neurons": 20, "n_inputs": 10, "duration_ms": 100000.0}).network
    backend = make_backend("lava", timeout="3 s")
    with (
        processes_seen() as seen,
        pytest.raises(BackendError, match=r"did not finish within the timeout of 3 s and was stopped \(log: ") as late,
    ):
        backend.run(network, 100000.0)
    assert len(seen) >= 4 and any("neurodeploy.backends.lava.worker" in command for _, command, _ in seen.values())
    assert still_running([process for process, _, _ in seen.values()]) == []
    assert psutil.Process().children(recursive=True) == []
    shutil.rmtree(logged(late.value).parent)


def test_a_worker_that_will_not_stop_is_killed_and_leaves_no_shared_memory(tmp_path, monkeypatch):
    """A worker that ignores the request to stop (started with SIGTERM ignored) is killed with Lava's
    processes, and its resource tracker still unlinks the shared memory they mapped."""
    (tmp_path / "env" / "bin").mkdir(parents=True)
    environment = LavaEnvironment(tmp_path / "env")
    python = LavaEnvironment(default_location()).python
    environment.python.write_text(f"#!/bin/sh\ntrap '' TERM\nexec '{python}' \"$@\"\n")
    environment.python.chmod(0o755)
    (tmp_path / "env" / MARKER).write_text(json.dumps(environment.expected_marker()))
    monkeypatch.setattr(launcher, "KILL_AFTER_S", 1.0)
    network = load_model("feedforward-poisson", {"n_neurons": 20, "n_inputs": 10, "duration_ms": 100000.0}).network
    with processes_seen() as seen, pytest.raises(BackendError, match="did not finish within the timeout") as late:
        run_in_worker(lower(network), 100000, timeout_s=3.0, environment=environment)
    shared = set().union(*(mapped for _, _, mapped in seen.values()))
    assert len(seen) >= 4 and shared
    assert still_running([process for process, _, _ in seen.values()]) == []
    assert sorted(path for path in shared if os.path.exists(path)) == []
    shutil.rmtree(logged(late.value).parent)


def test_a_failing_worker_is_one_error_with_its_log(tmp_path):
    """A worker that dies (here a Python that exits with a message before running anything) is one line
    with its exit and the log that holds what it said."""
    environment = LavaEnvironment(tmp_path / "env")
    (tmp_path / "env" / "bin").mkdir(parents=True)
    environment.python.write_text("#!/bin/sh\necho 'cannot start: no lava here' >&2\nexit 7\n")
    environment.python.chmod(0o755)
    (tmp_path / "env" / MARKER).write_text(json.dumps(environment.expected_marker()))
    with pytest.raises(BackendError, match=r"^the Lava worker failed: exit code 7 \(log: .*worker\.log\)$") as failed:
        run_in_worker(lower(small_network()), 10, environment=environment)
    log = logged(failed.value)
    assert log.read_text() == "cannot start: no lava here\n"
    shutil.rmtree(log.parent)


def test_the_worker_runs_the_linked_package_whatever_the_folder_and_pythonpath(tmp_path, monkeypatch):
    """Run from a folder (and with a PYTHONPATH) holding another ``neurodeploy``, as from an older clone,
    the worker still runs the package the Lava environment links, the one the main process runs."""
    (tmp_path / "neurodeploy").mkdir()
    (tmp_path / "neurodeploy" / "__init__.py").write_text("raise ImportError('not the linked neurodeploy')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    run = run_in_worker(lower(small_network()), 40)
    assert 0 in run.spikes["A"][0]  # as in the run of the numbers it was sent above
