"""The SpiNNaker reference's quantization effects (:meth:`.toolchain.Compiled.quantization_effects`): per
population the kernels' s16.15 arithmetic, the ring buffers' caps where the worst input of a tick exceeds them,
and the constants as sPyNNaker encodes them; per projection the 16-bit weights (with an STDP rule's amplitudes
against their step) and the rule's integers."""

from __future__ import annotations

from dataclasses import replace

from neurodeploy.backends.effects import population_effects, population_revert, projection_effects
from neurodeploy.backends.spinnaker import cells
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.graph import host_weights, weight_factor
from neurodeploy.compilation import QuantizationEffect
from neurodeploy.description import Accumulator, Network

UNCAPPED = fp.INT32_MAX / fp.ONE  # the largest s16.15 input: a ring buffer that never caps below the sum's range


def quantization_effects(network: Network, reference: Network, quantization: dict, profile: str) -> list:
    """The effects of ``reference`` (the quantization-aware network of ``network``), with the compile's
    per-projection ``quantization`` report and the sPyNNaker encoding ``profile``."""
    semantics = network.semantics
    details = {
        "arithmetic": (
            "s16.15 accumulators (V in 2^-15 mV), floored products, u0.32 synaptic decays and init",
            {"fraction_bits": fp.FRACTION_BITS},
        ),
        "membrane_decay": (f"exp_TC and R = tau_m/cm in s16.15, computed as sPyNNaker {profile} does", {}),
        "synaptic_decay": (f"u0.32 decays and init, computed as sPyNNaker {profile} does", {}),
        "threshold_reset": ("levels in s16.15", {}),
        "bias": ("i_offset in s16.15", {}),
        "initial_state": ("initial values in s16.15", {}),
        "refractory": ("T_refract: the ceiling of tau_refrac / dt divided in s16.15 on chip", {}),
        "parameters": ("in s16.15", {}),
    }
    effects = []
    for label, described in network.populations.items():
        effects += population_effects(
            described, reference.populations[label], semantics, details, float_synaptic_init(network, label)
        )
        effects += ring_buffer_effects(label, quantization)
    for label, described in network.projections.items():
        item = quantization.get(label)
        if item is None:  # not handed to sPyNNaker: the reference holds it as described
            continue
        unit = item["weight_unit"]
        weights = (
            f"16-bit weights in steps of {item['resolution']:.3g} {unit} (ring-buffer shift {item['shift']}): "
            f"largest relative error {item['largest_relative_weight_error']:.2%}, "
            f"{item['synapses_quantized_to_zero']} of {item['synapses']} synapses rounded to 0"
        )
        stdp = (
            f"int16 traces of 2^-{fp.STDP_FRACTION_BITS} with floored lookup-table decays, products floored, "
            f"{fp.POST_EVENT_HISTORY - 1} post spikes remembered"
        )
        numbers = {
            name: item[name]
            for name in ("resolution", "shift", "largest_relative_weight_error", "synapses_quantized_to_zero")
        }
        float_weight = described.weight if weight_factor(network, described) is None else host_weights(network, label)
        effects += projection_effects(
            described,
            reference.projections[label],
            {"weights": (weights, numbers), "stdp": (stdp, {})},
            float_weight,
            unit,
        )
    return effects


def float_synaptic_init(network: Network, label: str) -> dict | None:
    """What the population's arriving weights are scaled by in float, in the frame of the weights the host
    writes (times the weight factor of :func:`.graph.weight_factor`): None where the host writes them as
    described."""
    population = network.populations[label]
    build = cells.build(population.cell)
    factors = {r: build.weight_factor(population, r, network.semantics) for r in population.cell.receptors}
    if all(factor is None for factor in factors.values()):
        return None
    return {
        receptor: population.init_factor(receptor, network.semantics) / (1.0 if factor is None else factor)
        for receptor, factor in factors.items()
    }


def ring_buffer_effects(label: str, quantization: dict) -> list[QuantizationEffect]:
    """Per receptor of population ``label`` whose worst input of a tick exceeds its ring buffer's capacity,
    the cap (the reference's Accumulator input_limit) as an effect of the projections feeding it."""
    effects = []
    for receptor in cells.RECEPTORS:
        feeding = {
            projection: item
            for projection, item in quantization.items()
            if item["post"] == label and item["receptor"] == receptor
        }
        exceeded = {
            projection: item
            for projection, item in feeding.items()
            if item["saturation_headroom"] is not None and item["saturation_headroom"] < 1
        }
        if not exceeded:
            continue
        item = next(iter(exceeded.values()))
        unit = item["weight_unit"]
        detail = (
            f"capacity {item['ring_buffer_capacity']:.4g} {unit} per tick (65535 steps of {item['resolution']:.3g} "
            f"{unit}) vs a worst case of {max(i['worst_case_input_per_tick'] for i in exceeded.values()):.4g} {unit} "
            f"in one tick from {', '.join(feeding)}"
        )
        numbers = {
            "capacity": item["ring_buffer_capacity"],
            "worst_case_input_per_tick": max(i["worst_case_input_per_tick"] for i in exceeded.values()),
            "projections": list(feeding),
        }
        effects.append(
            QuantizationEffect(
                "ring_buffer",
                f"the {receptor} input of population {label}",
                detail,
                _uncapped(label, receptor),
                numbers,
            )
        )
    return effects


def _uncapped(label: str, receptor: str):
    def change(population) -> dict:
        arithmetic = population.arithmetic
        if not isinstance(arithmetic, Accumulator):  # its arithmetic reverted before: nothing caps
            return {}
        return {"arithmetic": replace(arithmetic, input_limit={**arithmetic.input_limit, receptor: UNCAPPED})}

    return population_revert(label, change)
