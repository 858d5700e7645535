"""Explaining a deploy: for each comparison of its runs that parts, where it parts and which quantization
effects account for it (:mod:`neurodeploy.runs.explain`), re-running the Brian2 reference on the targets'
numbers with effects put back to float. Wiring only: the effects come from the toolchains, the ablation from
``runs.explain``, the folder's layout from ``runs.deployment``.

The explanation's one home is deploy.json's ``explain``: a deploy fills it with what it has in hand
(:func:`explain_runs`), and ``neurodeploy explain DEPLOY_DIR`` (:func:`explain_folder`) computes it again from
the folder, with another budget, and writes it there (and the report with it).
"""

from __future__ import annotations

import os
import tempfile
import traceback
from pathlib import Path

from neurodeploy import catalog
from neurodeploy.backends import make_backend
from neurodeploy.compilation import Compilation
from neurodeploy.description import Network, io
from neurodeploy.errors import NeurodeployError, ValidationError, one_line
from neurodeploy.report import rewrite_deploy
from neurodeploy.results import SpikeRecord
from neurodeploy.runs import deployment
from neurodeploy.runs.explain import GOAL, MAX_RUNS, MEASURE, Side, explain, first_divergence
from neurodeploy.runs.rundir import read_run
from neurodeploy.toolchains import toolchain

DEPLOY_RUNS = 12
"""Brian2 runs a deploy gives each comparison's attribution unless told otherwise (``--explain-runs``)."""


def brian2_spikes(duration_ms: float):
    """The ablation's simulation: the Brian2 reference's spikes of a network over ``duration_ms``."""
    backend = make_backend("brian2")

    def simulate(network: Network) -> SpikeRecord:
        backend.estimate_memory(network, duration_ms).check()
        return backend.run(network, duration_ms).spikes

    return simulate


def parting(comparisons: list[dict], spikes: dict[str, SpikeRecord], inputs) -> list[dict]:
    """The comparisons of a deploy worth explaining: those whose runs part (a spike, spike sources aside, not
    in the same tick on both sides), a correctness comparison only where its verdict failed."""
    return [
        item
        for item in comparisons
        if (item["kind"] != "correctness" or not item["passed"])
        and first_divergence(spikes[item["run"]], spikes[item["reference"]], inputs) is not None
    ]


def explain_runs(
    network: Network,
    duration_ms: float,
    compilations: dict[str, Compilation],
    spikes: dict[str, SpikeRecord],
    comparisons: list[dict],
    max_runs: int = MAX_RUNS,
    announce=lambda text: None,
) -> dict:
    """deploy.json's ``explain``: the explanation of each of a deploy's ``comparisons`` (its items: ``kind``,
    ``run``, ``reference``, ``passed``) that parts (:func:`parting`), given the ``network`` as deployed, the
    ``compilations`` of the targets that ran, and every run's ``spikes`` by its folder in the deploy
    (``T/target``, ``T/reference``, ``reference-float``). ``max_runs``: Brian2 runs per comparison."""
    inputs = tuple(network.spike_sources)
    chosen = parting(comparisons, spikes, inputs)
    sides = {"float": Side("float", None, [], spikes.get(deployment.FLOAT_REFERENCE))}
    for target, compilation in compilations.items():
        reference = spikes.get(deployment.reference_run(target))
        sides[target] = Side(target, compilation.reference_network(), compilation.quantization_effects(), reference)
    simulate = brian2_spikes(duration_ms) if chosen else None

    def side_of(run: str) -> str:
        return "float" if run == deployment.FLOAT_REFERENCE else run.partition("/")[0]

    explanations = []
    for item in chosen:
        kind, run, reference = item["kind"], item["run"], item["reference"]
        what = f"explaining {kind}: {run} vs {reference}"
        announce(what)
        explanation = explain(
            kind,
            (run, reference),
            (spikes[run], spikes[reference]),
            None if kind == "correctness" else (sides[side_of(run)], sides[side_of(reference)]),
            simulate,
            inputs,
            max_runs,
            lambda runs: announce(f"{what}, Brian2 run {runs} of at most {max_runs}"),
        )
        if kind == "correctness":  # name the sides by target, not by run
            explanation.run_target, explanation.reference_target = side_of(run), side_of(reference)
        explanations.append(explanation)
    if explanations:
        text = "\n".join(explanation.text() for explanation in explanations)
    elif comparisons:
        text = (
            "nothing to explain: no target's run parts from the float model or from another target, and no "
            "verdict failed"
        )
    else:
        text = "nothing to explain: no target ran"
    return {
        "measure": MEASURE,
        "goal": GOAL,
        "max_runs": max_runs,
        "explanations": [explanation.to_dict() for explanation in explanations],
        "text": text,
    }


def failed_explanation(max_runs: int, error: Exception) -> dict:
    """deploy.json's ``explain`` where explaining failed (a Brian2 run of an ablated network, say): what failed,
    in ``failed`` (one line) and its text, with no explanations, so a deploy keeps its runs and verdicts and
    ``neurodeploy explain DEPLOY_DIR`` can try again."""
    if isinstance(error, NeurodeployError):
        what = one_line(str(error))
    elif isinstance(error, MemoryError):
        what = "out of memory: raise --memory-limit, or explain with fewer runs (--explain-runs)"
    else:
        what = one_line(f"{type(error).__name__}: {error}")
    failed = {
        "measure": MEASURE,
        "goal": GOAL,
        "max_runs": max_runs,
        "explanations": [],
        "failed": what,
        "text": f"explaining failed ({what}): the runs and verdicts stand; `neurodeploy explain` can try again",
    }
    if not isinstance(error, (NeurodeployError, MemoryError)):  # a fault of ours: its trace, for a bug report
        failed["trace"] = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return failed


def explain_folder(path, max_runs: int = MAX_RUNS, announce=lambda text: None) -> dict:
    """Explain the deploy folder ``path`` again (its network.json, its runs, its targets compiled again without
    mapping) and write the explanation into its deploy.json, and its report.html anew, together (a failure
    leaves the old pair: ``report.rewrite_deploy``); return the explanation."""
    path = Path(path)
    where = f"deploy folder '{path}'"
    version = Path(os.path.realpath(path / deployment.DOCUMENT)).parent  # first: the version is written back to
    summary = deployment.read_deploy(path)
    if summary is None:
        raise ValidationError(where, None, f"has no {deployment.DOCUMENT} (is it the --out of `neurodeploy deploy`?)")
    if not (path / deployment.NETWORK).is_file():
        raise ValidationError(where, None, f"has no {deployment.NETWORK} (the network it deployed): deploy again")
    network = io.load(path / deployment.NETWORK)
    duration_ms = summary["duration_ms"]
    compilations = {}
    for target in deployment.ran(summary):
        announce(f"compiling for {target}")
        description = catalog.target_description(target)
        with tempfile.TemporaryDirectory() as scratch:
            compilations[target] = toolchain(description.data["kind"]).compile(
                network, description.data, Path(scratch), duration_ms, map_resources=False
            )
    spikes = {name: read_run(path / name).spikes for name in deployment.run_folders(summary)}
    explanation = explain_runs(network, duration_ms, compilations, spikes, summary["comparisons"], max_runs, announce)
    # An earlier failure's warning goes: this explanation replaces it.
    warnings = [warning for warning in summary["warnings"] if warning["source"] != "explain"]
    rewrite_deploy(path, version, {**summary, "warnings": warnings, "explain": explanation}, _is_deploy_document)
    return explanation


def _is_deploy_document(document) -> bool:
    return isinstance(document, dict) and {"targets", "per_target", "comparisons"} <= document.keys()
