"""Float-to-fixed formats of Loihi-class integer neurons and synapses, and the projections' numbers.

Each population has one voltage scale S (units per mV, a power of two), and holds a weight w as its
effect on the synaptic state u in a tick, ``c = U w`` (per neuron, :mod:`.cells` says what U is for each
cell type). A projection stores 8-bit mantissas ``m = round(c / 2^(e + 6))`` with the smallest exponent
``e >= 0`` keeping its largest weight (w_max for plastic ones) within 255 (a population's numbers may
round c from another converter's formula: ``CellFixed.mantissa_units`` and ``mantissa``). The cells' decays are 12-bit,
``round(4096 (1 - E))`` with ``E`` the semantics' decay (``Semantics.decay``); biases a 13-bit mantissa and
3-bit exponent.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from neurodeploy.description import FixedPointSTDP, Network
from neurodeploy.description.semantics import Semantics
from neurodeploy.description.structural import rounded_weights

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


def decay_code(tau, semantics: Semantics) -> np.ndarray:
    """``round(4096 (1 - E))`` per value, ``E`` the semantics' decay of ``tau`` (``Semantics.decay``)."""
    return np.rint(DECAY_UNITY * (1.0 - semantics.decay(tau))).astype(np.int64)


def before_first_decay(u_first: np.ndarray, du: np.ndarray) -> np.ndarray:
    """The current to start a neuron from so that its first decay (truncated toward zero) leaves
    ``u_first``: Lava's neurons decay u before they first use it, the semantics use the initial value
    as given. (A decay of 0 cannot start from anything but 0: the design rules say so.)"""
    keep = DECAY_UNITY - (np.asarray(du, dtype=np.int64) + 1)
    u_first = np.asarray(u_first, dtype=np.int64)
    magnitude = -(-np.abs(u_first) * DECAY_UNITY // np.maximum(keep, 1))
    return np.where(keep > 0, np.sign(u_first) * magnitude, 0)


def implemented_time_constant(decay: np.ndarray, semantics: Semantics, otherwise) -> np.ndarray:
    """The time constant whose decay (``Semantics.decay``) is the decay D the integers implement;
    ``otherwise`` where D = 0, which no time constant has under ``exact``."""
    decay = np.asarray(decay, dtype=np.float64)
    return np.where(decay > 0, semantics.time_constant(np.where(decay > 0, decay, 0.5)), otherwise)


def arrival_factor(decay: np.ndarray, semantics: Semantics) -> np.ndarray:
    """The semantics' init factor (``Semantics.init_factor``) for the decay D the integers implement:
    under ``exact`` the first-tick mean ``-(1 - D)/ln D`` (1 when D = 0), else 1."""
    decay = np.asarray(decay, dtype=np.float64)
    return np.where(decay > 0, semantics.init_factor(implemented_time_constant(decay, semantics, 1.0)), 1.0)


def bias(values: np.ndarray):
    """Mantissa and exponent (13-bit signed, 3-bit) of integer biases; exponent 8 marks 'too large'."""
    exponent = np.zeros(values.shape, dtype=np.int64)
    magnitude = np.abs(values)
    for _ in range(BIAS_EXPONENT_MAX + 1):
        too_big = np.rint(magnitude / 2.0**exponent) > BIAS_MANTISSA_MAX
        exponent = np.where(too_big, exponent + 1, exponent)
    return np.rint(values / 2.0**exponent).astype(np.int64), exponent


def power_of_two_within(limits: list[float]) -> float:
    """The largest power of two within every limit (2^16 when nothing limits it)."""
    bound = min(limits)
    return 2.0 ** math.floor(math.log2(bound)) if np.isfinite(bound) else 2.0**16


def projection_fixed(network: Network, populations: dict, exponents: dict | None = None) -> dict[str, ProjectionFixed]:
    """Every projection's numbers, from its post population's (``populations``: :mod:`.cells`' records), with
    at least the weight exponents in ``exponents`` (by label: a schedule's weights must fit the one chosen)."""
    result = {}
    for label, projection in network.projections.items():
        connections = network.connections(label)
        post = populations[projection.post]
        per_neuron = post.units_per_weight(projection.receptor)  # u per nA (uS)
        units_per_weight = per_neuron[connections.post]
        contribution = np.abs(connections.weight) * post.mantissa_units(projection.receptor)[connections.post]
        largest = contribution.max() if contribution.size else 0.0
        held = units_per_weight
        if projection.structural is not None:  # every post neuron may get synapses of the initial weight
            held = per_neuron
            largest = max(largest, float((projection.structural.initial_weight * held).max()))
        if projection.plasticity is not None and held.size:
            largest = max(largest, float((projection.plasticity.w_max * held).max()))
        exponent = 0
        if largest > 0:
            exponent = max(0, math.ceil(math.log2(largest / WEIGHT_MANTISSA_MAX)) - ACTIVATION_SHIFT)
        exponent = max(exponent, (exponents or {}).get(label, 0))
        step = 2.0 ** (exponent + ACTIVATION_SHIFT)
        mantissas = np.minimum(post.mantissa(contribution / step), WEIGHT_MANTISSA_MAX)
        result[label] = ProjectionFixed(exponent, mantissas, step / units_per_weight, step / held)
    return result


def projection_report(network: Network, projections: dict[str, ProjectionFixed]) -> dict:
    report = {}
    for label, fixed in projections.items():
        weights = np.abs(network.connections(label).weight)
        nonzero = weights > 0
        relative = np.abs(fixed.stored_weights[nonzero] - weights[nonzero]) / weights[nonzero]
        report[label] = {
            "synapses": int(weights.size),
            "weight_exp": fixed.weight_exp,
            "mantissa_range": ([int(fixed.mantissas.min()), int(fixed.mantissas.max())] if weights.size else None),
            "largest_relative_weight_error": float(relative.max()) if relative.size else 0.0,
            "synapses_quantized_to_zero": int(np.count_nonzero(nonzero & (fixed.mantissas == 0))),
        }
    return report


def quantization_aware(
    network: Network, populations: dict, projections: dict[str, ProjectionFixed], stock: set[str] = frozenset()
) -> Network:
    """The network with the numbers the integers implement, for the float reference: each population's
    as its cell type's numbers give them (:mod:`.cells`), weights from the mantissas, STDP on
    PairSTDPSynapses' integers (:func:`pair_stdp_arithmetic`) and structural rules that compare the
    rounded weights as the targets do."""
    return network.replaced(
        populations={
            label: populations[label].reference(
                population, network.semantics, stock_receptor(network, label) if label in stock else None
            )
            for label, population in network.populations.items()
        },
        projections={
            label: quantized_projection(projection, projections[label])
            for label, projection in network.projections.items()
        },
    )


def quantized_projection(projection, fixed: ProjectionFixed):
    """The projection with its stored weights, its STDP rule on integers and its structural rule's
    weights rounded."""
    unit, rule, structural = fixed.weight_unit, projection.plasticity, projection.structural
    if rule is not None:
        amounts = {
            name: value * unit
            if name in ("w_min", "w_max") or rule.weight_dependence == "additive"
            else value / 2.0**STDP_RATE_BITS
            for name, value in stdp_units({name: getattr(rule, name) for name in rule.FIELDS}, fixed).items()
        }
        rule = replace(rule, **amounts, arithmetic=pair_stdp_arithmetic(unit))
    if structural is not None:
        structural = rounded_weights(
            structural, fixed.mantissa_of(structural.initial_weight) * unit, None if rule is None else rule.w_max
        )
    return replace(projection, weight=fixed.stored_weights, plasticity=rule, structural=structural)


def stock_receptor(network: Network, label: str) -> str:
    """The receptor whose decay Lava's LIF (one current) gives a population: the inhibitory one only
    when all its input is inhibitory."""
    inputs = {p.receptor for p in network.projections.values() if p.post == label}
    return "inhibitory" if inputs == {"inhibitory"} else "excitatory"


def stock_threshold(vth_units: np.ndarray, threshold: str) -> np.ndarray:
    """Lava's LIF spikes when v > vth << 6: ``v > T`` becomes vth = round(T / 64), ``v >= T``
    (``v > T - 1``) vth = round((T - 1) / 64)."""
    return np.rint((np.asarray(vth_units) - stock_threshold_offset(threshold)) / 64.0).astype(np.int64)


def stock_threshold_offset(threshold: str) -> int:
    """What Lava's LIF's ``v > 64 vth`` is, as the semantics' comparison: ``v > 64 vth``, or ``v >= 64 vth + 1``."""
    return 1 if threshold == ">=" else 0


def pair_stdp_arithmetic(unit: float) -> FixedPointSTDP:
    """PairSTDPSynapses' rule on integers: weights in whole mantissas of ``unit`` held in int32,
    rounded 12-bit decay tables, traces added and saturated, products floored once, and a post
    spike in tick 0 potentiating as any other."""
    return FixedPointSTDP(
        weight_lsb=unit,
        weight_step=unit,
        weight_bits=32,
        weight_signed=True,
        trace_bits=STDP_TRACE_BITS,
        decay_bits=STDP_DECAY_BITS,
        decay_rounding="nearest",
        trace_width=STDP_TRACE_WIDTH,
        trace_overflow="saturate",
        rate_bits=STDP_RATE_BITS,
        rate_product="floor_once",
        history=STDP_HISTORY,
        potentiate_tick_zero=True,
    )


def stdp_units(rule: dict, fixed: ProjectionFixed) -> dict:
    """A+, A- (weight units, or 2^-8 for multiplicative) and w_min, w_max, heterosynaptic (weight units) of a rule.
    A plastic projection's synapses must share one weight unit (one post neuron type)."""
    unit = fixed.weight_unit
    amplitudes = {
        name: rule[name] / unit if rule["weight_dependence"] == "additive" else rule[name] * 2.0**STDP_RATE_BITS
        for name in ("A_plus", "A_minus")
    }
    return {
        **{name: int(round(value)) for name, value in amplitudes.items()},
        "w_min": int(round(rule["w_min"] / unit)),
        "w_max": int(round(rule["w_max"] / unit)),
        "heterosynaptic": int(round(rule["heterosynaptic"] / unit)),
    }


def decay_table(tau: float, dt: float) -> np.ndarray:
    """``round(4096 exp(-k dt/tau))`` for k = 0, 1, ... while it is not 0 (a 12-bit fraction, 1.0 exact)."""
    size = int(math.ceil(tau / dt * math.log(2 * DECAY_UNITY))) + 1
    table = np.rint(DECAY_UNITY * np.exp(-np.arange(size) * dt / tau)).astype(np.int64)
    return table[table > 0]
