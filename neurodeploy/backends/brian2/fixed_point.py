"""The integers a fixed-point chip computes, as Brian2 code: pair STDP (:class:`FixedPointSTDP`) and the
LIF membrane (:class:`FixedPointLIF`).

The integer membrane keeps ``v_int`` (V - v_rest in units) and the synaptic state in ``syn_exc`` /
``syn_inh`` as u; arriving weights add ``init_x w`` (u per weight unit), a whole number up to float
error, rounded with the wrap at the start of the next tick's update. ``v`` reads V in mV.

The post population remembers its latest spikes for each fixed-point projection onto it (its own
post trace: Lava keeps one memory per projection, sPyNNaker one per neuron for the one rule it allows)
in ``history`` pairs of variables (``memI_t_k``, ``memI_o_k``; I the projection's index, k = 0 oldest),
updated by the reset, moved right after the threshold, before any synapse runs in the tick.
A pre spike runs the whole deferred update on the ``update`` pathway without delay (the post memory
as of its tick) and the ``deliver`` pathway delivers the weight it stored ``d - 1`` ticks later: with
delays above one tick, each synapse keeps the weights in flight in ``sent_j``, the slot of tick t
being ``t mod D`` (D the longest delay), as a later spike may change ``w`` before they arrive.
Integers are held in float64 (exact below 2^53) and floored by ``whole``: Brian2's own ``floor``
returns int32 here, whose products would wrap.
"""
from __future__ import annotations

import brian2 as b2
import numpy as np

from neurodeploy.backends.brian2.context import (RECEPTOR_VARIABLE, REVERSAL, BuildContext, Membrane, connect_synapses,
                                                constants)
from neurodeploy.backends.brian2.structural import connect_slots, pre_rows, slot_relay
from neurodeploy.description import STDP, AccumulatorLIF, FixedPointSTDP, Network, Population, Projection


def memory_prefix(network: Network, projection: str) -> str:
    return f"mem{list(network.projections).index(projection)}"


def post_memories(network: Network, label: str) -> dict[str, STDP]:
    """The fixed-point rules onto population ``label``, by the prefix of their memory's variables."""
    return {memory_prefix(network, p.label): p.plasticity for p in network.projections.values()
            if p.post == label and p.plasticity is not None and p.plasticity.arithmetic is not None}


def memory_equations(prefix: str, rule: STDP) -> str:
    return "".join(f"{prefix}_t_{k} : 1\n{prefix}_o_{k} : 1\n" for k in range(rule.arithmetic.history)) \
        + f"{prefix}_n : 1\n"


def _signed_wrap(expression: str, bits: int) -> str:
    """Two's complement wrap to ``bits`` (float literals: Brian2 would read large integers as int32)."""
    half = float(2 ** (bits - 1))
    return f"((({expression}) + {half}) % {2 * half} - {half})"


def _overflow(expression: str, arithmetic: FixedPointSTDP) -> str:
    """A trace kept to its signed width: wrapped (two's complement) or saturated."""
    if arithmetic.trace_overflow == "wrap":
        return _signed_wrap(expression, arithmetic.trace_width)
    half = 2 ** (arithmetic.trace_width - 1)
    return f"clip({expression}, {-half}, {half - 1})"


def _stored(arithmetic: FixedPointSTDP) -> str:
    """The weight's whole steps as the store keeps them, wrapped to weight_bits."""
    if arithmetic.weight_signed:
        return _signed_wrap("whole(w_acc / step)", arithmetic.weight_bits)
    return f"(whole(w_acc / step) % {float(2 ** arithmetic.weight_bits)})"


def _wrap32(expression: str) -> str:
    return _signed_wrap(expression, 32)


FRACTION_32 = float(2 ** 32)  # one, in fractions of 2^32 (u0.32 decays and init factors)
WHOLE = b2.Function(np.floor, arg_units=[1], return_unit=1, return_type="float", stateless=True)
TRUNCATED = b2.Function(np.trunc, arg_units=[1], return_unit=1, return_type="float", stateless=True)
NEAREST = b2.Function(np.rint, arg_units=[1], return_unit=1, return_type="float", stateless=True)


def integer_membrane(population: Population) -> Membrane:
    """The membrane on the integers the population's arithmetic declares."""
    if isinstance(population.arithmetic, AccumulatorLIF):
        return accumulator_membrane(population)
    return relative_membrane(population)


def accumulator_membrane(population: Population) -> Membrane:
    """Steps 1 (the tick's summed input ``syn_x``, in weight units, enters ``s_x``), 2 and 4 of
    :class:`AccumulatorLIF`; ``v_bits`` holds V in units of 2^-f mV."""
    arithmetic, cell = population.arithmetic, population.cell
    one, shift = 2 ** arithmetic.fraction_bits, 2 ** arithmetic.conductance_shift
    conductance = bool(REVERSAL[cell])
    transfer = "".join(f"""
        s_{x} = {_wrap32(f"s_{x} + whole(nearest(clip(syn_{x}, 0, limit_{x}) * {one * arithmetic.weight_scale}) * c_{x} / {FRACTION_32})")}
        syn_{x} = 0""" for x in RECEPTOR_VARIABLE.values())
    if conductance:
        current = (f"whole(whole(s_exc / {shift}) * {_wrap32('e_exc - v_bits')} / {one})"
                   f" - whole(-whole(s_inh / {shift}) * {_wrap32('e_inh - v_bits')} / {one})")
    else:
        current = "s_exc - s_inh"

    def initialise(group, population, semantics):
        value = population.value
        bits = lambda x: np.rint(one * np.asarray(x, dtype=np.float64))  # noqa: E731
        group.lsb = 1.0 / one
        group.v_bits, group.threshold_level, group.reset_level = bits(value("v")), bits(value("v_thresh")), bits(
            value("v_reset"))
        group.rest_bits, group.offset_bits = bits(value("v_rest")), bits(value("i_offset"))
        group.resistance_bits = bits(value("tau_m") / value("cm"))
        group.keep_m = bits(semantics.decay(value("tau_m")))
        if conductance:
            group.e_exc, group.e_inh = bits(value("e_rev_E")), bits(value("e_rev_I"))
        for (receptor, x), tau in zip(RECEPTOR_VARIABLE.items(), ("tau_syn_E", "tau_syn_I")):
            setattr(group, f"s_{x}", bits(arithmetic.weight_scale * value(f"{cell.synaptic_state}_{x}")))
            setattr(group, f"d_{x}", np.rint(FRACTION_32 * semantics.decay(value(tau))))
            setattr(group, f"c_{x}", np.rint(FRACTION_32 * population.init_factor(receptor, semantics)))
            setattr(group, f"limit_{x}", arithmetic.input_limit[receptor])
            setattr(group, f"init_{x}", 1.0)  # syn_x sums the tick's weights
    return Membrane(
        "v_bits : 1\nv = v_bits * lsb : 1\ns_exc : 1\ns_inh : 1\n" + constants(
            "lsb", "threshold_level", "reset_level", "rest_bits", "offset_bits", "resistance_bits", "keep_m", "d_exc",
            "d_inh", "c_exc", "c_inh", "limit_exc", "limit_inh", *(("e_exc", "e_inh") if conductance else ())),
        ("v_bits", "threshold_level"), "v_bits = reset_level", transfer + f"""
        integrating = int(refractory_left <= 0)
        current = {_wrap32(f"{current} + offset_bits")}
        a = {_wrap32(f"whole(current * resistance_bits / {one}) + rest_bits")}
        integrated = {_wrap32(f"a - whole(keep_m * {_wrap32('a - v_bits')} / {one})")}
        v_bits = integrated * integrating + v_bits * (1 - integrating)
        refractory_left -= 1 - integrating
        s_exc = whole(s_exc * d_exc / {FRACTION_32})
        s_inh = whole(s_inh * d_inh / {FRACTION_32})
        """, {"whole": WHOLE, "nearest": NEAREST}, initialise, {"v_bits": "rest_bits", "s_exc": "0", "s_inh": "0"})


def relative_membrane(population: Population) -> Membrane:
    """Steps 2 and 4 of :class:`FixedPointLIF` (step 1's wrap first)."""
    arithmetic, cell = population.arithmetic, population.cell
    unity, half = 2 ** arithmetic.decay_bits, 2 ** (arithmetic.state_bits - 1)
    conductance = bool(REVERSAL[cell])
    shift = 2 ** arithmetic.conductance_shift
    if conductance:
        drive = (f"truncated(syn_exc * (e_exc - v_int) / {shift}) + truncated(syn_inh * (e_inh - v_int) / {shift})")
    else:
        drive = "syn_exc - syn_inh"
    combined = arithmetic.currents == "combined"  # one current: syn_exc holds u_exc - u_inh
    wrap = ("\n        syn_exc = syn_exc - syn_inh\n        syn_inh = 0" if combined else "") + "".join(f"""
        syn_{x} = nearest(syn_{x})
        syn_{x} += {2 * half} * (int(syn_{x} <= {-half}) - int(syn_{x} > {half}))""" for x in RECEPTOR_VARIABLE.values())

    def initialise(group, population, semantics):
        value, scale = population.value, 1.0 / arithmetic.v_unit
        keep_m = np.rint(unity * semantics.decay(value("tau_m")))
        gain = (1.0 - keep_m / unity) * value("tau_m") / value("cm")
        group.keep_m = keep_m
        group.keep_exc = np.rint(unity * semantics.decay(value("tau_syn_E")))
        group.keep_inh = np.rint(unity * semantics.decay(value("tau_syn_I")))
        group.v_unit = arithmetic.v_unit
        levels = {"v_int": "v", "threshold_level": "v_thresh", "reset_level": "v_reset"}
        levels.update({"e_exc": "e_rev_E", "e_inh": "e_rev_I"} if conductance else {})
        for variable, name in levels.items():
            setattr(group, variable, np.rint(scale * (value(name) - value("v_rest"))))
        group.bias = np.rint(scale * gain * value("i_offset"))
        u_scale = 2.0 ** arithmetic.conductance_shift if conductance else scale
        for receptor, x in RECEPTOR_VARIABLE.items():
            setattr(group, f"syn_{x}", np.rint(u_scale * gain * value(f"{cell.synaptic_state}_{x}")))
            setattr(group, f"init_{x}", u_scale * gain * population.init_factor(receptor, semantics))
    return Membrane(
        "v_int : 1\nv = v_rest + v_int * v_unit : 1\n" + constants(
            "v_unit", "threshold_level", "reset_level", "bias", "keep_m", "keep_exc", "keep_inh",
            *(("e_exc", "e_inh") if conductance else ())),
        ("v_int", "threshold_level"), "v_int = reset_level", wrap + f"""
        integrating = int(refractory_left <= 0)
        integrated = clip(truncated(v_int * keep_m / {unity}) + {drive} + bias, {1 - half}, {half - 1})
        v_int = integrated * integrating + v_int * (1 - integrating)
        refractory_left -= 1 - integrating
        syn_exc = truncated(syn_exc * keep_exc / {unity})
        syn_inh = truncated(syn_inh * keep_inh / {unity})
        """, {"truncated": TRUNCATED, "nearest": NEAREST}, initialise, {"v_int": "0"})


def decay_function(arithmetic: FixedPointSTDP, tau: float, dt: float) -> b2.Function:
    """``E(k)``: the table's entry for lag k, 0 outside it (negative lags included)."""
    table = arithmetic.decay_table(tau, dt)

    def decay(lag):
        lag = np.asarray(lag, dtype=np.int64)
        return np.where((lag >= 0) & (lag < table.size), table[np.clip(lag, 0, table.size - 1)], 0.0)
    return b2.Function(decay, arg_units=[1], return_unit=1, stateless=True)


def remember_spikes(prefix: str, rule: STDP, dt: float) -> tuple[str, dict]:
    """Reset code remembering each spike (the new post trace, the oldest spike forgotten), and its
    namespace."""
    arithmetic = rule.arithmetic
    last, one, unity = arithmetic.history - 1, 2 ** arithmetic.trace_bits, 2 ** arithmetic.decay_bits
    shift = "\n".join(f"{prefix}_{v}_{k} = {prefix}_{v}_{k + 1}" for k in range(last) for v in "to")
    decay = f"decay_minus_{prefix}"
    code = f"""
    trace = {_overflow(f"whole({prefix}_o_{last} * {decay}(t_in_timesteps - {prefix}_t_{last}) / {unity}) + {one}",
                       arithmetic)}
    {shift}
    {prefix}_t_{last} = t_in_timesteps
    {prefix}_o_{last} = trace
    {prefix}_n = clip({prefix}_n + 1, 0, {arithmetic.history})
    """
    return code, {decay: decay_function(arithmetic, rule.tau_minus, dt), "whole": WHOLE}


def fixed_point_stdp_synapses(projection: Projection, context: BuildContext, source, target, name: str):
    """The update of :class:`FixedPointSTDP` per pre spike; ``w_acc`` holds the weight in units."""
    network, rule = context.network, projection.plasticity
    arithmetic = rule.arithmetic
    memory = memory_prefix(network, projection.label)
    receptor = RECEPTOR_VARIABLE[projection.receptor]
    structural = projection.structural is not None
    one, unity, history = 2 ** arithmetic.trace_bits, 2 ** arithmetic.decay_bits, arithmetic.history
    where = f"projection '{projection.label}' stdp arithmetic"
    multiplicative = rule.weight_dependence == "multiplicative"
    amplitude = arithmetic.rate_units if multiplicative else arithmetic.units
    a_plus, a_minus = (float(amplitude(getattr(rule, name), where, name)) for name in ("A_plus", "A_minus"))
    w_min, w_max = (float(arithmetic.units(getattr(rule, name), where, name)) for name in ("w_min", "w_max"))
    step = float(arithmetic.units(arithmetic.weight_step, where, "weight_step"))
    rate = 2 ** arithmetic.rate_bits

    def rate_product(difference: str, amplitude: str, trace: str) -> str:
        if arithmetic.rate_product == "floor_each":
            return f"whole(whole({difference} * {amplitude} / {rate}) * {trace} / {one})"
        return f"whole({difference} * {amplitude} * {trace} / {rate * one})"
    update = [
        "t_now = t_in_timesteps",
        "begin = t0 - d_ticks" if arithmetic.potentiate_tick_zero else "begin = clip(t0 - d_ticks, 0, inf)",
        "end = t_now - d_ticks",
        "latest = 0 * t0", "s_latest = 0 * t0", "o_latest = 0 * t0",  # per synapse, not scalars
    ]
    for k in range(history):
        remembered = f"int({history - k} <= {memory}_n_post)"
        update += [
            f"taken = {remembered} * int({memory}_t_{k}_post > begin) * int({memory}_t_{k}_post <= end)",
            f"r1 = whole(r0 * decay_plus({memory}_t_{k}_post + d_ticks - t0) / {unity})",
            f"w_acc += taken * {rate_product('(w_max - w_acc)', 'a_plus', 'r1')}" if multiplicative
            else f"w_acc += taken * (clip(w_acc + whole(a_plus * r1 / {one}), -inf, w_max) - w_acc)",
            f"before_end = {remembered} * int({memory}_t_{k}_post <= end)",
            "latest = clip(latest + before_end, 0, 1)",
            f"s_latest += before_end * ({memory}_t_{k}_post - s_latest)",
            f"o_latest += before_end * ({memory}_o_{k}_post - o_latest)",
        ]
    pre_trace = ["r0 = " + _overflow(f"whole(r0 * decay_plus(t_now - t0) / {unity}) + {one}", arithmetic),
                 "t0 = t_now"]
    update += [
        f"o1 = whole(o_latest * decay_minus(t_now - s_latest - d_ticks) / {unity})",
        f"w_acc -= latest * {rate_product('(w_acc - w_min)', 'a_minus', 'o1')}" if multiplicative
        else f"w_acc += latest * (clip(w_acc - whole(a_minus * o1 / {one}), w_min, inf) - w_acc)",
        f"w_acc = {_stored(arithmetic)} * step",
        "w = w_acc * weight_lsb",
        *pre_trace,
    ]
    delay_ticks = 1 if structural else network.connections(projection.label).delay_ticks  # structural: 1 tick
    in_flight = int(np.max(delay_ticks, initial=1))
    delivered = "w"
    if in_flight > 1:
        update += [f"sent_{j} += int(t_now % {in_flight} == {j}) * (w - sent_{j})" for j in range(in_flight)]
        delivered = "(" + " + ".join(f"int((t_in_timesteps - d_ticks + 1) % {in_flight} == {j}) * sent_{j}"
                                     for j in range(in_flight)) + ")"
    dt = network.semantics.dt
    namespace = {"whole": WHOLE, "a_plus": a_plus, "a_minus": a_minus, "w_min": w_min, "w_max": w_max, "step": step,
                 "weight_lsb": arithmetic.weight_lsb, "decay_plus": decay_function(arithmetic, rule.tau_plus, dt),
                 "decay_minus": decay_function(arithmetic, rule.tau_minus, dt)}
    synapses = b2.Synapses(
        slot_relay(projection, context, source, name) if structural else source, target,
        "w : 1\nw_acc : 1\nr0 : 1\nt0 : 1\nd_ticks : 1 (constant)\n"
        + "".join(f"sent_{j} : 1\n" for j in range(in_flight if in_flight > 1 else 0)),
        on_pre={"update": "\n".join(update),
                "deliver": f"syn_{receptor}_post += init_{receptor}_post * {delivered}"},
        clock=context.clock, name=name, namespace=namespace)
    if structural:
        connect_slots(synapses, network, projection)
        pre_rows(projection, context, source, target, "r0 : 1\nt0 : 1", "\n".join(["t_now = t_in_timesteps", *pre_trace]),
                 namespace, name)
    else:
        synapses.w = connect_synapses(synapses, network, projection).weight
    synapses.w_acc = arithmetic.units(synapses.w[:], where, "weight")
    synapses.d_ticks = delay_ticks
    synapses.update.delay = 0 * b2.ms
    synapses.deliver.delay = (np.asarray(delay_ticks) - 1) * dt * b2.ms
    synapses.deliver.order = synapses.update.order + 1  # a spike delivers the weight its update stored
    return synapses
