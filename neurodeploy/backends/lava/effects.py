"""The Loihi reference's quantization effects (:meth:`.toolchain.LoihiCompilation.quantization_effects`): per
population the integer neurons' arithmetic (24-bit state in units of 1/S mV, truncated 12-bit decays; Lava's
own LIF with one current and a threshold on its 64-unit grid) and its numbers (12-bit decays, levels on the
1/S grid, the bias mantissa); per projection the 8-bit weight mantissas (with an STDP rule's amplitudes against
their step) and PairSTDPSynapses' integers."""

from __future__ import annotations

import math

from neurodeploy.backends.effects import population_effects, projection_effects
from neurodeploy.backends.lava.cells import CellFixed, LIFFixed, span
from neurodeploy.backends.lava.quantize import (
    DECAY_SHIFT,
    STATE_BITS,
    STDP_DECAY_BITS,
    STDP_HISTORY,
    STDP_TRACE_BITS,
    WEIGHT_MANTISSA_MAX,
    ProjectionFixed,
    projection_report,
)
from neurodeploy.description import Network


def quantization_effects(
    network: Network, reference: Network, populations: dict, projections: dict, stock: set[str]
) -> list:
    """The effects of ``reference`` (the quantization-aware network of ``network``), from the lowered numbers:
    ``populations`` and ``projections`` (:mod:`.cells`, :mod:`.quantize`), ``stock`` the populations on Lava's LIF."""
    effects = []
    for label, described in network.populations.items():
        effects += population_effects(
            described,
            reference.populations[label],
            network.semantics,
            population_details(populations[label], label in stock),
            described.synaptic_init,
        )
    report = projection_report(network, projections)
    for label, described in network.projections.items():
        unit = network.populations[described.post].cell.weight_unit
        effects += projection_effects(
            described,
            reference.projections[label],
            projection_details(projections[label], report[label], unit),
            described.weight,
            unit,
        )
    return effects


def span_text(values) -> str:
    """Integers for people: the one value, or the range."""
    low, high = int(values.min()), int(values.max())
    return f"{low}" if low == high else f"{low}..{high}"


def population_details(fixed: CellFixed, stock: bool) -> dict[str, tuple[str, dict]]:
    """Per kind of effect, what the population's integers are, in words and numbers."""
    grid = f"1/S = 2^-{int(math.log2(fixed.scale))} mV"
    numbers = {"units_per_mV": fixed.scale}
    if not isinstance(fixed, LIFFixed):
        return {
            "arithmetic": (f"integers of {grid}, {DECAY_SHIFT}-bit synaptic decays, {STATE_BITS}-bit state", numbers),
            "synaptic_decay": (f"{DECAY_SHIFT}-bit decays", {}),
            "parameters": (f"integers of {grid}", numbers),
            "initial_state": (f"integers of {grid}", numbers),
            "bias": (f"integers of {grid}", numbers),
        }
    arithmetic = f"{STATE_BITS}-bit v in units of {grid}, {DECAY_SHIFT}-bit decays truncated toward zero"
    levels = f"levels on the grid of {grid}"
    if stock:
        arithmetic += "; Lava's LIF: one current (u_exc - u_inh)"
        levels = "Lava's LIF: threshold on its 64-unit grid, reset to v_rest"
    return {
        "arithmetic": (arithmetic, numbers),
        "membrane_decay": (f"{DECAY_SHIFT}-bit dv {span_text(fixed.dv)} (decay 1 - dv/4096)", {"dv": span(fixed.dv)}),
        "synaptic_decay": (
            f"{DECAY_SHIFT}-bit du exc {span_text(fixed.du_exc)}, inh {span_text(fixed.du_inh)} "
            "(decay 1 - (du + 1)/4096)",
            {"du_exc": span(fixed.du_exc), "du_inh": span(fixed.du_inh)},
        ),
        "threshold_reset": (levels, numbers),
        "bias": ("a 13-bit mantissa and 3-bit exponent", {"bias_mant": span(fixed.bias_mant)}),
        "initial_state": (f"on the grid of {grid}", numbers),
    }


def projection_details(fixed: ProjectionFixed, report: dict, unit: str) -> dict[str, tuple[str, dict]]:
    weights = (
        f"{WEIGHT_MANTISSA_MAX.bit_length()}-bit mantissas (weight exponent {fixed.weight_exp}) in steps of "
        f"{fixed.weight_unit:.3g} {unit}: largest relative error {report['largest_relative_weight_error']:.2%}, "
        f"{report['synapses_quantized_to_zero']} of {report['synapses']} synapses rounded to 0"
    )
    stdp = (
        f"traces of 2^-{STDP_TRACE_BITS} saturating at 16 bits, {STDP_DECAY_BITS}-bit decay tables, products "
        f"floored once, {STDP_HISTORY} post spikes remembered"
    )
    numbers = {
        "weight_exp": fixed.weight_exp,
        "weight_step": fixed.weight_unit,
        "largest_relative_weight_error": report["largest_relative_weight_error"],
        "synapses_quantized_to_zero": report["synapses_quantized_to_zero"],
    }
    return {"weights": (weights, numbers), "stdp": (stdp, {})}
