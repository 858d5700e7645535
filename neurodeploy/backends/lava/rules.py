"""Design rules for the Loihi-class target: what the integer processes cannot run (errors) and where
precision is lost (warnings). Each finding names the population or projection and what to change; a
population's come from its cell type's numbers (:mod:`.cells`)."""

from __future__ import annotations

import math

import numpy as np

from neurodeploy.backends.lava.cells import CellFixed
from neurodeploy.backends.lava.quantize import STDP_RATE_BITS, ProjectionFixed, stdp_units
from neurodeploy.compilation import COARSE_STDP_STEPS, Finding
from neurodeploy.description import Network, STDPSemantics
from neurodeploy.description.plasticity import FIXED_POINT_TRACES


def check_semantics(network: Network) -> list[Finding]:
    """What the processes cannot compute, whatever the chip (the network's semantics they all compute:
    either threshold, either reset, either discretization and either synaptic_init)."""
    findings = []
    for population in network.populations.values():
        if population.synaptic_init is not None:
            findings.append(
                Finding(
                    "error",
                    f"population '{population.label}'",
                    "the loihi target's processes "
                    "scale arriving weights by the first-tick mean of their decay: drop synaptic_init",
                )
            )
        if population.arithmetic is not None:
            findings.append(
                Finding(
                    "error",
                    f"population '{population.label}'",
                    "the population declares a "
                    "fixed-point arithmetic, a reference's stand-in for a chip: the loihi target's "
                    "processes compute their own: drop arithmetic",
                )
            )
    spynnaker_stdp = STDPSemantics().to_dict()
    for projection in network.projections.values():
        rule = projection.plasticity
        if rule is None:
            continue
        if rule.arithmetic is not None:
            findings.append(
                Finding(
                    "error",
                    f"projection '{projection.label}'",
                    "STDP declares a fixed-point "
                    "arithmetic, a reference's stand-in for a chip: the loihi target computes its own "
                    "(PairSTDPSynapses): drop arithmetic",
                )
            )
        for name, value in rule.semantics.to_dict().items():
            runs = FIXED_POINT_TRACES if name == "traces" else (spynnaker_stdp[name],)
            if value not in runs:
                findings.append(
                    Finding(
                        "error",
                        f"projection '{projection.label}'",
                        f"the loihi target's PairSTDPSynapses runs sPyNNaker's rules ({name} = "
                        f"{' or '.join(map(repr, runs))}), not '{value}': change the rule's semantics",
                    )
                )
    return findings


def check_current_sources(network: Network, populations: dict[str, CellFixed], target: dict | None) -> list[Finding]:
    """Our processes add each tick's injected current where they add i_offset; a Loihi 2 neuron's bias
    is a register the chip holds while it runs, so the target refuses them."""
    findings = []
    for injection in network.injections.values():
        fixed = populations[injection.population]
        if target is not None:
            reason = "a Loihi 2 neuron's bias is fixed while the chip runs: current sources run on the lava backend"
            findings.append(Finding("error", injection.where, reason))
        elif fixed.current_units() is None:
            findings.append(Finding("error", injection.where, f"{fixed.process_type} takes no injected current"))
    return findings


def check_fixed(
    network: Network, populations: dict[str, CellFixed], projections: dict[str, ProjectionFixed], target: dict | None
) -> list[Finding]:
    findings = check_semantics(network) + check_current_sources(network, populations, target)
    for label, fixed in populations.items():
        findings += fixed.findings(f"population '{label}'")
        if target is not None and fixed.no_target:
            findings.append(Finding("error", f"population '{label}'", fixed.no_target))
        if label in network.turnovers and not fixed.runs_turnover:
            findings.append(
                Finding(
                    "error",
                    f"population '{label}'",
                    f"{fixed.process_type} runs no neuron turnover: drop the population's turnover",
                )
            )
    for label, fixed in projections.items():
        subject = f"projection '{label}'"
        projection = network.projections[label]
        delays = network.connections(label).delay_ticks
        limit = target["max_delay_ticks"] if target else 63
        if delays.size and delays.max() > limit:
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"delays up to {int(delays.max())} ticks exceed the {limit} "
                    "a Loihi 2 synapse supports: shorten them",
                )
            )
        weights = np.abs(network.connections(label).weight)
        lost = int(np.count_nonzero((weights > 0) & (fixed.mantissas == 0)))
        if lost:
            findings.append(
                Finding(
                    "warning",
                    subject,
                    f"{lost} of {weights.size} weights are below half a mantissa "
                    f"step (2^{fixed.weight_exp + 6} units) and become 0",
                )
            )
        nonzero = weights > 0
        if nonzero.any():
            error = float(np.max(np.abs(fixed.stored_weights[nonzero] - weights[nonzero]) / weights[nonzero]))
            if error > 0.01:
                findings.append(
                    Finding(
                        "warning",
                        subject,
                        f"weights lose up to {error:.1%} to 8-bit mantissas (exponent {fixed.weight_exp})",
                    )
                )
        if projection.plasticity is not None:
            findings += stdp_step_findings(subject, projection.plasticity, fixed, network.populations[projection.post])
        units = fixed.held_unit
        held = projection.plasticity is not None or projection.structural is not None
        if held and units.size and np.ptp(units) > 1e-9 * fixed.weight_unit:
            process = "PairSTDPSynapses" if projection.plasticity is not None else "StructuralSynapses"
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"{process} needs one weight unit (its rule's weights, a "
                    "formed synapse's included, are mantissas of it): give the post population "
                    f"'{projection.post}' uniform tau_m, cm and tau_syn",
                )
            )
    if target is not None:
        cores = sum(cores_needed(network, target).values())
        if cores > target["neuro_cores"]:
            findings.append(
                Finding(
                    "error",
                    "network",
                    f"needs about {cores} neuro cores; {target['name']} has "
                    f"{target['neuro_cores']}: use fewer neurons or synapses",
                )
            )
    return findings


def stdp_step_findings(subject: str, rule, fixed: ProjectionFixed, post) -> list[Finding]:
    """Where PairSTDPSynapses' integers hold an STDP rule's amplitudes coarsely: A+ and A- are whole weight
    steps (the projection's mantissa unit; multiplicative ones whole 2^-8), and each update A x trace is
    floored to whole steps."""
    findings = []
    integers = stdp_units({name: getattr(rule, name) for name in rule.FIELDS}, fixed)
    additive = rule.weight_dependence == "additive"
    step = fixed.weight_unit if additive else 2.0**-STDP_RATE_BITS
    unit = f" {post.cell.weight_unit}" if additive else ""
    where = (
        f"weight steps of {step:.3g}{unit} (8-bit weights, exponent {fixed.weight_exp})"
        if additive
        else f"steps of 2^-{STDP_RATE_BITS} (PairSTDPSynapses' rates)"
    )
    for name in ("A_plus", "A_minus"):
        amplitude, held = getattr(rule, name), integers[name]
        if amplitude <= 0:
            continue
        exact = amplitude / step
        if held == 0:
            message = f"STDP {name} = {amplitude:g}{unit} is {exact:.3g} {where} and becomes 0: the rule never " + (
                "potentiates" if name == "A_plus" else "depresses"
            )
        else:
            error = held / exact - 1
            largest = held if additive else held * step * (rule.w_max - rule.w_min) / fixed.weight_unit
            if abs(error) <= 0.01 and largest >= COARSE_STDP_STEPS:
                continue
            message = (
                f"STDP {name} = {amplitude:g}{unit} is {exact:.3g} {where}: held as {held} "
                f"({held * step:.3g}{unit}, {error:+.1%})"
            )
            if largest < COARSE_STDP_STEPS:
                message += (
                    f"; its largest update is {largest:.3g} weight steps, each floored to whole steps: "
                    "updates shrink by up to a step and vanish under one, so learned weights take few values"
                )
        findings.append(Finding("warning", subject, message, "quantization"))
    if rule.heterosynaptic > 0:  # additive only: whole weight steps
        exact, held = rule.heterosynaptic / fixed.weight_unit, integers["heterosynaptic"]
        error = held / exact - 1
        if held == 0 or abs(error) > 0.01:
            message = f"STDP heterosynaptic = {rule.heterosynaptic:g}{unit} is {exact:.3g} {where}: " + (
                "it becomes 0 and no post spike depresses the other synapses"
                if held == 0
                else f"held as {held} ({held * step:.3g}{unit}, {error:+.1%})"
            )
            findings.append(Finding("warning", subject, message, "quantization"))
    return findings


def _synapses_into(network: Network, label: str) -> int:
    return sum(len(network.connections(p.label).pre) for p in network.projections.values() if p.post == label)


def cores_needed(network: Network, target: dict) -> dict:
    """Neuro cores per population: neurons and incoming synapses against one core's share of the chip."""
    return {
        label: max(
            math.ceil(p.size / target["neurons_per_core"]),
            math.ceil(_synapses_into(network, label) / target["synapses_per_core"]),
        )
        for label, p in network.populations.items()
    }
