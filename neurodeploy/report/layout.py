"""What a folder holds, read into one shape whatever wrote it: a run folder (``neurodeploy run``), a run
folder with the ``compare.json`` that ``neurodeploy compare`` adds, and a deploy folder (its layout and
deploy.json are :mod:`neurodeploy.runs.deployment`'s). The rest of the report reads only this shape.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurodeploy.description import io
from neurodeploy.errors import NeurodeployError, ValidationError
from neurodeploy.runs import deployment
from neurodeploy.runs.rundir import MANIFEST, Run, read_run

COMPARE = "compare.json"


@dataclass(eq=False)
class RunFolder:
    """One run in the folder: ``name`` is how the report calls it (its path within a deploy folder, as
    deploy.json names it; else as the user named it)."""

    name: str
    path: Path
    run: Run | None = None
    missing: str | None = None
    """Why the run could not be read (None when it was)."""

    @property
    def backend(self) -> str:
        backend = self.run.manifest.get("backend", {}) if self.run else {}
        return backend.get("name", self.run.spikes.backend) if isinstance(backend, dict) else str(backend)

    @property
    def spike_sources(self) -> tuple[str, ...]:
        return tuple(self.run.manifest.get("spike_sources", ())) if self.run else ()

    @functools.cached_property
    def traces(self) -> dict[str, dict[str, np.ndarray]]:
        return self.run.traces() if self.run else {}

    @functools.cached_property
    def weights(self) -> dict[str, dict[str, np.ndarray]]:
        """Final weights of plastic projections (weights.npz): per projection ``pre``, ``post``, ``weight``."""
        return self.run.weights() if self.run else {}

    @functools.cached_property
    def structural(self) -> dict | None:
        return self.run.document("structural.json") if self.run else None

    @functools.cached_property
    def answers(self) -> dict | None:
        return self.run.document("answers.json") if self.run else None


@dataclass(eq=False)
class Pair:
    """Two runs compared, with what the command that compared them recorded: ``spikes`` is
    ``runs.compare.compare(...).to_dict()``; the others are present where the runs had them."""

    kind: str
    """correctness (a target against its quantization-aware reference), quantization_cost (against the
    float model), portability (target against target), comparison (``neurodeploy compare``)."""
    run: str
    reference: str
    spikes: dict | None = None
    traces: dict | None = None
    weights: dict | None = None
    structural: dict | None = None
    functional: dict | None = None
    passed: bool | None = None
    """None where the pair is not judged."""
    failures: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Target:
    """A target of a deploy: its compile folder's reports and the deploy's verdict on it."""

    name: str
    compile_folder: Path
    backend: str | None = None
    compile: dict | None = None
    """compile.json"""
    quantization: dict | None = None
    """compile/quantization.json (:mod:`neurodeploy.runs.quantization`); None in folders written before it."""
    errors: list[str] = field(default_factory=list)
    mapping: dict | None = None
    passed: bool | None = None
    verdict: str | None = None
    failures: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Study:
    """Everything a report shows of one folder."""

    kind: str
    """run, compare or deploy"""
    path: Path
    model: dict
    runs: dict[str, RunFolder]
    pairs: list[Pair] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    """Warnings beyond the design rules' (``{"source", "message"}``, as deploy.json lists them)."""
    explain: dict | None = None
    """deploy.json's explanation (``explainer.explain_runs``); None where the deploy skipped it."""
    passed: bool | None = None
    verdict: str | None = None
    duration_ms: float | None = None


def read_folder(path) -> Study:
    """The study a folder holds: a deploy folder (deploy.json), else a run folder (manifest.json, with the
    comparison of a compare.json)."""
    path = Path(path)
    document = deployment.read_deploy(path)
    if document is not None:
        return deploy_study(path, document)
    if (path / MANIFEST).is_file():
        return _run(path)
    raise ValidationError(
        f"folder '{path}'",
        None,
        f"holds neither a {deployment.DOCUMENT} nor a {MANIFEST}: give a run, compare or deploy folder",
    )


def _document(path: Path):
    """A JSON document of the folder; None where there is none."""
    if not path.is_file():
        return None
    return io.read(path, "json", f"'{path}'")


def _read(name: str, path: Path) -> RunFolder:
    try:
        return RunFolder(name, path, read_run(path))
    except NeurodeployError as error:
        return RunFolder(name, path, missing=str(error))


def deploy_study(path: Path, summary: dict) -> Study:
    """The study of the deploy folder ``path`` whose deploy.json holds ``summary``."""
    study = Study(
        "deploy",
        path,
        summary["model"],
        {name: _read(name, path / name) for name in deployment.run_folders(summary)},
        explain=summary.get("explain"),
        passed=summary.get("passed"),
        verdict=summary.get("verdict"),
        duration_ms=summary.get("duration_ms"),
        warnings=list(summary.get("warnings", [])),
    )
    study.targets = [
        _target(name, path / name / deployment.COMPILE, summary["per_target"].get(name, {}))
        for name in summary["targets"]
    ]
    study.pairs = [
        Pair(
            item["kind"],
            item["run"],
            item["reference"],
            item.get("spikes"),
            item.get("traces"),
            item.get("weights"),
            item.get("structural"),
            item.get("functional"),
            item.get("passed") if item["kind"] == "correctness" else None,
            list(item.get("failures", [])),
        )
        for item in summary["comparisons"]
    ]
    return study


def _target(name: str, compile_folder: Path, verdict: dict) -> Target:
    report = _document(compile_folder / "compile.json")
    return Target(
        name,
        compile_folder,
        verdict.get("backend"),
        report,
        _document(compile_folder / "quantization.json"),
        list(verdict.get("errors", [])),
        verdict.get("mapping") or (report or {}).get("mapping"),
        verdict.get("passed"),
        verdict.get("verdict"),
        list(verdict.get("failures", [])),
    )


def _run(path: Path) -> Study:
    name = path.name or os.path.basename(os.path.abspath(path))
    run = RunFolder(name, path, read_run(path))
    study = Study("run", path, run.run.manifest.get("model", {}), {name: run}, duration_ms=run.run.spikes.duration_ms)
    document = _document(path / COMPARE)
    if not isinstance(document, dict) or not {"run", "reference", "passed"} <= document.keys():
        return study
    reference_name = str(document["reference"])
    study.kind = "compare"
    study.runs[reference_name] = _read(reference_name, _compared_folder(path, document))
    spikes = {key: value for key, value in document.items() if key not in ("run", "reference", "traces")}
    study.pairs.append(
        Pair(
            "comparison",
            name,
            reference_name,
            spikes,
            document.get("traces"),
            passed=document["passed"],
            failures=list(document.get("failures", [])),
        )
    )
    study.passed = document["passed"]
    return study


def _compared_folder(path: Path, document: dict) -> Path:
    """The reference folder a compare.json names, as the user gave it to ``compare``: relative to the folder
    ``compare`` ran in, found from how the run folder itself was named there; else as given."""
    reference, named = Path(document["reference"]), Path(document["run"])
    if reference.is_absolute():
        return reference
    here = Path(os.path.abspath(path))
    parts = Path(os.path.normpath(named)).parts
    if parts and here.parts[-len(parts) :] == parts:
        return Path(*here.parts[: len(here.parts) - len(parts)]) / reference
    return reference
