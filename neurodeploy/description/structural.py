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
    the forward ones otherwise. It gets ``initial_weight``.
  - An **occupied** slot holding weight ``w`` is eliminated when ``u3 < p_elim_dep`` for
    ``w < weight_threshold``, or ``u3 < p_elim_pot`` otherwise.
* **Effect.** A synapse formed or eliminated at the start of tick ``t`` transmits, or stops
  transmitting, the spikes emitted from tick ``t`` on. (Structural projections have delay 1 tick.)

The stream: one ``numpy.random.Generator(PCG64)`` per structural projection, seeded with
``SeedSequence(network.seed, spawn_key=(crc32(b"structural"), crc32(label)))``; each tick's attempts
draw their four numbers each, in order, from their projection's stream.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from neurodeploy.description import values
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

    FIELDS = ("s_max", "f_rew", "partner_selection", "grid", "p_form_forward", "sigma_form_forward",
              "p_form_lateral", "sigma_form_lateral", "p_elim_dep", "p_elim_pot", "weight_threshold",
              "initial_weight")

    def validate(self, where: str):
        where = f"{where} synaptogenesis"
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
        for name in ("weight_threshold", "initial_weight"):
            setattr(self, name, values.number(getattr(self, name), "nA", where, name))
            values.check_range(getattr(self, name), where, name, "nA", at_least=0)

    def to_dict(self) -> dict:
        return {"kind": "synaptogenesis", **{name: list(self.grid) if name == "grid" else getattr(self, name)
                                             for name in self.FIELDS}}

    @classmethod
    def from_dict(cls, data, where: str) -> "Synaptogenesis":
        values.check_keys(data, ("kind",) + cls.FIELDS, f"{where} structural")
        if data.get("kind", "synaptogenesis") != "synaptogenesis":
            raise ValidationError(where, "structural.kind", f"unknown structural rule {data['kind']!r} "
                                  "(known: 'synaptogenesis')")
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
        p, sigma = ((self.p_form_lateral, self.sigma_form_lateral) if lateral
                    else (self.p_form_forward, self.sigma_form_forward))
        return p * np.exp(-(dx * dx + dy * dy) / (2.0 * sigma * sigma))

    def steady_state_synapses(self, partner_found: float = 1.0, p_form: float | None = None,
                              p_elim: float | None = None) -> float:
        """``k* = s_max q p_form / (q p_form + p_elim)``: synapses per post neuron at equilibrium, for a
        partner found with probability q and constant formation and elimination probabilities."""
        p_form = self.p_form_forward if p_form is None else p_form
        p_elim = self.p_elim_dep if p_elim is None else p_elim
        return self.s_max * partner_found * p_form / (partner_found * p_form + p_elim)


class Event(NamedTuple):
    tick: int
    kind: str  # "form" or "eliminate"
    projection: str
    pre: int
    post: int
    slot: int


@dataclass(eq=False)
class ProjectionRewiring:
    """One structural projection's slots (pre neuron per post neuron and slot, -1 when empty; their
    weights) and its stream: the decision procedure of the module docstring."""

    label: str
    rule: Synaptogenesis
    n_pre: int
    lateral: bool
    pre: np.ndarray
    weight: np.ndarray
    rng: np.random.Generator
    attempts: int
    period: int

    @classmethod
    def for_projection(cls, network, label: str) -> "ProjectionRewiring":
        projection = network.projections[label]
        rule = projection.structural
        connections = network.connections(label)
        n_post = network.size_of(projection.post)
        pre = np.full((n_post, rule.s_max), -1, dtype=np.int64)
        weight = np.zeros((n_post, rule.s_max))
        order = np.argsort(connections.post, kind="stable")
        posts = connections.post[order]
        slot = np.arange(len(posts)) - np.searchsorted(posts, posts)
        pre[posts, slot] = connections.pre[order]
        weight[posts, slot] = connections.weight[order]
        seed = np.random.SeedSequence(network.seed, spawn_key=(STREAM_KEY, zlib.crc32(label.encode())))
        return cls(label, rule, network.size_of(projection.pre), projection.pre == projection.post, pre, weight,
                   np.random.default_rng(seed), *rule.schedule(network.semantics.dt))

    def step(self, tick: int, previous_spikes: np.ndarray | None, weights: np.ndarray | None = None) -> list[Event]:
        """The attempts due at the start of ``tick``. ``previous_spikes``: indices of the pre neurons that
        spiked in ``tick - 1`` (for last-neuron selection); ``weights``: the slots' current weights
        (post x s_max) when they change (STDP), else the slots' own."""
        if tick % self.period != self.period - 1:
            return []
        rule, events = self.rule, []
        current = self.weight if weights is None else weights
        for u0, u1, u2, u3 in self.rng.random((self.attempts, 4)):
            post, slot = int(u0 * self.pre.shape[0]), int(u1 * rule.s_max)
            pre = int(self.pre[post, slot])
            if pre >= 0:
                probability = rule.p_elim_dep if current[post, slot] < rule.weight_threshold else rule.p_elim_pot
                if u3 < probability:
                    self.pre[post, slot] = -1
                    events.append(Event(tick, "eliminate", self.label, pre, post, slot))
                continue
            if rule.partner_selection == "random":
                partner = int(u2 * self.n_pre)
            elif len(previous_spikes):
                partner = int(previous_spikes[int(u2 * len(previous_spikes))])
            else:
                continue
            if np.any(self.pre[post] == partner):
                continue
            if u3 < rule.formation_probability(np.array([partner]), np.array([post]), self.lateral)[0]:
                self.pre[post, slot] = partner
                current[post, slot] = self.weight[post, slot] = rule.initial_weight
                events.append(Event(tick, "form", self.label, partner, post, slot))
        return events

    def synapse_counts(self) -> np.ndarray:
        """Synapses per post neuron now."""
        return np.count_nonzero(self.pre >= 0, axis=1)


@dataclass(eq=False)
class StructuralEngine:
    """All structural projections of a network, for backends that run them in one process."""

    network: object
    projections: dict[str, ProjectionRewiring]
    events: list = field(default_factory=list)

    @classmethod
    def for_network(cls, network) -> "StructuralEngine":
        return cls(network, {label: ProjectionRewiring.for_projection(network, label)
                             for label, p in network.projections.items() if p.structural is not None})

    def step(self, tick: int, previous_spikes: Callable[[str], np.ndarray],
             weights: Callable[[str], np.ndarray] | None = None) -> list[Event]:
        """Every projection's attempts due at the start of ``tick``; ``previous_spikes(label)`` gives the
        projection's pre neurons that spiked in ``tick - 1``."""
        events = []
        for label, rewiring in self.projections.items():
            events += rewiring.step(tick, previous_spikes(label), weights(label) if weights is not None else None)
        self.events += events
        return events

    def document(self) -> dict:
        return structural_document(self.network, self.events)


def structural_document(network, events: list[Event]) -> dict:
    """Formation and elimination events ``[tick, kind, pre, post]`` per projection, and the connectivity
    (``[pre, post]`` pairs, by post then pre) at the recorded ticks and at the end, replayed from the
    events: what a run exports as structural.json."""
    document = {"events": {}, "connectivity": {}}
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
    """What the network needs for a structural projection: delay 1, capacity for the connector's synapses."""
    rule = projection.structural
    delays = network.connections(projection.label).delay_ticks
    if np.any(delays != 1):
        raise ValidationError(where, "delay", "structural projections need a delay of 1 tick (so that formation "
                              "and elimination take effect for the spikes emitted from their tick on)")
    per_post = np.bincount(network.connections(projection.label).post, minlength=network.size_of(projection.post))
    if per_post.max(initial=0) > rule.s_max:
        raise ValidationError(where, "structural.s_max", f"the connector gives a post neuron {per_post.max()} "
                              f"synapses, more than its {rule.s_max} slots")
    post_size = network.size_of(projection.post)
    height, width = rule.grid
    if height * width < max(post_size, network.size_of(projection.pre)):
        raise ValidationError(where, "structural.grid", f"{height}x{width} grid has fewer places than neurons")
    pairs = network.connections(projection.label)
    if len(set(zip(pairs.pre.tolist(), pairs.post.tolist()))) != len(pairs.pre):
        raise ValidationError(where, "connector", "a structural projection holds at most one synapse per pair")
