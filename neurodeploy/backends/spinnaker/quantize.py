"""Weights and constants as sPyNNaker 7.x stores them, and what that costs.

Each post population has one ring-buffer left shift ``s`` per receptor; a weight is stored as the
unsigned 16-bit ``rint(|w| k 2^(15-s))`` and read back as ``w16 2^(s-15) / k`` (nA, or uS onto
conductance-based cells), ``k`` the cell's global weight scale (1, or 1024 for conductances: the chip
holds ``1024 g``). ``s`` is the smallest with ``W < 2^s``, where ``W`` is sPyNNaker's bound on the input
summed in one tick (``PopulationVertex.get_ring_buffer_shifts`` and ``_Stats``, ported here): with
every projection's delays constant, ``max(sum of w_max * n_conns, k * largest w_max)``; otherwise a
Poisson bound at 30 Hz per source and 5 standard deviations on ``k w``, capped by that sum. (sPyNNaker
7.4.1 leaves ``k`` out of the sum; so do we.)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.graph import GraphProjection, SpinnakerGraph
from neurodeploy.description import CELL_TYPES, AccumulatorLIF, FixedPointSTDP, Network
from neurodeploy.description.structural import with_rounded_weights

RECEPTORS = ("excitatory", "inhibitory")
CONDUCTANCE_SHIFT = 10  # input_type_conductance.h: g = syn >> 10 (syn holds 1024 g)
SPIKES_PER_SECOND = 30.0  # sPyNNaker's default spikes_per_second: every source is assumed to fire at it
RING_BUFFER_SIGMA = 5.0
POISSON_SIGMA_SUMMATION_LIMIT = 3.0
WEIGHT_MASK = 0xFFFF
# get_global_weight_scale of each cell's input type (InputTypeCurrent, InputTypeConductance).
GLOBAL_WEIGHT_SCALE = {"IF_curr_exp": 1.0, "IF_cond_exp": 1024.0}


class _RunningStats:
    """Mean and variance combined from groups, with sPyNNaker's RunningStats algebra."""

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, mean: float, variance: float, n: int):
        if n <= 0:
            return
        total = self.n + n
        delta = mean - self.mean
        self.m2 = self.m2 + variance * (n - 1.0) + delta * delta * self.n * n / total
        self.mean = (self.n * self.mean + n * mean) / total
        self.n = total

    @property
    def variance(self) -> float:
        return 0.0 if self.n <= 1 else self.m2 / (self.n - 1.0)


@dataclass(frozen=True)
class ProjectionStats:
    """What sPyNNaker's connector and synapse dynamics report for one projection."""

    n_conns: int  # most connections onto one post neuron
    w_mean: float
    w_var: float
    w_max: float
    d_var: float


def projection_stats(projection: GraphProjection, graph: SpinnakerGraph) -> ProjectionStats:
    if projection.is_from_list and len(projection.connections) == 0:  # an empty structural projection
        stats = [0, 0.0, 0.0, 0.0, 0.0]
    elif projection.is_from_list:
        rows = projection.connections
        n_conns = int(np.bincount(rows[:, 1].astype(np.int64)).max())
        weights = np.abs(rows[:, 2])
        stats = [n_conns, float(weights.mean()), float(weights.var()), float(weights.max()), float(rows[:, 3].var())]
    else:
        n_pre = graph.populations[projection.pre].size
        n_conns = 1 if projection.connector == "OneToOneConnector" else n_pre
        weight = abs(projection.weight)
        stats = [n_conns, weight, 0.0, weight, 0.0]
    if projection.structural is not None:  # new synapses get the initial weight
        stats[3] = max(stats[3], projection.structural["initial_weight"])
        stats[1], stats[2] = stats[3], 0.0
    if projection.stdp is not None:  # STDP sizes the ring buffer for weights that may all reach w_max
        stats[3] = max(stats[3], projection.stdp["w_max"])
        stats[1], stats[2] = stats[3], 0.0
    return ProjectionStats(*stats)


def _poisson_upper_bound(mean: float, std: float, rate: float, n_synapses: int, steps_per_second: float) -> float:
    average = n_synapses * rate / steps_per_second
    poisson_variance = average * mean ** 2
    upper = int(round(average + POISSON_SIGMA_SUMMATION_LIMIT * math.sqrt(average)))
    weight_variance = 0.0
    if std > 0:
        big_ratio = math.log(average) * upper - special.gammaln(1 + upper)
        if -701.0 < big_ratio < 701.0 and big_ratio != 0.0:
            weight_variance = math.exp(-average + math.log(average) + 2.0 * math.log(std) + math.log(
                math.exp(average) * special.gammaincc(1 + upper, average) - math.exp(big_ratio)))
    return average * mean + RING_BUFFER_SIGMA * math.sqrt(poisson_variance + weight_variance)


@dataclass(frozen=True)
class ReceptorScaling:
    """One receptor of one population: the summed-weight bound sPyNNaker uses (scaled by
    ``weight_scale``), the shift it picks, and the cell's global weight scale."""

    max_summed_weight: float
    shift: int
    weight_scale: float = 1.0

    @property
    def resolution(self) -> float:
        """Weight (nA or uS) per stored unit, 2^(s-15) / k."""
        return 2.0 ** (self.shift - fp.FRACTION_BITS) / self.weight_scale


def _shift_for(weight: float) -> int:
    if weight <= 0:
        return 0
    power = int(math.ceil(max(0.0, math.log2(weight))))
    return power + 1 if 2 ** power <= weight else power


def ring_buffer_scaling(graph: SpinnakerGraph) -> dict[str, tuple[ReceptorScaling, ReceptorScaling]]:
    """Per population, (excitatory, inhibitory) scaling exactly as sPyNNaker 7.4.1 chooses it."""
    steps_per_second = 1000.0 / graph.dt
    spikes_per_tick = max(1.0, SPIKES_PER_SECOND / steps_per_second)
    incoming = {label: {r: [] for r in RECEPTORS} for label, p in graph.populations.items()
                if p.model in GLOBAL_WEIGHT_SCALE}
    for projection in graph.projections.values():
        incoming[projection.post][projection.receptor].append(projection_stats(projection, graph))
    result = {}
    for label, receptors in incoming.items():
        scale = GLOBAL_WEIGHT_SCALE[graph.populations[label].model]
        scalings = []
        for receptor in RECEPTORS:
            weights, delays, rates = _RunningStats(), _RunningStats(), _RunningStats()
            total, biggest = 0.0, 0.0
            for stats in receptors[receptor]:
                weights.add(stats.w_mean * scale, stats.w_var * scale ** 2, stats.n_conns)
                delays.add(0.0, stats.d_var, stats.n_conns)
                rates.add(SPIKES_PER_SECOND, 0.0, stats.n_conns)
                total += spikes_per_tick * stats.w_max * stats.n_conns
                biggest = max(biggest, stats.w_max * scale)
            if delays.variance == 0.0:
                bound = max(total, biggest)
            else:
                bound = _poisson_upper_bound(weights.mean, math.sqrt(weights.variance), rates.mean, weights.n,
                                             steps_per_second)
                bound = max(min(bound, total), biggest)
            scalings.append(ReceptorScaling(float(bound), _shift_for(bound), scale))
        result[label] = tuple(scalings)
    return result


def stdp_scale(rule: dict, name: str, weight_scale: float) -> float:
    """The factor sPyNNaker writes an STDP parameter with: the global weight scale for weights and
    additive amplitudes, 1 for multiplicative amplitudes (rates)."""
    rate = name.startswith("A_") and rule["weight_dependence"] == "multiplicative"
    return 1.0 if rate else weight_scale


def chip_stdp_arithmetic(scaling: ReceptorScaling) -> FixedPointSTDP:
    """sPyNNaker's pair rule on integers: weights updated in s16.15 (of ``k w``), stored in 16 bits of
    the receptor's resolution, int16 traces of 2^-11 with lookup-table decays, 15 remembered post spikes."""
    return FixedPointSTDP(weight_lsb=2.0 ** -fp.FRACTION_BITS / scaling.weight_scale, weight_step=scaling.resolution,
                          weight_bits=16, trace_bits=fp.STDP_FRACTION_BITS, trace_width=fp.STDP_TRACE_WIDTH,
                          rate_bits=fp.FRACTION_BITS, history=fp.POST_EVENT_HISTORY - 1)


def weight_units(weights, scaling: ReceptorScaling) -> np.ndarray:
    """Host conversion of weights (nA or uS) to the stored 16-bit units: rint, wrapping above 0xFFFF."""
    return np.rint(np.abs(np.asarray(weights, dtype=np.float64)) / scaling.resolution).astype(np.int64) & WEIGHT_MASK


def weights_from_units(units, scaling: ReceptorScaling) -> np.ndarray:
    return np.asarray(units, dtype=np.float64) * scaling.resolution


def projection_report(network: Network, graph: SpinnakerGraph, scaling) -> dict:
    """Per projection: shift, resolution, worst relative weight error, synapses lost to zero, and
    saturation headroom of the ring buffer it writes into."""
    worst_input = {key: float(value.max()) for key, value in network.input_per_tick().items()}
    report = {}
    for label, projection in graph.projections.items():
        receptor = scaling[projection.post][RECEPTORS.index(projection.receptor)]
        weights = np.abs(network.connections(label).weight)
        exact_units = weights / receptor.resolution
        stored = weights_from_units(weight_units(weights, receptor), receptor)
        nonzero = weights > 0
        relative = np.abs(stored[nonzero] - weights[nonzero]) / weights[nonzero]
        capacity = WEIGHT_MASK * receptor.resolution
        report[label] = {
            "post": projection.post, "receptor": projection.receptor, "synapses": int(weights.size),
            "connector": projection.connector, "weight_unit": network.populations[projection.post].cell.weight_unit,
            "shift": receptor.shift, "resolution": receptor.resolution,
            "expected_max_summed_weight": receptor.max_summed_weight / receptor.weight_scale,
            "largest_relative_weight_error": float(relative.max()) if relative.size else 0.0,
            "synapses_quantized_to_zero": int(np.count_nonzero(nonzero & (np.rint(exact_units) == 0))),
            "weights_beyond_16_bits": int(np.count_nonzero(np.rint(exact_units) > WEIGHT_MASK)),
            "ring_buffer_capacity": capacity,
            "worst_case_input_per_tick": worst_input[(projection.post, projection.receptor)],
            "saturation_headroom": capacity / worst_input[(projection.post, projection.receptor)]
            if worst_input[(projection.post, projection.receptor)] > 0 else None,
        }
    return report


def quantization_aware(network: Network, graph: SpinnakerGraph, scaling) -> Network:
    """The network with the numbers the chip uses, for the float reference: weights as stored (16-bit
    units times the resolution), voltages, currents and STDP parameters rounded to s16.15, time
    constants re-derived from the on-chip decays (``exp(-dt/tau') = exp_TC``, ``tau_m'/cm' = R``,
    ``exp(-dt/tau_syn') = decay``), the chip's own ``init`` as each population's ``synaptic_init``, the
    neurons on the chip's accumulators (AccumulatorLIF, with the ring buffers' caps) and STDP on its
    integers (:func:`chip_stdp_arithmetic`)."""
    dt = network.semantics.dt
    data = network.to_dict()

    def rounded(value, scale=1.0):
        """As held on chip in s16.15, the value times ``scale``."""
        return (np.vectorize(lambda v: fp.s1615(v * scale) / fp.ONE / scale)(np.asarray(value, dtype=np.float64))
                ).tolist()

    for population in data["populations"]:
        scale = GLOBAL_WEIGHT_SCALE[population["cell_type"]]
        parameters = population["parameters"]
        tau_m = np.asarray(parameters["tau_m"], dtype=np.float64)
        cm = np.asarray(parameters["cm"], dtype=np.float64)
        constants = np.vectorize(lambda t, c: fp.membrane_constants(t, c, dt), otypes=[np.int64, np.int64])(tau_m, cm)
        tau_chip = -dt / np.log(constants[0] / fp.ONE)
        parameters["tau_m"] = tau_chip.tolist()
        parameters["cm"] = (tau_chip / (constants[1] / fp.ONE)).tolist()
        population["synaptic_init"] = {}
        for name, receptor in (("tau_syn_E", "excitatory"), ("tau_syn_I", "inhibitory")):
            tau = np.asarray(parameters[name], dtype=np.float64)
            decay, init = np.vectorize(lambda t: fp.synapse_constants(t, dt), otypes=[np.int64, np.int64])(tau)
            # A decay of 0 on chip: a time constant so short that exp(-dt/tau) is 0 in float64 too.
            parameters[name] = np.where(decay > 0, -dt / np.log(np.maximum(decay, 1) / 2.0 ** 32), dt / 1000.0).tolist()
            population["synaptic_init"][receptor] = np.maximum(init / 2.0 ** 32, 2.0 ** -32).tolist()
        refractory = np.vectorize(lambda t: fp.refractory_ticks(t, dt), otypes=[np.int64])(
            np.asarray(parameters["tau_refrac"], dtype=np.float64))
        parameters["tau_refrac"] = (refractory * dt).tolist()  # the chip's count of ticks, from its s16.15 quotient
        for name in ("v_rest", "v_reset", "v_thresh", "i_offset", "e_rev_E", "e_rev_I"):
            if name in parameters:
                parameters[name] = rounded(parameters[name])
        for name in population["initial_values"]:
            held = name.startswith(CELL_TYPES[population["cell_type"]].input.state)
            population["initial_values"][name] = rounded(population["initial_values"][name], scale if held else 1.0)
    for population in data["populations"]:
        receptors = scaling[population["label"]]
        population["arithmetic"] = AccumulatorLIF(
            input_limit={name: WEIGHT_MASK * receptor.resolution for name, receptor in zip(RECEPTORS, receptors)},
            fraction_bits=fp.FRACTION_BITS, weight_scale=GLOBAL_WEIGHT_SCALE[population["cell_type"]],
            conductance_shift=CONDUCTANCE_SHIFT).to_dict()
    for projection in data["projections"]:
        if projection["label"] not in graph.projections:
            continue
        receptor = scaling[projection["post"]][RECEPTORS.index(projection["receptor"])]
        weights = network.connections(projection["label"]).weight
        projection["weight"] = weights_from_units(weight_units(weights, receptor), receptor).tolist()
        if "plasticity" in projection:
            rule = projection["plasticity"]
            for name in ("A_plus", "A_minus", "w_min", "w_max"):
                rule[name] = rounded(rule[name], stdp_scale(rule, name, receptor.weight_scale))
            rule["arithmetic"] = chip_stdp_arithmetic(receptor).to_dict()
        if "structural" in projection:
            initial = float(weights_from_units(weight_units(projection["structural"]["initial_weight"], receptor),
                                               receptor))
            projection["structural"] = with_rounded_weights(projection["structural"], initial,
                                                            projection.get("plasticity", {}).get("w_max"))
    return Network.from_dict(data)
