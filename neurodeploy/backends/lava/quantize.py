"""Float-to-fixed conversion for Loihi-class integer neurons and synapses.

The membrane potential is kept relative to v_rest, ``v = S (V - v_rest)``, with one voltage scale S
(units per mV, a power of two) per population. With ``E' = 1 - dv/4096`` the neuron's per-tick decay,
a current I (nA) is held as ``u = S (1 - E') R I`` (R = tau_m/cm), so that ``v' = E' v + u + bias``
is the shared model's ``V' = E' V' + (1 - E') R (I + i_offset)``. Then:

* ``dv = round(4096 (1 - exp(-dt/tau_m)))``; ``du = round(4096 (1 - exp(-dt/tau_syn))) - 1`` (Lava
  decays currents by ``4096 - (du + 1)``);
* a weight w (nA) onto a neuron adds ``c = S (1 - E') R init' w`` to u (``init'`` the first-tick mean
  for the implemented decay); a projection stores 8-bit mantissas ``m = round(c / 2^(e + 6))`` with the
  smallest exponent ``e >= 0`` keeping its largest weight (w_max for plastic ones) within 255;
* thresholds, resets and initial values are ``round(S (x - v_rest))``; ``i_offset`` is the bias
  ``S (1 - E') R i_offset`` as a 13-bit mantissa and 3-bit exponent;
* S is the largest power of two keeping twice the threshold/reset range within 23 bits (v is 24-bit
  signed) and the largest input one neuron can receive in a single tick within 21 bits of u, so the
  activation a connection delivers in a tick fits 16 signed bits (``a << 6`` enters u):
  thresholds and weights use the available bits. (Precision matters: on the 200-neuron benchmark
  the same-tick match with the quantization-aware reference grows from 99.3% at S = 2^14 to 100% at
  2^18.) Inputs sustained far above that single-tick bound can still wrap u; the design rules say so.

Conductance-based cells (CondExpLIF) hold a conductance g (uS) as ``u = K (1 - E') R g`` with its own
power of two ``K = 2^k`` (the largest single-tick conductance input within 21 bits of u), and the
reversal potentials as ``e = round(S (E_rev - v_rest))`` (in the range S is chosen for); the neuron
adds ``u (e - v) >> k``, the current in v's units. Weights (uS) map to u as currents do, with K for S.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neurodeploy.description import CELL_TYPES, FixedPointLIF, FixedPointSTDP, Network
from neurodeploy.description.structural import with_rounded_weights
from neurodeploy.description.semantics import Semantics

DECAY_SHIFT = 12
DECAY_UNITY = 1 << DECAY_SHIFT
ACTIVATION_SHIFT = 6
WEIGHT_MANTISSA_MAX = 255
BIAS_MANTISSA_MAX = 4095
BIAS_EXPONENT_MAX = 7
STATE_BITS = 24
V_HEADROOM = 2
# PairSTDPSynapses' integers (proc/pair_stdp): traces of 2^-8 saturating at 2^15 - 1, decay tables of
# 2^-12, multiplicative amplitudes of 2^-8, each post neuron's latest 16 spikes remembered.
STDP_TRACE_BITS = 8
STDP_DECAY_BITS = 12
STDP_RATE_BITS = 8
STDP_TRACE_WIDTH = 16
STDP_HISTORY = 16


@dataclass(eq=False)
class PopulationFixed:
    """A population's integer parameters (arrays, one value per neuron) and its voltage scale."""

    scale: float
    dv: np.ndarray
    du_exc: np.ndarray
    du_inh: np.ndarray
    gain: np.ndarray  # (1 - E') R: mV per nA of current, per tick
    init_exc: np.ndarray  # first-tick mean for the implemented current decay
    init_inh: np.ndarray
    vth: np.ndarray
    v_reset: np.ndarray
    v_init: np.ndarray
    u_exc: np.ndarray
    u_inh: np.ndarray
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    refractory_ticks: np.ndarray
    e_rev_exc: np.ndarray | None = None  # conductance-based cells: reversal potentials in v's units
    e_rev_inh: np.ndarray | None = None
    conductance_shift: int = 0  # k: u holds 2^k (1 - E') R g

    @property
    def conductance(self) -> bool:
        return self.e_rev_exc is not None

    @property
    def weight_scale(self) -> float:
        """u units per unit of (1 - E') R w: K for conductances, S for currents."""
        return 2.0 ** self.conductance_shift if self.conductance else self.scale

    def decay_v(self) -> np.ndarray:
        return 1.0 - self.dv / DECAY_UNITY

    def decay_u(self, receptor: str) -> np.ndarray:
        return (DECAY_UNITY - 1 - (self.du_exc if receptor == "excitatory" else self.du_inh)) / DECAY_UNITY


@dataclass(eq=False)
class ProjectionFixed:
    weight_exp: int
    mantissas: np.ndarray  # per synapse, connection order
    unit: np.ndarray  # weight (nA, or uS onto conductance-based cells) per mantissa unit, per synapse
    held_unit: np.ndarray  # the same for every synapse the projection may hold (structural: any pair)

    @property
    def stored_weights(self) -> np.ndarray:
        return self.mantissas * self.unit

    @property
    def weight_unit(self) -> float:
        """The one unit of a plastic or structural projection's weights (the rules check it is one)."""
        return float(np.median(self.held_unit)) if self.held_unit.size else 1.0

    def mantissa_of(self, weight: float) -> int:
        return int(min(round(weight / self.weight_unit), WEIGHT_MANTISSA_MAX))


def decay_code(tau, dt: float) -> np.ndarray:
    """``round(4096 (1 - exp(-dt/tau)))`` per value."""
    return np.rint(DECAY_UNITY * -np.expm1(-dt / np.asarray(tau, dtype=np.float64))).astype(np.int64)


def before_first_decay(u_first: np.ndarray, du: np.ndarray) -> np.ndarray:
    """The current to start a neuron from so that its first decay (truncated toward zero) leaves
    ``u_first``: Lava's neurons decay u before they first use it, the semantics use the initial value
    as given. (A decay of 0 cannot start from anything but 0: the design rules say so.)"""
    keep = DECAY_UNITY - (np.asarray(du, dtype=np.int64) + 1)
    u_first = np.asarray(u_first, dtype=np.int64)
    magnitude = -(-np.abs(u_first) * DECAY_UNITY // np.maximum(keep, 1))
    return np.where(keep > 0, np.sign(u_first) * magnitude, 0)


def first_tick_mean(decay: np.ndarray) -> np.ndarray:
    """``(tau/dt)(1 - D)`` for the decay D the integers implement (``-(1 - D)/ln D``); 1 when D = 0."""
    decay = np.asarray(decay, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(decay > 0, -(1.0 - decay) / np.log(np.where(decay > 0, decay, 0.5)), 1.0)


def _bias(values: np.ndarray):
    """Mantissa and exponent (13-bit signed, 3-bit) of integer biases; exponent 8 marks 'too large'."""
    exponent = np.zeros(values.shape, dtype=np.int64)
    magnitude = np.abs(values)
    for _ in range(BIAS_EXPONENT_MAX + 1):
        too_big = np.rint(magnitude / 2.0 ** exponent) > BIAS_MANTISSA_MAX
        exponent = np.where(too_big, exponent + 1, exponent)
    return np.rint(values / 2.0 ** exponent).astype(np.int64), exponent


def population_fixed(network: Network) -> dict[str, PopulationFixed]:
    semantics: Semantics = network.semantics
    dt = semantics.dt
    inputs = network.input_per_tick()
    result = {}
    for label, population in network.populations.items():
        value = population.value
        dv = decay_code(value("tau_m"), dt)
        du = {"excitatory": np.maximum(decay_code(value("tau_syn_E"), dt) - 1, 0),
              "inhibitory": np.maximum(decay_code(value("tau_syn_I"), dt) - 1, 0)}
        gain = (dv / DECAY_UNITY) * value("tau_m") / value("cm")
        init = {receptor: first_tick_mean((DECAY_UNITY - 1 - du[receptor]) / DECAY_UNITY) for receptor in du}
        v_rest = value("v_rest")
        conductance = population.cell_type == "IF_cond_exp"
        levels = [value("v_thresh"), value("v_reset"), value("v")] + (
            [value("e_rev_E"), value("e_rev_I")] if conductance else [])
        span = np.max(np.abs(np.concatenate(levels) - np.tile(v_rest, len(levels))))
        synaptic = sum(gain * init[receptor] * inputs.get((label, receptor), 0.0) for receptor in du)
        tick = np.abs(gain * value("i_offset")) + (0.0 if conductance else synaptic)
        scale = _power_of_two_within([2.0 ** (STATE_BITS - 1) / (V_HEADROOM * span) if span > 0 else np.inf,
                                      2.0 ** (STATE_BITS - 3) / float(np.max(tick)) if np.max(tick) > 0 else np.inf])
        bias_mant, bias_exp = _bias(np.rint(scale * gain * value("i_offset")))
        state, u_scale, reversal, shift = population.cell.synaptic_state, scale, {}, 0
        if conductance:
            u_scale = _power_of_two_within([2.0 ** (STATE_BITS - 3) / float(np.max(synaptic))
                                            if np.max(synaptic) > 0 else np.inf])
            shift = int(math.log2(u_scale))
            reversal = {f"e_rev_{receptor}": np.rint(scale * (value(f"e_rev_{name}") - v_rest)).astype(np.int64)
                        for receptor, name in (("exc", "E"), ("inh", "I"))}
        result[label] = PopulationFixed(
            scale, dv, du["excitatory"], du["inhibitory"], gain, init["excitatory"], init["inhibitory"],
            np.rint(scale * (value("v_thresh") - v_rest)).astype(np.int64),
            np.rint(scale * (value("v_reset") - v_rest)).astype(np.int64),
            np.rint(scale * (value("v") - v_rest)).astype(np.int64),
            np.rint(u_scale * gain * value(f"{state}_exc")).astype(np.int64),
            np.rint(u_scale * gain * value(f"{state}_inh")).astype(np.int64),
            bias_mant, bias_exp, semantics.refractory_ticks(value("tau_refrac")), conductance_shift=shift,
            **reversal)
    return result


def _power_of_two_within(limits: list[float]) -> float:
    """The largest power of two within every limit (2^16 when nothing limits it)."""
    bound = min(limits)
    return 2.0 ** math.floor(math.log2(bound)) if np.isfinite(bound) else 2.0 ** 16


def projection_fixed(network: Network, populations: dict[str, PopulationFixed]) -> dict[str, ProjectionFixed]:
    result = {}
    for label, projection in network.projections.items():
        connections = network.connections(label)
        post = populations[projection.post]
        init = post.init_exc if projection.receptor == "excitatory" else post.init_inh
        units_per_weight = post.weight_scale * post.gain[connections.post] * init[connections.post]  # u per nA (uS)
        contribution = np.abs(connections.weight) * units_per_weight
        largest = contribution.max() if contribution.size else 0.0
        held = units_per_weight
        if projection.structural is not None:  # every post neuron may get synapses of the initial weight
            held = post.weight_scale * post.gain * init
            largest = max(largest, float((projection.structural.initial_weight * held).max()))
        if projection.plasticity is not None and held.size:
            largest = max(largest, float((projection.plasticity.w_max * held).max()))
        exponent = 0
        if largest > 0:
            exponent = max(0, math.ceil(math.log2(largest / WEIGHT_MANTISSA_MAX)) - ACTIVATION_SHIFT)
        step = 2.0 ** (exponent + ACTIVATION_SHIFT)
        mantissas = np.minimum(np.rint(contribution / step), WEIGHT_MANTISSA_MAX).astype(np.int64)
        result[label] = ProjectionFixed(exponent, mantissas, step / units_per_weight, step / held)
    return result


def projection_report(network: Network, projections: dict[str, ProjectionFixed]) -> dict:
    report = {}
    for label, fixed in projections.items():
        weights = np.abs(network.connections(label).weight)
        nonzero = weights > 0
        relative = np.abs(fixed.stored_weights[nonzero] - weights[nonzero]) / weights[nonzero]
        report[label] = {"synapses": int(weights.size), "weight_exp": fixed.weight_exp,
                         "mantissa_range": [int(fixed.mantissas.min()), int(fixed.mantissas.max())] if weights.size else None,
                         "largest_relative_weight_error": float(relative.max()) if relative.size else 0.0,
                         "synapses_quantized_to_zero": int(np.count_nonzero(nonzero & (fixed.mantissas == 0)))}
    return report


def population_report(populations: dict[str, PopulationFixed]) -> dict:
    def span(values):
        values = np.unique(values)
        return values.tolist() if values.size <= 4 else [int(values.min()), int(values.max())]
    return {label: {"scale_units_per_mV": fixed.scale, "vth": span(fixed.vth), "v_reset": span(fixed.v_reset),
                    "dv": span(fixed.dv), "du_exc": span(fixed.du_exc), "du_inh": span(fixed.du_inh),
                    "bias_mant": span(fixed.bias_mant), "bias_exp": span(fixed.bias_exp),
                    "refractory_ticks": span(fixed.refractory_ticks),
                    **({"conductance_shift": fixed.conductance_shift, "e_rev_exc": span(fixed.e_rev_exc),
                        "e_rev_inh": span(fixed.e_rev_inh)} if fixed.conductance else {})}
            for label, fixed in populations.items()}


def quantization_aware(network: Network, populations: dict[str, PopulationFixed],
                       projections: dict[str, ProjectionFixed], stock: set[str] = frozenset()) -> Network:
    """The network with the numbers the integers implement, for the float reference: time constants
    from the 12-bit decays (R kept), thresholds, resets and initial values on the 1/S grid (stock LIF:
    threshold ``64 vth + 1`` and reset to v_rest), i_offset from the bias, weights from the mantissas,
    the neurons' integer arithmetic (FixedPointLIF: 12-bit decays truncated toward zero, 24-bit state)
    and STDP on PairSTDPSynapses' integers (:func:`pair_stdp_arithmetic`)."""
    dt = network.semantics.dt
    data = network.to_dict()
    for entry in data["populations"]:
        fixed = populations[entry["label"]]
        parameters, initial = entry["parameters"], entry["initial_values"]
        v_rest = np.asarray(parameters["v_rest"], dtype=np.float64)
        resistance = np.asarray(parameters["tau_m"], dtype=np.float64) / np.asarray(parameters["cm"], dtype=np.float64)
        tau_m = -dt / np.log(fixed.decay_v())
        parameters["tau_m"] = tau_m.tolist()
        parameters["cm"] = (tau_m / resistance).tolist()
        for name, receptor in (("tau_syn_E", "excitatory"), ("tau_syn_I", "inhibitory")):
            decay = fixed.decay_u(receptor)
            parameters[name] = np.where(decay > 0, -dt / np.log(np.where(decay > 0, decay, 0.5)),
                                        parameters[name]).tolist()
        threshold = fixed.vth
        if entry["label"] in stock:
            threshold = stock_threshold(fixed.vth) * 64 + 1
            parameters["v_reset"] = v_rest.tolist()
        else:
            parameters["v_reset"] = (v_rest + fixed.v_reset / fixed.scale).tolist()
        parameters["v_thresh"] = (v_rest + threshold / fixed.scale).tolist()
        parameters["i_offset"] = ((fixed.bias_mant * 2.0 ** fixed.bias_exp) / (fixed.scale * fixed.gain)).tolist()
        initial["v"] = (v_rest + fixed.v_init / fixed.scale).tolist()
        state = CELL_TYPES[entry["cell_type"]].input.state
        initial[f"{state}_exc"] = (fixed.u_exc / (fixed.weight_scale * fixed.gain)).tolist()
        initial[f"{state}_inh"] = (fixed.u_inh / (fixed.weight_scale * fixed.gain)).tolist()
        if fixed.conductance:
            parameters["e_rev_E"] = (v_rest + fixed.e_rev_exc / fixed.scale).tolist()
            parameters["e_rev_I"] = (v_rest + fixed.e_rev_inh / fixed.scale).tolist()
        entry["synaptic_init"] = {"excitatory": fixed.init_exc.tolist(), "inhibitory": fixed.init_inh.tolist()}
        combined = entry["label"] in stock  # Lava's LIF keeps one current: u_exc - u_inh, one decay
        if combined:
            parameters["tau_syn_E"] = parameters["tau_syn_I"] = parameters[
                "tau_syn_I" if stock_receptor(network, entry["label"]) == "inhibitory" else "tau_syn_E"]
        entry["arithmetic"] = FixedPointLIF(v_unit=1.0 / fixed.scale, decay_bits=DECAY_SHIFT, state_bits=STATE_BITS,
                                            conductance_shift=fixed.conductance_shift,
                                            currents="combined" if combined else "separate").to_dict()
    for entry in data["projections"]:
        fixed = projections[entry["label"]]
        entry["weight"] = fixed.stored_weights.tolist()
        if "plasticity" in entry:
            rule = entry["plasticity"]
            unit = fixed.weight_unit
            for name, value in stdp_units(rule, fixed).items():
                if name in ("w_min", "w_max") or rule["weight_dependence"] == "additive":
                    rule[name] = value * unit
                else:
                    rule[name] = value / 2.0 ** STDP_RATE_BITS
            rule["arithmetic"] = pair_stdp_arithmetic(unit).to_dict()
        if "structural" in entry:
            initial = fixed.mantissa_of(entry["structural"]["initial_weight"]) * fixed.weight_unit
            entry["structural"] = with_rounded_weights(network.projections[entry["label"]].structural, initial,
                                                       entry.get("plasticity", {}).get("w_max")).to_dict()
    return Network.from_dict(data)


def stock_receptor(network: Network, label: str) -> str:
    """The receptor whose decay Lava's LIF (one current) gives a population: the inhibitory one only
    when all its input is inhibitory."""
    inputs = {p.receptor for p in network.projections.values() if p.post == label}
    return "inhibitory" if inputs == {"inhibitory"} else "excitatory"


def stock_threshold(vth_units: np.ndarray) -> np.ndarray:
    """Lava's LIF spikes when v > vth << 6: ``v >= T`` becomes vth = round((T - 1) / 64)."""
    return np.rint((np.asarray(vth_units) - 1) / 64.0).astype(np.int64)


def pair_stdp_arithmetic(unit: float) -> FixedPointSTDP:
    """PairSTDPSynapses' rule on integers: weights in whole mantissas of ``unit`` held in int32,
    rounded 12-bit decay tables, traces added and saturated, products floored once, and a post
    spike in tick 0 potentiating as any other."""
    return FixedPointSTDP(weight_lsb=unit, weight_step=unit, weight_bits=32, weight_signed=True,
                          trace_bits=STDP_TRACE_BITS,
                          decay_bits=STDP_DECAY_BITS, decay_rounding="nearest", trace_width=STDP_TRACE_WIDTH,
                          trace_overflow="saturate", rate_bits=STDP_RATE_BITS, rate_product="floor_once",
                          history=STDP_HISTORY, potentiate_tick_zero=True)


def stdp_units(rule: dict, fixed: ProjectionFixed) -> dict:
    """A+, A- (weight units, or 2^-8 for multiplicative) and w_min, w_max (weight units) of a rule.
    A plastic projection's synapses must share one weight unit (one post neuron type)."""
    unit = fixed.weight_unit
    amplitudes = {name: rule[name] / unit if rule["weight_dependence"] == "additive"
                  else rule[name] * 2.0 ** STDP_RATE_BITS
                  for name in ("A_plus", "A_minus")}
    return {**{name: int(round(value)) for name, value in amplitudes.items()},
            "w_min": int(round(rule["w_min"] / unit)), "w_max": int(round(rule["w_max"] / unit))}


def decay_table(tau: float, dt: float) -> np.ndarray:
    """``round(4096 exp(-k dt/tau))`` for k = 0, 1, ... while it is not 0 (a 12-bit fraction, 1.0 exact)."""
    size = int(math.ceil(tau / dt * math.log(2 * DECAY_UNITY))) + 1
    table = np.rint(DECAY_UNITY * np.exp(-np.arange(size) * dt / tau)).astype(np.int64)
    return table[table > 0]
