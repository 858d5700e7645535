"""Neuron turnover: apoptosis of dormant neurons and neurogenesis, over a population's capacity.

``NeuronTurnover`` on a population (``network.turnover(label, rule)``):

* **Capacity.** The population's ``size`` is its capacity; neurons ``0 .. initial_alive - 1`` are
  alive at the start. A dead neuron never spikes; the input it receives is lost.
* **Dormancy** (the dormant ratio of Sokar et al., DrM): over each epoch of ``epoch`` ms, an alive
  neuron with spike count ``n_i`` is dormant when ``n_i <= dormant_tau * mean(n over alive neurons)``
  (every alive neuron is dormant in an epoch where none fires). DrM = dormant / alive.
* **Decisions** at the start of tick ``t`` for ``t`` a positive multiple of ``epoch / dt``, from the
  spikes of ticks ``t - epoch/dt .. t - 1``, in this order: neurons dormant in ``dormant_epochs``
  epochs in a row die (every synapse of a structural projection from or to them is eliminated);
  then up to ``grow_count`` dead neurons come alive, lowest index first and not those that died now:
  with ``grow_when = "busy"``, any dead neurons when DrM <= ``grow_below``; with ``"starved"``, the
  dead neurons targeted in the epoch by a spike on a static projection (input nobody represents:
  a new pattern arrives). They come alive at their neuron part's rest (LIF: ``v = v_rest`` and no
  refractory time left; Izhikevich: see ``QuadraticIntegrate``), with no synaptic current; projections into
  the population have delay 1 tick, so the input arriving in a new
  neuron's first tick was sent while it was dead, and is lost. Each new neuron gets ``new_inputs``
  synapses on the structural projection ``input_projection`` from distinct pre neurons drawn from the
  population's stream, with that projection's initial weight; it has no output synapses until its
  projections' rules form them (function-preserving: the rest of the network computes what it
  computed before).
* **The stream**: ``numpy.random.Generator(PCG64)`` seeded with
  ``SeedSequence(network.seed, spawn_key=(crc32(b"turnover"), crc32(label)))``; a new neuron's inputs
  are ``rng.choice(n_pre, new_inputs, replace=False)``, new neurons in index order.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from neurodeploy.description import values
from neurodeploy.errors import ValidationError

STREAM_KEY = zlib.crc32(b"turnover")
GROW_WHEN = ("busy", "starved")


@dataclass(eq=False)
class NeuronTurnover:
    """Apoptosis of dormant neurons and neurogenesis on one population (module docstring)."""

    initial_alive: int
    epoch: float = 100.0
    dormant_tau: float = 0.0
    dormant_epochs: int = 3
    grow_when: str = "busy"
    grow_below: float = 0.0
    grow_count: int = 0
    input_projection: str | None = None
    new_inputs: int = 0

    FIELDS = (
        "initial_alive",
        "epoch",
        "dormant_tau",
        "dormant_epochs",
        "grow_when",
        "grow_below",
        "grow_count",
        "input_projection",
        "new_inputs",
    )

    def validate(self, where: str):
        where = f"{where} turnover"
        self.initial_alive = values.integer(self.initial_alive, where, "initial_alive", minimum=0)
        self.epoch = values.number(self.epoch, "ms", where, "epoch")
        values.check_range(self.epoch, where, "epoch", "ms", above=0)
        self.dormant_tau = values.number(self.dormant_tau, None, where, "dormant_tau")
        values.check_range(self.dormant_tau, where, "dormant_tau", "", at_least=0)
        self.dormant_epochs = values.integer(self.dormant_epochs, where, "dormant_epochs", minimum=1)
        values.choice(self.grow_when, GROW_WHEN, where, "grow_when")
        self.grow_below = values.number(self.grow_below, None, where, "grow_below")
        if not 0.0 <= self.grow_below <= 1.0:
            raise ValidationError(where, "grow_below", f"is a dormant ratio in [0, 1], got {self.grow_below:g}")
        self.grow_count = values.integer(self.grow_count, where, "grow_count", minimum=0)
        self.new_inputs = values.integer(self.new_inputs, where, "new_inputs", minimum=0)
        if self.input_projection is not None:
            self.input_projection = values.label(self.input_projection, where, "input_projection")
        elif self.new_inputs:
            raise ValidationError(where, "input_projection", "new_inputs needs a projection to put them on")

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_dict(cls, data, where: str) -> "NeuronTurnover":
        values.check_keys(data, cls.FIELDS, f"{where} turnover", required=("initial_alive",))
        return cls(**data)


def check_turnover(label: str, rule: NeuronTurnover, network):
    """What a turnover needs from the network: capacity, an epoch of whole ticks, a structural input."""
    where = f"population '{label}' turnover"
    size = network.size_of(label)
    if rule.initial_alive > size:
        raise ValidationError(where, "initial_alive", f"{rule.initial_alive} exceeds the population's {size} neurons")
    network.semantics.ticks(rule.epoch, where, "epoch", minimum=1)
    if rule.input_projection is not None:
        projection = network.projections.get(rule.input_projection)
        if projection is None or projection.post != label or projection.structural is None:
            raise ValidationError(
                where, "input_projection", f"'{rule.input_projection}' is not a structural projection into '{label}'"
            )
        if rule.new_inputs > min(projection.structural.s_max, network.size_of(projection.pre)):
            raise ValidationError(
                where, "new_inputs", f"{rule.new_inputs} exceed the slots or pre neurons of '{rule.input_projection}'"
            )
    for projection in network.projections.values():
        formed = getattr(projection.structural, "delay_ticks", None)
        longer = formed is not None and formed(network.semantics, where) != (1, 1)
        if projection.post == label and (longer or np.any(network.connections(projection.label).delay_ticks != 1)):
            raise ValidationError(
                where,
                "population",
                f"projections into a population with turnover have a delay "
                "of 1 tick (the input of a new neuron's first tick, sent while it was dead, is "
                "lost), but "
                f"'{projection.label}' has longer delays",
            )
    outgoing = [p.label for p in network.projections.values() if p.pre == label and p.structural is None]
    if outgoing:
        raise ValidationError(
            where,
            "population",
            f"a population with turnover sends structural projections "
            f"only (a new neuron starts without output), but '{outgoing[0]}' is static",
        )


@dataclass(frozen=True, eq=False)
class TurnoverChange:
    """What one tick's turnover decides for a population: empty but at an epoch's end."""

    dying: np.ndarray
    """The neurons that die (indices)."""
    growing: np.ndarray
    """The neurons that come alive."""
    partners: list
    """Per neuron that comes alive, its input partners (pre indices on the rule's input projection)."""


@dataclass(eq=False)
class PopulationTurnover:
    """One population's alive mask, spike counts and dormancy streaks, and its stream."""

    label: str
    rule: NeuronTurnover
    alive: np.ndarray
    counts: np.ndarray
    starved: np.ndarray
    streak: np.ndarray
    rng: np.random.Generator
    period: int
    epochs: list

    @classmethod
    def for_population(cls, network, label: str) -> "PopulationTurnover":
        rule, size = network.turnovers[label], network.size_of(label)
        seed = np.random.SeedSequence(network.seed, spawn_key=(STREAM_KEY, zlib.crc32(label.encode())))
        return cls(
            label,
            rule,
            np.arange(size) < rule.initial_alive,
            np.zeros(size, dtype=np.int64),
            np.zeros(size, dtype=bool),
            np.zeros(size, dtype=np.int64),
            np.random.default_rng(seed),
            int(round(rule.epoch / network.semantics.dt)),
            [],
        )

    def step(self, tick: int, previous_spikes: np.ndarray, reached: np.ndarray, n_pre: int) -> TurnoverChange:
        """Count the spikes of ``tick - 1`` and the neurons static spikes ``reached``; at an epoch's
        end, the neurons that die, those that come alive, and each new neuron's input partners (pre
        indices on ``input_projection``)."""
        none = np.empty(0, dtype=np.int64)
        self.counts[np.asarray(previous_spikes, dtype=np.int64)] += 1
        self.starved[np.asarray(reached, dtype=np.int64)] |= ~self.alive[np.asarray(reached, dtype=np.int64)]
        if tick == 0 or tick % self.period:
            return TurnoverChange(none, none, [])
        rule, alive = self.rule, self.alive.copy()
        mean = self.counts[alive].mean() if alive.any() else 0.0
        dormant = alive & (self.counts <= rule.dormant_tau * mean)
        ratio = float(dormant.sum() / alive.sum()) if alive.any() else 0.0
        self.streak = np.where(dormant, self.streak + 1, 0)
        dying = np.flatnonzero(self.streak >= rule.dormant_epochs)
        self.alive[dying] = False
        growing = none
        if rule.grow_when == "starved":
            growing = np.flatnonzero(~alive & self.starved)[: rule.grow_count]
        elif ratio <= rule.grow_below:
            growing = np.flatnonzero(~alive)[: rule.grow_count]
        self.alive[growing] = True
        self.streak[dying] = self.streak[growing] = 0
        partners = [self.rng.choice(n_pre, rule.new_inputs, replace=False) for _ in growing] if n_pre else []
        self.epochs.append(
            {
                "tick": tick,
                "alive": int(alive.sum()),
                "dormant": int(dormant.sum()),
                "dormant_ratio": ratio,
                "died": dying.tolist(),
                "born": growing.tolist(),
                "alive_after": int(self.alive.sum()),
            }
        )
        self.counts[:] = 0
        self.starved[:] = False
        return TurnoverChange(dying, growing, partners)
