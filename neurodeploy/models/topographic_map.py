"""Topographic map formation by synaptic rewiring and STDP (Bogdan et al. 2018, after Bamford et al. 2010).

What it does
    A 16x16 layer of input sources ``S`` projects to a 16x16 layer of LIF neurons ``P``, which also
    projects onto itself (lateral). Every 20 ms a Gaussian blob of activity (sigma 2 places, periodic
    grid) lands on a new random place of ``S``. Each neuron starts with a rough receptive field
    (16 feedforward and 16 lateral synapses drawn with a distance-dependent rule); STDP and rewiring
    (sPyNNaker's synaptogenesis, last-neuron partner selection) refine it: synapses from inputs that
    fire with the neuron are kept and strengthened, the others depressed and eliminated. How refined
    the map is, is measured by ``refinement``: the mean receptive-field spread ``sigma_aff`` and the
    mean absolute deviation ``AD`` of receptive-field centres from the neuron's own place, by
    connections and by weights (Bamford et al. 2010's procedure, re-implemented).

Populations
    ``S``: n x n spike sources, Poisson per tick (Bernoulli, rate x dt), rates
    ``f_base + (f_mean - f_base) g / mean(g)`` with ``g`` the Gaussian blob (the blob's peak is about
    158 Hz for sigma 2 on 16x16, their f_peak of 152.8 Hz). ``P``: n x n IF_curr_exp neurons, tau_m
    20 ms, cm 20 nF, tau_syn 5 ms, v_rest = v_reset = -70 mV, v_thresh -50 mV, tau_refrac 5 ms.

Projections (delay 1 ms, STDP on all: pair rule, tau+ 20 ms, tau- 64 ms, A+ = 0.1 w_max,
A- = 0.0375 w_max (b = 1.2), additive between 0 and w_max)
    ``S->P`` (forward) and ``P->P`` (lateral, excitatory, or inhibitory with ``lateral_inhibition``),
    16 synapses per neuron each at w_max, drawn as Bogdan et al. do (random partner kept with
    probability ``p_form exp(-d^2 / 2 sigma_form^2)``: forward 0.16 and 2.5, lateral 1 and 1) but
    without repeated pairs (sPyNNaker's rewiring holds one synapse per pair). With ``rewiring``: each
    projection rewires its own 16 slots per neuron at 5 kHz (their one pool of 32 slots at 10 kHz has the
    same attempt rate per slot), p_elim_dep 0.0245, p_elim_pot 1.36e-4, threshold w_max / 2, formed at
    w_max. Without: STDP alone, over the same initial synapses.

Current-based by default, conductance-based with ``conductance``
    They use IF_cond_exp with g_max 0.2 uS (E_rev 0 mV excitatory, -80 mV inhibitory); so does
    ``conductance=True``. By default a synapse is the current that conductance drives at the middle
    of the subthreshold range (-60 mV): 0.2 uS x 60 mV = 12 nA excitatory, 0.2 uS x 20 mV = 4 nA
    inhibitory, so that the SpiNNaker emulation and Lava (current-based only so far) run it too.
    ``scripts/topographic_map.py [--conductance]`` measures the refinement either way and prints it
    beside theirs.

Reference: P. A. Bogdan, A. G. D. Rowley, O. Rhodes, S. B. Furber, "Structural plasticity on the
SpiNNaker many-core neuromorphic system", Front. Neurosci. 12:434 (2018); their code is the public
repository pabogdan/neurogenesis. S. A. Bamford, A. F. Murray, D. J. Willshaw, "Synaptic rewiring for
topographic mapping and receptive field development", Neural Networks 23 (2010).
"""

from __future__ import annotations

import math
from typing import Annotated

import numpy as np

from neurodeploy.description import STDP, FromList, Network, Semantics, Synaptogenesis, resources, values
from neurodeploy.description.values import Range
from neurodeploy.errors import ValidationError

NAME = "topographic-map"

CELL = {
    "cm": 20.0,
    "tau_m": 20.0,
    "tau_refrac": 5.0,
    "tau_syn_E": 5.0,
    "tau_syn_I": 5.0,
    "v_rest": -70.0,
    "v_reset": -70.0,
    "v_thresh": -50.0,
}
G_MAX_US = 0.2
REVERSAL = {"e_rev_E": 0.0, "e_rev_I": -80.0}
DRIVING_FORCE_MV = {"excitatory": 60.0, "inhibitory": 20.0}  # |E_rev - (-60 mV)|
PAPER_SIDE, SIGMA_STIM = 16, 2.0  # the published grid side and stimulus width (grid cells)
SLOTS = 16  # per projection and neuron: 32 per neuron in all
SMALLEST_SIDE = math.isqrt(SLOTS - 1) + 1  # least grid side whose n * n places hold SLOTS distinct partners
FORMATION = {"forward": (0.16, 2.5), "lateral": (1.0, 1.0)}  # p_form, sigma_form

# The published runs after 300 s without lateral inhibition (Bogdan et al. 2018 and their repository
# pabogdan/neurogenesis; 2.355 is the initial wiring of Bamford et al.'s data they start from), for
# scripts to print beside ours.
PUBLISHED = {"initial": {"sigma_aff": 2.355}, "rewiring+stdp": {"sigma_aff": 1.47}, "stdp": {"sigma_aff": 1.91}}


def stimulus_rates(centres: np.ndarray, n: int, sigma_stim: float, f_base: float, f_mean: float) -> np.ndarray:
    """Rates (Hz), one row per stimulus: a periodic Gaussian at each centre, scaled to mean ``f_mean``."""
    place = np.arange(n * n)
    rows, cols = place // n, place % n
    dy = np.abs(rows[None, :] - centres[:, :1]) % n
    dx = np.abs(cols[None, :] - centres[:, 1:]) % n
    d2 = np.minimum(dy, n - dy) ** 2 + np.minimum(dx, n - dx) ** 2
    blob = np.exp(-d2 / (2.0 * sigma_stim**2))
    return f_base + (f_mean - f_base) * blob / blob.mean(axis=1, keepdims=True)


def input_spike_times(rates: np.ndarray, t_stim: int, ticks: int, rng: np.random.Generator, chunk: int = 8192):
    """Bernoulli-per-tick spikes (ms, dt 1 ms) of each source, the rates changing every ``t_stim`` ticks."""
    hits = []
    for start in range(0, ticks, chunk):
        stop = min(ticks, start + chunk)
        p = rates[np.arange(start, stop) // t_stim] / 1000.0
        tick, neuron = np.nonzero(rng.random(p.shape) < p)
        hits.append((tick + start, neuron))
    tick = np.concatenate([h[0] for h in hits])
    neuron = np.concatenate([h[1] for h in hits])
    order = np.lexsort((tick, neuron))
    bounds = np.searchsorted(neuron[order], np.arange(rates.shape[1] + 1))
    times = tick[order].astype(float)
    return [times[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def initial_connections(rule: Synaptogenesis, lateral: bool, n_post: int, n_pre: int, rng: np.random.Generator):
    """``SLOTS`` distinct partners per post neuron, each random partner kept with the formation
    probability (Bogdan et al.'s generator, without repeated pairs)."""
    pre, post = [], []
    for neuron in range(n_post):
        chosen: list[int] = []
        while len(chosen) < SLOTS:
            candidates = rng.integers(0, n_pre, 4096)
            kept = candidates[rng.random(4096) < rule.formation_probability(candidates, np.full(4096, neuron), lateral)]
            for partner in kept.tolist():
                if partner not in chosen:
                    chosen.append(partner)
                    if len(chosen) == SLOTS:
                        break
        pre += chosen
        post += [neuron] * SLOTS
    return np.array(pre), np.array(post)


def build(
    n: Annotated[int, Range(at_least=SMALLEST_SIDE)] = 16,
    duration_ms: Annotated[float, Range(at_least=1)] = 300000.0,
    rewiring: bool = True,
    lateral_inhibition: bool = False,
    t_stim: Annotated[int, Range(at_least=1)] = 20,
    sigma_stim: Annotated[float, Range(above=0)] = SIGMA_STIM,
    f_base: Annotated[float, Range(at_least=0)] = 5.0,
    f_mean: Annotated[float, Range(above=0)] = 20.0,
    snapshot_every_ms: Annotated[float, Range(at_least=0)] = 0.0,
    conductance: bool = False,
    seed: Annotated[int, Range(at_least=0)] = 1,
) -> Network:
    """The network, ``duration_ms`` of stimulus (1 ms ticks). ``sigma_stim`` is the blob's width in cells
    of the paper's 16x16 grid, scaled to a grid of side ``n`` (the same blob on any grid, so the rates
    stay within one spike per tick). ``snapshot_every_ms`` > 0 records the
    rewired connectivity that often; ``conductance`` makes ``P`` IF_cond_exp with weights in uS.
    The grid side ``n`` is even for the receptive-field measure (a place opposite each centre)."""
    where = f"model '{NAME}'"
    if n % 2:
        raise ValidationError(where, "n", f"the receptive-field measure needs an even grid side, got {n}")
    ticks = Semantics().duration_ticks(duration_ms, where, "duration_ms")
    sigma_cells = sigma_stim * n / PAPER_SIDE
    spikes_expected = n * n * (f_base + f_mean) * ticks / 1000.0
    resources.refuse_above_limit(
        16.0 * ticks / t_stim + 24.0 * spikes_expected,
        where,
        "duration_ms",
        f"stimulus places and about {resources.count_text(spikes_expected)} input spikes",
    )
    # One stream each, so that a longer run starts with the same stimuli and synapses as a shorter one.
    places, spikes, wiring = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
    centres = places.integers(0, n, size=(-(-ticks // t_stim), 2))
    net = Network(NAME, seed=seed, duration=float(ticks))
    rates = stimulus_rates(centres, n, sigma_cells, f_base, f_mean)
    if not (np.all(rates >= 0) and np.all(rates <= 1000.0)):
        raise ValidationError(
            where,
            "f_mean",
            f"with f_base {f_base:g} Hz and sigma_stim {sigma_stim:g} the rates "
            "span "
            f"{rates.min():g}..{rates.max():g} Hz, not within 0..1000 Hz (one spike per tick)",
        )
    net.spike_source("S", input_spike_times(rates, t_stim, ticks, spikes))
    if conductance:
        net.population("P", n * n, "IF_cond_exp", parameters={**CELL, **REVERSAL})
    else:
        net.population("P", n * n, parameters=CELL)
    net.record("P")
    rule_args = dict(
        s_max=SLOTS,
        f_rew=5000.0,
        partner_selection="last_neuron",
        grid=(n, n),
        p_form_forward=FORMATION["forward"][0],
        sigma_form_forward=FORMATION["forward"][1],
        p_form_lateral=FORMATION["lateral"][0],
        sigma_form_lateral=FORMATION["lateral"][1],
        p_elim_dep=0.0245,
        p_elim_pot=1.36e-4,
    )
    for label, pre, receptor in (
        ("S->P", "S", "excitatory"),
        ("P->P", "P", "inhibitory" if lateral_inhibition else "excitatory"),
    ):
        w_max = G_MAX_US if conductance else G_MAX_US * DRIVING_FORCE_MV[receptor]
        rule = Synaptogenesis(**rule_args, weight_threshold=w_max / 2.0, initial_weight=w_max)
        sources, targets = initial_connections(rule, pre == "P", n * n, n * n, wiring)
        stdp = STDP(
            tau_plus=20.0,
            tau_minus=64.0,
            A_plus=0.1 * w_max,
            A_minus=0.1 * 20.0 * 1.2 / 64.0 * w_max,
            w_min=0.0,
            w_max=w_max,
        )
        net.project(
            pre,
            "P",
            FromList(sources, targets),
            weight=w_max,
            receptor=receptor,
            label=label,
            plasticity=stdp,
            structural=rule if rewiring else None,
        )
        if rewiring and snapshot_every_ms > 0:
            every = values.integer(snapshot_every_ms, where, "snapshot_every_ms", minimum=1)
            net.record_connectivity(label, list(range(every, ticks, every)))
    return net


def refinement(pre: np.ndarray, post: np.ndarray, weight: np.ndarray | None, n: int) -> dict:
    """Mean receptive-field spread ``sigma_aff`` and mean absolute deviation ``AD`` of the feedforward
    synapses ``pre -> post`` (places on the n x n grid), by connections (``weight`` None) or by weights.

    Bamford et al.'s procedure: a neuron's field is the count (or summed weight) of its synapses
    from each input place. On each axis, the field's marginal is centred at the integer place whose
    periodic window (n + 1 places, the antipodal place split in halves) gives the smallest standard
    deviation; the centre is then refined by tenths within half a place, the antipodal place split
    in proportion to the shift. ``sigma`` is the mean of the two axes' smallest deviations;
    ``AD`` the periodic distance from the centre to the neuron's own place. Neurons without any
    synapse count as 0 for both, as in their analysis.
    """
    field = np.zeros((n * n, n, n))
    np.add.at(field, (post, pre // n, pre % n), 1.0 if weight is None else weight)
    sigma_rows, centre_rows = _axis_centre(field.sum(axis=2))
    sigma_cols, centre_cols = _axis_centre(field.sum(axis=1))
    own_rows, own_cols = np.divmod(np.arange(n * n), n)
    offset = np.stack([centre_rows - own_rows, centre_cols - own_cols])
    offset = (offset + n / 2.0) % n - n / 2.0
    empty = field.sum(axis=(1, 2)) == 0
    sigma = np.where(empty, 0.0, (sigma_rows + sigma_cols) / 2.0)
    deviation = np.where(empty, 0.0, np.hypot(*offset))
    return {
        "sigma_aff": float(sigma.mean()),
        "AD": float(deviation.mean()),
        "sigma_per_neuron": sigma,
        "AD_per_neuron": deviation,
    }


def _axis_centre(marginal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Smallest spread and its centre for each row of ``marginal`` (neurons x n places)."""
    n = marginal.shape[1]
    shifts = np.round(np.linspace(-0.5, 0.5, 11), 1)
    spread = np.stack([_spread(marginal, centre, 0.0) for centre in range(n)], axis=1)
    coarse = np.argmin(spread, axis=1)
    fine = np.stack([_spread(marginal, coarse, shift) for shift in shifts], axis=1)
    best = np.argmin(fine, axis=1)
    return fine[np.arange(len(marginal)), best], coarse + shifts[best]


def _spread(marginal: np.ndarray, centre, shift: float) -> np.ndarray:
    """Standard deviation of each row about ``centre + shift``: the places at displacement
    -n/2 .. n/2 from ``centre`` (the antipodal one twice, weighted 1/2 - shift and 1/2 + shift)."""
    n = marginal.shape[1]
    half = n // 2
    displacement = np.arange(-half, half + 1)
    places = (np.asarray(centre)[..., None] + displacement) % n
    mass = np.take_along_axis(marginal, np.broadcast_to(places, marginal.shape[:1] + places.shape[-1:]), axis=1)
    share = np.ones(n + 1)
    share[0], share[-1] = 0.5 - shift, 0.5 + shift
    mass = mass * share
    total = mass.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sqrt((mass * (displacement - shift) ** 2).sum(axis=1) / total)
