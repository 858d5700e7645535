"""Explaining a deploy: for each comparison of its runs that parts, where it parts and which quantization
effects account for it (:mod:`neurodeploy.runs.explain`), re-running the Brian2 reference on the targets'
numbers with effects put back to float. Wiring only: the effects come from the toolchains, the ablation from
``runs.explain``, the folder's layout from ``runs.deployment``.

The explanation's one home is deploy.json's ``explain``: a deploy fills it with what it has in hand
(:func:`explain_runs`), and ``neurodeploy explain DEPLOY_DIR`` (:func:`explain_folder`) computes it again from
the folder, with another budget, and writes it there (and the report with it).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import tempfile
import threading
import traceback
from collections import deque
from pathlib import Path

from neurodeploy import catalog, processes
from neurodeploy.backends import make_backend
from neurodeploy.compilation import Compilation
from neurodeploy.description import Network, io, resources
from neurodeploy.errors import NeurodeployError, ValidationError, one_line
from neurodeploy.report import rewrite_deploy
from neurodeploy.results import SpikeRecord
from neurodeploy.runs import deployment
from neurodeploy.runs.explain import GOAL, MAX_RUNS, MEASURE, Side, explain, first_divergence
from neurodeploy.runs.rundir import read_run
from neurodeploy.toolchains import toolchain

DEPLOY_RUNS = 12
"""Brian2 runs a deploy gives each comparison's attribution unless told otherwise (``--explain-runs``)."""


class Brian2Runs:
    """The ablation's simulations: the Brian2 reference's spikes of a network over ``duration_ms``, run here
    (called) or beside (``submit``: in one helper process forked on the first submit, on another core, where
    the machine has one and memory for two runs at once; else None, and the caller runs it). The helper
    dies with this process and leaves termination signals to it (``processes``); :meth:`close` ends it.
    Each side reads the other's messages in a thread of its own, so that neither waits to write."""

    def __init__(self, duration_ms: float):
        self.duration_ms = duration_ms
        self.backend = make_backend("brian2")
        self._helper = None
        self._connection = None
        self._receiver = None
        self._lock = threading.Lock()
        self._waiting: deque[Submitted] = deque()  # submitted, in the order the helper answers
        self._gone = False

    def __call__(self, network: Network) -> SpikeRecord:
        self.backend.estimate_memory(network, self.duration_ms).check()
        return self.backend.run(network, self.duration_ms).spikes

    def submit(self, network: Network) -> Submitted | None:
        if self._helper is None:
            if len(os.sched_getaffinity(0)) < 2:
                return None
            if 2 * self.backend.estimate_memory(network, self.duration_ms).total > resources.memory_limit():
                return None
        try:
            message = pickle.dumps(network, pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return None
        if self._helper is None:
            self._start()
        submitted = Submitted(self, network)
        with self._lock:
            if self._gone:
                return None
            self._waiting.append(submitted)
        try:
            self._connection.send_bytes(message)
        except OSError:  # the helper is gone: the receiver fails what was waiting
            pass
        return submitted

    def _start(self) -> None:
        context = multiprocessing.get_context("fork")  # the helper has Brian2 and its compiled code loaded
        ours, theirs = context.Pipe()
        with processes.forked_children_end_with_parent(resource_tracker=False):
            self._helper = context.Process(target=self._serve, args=(theirs,), name="explain runs", daemon=True)
            self._helper.start()
        theirs.close()
        self._connection = ours
        self._receiver = threading.Thread(target=self._receive, name="explain runs' answers", daemon=True)
        self._receiver.start()

    def _serve(self, connection) -> None:
        """The helper: run each network it is sent, in order, answering its spikes, or that it failed (the
        caller then runs it itself, and meets the failure there)."""
        networks = queue.SimpleQueue()

        def read():
            while True:
                try:
                    networks.put(connection.recv_bytes())
                except (EOFError, OSError):
                    networks.put(None)
                    return

        threading.Thread(target=read, name="networks", daemon=True).start()
        while (message := networks.get()) is not None:
            try:
                answer = ("spikes", self(pickle.loads(message)))
            except Exception:
                answer = ("failed", None)
            connection.send(answer)

    def _receive(self) -> None:
        """Hand each of the helper's answers to the oldest run waiting; once the helper is gone, fail the rest."""
        while True:
            try:
                answer = self._connection.recv()
            except (EOFError, OSError):
                with self._lock:
                    self._gone, left = True, list(self._waiting)
                    self._waiting.clear()
                for submitted in left:
                    submitted.answered(("failed", None))
                return
            with self._lock:
                submitted = self._waiting.popleft()
            submitted.answered(answer)

    def close(self) -> None:
        if self._helper is not None:
            self._helper.kill()
            self._helper.join()
            self._receiver.join()  # it reads the end of the helper's pipe
            self._connection.close()
            self._helper = None


def brian2_spikes(duration_ms: float) -> Brian2Runs:
    """The ablation's simulation: the Brian2 reference's spikes of a network over ``duration_ms``."""
    return Brian2Runs(duration_ms)


class Submitted:
    """A network's run handed to the helper: :meth:`result` waits for its spikes (running it here if the helper
    could not)."""

    def __init__(self, runs: Brian2Runs, network: Network):
        self.runs, self.network = runs, network
        self._answer = None
        self._done = threading.Event()

    def answered(self, answer: tuple) -> None:
        self._answer = answer
        self._done.set()

    def result(self) -> SpikeRecord:
        self._done.wait()
        kind, spikes = self._answer
        return spikes if kind == "spikes" else self.runs(self.network)


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
    try:
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
    finally:
        getattr(simulate, "close", lambda: None)()  # its helper process, if it started one
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
