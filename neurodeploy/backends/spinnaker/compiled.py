"""The kernels of :mod:`.delivery` compiled by numba: the same integer arithmetic, one synapse at a time.

Importing this module fails without numba (:func:`.delivery.kernels` then keeps the numpy ones). The
machine code is cached beside this file, or in numba's user cache where that is not writable, so a run
compiles only once per installation.
"""

from __future__ import annotations

from types import SimpleNamespace

import numba
import numpy as np

from neurodeploy.backends.spinnaker import cells
from neurodeploy.backends.spinnaker.delivery import RING_MAX

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _synapse_rows(indptr, spiking):
    total = 0
    for neuron in spiking:
        total += indptr[neuron + 1] - indptr[neuron]
    rows = np.empty(total, dtype=np.int64)
    synapses = np.empty(total, dtype=np.int64)
    k = 0
    for row in range(spiking.size):
        for synapse in range(indptr[spiking[row]], indptr[spiking[row] + 1]):
            rows[k], synapses[k] = row, synapse
            k += 1
    return rows, synapses


@_jit
def _add(flat, mask, size, receptor, t, synapse, post, delay, units):
    index = (((t + np.int64(delay[synapse])) & mask) * 2 + receptor) * size + np.int64(post[synapse])
    total = np.int64(flat[index]) + np.int64(units[synapse])
    flat[index] = total if total < RING_MAX else RING_MAX


@_jit
def _deliver(flat, mask, size, receptor, t, synapses, post, delay, units):
    for synapse in synapses:
        _add(flat, mask, size, receptor, t, synapse, post, delay, units)


@_jit
def _deliver_rows(flat, mask, size, receptor, t, spiking, indptr, post, delay, units):
    for neuron in spiking:
        for synapse in range(indptr[neuron], indptr[neuron + 1]):
            _add(flat, mask, size, receptor, t, synapse, post, delay, units)


def synapse_rows(indptr, spiking):
    return _synapse_rows(indptr, spiking)


def deliver(ring, t, receptor, synapses, post, delay, units):
    slots, _, size = ring.shape
    _deliver(ring.reshape(-1), slots - 1, size, receptor, t, synapses, post, delay, units)


def deliver_rows(ring, t, receptor, spiking, indptr, post, delay, units):
    slots, _, size = ring.shape
    _deliver_rows(ring.reshape(-1), slots - 1, size, receptor, t, spiking, indptr, post, delay, units)


@_jit
def _wrapped(value, bits, signed):
    mask = (np.int64(1) << bits) - 1
    if not signed:
        return value & mask
    half = np.int64(1) << (bits - 1)
    return ((value + half) & mask) - half


@_jit
def _decayed(trace, table, lag, decay_bits):
    factor = table[lag] if 0 <= lag < table.size else np.int64(0)
    return (trace * factor) >> decay_bits


@_jit
def _product(value, product_bits):
    return value if product_bits == 0 else _wrapped(value, product_bits, True)


@_jit
def _change(amplitude, trace, difference, additive, trace_bits, rate_bits, floor_once, product_bits):
    if additive:
        return _product((amplitude * trace) >> trace_bits, product_bits)
    if floor_once:
        return _product((difference * amplitude * trace) >> (rate_bits + trace_bits), product_bits)
    rated = _product((difference * amplitude) >> rate_bits, product_bits)
    return _product((rated * trace) >> trace_bits, product_bits)


@_jit
def _stdp_weights(
    t,
    times,
    traces,
    count,
    last_time,
    last_trace,
    rows,
    delay,
    post,
    stored,
    decay_plus,
    decay_minus,
    constants,
    flags,
):
    (
        a_plus,
        a_minus,
        w_min,
        w_max,
        step,
        trace_one,
        decay_bits,
        trace_bits,
        rate_bits,
        product_bits,
        weight_bits,
        heterosynaptic,
    ) = constants
    multiplicative, nearest, tick_zero, floor_once, weight_signed = flags
    result = np.empty(rows.size, dtype=np.int64)
    for j in range(rows.size):
        t0 = np.int64(last_time[rows[j]])
        r0 = trace_one if nearest else np.int64(last_trace[rows[j]])
        d = np.int64(delay[j])
        p = post[j]
        begin, end = t0 - d, t - d
        if not tick_zero:
            begin, end = max(begin, 0), max(end, 0)
        remembered = count[p]
        weight = np.int64(stored[j]) * step
        latest = -1
        for k in range(times.shape[1]):  # each remembered post spike in the window, oldest first
            s = np.int64(times[p, k])
            if k < remembered and s <= end:
                latest = k
            if not (k < remembered and begin < s <= end):
                continue
            if not (nearest and (np.int64(times[p, k - 1]) if k else np.int64(0)) > t0):
                r1 = _decayed(r0, decay_plus, s + d - t0, decay_bits)
                if multiplicative:
                    change = _change(a_plus, r1, w_max - weight, False, trace_bits, rate_bits, floor_once, product_bits)
                    weight = weight + change
                else:
                    change = _change(a_plus, r1, 0, True, trace_bits, rate_bits, floor_once, product_bits)
                    weight = min(weight + change, w_max)
            if heterosynaptic:  # every post spike in the window, paired or not
                weight = max(weight - heterosynaptic, w_min)
        if latest >= 0:
            s = np.int64(times[p, latest])
            o = trace_one if nearest else np.int64(traces[p, latest])
            o1 = _decayed(o, decay_minus, t - s - d, decay_bits)
            if multiplicative:
                weight = weight - _change(
                    a_minus, o1, weight - w_min, False, trace_bits, rate_bits, floor_once, product_bits
                )
            else:
                change = _change(a_minus, o1, 0, True, trace_bits, rate_bits, floor_once, product_bits)
                weight = max(weight - change, w_min)
        result[j] = _wrapped(weight // step, weight_bits, weight_signed)
    return result


def stdp_update(rule, t, history, last_time, last_trace, rows, delay, post, stored):
    """:meth:`~neurodeploy.backends.pair_stdp.PairSTDPRule.update`, its weights computed by numba."""
    arithmetic = rule.arithmetic
    constants = (
        rule.a_plus,
        rule.a_minus,
        rule.w_min,
        rule.w_max,
        rule.step,
        rule.trace_one,
        arithmetic.decay_bits,
        arithmetic.trace_bits,
        arithmetic.rate_bits,
        rule.product_bits or 0,
        arithmetic.weight_bits,
        rule.heterosynaptic,
    )
    flags = (
        rule.multiplicative,
        rule.nearest,
        arithmetic.potentiate_tick_zero,
        arithmetic.rate_product == "floor_once",
        arithmetic.weight_signed,
    )
    last_time = np.asarray(last_time, dtype=np.int64)
    weights = _stdp_weights(
        np.int64(t),
        history.times,
        history.traces,
        history.count,
        last_time,
        np.asarray(last_trace, dtype=np.int64),
        np.asarray(rows, dtype=np.int64),
        np.asarray(delay),
        np.asarray(post, dtype=np.int64),
        np.asarray(stored),
        rule.decay_plus,
        rule.decay_minus,
        tuple(np.int64(c) for c in constants),
        flags,
    )
    return weights, rule.trace_after_spike(last_trace, rule.decay_plus, t - last_time)


@_jit
def _wrap32(value):
    return ((value + 0x80000000) & 0xFFFFFFFF) - 0x80000000


@_jit
def _mul_accum(a, b):
    return _wrap32((a * b) >> 15)


@_jit
def _lif_exponential_current(
    slot, shifts, state, init, decay, v, v_rest, i_offset, exp_tc, resistance, refract, t_refract, v_thresh, v_reset,
    strict, subtract,
):  # fmt: skip
    spiking = np.empty(v.size, dtype=np.int64)
    count = 0
    for n in range(v.size):
        for r in range(2):  # the ring-buffer slot joins the state
            inputs = _wrap32(np.int64(slot[r, n]) << shifts[r])
            state[r, n] = _wrap32(state[r, n] + ((inputs * init[r, n]) >> 32))
            slot[r, n] = 0
        if refract[n] <= 0:
            current = _wrap32(state[0, n] - state[1, n] + i_offset[n])
            alpha = _wrap32(_mul_accum(current, resistance[n]) + v_rest[n])
            v[n] = _wrap32(alpha - _mul_accum(exp_tc[n], _wrap32(alpha - v[n])))
        else:
            refract[n] -= 1
        if v[n] > v_thresh[n] if strict else v[n] >= v_thresh[n]:
            v[n] = _wrap32(v[n] - (v_thresh[n] - v_reset[n])) if subtract else v_reset[n]
            refract[n] = t_refract[n]
            spiking[count] = n
            count += 1
        for r in range(2):  # the end of the tick: the state decays
            state[r, n] = (state[r, n] * decay[r, n]) >> 32
    return spiking[:count].copy()


def _lif_exponential_current_tick(slot, shifts, neurons, synapses):
    """One tick of sPyNNaker's IF_curr_exp build (:class:`.cells.NeuronModelLIF`,
    :class:`.cells.SynapseTypeExponential`, :class:`.cells.InputTypeCurrent`) in one pass over the neurons,
    updating their state in place; the neurons that spike."""
    return _lif_exponential_current(
        slot,
        shifts.reshape(-1),
        synapses.state,
        synapses.init,
        synapses.decay,
        neurons.v,
        neurons.v_rest,
        neurons.i_offset,
        neurons.exp_tc,
        neurons.resistance,
        neurons.refract,
        neurons.t_refract,
        neurons.v_thresh,
        neurons.v_reset,
        neurons.strict,
        neurons.subtract,
    )


def fused_tick(neurons, synapses, input_type):
    """A compiled tick for a population of these parts, when one is compiled (else None): the ring-buffer
    slot joining the state, the neurons' step and the state's decay in one pass."""
    parts = (type(neurons), type(synapses), type(input_type))
    if parts != (cells.NeuronModelLIF, cells.SynapseTypeExponential, cells.InputTypeCurrent):
        return None
    # Compiled (or loaded from the cache) now, on no neurons, not in the first tick.
    none = SimpleNamespace(
        **{name: value[..., :0] if isinstance(value, np.ndarray) else value for name, value in vars(neurons).items()}
    )
    state = SimpleNamespace(**{name: getattr(synapses, name)[..., :0] for name in ("state", "init", "decay")})
    _lif_exponential_current_tick(np.zeros((2, 0), dtype=np.uint16), np.zeros((2, 1), dtype=np.int64), none, state)
    return _lif_exponential_current_tick


KERNELS = SimpleNamespace(
    name="numba",
    synapse_rows=synapse_rows,
    deliver=deliver,
    deliver_rows=deliver_rows,
    stdp_update=stdp_update,
    fused_tick=fused_tick,
)
