"""Feed-forward LIF population driven by Poisson spike sources: the equivalence benchmark network.

``n_neurons`` cells of ``cell_type`` (IF_curr_exp by default: PyNN defaults, tau_m 20 ms, cm 1 nF, tau_syn
5 ms, v_thresh -50 mV; any registered cell type, with its defaults and ``i_offset``) receive ``n_inputs``
independent Poisson sources at ``rate_hz`` through fixed-probability excitatory
connections (``p_connect``) with weights drawn uniformly from ``[w_low, w_high]`` nA and delays
uniformly from 1..``max_delay_ms``. Optionally ``recurrent_p`` adds random excitatory recurrence
(weight ``recurrent_weight``). Every random draw comes from ``seed``.

This is the network of target-semantics.md's equivalence table (200 neurons, 100 sources at 10 Hz,
5 s): what the SpiNNaker and Lava targets must match the reference on.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np

from neurodeploy.description import DelayTicks, FixedProbability, Network, Semantics, resources
from neurodeploy.description.values import Range
from neurodeploy.errors import ValidationError

NAME = "feedforward-poisson"


def poisson_spike_times(n: int, rate_hz: float, duration_ms: float, dt_ms: float, rng: np.random.Generator):
    """Bernoulli-per-tick Poisson trains on the dt grid (at most one spike per tick): neuron after neuron, each
    its ticks' draws, taken for blocks of neurons at once (the same draws), so that the draws held at once
    are bounded; one array of times per neuron."""
    where = f"model '{NAME}'"
    ticks = Semantics(dt=dt_ms).duration_ticks(duration_ms, where, "duration_ms")
    chance = rate_hz * dt_ms / 1000.0
    block = max(1, DRAWS_PER_BLOCK // ticks)
    # A block's draws, then per neuron the array of its times (object, pointer, floats).
    resources.refuse_above_limit(
        9.0 * min(n, block) * ticks + n * (200.0 + 16.0 * ticks * chance),
        where,
        None,
        f"Poisson trains of {resources.count_text(n)} inputs over {resources.count_text(ticks)} ticks",
    )
    trains = []
    for first in range(0, n, block):
        count = min(block, n - first)
        neurons, spike_ticks = np.nonzero(rng.random((count, ticks)) < chance)
        times = np.round(spike_ticks * dt_ms, 9)
        bounds = np.searchsorted(neurons, np.arange(count + 1)).tolist()
        trains += [times[start:stop] for start, stop in zip(bounds, bounds[1:])]
    return trains


DRAWS_PER_BLOCK = 1 << 20


def build(
    n_neurons: Annotated[int, Range(at_least=1)] = 200,
    n_inputs: Annotated[int, Range(at_least=1)] = 100,
    rate_hz: Annotated[float, Range(above=0)] = 10.0,
    duration_ms: Annotated[float, Range(above=0)] = 5000.0,
    p_connect: Annotated[float, Range(at_least=0, at_most=1)] = 0.2,
    w_low: Annotated[float, Range(at_least=0)] = 0.5,
    w_high: Annotated[float, Range(at_least=0)] = 1.5,
    max_delay_ms: Annotated[float, Range(above=0)] = 4.0,
    recurrent_p: Annotated[float, Range(at_least=0, at_most=1)] = 0.0,
    recurrent_weight: Annotated[float, Range(at_least=0)] = 0.2,
    dt_ms: Annotated[float, Range(above=0)] = 1.0,
    cell_type: str = "IF_curr_exp",
    i_offset: float = 0.0,
    seed: Annotated[int, Range(at_least=0)] = 1,
) -> Network:
    where = f"model '{NAME}'"
    if not 0 <= w_low <= w_high:
        raise ValidationError(where, "w_high", f"needs 0 <= w_low <= w_high, got {w_low} and {w_high}")
    if rate_hz * dt_ms / 1000.0 > 1:
        raise ValidationError(where, "rate_hz", f"{rate_hz} Hz needs more than one spike per tick of {dt_ms} ms")
    max_delay_ticks = int(round(max_delay_ms / dt_ms))
    if max_delay_ticks < 1:
        raise ValidationError(
            where, "max_delay_ms", f"{max_delay_ms} ms rounds to no tick of {dt_ms} ms; a delay is at least one tick"
        )
    rng = np.random.default_rng(seed)
    network = Network(NAME, Semantics(dt=dt_ms), seed=seed, duration=duration_ms)
    network.spike_source("inputs", poisson_spike_times(n_inputs, rate_hz, duration_ms, dt_ms, rng))
    network.population("neurons", n_neurons, cell_type, {"i_offset": i_offset})
    connector = FixedProbability(p_connect, seed=int(rng.integers(2**31)))
    count = len(connector.connect(n_inputs, n_neurons, rng)[0])
    weight = rng.uniform(w_low, w_high, count)
    delay_ticks = rng.integers(1, max_delay_ticks + 1, count).astype(np.int32)
    for drawn in (weight, delay_ticks):  # read-only: held by the projection as they are, not copied
        drawn.flags.writeable = False
    network.project(
        "inputs",
        "neurons",
        connector,
        weight=weight,
        delay=DelayTicks(delay_ticks, dt_ms),
        label="inputs->neurons",
    )
    if recurrent_p > 0:
        network.project(
            "neurons",
            "neurons",
            FixedProbability(recurrent_p, allow_self_connections=False, seed=int(rng.integers(2**31))),
            weight=recurrent_weight,
            delay=dt_ms,
            label="neurons->neurons",
        )
    network.record("neurons")
    network.record("inputs")
    return network
