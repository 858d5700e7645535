"""Operation protocols: for model families that users drive by operations instead of spike times.

A model family offering ``--protocol`` defines ``PROTOCOL``, an :class:`OperationProtocol`. It turns a
JSON list of operations into spike-source times (rejecting operations that break the model's timing),
and reads a run's spikes back into answers per operation.
"""

from __future__ import annotations

import abc

from neurodeploy.results import SpikeRecord


class OperationProtocol(abc.ABC):
    @abc.abstractmethod
    def parse(self, data, parameters: dict) -> list:
        """Checked operations from loaded JSON; a ValidationError names the offending operation."""

    @abc.abstractmethod
    def stimulus(self, operations: list, parameters: dict) -> dict:
        """Spike times per spike-source label (one list per neuron), for ``Network.with_spike_times``."""

    @abc.abstractmethod
    def duration_ms(self, operations: list) -> float:
        """How long to run so that every operation's answer is out."""

    @abc.abstractmethod
    def decode(self, operations: list, spikes: SpikeRecord, parameters: dict) -> dict:
        """The answers document (``answers.json``) read from a run's spikes."""

    @abc.abstractmethod
    def table(self, answers: dict) -> str:
        """The answers as a table for people."""
