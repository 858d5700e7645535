"""Multi-layer spiking sheets that grow pooling receptive fields from noise-driven traveling waves.

What it does
    After Raghavan, Lin and Thomson: a stack of ``layers`` sheets of LIF neurons, sheet k an n_k x n_k grid
    (``sizes``, bottom first; unset, every sheet ``n`` x ``n``) with local excitation and wider inhibition.
    Independent Poisson noise drives the first sheet; its excitatory neighbourhoods amplify coincidences
    into a burst, its inhibitory surround keeps the burst local and the refractory period ends it, so
    activity travels over the sheet as waves of about the excitation radius. Every following sheet has the
    same lateral wiring on its own grid and receives the previous sheet's spikes through plastic
    feed-forward synapses (pair STDP, additive, bounded by ``w_max``, with heterosynaptic depression),
    initially from every neuron of the previous sheet with random weights: a wave below makes a wave above,
    the synapses from the wave below onto the wave above grow, and every spike of a unit takes a little from
    all its inputs. After the growth phase each unit's weight is concentrated on a compact patch of the
    sheet below (``locality``, ``pooled_area``).

Populations (IF_curr_exp, ``CELL``)
    ``N1`` .. ``N<layers>`` (n_k x n_k spike sources, Poisson per tick; left out at rate 0),
    ``L1`` .. ``L<layers>`` (n_k x n_k; the neuron at row ``i`` column ``j`` is number ``i n_k + j``).

Projections (delay 1 ms)
    ``Nk->Lk`` one-to-one, ``noise_weight`` (``N1`` at ``noise_rate``, the others at ``noise_rate_above``).
    ``Lk->Lk:exc`` to every other neuron within ``r_e`` (grid units, periodic with ``periodic``), ``w_exc``;
    ``Lk->Lk:inh`` to every neuron at distance in ``(r_e, r_i]``, ``w_inh`` (distances on sheet k's own
    grid). ``Lk->Lk+1`` from every neuron of sheet k to every neuron of sheet k+1 (pre-major), initial
    weights uniform in ``[0, w_init] w_max`` (seeded), pair STDP (sPyNNaker's all-to-all pairing, tau+
    ``tau_plus``, tau- ``tau_minus``, A+ ``a_plus w_max``, A- ``a_minus w_max``, additive between 0 and
    ``w_max``, heterosynaptic depression ``heterosynaptic w_max`` per post spike: the rule's
    ``heterosynaptic``); without ``stdp`` the same weights stay fixed (the control).

Choices of this model (the papers' exact equations are not all public)
    The papers use Izhikevich neurons with a Mexican-hat coupling; here LIF neurons with a long
    refractory period (the excitable medium's recovery) and a disc of excitation inside an annulus of
    inhibition. The competition that keeps receptive fields local is heterosynaptic depression rather
    than a weight normalisation: a constant, local in time and held in whole weight steps on the chips
    (the float rule's losses while a unit fires at most the remembered post spikes between two spikes of
    an input), where a normalisation needs every weight of a neuron at once. Each spike of a unit takes
    ``heterosynaptic w_max`` from all its inputs, so only inputs that keep taking part in its spikes
    (its patch of the wave below) stay strong; the pair rule's depression bias
    (``a_minus tau_minus > a_plus tau_plus``) depresses inputs that fire uncorrelated with the unit, and
    the lateral inhibition of the upper sheet makes its units compete for the waves below. The default
    amount is the largest of those tried (docs/wave-layers.md) that leaves the smallest waves' units more
    than a few strong inputs; much more and every weight decays to zero. sPyNNaker has no such rule:
    ``heterosynaptic=0`` deploys to spinn5 (the broad fields of the depression bias alone). The upper
    sheets get weaker noise than the first (``noise_rate_above``): too weak to start waves of their
    own often, it keeps them near threshold so that a wave below starts a local wave above rather
    than all or none of the sheet. Sheets of different sizes keep the same radii and weights, in grid
    units of each sheet's own grid (no sheet is rescaled to the one below), and the all-to-all start
    imposes no correspondence between the grids: which patch below a unit pools is left to the growth.

Reference: G. Raghavan, C. Lin, M. Thomson, "Self-organization of multi-layer spiking neural networks",
arXiv:2006.06902 (2020); G. Raghavan, M. Thomson, "Neural networks grown and self-organized by noise",
NeurIPS 2019 (arXiv:1906.01039).
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np

from neurodeploy.description import STDP, FromList, Network, OneToOne, Semantics, resources, values
from neurodeploy.description.values import Range
from neurodeploy.errors import ValidationError

NAME = "wave-layers"

CELL = {
    "cm": 1.0,
    "tau_m": 10.0,
    "tau_refrac": 30.0,
    "tau_syn_E": 3.0,
    "tau_syn_I": 6.0,
    "v_rest": -65.0,
    "v_reset": -65.0,
    "v_thresh": -50.0,
}


HETEROSYNAPTIC = 0.01  # of w_max per post spike (the docstring's choices)


def sheet_sizes(layers: int, n: int, sizes, where: str) -> list[int]:
    """Each sheet's side, bottom first: ``sizes`` (a list, one per layer), or ``n`` for every sheet when
    ``sizes`` is empty or unset."""
    if sizes is None or (isinstance(sizes, (list, tuple, str)) and not sizes):
        return [n] * layers
    if not isinstance(sizes, (list, tuple)):
        raise ValidationError(where, "sizes", f"expected a list of sheet sizes such as [16, 12], got {sizes!r}"[:200])
    if len(sizes) != layers:
        raise ValidationError(
            where, "sizes", f"gives {len(sizes)} sheet sizes for {layers} layers: one per layer, bottom first"
        )
    return [values.integer(size, where, "sizes", minimum=3) for size in sizes]


def places(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each neuron of an n x n sheet."""
    return np.divmod(np.arange(n * n), n)


def distances(n: int, periodic: bool) -> np.ndarray:
    """Grid distance between every pair of neurons of an n x n sheet (n*n x n*n), on a torus with ``periodic``."""
    rows, cols = places(n)
    dy = np.abs(rows[:, None] - rows[None, :])
    dx = np.abs(cols[:, None] - cols[None, :])
    if periodic:
        dy, dx = np.minimum(dy, n - dy), np.minimum(dx, n - dx)
    return np.hypot(dy, dx)


def lateral_connections(n: int, r_e: float, r_i: float, periodic: bool) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``excitatory``: pairs within ``r_e`` but not a neuron onto itself; ``inhibitory``: pairs at a
    distance in ``(r_e, r_i]``. Each a (pre, post) pair of index arrays."""
    d = distances(n, periodic)
    excitatory = (d <= r_e) & (d > 0)
    inhibitory = (d > r_e) & (d <= r_i)
    return {"excitatory": np.nonzero(excitatory), "inhibitory": np.nonzero(inhibitory)}


def noise_spike_times(size: int, rate_hz: float, ticks: int, rng: np.random.Generator, chunk: int = 4096):
    """Bernoulli-per-tick spikes (ms, dt 1 ms) of ``size`` sources at ``rate_hz``."""
    found = []
    for start in range(0, ticks, chunk):
        tick, neuron = np.nonzero(rng.random((min(ticks, start + chunk) - start, size)) < rate_hz / 1000.0)
        found.append((tick + start, neuron))
    tick = np.concatenate([f[0] for f in found]) if found else np.zeros(0, int)
    neuron = np.concatenate([f[1] for f in found]) if found else np.zeros(0, int)
    order = np.lexsort((tick, neuron))
    bounds = np.searchsorted(neuron[order], np.arange(size + 1))
    times = tick[order].astype(float)
    return [times[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def build(
    layers: Annotated[int, Range(at_least=1)] = 2,
    n: Annotated[int, Range(at_least=3)] = 16,
    sizes: list[int] | None = None,
    periodic: bool = True,
    r_e: Annotated[float, Range(above=0)] = 2.0,
    r_i: Annotated[float, Range(above=0)] = 5.0,
    w_exc: Annotated[float, Range(at_least=0)] = 4.0,
    w_inh: Annotated[float, Range(at_least=0)] = 1.0,
    noise_rate: Annotated[float, Range(at_least=0, at_most=1000)] = 80.0,
    noise_weight: Annotated[float, Range(at_least=0)] = 2.5,
    noise_rate_above: Annotated[float, Range(at_least=0, at_most=1000)] = 30.0,
    w_max: Annotated[float, Range(above=0)] = 0.6,
    w_init: Annotated[float, Range(at_least=0, at_most=1)] = 0.5,
    tau_plus: Annotated[float, Range(above=0)] = 20.0,
    tau_minus: Annotated[float, Range(above=0)] = 20.0,
    a_plus: Annotated[float, Range(at_least=0)] = 0.25,
    a_minus: Annotated[float, Range(at_least=0)] = 0.6,
    heterosynaptic: Annotated[float, Range(at_least=0)] = HETEROSYNAPTIC,
    stdp: bool = True,
    lateral: bool = True,
    duration_ms: Annotated[float, Range(at_least=1)] = 20000.0,
    seed: Annotated[int, Range(at_least=0)] = 1,
) -> Network:
    """The stack, ``duration_ms`` of growth (1 ms ticks). ``sizes`` gives each sheet's side, bottom first
    (one per layer; unset, every sheet is ``n`` x ``n``). ``lateral=False`` leaves out the sheets'
    lateral wiring (the control without waves); ``stdp=False`` keeps the feed-forward weights fixed."""
    where = f"model '{NAME}'"
    if r_i < r_e:
        raise ValidationError(where, "r_i", f"the inhibition radius must reach at least r_e ({r_e:g}), got {r_i:g}")
    ticks = Semantics().duration_ticks(duration_ms, where, "duration_ms")
    sides = sheet_sizes(layers, n, sizes, where)
    units = [side * side for side in sides]
    feed_forward = sum(below * above for below, above in zip(units, units[1:]))
    rates = [math.ceil(noise_rate)] + [math.ceil(noise_rate_above)] * (layers - 1)
    noise_spikes = sum(size * rate for size, rate in zip(units, rates)) * ticks // 1000
    resources.refuse_above_limit(  # in integers: a huge sheet is refused, not a float overflow
        24 * (feed_forward + 2 * max(units) ** 2 + noise_spikes),
        where,
        "sizes" if sizes else "n",
        f"{resources.count_text(feed_forward)} feed-forward synapses, the largest sheet's "
        f"{resources.count_text(max(units) ** 2)} distances and the noise spikes",
    )
    noise, weights = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    net = Network(NAME, seed=seed, duration=float(ticks))
    wiring = {}  # each sheet size's lateral wiring
    for k, (side, size) in enumerate(zip(sides, units), start=1):
        label = f"L{k}"
        net.population(label, size, parameters=CELL)
        net.record(label)
        if lateral:
            if side not in wiring:
                wiring[side] = lateral_connections(side, r_e, r_i, periodic)
            for receptor, weight, kind in (("excitatory", w_exc, "exc"), ("inhibitory", w_inh, "inh")):
                pre, post = wiring[side][receptor]
                if len(pre) and weight > 0:
                    net.project(
                        label,
                        label,
                        FromList(pre, post),
                        weight=weight,
                        receptor=receptor,
                        label=f"{label}->{label}:{kind}",
                    )
        rate = noise_rate if k == 1 else noise_rate_above
        if rate > 0:
            net.spike_source(f"N{k}", noise_spike_times(size, rate, ticks, noise))
            net.project(f"N{k}", label, OneToOne(), weight=noise_weight, label=f"N{k}->{label}")
        if k == 1:
            continue
        rule = STDP(
            tau_plus=tau_plus,
            tau_minus=tau_minus,
            A_plus=a_plus * w_max,
            A_minus=a_minus * w_max,
            w_min=0.0,
            w_max=w_max,
            heterosynaptic=heterosynaptic * w_max,
        )
        below = units[k - 2]
        net.project(
            f"L{k - 1}",
            label,
            FromList(*np.divmod(np.arange(below * size), size)),  # (pre, post) of all pairs, pre-major
            weight=weights.uniform(0.0, w_init * w_max, below * size),
            label=f"L{k - 1}->{label}",
            plasticity=rule if stdp else None,
        )
    return net


def receptive_fields(
    pre: np.ndarray, post: np.ndarray, weight: np.ndarray, n: int, n_post: int | None = None
) -> np.ndarray:
    """Each unit's weights as an image of the sheet below, n x n, for the n_post x n_post units of the sheet
    above (n_post unset: a sheet of the same size). The measures below read the sheet below's size off it."""
    units = (n if n_post is None else n_post) ** 2
    field = np.zeros((units, n, n))
    np.add.at(field, (post, pre // n, pre % n), weight)
    return field


def centres(field: np.ndarray, periodic: bool) -> np.ndarray:
    """Centre of mass (row, column) of each field; on a torus the circular mean of each axis. A field with no
    weight has no centre: NaN, which the measures built on it read as near no place (:func:`locality` 0,
    :func:`pooling_radius` 0, left out of :func:`coverage`)."""
    n = field.shape[1]
    rows, cols = field.sum(axis=2), field.sum(axis=1)  # units x n marginals
    weightless = rows.sum(axis=1) == 0
    axis = np.arange(n)
    if not periodic:
        total = np.where(weightless, 1.0, rows.sum(axis=1))
        centre = np.stack([rows @ axis / total, cols @ axis / total], axis=1)
    else:
        angle = 2 * np.pi * axis / n
        result = []
        for marginal in (rows, cols):
            z = marginal @ np.exp(1j * angle)
            result.append((np.angle(z) % (2 * np.pi)) * n / (2 * np.pi))
        centre = np.stack(result, axis=1)
    centre[weightless] = np.nan
    return centre


def _from_centre(field: np.ndarray, periodic: bool) -> np.ndarray:
    """Each place's distance (grid units) from each field's centre of mass: [unit, place]."""
    n = field.shape[1]
    centre = centres(field, periodic)
    rows, cols = places(n)
    dy = np.abs(rows[None, :] - centre[:, :1])
    dx = np.abs(cols[None, :] - centre[:, 1:])
    if periodic:
        dy, dx = np.minimum(dy, n - dy), np.minimum(dx, n - dx)
    return np.hypot(dy, dx)


def locality(field: np.ndarray, radius: float, periodic: bool) -> np.ndarray:
    """Fraction of each unit's weight within ``radius`` of its field's centre of mass."""
    near = _from_centre(field, periodic) <= radius
    flat = field.reshape(len(field), -1)
    total = flat.sum(axis=1)
    return np.where(total > 0, (flat * near).sum(axis=1) / np.where(total > 0, total, 1.0), 0.0)


def chance_locality(n: int, radius: float, periodic: bool) -> float:
    """The locality of a uniform field: the share of the sheet's places within ``radius`` of its centre of
    mass, any place on a torus (all are alike), the middle of a bounded sheet."""
    if periodic:
        return float((distances(n, True)[0] <= radius).mean())
    return float(locality(np.ones((1, n, n)), radius, False)[0])


def pooling_radius(field: np.ndarray, periodic: bool) -> np.ndarray:
    """Each field's root-mean-square distance from its centre of mass (grid units), of the weight above
    the field's median: the patch a unit pools, without the uniform background it grew out of (0 for a field
    with nothing above its median, a uniform one)."""
    field = np.maximum(field - np.median(field.reshape(len(field), -1), axis=1)[:, None, None], 0.0)
    distance = _from_centre(field, periodic)
    flat = field.reshape(len(field), -1)
    pooled = flat.sum(axis=1) > 0
    total = np.where(pooled, flat.sum(axis=1), 1.0)
    return np.where(pooled, np.sqrt((flat * np.nan_to_num(distance) ** 2).sum(axis=1) / total), 0.0)


def pooled_area(field: np.ndarray, threshold: float) -> np.ndarray:
    """How many inputs of each field weigh at least ``threshold``: the patch a grown unit pools."""
    return (field.reshape(len(field), -1) >= threshold).sum(axis=1)


def coverage(centre: np.ndarray, n: int, radius: float, periodic: bool) -> float:
    """Share of the sheet's places within ``radius`` of at least one receptive-field centre."""
    rows, cols = places(n)
    dy = np.abs(rows[:, None] - centre[None, :, 0])
    dx = np.abs(cols[:, None] - centre[None, :, 1])
    if periodic:
        dy, dx = np.minimum(dy, n - dy), np.minimum(dx, n - dx)
    return float((np.hypot(dy, dx) <= radius).any(axis=1).mean())


def waves(trains: list[np.ndarray], n: int, periodic: bool, link_radius: float, gap: int = 2) -> dict:
    """The waves of a sheet's spikes: groups of spikes joined pairwise when at most ``link_radius`` apart
    on the sheet and at most ``gap`` ticks apart. Per wave: ``size`` (distinct neurons), ``duration``
    (ticks from first to last spike, inclusive), ``start`` (tick), ``speed`` (grid units per tick: the
    path of the wave's centre of mass from tick to tick over its duration; 0 for one-tick waves)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    tick = np.concatenate([np.asarray(t, dtype=int) for t in trains]) if trains else np.zeros(0, int)
    neuron = np.concatenate([np.full(len(t), i) for i, t in enumerate(trains)]) if trains else np.zeros(0, int)
    order = np.argsort(tick, kind="stable")
    tick, neuron = tick[order], neuron[order]
    near = distances(n, periodic) <= link_radius
    first, second = [], []
    stop = np.searchsorted(tick, tick + gap, side="right")
    for a in range(len(tick)):
        b = np.arange(a + 1, stop[a])
        b = b[near[neuron[a], neuron[b]]]
        first.append(np.full(len(b), a))
        second.append(b)
    pairs = (np.concatenate(first), np.concatenate(second)) if first else (np.zeros(0, int),) * 2
    count, group = connected_components(
        coo_matrix((np.ones(len(pairs[0])), pairs), shape=(len(tick), len(tick))), directed=False
    )
    rows, cols = places(n)
    result = {"size": [], "duration": [], "start": [], "speed": []}
    bounds = np.cumsum(np.bincount(group, minlength=count))[:-1]
    for members in np.split(np.argsort(group, kind="stable"), bounds) if len(tick) else []:  # no spikes, no waves
        t, i = tick[members], neuron[members]
        result["size"].append(len(np.unique(i)))
        result["duration"].append(int(t.max() - t.min() + 1))
        result["start"].append(int(t.min()))
        track = []
        for step in np.unique(t):
            at = i[t == step]
            track.append(_mean_place(rows[at], cols[at], n, periodic))
        track = np.array(track)
        steps = np.abs(np.diff(track, axis=0))
        if periodic:
            steps = np.minimum(steps, n - steps)
        path = np.hypot(steps[:, 0], steps[:, 1]).sum() if len(track) > 1 else 0.0
        result["speed"].append(path / (result["duration"][-1] - 1) if result["duration"][-1] > 1 else 0.0)
    return {key: np.array(value) for key, value in result.items()}


def _mean_place(rows: np.ndarray, cols: np.ndarray, n: int, periodic: bool) -> tuple[float, float]:
    if not periodic:
        return float(rows.mean()), float(cols.mean())
    angle = 2 * np.pi / n
    return tuple(float(np.angle(np.exp(1j * angle * x).mean()) % (2 * np.pi) / angle) for x in (rows, cols))


def population_activity(trains: list[np.ndarray], ticks: int) -> np.ndarray:
    """Spikes of a sheet per tick."""
    activity = np.zeros(ticks, dtype=int)
    for train in trains:
        np.add.at(activity, np.asarray(train, dtype=int), 1)
    return activity


def lagged_correlation(lower: np.ndarray, upper: np.ndarray, lags: range) -> np.ndarray:
    """Pearson correlation of ``upper`` with ``lower`` shifted later by each lag (ticks)."""
    result = []
    for lag in lags:
        a, b = lower[: len(lower) - lag], upper[lag:]
        result.append(np.corrcoef(a, b)[0, 1] if a.std() > 0 and b.std() > 0 else 0.0)
    return np.array(result)
