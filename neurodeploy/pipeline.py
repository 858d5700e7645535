"""Running a loaded model on a backend and writing the run directory: what ``run`` (and later
``deploy``) share. Wiring only: the numbers come from the backends and ``runs``."""
from __future__ import annotations

import datetime
import json
import platform
import time
from dataclasses import dataclass
from pathlib import Path

from neurodeploy import __version__
from neurodeploy.backends import Progress, make_backend
from neurodeploy.catalog import LoadedModel
from neurodeploy.description import io
from neurodeploy.errors import ValidationError
from neurodeploy.protocols import OperationProtocol
from neurodeploy.runs.rundir import RunResult


def read_stimulus(path) -> dict:
    """A stimulus file: a JSON object mapping spike-source labels to one list of times (ms) per neuron."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ValidationError(f"stimulus file '{path}'", None, f"cannot read: {error.strerror}") from None
    data = io.parse(text, "json", f"stimulus file '{path}'")
    if not isinstance(data, dict):
        raise ValidationError(f"stimulus file '{path}'", None, "expected a JSON object: label -> lists of times per neuron")
    return data


@dataclass(eq=False)
class ProtocolRun:
    """A model driven by an operation protocol: the operations, and how to read answers back."""

    protocol: OperationProtocol
    operations: list

    def decode(self, model: LoadedModel, result: RunResult) -> dict:
        return self.protocol.decode(self.operations, result.spikes, model.arguments)


def apply_protocol(model: LoadedModel, path) -> ProtocolRun:
    """Replace the model's spike-source times with those of the operations in ``path``."""
    protocol = getattr(model.family.module, "PROTOCOL", None) if model.family else None
    if protocol is None:
        raise ValidationError("option --protocol", None, f"model '{model.name}' takes no operation protocol")
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as error:
        raise ValidationError(f"protocol file '{path}'", None, f"cannot read: {error.strerror}") from None
    operations = protocol.parse(io.parse(text, "json", f"protocol file '{path}'"), model.arguments)
    model.network = model.network.with_spike_times(protocol.stimulus(operations, model.arguments))
    model.network.duration = protocol.duration_ms(operations)
    return ProtocolRun(protocol, operations)


def resolve_duration(model: LoadedModel, duration: float | None) -> float:
    if duration is not None:
        return duration
    if model.network.duration is None:
        raise ValidationError("option --duration", None, f"is required: model '{model.name}' declares no duration")
    return model.network.duration


def run_model(model: LoadedModel, backend_name: str, duration_ms: float, backend_options: dict | None = None,
              progress: Progress | None = None) -> tuple[RunResult, dict]:
    """Run the model; return the result and the manifest describing the run."""
    options = dict(backend_options or {})
    backend = make_backend(backend_name, **options)
    started = time.perf_counter()
    result = backend.run(model.network, duration_ms, progress=progress)
    manifest = {
        "model": model.manifest(),
        "backend": {"name": backend.name, "options": options, **result.details},
        "versions": {"neurodeploy": __version__, "python": platform.python_version(), **result.versions},
        "spike_sources": list(model.network.spike_sources),
        "seed": model.network.seed,
        "dt_ms": model.network.semantics.dt,
        "duration_ms": duration_ms,
        "wall_time_s": round(time.perf_counter() - started, 3),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    json.dumps(manifest)  # fail here, not half-way through writing, if a parameter is not JSON-able
    return result, manifest
