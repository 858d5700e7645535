"""What both toolchains' quantization effects share: which fields of a population or projection a reference
changed, grouped into the kinds of :class:`~neurodeploy.compilation.QuantizationEffect`, and how each is put
back to float in a network that may hold other effects (explain's ablation reverts them in any combination).

A toolchain states its own numbers (``details``: per kind, a sentence and its numbers: its formats and steps)
and what a float value is in its reference's frame (``synaptic_init``, ``weight``); the grouping, the values
changed and the reverts are here.
Where the reference keeps an arithmetic that re-quantizes a restored value, the revert widens it so that the
value counts: decays to :data:`FINEST_DECAY_BITS`, a plastic projection's weight grid to :data:`FINE_STEPS`
of its step.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from neurodeploy.compilation import QuantizationEffect
from neurodeploy.description import Network, Population, Projection
from neurodeploy.description.semantics import Semantics
from neurodeploy.description.structural import rounded_weights

FINEST_DECAY_BITS = 16  # the widest decay fraction FixedPointLIF and FixedPointIzhikevich declare
FINE_STEPS = 2**16  # a plastic projection's float weights, on integers: this many units per stored step
LEVELS = ("v_rest", "v_thresh", "v_reset", "e_rev_E", "e_rev_I")
MEMBRANE = ("tau_m", "cm")
STDP_WEIGHTS = ("w_min", "w_max")
STDP_AMPLITUDES = {"A_plus": "A+", "A_minus": "A-", "heterosynaptic": "heterosynaptic"}
"""The amounts an additive rule adds to or takes from a weight, by the name a finding shows them under."""


def differs(described, reference) -> bool:
    """Whether two values (scalars or arrays; a scalar stands for an array of it) differ anywhere."""
    try:
        described, reference = np.broadcast_arrays(
            np.asarray(described, dtype=np.float64), np.asarray(reference, dtype=np.float64)
        )
    except ValueError:  # shapes that cannot be one another's
        return True
    return not np.array_equal(described, reference)


def field_change(name: str, described, reference) -> tuple[str, dict]:
    """A field's float and reference values (at the neuron where they differ most, when they vary from
    neuron to neuron): words and numbers."""
    described, reference = np.broadcast_arrays(
        np.atleast_1d(np.asarray(described, dtype=np.float64)), np.atleast_1d(np.asarray(reference, dtype=np.float64))
    )
    worst = int(np.argmax(np.abs(reference - described)))
    numbers = {"float": float(described[worst]), "target": float(reference[worst])}
    at = ""
    if np.unique(described).size > 1 or np.unique(reference).size > 1:
        numbers["neuron"] = worst
        at = f" (neuron {worst}, where they differ most)"
    return f"{name} {numbers['float']:.6g} -> {numbers['target']:.6g}{at}", numbers


def changes_of(names, described, reference) -> tuple[list[str], dict]:
    words, numbers = [], {}
    for name in names:
        text, numbers[name] = field_change(name, getattr(described, name), getattr(reference, name))
        words.append(text)
    return words, numbers


def population_revert(label: str, change: Callable[[Population], dict]) -> Callable[[Network], Network]:
    """A revert replacing population ``label``'s fields by ``change(population)``."""

    def revert(network: Network) -> Network:
        population = network.populations[label]
        return network.replaced(populations={label: replace(population, **change(population))})

    return revert


def projection_revert(label: str, change: Callable[[Projection], dict]) -> Callable[[Network], Network]:
    def revert(network: Network) -> Network:
        projection = network.projections[label]
        return network.replaced(projections={label: replace(projection, **change(projection))})

    return revert


def _cell_fields(population: Population, described: Population, names) -> dict:
    return {"cell": replace(population.cell, **{name: getattr(described.cell, name) for name in names})}


def _finest_decays(arithmetic):
    """An integer arithmetic whose decays are as fine as declarable (its own: the widest holds its steps exactly)."""
    if arithmetic is None or not hasattr(arithmetic, "decay_bits"):
        return arithmetic
    return replace(arithmetic, decay_bits=max(arithmetic.decay_bits, FINEST_DECAY_BITS))


def cell_groups(described: Population) -> dict[str, tuple[str, ...]]:
    """The cell's fields by the kind of effect their encoding is (every field in one kind)."""
    cell = described.cell
    names = list(cell.specs())
    synaptic = tuple(getattr(cell.synapse, "time_constants", {}).values())
    groups = {
        "membrane_decay": tuple(n for n in MEMBRANE if n in names),
        "synaptic_decay": tuple(n for n in synaptic if n in names),
        "threshold_reset": tuple(n for n in LEVELS if n in names),
        "bias": tuple(n for n in ("i_offset",) if n in names),
        "initial_state": tuple(n for n in cell.initial_value_specs() if n not in LEVELS),
        "refractory": tuple(n for n in ("tau_refrac",) if n in names),
    }
    grouped = {n for group in groups.values() for n in group}
    groups["parameters"] = tuple(n for n in names if n not in grouped)
    return groups


def population_effects(
    described: Population,
    reference: Population,
    semantics: Semantics,
    details: dict[str, tuple[str, dict]],
    synaptic_init: dict | None,
) -> list[QuantizationEffect]:
    """The effects of one population: its arithmetic, and each group of fields (:func:`cell_groups`) the
    reference changed, ``details`` (by kind) saying in the target's terms what each is; ``synaptic_init``:
    what the population's float weights are scaled by on arrival in the reference's frame of weights."""
    label, where = described.label, f"population {described.label}"
    effects = []
    if described.arithmetic is None and reference.arithmetic is not None:
        text, numbers = details["arithmetic"]
        effects.append(
            QuantizationEffect(
                "arithmetic",
                where,
                text,
                population_revert(label, lambda population: {"arithmetic": None}),
                {**numbers, "arithmetic": reference.arithmetic.to_dict()},
            )
        )
    for kind, names in cell_groups(described).items():
        changed = [n for n in names if differs(getattr(described.cell, n), getattr(reference.cell, n))]
        init_changed = kind == "synaptic_decay" and _init_differs(reference, synaptic_init)
        if kind == "refractory" and changed:
            float_ticks = semantics.refractory_ticks(described.value("tau_refrac"))
            target_ticks = semantics.refractory_ticks(reference.value("tau_refrac"))
            if np.array_equal(float_ticks, target_ticks):  # the same count of ticks: nothing to revert
                continue
        if not changed and not init_changed:
            continue
        words, numbers = changes_of(changed, described.cell, reference.cell)
        if kind == "refractory":
            worst = numbers["tau_refrac"]
            worst["float_ticks"] = int(semantics.refractory_ticks(worst["float"]))
            worst["target_ticks"] = int(semantics.refractory_ticks(worst["target"]))
            words = [f"tau_refrac {worst['float']:g} ms: {worst['target_ticks']} ticks for {worst['float_ticks']}"]
        text, extra = details.get(kind, ("", {}))
        effects.append(
            QuantizationEffect(
                kind,
                where,
                "; ".join(filter(None, [text, ", ".join(words)])),
                _population_revert(kind, described, changed, synaptic_init),
                {**extra, **numbers},
            )
        )
    return effects


def _init_differs(reference: Population, synaptic_init: dict | None) -> bool:
    if synaptic_init is None:
        return reference.synaptic_init is not None
    return reference.synaptic_init is None or any(
        differs(value, reference.synaptic_init.get(receptor)) for receptor, value in synaptic_init.items()
    )


def _population_revert(kind: str, described: Population, names: list[str], synaptic_init: dict | None):
    def change(population: Population) -> dict:
        fields = _cell_fields(population, described, names)
        if kind in ("membrane_decay", "synaptic_decay"):
            fields["arithmetic"] = _finest_decays(population.arithmetic)
        if kind == "synaptic_decay":
            fields["synaptic_init"] = synaptic_init
            time_constants = [np.asarray(getattr(fields["cell"], name)) for name in names]
            if getattr(population.arithmetic, "currents", None) == "combined" and any(
                differs(time_constants[0], other) for other in time_constants[1:]
            ):  # one current holds only equal decays: the float ones are two
                fields["arithmetic"] = replace(fields["arithmetic"], currents="separate")
        return fields

    return population_revert(described.label, change)


def projection_effects(
    described: Projection, reference: Projection, details: dict[str, tuple[str, dict]], weight, unit: str
) -> list[QuantizationEffect]:
    """The effects of one projection: its STDP arithmetic, and its weights (initial, the rule's weights and
    amplitudes, a structural rule's initial weight) when the reference changed them; ``weight``: the float
    weights in the reference's frame, in ``unit``."""
    label, where = described.label, f"projection {described.label}"
    effects = []
    rule = reference.plasticity
    if rule is not None and rule.arithmetic is not None and described.plasticity.arithmetic is None:
        text, numbers = details["stdp"]
        effects.append(
            QuantizationEffect(
                "stdp",
                where,
                text,
                projection_revert(
                    label, lambda projection: {"plasticity": replace(projection.plasticity, arithmetic=None)}
                ),
                {**numbers, "arithmetic": rule.arithmetic.to_dict()},
            )
        )
    rule_changed = rule is not None and any(
        differs(getattr(described.plasticity, name), getattr(rule, name)) for name in (*STDP_WEIGHTS, *STDP_AMPLITUDES)
    )
    structural_changed = described.structural is not None and differs(
        described.structural.initial_weight, reference.structural.initial_weight
    )
    if differs(np.atleast_1d(described.weight), np.atleast_1d(reference.weight)) or rule_changed or structural_changed:
        text, numbers = details["weights"]
        if rule is not None and rule.arithmetic is not None and rule.weight_dependence == "additive":
            words, amplitudes = amplitudes_against_step(described.plasticity, rule, unit)
            text, numbers = f"{text}; {words}", {**numbers, **amplitudes}
        effects.append(QuantizationEffect("weights", where, text, _weights_revert(described, weight), numbers))
    return effects


def amplitudes_against_step(described, rule, unit: str) -> tuple[str, dict]:
    """An additive rule's amplitudes against the step its weights are stored in (an update below one step is
    floored away when stored): words and numbers."""
    step = rule.arithmetic.weight_step
    numbers = {"weight_step": step}
    words = []
    for name, shown in STDP_AMPLITUDES.items():
        value = getattr(described, name)
        if name == "heterosynaptic" and value == 0:
            continue
        numbers[name] = {"float": value, "target": getattr(rule, name), "steps": value / step}
        words.append(f"{shown} {value:.3g} {unit} ({value / step:.3g} steps)")
    return f"stored in steps of {step:.3g} {unit} vs " + ", ".join(words), numbers


def _weights_revert(described: Projection, weight):
    def change(projection: Projection) -> dict:
        rule = projection.plasticity
        if rule is None or rule.arithmetic is None:
            restored = {"weight": weight}
            if rule is not None:
                restored["plasticity"] = replace(
                    rule, **{name: getattr(described.plasticity, name) for name in (*STDP_WEIGHTS, *STDP_AMPLITUDES)}
                )
            if described.structural is not None:
                restored["structural"] = described.structural
            return restored
        # Still on the rule's integers: its grid made FINE_STEPS times finer, every float weight on it.
        fine = rule.arithmetic.weight_step / FINE_STEPS
        arithmetic = replace(rule.arithmetic, weight_lsb=fine, weight_step=fine, weight_bits=32)
        names = STDP_WEIGHTS + (tuple(STDP_AMPLITUDES) if rule.weight_dependence == "additive" else ())
        rule = replace(
            rule, **{name: _on_grid(getattr(described.plasticity, name), fine) for name in names}, arithmetic=arithmetic
        )
        restored = {"weight": _on_grid(weight, fine), "plasticity": rule}
        if described.structural is not None:
            initial = _on_grid(described.structural.initial_weight, fine)
            restored["structural"] = rounded_weights(described.structural, initial, rule.w_max)
        return restored

    return projection_revert(described.label, change)


def _on_grid(value, step: float):
    rounded = np.rint(np.asarray(value, dtype=np.float64) / step) * step
    return float(rounded) if rounded.ndim == 0 else rounded
