"""Weights and constants as sPyNNaker 7.x stores them, and what that costs.

Each post population has one ring-buffer left shift ``s`` per receptor; a weight is stored as the
unsigned 16-bit ``rint(|w| 2^(15-s))`` and read back as ``w16 2^(s-15)`` nA. ``s`` is the smallest
with ``W < 2^s``, where ``W`` is sPyNNaker's bound on the input summed in one tick
(``PopulationVertex.get_ring_buffer_shifts`` and ``_Stats``, ported here): with every projection's
delays constant, ``max(sum of w_max * n_conns, largest w_max)``; otherwise a Poisson bound at 30 Hz
per source and 5 standard deviations, capped by that sum.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.graph import GraphProjection, SpinnakerGraph
from neurodeploy.description import Network

RECEPTORS = ("excitatory", "inhibitory")
SPIKES_PER_SECOND = 30.0  # sPyNNaker's default spikes_per_second: every source is assumed to fire at it
RING_BUFFER_SIGMA = 5.0
POISSON_SIGMA_SUMMATION_LIMIT = 3.0
WEIGHT_MASK = 0xFFFF


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
    """One receptor of one population: the summed-weight bound sPyNNaker uses and the shift it picks."""

    max_summed_weight: float
    shift: int

    @property
    def resolution(self) -> float:
        """nA per stored weight unit, 2^(s-15)."""
        return 2.0 ** (self.shift - fp.FRACTION_BITS)


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
                if p.model == "IF_curr_exp"}
    for projection in graph.projections.values():
        incoming[projection.post][projection.receptor].append(projection_stats(projection, graph))
    result = {}
    for label, receptors in incoming.items():
        scalings = []
        for receptor in RECEPTORS:
            weights, delays, rates = _RunningStats(), _RunningStats(), _RunningStats()
            total, biggest = 0.0, 0.0
            for stats in receptors[receptor]:
                weights.add(stats.w_mean, stats.w_var, stats.n_conns)
                delays.add(0.0, stats.d_var, stats.n_conns)
                rates.add(SPIKES_PER_SECOND, 0.0, stats.n_conns)
                total += spikes_per_tick * stats.w_max * stats.n_conns
                biggest = max(biggest, stats.w_max)
            if delays.variance == 0.0:
                bound = max(total, biggest)
            else:
                bound = _poisson_upper_bound(weights.mean, math.sqrt(weights.variance), rates.mean, weights.n,
                                             steps_per_second)
                bound = max(min(bound, total), biggest)
            scalings.append(ReceptorScaling(float(bound), _shift_for(bound)))
        result[label] = tuple(scalings)
    return result


def weight_units(weights, shift: int) -> np.ndarray:
    """Host conversion of weights (nA) to the stored 16-bit units: rint, wrapping above 0xFFFF."""
    return (np.rint(np.abs(np.asarray(weights, dtype=np.float64)) * 2.0 ** (fp.FRACTION_BITS - shift))
            .astype(np.int64) & WEIGHT_MASK)


def weights_from_units(units, shift: int) -> np.ndarray:
    return np.asarray(units, dtype=np.float64) * 2.0 ** (shift - fp.FRACTION_BITS)


def projection_report(network: Network, graph: SpinnakerGraph, scaling) -> dict:
    """Per projection: shift, resolution, worst relative weight error, synapses lost to zero, and
    saturation headroom of the ring buffer it writes into."""
    worst_input = {key: float(value.max()) for key, value in network.input_per_tick().items()}
    report = {}
    for label, projection in graph.projections.items():
        receptor = scaling[projection.post][RECEPTORS.index(projection.receptor)]
        weights = np.abs(network.connections(label).weight)
        exact_units = weights * 2.0 ** (fp.FRACTION_BITS - receptor.shift)
        stored = weights_from_units(weight_units(weights, receptor.shift), receptor.shift)
        nonzero = weights > 0
        relative = np.abs(stored[nonzero] - weights[nonzero]) / weights[nonzero]
        capacity = WEIGHT_MASK * receptor.resolution
        report[label] = {
            "post": projection.post, "receptor": projection.receptor, "synapses": int(weights.size),
            "connector": projection.connector, "shift": receptor.shift, "resolution_nA": receptor.resolution,
            "expected_max_summed_weight_nA": receptor.max_summed_weight,
            "largest_relative_weight_error": float(relative.max()) if relative.size else 0.0,
            "synapses_quantized_to_zero": int(np.count_nonzero(nonzero & (np.rint(exact_units) == 0))),
            "weights_beyond_16_bits": int(np.count_nonzero(np.rint(exact_units) > WEIGHT_MASK)),
            "ring_buffer_capacity_nA": capacity,
            "worst_case_input_per_tick_nA": worst_input[(projection.post, projection.receptor)],
            "saturation_headroom": capacity / worst_input[(projection.post, projection.receptor)]
            if worst_input[(projection.post, projection.receptor)] > 0 else None,
        }
    return report


def quantization_aware(network: Network, graph: SpinnakerGraph, scaling) -> Network:
    """The network with the numbers the chip uses, for the float reference: weights as stored (16-bit
    units times the resolution), voltages, currents and STDP parameters rounded to s16.15, and time
    constants re-derived from the on-chip decays (``exp(-dt/tau') = exp_TC``, ``tau_m'/cm' = R``,
    ``exp(-dt/tau_syn') = decay``). The chip's ``init`` stays within 1e-4 relative of the reference's
    ``(tau'/dt)(1 - decay)``; lookup-table exponentials of STDP and floor arithmetic remain target-only."""
    dt = network.semantics.dt
    data = network.to_dict()

    def rounded(value):
        return (np.vectorize(lambda v: fp.s1615(v) / fp.ONE)(np.asarray(value, dtype=np.float64))).tolist()

    for population in data["populations"]:
        parameters = population["parameters"]
        tau_m = np.asarray(parameters["tau_m"], dtype=np.float64)
        cm = np.asarray(parameters["cm"], dtype=np.float64)
        constants = np.vectorize(lambda t, c: fp.membrane_constants(t, c, dt), otypes=[np.int64, np.int64])(tau_m, cm)
        tau_chip = -dt / np.log(constants[0] / fp.ONE)
        parameters["tau_m"] = tau_chip.tolist()
        parameters["cm"] = (tau_chip / (constants[1] / fp.ONE)).tolist()
        for name in ("tau_syn_E", "tau_syn_I"):
            tau = np.asarray(parameters[name], dtype=np.float64)
            decay = np.vectorize(lambda t: fp.synapse_constants(t, dt)[0], otypes=[np.int64])(tau)
            parameters[name] = np.where(decay > 0, -dt / np.log(np.maximum(decay, 1) / 2.0 ** 32), tau).tolist()
        for name in ("v_rest", "v_reset", "v_thresh", "i_offset"):
            parameters[name] = rounded(parameters[name])
        for name in population["initial_values"]:
            population["initial_values"][name] = rounded(population["initial_values"][name])
    for projection in data["projections"]:
        if projection["label"] not in graph.projections:
            continue
        shift = scaling[projection["post"]][RECEPTORS.index(projection["receptor"])].shift
        weights = network.connections(projection["label"]).weight
        projection["weight"] = weights_from_units(weight_units(weights, shift), shift).tolist()
        if "plasticity" in projection:
            rule = projection["plasticity"]
            for name in ("A_plus", "A_minus", "w_min", "w_max"):
                rule[name] = fp.s1615(rule[name]) / fp.ONE
        if "structural" in projection:
            rule = projection["structural"]
            rule["initial_weight"] = float(weights_from_units(weight_units(rule["initial_weight"], shift), shift))
    return Network.from_dict(data)
