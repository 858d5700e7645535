"""The integer pair rule of :class:`FixedPointSTDP`, deferred to pre spikes, for any chip's formats.

One core that the SpiNNaker emulation and Lava's ``PairSTDPSynapses`` both run, so a chip differs from
another only in what it declares: its ``FixedPointSTDP`` (table, trace and weight formats, rate
product, history length, tick-zero rule), its decay tables and amplitudes (its host's encodings), and
the width its products wrap to. The Brian2 fixed-point reference states the same rule independently
and checks this one.

Without ``potentiate_tick_zero`` the rule's times are unsigned, as sPyNNaker's: the window
``(t0 - d, t - d]`` is clamped at tick 0 at both ends, so a post spike in tick 0 never potentiates
and, in a pre spike's first ``d`` ticks, is the one it depresses against (a lag below zero: by 0).

Synapses are taken as arrays (a batch of the spiking pre neurons' rows, however they are stored), so
the core serves slot tables (structural projections) and fixed connections alike.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.description import FixedPointSTDP


def decayed(trace, table: np.ndarray, lag, decay_bits: int) -> np.ndarray:
    """``floor(trace E(lag))``: the table's entry for the lag (0 outside it, negative lags included)."""
    lag = np.asarray(lag, dtype=np.int64)
    factor = np.where((lag >= 0) & (lag < table.size), table[np.clip(lag, 0, table.size - 1)], 0)
    return (np.asarray(trace, dtype=np.int64) * factor) >> decay_bits


def wrapped(values, bits: int, signed: bool) -> np.ndarray:
    """Two's complement (or unsigned) wrap to ``bits``."""
    values = np.asarray(values, dtype=np.int64)
    if not signed:
        return values & ((1 << bits) - 1)
    half = 1 << (bits - 1)
    return ((values + half) & ((1 << bits) - 1)) - half


@dataclass(eq=False)
class PairSTDPRule:
    """A pair rule on a chip's integers: its ``FixedPointSTDP`` formats, its decay tables ``2^c E(k)``,
    and amplitudes and bounds in whole units of ``weight_lsb`` (multiplicative amplitudes in
    2^-rate_bits). ``product_bits``: the width each product wraps to (sPyNNaker's s16.15 multiplies
    in 32-bit registers), None where products are exact. ``nearest``: the pairs of sPyNNaker's
    nearest pair rule (traces of 1, a post spike potentiating only as the first after the pre spike)."""

    arithmetic: FixedPointSTDP
    decay_plus: np.ndarray
    decay_minus: np.ndarray
    a_plus: int
    a_minus: int
    w_min: int
    w_max: int
    multiplicative: bool
    product_bits: int | None = None
    nearest: bool = False  # sPyNNaker's nearest pairs (traces "nearest_spynnaker"), else all-to-all
    heterosynaptic: int = 0  # whole units each post spike takes from every synapse (additive only)

    def __post_init__(self):
        arithmetic = self.arithmetic
        self.decay_plus = np.asarray(self.decay_plus, dtype=np.int64)
        self.decay_minus = np.asarray(self.decay_minus, dtype=np.int64)
        self.step = int(round(arithmetic.weight_step / arithmetic.weight_lsb))
        self.trace_one = 1 << arithmetic.trace_bits

    def history(self, neurons: int) -> "PostHistory":
        """An empty memory of post spikes for ``neurons`` post neurons."""
        length = self.arithmetic.history
        return PostHistory(
            self,
            np.zeros((neurons, length), dtype=np.int64),
            np.zeros((neurons, length), dtype=np.int64),
            np.zeros(neurons, dtype=np.int64),
        )

    def trace_after_spike(self, trace, table: np.ndarray, lag) -> np.ndarray:
        """``ovf(floor(trace E(lag)) + 2^b)``: a trace jumping at its own neuron's spike."""
        jumped = decayed(trace, table, lag, self.arithmetic.decay_bits) + self.trace_one
        half = 1 << (self.arithmetic.trace_width - 1)
        if self.arithmetic.trace_overflow == "wrap":
            return wrapped(jumped, self.arithmetic.trace_width, signed=True)
        return np.clip(jumped, -half, half - 1)

    def _product(self, values) -> np.ndarray:
        return values if self.product_bits is None else wrapped(values, self.product_bits, signed=True)

    def _change(self, amplitude: int, trace: np.ndarray, difference: np.ndarray | None) -> np.ndarray:
        """``floor(A r / 2^b)`` (additive), or ``P(difference, A, r)`` (multiplicative)."""
        b = self.arithmetic.trace_bits
        if difference is None:
            return self._product((amplitude * trace) >> b)
        if self.arithmetic.rate_product == "floor_once":
            return self._product((difference * amplitude * trace) >> (self.arithmetic.rate_bits + b))
        return self._product((self._product((difference * amplitude) >> self.arithmetic.rate_bits) * trace) >> b)

    def update(
        self,
        t: int,
        history: "PostHistory",
        last_time: np.ndarray,
        last_trace: np.ndarray,
        rows: np.ndarray,
        delay: np.ndarray,
        post: np.ndarray,
        stored: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The deferred update of the synapses of the pre neurons spiking in tick ``t`` (steps 1 to 4 of
        :class:`FixedPointSTDP`). ``last_time``, ``last_trace``: each spiking pre neuron's previous
        spike and trace (0 and 0 before the first); per synapse, ``rows`` (its pre neuron's index in
        those), ``delay`` (ticks), ``post`` (its post neuron in ``history``) and ``stored`` (its weight
        in steps). Each post spike in the window takes ``heterosynaptic`` after its potentiation, paired or
        not. Returns the synapses' new stored weights and the pre neurons' new traces."""
        arithmetic = self.arithmetic
        t0, r0 = np.asarray(last_time, dtype=np.int64)[rows], np.asarray(last_trace, dtype=np.int64)[rows]
        delay = np.asarray(delay, dtype=np.int64)
        begin, end = t0 - delay, t - delay
        if not arithmetic.potentiate_tick_zero:
            begin, end = np.maximum(begin, 0), np.maximum(end, 0)
        times, traces = history.times[post].astype(np.int64), history.traces[post].astype(np.int64)
        remembered = np.arange(times.shape[1])[None, :] < history.count[post][:, None]
        weight = np.asarray(stored, dtype=np.int64) * self.step
        if self.nearest:  # every trace is 1 at its spike
            r0, traces = np.full_like(r0, self.trace_one), np.full_like(traces, self.trace_one)
        for k in range(times.shape[1]):  # each remembered post spike in the window, oldest first
            in_window = remembered[:, k] & (times[:, k] > begin) & (times[:, k] <= end)
            taken = in_window
            if self.nearest:  # only the first post spike after the pre spike: the one before is not later
                taken = in_window & ((times[:, k - 1] if k else 0) <= t0)
            if not in_window.any():
                continue
            r1 = decayed(r0, self.decay_plus, times[:, k] + delay - t0, arithmetic.decay_bits)
            if self.multiplicative:
                potentiated = weight + self._change(self.a_plus, r1, self.w_max - weight)
            else:
                potentiated = np.minimum(weight + self._change(self.a_plus, r1, None), self.w_max)
            weight = np.where(taken, potentiated, weight)
            if self.heterosynaptic:
                weight = np.where(in_window, np.maximum(weight - self.heterosynaptic, self.w_min), weight)
        before = remembered & (times <= end[:, None])
        latest = times.shape[1] - 1 - np.argmax(before[:, ::-1], axis=1)
        chosen = np.arange(len(weight))
        o1 = decayed(traces[chosen, latest], self.decay_minus, t - times[chosen, latest] - delay, arithmetic.decay_bits)
        if self.multiplicative:
            depressed = weight - self._change(self.a_minus, o1, weight - self.w_min)
        else:
            depressed = np.maximum(weight - self._change(self.a_minus, o1, None), self.w_min)
        weight = np.where(before.any(axis=1), depressed, weight)
        stored = wrapped(np.floor_divide(weight, self.step), arithmetic.weight_bits, arithmetic.weight_signed)
        return stored, self.trace_after_spike(last_trace, self.decay_plus, t - np.asarray(last_time, dtype=np.int64))


@dataclass(eq=False)
class PostHistory:
    """Each post neuron's latest spikes, oldest first: ``times`` and ``traces`` (neurons x history) and
    how many are remembered (``count``). The arrays may be a caller's own (a Lava process's Vars)."""

    rule: PairSTDPRule
    times: np.ndarray
    traces: np.ndarray
    count: np.ndarray

    def add(self, t: int, neurons: np.ndarray):
        """Remember a spike of ``neurons`` in tick ``t``, with its trace; a full memory forgets its oldest."""
        length = self.times.shape[1]
        count = self.count[neurons].astype(np.int64)
        last = np.maximum(count - 1, 0)
        previous = np.where(count > 0, self.traces[neurons, last], 0)
        trace = self.rule.trace_after_spike(previous, self.rule.decay_minus, t - self.times[neurons, last])
        full = count == length
        shifted = neurons[full]
        self.times[shifted, :-1] = self.times[shifted, 1:]
        self.traces[shifted, :-1] = self.traces[shifted, 1:]
        index = np.where(full, length - 1, count)
        self.times[neurons, index] = t
        self.traces[neurons, index] = trace
        self.count[neurons] = np.minimum(count + 1, length)
