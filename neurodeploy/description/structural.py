"""Structural plasticity: synapses that form and vanish while the network runs, over pre-allocated
capacity, with every random decision drawn from one stream that the description defines.

``Synaptogenesis`` is sPyNNaker's rule (Bogdan et al., Front. Neurosci. 2018), on one projection:

* **Capacity.** Each post neuron has ``s_max`` slots on the projection; the connector's synapses fill
  the first slots of their post neuron, in connection order. A pre-post pair has at most one synapse.
* **When.** Attempts happen at the start of a tick, before that tick's input: ``int(f_rew dt / 1000)``
  attempts in every tick when that is at least 1, otherwise one attempt in ticks ``P - 1, 2P - 1, ...``
  with ``P = int(1000 / (f_rew dt))``.
* **One attempt** takes four draws ``u0..u3`` from the stream, always, in this order: post neuron
  ``j = floor(u0 N_post)``, slot ``k = floor(u1 s_max)``.
  - An **empty** slot looks for a partner: ``random`` partner selection takes pre neuron
    ``floor(u2 N_pre)``; ``last_neuron`` takes the ``floor(u2 n)``-th (by index) of the ``n`` pre neurons
    that spiked in the previous tick, and nothing when none did. A partner already connected to ``j``
    forms nothing. Otherwise the synapse forms when ``u3 < p exp(-d^2 / (2 sigma^2))``, ``d`` the
    distance between the two neurons on the grid (``position(n) = (n // width, n % width)``, periodic
    in both directions), with the lateral ``p`` and ``sigma`` when pre and post are one population and
    the forward ones otherwise. It gets ``initial_weight`` and ``initial_delay`` (one tick when not
    given; a range ``[low, high]`` is a whole number of ticks drawn uniformly from it, inclusive, as
    ``low + floor(u3 / q (high - low + 1))`` with ``q`` the formation probability: ``u3 / q`` is uniform
    on [0, 1) given that the synapse formed, so the delay takes no draw of its own).
  - An **occupied** slot holding weight ``w`` is eliminated when ``u3 < p_elim_dep`` for
    ``w < weight_threshold``, or ``u3 < p_elim_pot`` otherwise.
* **Effect.** A synapse formed or eliminated at the start of tick ``t`` transmits, or stops
  transmitting, the spikes emitted from tick ``t`` on; a spike it transmitted arrives after its delay
  even when the synapse is eliminated meanwhile (it is in the post neuron's input, as on the chip). The
  connector's synapses have delay 1 tick; a formed one ``initial_delay``.
  With (additive) STDP, a formed synapse joins its pre neuron's row as sPyNNaker's does: it behaves
  as if it had held ``initial_weight`` and its delay since that neuron's last spike, so the deferred
  update at the next pre spike includes the post events since then, each seen after the synapse's own
  delay (``post_spike_shift``, as on any projection); elimination compares the weight the slot holds
  (as of the last pre spike).

The stream: one ``numpy.random.Generator(PCG64)`` per structural projection, seeded with
``SeedSequence(network.seed, spawn_key=(crc32(b"structural"), crc32(label)))``; each tick's attempts
draw their four numbers each, in order, from their projection's stream.

``CoincidenceWiring`` is "fire together, wire together", deterministic (it draws nothing):

* **Traces.** Every pre and post neuron keeps ``x(t) = x(t-1) exp(-dt/tau_coincidence) + s(t)``,
  ``s(t)`` 1 when it spikes in tick ``t``. Each pre-post pair scores the coincidences of tick ``t``:
  ``C += s_post(t) x_pre(t) + s_pre(t) x_post(t) - s_pre(t) s_post(t)`` (a pair firing within about
  ``tau_coincidence`` of each other, in either order, adds ``exp(-lag dt/tau)``; in one tick, 1).
* **Decisions** at the start of tick ``t`` for ``t`` a positive multiple of ``epoch / dt``, from the
  scores through tick ``t - 1``, in this order: every synapse with ``C < elim_threshold`` (unused:
  nothing renews its score) or with a weight below ``elim_weight`` (weak) is eliminated, and a weak
  one's score is set to 0 (it starts over: it forms again only when new coincidences reach
  ``form_threshold``); every pair without a synapse and with ``C >= form_threshold`` forms, with
  ``initial_weight``, into its post neuron's free slots, highest score first (ties: lower pre index),
  never a neuron onto itself; then every score is multiplied by ``retention``. The connector's synapses start with
  ``C = form_threshold``. Formation and elimination take effect as for synaptogenesis (delay 1
  tick). Weights are static, or follow additive STDP as with synaptogenesis (the weight a decision
  compares is the one the slot holds, as of its pre neuron's last spike).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable, NamedTuple

import numpy as np

from neurodeploy.description import values
from neurodeploy.description.semantics import MAX_TICKS
from neurodeploy.description.turnover import PopulationTurnover
from neurodeploy.errors import ValidationError

PARTNER_SELECTIONS = ("random", "last_neuron")
STREAM_KEY = zlib.crc32(b"structural")


@dataclass(eq=False)
class Synaptogenesis:
    """sPyNNaker's formation and elimination on one projection (module docstring). Defaults are
    sPyNNaker 7.4.1's, but for ``with_replacement`` (one synapse per pair here)."""

    s_max: int = 32
    f_rew: float = 1e4
    partner_selection: str = "last_neuron"
    grid: tuple = (16, 16)
    p_form_forward: float = 0.16
    sigma_form_forward: float = 2.5
    p_form_lateral: float = 1.0
    sigma_form_lateral: float = 1.0
    p_elim_dep: float = 0.0245
    p_elim_pot: float = 1.36e-4
    weight_threshold: float = 0.0
    initial_weight: float = 0.0
    initial_delay: float | tuple | None = None

    PAIR_BYTES = 0  # state per pre-post pair: none, the slots hold it all

    FIELDS = (
        "s_max",
        "f_rew",
        "partner_selection",
        "grid",
        "p_form_forward",
        "sigma_form_forward",
        "p_form_lateral",
        "sigma_form_lateral",
        "p_elim_dep",
        "p_elim_pot",
        "weight_threshold",
        "initial_weight",
        "initial_delay",
    )

    def validate(self, where: str):
        where = f"{where} synaptogenesis"
        if self.initial_delay is not None:
            delays = self.initial_delay if isinstance(self.initial_delay, (list, tuple)) else (self.initial_delay,)
            if len(delays) not in (1, 2):
                raise ValidationError(where, "initial_delay", f"expected a delay or [low, high], got {delays!r}")
            delays = tuple(values.number(d, "ms", where, "initial_delay") for d in delays)
            if len(delays) == 2 and delays[0] > delays[1]:
                raise ValidationError(where, "initial_delay", f"the low end {delays[0]:g} exceeds {delays[1]:g}")
            self.initial_delay = delays if len(delays) == 2 else delays[0]
        self.s_max = values.integer(self.s_max, where, "s_max", minimum=1)
        self.f_rew = values.number(self.f_rew, None, where, "f_rew")
        values.check_range(self.f_rew, where, "f_rew", "Hz", above=0)
        values.choice(self.partner_selection, PARTNER_SELECTIONS, where, "partner_selection")
        if not isinstance(self.grid, (list, tuple)) or len(self.grid) != 2:
            raise ValidationError(where, "grid", f"expected [height, width], got {self.grid!r}")
        self.grid = tuple(values.integer(g, where, "grid", minimum=1) for g in self.grid)
        for name in ("p_form_forward", "p_form_lateral", "p_elim_dep", "p_elim_pot"):
            setattr(self, name, values.number(getattr(self, name), None, where, name))
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValidationError(where, name, f"must be a probability in [0, 1], got {getattr(self, name):g}")
        for name in ("sigma_form_forward", "sigma_form_lateral"):
            setattr(self, name, values.number(getattr(self, name), None, where, name))
            values.check_range(getattr(self, name), where, name, "", above=0)
        self.weight_units = set()
        for name in ("weight_threshold", "initial_weight"):
            setattr(self, name, values.weight(getattr(self, name), where, name, self.weight_units, array=False))
            values.check_range(getattr(self, name), where, name, "", at_least=0)

    def to_dict(self) -> dict:
        document = {"kind": "synaptogenesis"}
        for name in self.FIELDS:
            value = getattr(self, name)
            if name == "initial_delay" and value is None:
                continue
            document[name] = list(value) if isinstance(value, tuple) else value
        return document

    def delay_ticks(self, semantics, where: str) -> tuple[int, int]:
        """``(low, high)``: the ticks a formed synapse's delay ranges over (one tick when not given)."""
        if self.initial_delay is None:
            return 1, 1
        delays = self.initial_delay if isinstance(self.initial_delay, tuple) else (self.initial_delay,) * 2
        low, high = (semantics.ticks(d, where, "structural.initial_delay", minimum=1) for d in delays)
        return low, high

    @classmethod
    def from_dict(cls, data, where: str) -> "Synaptogenesis":
        values.check_keys(data, ("kind",) + cls.FIELDS, f"{where} structural")
        return cls(**{name: data[name] for name in cls.FIELDS if name in data})

    def schedule(self, dt: float) -> tuple[int, int]:
        """``(attempts, period)``: that many attempts in every tick ``t`` with ``t % period == period - 1``."""
        per_tick = self.f_rew * dt / 1000.0
        if per_tick >= 1:
            return int(per_tick), 1
        return 1, int(1000.0 / (self.f_rew * dt))

    def formation_probability(self, pre: np.ndarray, post: np.ndarray, lateral: bool) -> np.ndarray:
        height, width = self.grid
        dy = np.abs(pre // width - post // width) % height
        dx = np.abs(pre % width - post % width) % width
        dy = np.minimum(dy, height - dy)
        dx = np.minimum(dx, width - dx)
        p, sigma = (
            (self.p_form_lateral, self.sigma_form_lateral)
            if lateral
            else (self.p_form_forward, self.sigma_form_forward)
        )
        return p * np.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))

    def steady_state_synapses(
        self, partner_found: float = 1.0, p_form: float | None = None, p_elim: float | None = None
    ) -> float:
        """``k* = s_max q p_form / (q p_form + p_elim)``: synapses per post neuron at equilibrium, for a
        partner found with probability q and constant formation and elimination probabilities."""
        p_form = self.p_form_forward if p_form is None else p_form
        p_elim = self.p_elim_dep if p_elim is None else p_elim
        return self.s_max * partner_found * p_form / (partner_found * p_form + p_elim)


@dataclass(eq=False)
class CoincidenceWiring:
    """Coincidence-driven formation and elimination of unused synapses on one projection (module
    docstring); ``epoch`` in ms, a multiple of dt (dt itself decides every tick)."""

    s_max: int = 32
    tau_coincidence: float = 5.0
    epoch: float = 1.0
    form_threshold: float = 3.0
    elim_threshold: float = 0.5
    retention: float = 1.0
    initial_weight: float = 0.0
    elim_weight: float = 0.0

    PAIR_BYTES = 8  # state per pre-post pair: its score (float64), in each process deciding (CoincidenceRewiring)

    FIELDS = (
        "s_max",
        "tau_coincidence",
        "epoch",
        "form_threshold",
        "elim_threshold",
        "retention",
        "initial_weight",
        "elim_weight",
    )

    def validate(self, where: str):
        where = f"{where} coincidence wiring"
        self.s_max = values.integer(self.s_max, where, "s_max", minimum=1)
        for name in ("tau_coincidence", "epoch"):
            setattr(self, name, values.number(getattr(self, name), "ms", where, name))
            values.check_range(getattr(self, name), where, name, "ms", above=0)
        for name in ("form_threshold", "elim_threshold"):
            setattr(self, name, values.number(getattr(self, name), None, where, name))
            values.check_range(getattr(self, name), where, name, "", at_least=0)
        if self.elim_threshold > self.form_threshold:
            raise ValidationError(
                where,
                "elim_threshold",
                f"{self.elim_threshold:g} exceeds form_threshold "
                f"{self.form_threshold:g}: a formed synapse would be eliminated at once",
            )
        self.retention = values.number(self.retention, None, where, "retention")
        if not 0.0 <= self.retention <= 1.0:
            raise ValidationError(where, "retention", f"must lie in [0, 1], got {self.retention:g}")
        self.weight_units = set()
        for name in ("initial_weight", "elim_weight"):
            setattr(self, name, values.weight(getattr(self, name), where, name, self.weight_units, array=False))
            values.check_range(getattr(self, name), where, name, "", at_least=0)

    def to_dict(self) -> dict:
        return {"kind": "coincidence", **{name: getattr(self, name) for name in self.FIELDS}}

    @classmethod
    def from_dict(cls, data, where: str) -> "CoincidenceWiring":
        values.check_keys(data, ("kind",) + cls.FIELDS, f"{where} structural")
        return cls(**{name: data[name] for name in cls.FIELDS if name in data})

    def period(self, dt: float) -> int:
        """Ticks between decisions."""
        return int(round(self.epoch / dt))


STRUCTURAL_RULES = {"synaptogenesis": Synaptogenesis, "coincidence": CoincidenceWiring}


WEIGHT_THRESHOLDS = ("weight_threshold", "elim_weight")  # compared as ``weight < threshold``


def rounded_weights(rule, initial_weight: float, w_max: float | None = None):
    """A structural rule for a network whose weights a target rounded: ``initial_weight`` becomes its
    rounded value, and a weight threshold it would carry the initial weight across moves with it (capped
    at the rounded ``w_max``), so a synapse holding the initial weight compares as in the description,
    as the targets compare it."""
    described = rule.initial_weight
    changes = {"initial_weight": initial_weight}
    for name in WEIGHT_THRESHOLDS:
        if name not in rule.FIELDS:
            continue
        threshold = getattr(rule, name)
        if described >= threshold > initial_weight:
            threshold = initial_weight
        elif described < threshold <= initial_weight:
            threshold = float(np.nextafter(initial_weight, np.inf))
        changes[name] = threshold if w_max is None else min(threshold, w_max)
    return replace(rule, **changes)


def structural_from_dict(data, where: str):
    if not isinstance(data, dict):
        raise ValidationError(where, "structural", f"expected a mapping, got {data!r}")
    kind = data.get("kind", "synaptogenesis")
    if kind not in STRUCTURAL_RULES:
        raise ValidationError(
            where,
            "structural.kind",
            f"unknown structural rule {kind!r} (known: {', '.join(repr(k) for k in STRUCTURAL_RULES)})",
        )
    return STRUCTURAL_RULES[kind].from_dict(data, where)


class Event(NamedTuple):
    tick: int
    kind: str  # "form" or "eliminate"
    projection: str
    pre: int
    post: int
    slot: int
    delay: int = 1  # ticks, of a formed synapse


@dataclass(eq=False)
class SlotRewiring:
    """What every rule's decision procedure holds: the projection's slots (pre neuron per post neuron
    and slot, -1 when empty) and their weights."""

    label: str
    rule: object
    lateral: bool
    pre: np.ndarray
    weight: np.ndarray

    alive_pre = alive_post = None  # the alive masks of populations with turnover (set by the engine)

    def __post_init__(self):
        self.attached = np.zeros(self.pre.shape, dtype=bool)  # filled by turnover since the last step

    def current_weights(self, weights) -> np.ndarray:
        """The slots' weights a decision compares: the ones the backend holds (a target's stored, rounded
        ones, static or plastic, as its quantization-aware reference holds them; given as an array or a
        function returning one, called only when a decision needs it; None: the slots' own, for a backend
        holding the described weights), but the slots filled in this tick hold their own."""
        held = weights() if callable(weights) else weights
        if held is None:
            return self.weight
        current = np.array(held, dtype=np.float64)
        current[self.attached] = self.weight[self.attached]
        return current

    def synapse_counts(self) -> np.ndarray:
        """Synapses per post neuron now."""
        return np.count_nonzero(self.pre >= 0, axis=1)

    def remove_neuron(self, tick: int, neuron: int, side: str) -> list[Event]:
        """Eliminate every synapse from (``side`` "pre") or to ("post") a neuron that died."""
        posts, slots = (
            np.nonzero(self.pre == neuron)
            if side == "pre"
            else (np.full(self.pre.shape[1], neuron), np.arange(self.pre.shape[1]))
        )
        keep = self.pre[posts, slots] >= 0
        posts, slots = posts[keep], slots[keep]
        events = [
            Event(tick, "eliminate", self.label, int(self.pre[p, k]), int(p), int(k))
            for p, k in zip(posts.tolist(), slots.tolist())
        ]
        self.pre[posts, slots] = -1
        return events

    def attach(self, tick: int, post: int, partners: np.ndarray) -> list[Event]:
        """A new neuron's input synapses, into its first free slots."""
        events = []
        for slot, partner in zip(np.flatnonzero(self.pre[post] < 0).tolist(), np.asarray(partners).tolist()):
            self.pre[post, slot] = partner
            self.weight[post, slot] = self.rule.initial_weight
            self.attached[post, slot] = True
            events.append(Event(tick, "form", self.label, int(partner), post, slot))
        return events


@dataclass(eq=False)
class ProjectionRewiring(SlotRewiring):
    """One synaptogenesis projection's slots and its stream: the decision procedure of the module
    docstring."""

    n_pre: int
    rng: np.random.Generator
    attempts: int
    period: int
    delays: tuple[int, int] = (1, 1)  # a formed synapse's, in ticks: low, high

    @classmethod
    def for_projection(cls, network, label: str) -> "ProjectionRewiring":
        projection, slots = _initial_slots(network, label)
        seed = np.random.SeedSequence(network.seed, spawn_key=(STREAM_KEY, zlib.crc32(label.encode())))
        return cls(
            *slots,
            network.size_of(projection.pre),
            np.random.default_rng(seed),
            *projection.structural.schedule(network.semantics.dt),
            projection.structural.delay_ticks(network.semantics, f"projection '{label}'"),
        )

    def step(
        self,
        tick: int,
        pre_spikes: np.ndarray | None,
        post_spikes: np.ndarray | None = None,
        weights: np.ndarray | None = None,
    ) -> list[Event]:
        """The attempts due at the start of ``tick``. ``pre_spikes``: indices of the pre neurons that
        spiked in ``tick - 1`` (for last-neuron selection; post spikes play no part); ``weights``: the
        weights the backend's slots hold (post x s_max; :meth:`current_weights`)."""
        if tick % self.period != self.period - 1:
            self.attached[:] = False
            return []
        current = self.current_weights(weights)
        self.attached[:] = False
        rule, events = self.rule, []
        for u0, u1, u2, u3 in self.rng.random((self.attempts, 4)):
            post, slot = int(u0 * self.pre.shape[0]), int(u1 * rule.s_max)
            if self.alive_post is not None and not self.alive_post[post]:
                continue
            pre = int(self.pre[post, slot])
            if pre >= 0:
                probability = rule.p_elim_dep if current[post, slot] < rule.weight_threshold else rule.p_elim_pot
                if u3 < probability:
                    self.pre[post, slot] = -1
                    events.append(Event(tick, "eliminate", self.label, pre, post, slot))
                continue
            if rule.partner_selection == "random":
                partner = int(u2 * self.n_pre)
            elif len(pre_spikes):
                partner = int(pre_spikes[int(u2 * len(pre_spikes))])
            else:
                continue
            if np.any(self.pre[post] == partner) or (self.alive_pre is not None and not self.alive_pre[partner]):
                continue
            probability = rule.formation_probability(np.array([partner]), np.array([post]), self.lateral)[0]
            if u3 < probability:
                self.pre[post, slot] = partner
                current[post, slot] = self.weight[post, slot] = rule.initial_weight
                low, high = self.delays
                delay = min(low + int(u3 / probability * (high - low + 1)), high)
                events.append(Event(tick, "form", self.label, partner, post, slot, delay))
        return events


def longest_formed_delay(network, label: str) -> int:
    """The longest delay, in ticks, of a synapse a structural projection forms (1 for rules without delays)."""
    rule = network.projections[label].structural
    return rule.delay_ticks(network.semantics, f"projection '{label}'")[1] if hasattr(rule, "delay_ticks") else 1


def slot_table(network, label: str, per_connection, empty) -> np.ndarray:
    """Per-connection values of a structural projection in its slots (post x s_max): the connector's
    synapses fill the first slots of their post neuron, in connection order; ``empty`` elsewhere."""
    projection, connections = network.projections[label], network.connections(label)
    per_connection = np.asarray(per_connection)
    table = np.full((network.size_of(projection.post), projection.structural.s_max), empty, dtype=per_connection.dtype)
    order = np.argsort(connections.post, kind="stable")
    posts = connections.post[order]
    table[posts, np.arange(len(posts)) - np.searchsorted(posts, posts)] = per_connection[order]
    return table


def _initial_slots(network, label: str) -> tuple:
    """The projection, and SlotRewiring's fields with the connector's synapses in their slots."""
    projection, connections = network.projections[label], network.connections(label)
    pre = slot_table(network, label, connections.pre.astype(np.int64), -1)
    weight = slot_table(network, label, connections.weight.astype(np.float64), 0.0)
    return projection, (label, projection.structural, projection.pre == projection.post, pre, weight)


@dataclass(eq=False)
class CoincidenceRewiring(SlotRewiring):
    """One coincidence-wired projection's slots, traces and pair scores: the decision procedure of the
    module docstring.

    The scores are dense, pre x post in float64 (``CoincidenceWiring.PAIR_BYTES`` a pair): every pair
    without a synapse can still form, and a score never returns to exactly 0 once a pair's neurons
    have fired (traces decay without reaching 0), so neither keeping the pairs that can form nor a
    sparse store bounds them below N_pre x N_post; the synapses themselves are the O(N_post s_max) slots."""

    scores: np.ndarray
    pre_trace: np.ndarray
    post_trace: np.ndarray
    decay: float
    period: int

    @classmethod
    def for_projection(cls, network, label: str) -> "CoincidenceRewiring":
        projection, slots = _initial_slots(network, label)
        rule, pre = projection.structural, slots[3]
        n_pre, n_post = network.size_of(projection.pre), network.size_of(projection.post)
        scores = np.zeros((n_pre, n_post))
        occupied = pre >= 0
        scores[pre[occupied], np.nonzero(occupied)[0]] = rule.form_threshold
        dt = network.semantics.dt
        return cls(
            *slots,
            scores,
            np.zeros(n_pre),
            np.zeros(n_post),
            float(np.exp(-dt / rule.tau_coincidence)),
            rule.period(dt),
        )

    def step(
        self, tick: int, pre_spikes: np.ndarray, post_spikes: np.ndarray, weights: np.ndarray | None = None
    ) -> list[Event]:
        """Score the spikes of ``tick - 1`` (pre and post neuron indices); decide when ``tick`` ends an
        epoch. ``weights``: the weights the backend's slots hold (post x s_max; :meth:`current_weights`)."""
        if tick > 0:
            self._score(np.asarray(pre_spikes, dtype=np.int64), np.asarray(post_spikes, dtype=np.int64))
        if tick == 0 or tick % self.period:
            self.attached[:] = False
            return []
        current = self.current_weights(weights)
        self.attached[:] = False
        rule, events = self.rule, []
        occupied = self.pre >= 0
        unused = self.scores[np.maximum(self.pre, 0), np.arange(len(self.pre))[:, None]] < rule.elim_threshold
        weak = occupied & (current < rule.elim_weight)
        posts, slots = np.nonzero((occupied & unused) | weak)
        for post, slot in zip(posts.tolist(), slots.tolist()):
            events.append(Event(tick, "eliminate", self.label, int(self.pre[post, slot]), post, slot))
        weak_posts, weak_slots = np.nonzero(weak)
        self.scores[self.pre[weak_posts, weak_slots], weak_posts] = 0.0  # a weak pair starts over
        self.pre[posts, slots] = -1
        candidates = self.scores >= rule.form_threshold
        connected = self.pre >= 0
        candidates[self.pre[connected], np.nonzero(connected)[0]] = False
        if self.lateral:
            np.fill_diagonal(candidates, False)
        for post in np.flatnonzero(candidates.any(axis=0)).tolist():
            free = np.flatnonzero(self.pre[post] < 0)
            partners = np.flatnonzero(candidates[:, post])
            partners = partners[np.lexsort((partners, -self.scores[partners, post]))][: len(free)]
            for slot, partner in zip(free.tolist(), partners.tolist()):
                self.pre[post, slot] = partner
                self.weight[post, slot] = rule.initial_weight
                events.append(Event(tick, "form", self.label, partner, post, slot))
        self.scores *= rule.retention
        return events

    def remove_neuron(self, tick: int, neuron: int, side: str) -> list[Event]:
        """As for every rule, and the neuron's pair scores are forgotten."""
        (self.scores[neuron, :] if side == "pre" else self.scores[:, neuron])[...] = 0.0
        return super().remove_neuron(tick, neuron, side)

    def _score(self, pre_spikes: np.ndarray, post_spikes: np.ndarray):
        self.pre_trace *= self.decay
        self.pre_trace[pre_spikes] += 1.0
        self.post_trace *= self.decay
        self.post_trace[post_spikes] += 1.0
        self.scores[:, post_spikes] += self.pre_trace[:, None]
        self.scores[pre_spikes, :] += self.post_trace[None, :]
        self.scores[np.ix_(pre_spikes, post_spikes)] -= 1.0


def rewiring_for(network, label: str):
    """The decision procedure of a structural projection's rule."""
    rule = network.projections[label].structural
    return (CoincidenceRewiring if isinstance(rule, CoincidenceWiring) else ProjectionRewiring).for_projection(
        network, label
    )


@dataclass(eq=False)
class StructuralEngine:
    """All structural projections of a network, for backends that run them in one process."""

    network: object
    projections: dict[str, SlotRewiring]
    turnovers: dict[str, PopulationTurnover] = field(default_factory=dict)
    events: list = field(default_factory=list)
    born: dict = field(default_factory=dict)  # population -> neurons that came alive at the last step

    @classmethod
    def for_network(cls, network) -> "StructuralEngine":
        engine = cls(
            network,
            {
                label: rewiring_for(network, label)
                for label, p in network.projections.items()
                if p.structural is not None
            },
            {label: PopulationTurnover.for_population(network, label) for label in network.turnovers},
        )
        for label, rewiring in engine.projections.items():
            projection = network.projections[label]
            for side in ("pre", "post"):
                turnover = engine.turnovers.get(getattr(projection, side))
                if turnover is not None:
                    setattr(rewiring, f"alive_{side}", turnover.alive)
        return engine

    def step(
        self,
        tick: int,
        previous_spikes: Callable[[str], np.ndarray],
        weights: Callable[[str], np.ndarray] | None = None,
    ) -> list[Event]:
        """Every population's turnover, then every projection's decisions, due at the start of ``tick``;
        ``previous_spikes(population)`` gives the population's neurons that spiked in ``tick - 1``."""
        events, self.born = [], {}
        for label, turnover in self.turnovers.items():
            events += self._turnover(tick, label, turnover, previous_spikes)
        for label, rewiring in self.projections.items():
            projection = self.network.projections[label]
            events += rewiring.step(
                tick,
                previous_spikes(projection.pre),
                previous_spikes(projection.post),
                None if weights is None else partial(weights, label),
            )
        self.events += events
        return events

    def _reached(self, label: str, previous_spikes: Callable[[str], np.ndarray]) -> np.ndarray:
        """The neurons of ``label`` that static projections' spikes of the previous tick reach."""
        reached = [np.empty(0, dtype=np.int64)]
        for projection in self.network.projections.values():
            if projection.post == label and projection.structural is None:
                connections = self.network.connections(projection.label)
                reached.append(connections.post[np.isin(connections.pre, previous_spikes(projection.pre))])
        return np.concatenate(reached)

    def _turnover(
        self, tick: int, label: str, turnover: PopulationTurnover, previous_spikes: Callable[[str], np.ndarray]
    ) -> list[Event]:
        source = turnover.rule.input_projection
        n_pre = self.network.size_of(self.network.projections[source].pre) if source else 0
        change = turnover.step(tick, previous_spikes(label), self._reached(label, previous_spikes), n_pre)
        events = []
        for neuron in change.dying.tolist():
            for projection_label, rewiring in self.projections.items():
                projection = self.network.projections[projection_label]
                for side in ("post", "pre"):
                    if getattr(projection, side) == label:
                        events += rewiring.remove_neuron(tick, neuron, side)
        for neuron, inputs in zip(change.growing.tolist(), change.partners):
            events += self.projections[source].attach(tick, neuron, inputs)
        if change.growing.size:
            self.born[label] = change.growing
        return events

    def document(self) -> dict:
        return structural_document(
            self.network, self.events, {label: turnover.epochs for label, turnover in self.turnovers.items()}
        )


def slot_synapses(pre: np.ndarray, weight: np.ndarray) -> dict:
    """The synapses a slot table (post x s_max: pre neuron or -1, weight) holds, by post then pre, as
    runs report plastic weights."""
    posts, slots = np.nonzero(pre >= 0)
    pres = pre[posts, slots]
    order = np.lexsort((pres, posts))
    return {
        "pre": pres[order],
        "post": posts[order],
        "weight": np.asarray(weight, dtype=np.float64)[posts, slots][order],
    }


def structural_document(network, events: list[Event], turnover: dict | None = None) -> dict:
    """Formation and elimination events ``[tick, kind, pre, post]`` per projection, and the connectivity
    (``[pre, post]`` pairs, by post then pre) at the recorded ticks and at the end, replayed from the
    events, and the turnover epochs per population: what a run exports as structural.json."""
    document = {"events": {}, "connectivity": {}}
    if turnover:
        document["turnover"] = turnover
    for label, projection in network.projections.items():
        if projection.structural is None:
            continue
        mine = sorted((e for e in events if e.projection == label), key=lambda e: e.tick)
        connections = network.connections(label)
        pairs = set(zip(connections.pre.tolist(), connections.post.tolist()))
        snapshots, ticks = {}, sorted(network.connectivity_recordings.get(label, ()))
        index = 0
        for tick in ticks:
            while index < len(mine) and mine[index].tick <= tick:
                _apply(pairs, mine[index])
                index += 1
            snapshots[str(tick)] = _sorted(pairs)
        for event in mine[index:]:
            _apply(pairs, event)
        document["events"][label] = [[e.tick, e.kind, e.pre, e.post] for e in mine]
        document["connectivity"][label] = {**snapshots, "end": _sorted(pairs)}
    return document


def _apply(pairs: set, event: Event):
    (pairs.add if event.kind == "form" else pairs.discard)((event.pre, event.post))


def _sorted(pairs: set) -> list[list[int]]:
    return [list(p) for p in sorted(pairs, key=lambda p: (p[1], p[0]))]


def check_projection(projection, network, where: str):
    """What the network needs for a structural projection: delay 1 for the connector's synapses, formed
    ones' initial delay in whole ticks, capacity for the connector's synapses."""
    rule = projection.structural
    if isinstance(rule, CoincidenceWiring):
        if projection.plasticity is not None and rule.elim_weight > projection.plasticity.w_max:
            raise ValidationError(
                where,
                "structural.elim_weight",
                f"{rule.elim_weight:g} exceeds the STDP w_max "
                f"{projection.plasticity.w_max:g}: every synapse would be eliminated as weak",
            )
        if projection.plasticity is None and rule.elim_weight > rule.initial_weight:
            raise ValidationError(
                where,
                "structural.elim_weight",
                f"{rule.elim_weight:g} exceeds initial_weight "
                f"{rule.initial_weight:g} with static weights: every formed synapse would be "
                "eliminated as weak",
            )
        network.semantics.ticks(rule.epoch, where, "structural.epoch", minimum=1)
    if projection.plasticity is not None and projection.plasticity.weight_dependence != "additive":
        raise ValidationError(
            where,
            "plasticity.weight_dependence",
            "structural plasticity combines with additive "
            "STDP only (a formed synapse takes the potentiation since its pre neuron's last spike)",
        )
    if isinstance(rule, Synaptogenesis):
        rule.delay_ticks(network.semantics, where)  # whole ticks
    delays = network.connections(projection.label).delay_ticks
    if np.any(delays != 1):
        raise ValidationError(
            where,
            "delay",
            "structural projections need a delay of 1 tick (so that formation "
            "and elimination take effect for the spikes emitted from their tick on)",
        )
    per_post = np.bincount(network.connections(projection.label).post, minlength=network.size_of(projection.post))
    if per_post.max(initial=0) > rule.s_max:
        raise ValidationError(
            where,
            "structural.s_max",
            f"the connector gives a post neuron {per_post.max()} synapses, more than its {rule.s_max} slots",
        )
    if isinstance(rule, Synaptogenesis):
        if rule.schedule(network.semantics.dt)[1] > MAX_TICKS:
            raise ValidationError(
                where,
                "structural.f_rew",
                f"{rule.f_rew:g} Hz attempts less than once in the {MAX_TICKS} ticks a run can count",
            )
        height, width = rule.grid
        if height * width < max(network.size_of(projection.post), network.size_of(projection.pre)):
            raise ValidationError(where, "structural.grid", f"{height}x{width} grid has fewer places than neurons")
    pairs = network.connections(projection.label)
    if len(set(zip(pairs.pre.tolist(), pairs.post.tolist()))) != len(pairs.pre):
        raise ValidationError(where, "connector", "a structural projection holds at most one synapse per pair")
