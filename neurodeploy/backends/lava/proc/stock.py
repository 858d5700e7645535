"""Lava's stock fixed-point models of LIF and of the spike source's ring buffer with ``Recorded`` before
them: the arithmetic is Lava's own, and they write what a run asks of them (:mod:`.recording`). The graph
runs them in place of the stock models (``RECORDING_MODELS``, a run configuration's exceptions)."""

from __future__ import annotations

from lava.proc.io.source import PySendModelFixed
from lava.proc.io.source import RingBuffer as SpikeSource
from lava.proc.lif.models import PyLifModelBitAcc
from lava.proc.lif.process import LIF

from neurodeploy.backends.lava.proc.recording import Recorded


class PyLifRecordedBitAcc(Recorded, PyLifModelBitAcc):
    """Lava's bit-accurate LIF, recording."""


class PySpikeSourceRecordedFixed(Recorded, PySendModelFixed):
    """Lava's fixed-point ring buffer source, recording."""


RECORDING_MODELS = {LIF: PyLifRecordedBitAcc, SpikeSource: PySpikeSourceRecordedFixed}
"""The model each stock Process runs with."""
