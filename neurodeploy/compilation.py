"""What compiling for a target means, shared by the toolchains that implement it and the pipeline that
drives them: the Toolchain interface, the Compilation it returns, its design-rule Findings, the
QuantizationEffects its reference is made of, and the Thresholds of agreement a deploy demands. Interfaces
and values only: found and loaded by ``neurodeploy.toolchains``, implemented in
``neurodeploy/backends/*/toolchain.py``."""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, ClassVar

from neurodeploy.description import Network, values
from neurodeploy.description.resources import MemoryEstimate
from neurodeploy.errors import ValidationError
from neurodeploy.results import Progress, RunResult


@dataclass(frozen=True)
class Finding:
    """One finding of a compile: ``error`` (cannot run) or ``warning`` (runs, with the stated loss), and
    where it comes from: the target's design rules, the quantization of its numbers, or the target's
    own tools (``sPyNNaker log``)."""

    level: str
    subject: str
    message: str
    origin: str = "design rules"

    def __str__(self):
        return f"{self.level}: {self.subject}: {self.message}"

    def to_dict(self) -> dict:
        return vars(self)


COARSE_STDP_STEPS = 10
"""An STDP update of fewer weight steps than this is coarse on a chip that floors it to whole steps: the
floor changes each update by up to a tenth or more of what the rule asks."""


@dataclass(frozen=True)
class Thresholds:
    """Pass criteria; the defaults are the SpiNNaker feed-forward bounds of target-semantics.md."""

    min_same_tick: float = 0.98
    min_within_one: float = 0.995
    max_rate_error: float = 0.015

    def __post_init__(self):
        for name in ("min_same_tick", "min_within_one", "max_rate_error"):
            number = values.number(getattr(self, name), None, "thresholds", name)
            values.check_range(number, "thresholds", name, "", at_least=0)
            if name != "max_rate_error" and number > 1:
                raise ValidationError("thresholds", name, f"is a fraction in [0, 1], got {number:g}")


EFFECT_KINDS = {
    "arithmetic": ("arithmetic", "{where} computes in float64"),
    "ring_buffer": ("ring-buffer saturation", "{where} has no ring-buffer cap"),
    "stdp": ("STDP arithmetic", "{where} runs its STDP rule in float64"),
    "membrane_decay": ("membrane decay", "{where} keeps its float membrane decay"),
    "synaptic_decay": ("synaptic decays", "{where} keeps its float synaptic decays"),
    "threshold_reset": ("threshold/reset encoding", "{where} keeps its float threshold, reset and rest levels"),
    "bias": ("bias encoding", "{where} keeps its float i_offset"),
    "initial_state": ("initial-state encoding", "{where} starts from its float initial values"),
    "refractory": ("refractory rounding", "{where} keeps its float refractory period"),
    "parameters": ("parameter encoding", "{where} keeps its other float parameters"),
    "weights": ("weight rounding", "{where} keeps float weights"),
}
"""Each kind of :class:`QuantizationEffect`: its name, and what putting it back to float means (``where``
filled in). Effects that take an arithmetic away come first: reverting in this order, each later effect
finds the arithmetic it must fit (or none)."""


@dataclass(frozen=True, eq=False)
class QuantizationEffect:
    """One way a target's quantization-aware reference departs from the float network, which can be put
    back to float alone: ``revert`` takes a network holding the effect (the reference, with other effects
    perhaps reverted before it, in the order of :data:`EFFECT_KINDS`) and returns it with this one in float.
    ``detail`` says it in numbers for people (``numbers`` the same as data): explain re-runs the reference
    with effects reverted to find which of them account for a departure."""

    kind: str
    where: str
    detail: str
    revert: Callable[[Network], Network]
    numbers: dict

    def __post_init__(self):
        if self.kind not in EFFECT_KINDS:
            raise ValueError(f"unknown quantization effect kind '{self.kind}'")

    @property
    def name(self) -> str:
        """What it is and where: ``weight rounding of projection IN->E``."""
        return f"{EFFECT_KINDS[self.kind][0]} of {self.where}"

    @property
    def reverted(self) -> str:
        """What reverting it means: ``projection IN->E keeps float weights``."""
        return EFFECT_KINDS[self.kind][1].format(where=self.where)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "where": self.where,
            "name": self.name,
            "detail": self.detail,
            "numbers": self.numbers,
        }


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

    def quantization_effects(self) -> list[QuantizationEffect]:
        """The reference's departures from the described network, each revertible alone (reverted together
        in the order of :data:`EFFECT_KINDS`, all of them give the described network back); none where the
        toolchain states none."""
        return []


class PendingMapping(abc.ABC):
    """A compilation's mapping by the target's own tools, running beside the caller (in a child process), so
    that the caller can execute and run references meanwhile."""

    @abc.abstractmethod
    def done(self) -> bool:
        """Whether the tools have ended (well or not): :meth:`finish` would not wait."""

    @abc.abstractmethod
    def finish(self) -> None:
        """Wait for the tools and complete the compilation with what they found (its mapping, their
        findings); raise what made them fail. Stops them if the wait is interrupted."""

    @abc.abstractmethod
    def stop(self) -> None:
        """End the tools if they still run, and wait for them: the caller gave up on the mapping."""


class Toolchain(abc.ABC):
    kind: ClassVar[str]
    backend: ClassVar[str]
    """The backend that executes this kind of target without hardware."""
    thresholds: ClassVar[Thresholds]
    """Default agreement a deploy demands against the quantization-aware reference."""

    @abc.abstractmethod
    def compile(
        self, network: Network, target: dict, out: Path, duration_ms: float, map_resources: bool = True
    ) -> Compilation:
        """Lower, check, quantize, write the target's artefacts into ``out``, and (unless the design rules
        fail or ``map_resources`` is False) map it with the target's own tools."""

    def start_mapping(self, compilation: Compilation, out: Path, duration_ms: float) -> PendingMapping | None:
        """Start mapping ``compilation`` (compiled into ``out`` without mapping, free of design-rule errors) with
        the target's own tools, beside the caller; None where the toolchain maps nothing. ``compile`` with
        ``map_resources`` is ``compile`` without, then this, finished."""
        return None

    def estimate_memory(self, network: Network, duration_ms: float) -> MemoryEstimate:
        """The peak memory ``compile`` would need (mapping with the target's tools runs in a child
        process capped by the same limit), from the description alone. A toolchain that does not
        estimate is bounded only by the process's memory cap."""
        return MemoryEstimate(f"{self.kind} compile step")

    @abc.abstractmethod
    def execute(
        self,
        compilation: Compilation,
        out: Path,
        duration_ms: float,
        board: Path | None = None,
        progress: Progress | None = None,
    ) -> RunResult:
        """Run on the board ``board`` configures, or on the software emulation."""
