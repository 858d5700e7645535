"""The models the graph runs Lava's stock Processes with (``STOCK_MODELS``, a run configuration's
exceptions): Lava's own fixed-point models, their arithmetic untouched,

* for LIF and the spike source's ring buffer with ``Recorded`` before them: they write what a run asks of
  them (:mod:`.recording`);
* for DelaySparse with its matrix of weights by delay built once, not every tick as Lava's model does (a
  stack of one sparse matrix per delay: most of a feed-forward run's time), and again after its Vars are set.
"""

from __future__ import annotations

from lava.proc.io.source import PySendModelFixed
from lava.proc.io.source import RingBuffer as SpikeSource
from lava.proc.lif.models import PyLifModelBitAcc
from lava.proc.lif.process import LIF
from lava.proc.sparse.models import PyDelaySparseModelBitAcc
from lava.proc.sparse.process import DelaySparse

from neurodeploy.backends.lava.proc.recording import Recorded


class PyLifRecordedBitAcc(Recorded, PyLifModelBitAcc):
    """Lava's bit-accurate LIF, recording."""


class PySpikeSourceRecordedFixed(Recorded, PySendModelFixed):
    """Lava's fixed-point ring buffer source, recording."""


class PyDelaySparseOnceBitAcc(PyDelaySparseModelBitAcc):
    """Lava's bit-accurate DelaySparse, its matrix of weights by delay built once."""

    def __init__(self, proc_params):
        super().__init__(proc_params)
        self._by_delay = None

    def get_delay_wgts_mat(self, weights, delays, max_delay):
        if self._by_delay is None:
            self._by_delay = super().get_delay_wgts_mat(weights, delays, max_delay)
        return self._by_delay

    def on_var_update(self):
        self._by_delay = None
        super().on_var_update()


STOCK_MODELS = {LIF: PyLifRecordedBitAcc, SpikeSource: PySpikeSourceRecordedFixed, DelaySparse: PyDelaySparseOnceBitAcc}
"""The model each stock Process runs with."""
