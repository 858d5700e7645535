"""Spike delivery and the deferred STDP update of the emulation: the numpy specification here, the same
computations compiled by numba in :mod:`.compiled` (tested bit for bit against these, as is its fused
tick of a population against the parts' numpy steps), and :func:`kernels`, which picks the compiled
ones when numba is installed.

A population's ring buffers are one uint16 array ``ring[slot, receptor, neuron]`` of ``slots`` (a power
of two) ticks; a synapse of delay ``d`` carrying a spike of tick ``t`` adds its 16-bit weight to slot
``(t + d) & (slots - 1)``, saturating at 0xFFFF as the chip's ring buffers do. Synapses are held by
pre neuron (CSR: row ``i`` is ``indptr[i]:indptr[i + 1]``), so a spike reaches its row in one gather.
"""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import numpy as np

RING_MAX = 0xFFFF
KERNELS_VARIABLE = "NEURODEPLOY_KERNELS"
"""``numpy`` runs the specification even where numba is installed (``compiled``, the default, falls back
to it with a notice)."""


def synapse_rows(indptr: np.ndarray, spiking: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The synapses of the spiking pre neurons' rows, and for each the index of its pre neuron in ``spiking``."""
    starts = indptr[spiking].astype(np.int64)
    counts = indptr[spiking + 1] - starts
    rows = np.repeat(np.arange(spiking.size), counts)
    return rows, np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(rows.size)


def deliver(
    ring: np.ndarray, t: int, receptor: int, synapses: np.ndarray, post: np.ndarray, delay: np.ndarray, units
) -> None:
    """Add the stored weights ``units`` of ``synapses`` (post neuron ``post``, ``delay`` ticks) to the ring
    buffers ``ring`` for a spike in tick ``t``, saturating at 0xFFFF (the weights are unsigned: saturating
    each addition and the sum are one)."""
    slots, _, size = ring.shape
    flat = ring.reshape(-1)
    index = (((t + delay[synapses].astype(np.int64)) & (slots - 1)) * 2 + receptor) * size + post[synapses]
    touched, inverse = np.unique(index, return_inverse=True)
    total = flat[touched].astype(np.int64)
    np.add.at(total, inverse, units[synapses])
    flat[touched] = np.minimum(total, RING_MAX)


def deliver_rows(
    ring: np.ndarray,
    t: int,
    receptor: int,
    spiking: np.ndarray,
    indptr: np.ndarray,
    post: np.ndarray,
    delay: np.ndarray,
    units: np.ndarray,
) -> None:
    """:func:`deliver` for every synapse of the spiking pre neurons' rows."""
    deliver(ring, t, receptor, synapse_rows(indptr, spiking)[1], post, delay, units)


def stdp_update(rule, t, history, last_time, last_trace, rows, delay, post, stored):
    """The rule's deferred update (:meth:`neurodeploy.backends.pair_stdp.PairSTDPRule.update`, the
    specification)."""
    return rule.update(t, history, last_time, last_trace, rows, delay, post, stored)


def fused_tick(neurons, synapses, input_type):
    """No fused tick: the parts step one after the other (:meth:`.kernel._Population.step`, the specification)."""
    return None


NUMPY = SimpleNamespace(
    name="numpy",
    synapse_rows=synapse_rows,
    deliver=deliver,
    deliver_rows=deliver_rows,
    stdp_update=stdp_update,
    fused_tick=fused_tick,
)
_chosen = None


def kernels() -> SimpleNamespace:
    """The compiled kernels where numba is installed (and ``NEURODEPLOY_KERNELS`` is not ``numpy``), else
    this module's, saying once on stderr why."""
    global _chosen
    if _chosen is None:
        if os.environ.get(KERNELS_VARIABLE, "compiled") == "numpy":
            _chosen = NUMPY
        else:
            try:
                from neurodeploy.backends.spinnaker import compiled
            except ImportError as error:
                print(
                    f"neurodeploy: the SpiNNaker emulation runs its numpy kernels (slower): {error}; "
                    "install numba for the compiled ones",
                    file=sys.stderr,
                )
                _chosen = NUMPY
            else:
                _chosen = compiled.KERNELS
    return _chosen
