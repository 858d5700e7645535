"""What a target's numbers change in a network: the network as described against its quantization-aware
reference (the same network with the numbers the target really uses, ``Compilation.reference_network``).

Per population, each cell parameter as described and as implemented (a time constant as the decay per
tick it gives, which is what a chip stores); per projection, the relative error of every synapse's
weight as a histogram, the synapses whose weight became zero, the delays that changed, and a plastic
rule's amplitudes and bounds against the weight step the target updates in. Deploy writes it as
``compile/quantization.json``; the report plots it. Summaries, not per-synapse arrays: a network may hold
millions of synapses.
"""

from __future__ import annotations

import numpy as np

from neurodeploy.description import Network

RELATIVE_ERROR_EDGES = np.logspace(-8, 1, 37)
"""Bins of a histogram of relative weight errors: quarter decades; smaller nonzero errors count in the first
bin, larger ones in the last."""

STDP_PARAMETERS = ("A_plus", "A_minus", "w_min", "w_max")


def quantization_effects(network: Network, reference: Network) -> dict:
    """The quantization.json document: ``network`` (as described) against ``reference`` (as implemented)."""
    return {
        "relative_error_edges": RELATIVE_ERROR_EDGES.tolist(),
        "populations": {
            label: _population(network, reference, label)
            for label in network.populations
            if label in reference.populations
        },
        "projections": {
            label: _projection(network, reference, label)
            for label in network.projections
            if label in reference.projections
        },
    }


def _population(network: Network, reference: Network, label: str) -> dict:
    described, implemented = network.populations[label], reference.populations[label]
    time_constants = {"tau_m", *getattr(described.cell.synapse, "time_constants", {}).values()}
    quantities = {}
    for name, spec in described.cell.parameter_specs().items():
        if not hasattr(implemented.cell, name):
            continue
        ours, theirs = (
            np.broadcast_to(np.asarray(getattr(p.cell, name), dtype=np.float64), (p.size,))
            for p in (described, implemented)
        )
        if name in time_constants:
            quantity, unit = f"decay of {name}", "per tick"
            ours, theirs = network.semantics.decay(ours), network.semantics.decay(theirs)
        else:
            quantity, unit = name, spec.unit
        difference = np.abs(theirs - ours)
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = np.where(ours != 0, difference / np.abs(ours), np.where(difference == 0, 0.0, np.inf))
        quantities[quantity] = {
            "unit": unit,
            "described": [float(ours.min()), float(ours.max())],
            "implemented": [float(theirs.min()), float(theirs.max())],
            "max_abs_difference": float(difference.max()),
            "max_relative_difference": _finite_or_none(float(relative.max())),
            "neurons_differing": int(np.count_nonzero(difference)),
        }
    arithmetic = implemented.arithmetic
    return {
        "cell_type": described.cell.name,
        "neurons": described.size,
        "arithmetic": None if arithmetic is None else type(arithmetic).__name__,
        "quantities": quantities,
    }


def _projection(network: Network, reference: Network, label: str) -> dict:
    described, implemented = network.connections(label), reference.connections(label)
    result = {"synapses": int(described.weight.size)}
    if described.weight.size != implemented.weight.size:  # never for the targets' typed transforms
        result["not_compared"] = f"{implemented.weight.size} synapses as implemented, {described.weight.size} described"
        return result
    ours, theirs = np.abs(described.weight), np.abs(implemented.weight)
    nonzero = ours > 0
    relative = np.abs(theirs[nonzero] - ours[nonzero]) / ours[nonzero]
    inexact = relative[relative > 0]
    counts, _ = np.histogram(
        np.clip(inexact, RELATIVE_ERROR_EDGES[0], RELATIVE_ERROR_EDGES[-1]), bins=RELATIVE_ERROR_EDGES
    )
    result.update(
        exact=int(relative.size - inexact.size),
        described_zero=int(np.count_nonzero(~nonzero)),
        relative_error_counts=counts.tolist(),
        largest_relative_error=float(relative.max()) if relative.size else 0.0,
        mean_relative_error=float(relative.mean()) if relative.size else 0.0,
        lost_to_zero=int(np.count_nonzero(nonzero & (theirs == 0))),
        delays_changed=int(np.count_nonzero(described.delay_ticks != implemented.delay_ticks)),
    )
    rule, chip_rule = network.projections[label].plasticity, reference.projections[label].plasticity
    if rule is not None and chip_rule is not None:
        step = getattr(chip_rule.arithmetic, "weight_step", None)
        result["plasticity"] = {
            "weight_step": step,
            "weight_dependence": rule.weight_dependence,
            **{name: [float(getattr(rule, name)), float(getattr(chip_rule, name))] for name in STDP_PARAMETERS},
        }
        if rule.heterosynaptic:  # only where declared: documents of rules without it stay as they were
            result["plasticity"]["heterosynaptic"] = [float(rule.heterosynaptic), float(chip_rule.heterosynaptic)]
    return result


def _finite_or_none(value: float):
    return value if np.isfinite(value) else None
