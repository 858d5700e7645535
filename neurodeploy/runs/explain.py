"""Why two runs of one model part: the first tick where their spikes differ, and which quantization effects
account for the difference, found by ablation.

A target's quantization-aware reference (Brian2 on the target's numbers) is made of named effects
(:class:`~neurodeploy.compilation.QuantizationEffect`, stated by each toolchain): the reference re-run with a
set of them put back to float shows how much of a departure that set accounts for. A departure is measured by
:func:`spike_difference` between the two sides of a comparison, each side a target's reference with some of its
effects reverted (or the float model); a set accounts for the departure when reverting it removes at least
:data:`GOAL` of what reverting every effect removes. :func:`attribute` re-runs each effect alone, then adds them
greedily (largest first) until the goal is met, then drops any the set still meets it without: the set left is
one where no effect can go (not always the smallest of all: that would take every subset). Runs are
deterministic, so every figure is exact for this input; the simulations are the caller's (``simulate``), so
this module runs no backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import reduce
from typing import Callable

import numpy as np

from neurodeploy.compilation import EFFECT_KINDS, QuantizationEffect
from neurodeploy.description import Network
from neurodeploy.errors import ValidationError
from neurodeploy.results import SpikeRecord
from neurodeploy.runs.compare import matched_within

GOAL = 0.9
MEASURE = (
    "unmatched spikes: 1 - 2 x (spikes in the same tick on both sides) / (spikes of both sides), over the "
    "populations that are not spike sources"
)
MAX_RUNS = 60
"""Simulations one attribution may take: beyond, it reports what it found so far, saying so."""

Simulate = Callable[[Network], SpikeRecord]


@dataclass(frozen=True)
class Divergence:
    """The first tick at which two runs' spikes differ, and where: per population (those parting in that
    tick), the neurons that spiked in it on the run's side only and on the reference's side only."""

    tick: int
    time_ms: float
    neurons: dict[str, dict[str, list[int]]]

    @property
    def population(self) -> str:
        return next(iter(self.neurons))

    @property
    def neuron(self) -> int:
        """The lowest neuron of :attr:`population` that parts in that tick, on either side."""
        sides = self.neurons[self.population]
        return min(sides["run_only"] + sides["reference_only"])

    @classmethod
    def from_dict(cls, data: dict) -> "Divergence":
        return cls(int(data["tick"]), float(data["time_ms"]), data["neurons"])

    def neuron_text(self) -> str:
        """``E[17]``, ``E[17, 18]``; other populations parting in the same tick after a ``;``."""
        parts = []
        for label, sides in self.neurons.items():
            indices = sorted(sides["run_only"] + sides["reference_only"])
            shown = ", ".join(map(str, indices[:5])) + (", ..." if len(indices) > 5 else "")
            parts.append(f"{label}[{shown}]")
        return "; ".join(parts)

    def to_dict(self) -> dict:
        return {"tick": self.tick, "time_ms": self.time_ms, "neurons": self.neurons}


def check_same_populations(run: SpikeRecord, reference: SpikeRecord, inputs=()) -> None:
    """Refuse two runs that do not record the same populations of the same sizes (the spike sources ``inputs``
    aside), naming those on one side only and those of different sizes: a population missing on one side
    has no spikes to compare, not spikes that all differ."""
    ours, theirs = (
        {label: size for label, size in record.sizes().items() if label not in inputs} for record in (run, reference)
    )
    if ours == theirs:
        return
    parts = [
        f"{', '.join(labels)} only in the {side}"
        for side, labels in (
            ("run", [label for label in ours if label not in theirs]),
            ("reference", [label for label in theirs if label not in ours]),
        )
        if labels
    ]
    parts += [
        f"{label} of {ours[label]} neurons in the run, {theirs[label]} in the reference"
        for label in ours
        if label in theirs and ours[label] != theirs[label]
    ]
    raise ValidationError(
        "explain", "populations", f"the two runs do not record the same populations: {'; '.join(parts)}"
    )


def first_divergence(run: SpikeRecord, reference: SpikeRecord, inputs=()) -> Divergence | None:
    """The first tick where ``run`` and ``reference`` (same dt, populations and sizes: others refused) spike
    differently in a population that is not one of the spike sources ``inputs``; None when they never do."""
    check_same_populations(run, reference, inputs)
    first, found = None, {}
    for label in reference.populations:
        if label in inputs:
            continue
        for neuron, (ours, theirs) in enumerate(zip(run.ticks(label), reference.ticks(label))):
            differing = np.setxor1d(ours, theirs)
            if not differing.size or (first is not None and differing[0] > first):
                continue
            if first is None or differing[0] < first:
                first, found = int(differing[0]), {}
            side = "run_only" if first in ours else "reference_only"
            found.setdefault(label, {"run_only": [], "reference_only": []})[side].append(neuron)
    if first is None:
        return None
    return Divergence(first, float(np.round(first * reference.dt_ms, 9)), found)


def spike_difference(a: SpikeRecord, b: SpikeRecord, inputs=()) -> float:
    """The fraction of spikes the two runs do not share tick for tick (:data:`MEASURE`): 0 for identical
    runs, 1 when no spike is in the same tick on both sides (two silent runs: 0). Runs that do not record the
    same populations are refused (:func:`check_same_populations`)."""
    check_same_populations(a, b, inputs)
    total = same = 0
    for label in b.populations:
        if label in inputs:
            continue
        for ours, theirs in zip(a.ticks(label), b.ticks(label)):
            total += ours.size + theirs.size
            same += matched_within(theirs, ours, 0)
    return 0.0 if total == 0 else 1.0 - 2.0 * same / total


@dataclass(eq=False)
class Side:
    """One side of a comparison as the ablation re-runs it: ``name`` (a target's, or ``float``), the network
    its reference computes with every effect in place (None: the float model, which has none), its effects,
    and its spikes as recorded with every effect in place (None: simulate them)."""

    name: str
    network: Network | None
    effects: list[QuantizationEffect] = field(default_factory=list)
    spikes: SpikeRecord | None = None


KIND_ORDER = {kind: index for index, kind in enumerate(EFFECT_KINDS)}


def reverted_network(network: Network, effects) -> Network:
    """``network`` with ``effects`` put back to float, in the order of the kinds (an arithmetic taken away
    before the values that would have to fit it)."""
    ordered = sorted(effects, key=lambda effect: KIND_ORDER[effect.kind])
    return reduce(lambda current, effect: effect.revert(current), ordered, network)


class Ablation:
    """The two sides of a comparison, re-run with any set of their effects (indices into :attr:`effects`,
    the run side's first) reverted: their spike difference, each side's runs remembered."""

    def __init__(
        self, run: Side, reference: Side, simulate: Simulate, inputs=(), max_runs: int = MAX_RUNS, on_run=None
    ):
        self.sides = (run, reference)
        self.effects = [(0, effect) for effect in run.effects] + [(1, effect) for effect in reference.effects]
        self.simulate, self.inputs, self.max_runs = simulate, tuple(inputs), max_runs
        self.on_run = on_run or (lambda runs: None)
        self.runs = 0
        self._spikes: dict[tuple[int, frozenset], SpikeRecord] = {}
        self._measured: dict[frozenset, tuple[float, Divergence | None]] = {}
        for index, side in enumerate(self.sides):
            if side.spikes is not None:
                self._spikes[(index, frozenset())] = side.spikes

    def within_budget(self, chosen) -> bool:
        """Whether measuring ``chosen`` needs no more runs than the budget has left."""
        return self.runs + sum(key not in self._spikes for key in self._keys(chosen)) <= self.max_runs

    def _keys(self, chosen) -> list[tuple[int, frozenset]]:
        return [
            (index, frozenset(i for i in chosen if self.effects[i][0] == index)) for index in range(len(self.sides))
        ]

    def spikes(self, index: int, reverted: frozenset) -> SpikeRecord:
        key = (index, reverted)
        if key not in self._spikes:
            side = self.sides[index]
            network = reverted_network(side.network, [self.effects[i][1] for i in reverted])
            self._spikes[key] = self.simulate(network)
            self.runs += 1
            self.on_run(self.runs)
        return self._spikes[key]

    def measure(self, chosen) -> tuple[float, Divergence | None]:
        """The spike difference of the two sides with the effects ``chosen`` reverted, and where they first part."""
        chosen = frozenset(chosen)
        if chosen not in self._measured:
            run, reference = (self.spikes(index, reverted) for index, reverted in self._keys(chosen))
            self._measured[chosen] = (
                spike_difference(run, reference, self.inputs),
                first_divergence(run, reference, self.inputs),
            )
        return self._measured[chosen]


def attribute(ablation: Ablation, goal: float = GOAL) -> dict:
    """Which effects account for the departure of the ablation's two sides (module docstring): the
    departure with every effect in place and with all reverted, each effect's share alone, and the set found."""
    everything = range(len(ablation.effects))
    departure, parted = ablation.measure(())
    result = {
        "difference": departure,
        "first_divergence": parted.to_dict() if parted else None,
        "effects": [],
        "cause": None,
        "runs": 0,
        "max_runs": ablation.max_runs,
        "complete": True,
    }
    if departure == 0:
        return result
    if not ablation.within_budget(everything):
        result["complete"] = False
        return result
    remaining, _ = ablation.measure(everything)
    whole = (departure - remaining) / departure
    result["all_reverted"] = {"difference": remaining, "explained": whole}

    def explained(chosen) -> float:
        return (departure - ablation.measure(chosen)[0]) / departure

    singles = {}
    for index in everything:
        if not ablation.within_budget({index}):
            result["complete"] = False
            break
        singles[index] = explained({index})
    ranked = sorted(singles, key=lambda index: -singles[index])
    target = goal * whole
    chosen = []
    if whole > 0:
        for index in ranked + [i for i in everything if i not in singles]:
            if chosen and explained(chosen) >= target:
                break
            if not ablation.within_budget({*chosen, index}):
                result["complete"] = False
                break
            chosen.append(index)
        if chosen and explained(chosen) >= target:
            for index in reversed(list(chosen)):
                smaller = [i for i in chosen if i != index]
                if not smaller or not ablation.within_budget(smaller):
                    continue
                if explained(smaller) >= target:
                    chosen = smaller
            result["cause"] = {
                "effects": [_effect_entry(ablation, index) for index in sorted(chosen)],
                "explained": explained(chosen),
                "first_divergence_tick": _tick(ablation.measure(chosen)[1]),
                "alternatives": [  # single effects that meet the goal as well
                    _effect_entry(ablation, index)
                    for index in ranked
                    if index not in chosen and len(chosen) == 1 and singles[index] >= target
                ],
            }
    for index in everything:
        entry = _effect_entry(ablation, index)
        if index in singles:
            entry.update(explained=singles[index], first_divergence_tick=_tick(ablation.measure({index})[1]))
        result["effects"].append(entry)
    result["effects"].sort(key=lambda entry: -entry.get("explained", -np.inf))
    result["runs"] = ablation.runs
    return result


def _tick(divergence: Divergence | None):
    return None if divergence is None else divergence.tick


def _effect_entry(ablation: Ablation, index: int) -> dict:
    side, effect = ablation.effects[index]
    return {"target": ablation.sides[side].name, **effect.to_dict(), "reverted": effect.reverted}


@dataclass(eq=False)
class Explanation:
    """Why ``run`` parts from ``reference`` (two runs of a deploy: a target's, the float model's), as a
    comparison of ``kind`` (``quantization_cost``, ``portability``, ``correctness``)."""

    kind: str
    run: str
    reference: str
    run_target: str
    reference_target: str
    difference: float
    divergence: Divergence | None
    attribution: dict | None
    note: str = ""

    def sentence(self) -> str:
        """The explanation in one sentence (or two), for people."""
        if self.kind == "correctness":
            other = "its quantization-aware reference"
        else:
            other = "the float model" if self.reference_target == "float" else f"the {self.reference_target} run"
        if self.divergence is None:
            return f"the {self.run_target} run does not part from {other}: every spike is in the same tick"
        text = (
            f"the {self.run_target} run parts from {other} at tick {self.divergence.tick} "
            f"({self.divergence.time_ms:g} ms), neuron {self.divergence.neuron_text()}"
        )
        attribution = self.attribution
        if attribution is None:
            return f"{text}; {self.note}" if self.note else text
        if attribution["difference"] == 0:
            return (
                f"{text}; the quantization-aware references do not part, so no effect of quantization explains it "
                "(the target departs from its own reference: see the correctness comparison)"
            )
        if "all_reverted" not in attribution:
            return f"{text}; a budget of {attribution['max_runs']} Brian2 runs is too small to re-run the references"
        cause = attribution["cause"]
        whole = attribution["all_reverted"]["explained"]
        if cause is None:
            found = (
                "no set of quantization effects accounts for it"
                if attribution["complete"]
                else f"the budget of {attribution['max_runs']} Brian2 runs ended before a set accounting for it "
                "was found"
            )
            return f"{text}; {found}: reverting all of them removes {whole:.0%} of the spike difference"
        effects = cause["effects"]
        if len(effects) == 1:
            reverted = f"{self._reverted(effects[0])} ({effects[0]['detail']})"
        else:  # each one's numbers are in the list of effects
            phrases = [self._reverted(effect) for effect in effects]
            reverted = ", ".join(phrases[:-1]) + f" and {phrases[-1]}"
        text += f"; {cause['explained']:.0%} of the spike difference disappears when {reverted}"
        if cause["alternatives"]:
            text += "; as much when " + " or ".join(self._reverted(effect) for effect in cause["alternatives"])
        if whole < 1.0 - 1e-9:
            text += f" (reverting every effect removes {whole:.0%})"
        if not attribution["complete"]:
            text += f" (found within the budget of {attribution['max_runs']} Brian2 runs, not every effect tried)"
        return text

    def _reverted(self, effect: dict) -> str:
        """What reverting ``effect`` means, naming its target when both sides have effects."""
        return (
            effect["reverted"] if self.reference_target == "float" else f"on {effect['target']}, {effect['reverted']}"
        )

    def _name(self, effect: dict) -> str:
        return effect["name"] if self.reference_target == "float" else f"{effect['target']}: {effect['name']}"

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "run": self.run,
            "reference": self.reference,
            "difference": self.difference,
            "first_divergence": None if self.divergence is None else self.divergence.to_dict(),
            "sentence": self.sentence(),
            "attribution": self.attribution,
            "note": self.note,
        }

    def text(self) -> str:
        """The sentence, then each effect tried alone with its share (largest first)."""
        lines = [f"{self.kind}: {self.run} vs {self.reference}", f"  {self.sentence()}"]
        attribution = self.attribution or {}
        cause = attribution.get("cause")
        if cause and len(cause["effects"]) > 1:
            lines += [f"    {self._name(effect)}: {effect['detail']}" for effect in cause["effects"]]
        tried = [effect for effect in attribution.get("effects", []) if "explained" in effect]
        if tried:
            lines.append(
                f"  each effect reverted alone ({attribution['runs']} Brian2 runs; difference "
                f"{attribution['difference']:.2%} with all in place):"
            )
            for effect in tried:
                tick = effect["first_divergence_tick"]
                parts = "never parts" if tick is None else f"first parts at tick {tick}"
                share = f"{effect['explained']:.0%}".replace("-0%", "0%")
                lines.append(f"    {share:>6}  {self._name(effect)} ({parts})")
        if attribution and not attribution.get("complete", True):
            lines.append(
                f"  (stopped at the budget of {attribution['max_runs']} runs: effects not tried are listed without a "
                "share, and the set named may not be the whole cause)"
            )
        return "\n".join(lines)


def explain(
    kind: str,
    names: tuple[str, str],
    spikes: tuple[SpikeRecord, SpikeRecord],
    sides: tuple[Side, Side] | None,
    simulate: Simulate,
    inputs=(),
    max_runs: int = MAX_RUNS,
    on_run=None,
) -> Explanation:
    """Explain comparison ``kind`` of the runs ``names`` (run, reference) with ``spikes``: where they first part,
    and, given the ``sides`` to re-run (their targets' references and effects), which effects account for it.
    Without sides (a target against its own reference, whose numbers it computes) only where they part."""
    divergence = first_divergence(*spikes, inputs)
    difference = spike_difference(*spikes, inputs)
    targets = sides[0].name if sides else names[0], sides[1].name if sides else names[1]
    if sides is None or divergence is None:
        note = (
            "the reference computes the target's own numbers, so no quantization effect explains a departure: "
            "it is the target's (or an effect the reference does not model)"
            if sides is None and divergence is not None
            else ""
        )
        return Explanation(kind, *names, *targets, difference, divergence, None, note)
    ablation = Ablation(*sides, simulate, inputs, max_runs, on_run)
    return Explanation(kind, *names, *targets, difference, divergence, attribute(ablation))
