"""Design rules for the SpiNNaker target: what sPyNNaker 7.x cannot run (errors) and where it loses
precision (warnings). Each finding names the population or projection and what to change."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from neurodeploy.backends.spinnaker import cells
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.graph import TIMING_DEPENDENCE, weight_factor
from neurodeploy.backends.spinnaker.quantize import projection_report, stdp_scale
from neurodeploy.compilation import COARSE_STDP_STEPS, Finding
from neurodeploy.description import CoincidenceWiring, Network, STDPSemantics

# Synapses one pre neuron may have onto one post core: rows are at most 256 words (master population
# table); a static synapse is one word, a pair-rule plastic one two half-words after a 2-word header.
MAX_ROW_SYNAPSES = {"static": 256, "plastic": 254}
# Synaptic events one synapse core processes per second (sPyNNaker's planning figures); each rewiring
# attempt costs as much as 17 synapses; every source is assumed to fire at 30 Hz.
SYNAPSE_EVENTS_PER_CORE = {"static": 13_000_000, "plastic": 1_400_000}
REWIRING_COST_SYNAPSES = 17
ASSUMED_RATE_HZ = 30


def check_semantics(network: Network) -> list[Finding]:
    """Meaning the sPyNNaker kernels cannot reproduce, whatever the board (the emulation refuses it too).
    ``threshold: '>'``, ``euler`` and ``synaptic_init: none`` are handed to sPyNNaker as numbers
    (:mod:`.graph`); the reset by subtraction only the emulation computes (:func:`check_target`)."""
    findings = []
    semantics = network.semantics
    for population in network.populations.values():
        subject = f"population '{population.label}'"
        build = cells.build(population.cell)
        if semantics.reset == "subtract" and isinstance(population.cell.neuron, cells.QuadraticIntegrate):
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"{population.cell_type} resets v to c; reset 'subtract' is defined for leaky "
                    "integrate-and-fire cells",
                )
            )
        if population.synaptic_init is not None:
            findings.append(
                Finding(
                    "error",
                    subject,
                    "sPyNNaker computes the synaptic init factor from tau_syn "
                    "(exp_synapse_utils.h): drop synaptic_init",
                )
            )
        if population.arithmetic is not None:
            findings.append(
                Finding(
                    "error",
                    subject,
                    "the population declares a fixed-point arithmetic, a "
                    "reference's stand-in for a chip: sPyNNaker computes its own: drop arithmetic",
                )
            )
        handed = replace(population, cell=build.handed(population.cell, semantics))
        for level, message in build.findings(handed, semantics.dt):
            findings.append(Finding(level, subject, message))
    for projection in network.projections.values():
        if (projection.plasticity or projection.structural) and weight_factor(network, projection) is not None:
            findings.append(
                Finding(
                    "error",
                    f"projection '{projection.label}'",
                    f"sPyNNaker is handed the weights onto '{projection.post}' divided by its synaptic init "
                    f"factor (synaptic_init '{semantics.synaptic_init}', discretization "
                    f"'{semantics.discretization}'): its plasticity would learn the divided weights; use "
                    "discretization 'exact' with synaptic_init 'mean_first_tick'",
                )
            )
    spynnaker_stdp = STDPSemantics().to_dict()
    rules_by_post = {}
    for projection in network.projections.values():
        rule = projection.plasticity
        if rule is None:
            continue
        subject = f"projection '{projection.label}'"
        if rule.arithmetic is not None:
            findings.append(
                Finding(
                    "error",
                    subject,
                    "STDP declares a fixed-point arithmetic, a reference's stand-in "
                    "for a chip: sPyNNaker computes its own: drop arithmetic",
                )
            )
        for name, value in rule.semantics.to_dict().items():
            if name == "traces" and value not in TIMING_DEPENDENCE:
                findings.append(
                    Finding(
                        "error",
                        subject,
                        f"sPyNNaker runs STDP with traces {' or '.join(map(repr, TIMING_DEPENDENCE))} "
                        f"(SpikePairRule, SpikeNearestPairRule), not '{value}': change the rule's semantics",
                    )
                )
            elif name != "traces" and value != spynnaker_stdp[name]:
                findings.append(
                    Finding(
                        "error",
                        subject,
                        f"sPyNNaker runs STDP with {name} = "
                        f"'{spynnaker_stdp[name]}', not '{value}': change the rule's semantics",
                    )
                )
        if rule.weight_dependence == "multiplicative":
            findings.append(
                Finding(
                    "warning",
                    subject,
                    "sPyNNaker's multiplicative rule does not clamp weights to "
                    "[w_min, w_max]; traces above 1 can overshoot them",
                )
            )
        signature = (
            rule.tau_plus,
            rule.tau_minus,
            rule.A_plus,
            rule.A_minus,
            rule.w_min,
            rule.w_max,
            rule.weight_dependence,
            rule.semantics.traces,
        )
        earlier = rules_by_post.setdefault(projection.post, (projection.label, signature))
        if earlier[1] != signature:
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"plastic projections into '{projection.post}' must share one "
                    f"STDP rule on sPyNNaker, but '{earlier[0]}' has different parameters",
                )
            )
    return findings


def on_core_delay_ticks(neurons_per_core: int, ring_buffer_bits: int) -> int:
    """Delay slots of one core: 2^(bits - ceil(log2 neurons) - ceil(log2 receptors))."""
    return 2 ** (ring_buffer_bits - _bits(neurons_per_core) - _bits(len(cells.RECEPTORS)))


def _bits(n: int) -> int:
    return 0 if n <= 1 else math.ceil(math.log2(n))


def _longest_row(connections, per_core: int, slots: int) -> int:
    """Most synapses from one pre neuron onto one post core, on-core and delay-extension rows apart."""
    delayed = connections.delay_ticks > slots
    key = (connections.pre.astype(np.int64) * 2 + delayed) * (
        connections.post.max() // per_core + 1
    ) + connections.post // per_core
    return int(np.unique(key, return_counts=True)[1].max())


def check_structural(network: Network) -> list[Finding]:
    """sPyNNaker's conditions for StructuralMechanismStatic/STDP."""
    findings, by_post, pairs = [], {}, {}
    for label in network.turnovers:
        findings.append(
            Finding(
                "error",
                f"population '{label}'",
                "neuron turnover (apoptosis, neurogenesis) has no "
                "sPyNNaker mechanism: it runs on the SpiNNaker emulation (`run --backend spinnaker`), "
                "not on a board",
            )
        )
    for projection in network.projections.values():
        rule = projection.structural
        if rule is None:
            continue
        subject = f"projection '{projection.label}'"
        if isinstance(rule, CoincidenceWiring):
            findings.append(
                Finding(
                    "error",
                    subject,
                    "coincidence-driven wiring has no sPyNNaker mechanism (its "
                    "StructuralMechanism forms with a random or last-spiking partner and a distance "
                    "rule): it runs on the SpiNNaker emulation (`run --backend spinnaker`), not on "
                    "a board; use Synaptogenesis for hardware",
                )
            )
            continue
        earlier = by_post.setdefault(projection.post, projection)
        if earlier is not projection and (earlier.structural.to_dict(), earlier.plasticity is None) != (
            rule.to_dict(),
            projection.plasticity is None,
        ):
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"structural projections into '{projection.post}' must share one "
                    f"rule on sPyNNaker, but '{earlier.label}' differs",
                )
            )
        elif earlier is not projection and projection.plasticity is None:
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"sPyNNaker 7.4.1 cannot merge two static structural projections "
                    f"into '{projection.post}' (with '{earlier.label}'; its StructuralMechanismStatic "
                    "comparison is unimplemented): use one, or STDP on both",
                )
            )
        pair = pairs.setdefault((projection.pre, projection.post), projection.label)
        if pair != projection.label:
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"sPyNNaker allows one structural projection between "
                    f"'{projection.pre}' and '{projection.post}' ('{pair}' is one)",
                )
            )
        if rule.grid[0] > 1 and rule.grid[1] > 1:
            findings.append(
                Finding(
                    "warning",
                    subject,
                    "on a board, sPyNNaker 7.4.1 computes grid positions with a "
                    "mis-scaled reciprocal (written S0.31, read as u0.32) and its own random "
                    "generator: formation there follows other distances and draws; the emulation "
                    "follows the description, so compare a board run statistically",
                )
            )
    for post, projection in by_post.items():
        incoming = [p for p in network.projections.values() if p.post == post]
        plastic = any(p.plasticity is not None for p in incoming)
        capacity = (
            SYNAPSE_EVENTS_PER_CORE["plastic" if plastic else "static"]
            - REWIRING_COST_SYNAPSES * projection.structural.f_rew
        )
        demand = sum(
            math.ceil(projection.structural.s_max * ASSUMED_RATE_HZ * network.size_of(p.pre)) for p in incoming
        )
        cores = math.ceil(demand / capacity) if capacity > 0 else math.inf
        if cores > 1:
            findings.append(
                Finding(
                    "error",
                    f"population '{post}'",
                    f"its synapses need {cores} synapse cores by "
                    "sPyNNaker's estimate, but structural plasticity runs on one: reduce s_max, f_rew "
                    "or the pre populations",
                )
            )
    return findings


CURRENT_SOURCE_REFUSALS = {
    "ACSource": "sPyNNaker's ACSource computes the angle as ticks times rad/ms (a frequency dt times the given "
    "one unless dt = 1 ms) and its sine in s16.15 (sink): not the description's sine; the SpiNNaker "
    "emulation runs it",
    "NoisyCurrentSource": "sPyNNaker's NoisyCurrentSource draws on chip (mars_kiss64, a new sample every tick "
    "whatever its dt): not the description's samples; the SpiNNaker emulation runs them",
}
"""Why sPyNNaker cannot be handed these sources exactly; DCSource and StepCurrentSource are lowered
(``interchange.pynn_export`` writes them into the script)."""


def check_current_sources(network: Network) -> list[Finding]:
    """Current sources the target cannot be handed exactly, each with its reason."""
    return [
        Finding("error", injection.where, CURRENT_SOURCE_REFUSALS[injection.source.kind])
        for injection in network.injections.values()
        if injection.source.kind in CURRENT_SOURCE_REFUSALS
    ]


def check_target(network: Network, graph, scaling, target: dict) -> list[Finding]:
    """Everything of :func:`check_semantics`, plus the semantics only the emulation computes, the target's
    resources and numeric formats."""
    findings = check_semantics(network) + check_structural(network) + check_current_sources(network)
    if network.semantics.reset == "subtract":
        findings.append(
            Finding(
                "error",
                "semantics",
                "sPyNNaker's LIF neuron models reset V to v_reset: reset 'subtract' needs a neuron model whose "
                "neuron_model_has_spiked subtracts v_thresh - v_reset (the SpiNNaker emulation, `run --backend "
                "spinnaker`, computes it); use reset 'to_v_reset' for a board",
            )
        )
    for projection in network.projections.values():
        if projection.plasticity is not None and projection.plasticity.heterosynaptic > 0:
            findings.append(
                Finding(
                    "error",
                    f"projection '{projection.label}'",
                    "STDP heterosynaptic depression (every synapse onto a neuron losing a constant at each of its "
                    "spikes) has no sPyNNaker weight or timing dependence: it runs on the SpiNNaker emulation "
                    "(`run --backend spinnaker`), not on a board; set heterosynaptic 0 for hardware",
                )
            )
    for population in network.populations.values():
        no_board = cells.build(population.cell).no_board
        if no_board:
            findings.append(Finding("error", f"population '{population.label}'", no_board))
    if network.semantics.threshold == ">":
        for population in network.populations.values():
            if isinstance(population.cell.neuron, cells.QuadraticIntegrate):
                findings.append(
                    Finding(
                        "error",
                        f"population '{population.label}'",
                        f"sPyNNaker's {population.cell_type} spikes at a fixed V >= its threshold: threshold '>' "
                        "runs on the SpiNNaker emulation only; use '>='",
                    )
                )
    per_core = target["neurons_per_core"]
    dt = network.semantics.dt
    if dt != target["timestep_ms"]:
        findings.append(
            Finding(
                "warning",
                "semantics",
                f"dt = {dt:g} ms differs from the board's default timestep "
                f"({target['timestep_ms']:g} ms); sPyNNaker runs it, slower than real time below 1 ms",
            )
        )
    cores = sum(math.ceil(p.size / per_core) for p in network.populations.values())
    cores += sum(math.ceil(s.size / per_core) for s in network.spike_sources.values())
    if cores > target["application_cores"]:
        findings.append(
            Finding(
                "error",
                "network",
                f"needs about {cores} application cores at {per_core} neurons "
                f"per core; {target['name']} has {target['application_cores']}: use a larger board "
                "or fewer neurons",
            )
        )
    slots = on_core_delay_ticks(per_core, target["ring_buffer_bits"])
    report = projection_report(network, graph, scaling)
    for label, projection in network.projections.items():
        subject = f"projection '{label}'"
        delays = network.connections(label).delay_ticks
        if delays.size == 0:
            findings.append(Finding("warning", subject, "has no synapses and is left out of the PyNN graph"))
            continue
        longest = int(delays.max())
        if longest > slots * target["delay_extension_factor"]:
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"delay of {longest} ticks exceeds the "
                    f"{slots * target['delay_extension_factor']} "
                    f"ticks sPyNNaker supports with delay extensions at {per_core} neurons per core: "
                    "shorten it",
                )
            )
        elif longest > slots:
            if projection.plasticity is not None:
                findings.append(
                    Finding(
                        "error",
                        subject,
                        f"STDP with a delay of {longest} ticks needs a delay "
                        f"extension, beyond the {slots}-tick on-core ring: shorten it to {slots}",
                    )
                )
            else:
                findings.append(
                    Finding(
                        "warning",
                        subject,
                        f"delays up to {longest} ticks exceed the {slots}-tick "
                        "on-core ring and use delay-extension cores",
                    )
                )
        row_limit = MAX_ROW_SYNAPSES["plastic" if projection.plasticity is not None else "static"]
        longest_row = _longest_row(network.connections(label), per_core, slots)
        if longest_row > row_limit:
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"a pre neuron has {longest_row} synapses onto one core of "
                    f"'{projection.post}' ({per_core} neurons per core); sPyNNaker rows hold at most "
                    f"{row_limit} {'plastic' if projection.plasticity is not None else 'static'} "
                    "synapses: connect fewer neurons",
                )
            )
        quantized = report[label]
        unit = quantized["weight_unit"]
        if quantized["synapses_quantized_to_zero"]:
            findings.append(
                Finding(
                    "warning",
                    subject,
                    f"{quantized['synapses_quantized_to_zero']} of "
                    f"{quantized['synapses']} weights are below half the resolution of "
                    f"{quantized['resolution']:.3g} {unit} and become 0",
                )
            )
        if quantized["largest_relative_weight_error"] > 0.01:
            findings.append(
                Finding(
                    "warning",
                    subject,
                    "weights lose up to "
                    f"{quantized['largest_relative_weight_error']:.1%} to the 16-bit format "
                    f"(resolution {quantized['resolution']:.3g} {unit})",
                )
            )
        headroom = quantized["saturation_headroom"]
        if headroom is not None and headroom < 1:
            findings.append(
                Finding(
                    "warning",
                    subject,
                    f"if all inputs of one '{projection.post}' neuron arrived in "
                    f"one tick ({quantized['worst_case_input_per_tick']:.4g} {unit}) the ring buffer "
                    f"would saturate at {quantized['ring_buffer_capacity']:.4g} {unit}",
                )
            )
        rule = projection.plasticity
        if rule is not None:
            weight_scale = cells.build(network.populations[projection.post].cell).input.weight_scale
            for name in ("A_plus", "A_minus", "w_min", "w_max"):
                scale = stdp_scale(rule.to_dict(), name, weight_scale)
                if abs(getattr(rule, name)) * scale >= 65536:
                    findings.append(
                        Finding(
                            "error",
                            subject,
                            f"STDP {name} does not fit s16.15 (|x| < 65536"
                            + (f" / {scale:g}, the cell's weight scale)" if scale != 1 else ")"),
                        )
                    )
            findings += stdp_step_findings(subject, rule, quantized)
            for name in ("tau_plus", "tau_minus"):
                if getattr(rule, name) < dt:
                    findings.append(
                        Finding(
                            "warning",
                            subject,
                            f"STDP {name} = {getattr(rule, name):g} ms is shorter "
                            "than one tick: its lookup table has "
                            f"{fp.stdp_lut(getattr(rule, name), dt).size} entries",
                        )
                    )
    return findings


def stdp_step_findings(subject: str, rule, quantized: dict) -> list[Finding]:
    """Where an STDP update is coarse against the stored weights' step (the receptor's resolution):
    sPyNNaker updates a weight in s16.15 and floors it to whole steps when it stores it, so a
    potentiation under a step is lost and a depression takes at least one."""
    step, unit = quantized["resolution"], quantized["weight_unit"]
    findings = []
    for name in ("A_plus", "A_minus"):
        amplitude = getattr(rule, name)
        largest = amplitude if rule.weight_dependence == "additive" else amplitude * (rule.w_max - rule.w_min)
        if amplitude <= 0 or largest / step >= COARSE_STDP_STEPS:
            continue
        findings.append(
            Finding(
                "warning",
                subject,
                f"STDP {name} = {amplitude:g}{'' if rule.weight_dependence != 'additive' else ' ' + unit}: its largest "
                f"update ({largest:.3g} {unit}) is {largest / step:.3g} weight steps of {step:.3g} {unit} (16-bit "
                f"weights, shift {quantized['shift']}), and each weight is floored to whole steps when stored: "
                "a potentiation under a step is lost and a depression takes at least one",
                "quantization",
            )
        )
    return findings
