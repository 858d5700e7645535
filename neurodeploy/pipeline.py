"""What the commands share: running a loaded model on a backend, compiling it for a target, and
deploying it (compile, map, execute, reference, compare). Wiring only: the numbers come from the
backends, the toolchains and ``runs``."""

from __future__ import annotations

import contextlib
import datetime
import json
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from neurodeploy import __version__, catalog, explainer
from neurodeploy.backends import make_backend
from neurodeploy.catalog import LoadedModel
from neurodeploy.compilation import Compilation, Thresholds
from neurodeploy.description import io, resources
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.protocols import OperationProtocol
from neurodeploy.report import write_report
from neurodeploy.results import STAGES, Progress, RunResult, StageTimes
from neurodeploy.runs import deployment
from neurodeploy.runs.compare import RunData
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
    after its own duration are added to its input warnings."""
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
        model.input_warnings += unsent_spikes(model.network, duration_ms, leave_out=stimulus or ())
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
    stage (``stages``: the model's load, and the backend's build, Brian2's codegen, simulation and read-back;
    the run folder's write is added as it is written) and ``wall_time_s``, the simulation's own."""
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
        "weight_units": {
            label: model.network.populations[projection.post].cell.weight_unit
            for label, projection in model.network.projections.items()
            if projection.plasticity is not None or projection.structural is not None
        },
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
    targets: str | Sequence[str],
    out,
    duration_ms: float,
    thresholds: Thresholds | Mapping[str, Thresholds] | None = None,
    protocol_run: ProtocolRun | None = None,
    board: Path | None = None,
    progress: Progress | None = None,
    announce=lambda stage: None,
    explain_runs: int = explainer.DEPLOY_RUNS,
) -> dict:
    """Compile, check and map for each target; execute each (on the board ``board`` configures, or the
    emulation); run each target's quantization-aware Brian2 reference and the float reference once, on
    the same input; compare every pair that matters (``runs.deployment``) and explain those that part
    (``explainer``: at most ``explain_runs`` Brian2 runs each; 0 skips it). ``thresholds``: for every
    target, or per target name; each target's own where not given. Writes ``out`` atomically in the
    layout of ``runs.deployment``; returns what deploy.json holds."""
    names = [targets] if isinstance(targets, str) else list(targets)
    if not names:
        raise ValidationError("option --target", None, "give at least one target")
    repeated = next((name for index, name in enumerate(names) if name in names[:index]), None)
    if repeated is not None:
        raise ValidationError("option --target", None, f"target '{repeated}' is given twice")
    if board is not None and len(names) > 1:
        raise ValidationError(
            "option --board-config",
            None,
            f"configures one target's board: deploy to one --target with it, not {len(names)}",
        )
    deployed = {}
    for name in names:
        target, chain = _target(name)
        deployed[deployment.check_target_folder(target.name)] = (target, chain, make_backend(chain.backend))
    for target, chain, executor in deployed.values():
        problem = None if board else executor.unavailable()
        if problem is not None:  # before any compile, which would be for nothing
            raise BackendError(problem)
    compile_peaks, run_peaks = [], []
    for _, chain, executor in deployed.values():
        compile_peaks.append(chain.estimate_memory(model.network, duration_ms).check().total)
        run_peaks.append(executor.estimate_memory(model.network, duration_ms).check().total)
    run_peaks.append(make_backend("brian2").estimate_memory(model.network, duration_ms).check().total)
    # A mapping runs beside the runs only where both fit the memory limit at once, else it finishes first.
    beside = sum(compile_peaks) + max(run_peaks) <= resources.memory_limit()
    limits = {
        name: _thresholds_for(thresholds, given, chain) for given, (name, (_, chain, _)) in zip(names, deployed.items())
    }
    inputs = tuple(model.network.spike_sources)
    writes = (deployment.FLOAT_REFERENCE, *deployed, deployment.DOCUMENT, deployment.NETWORK, deployment.REPORT)
    # The mappings stop (if they still run) before the staging folder they write into goes.
    with staged_directory(Path(out), "deploy", writes) as staging, contextlib.ExitStack() as running:
        io.save(model.network, staging / deployment.NETWORK)  # the network as deployed, with its input: explain's
        compilations, mappings, runs = {}, {}, {}
        for name, (target, chain, _) in deployed.items():
            announce(f"compiling and checking for {name}")
            folder = staging / name / deployment.COMPILE
            compilation = compilations[name] = chain.compile(model.network, target.data, folder, duration_ms, False)
            pending = None if compilation.errors else chain.start_mapping(compilation, folder, duration_ms)
            if pending is not None:  # maps beside the runs below: finished before the verdicts
                mappings[name] = pending
                running.callback(pending.stop)
                if board or not beside:  # a board's run comes after its mapping, as in sPyNNaker's own order
                    announce(f"mapping for {name}")
                    pending.finish()
        for name, (target, chain, _) in deployed.items():
            compilation = compilations[name]
            if compilation.errors:
                continue
            _raise_failed(mappings)
            announce(f"executing {name} on " + (f"the board ({board})" if board else f"the {chain.backend} emulation"))
            started = time.perf_counter()
            result = chain.execute(compilation, staging / name / deployment.COMPILE, duration_ms, board, progress)
            backend = f"{chain.backend} (board)" if board else chain.backend
            manifest = run_manifest(model, backend, {}, result, duration_ms, time.perf_counter() - started)
            runs[deployment.target_run(name)] = (model, result, manifest)
            announce(f"running {name}'s quantization-aware Brian2 reference")
            quantized = replace(model, network=compilation.reference_network())
            write_json_atomically(
                staging / name / deployment.COMPILE / "quantization.json",
                quantization_effects(model.network, quantized.network),
            )
            runs[deployment.reference_run(name)] = (
                quantized,
                *run_model(quantized, "brian2", duration_ms, progress=progress),
            )
        if runs:
            _raise_failed(mappings)
            announce("running the float Brian2 reference")
            runs[deployment.FLOAT_REFERENCE] = (model, *run_model(model, "brian2", duration_ms, progress=progress))
        compared = {}
        for folder, (loaded, result, manifest) in runs.items():
            answers = protocol_run.decode(loaded, result) if protocol_run is not None else None
            write_run_files(staging / folder, manifest, result, {"answers.json": answers} if answers else {})
            compared[folder] = RunData(
                result.spikes,
                result.traces,
                result.details.get("recording", "end_of_tick"),
                result.weights,
                manifest["weight_units"],
                result.structural,
                answers,
                board is not None and folder.endswith(f"/{deployment.TARGET_RUN}"),
            )
        _raise_failed(mappings)
        announce("comparing")
        comparisons = deployment.comparisons(compared, list(deployed), limits, inputs)
        explanation = None
        if explain_runs:
            _raise_failed(mappings)
            announce("explaining where the runs part")
            try:
                explanation = explainer.explain_runs(
                    model.network,
                    duration_ms,
                    {name: compilation for name, compilation in compilations.items() if not compilation.errors},
                    {folder: result.spikes for folder, (_, result, _) in runs.items()},
                    comparisons,
                    explain_runs,
                    announce,
                )
            except Exception as error:  # the runs are done and judged: a failed explanation is a warning
                explanation = explainer.failed_explanation(explain_runs, error)
        per_target = {}
        for name, (_, chain, _) in deployed.items():
            if name in mappings:
                if not mappings[name].done():
                    announce(f"waiting for the mapping for {name}")
                mappings[name].finish()
            folder = staging / name / deployment.COMPILE
            _write_compilation(folder, compilations[name])
            per_target[name] = _target_summary(name, chain, compilations[name], limits[name], board)
        silent_input = _no_input(model.network, duration_ms)
        for name, summary in per_target.items():
            if not summary["errors"]:
                correctness = deployment.comparison(
                    {"comparisons": comparisons}, "correctness", deployment.target_run(name)
                )
                summary.update(
                    passed=correctness["passed"],
                    failures=correctness["failures"],
                    verdict=deployment.verdict(name, summary["backend"], correctness, silent_input is not None),
                )
        document = {
            "model": model.manifest(),
            "duration_ms": duration_ms,
            "board": str(board) if board else None,
            "targets": list(deployed),
            "per_target": per_target,
            "comparisons": comparisons,
            "warnings": _warnings(model, compilations, silent_input, comparisons, explanation),
            "explain": explanation,
            "passed": all(summary["passed"] for summary in per_target.values()),
            "verdict": "\n".join(summary["verdict"] for summary in per_target.values()),
        }
        write_json_atomically(staging / deployment.DOCUMENT, document)
        write_report(staging, out)
    return document


def _raise_failed(mappings: dict) -> None:
    """Raise the failure of a mapping that has already ended (finishing those that ended well): a deploy whose
    mapping failed stops at the next stage, not after the others."""
    for pending in mappings.values():
        if pending.done():
            pending.finish()


def thresholds_over(targets: Sequence[str], overrides: Mapping[str, float]) -> dict[str, Thresholds] | None:
    """Each target's own thresholds with ``overrides`` (``min_same_tick`` ...) in their place; None (each
    target's own) where there are none."""
    if not overrides:
        return None
    return {name: replace(target_toolchain(name).thresholds, **overrides) for name in targets}


def _thresholds_for(thresholds, name: str, chain) -> Thresholds:
    if thresholds is None:
        return chain.thresholds
    if isinstance(thresholds, Thresholds):
        return thresholds
    return thresholds.get(name, chain.thresholds)


def _target_summary(name: str, chain, compilation: Compilation, thresholds: Thresholds, board) -> dict:
    """A target's entry in deploy.json before it runs: its compile's errors, mapping and resources (a
    mapping's report folder relative to OUT)."""
    report = compilation.report()
    mapping = report.get("mapping")
    if mapping and mapping.get("spynnaker_reports"):  # recorded from T/compile/: here relative to OUT
        mapping = {**mapping, "spynnaker_reports": f"{name}/{deployment.COMPILE}/{mapping['spynnaker_reports']}"}
    errors = [str(finding) for finding in compilation.errors]
    return {
        "backend": f"{chain.backend} (board)" if board else chain.backend,
        "errors": errors,
        "mapping": mapping,
        "resources": report.get("resources"),
        "thresholds": vars(thresholds),
        "passed": False,
        "failures": ["the design rules found errors"] if errors else [],
        "verdict": f"cannot run on {name}: see {name}/{deployment.COMPILE}/compile.txt" if errors else "",
    }


FINDING_SOURCES = {
    "design rules": "compile {target}",
    "quantization": "quantization {target}",
    "sPyNNaker log": "spynnaker log",
}
"""The deploy warning's source for a compile finding's origin."""


def _warnings(
    model: LoadedModel,
    compilations: dict,
    silent_input: str | None,
    comparisons: list[dict],
    explanation: dict | None,
) -> list[dict]:
    """Every warning of the deploy: the model's (source ``model``: values that are almost surely a unit
    mistake) and its input's (``input``: spikes never sent), each target's compile warnings (design rules,
    quantization, the target's own tools), a network that got no input (``input``), runs that stayed silent,
    an explanation that failed."""
    warnings = [{"source": "model", "target": None, "message": message} for message in model.warnings]
    warnings += [{"source": "input", "target": None, "message": message} for message in model.input_warnings]
    for name, compilation in compilations.items():
        for finding in compilation.report()["findings"]:
            if finding["level"] == "warning":
                origin = finding.get("origin", "design rules")
                warnings.append(
                    {
                        "source": FINDING_SOURCES.get(origin, f"{origin} {{target}}").format(target=name),
                        "target": name,
                        "message": finding["message"]
                        if origin == "sPyNNaker log"
                        else f"{finding['subject']}: {finding['message']}",
                    }
                )
    if silent_input is not None:
        warnings.append({"source": "input", "target": None, "message": silent_input})
    if comparisons and all(deployment.silent(item) for item in comparisons):
        warnings.append(
            {
                "source": "activity",
                "target": None,
                "message": "no population spiked on any run (spike sources aside): the comparisons show nothing",
            }
        )
    if explanation and explanation.get("failed"):
        warnings.append({"source": "explain", "target": None, "message": f"explaining failed: {explanation['failed']}"})
    return warnings


def _no_input(network, duration_ms: float) -> str | None:
    """What says that nothing drives the network within the run, or None: every spike source silent
    before the end, no current source, no neuron with an i_offset, no scheduled change."""
    if network.injections or network.changes:
        return None
    if any(times.size and times[0] < duration_ms for s in network.spike_sources.values() for times in s.spike_times):
        return None
    if any(np.any(np.asarray(getattr(p.cell, "i_offset", 0.0)) != 0) for p in network.populations.values()):
        return None
    return (
        f"{deployment.NO_INPUT}no spike source fires within the run's {duration_ms:g} ms, no current source is "
        "injected and no neuron has an i_offset (give --stimulus, or --protocol for a model that takes operations)"
    )
