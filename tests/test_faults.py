"""Faults while a run folder is written: a kill at any point leaves the previous run (or the new one) complete,
the files a user added, and nothing that piles up once the next run has been written."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from neurodeploy.results import RunResult, SpikeRecord
from neurodeploy.runs import rundir
from neurodeploy.runs.rundir import MARKER, STORE, read_run, staged_directory, write_document, write_run_files

ROOT = Path(__file__).resolve().parent.parent
KILLED = 77


def left_behind(out: Path) -> list[str]:
    """Version folders besides the current one: once a run is published, at most the run before it (kept
    for readers that were resolving its links), plus a run cut short until the next run removes it."""
    current = os.readlink(out / STORE / "current")
    return sorted(entry for entry in os.listdir(out / STORE) if entry not in ("lock", "current", current))


# --- a kill at every step of publishing, in a forked writer ---------------------------------------------------


def deploy_like(out: Path, name: str) -> None:
    """An output with a top-level run, a run in a folder, and one entry only this version has."""
    with staged_directory(out, "deploy") as staging:
        result = RunResult(SpikeRecord(1.0, 10.0, name, {"A": [np.array([1.0, 2.0])]}))
        write_run_files(staging, {"model": {"name": name}}, result)
        write_run_files(staging / "target", {"model": {"name": name}}, result)
        (staging / f"only-{name}.json").write_text(json.dumps(name))


def in_child_killed_at(line: int, action, count_file: Path | None = None) -> int:
    """Run ``action`` in a forked child that dies (``os._exit``, no clean-up) at the ``line``-th line it
    executes in rundir.py; return the child's exit code. With ``count_file``, record how many lines ran."""
    pid = os.fork()
    if pid == 0:
        executed = 0

        def in_rundir(frame, event, arg):
            if frame.f_code.co_filename != rundir.__file__:
                return None

            def each_line(frame, event, arg):
                nonlocal executed
                if event == "line":
                    executed += 1
                    if executed == line:
                        os._exit(KILLED)
                return each_line

            return each_line

        sys.settrace(in_rundir)
        try:
            action()
            code = 0
        except BaseException:
            code = 1
        sys.settrace(None)
        if count_file is not None:
            count_file.write_text(str(executed))
        os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def test_a_kill_at_any_line_of_publishing_keeps_one_complete_run_and_the_users_files(tmp_path):
    out = tmp_path / "deployed"
    deploy_like(out, "first")
    (out / "notes.md").write_text("mine\n")
    (out / "target" / "mine.txt").write_text("mine too\n")
    deploy_like(out, "first")  # counted as in the loop below: with a previous version for the writer to tidy
    count_file = tmp_path / "count"
    assert in_child_killed_at(0, lambda: deploy_like(out, "second"), count_file) == 0
    lines = int(count_file.read_text())
    deploy_like(out, "first")
    points = sorted(random.Random(5).sample(range(1, lines + 1), min(lines, 100)))
    outcomes = set()
    for point in points:
        assert in_child_killed_at(point, lambda: deploy_like(out, "second")) == KILLED
        shown = read_run(out).spikes.backend
        outcomes.add(shown)
        assert shown in ("first", "second") and read_run(out / "target").spikes.backend == shown, point
        visible = {name for name in os.listdir(out) if os.path.exists(out / name)}
        assert visible == {STORE, "manifest.json", "spikes.json", "target", f"only-{shown}.json", "notes.md"}, point
        assert (out / "notes.md").read_text() == "mine\n" and (out / "target" / "mine.txt").read_text() == "mine too\n"
        deploy_like(out, "first")
        assert len(left_behind(out)) <= 1
        assert all(os.path.exists(out / name) for name in os.listdir(out)), "a dangling link was left"
    assert outcomes == {"first", "second"}, "kill points must fall both before and after the swap"


def test_a_kill_while_compare_json_is_added_leaves_nothing_the_next_run_would_keep(tmp_path):
    out = tmp_path / "deployed"
    deploy_like(out, "first")

    def add_comparison():
        write_document(read_run(out / "target"), "compare.json", {"passed": True})

    count_file = tmp_path / "count"
    assert in_child_killed_at(0, add_comparison, count_file) == 0
    for point in range(1, int(count_file.read_text()) + 1):
        assert in_child_killed_at(point, add_comparison) == KILLED
        assert read_run(out / "target").spikes.backend == "first"
        deploy_like(out, "first")
        version = out / STORE / "current"
        files = {path.relative_to(version).as_posix() for path in version.rglob("*") if path.is_file()}
        assert files == set(json.loads((version / MARKER).read_text())["files"]) | {MARKER}, point


# --- signals to the command line ------------------------------------------------------------------------------

RUN = ["run", "feedforward-poisson", "--param", "n_neurons=20", "--duration", "200"]
DEPLOY = [
    "deploy",
    "feedforward-poisson",
    "--param",
    "n_neurons=2",
    "--param",
    "n_inputs=5",
    "--duration",
    "20",
    "--target",
    "spinn5",
]
SIGNALS = [
    (signal.SIGKILL, False),
    (signal.SIGKILL, True),
    (signal.SIGTERM, False),
    (signal.SIGTERM, True),
    (signal.SIGINT, False),
    (signal.SIGINT, True),
]
"""(signal, to the whole process group?): Ctrl-C in a terminal signals the group; kill(1) the process."""


def neurodeploy(cwd: Path, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "neurodeploy", *map(str, args)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def session_survivors(session: int) -> list[str]:
    """The live processes (zombies are dead) of ``session``: the command's, started in a session of its own."""
    survivors = []
    for process in psutil.process_iter(["status", "cmdline"]):
        try:
            if os.getsid(process.pid) == session and process.info["status"] != psutil.STATUS_ZOMBIE:
                survivors.append(" ".join(process.info["cmdline"] or ()) or str(process.pid))
        except OSError:  # ended while listed
            pass
    return survivors


def finished(process: subprocess.Popen) -> tuple[int, str, list[str]]:
    """Wait for the command and for the processes of its session, which must end with it (their kernel-sent
    signal can take a moment); then end whatever is left anyway, so that a failing test leaks nothing.
    Returns the exit code, stderr and what survived the command."""
    process.wait(timeout=120)
    deadline = time.monotonic() + 30
    while (survivors := session_survivors(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return process.returncode, process.communicate(timeout=30)[1], survivors


def seed_shown(out: Path, command: str) -> int:
    """The seed of the run ``out`` shows, checked to be the same in every file of it."""
    if command == "run":
        run = read_run(out)
        return run.manifest["seed"]
    seed = json.loads((out / "deploy.json").read_text())["model"]["parameters"]["seed"]
    for folder in ("spinn5/target", "spinn5/reference", "reference-float"):
        assert read_run(out / folder).manifest["seed"] == seed
    assert json.loads((out / "spinn5" / "compile" / "compile.json").read_text())["target"] == "spinn5"
    return seed


@pytest.mark.slow
@pytest.mark.parametrize(
    "command, signals, progress",
    [
        (RUN, SIGNALS, "brian2 running feedforward-poisson: "),
        (DEPLOY, [SIGNALS[5], SIGNALS[2], SIGNALS[1]], "deploy feedforward-poisson on spinn5: "),
    ],
    ids=["run", "deploy"],
)
def test_signals_at_random_points_keep_the_previous_run_and_leave_nothing_behind(tmp_path, command, signals, progress):
    kind = command[0]
    started = time.monotonic()
    code, stderr, survivors = finished(neurodeploy(tmp_path, *command, "--seed", 1, "--out", "out"))
    assert code == 0 and not survivors, (stderr, survivors)
    full_run_s = time.monotonic() - started
    out = tmp_path / "out"
    (out / "notes.md").write_text("mine\n")
    if kind == "deploy":
        (out / "spinn5" / "target" / "plot.svg").write_text("<svg/>")
    shown = 1
    chance = random.Random(13)
    for attempt, (number, to_group) in enumerate(signals, start=2):
        process = neurodeploy(tmp_path, *command, "--seed", attempt, "--out", "out")
        time.sleep(chance.uniform(0.2, 1.05) * full_run_s)
        try:
            (os.killpg if to_group else os.kill)(process.pid, number)
        except ProcessLookupError:
            pass  # it had finished
        code, stderr, survivors = finished(process)
        assert not survivors, (number, to_group, "outlived the command", survivors)
        if number != signal.SIGKILL:  # its answer to the signal: one line at most (besides the progress shown)
            answer = [line for line in stderr.splitlines() if not line.startswith(progress)]
            assert len(answer) <= 1 and "Traceback" not in stderr, (number, to_group, code, stderr)
        seed = seed_shown(out, kind)
        assert seed in (shown, attempt), (number, to_group, code, stderr)
        shown = seed
        assert (out / "notes.md").read_text() == "mine\n"
        assert kind == "run" or (out / "spinn5" / "target" / "plot.svg").read_text() == "<svg/>"
        assert len(left_behind(out)) <= 2, "more than the previous run and the attempt cut short"
    code, stderr, survivors = finished(neurodeploy(tmp_path, *command, "--seed", 99, "--out", "out"))
    assert code == 0 and not survivors, (stderr, survivors)
    assert seed_shown(out, kind) == 99 and len(left_behind(out)) <= 1 and sorted(os.listdir(tmp_path)) == ["out"]
    assert (out / "notes.md").read_text() == "mine\n"
    assert kind == "run" or (out / "spinn5" / "target" / "plot.svg").read_text() == "<svg/>"
