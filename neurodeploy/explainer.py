"""Explaining a deploy: for each comparison of its runs that parts, where it parts and which quantization
effects account for it (:mod:`neurodeploy.runs.explain`), re-running the Brian2 reference on the targets'
numbers with effects put back to float. Wiring only: the effects come from the toolchains, the ablation from
``runs.explain``.

:func:`explain_runs` is what a deploy calls with what it has in hand; :func:`explain_folder` (``neurodeploy
explain DEPLOY_DIR``) reads a deploy folder, rebuilds the model it deployed and writes ``explain.json`` there.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from neurodeploy import catalog
from neurodeploy.backends import make_backend
from neurodeploy.compilation import Compilation
from neurodeploy.description import Network, io
from neurodeploy.errors import ValidationError
from neurodeploy.results import SpikeRecord
from neurodeploy.runs.explain import GOAL, MAX_RUNS, MEASURE, Side, explain, spike_difference
from neurodeploy.runs.rundir import read_run, write_document_beside
from neurodeploy.toolchains import toolchain

FLOAT = "reference-float"
NETWORK = "network.json"
"""The network a deploy ran, as described (its model with the input it was given), saved beside deploy.json."""
EXPLAIN = "explain.json"


def brian2_spikes(duration_ms: float):
    """The ablation's simulation: the Brian2 reference's spikes of a network over ``duration_ms``."""
    backend = make_backend("brian2")

    def simulate(network: Network) -> SpikeRecord:
        backend.estimate_memory(network, duration_ms).check()
        return backend.run(network, duration_ms).spikes

    return simulate


def explain_runs(
    network: Network,
    duration_ms: float,
    compilations: dict[str, Compilation],
    spikes: dict[str, SpikeRecord],
    comparisons: list[tuple[str, str, str]],
    prefixes: dict[str, str] | None = None,
    max_runs: int = MAX_RUNS,
    announce=lambda text: None,
) -> dict:
    """The explanation of every comparison ``(kind, run, reference)`` of a deploy: ``kind`` ``correctness``
    (where they part only), ``quantization_cost`` or ``portability``; run names as in the deploy folder
    (``T/target``, ``T/reference``, ``reference-float``), ``spikes`` by run name, ``compilations`` by target
    name, ``prefixes`` the run names' prefix per target (``T/`` unless given: today's single-target layout has
    none). The document deploy.json's ``explain`` and explain.json hold."""
    prefixes = prefixes if prefixes is not None else {target: f"{target}/" for target in compilations}
    simulate = brian2_spikes(duration_ms)
    inputs = tuple(network.spike_sources)
    sides = {}
    for target, compilation in compilations.items():
        reference = spikes.get(f"{prefixes[target]}reference")
        sides[target] = Side(target, compilation.reference_network(), compilation.quantization_effects(), reference)
    float_side = Side("float", None, [], spikes[FLOAT])

    def target_of(run: str) -> str:
        return next(target for target, prefix in prefixes.items() if run.startswith(prefix))

    explanations = []
    for kind, run, reference in comparisons:
        run_target = target_of(run)
        reference_target = "float" if reference == FLOAT else target_of(reference)
        pair = None
        if kind != "correctness":
            pair = (sides[run_target], float_side if reference == FLOAT else sides[reference_target])
        names = (run, reference)
        announce(f"explaining {kind}: {run} vs {reference}")
        explanation = explain(
            kind,
            names,
            (spikes[run], spikes[reference]),
            pair,
            simulate,
            inputs,
            max_runs,
            lambda runs: announce(f"explaining {kind}: {run} vs {reference}, Brian2 run {runs}"),
        )
        if pair is None:  # name the sides by target, not by run
            explanation.run_target, explanation.reference_target = run_target, reference_target
        explanations.append(explanation)
    return {
        "measure": MEASURE,
        "goal": GOAL,
        "explanations": [explanation.to_dict() for explanation in explanations],
        "text": "\n".join(explanation.text() for explanation in explanations),
    }


@dataclass(frozen=True)
class DeployFolder:
    """What explain reads of a deploy folder: deploy.json, the targets with a run (each with its run names'
    prefix: ``T/`` in the multi-target layout, none in the single-target one) and the comparisons to explain."""

    summary: dict
    targets: dict[str, str]
    comparisons: list[tuple[str, str, str]]


def read_deploy_folder(path: Path) -> DeployFolder:
    """The layout of a deploy folder: today's single target (``compile/``, ``target/``, ``reference/``,
    ``reference-float/``, deploy.json with ``target``) or several (``T/compile/`` ... and deploy.json with
    ``targets`` and ``comparisons``, docs/explain.md). Targets whose compile failed have no runs: left out."""
    where = f"deploy folder '{path}'"
    file = Path(path) / "deploy.json"
    if not file.is_file():
        raise ValidationError(where, None, "has no deploy.json (is it the --out of `neurodeploy deploy`?)")
    summary = io.read(file, "json", str(file))
    if not isinstance(summary, dict) or not isinstance(summary.get("model"), dict):
        raise ValidationError(str(file), None, "expected deploy.json as `neurodeploy deploy` writes it")
    if "targets" in summary:
        failed = {name for name, item in summary.get("per_target", {}).items() if item.get("errors")}
        targets = {name: f"{name}/" for name in summary["targets"] if name not in failed}
        comparisons = [
            (item["kind"], item["run"], item["reference"])
            for item in summary.get("comparisons", [])
            if item["run"].partition("/")[0] in targets and item["reference"].partition("/")[0] in {*targets, FLOAT}
        ]
    else:
        targets = {} if summary.get("errors") else {summary["target"]: ""}
        comparisons = (
            [("correctness", "target", "reference"), ("quantization_cost", "target", FLOAT)] if targets else []
        )
    return DeployFolder(summary, targets, comparisons)


def reload_network(path: Path, summary: dict) -> Network:
    """The network the deploy ran: its saved network.json, else the model rebuilt from deploy.json's manifest
    (name or source and parameters) with the seed and the spike sources' times of its float reference run,
    checked to reproduce that run spike for spike (a model file changed since would not)."""
    saved = Path(path) / NETWORK
    if saved.is_file():
        return io.load(saved)
    float_run = read_run(Path(path) / FLOAT)
    manifest = summary["model"]
    loaded = _load_from_manifest(manifest)
    network = loaded.network
    network.seed = float_run.manifest.get("seed", network.seed)
    recorded = {
        label: trains for label, trains in float_run.spikes.populations.items() if label in network.spike_sources
    }
    network = network.with_spike_times({label: [t.tolist() for t in trains] for label, trains in recorded.items()})
    rerun = brian2_spikes(summary["duration_ms"])(network)
    if spike_difference(rerun, float_run.spikes) != 0:
        raise ValidationError(
            f"deploy folder '{path}'",
            "model",
            f"the model rebuilt from deploy.json ({manifest.get('name')} from {manifest.get('source')}) does not "
            f"run as its {FLOAT}/ did: has it changed since the deploy?",
        )
    return network


def _load_from_manifest(manifest: dict) -> catalog.LoadedModel:
    """A model as a run manifest names it: a registered family by name, a network file, a NIR graph (its
    import options as parameters), ``path.py:function`` or a PyNN script by source."""
    name, source, parameters = manifest.get("name"), manifest.get("source"), dict(manifest.get("parameters") or {})
    suffix = Path(source or "").suffix.lower()
    family = catalog.model_families().get(name)
    if family is not None and Path(family.path) == Path(source or ""):
        return catalog.load_model(name, parameters)
    if suffix == catalog.NIR_SUFFIX:
        return catalog.load_model(source, nir_options=parameters)
    path_part, colon, function = (name or "").rpartition(":")
    if colon and path_part.endswith(".py"):
        return catalog.load_model(f"{source}:{function}", parameters)
    return catalog.load_model(source)


def explain_folder(path, max_runs: int = MAX_RUNS, announce=lambda text: None) -> dict:
    """Explain every comparison of the deploy folder ``path`` that parts; write explain.json there."""
    path = Path(path)
    folder = read_deploy_folder(path)
    document = {"folder": str(path), "model": folder.summary["model"], "targets": list(folder.targets)}
    if not folder.targets:
        document.update(measure=MEASURE, goal=GOAL, explanations=[], text="no target ran: the compile found errors")
    else:
        announce("rebuilding the deployed model")
        network = reload_network(path, folder.summary)
        duration_ms = folder.summary["duration_ms"]
        compilations = {}
        for target in folder.targets:
            announce(f"compiling for {target}")
            description = catalog.target_description(target)
            with tempfile.TemporaryDirectory() as scratch:
                compilations[target] = toolchain(description.data["kind"]).compile(
                    network, description.data, Path(scratch), duration_ms, map_resources=False
                )
        names = {run for comparison in folder.comparisons for run in comparison[1:]}
        names |= {FLOAT, *(f"{prefix}reference" for prefix in folder.targets.values())}
        spikes = {name: read_run(path / name).spikes for name in names}
        document.update(
            explain_runs(
                network, duration_ms, compilations, spikes, folder.comparisons, folder.targets, max_runs, announce
            )
        )
    if write_document_beside(path, "deploy.json", EXPLAIN, document, _is_explanation) is None:
        document["not_written"] = f"'{path / EXPLAIN}' is not a file neurodeploy wrote: left as it is"
    return document


def _is_explanation(document) -> bool:
    return isinstance(document, dict) and {"folder", "explanations"} <= document.keys()
