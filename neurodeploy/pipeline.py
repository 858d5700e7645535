"""What the commands share: running a loaded model on a backend, compiling it for a target, and
deploying it (compile, map, execute, reference, compare). Wiring only: the numbers come from the
backends, the toolchains and ``runs``."""

from __future__ import annotations

import datetime
import json
import platform
import time
from dataclasses import dataclass, replace
from pathlib import Path

from neurodeploy import __version__, catalog
from neurodeploy.backends import make_backend
from neurodeploy.catalog import LoadedModel
from neurodeploy.compilation import Compilation, Thresholds
from neurodeploy.description import io
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.protocols import OperationProtocol
from neurodeploy.report import REPORT, write_report
from neurodeploy.results import STAGES, Progress, RunResult, StageTimes
from neurodeploy.runs.compare import compare, compare_structural, compare_traces
from neurodeploy.runs.quantization import quantization_effects
from neurodeploy.runs.rundir import staged_directory, write_json_atomically, write_run_files
from neurodeploy.toolchains import toolchain


def read_stimulus(path) -> dict:
    """A stimulus file: a JSON object mapping spike-source labels to one list of times (ms) per neuron."""
    origin = f"stimulus file '{path}'"
    data = io.read(path, "json", origin)
    if not isinstance(data, dict):
        raise ValidationError(origin, None, "expected a JSON object: label -> lists of times per neuron")
    return data


@dataclass(eq=False)
class ProtocolRun:
    """A model driven by an operation protocol: the operations, and how to read answers back."""

    protocol: OperationProtocol
    operations: list

    def decode(self, model: LoadedModel, result: RunResult) -> dict:
        return self.protocol.decode(self.operations, result.spikes, model.arguments)


def apply_protocol(model: LoadedModel, reference) -> ProtocolRun:
    """Replace the model's spike-source times with those of the operations in ``reference``, a protocol
    file or the name of one in the model folders."""
    protocol = getattr(model.family.module, "PROTOCOL", None) if model.family else None
    if protocol is None:
        raise ValidationError("option --protocol", None, f"model '{model.name}' takes no operation protocol")
    path = catalog.protocol_path(reference)
    operations = protocol.parse(io.read(path, "json", f"protocol file '{path}'"), model.arguments)
    model.network = model.network.with_spike_times(protocol.stimulus(operations, model.arguments))
    model.network.duration = protocol.duration_ms(operations)
    return ProtocolRun(protocol, operations)


def resolve_duration(
    model: LoadedModel, duration: float | None, protocol_run: ProtocolRun | None = None, stimulus: dict | None = None
) -> float:
    """The duration to simulate: ``duration`` or the model's own, a positive whole number of ticks. It
    may not cut a protocol short, nor leave spikes of a ``stimulus`` (label -> times per neuron) unsent."""
    where = "option --duration"
    if duration is None:
        if model.network.duration is None:
            raise ValidationError(where, None, f"is required: model '{model.name}' declares no duration")
        duration = model.network.duration
    elif protocol_run is not None and duration < model.network.duration:
        raise ValidationError(
            where,
            None,
            f"{duration:g} ms ends before the protocol does: its operations need {model.network.duration:g} ms",
        )
    model.network.semantics.duration_ticks(duration, where, None)
    for label in stimulus or {}:
        for index, times in enumerate(model.network.spike_sources[label].spike_times):
            if times.size and times[-1] >= duration:
                raise ValidationError(
                    f"stimulus for '{label}'",
                    f"spike_times[{index}]",
                    f"{times[-1]:g} ms is not within the run's {duration:g} ms",
                )
    return float(duration)


def prepare_inputs(
    model: LoadedModel,
    stimulus: dict | None = None,
    protocol=None,
    duration: float | None = None,
    default_duration: float | None = None,
) -> tuple[ProtocolRun | None, float]:
    """Drive ``model`` (changed in place) by a stimulus (label -> times per neuron) or a protocol (a file or
    a name), and resolve the duration to simulate (``duration``, else the model's own, else
    ``default_duration``): the protocol run (or None) and the duration. Spikes of the model's own inputs
    after its own duration are added to its warnings."""
    if stimulus is not None and protocol is not None:
        raise ValidationError("stimulus", None, "give either a stimulus or a protocol, not both")
    if stimulus is not None:
        model.network = model.network.with_spike_times(stimulus)
    protocol_run = apply_protocol(model, protocol) if protocol is not None else None
    own_duration = duration is None and model.network.duration is not None
    if duration is None and model.network.duration is None and default_duration is not None:
        duration = default_duration
    duration_ms = resolve_duration(model, duration, protocol_run, stimulus)
    if own_duration:
        model.warnings += unsent_spikes(model.network, duration_ms, leave_out=stimulus or ())
    return protocol_run, duration_ms


def unsent_spikes(network, duration_ms: float, leave_out=()) -> list[str]:
    """Warnings for spike sources (but those in ``leave_out``) with spikes at or after the end of a run of
    ``duration_ms``: they are never sent. Legal (a PyNN script may draw inputs for longer than it runs, and
    sPyNNaker drops them too), so a warning when the run lasts the model's own duration; a duration chosen
    shorter cuts them on purpose, and a stimulus given for the run is refused instead (:func:`resolve_duration`)."""
    found = []
    for label, source in network.spike_sources.items():
        if label in leave_out:
            continue
        late = [(times[times >= duration_ms], index) for index, times in enumerate(source.spike_times)]
        late = [(times, index) for times, index in late if times.size]
        if late:
            count = sum(times.size for times, _ in late)
            first, neuron = min((float(times[0]), index) for times, index in late)
            found.append(
                f"spike source '{label}': {count} spikes at or after the run's end ({duration_ms:g} ms) are never "
                f"sent (the first at {first:g} ms, neuron {neuron})"
            )
    return found


def run_model(
    model: LoadedModel,
    backend_name: str,
    duration_ms: float,
    backend_options: dict | None = None,
    progress: Progress | None = None,
) -> tuple[RunResult, dict]:
    """Run the model; return the result and the manifest describing the run, with the wall time of each
    stage (``stages``: the model's load, and the backend's build, simulation and read-back; the run folder's
    write is added as it is written) and ``wall_time_s``, the simulation's own."""
    options = dict(backend_options or {})
    times = StageTimes(progress)
    building = times.clock()  # loading the backend's simulator (importing Brian2 takes seconds) is building
    backend = make_backend(backend_name, **options)
    backend.estimate_memory(model.network, duration_ms).check()
    times.enter_stage("build", since=building)  # told once the run is accepted
    started = time.perf_counter()
    result = backend.run(model.network, duration_ms, progress=times)
    times.close()
    manifest = run_manifest(model, backend.name, options, result, duration_ms, time.perf_counter() - started)
    return result, with_stages(manifest, model, times.seconds)


def with_stages(manifest: dict, model: LoadedModel, backend_stages: dict[str, float]) -> dict:
    """The manifest with the wall time of each stage of the run (``stages``); ``wall_time_s`` is then the
    simulation's own, when the backend said when it simulated."""
    stages = {"load": model.load_s, **backend_stages, "write": None}
    manifest["stages"] = {stage: None if stages.get(stage) is None else round(stages[stage], 3) for stage in STAGES}
    if manifest["stages"]["simulate"] is not None:
        manifest["wall_time_s"] = manifest["stages"]["simulate"]
    return manifest


def run_manifest(
    model: LoadedModel, backend_name: str, options: dict, result: RunResult, duration_ms: float, wall_time_s: float
) -> dict:
    manifest = {
        "model": model.manifest(),
        "backend": {"name": backend_name, "options": options, **result.details},
        "versions": {"neurodeploy": __version__, "python": platform.python_version(), **result.versions},
        "spike_sources": list(model.network.spike_sources),
        "seed": model.network.seed,
        "dt_ms": model.network.semantics.dt,
        "duration_ms": duration_ms,
        "wall_time_s": round(wall_time_s, 3),
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    json.dumps(manifest)  # fail here, not half-way through writing, if a parameter is not JSON-able
    return manifest


def target_toolchain(name: str):
    return _target(name)[1]


def _target(name: str):
    target = catalog.target_description(name)
    return target, toolchain(target.data["kind"])


def _write_compilation(directory: Path, compilation: Compilation) -> None:
    write_json_atomically(directory / "compile.json", compilation.report())
    (directory / "compile.txt").write_text(compilation.text() + "\n")


def compile_model(model: LoadedModel, target_name: str, out, duration_ms: float, map_resources: bool = True):
    """Compile for a target into ``out`` (published atomically, see ``runs.rundir``): artefacts, compile.json,
    compile.txt."""
    target, chain = _target(target_name)
    chain.estimate_memory(model.network, duration_ms).check()
    with staged_directory(Path(out), "compile", ("compile.json", "compile.txt")) as staging:
        compilation = chain.compile(model.network, target.data, staging, duration_ms, map_resources)
        _write_compilation(staging, compilation)
    return compilation


def deploy_model(
    model: LoadedModel,
    target_name: str,
    out,
    duration_ms: float,
    thresholds: Thresholds | None,
    protocol_run: ProtocolRun | None = None,
    board: Path | None = None,
    progress: Progress | None = None,
    announce=lambda stage: None,
) -> dict:
    """Compile, check and map; execute on the board or the emulation; run the Brian2 reference on the
    same input with the target's numbers (and plain float, to show what quantization costs); compare.
    Writes ``out`` (compile/, target/, reference/, reference-float/, deploy.json, report.html, and
    network.json: the network as deployed, with its input, which ``explain`` re-runs) atomically."""
    target, chain = _target(target_name)
    thresholds = thresholds or chain.thresholds
    inputs = tuple(model.network.spike_sources)
    executor = make_backend(chain.backend)
    problem = None if board else executor.unavailable()
    if problem is not None:  # before the compile, which would be for nothing
        raise BackendError(problem)
    for step in (chain, executor, make_backend("brian2")):
        step.estimate_memory(model.network, duration_ms).check()
    always_written = ("compile", "target", "reference", "reference-float", "deploy.json", REPORT, "network.json")
    with staged_directory(Path(out), "deploy", always_written) as staging:
        io.save(model.network, staging / "network.json")
        announce(f"compiling, checking and mapping for {target.name}")
        compilation = chain.compile(model.network, target.data, staging / "compile", duration_ms)
        _write_compilation(staging / "compile", compilation)
        summary = {
            "model": model.manifest(),
            "target": target.name,
            "board": str(board) if board else None,
            "duration_ms": duration_ms,
            "errors": [str(f) for f in compilation.errors],
        }
        if compilation.errors:
            summary.update(passed=False, verdict=f"cannot run on {target.name}: see compile/compile.txt")
            write_json_atomically(staging / "deploy.json", summary)
            write_report(staging, out)
            return summary
        runs = {}
        announce("executing on " + (f"the board ({board})" if board else f"the {chain.backend} emulation"))
        started = time.perf_counter()
        result = chain.execute(compilation, staging / "compile", duration_ms, board, progress)
        name = f"{chain.backend} (board)" if board else chain.backend
        runs["target"] = (
            model,
            result,
            run_manifest(model, name, {}, result, duration_ms, time.perf_counter() - started),
        )
        announce("running the Brian2 reference (quantization-aware, then float)")
        quantized = replace(model, network=compilation.reference_network())
        write_json_atomically(
            staging / "compile" / "quantization.json", quantization_effects(model.network, quantized.network)
        )
        runs["reference"] = (quantized, *run_model(quantized, "brian2", duration_ms, progress=progress))
        runs["reference-float"] = (model, *run_model(model, "brian2", duration_ms, progress=progress))
        answers = {}
        for folder, (loaded, run_result, manifest) in runs.items():
            documents = {}
            if protocol_run is not None:
                documents["answers.json"] = answers[folder] = protocol_run.decode(loaded, run_result)
            write_run_files(staging / folder, manifest, run_result, documents)
        comparison = compare(runs["target"][1].spikes, runs["reference"][1].spikes, thresholds, inputs=inputs)
        cost = compare(runs["reference"][1].spikes, runs["reference-float"][1].spikes, thresholds, inputs=inputs)
        mapping = compilation.report().get("mapping")
        if mapping and mapping.get("spynnaker_reports"):  # recorded from compile/: here relative to ``out``
            mapping = {**mapping, "spynnaker_reports": f"compile/{mapping['spynnaker_reports']}"}
        summary.update(target_vs_reference=comparison.to_dict(), quantization_cost=cost.to_dict(), mapping=mapping)
        target_result, reference_result = runs["target"][1], runs["reference"][1]
        if target_result.traces and reference_result.traces:
            summary["traces_vs_reference"] = compare_traces(
                target_result.traces,
                reference_result.traces,
                target_result.details.get("recording", "end_of_tick"),
                reference_result.details.get("recording", "end_of_tick"),
            )
        failures = list(comparison.failures)
        target_structural, reference_structural = runs["target"][1].structural, runs["reference"][1].structural
        if target_structural is not None and reference_structural is not None and board is None:
            # On a board sPyNNaker draws from its own generator: there only the statistics compare.
            summary["structural"] = compare_structural(target_structural, reference_structural)
            failures += [
                f"structural decisions of {label} part from the reference at tick {item['first_difference_tick']}"
                for label, item in summary["structural"].items()
                if item["first_difference_tick"] is not None
            ]
        if protocol_run is not None:
            differing = [
                index
                for index, (a, b) in enumerate(zip(answers["target"]["operations"], answers["reference"]["operations"]))
                if a["answer"] != b["answer"]
            ]
            summary["functional"] = {
                "operations": len(answers["target"]["operations"]),
                "answers_differing_from_reference": differing,
                "target_agrees_with_ideal": answers["target"]["summary"]["agree"],
            }
            if differing:
                failures.append(f"{len(differing)} operations answer differently from the reference")
        summary.update(
            passed=not failures,
            failures=failures,
            verdict=("PASS" if not failures else "FAIL") + f": {chain.backend} on {target.name} vs the "
            "quantization-aware Brian2 reference",
        )
        write_json_atomically(staging / "deploy.json", summary)
        write_report(staging, out)
    return summary
