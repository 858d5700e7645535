"""The SpiNNaker toolchain: compile a network for a board, map it with sPyNNaker, run it on a
configured board or on the emulation.

sPyNNaker runs in a child process whose HOME and XDG config folders are private to the output folder,
holding a configuration this toolchain writes: the user's own ~/.spynnaker.cfg is never read or
written. That keeps sPyNNaker's global state, its report folders and its working directory away
from the caller too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from neurodeploy.backends import refuse_changes
from neurodeploy.backends.spinnaker import SpinnakerBackend, effects, spynnaker_mapping
from neurodeploy.backends.spinnaker.fixedpoint import DEFAULT_PROFILE, ENCODING_PROFILES
from neurodeploy.backends.spinnaker.graph import SpinnakerGraph, handed_network, lower
from neurodeploy.backends.spinnaker.quantize import projection_report, quantization_aware, ring_buffer_scaling
from neurodeploy.backends.spinnaker.rules import check_target
from neurodeploy.compilation import Compilation, Finding, PendingMapping, Thresholds, Toolchain
from neurodeploy.description import Network, resources, values
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.interchange import pynn_export
from neurodeploy.processes import end_with_parent
from neurodeploy.results import Progress, RunResult, SpikeRecord

SCRIPT = "pynn_script.py"
MAPPING_LOG = "spynnaker.log"
BOARD_LOG = "spynnaker-board.log"
"""The board run's log, beside the mapping's."""
MAPPING_TIMEOUT_S = 1800

VIRTUAL_BOARD_CONFIG = """[Machine]
version = {version}
virtual_board = True

[Mode]
mode = Info
"""


@dataclass(eq=False)
class Compiled(Compilation):
    """A compiled network: the graph, the scaling sPyNNaker will choose, the findings and reports."""

    network: Network
    graph: SpinnakerGraph
    scaling: dict
    findings: list[Finding]
    quantization: dict
    target: dict
    mapping: dict | None = None
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    def text(self) -> str:
        return report_text(self)

    def reference_network(self) -> Network:
        return quantization_aware(self.network, self.graph, self.scaling, encoding_profile(self.target))

    def quantization_effects(self) -> list:
        return effects.quantization_effects(
            self.network, self.reference_network(), self.quantization, encoding_profile(self.target)
        )

    def report(self) -> dict:
        return {
            "target": self.target["name"],
            "findings": [f.to_dict() for f in self.findings],
            "ring_buffer_shifts": {
                label: {
                    "excitatory": pair[0].shift,
                    "inhibitory": pair[1].shift,
                    "max_summed_weight": [pair[0].max_summed_weight, pair[1].max_summed_weight],
                    "weight_scale": pair[0].weight_scale,
                }
                for label, pair in self.scaling.items()
            },
            "quantization": self.quantization,
            "encoding_profile": encoding_profile(self.target),
            "mapping": self.mapping,
            "files": self.files,
        }


def encoding_profile(target: dict) -> str:
    """The sPyNNaker version whose host-side encoding of the neuron and synapse constants the target's
    boards run (``encoding_profile``, as the backend's option ``encoding``; 7.4.1 unless named)."""
    where = f"target '{target['name']}'"
    return values.choice(
        str(target.get("encoding_profile", DEFAULT_PROFILE)), tuple(ENCODING_PROFILES), where, "encoding_profile"
    )


def compile_network(network: Network, target: dict, out: Path) -> Compiled:
    """Lower, check and quantize; write graph.json, connections.npz and the standalone PyNN script."""
    encoding_profile(target)
    network.validate()
    graph = lower(network)
    scaling = ring_buffer_scaling(graph)
    compiled = Compiled(
        network,
        graph,
        scaling,
        check_target(network, graph, scaling, target),
        projection_report(network, graph, scaling),
        target,
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    graph.save(out)
    compiled.files = ["graph.json", "connections.npz", *write_script(compiled, out)]
    return compiled


MAPPING_HELPER = "spynnaker_mapping.py"


def write_script(compiled: Compiled, out: Path) -> list[str]:
    """The PyNN export of the network sPyNNaker is handed (:func:`.graph.handed_network`), which with
    ``--mapping FILE`` writes where sPyNNaker put it (:mod:`.spynnaker_mapping`, copied beside it); the files
    written. A network the export cannot state is an error finding, unless the design rules gave one."""
    dt = compiled.network.semantics.dt
    after_run = (
        "if arguments.mapping:",
        "    from spynnaker_mapping import write_mapping",
        "",
        f"    write_mapping(arguments.mapping, {{populations}}, arguments.duration, {dt!r})",
    )
    try:
        exported = pynn_export.to_script(handed_network(compiled.network), required_duration=True, after_run=after_run)
    except ValidationError as error:
        if not compiled.errors:
            compiled.findings.append(Finding("error", "pynn script", f"sPyNNaker cannot be handed it: {error}"))
        return []
    shutil.copyfile(spynnaker_mapping.__file__, out / MAPPING_HELPER)
    return [*exported.write(out), MAPPING_HELPER]


SPYNNAKER_EXTRA = "pip install 'neurodeploy[spinnaker]'"


def run_with_private_config(
    directory: Path, config: str, arguments: list[str], what: str, log: str = MAPPING_LOG
) -> Path:
    """Run ``python ARGUMENTS`` in ``directory`` under a private sPyNNaker configuration, its output kept in
    ``directory/log`` (returned). Every path sPyNNaker is given is absolute: it starts in ``directory``."""
    return PrivateRun(directory, config, arguments, what, log).finish()


class PrivateRun:
    """``python ARGUMENTS`` started in ``directory`` under a private sPyNNaker configuration, running beside
    the caller until :meth:`finish` (its output kept in ``directory/log``) or :meth:`stop`. It dies with the
    process that started it and leaves the termination signals to it (``processes.end_with_parent``: start it
    from the main thread, whose end the kernel watches); its output goes to unnamed files, which a long log
    cannot fill as it would a pipe nobody reads meanwhile."""

    def __init__(self, directory: Path, config: str, arguments: list[str], what: str, log: str = MAPPING_LOG):
        if importlib.util.find_spec("spynnaker") is None:
            raise BackendError(f"sPyNNaker is needed to {what} and is not installed: {SPYNNAKER_EXTRA}")
        directory = Path(directory).absolute()
        home = directory / "spynnaker-home"
        for folder in (home, home / "xdg-config", home / "xdg-config-dirs"):
            folder.mkdir(parents=True, exist_ok=True)
        (home / ".spynnaker.cfg").write_text(config)
        environment = {
            **os.environ,
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / "xdg-config"),
            "XDG_CONFIG_DIRS": str(home / "xdg-config-dirs"),
        }
        self.what, self.log = what, directory / log
        self._output = tempfile.TemporaryFile(), tempfile.TemporaryFile()
        self._deadline = time.monotonic() + MAPPING_TIMEOUT_S
        self._outcome: BackendError | None = None  # after the first finish: the failure, or None
        self._finished = False
        try:
            self._process = subprocess.Popen(
                [sys.executable, *arguments],
                cwd=directory,
                env=environment,
                stdout=self._output[0],
                stderr=self._output[1],
                preexec_fn=partial(end_with_parent, os.getpid()),
            )
        except BaseException:
            self._close()
            raise

    def done(self) -> bool:
        return self._process.poll() is not None

    def finish(self) -> Path:
        """Wait for the run (stopping it if the wait is interrupted) and return its log; raise if it failed,
        again on every later call, so that a caller asking twice never takes a failed run for a finished one."""
        if not self._finished:
            self._outcome = self._wait()
            self._finished = True
        if self._outcome is not None:
            raise self._outcome.with_traceback(None)
        return self.log

    def _wait(self) -> BackendError | None:
        """The run's failure, or None once it has succeeded; an interrupted wait stops it and propagates."""
        try:
            self._process.wait(timeout=max(0.0, self._deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.stop()
            return BackendError(f"sPyNNaker did not finish {self.what} within {MAPPING_TIMEOUT_S} s")
        except BaseException:
            self.stop()
            raise
        stdout, stderr = (self._read(output) for output in self._output)
        self._close()
        self.log.write_text(stdout + stderr)
        if self._process.returncode != 0:
            return BackendError(f"sPyNNaker could not {self.what}: {_reason(stderr)} (full log: {self.log})")
        return None

    def stop(self) -> None:
        """Kill the run if it still runs; a later :meth:`finish` of a run stopped before it finished says so."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._close()
        if not self._finished:
            self._outcome, self._finished = BackendError(f"sPyNNaker was stopped before it could {self.what}"), True

    @staticmethod
    def _read(output) -> str:
        output.seek(0)
        return output.read().decode(errors="replace")

    def _close(self) -> None:
        for output in self._output:
            output.close()


SPYNNAKER_WARNING = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (WARNING|ERROR|CRITICAL): (.*)$")
"""A line sPyNNaker logs at level WARNING or above (the message's first line)."""


def logged_warnings(log: Path) -> list[Finding]:
    """sPyNNaker's own warnings in its log, each once with how many times it was logged."""
    counts = {}
    for line in log.read_text(errors="replace").splitlines():
        match = SPYNNAKER_WARNING.match(line)
        if match:
            counts[match.group(2).strip()] = counts.get(match.group(2).strip(), 0) + 1
    return [
        Finding("warning", "sPyNNaker", message + (f" ({count} times)" if count > 1 else ""), "sPyNNaker log")
        for message, count in counts.items()
    ]


def _reason(stderr: str) -> str:
    """The exception line of a Python traceback, else the last line."""
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if ("Error" in line or "Exception" in line) and ":" in line and not line.startswith("File "):
            return line
    return lines[-1] if lines else "no output"


def map_on_virtual_board(compiled: Compiled, out: Path, duration_ms: float) -> dict:
    """Partition, place and route with sPyNNaker on a virtual board of the target's kind."""
    mapping = VirtualBoardMapping(compiled, out, duration_ms)
    mapping.finish()
    return compiled.mapping


class VirtualBoardMapping(PendingMapping):
    """sPyNNaker partitioning, placing and routing ``compiled`` on a virtual board of the target's kind, in a
    child process: :meth:`finish` adds its warnings and its mapping to ``compiled``."""

    def __init__(self, compiled: Compiled, out: Path, duration_ms: float):
        self.compiled, self.out = compiled, Path(out).absolute()
        self._run = PrivateRun(
            self.out,
            VIRTUAL_BOARD_CONFIG.format(version=compiled.target["board_version"]),
            [str(self.out / SCRIPT), "--duration", f"{duration_ms:g}", "--mapping", str(self.out / "mapping.json")],
            "map the network",
            MAPPING_LOG,
        )

    def done(self) -> bool:
        return self._run.done()

    def finish(self) -> None:
        if self.compiled.mapping is not None:
            return
        log = self._run.finish()
        self.compiled.findings += logged_warnings(log)
        mapping = json.loads((self.out / "mapping.json").read_text())
        ours = {label: [s.shift for s in pair] for label, pair in self.compiled.scaling.items()}
        mapping["ring_buffer_shifts_agree"] = mapping["ring_buffer_shifts"] == ours
        self.compiled.mapping = summarize(mapping)

    def stop(self) -> None:
        self._run.stop()


def summarize(mapping: dict) -> dict:
    """Chips and cores used, placements per population, SDRAM per core, routing entries."""
    application = [p for p in mapping["placements"] if p["population"] is not None]
    chips = sorted({tuple(p["chip"]) for p in application})
    by_population = {}
    for placement in application:
        by_population.setdefault(placement["population"], []).append(
            {
                "vertex": placement["vertex"],
                "chip": placement["chip"],
                "core": placement["core"],
                "sdram_bytes": placement["sdram_bytes"],
            }
        )
    return {
        "application_cores": len(application),
        "chips_used": len(chips),
        "system_cores": len(mapping["placements"]) - len(application),
        "populations": by_population,
        "routing_entries": {f"{t['chip'][0]},{t['chip'][1]}": t["entries"] for t in mapping["routing_tables"]},
        "ring_buffer_shifts": mapping["ring_buffer_shifts"],
        "ring_buffer_shifts_agree": mapping["ring_buffer_shifts_agree"],
        "board_chips": mapping["chips"],
        "spynnaker_reports": mapping["reports"],
    }


def run_on_board(out: Path, config_file: Path, duration_ms: float) -> SpikeRecord:
    """Run the compiled script on the board the user's sPyNNaker configuration names.

    Not exercised here (no board): a thin path through sPyNNaker's own run and neo read-back."""
    out = Path(out).absolute()
    run_with_private_config(
        out,
        Path(config_file).read_text(),
        [str(out / SCRIPT), "--duration", f"{duration_ms:g}", "--spikes", str(out / "board_spikes.json")],
        "run on the board",
        BOARD_LOG,
    )
    return SpikeRecord.from_dict(json.loads((out / "board_spikes.json").read_text()), "board_spikes.json")


def report_text(compiled: Compiled) -> str:
    """The compile report for people: design rules, quantization per projection, mapping."""
    lines = [
        f"target {compiled.target['name']}: {len(compiled.errors)} errors, "
        f"{sum(f.level == 'warning' for f in compiled.findings)} warnings"
    ]
    lines += [f"  {finding}" for finding in compiled.findings]
    lines.append("quantization (16-bit weights, per-receptor shift):")
    lines.append(
        f"  {'projection':<40} {'syn':>7} {'shift':>5} {'resolution':>13} {'max rel err':>11} "
        f"{'->0':>5} {'headroom':>8}"
    )
    for label, item in compiled.quantization.items():
        headroom = "-" if item["saturation_headroom"] is None else f"{item['saturation_headroom']:.2f}"
        resolution = f"{item['resolution']:.3g} {item['weight_unit']}"
        lines.append(
            f"  {label[:40]:<40} {item['synapses']:>7} {item['shift']:>5} {resolution:>13} "
            f"{item['largest_relative_weight_error']:>11.2e} {item['synapses_quantized_to_zero']:>5} "
            f"{headroom:>8}"
        )
    if compiled.mapping:
        mapping = compiled.mapping
        lines.append(
            f"mapping (sPyNNaker, virtual {compiled.target['name']}): {mapping['application_cores']} "
            f"application cores on {mapping['chips_used']} of {mapping['board_chips']} chips, "
            f"{mapping['system_cores']} system cores; ring-buffer shifts "
            f"{'agree with' if mapping['ring_buffer_shifts_agree'] else 'DIFFER from'} the emulation's"
        )
        for population, placements in mapping["populations"].items():
            where = ", ".join(
                f"{p['vertex']} -> chip ({p['chip'][0]},{p['chip'][1]}) core {p['core']} "
                f"{p['sdram_bytes'] / 1024:.0f} KiB"
                for p in placements
            )
            lines.append(f"  {population}: {where}")
        lines.append(
            "  routing entries per chip: " + ", ".join(f"({k}) {v}" for k, v in mapping["routing_entries"].items())
        )
    return "\n".join(lines)


COMPILE_COSTS = resources.Costs(
    baseline=80e6,
    per_neuron=400,
    per_synapse=130,
    per_plastic_synapse=130,
    per_recorded_value=0,
    per_recorded_spike=0,
    per_source_spike=190,
)
"""Bytes per item of a compile, measured and rounded up (docs/reliability.md): a synapse is its connection,
the graph's from-list row and connections.npz; spike sources are written out as the emulation reads them."""


class SpinnakerToolchain(Toolchain):
    kind = "spinnaker"
    backend = SpinnakerBackend.name
    # target-semantics.md: quantization-aware float vs SpiNNaker fixed point, feed-forward.
    thresholds = Thresholds(min_same_tick=0.98, min_within_one=0.995, max_rate_error=0.015)

    def compile(self, network, target, out, duration_ms, map_resources=True):
        refuse_changes(network, f"the {target.get('name', self.kind)} target")
        compiled = compile_network(network, target, out)
        if map_resources and not compiled.errors:
            mapping = self.start_mapping(compiled, out, duration_ms)
            if mapping is not None:
                mapping.finish()
        return compiled

    def start_mapping(self, compilation, out, duration_ms):
        if importlib.util.find_spec("spynnaker") is None:  # the emulation runs without: say what is missing
            compilation.findings.append(
                Finding("warning", "mapping", f"not mapped: sPyNNaker is not installed ({SPYNNAKER_EXTRA})")
            )
            return None
        return VirtualBoardMapping(compilation, out, duration_ms)

    def estimate_memory(self, network, duration_ms):
        return resources.estimate(network, duration_ms, f"{self.kind} compile step", COMPILE_COSTS)

    def execute(
        self,
        compilation: Compiled,
        out: Path,
        duration_ms: float,
        board: Path | None = None,
        progress: Progress | None = None,
    ) -> RunResult:
        if board is None:
            return SpinnakerBackend(encoding=encoding_profile(compilation.target)).run(
                compilation.network, duration_ms, progress
            )
        return RunResult(run_on_board(out, board, duration_ms), details={"mode": "board", "config": str(board)})
