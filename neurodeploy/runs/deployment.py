"""A deploy folder: its layout, the comparisons that matter between its runs and the verdict per target,
shared by the pipeline that writes it and the commands that read it back.

    OUT/reference-float/      the float Brian2 reference (a run folder), run once
    OUT/T/compile/            target T's compile (compile.json, compile.txt, its artefacts)
    OUT/T/target/             T's run (emulation or board)
    OUT/T/reference/          T's quantization-aware Brian2 reference
    OUT/deploy.json           every comparison, warning and verdict
    OUT/network.json          the network as deployed, with its input (what ``explain`` re-runs)
    OUT/report.html           the page ``neurodeploy.report`` makes of it all

The comparisons (each with every measure of ``runs.compare.compare_runs``): ``correctness`` (T/target vs
T/reference, T's thresholds: the verdict), ``quantization_cost`` (T/target vs reference-float: what the
target's numbers cost against the model) and ``portability`` (T2/target vs T1/target for every pair of
targets, in the order given).
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

from neurodeploy.compilation import Thresholds
from neurodeploy.description import io
from neurodeploy.errors import ValidationError
from neurodeploy.runs.compare import RunData, compare_runs

FLOAT_REFERENCE = "reference-float"
COMPILE = "compile"
TARGET_RUN = "target"
REFERENCE_RUN = "reference"
DOCUMENT = "deploy.json"
REPORT = "report.html"
NETWORK = "network.json"
"""The network as deployed, with its input: what ``explain`` re-runs."""
RESERVED = (FLOAT_REFERENCE, DOCUMENT, REPORT, NETWORK)
"""Names in OUT that are not a target's folder."""
KINDS = ("correctness", "quantization_cost", "portability")
NO_INPUT = "no input: "
"""How deploy.json's warning that nothing drove the network begins (its source is ``input``, as the warnings
of spikes never sent are; the model's implausible values are ``model``'s)."""


def target_run(target: str) -> str:
    return f"{target}/{TARGET_RUN}"


def reference_run(target: str) -> str:
    return f"{target}/{REFERENCE_RUN}"


def check_target_folder(name: str) -> str:
    """A target's name, refused where it cannot be its folder in OUT."""
    if "/" in name or os.sep in name or name.startswith(".") or name in RESERVED:
        raise ValidationError("option --target", None, f"target '{name}' cannot name a folder of the deploy")
    return name


def portability_thresholds(first: Thresholds, second: Thresholds) -> Thresholds:
    """Two targets agree when they are as close as the looser of their own thresholds asks."""
    return Thresholds(
        min(first.min_same_tick, second.min_same_tick),
        min(first.min_within_one, second.min_within_one),
        max(first.max_rate_error, second.max_rate_error),
    )


def comparisons(
    runs: dict[str, RunData],
    targets: list[str],
    thresholds: dict[str, Thresholds],
    inputs: tuple[str, ...],
    van_rossum_tau_ms: float = 5.0,
) -> list[dict]:
    """Every comparison that matters between ``runs`` (keyed by their folder in OUT) of ``targets`` that
    ran: each target against its reference and against the float model, and each pair of targets."""
    ran = [target for target in targets if target_run(target) in runs]
    pairs = [("correctness", target_run(t), reference_run(t), thresholds[t]) for t in ran]
    if FLOAT_REFERENCE in runs:
        pairs += [("quantization_cost", target_run(t), FLOAT_REFERENCE, thresholds[t]) for t in ran]
    pairs += [
        (
            "portability",
            target_run(second),
            target_run(first),
            portability_thresholds(thresholds[first], thresholds[second]),
        )
        for first, second in itertools.combinations(ran, 2)
    ]
    return [
        {
            "kind": kind,
            "run": run,
            "reference": reference,
            **compare_runs(runs[run], runs[reference], limits, inputs, van_rossum_tau_ms),
        }
        for kind, run, reference, limits in pairs
        if reference in runs
    ]


def comparison(document: dict, kind: str, run: str | None = None, reference: str | None = None) -> dict:
    """The first comparison of ``kind`` in a deploy.json (of ``run`` against ``reference`` where given)."""
    for item in document["comparisons"]:
        if item["kind"] == kind and run in (None, item["run"]) and reference in (None, item["reference"]):
            return item
    raise KeyError(f"deploy has no {kind} comparison of {run or 'any run'} against {reference or 'any reference'}")


def silent(item: dict) -> bool:
    """Whether neither run of a comparison spiked (outside its inputs)."""
    overall = item["spikes"]["overall"]
    return overall["run_spikes"] == 0 and overall["reference_spikes"] == 0


def had_no_input(document: dict) -> bool:
    """Whether a deploy.json warns that nothing drove the network (not any input warning: spikes never sent
    are input warnings too; and not a model warning, an implausible value)."""
    return any(
        warning.get("source") == "input" and str(warning.get("message", "")).startswith(NO_INPUT)
        for warning in document.get("warnings", ())
    )


def verdict(target: str, backend: str, correctness: dict, no_input: bool) -> str:
    """One line: PASS or FAIL of the target against its reference, said to be vacuous where neither spiked."""
    line = f"{backend} on {target} vs the quantization-aware Brian2 reference"
    if not correctness["passed"]:
        return f"FAIL: {line} ({'; '.join(correctness['failures'])})"
    if silent(correctness):
        why = "no input reached the network and " if no_input else ""
        return f"PASS, vacuously: {line}: {why}neither run spiked, so the comparison shows nothing"
    return f"PASS: {line}"


def read_deploy(path) -> dict | None:
    """The deploy.json of a deploy folder; None where ``path`` has none. One written before deploys had a
    folder per target is refused: nothing reads that layout any more."""
    document_path = Path(path) / DOCUMENT
    if not document_path.is_file():
        return None
    origin = f"deploy folder '{path}'"
    document = io.read(document_path, "json", f"{origin} {DOCUMENT}")
    if not isinstance(document, dict) or not isinstance(document.get("model"), dict):
        raise ValidationError(origin, DOCUMENT, "expected a JSON object with the model, as `neurodeploy deploy` writes")
    if "targets" not in document:
        raise ValidationError(
            origin, DOCUMENT, f"written by an older neurodeploy (one target, no 'targets' in {DOCUMENT}): deploy again"
        )
    for key, kind in (("targets", list), ("per_target", dict), ("comparisons", list)):
        if not isinstance(document.get(key), kind):
            raise ValidationError(origin, DOCUMENT, f"expected '{key}' as `neurodeploy deploy` writes it")
    return document


def ran(document: dict) -> list[str]:
    """The targets of a deploy that ran (those the design rules did not refuse), in the order given."""
    return [target for target in document["targets"] if not document["per_target"].get(target, {}).get("errors")]


def run_folders(document: dict) -> list[str]:
    """The run folders a deploy wrote, by their path in OUT: each target's run and reference, then the float
    reference (run where any target ran)."""
    targets = ran(document)
    return [name for t in targets for name in (target_run(t), reference_run(t))] + [FLOAT_REFERENCE] * bool(targets)


def deploy_folder_of(path) -> Path | None:
    """The deploy folder ``path`` is a target's folder of (OUT/T, holding compile/ and the runs), else None."""
    path = Path(path)
    if (path / COMPILE).is_dir() and (path.parent / DOCUMENT).is_file():
        return path.parent
    return None
