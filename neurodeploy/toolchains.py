"""Target toolchains: how a kind of target (``kind:`` in targets/*.yaml) compiles, maps and executes a
network. Found through the ``neurodeploy.toolchains`` entry-point group, loaded when asked for."""
from __future__ import annotations

import abc
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import ClassVar

from neurodeploy.backends import Progress
from neurodeploy.description import Network
from neurodeploy.description.resources import MemoryEstimate
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.runs.compare import Thresholds
from neurodeploy.runs.rundir import RunResult

ENTRY_POINT_GROUP = "neurodeploy.toolchains"


@dataclass(frozen=True)
class Finding:
    """One design-rule finding: ``error`` (cannot run) or ``warning`` (runs, with the stated loss)."""

    level: str
    subject: str
    message: str

    def __str__(self):
        return f"{self.level}: {self.subject}: {self.message}"

    def to_dict(self) -> dict:
        return vars(self)


class Compilation(abc.ABC):
    """A network compiled for one target: design-rule findings and reports."""

    @property
    @abc.abstractmethod
    def errors(self) -> list:
        """Findings that stop the network from running on the target."""

    @abc.abstractmethod
    def report(self) -> dict:
        """Everything the compile found, for compile.json."""

    @abc.abstractmethod
    def text(self) -> str:
        """The same for people."""

    @abc.abstractmethod
    def reference_network(self) -> Network:
        """The network with the numbers the target really uses (quantization-aware reference)."""


class Toolchain(abc.ABC):
    kind: ClassVar[str]
    backend: ClassVar[str]
    """The backend that executes this kind of target without hardware."""
    thresholds: ClassVar[Thresholds]
    """Default agreement a deploy demands against the quantization-aware reference."""

    @abc.abstractmethod
    def compile(self, network: Network, target: dict, out: Path, duration_ms: float, map_resources: bool = True
                ) -> Compilation:
        """Lower, check, quantize, write the target's artefacts into ``out``, and (unless the design rules
        fail or ``map_resources`` is False) map it with the target's own tools."""

    def estimate_memory(self, network: Network, duration_ms: float) -> MemoryEstimate:
        """The peak memory ``compile`` would need (mapping with the target's tools runs in a child
        process capped by the same limit), from the description alone. A toolchain that does not
        estimate is bounded only by the process's memory cap."""
        return MemoryEstimate(f"{self.kind} compile step")

    @abc.abstractmethod
    def execute(self, compilation: Compilation, out: Path, duration_ms: float, board: Path | None = None,
                progress: Progress | None = None) -> RunResult:
        """Run on the board ``board`` configures, or on the software emulation."""


def toolchain(kind: str) -> Toolchain:
    entries = {entry.name: entry for entry in entry_points(group=ENTRY_POINT_GROUP)}
    if kind not in entries:
        raise ValidationError("target", "kind", f"no toolchain for targets of kind '{kind}' "
                              f"(installed: {', '.join(sorted(entries)) or 'none'})")
    try:
        return entries[kind].load()()
    except ImportError as error:
        raise BackendError(f"toolchain '{kind}' cannot be loaded: {error}") from error
