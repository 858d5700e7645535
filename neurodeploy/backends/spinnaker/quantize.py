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
from dataclasses import dataclass, replace

import numpy as np
from scipy import special

from neurodeploy.backends.spinnaker import cells
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.cells import RECEPTORS
from neurodeploy.backends.spinnaker.graph import GraphProjection, SpinnakerGraph, host_weights, weight_factor
from neurodeploy.description import FixedPointSTDP, Network
from neurodeploy.description.structural import rounded_weights

SPIKES_PER_SECOND = 30.0  # sPyNNaker's default spikes_per_second: every source is assumed to fire at it
RING_BUFFER_SIGMA = 5.0
POISSON_SIGMA_SUMMATION_LIMIT = 3.0
WEIGHT_MASK = 0xFFFF
UNITS_BLOCK = 1 << 20  # weights converted at once by weight_units


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
    connections = projection.network.connections(projection.label) if projection.is_from_list else None
    if connections is not None and len(connections.pre) == 0:  # an empty structural projection
        stats = [0, 0.0, 0.0, 0.0, 0.0]
    elif connections is not None:  # the from-list's rows: the host's weights, delays in ms
        n_conns = int(np.bincount(connections.post).max())
        weights = host_weights(projection.network, projection.label)
        if weights.min() < 0:  # (a copy only where some are negative)
            weights = np.abs(weights)
        weight_stats = [float(weights.mean()), float(weights.var()), float(weights.max())]
        del weights
        stats = [n_conns, *weight_stats, _variance(connections.delay_ticks) * graph.dt**2]
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


def _variance(ticks: np.ndarray) -> float:
    """The variance of integer ticks, summed in blocks (no float copy of them all): zero exactly when they
    are all equal, which is what the scaling asks of the delays' variance."""
    if ticks.size == 0:
        return 0.0
    blocks = range(0, ticks.size, STATS_BLOCK)
    mean = sum(int(ticks[start : start + STATS_BLOCK].sum(dtype=np.int64)) for start in blocks) / ticks.size
    squares = 0.0
    for start in blocks:
        block = ticks[start : start + STATS_BLOCK] - mean
        squares += float(np.dot(block, block))
    return squares / ticks.size


STATS_BLOCK = 1 << 20


def _poisson_upper_bound(mean: float, std: float, rate: float, n_synapses: int, steps_per_second: float) -> float:
    average = n_synapses * rate / steps_per_second
    poisson_variance = average * mean**2
    upper = int(round(average + POISSON_SIGMA_SUMMATION_LIMIT * math.sqrt(average)))
    weight_variance = 0.0
    if std > 0:
        big_ratio = math.log(average) * upper - special.gammaln(1 + upper)
        if -701.0 < big_ratio < 701.0 and big_ratio != 0.0:
            weight_variance = math.exp(
                -average
                + math.log(average)
                + 2.0 * math.log(std)
                + math.log(math.exp(average) * special.gammaincc(1 + upper, average) - math.exp(big_ratio))
            )
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
    return power + 1 if 2**power <= weight else power


def ring_buffer_scaling(graph: SpinnakerGraph) -> dict[str, tuple[ReceptorScaling, ReceptorScaling]]:
    """Per population, (excitatory, inhibitory) scaling exactly as sPyNNaker 7.4.1 chooses it."""
    steps_per_second = 1000.0 / graph.dt
    spikes_per_tick = max(1.0, SPIKES_PER_SECOND / steps_per_second)
    incoming = {
        label: {r: [] for r in RECEPTORS} for label, p in graph.populations.items() if p.weight_scale is not None
    }
    for projection in graph.projections.values():
        incoming[projection.post][projection.receptor].append(projection_stats(projection, graph))
    result = {}
    for label, receptors in incoming.items():
        scale = graph.populations[label].weight_scale
        scalings = []
        for receptor in RECEPTORS:
            weights, delays, rates = _RunningStats(), _RunningStats(), _RunningStats()
            total, biggest = 0.0, 0.0
            for stats in receptors[receptor]:
                weights.add(stats.w_mean * scale, stats.w_var * scale**2, stats.n_conns)
                delays.add(0.0, stats.d_var, stats.n_conns)
                rates.add(SPIKES_PER_SECOND, 0.0, stats.n_conns)
                total += spikes_per_tick * stats.w_max * stats.n_conns
                biggest = max(biggest, stats.w_max * scale)
            if delays.variance == 0.0:
                bound = max(total, biggest)
            else:
                bound = _poisson_upper_bound(
                    weights.mean, math.sqrt(weights.variance), rates.mean, weights.n, steps_per_second
                )
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
    return FixedPointSTDP(
        weight_lsb=2.0**-fp.FRACTION_BITS / scaling.weight_scale,
        weight_step=scaling.resolution,
        weight_bits=16,
        trace_bits=fp.STDP_FRACTION_BITS,
        trace_width=fp.STDP_TRACE_WIDTH,
        rate_bits=fp.FRACTION_BITS,
        history=fp.POST_EVENT_HISTORY - 1,
    )


def weight_units(weights, scaling: ReceptorScaling) -> np.ndarray:
    """Host conversion of weights (nA or uS) to the stored 16-bit units: rint, wrapping above 0xFFFF.
    Converted in blocks, so that a projection's float temporaries stay small beside its units."""
    weights = np.asarray(weights, dtype=np.float64)
    units = np.empty(weights.shape, dtype=np.uint16)
    given, stored = weights.reshape(-1), units.reshape(-1)
    for start in range(0, given.size, UNITS_BLOCK):
        block = np.abs(given[start : start + UNITS_BLOCK])
        np.divide(block, scaling.resolution, out=block)
        stored[start : start + UNITS_BLOCK] = np.rint(block, out=block).astype(np.int64) & WEIGHT_MASK
    return units if units.ndim else units[()]


def weights_from_units(units, scaling: ReceptorScaling) -> np.ndarray:
    return np.asarray(units, dtype=np.float64) * scaling.resolution


def projection_report(network: Network, graph: SpinnakerGraph, scaling) -> dict:
    """Per projection: shift, resolution, worst relative weight error, synapses lost to zero, and
    saturation headroom of the ring buffer it writes into."""
    worst_input = {key: float(value.max()) for key, value in network.input_per_tick().items()}
    report = {}
    for label, projection in graph.projections.items():
        receptor = scaling[projection.post][RECEPTORS.index(projection.receptor)]
        weights = np.abs(host_weights(network, label))
        factor = weight_factor(network, network.projections[label])
        worst = worst_input[(projection.post, projection.receptor)] * (1.0 if factor is None else float(factor.max()))
        exact_units = weights / receptor.resolution
        stored = weights_from_units(weight_units(weights, receptor), receptor)
        nonzero = weights > 0
        relative = np.abs(stored[nonzero] - weights[nonzero]) / weights[nonzero]
        capacity = WEIGHT_MASK * receptor.resolution
        report[label] = {
            "post": projection.post,
            "receptor": projection.receptor,
            "synapses": int(weights.size),
            "connector": projection.connector,
            "weight_unit": network.populations[projection.post].cell.weight_unit,
            "shift": receptor.shift,
            "resolution": receptor.resolution,
            "expected_max_summed_weight": receptor.max_summed_weight / receptor.weight_scale,
            "largest_relative_weight_error": float(relative.max()) if relative.size else 0.0,
            "synapses_quantized_to_zero": int(np.count_nonzero(nonzero & (np.rint(exact_units) == 0))),
            "weights_beyond_16_bits": int(np.count_nonzero(np.rint(exact_units) > WEIGHT_MASK)),
            "ring_buffer_capacity": capacity,
            "worst_case_input_per_tick": worst,
            "saturation_headroom": capacity / worst if worst > 0 else None,
        }
    return report


def quantization_aware(network: Network, graph: SpinnakerGraph, scaling, profile: str = fp.DEFAULT_PROFILE) -> Network:
    """The network with the numbers the chip uses, for the float reference, made by typed transforms:
    each cell as its parts hold it on chip (:meth:`.cells.CellBuild.chip_cell`: voltages and currents
    in s16.15, time constants whose decay under the semantics is the chip's), the chip's own ``init``
    as each population's ``synaptic_init``, the neurons on the chip's arithmetic (with the ring buffers'
    caps), weights as stored (the host's weights in 16-bit units times the resolution) and STDP
    parameters in s16.15 on the chip's integers (:func:`chip_stdp_arithmetic`), the constants encoded as
    the sPyNNaker version ``profile`` encodes them. The semantics stay the network's: the reference computes
    the threshold's comparison and the reset as declared."""
    semantics = network.semantics
    populations = {}
    for label, population in network.populations.items():
        build = cells.build(population.cell)
        input_limit = {name: WEIGHT_MASK * receptor.resolution for name, receptor in zip(RECEPTORS, scaling[label])}
        populations[label] = replace(
            population,
            cell=build.chip_cell(population.cell, semantics, profile),
            synaptic_init=build.synapse.chip_init(build.handed(population.cell, semantics), semantics.dt, profile),
            arithmetic=build.neuron.arithmetic(input_limit, build.input),
        )
    projections = {}
    for label, projection in network.projections.items():
        if label not in graph.projections:
            continue
        receptor = scaling[projection.post][RECEPTORS.index(projection.receptor)]
        changes = {"weight": weights_from_units(weight_units(host_weights(network, label), receptor), receptor)}
        rule = projection.plasticity
        if rule is not None:
            written = {name: getattr(rule, name) for name in rule.FIELDS}
            rule = changes["plasticity"] = replace(
                rule,
                **{
                    name: cells.on_chip(written[name], stdp_scale(written, name, receptor.weight_scale))
                    for name in ("A_plus", "A_minus", "w_min", "w_max", "heterosynaptic")
                },
                arithmetic=chip_stdp_arithmetic(receptor),
            )
        if projection.structural is not None:
            initial = float(weights_from_units(weight_units(projection.structural.initial_weight, receptor), receptor))
            changes["structural"] = rounded_weights(
                projection.structural, initial, None if rule is None else rule.w_max
            )
        projections[label] = replace(projection, **changes)
    return network.replaced(populations=populations, projections=projections)
