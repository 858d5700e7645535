"""Run directories, written atomically: a reader sees the previous complete run or the new one,
never a half-written directory.

A run directory holds ``manifest.json`` and ``spikes.json``, and when recorded, ``traces.npz``
(``LABEL.v``: ticks x neurons) and ``weights.npz`` (final weights of plastic projections:
``LABEL.pre``, ``LABEL.post``, ``LABEL.weight``), plus any extra JSON documents a command adds.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurodeploy.description import io
from neurodeploy.errors import NeurodeployError, ValidationError
from neurodeploy.runs.records import SpikeRecord

MANIFEST = "manifest.json"
SPIKES = "spikes.json"


@dataclass(eq=False)
class RunResult:
    """What a backend returns: spikes, recorded state traces, final plastic weights, versions."""

    spikes: SpikeRecord
    traces: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    weights: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    structural: dict | None = None
    """Formation and elimination events and connectivity snapshots (structural.json)."""


def write_atomically(path: Path, write) -> None:
    """Write ``path`` through ``write(temporary_path)`` beside it, then rename: never half-written."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def write_json_atomically(path: Path, data) -> None:
    write_atomically(path, lambda temporary: Path(temporary).write_text(json.dumps(data, indent=1) + "\n"))


@contextlib.contextmanager
def staged_directory(out: Path, marker: str = MANIFEST):
    """Yield a fresh folder beside ``out``; on success it replaces ``out`` in one rename, on failure it
    is removed. ``out`` may be absent, empty, or an earlier output (holding ``marker``)."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / marker).exists())):
        raise NeurodeployError(f"--out '{out}' exists and is not an earlier output of this command: "
                               "refusing to overwrite it")
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.writing-"))
    try:
        yield staging
        _swap_into_place(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_run_files(directory: Path, manifest: dict, result: RunResult, documents: dict | None = None) -> None:
    """The files of a run directory, into an existing (staging) folder."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    _write_json(directory / MANIFEST, manifest)
    _write_json(directory / SPIKES, result.spikes.to_dict())
    for name, data in (documents or {}).items():
        _write_json(directory / name, data)
    if result.structural is not None:
        _write_json(directory / "structural.json", result.structural)
    if result.traces:
        np.savez_compressed(directory / "traces.npz", **{f"{label}.{variable}": array
                                                       for label, variables in result.traces.items()
                                                       for variable, array in variables.items()})
    if result.weights:
        np.savez_compressed(directory / "weights.npz", **{f"{label}.{key}": array
                                                        for label, arrays in result.weights.items()
                                                        for key, array in arrays.items()})


def write_run(out: Path, manifest: dict, result: RunResult, documents: dict | None = None) -> Path:
    """Write a complete run directory at ``out``, replacing an earlier run there."""
    with staged_directory(out) as staging:
        write_run_files(staging, manifest, result, documents)
    return Path(out)


def _write_json(path: Path, data) -> None:
    with open(path, "w") as handle:
        json.dump(data, handle, indent=1)
        handle.write("\n")


def _swap_into_place(staging: Path, out: Path) -> None:
    if not out.exists():
        os.rename(staging, out)
        return
    retired = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    os.rename(out, retired / "run")
    os.rename(staging, out)
    shutil.rmtree(retired, ignore_errors=True)


@dataclass(eq=False)
class Run:
    """A run directory read back."""

    path: Path
    manifest: dict
    spikes: SpikeRecord


def read_run(path) -> Run:
    path = Path(path)
    where = f"run directory '{path}'"
    for name in (MANIFEST, SPIKES):
        if not (path / name).is_file():
            raise ValidationError(where, None, f"has no {name} (is it the --out of a run?)")
    origin = f"{path / MANIFEST}"
    manifest = io.read(path / MANIFEST, "json", origin)
    if not isinstance(manifest, dict):
        raise ValidationError(origin, None, "expected a JSON object (a run's manifest)")
    if not isinstance(manifest.get("model"), dict) or not isinstance(manifest["model"].get("name"), str):
        raise ValidationError(origin, "model", "expected an object with the model's name")
    sources = manifest.get("spike_sources", [])
    if not isinstance(sources, list) or not all(isinstance(label, str) for label in sources):
        raise ValidationError(origin, "spike_sources", "expected a list of labels")
    spikes = SpikeRecord.from_dict(io.read(path / SPIKES, "json", f"{path / SPIKES}"), f"{path / SPIKES}")
    return Run(path, manifest, spikes)
