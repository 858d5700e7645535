"""Runs a lowered network in the Lava worker (:mod:`.worker`, in the Lava environment) and reads back what
it produced: the main process never imports Lava.

The worker runs in a session of its own (a terminal's Ctrl-C reaches this process, which decides how the
run stops), dies with this process (``PR_SET_PDEATHSIG``, also when this one is SIGKILLed), and is always
stopped: on return, on errors, on a termination signal and on the timeout, first asked (SIGTERM: it
stops Lava), then killed with everything it started. Its failures come back as one error naming its log,
kept with the exchanged files; on any other way out the folder is removed. A command that was SIGKILLed
cannot remove its folder: the next run removes the folders of commands that are gone, unless kept.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psutil

from neurodeploy.backends.lava import Lowered, number_types, write_parameters
from neurodeploy.backends.lava.environment import LavaEnvironment, default_location
from neurodeploy.backends.lava.exchange import (
    ERROR,
    LOG,
    NETWORK,
    PARAMETERS,
    PARENT_PID,
    REFUSED,
    REQUEST,
    RESULT,
    LavaRun,
    read_progress,
    read_result,
)
from neurodeploy.description import io
from neurodeploy.errors import BackendError
from neurodeploy.processes import STOP_WITHIN_S, stopped_on_exit
from neurodeploy.results import Progress, enter_stage

FOLDER_PREFIX = "neurodeploy-lava-"
"""Exchange folders are ``FOLDER_PREFIX<pid of the command>-<random>`` in the temporary folder."""
KEPT = "kept"
"""The file marking a folder kept for its log."""
POLL_S = 0.1
KILL_AFTER_S = STOP_WITHIN_S + 5.0
"""How long a worker asked to stop has before it is killed: its own stop of Lava is bounded by
``STOP_WITHIN_S``."""
CLEAN_UP_S = 3.0
"""How long the session of a worker killed by a signal has to end by itself (its resource tracker
unlinking the shared memory of Lava's processes) before the rest is killed."""


def run_in_worker(
    lowered: Lowered,
    ticks: int,
    progress: Progress | None = None,
    probes=(),
    parameters: Path | None = None,
    timeout_s: float | None = None,
    environment: LavaEnvironment | None = None,
) -> LavaRun:
    """Run ``ticks`` of the lowered network in the Lava worker. ``parameters``: the compile's
    ``lava_parameters.npz`` (written here when not given); ``probes``: (population, variable) pairs of
    integer state to record."""
    environment = environment or LavaEnvironment(default_location())
    environment.require()
    folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-"))
    remove_abandoned(folder.parent)
    kept = False  # a failure of the worker's keeps the folder, which its message names; nothing else does
    try:
        io.save(lowered.network, folder / NETWORK)
        if parameters is None:
            write_parameters(lowered, folder / PARAMETERS)
        else:
            shutil.copyfile(parameters, folder / PARAMETERS)
        (folder / REQUEST).write_text(
            json.dumps({"ticks": ticks, "probes": [list(probe) for probe in probes], "numbers": number_types(lowered)})
        )
        with open(folder / LOG, "wb") as log:
            # Isolated (-I): the linked package, never a ``neurodeploy`` (or ``numpy``...) of the user's folder
            # or PYTHONPATH, which ``-m`` would put first; run in the exchange folder, which holds what it leaves.
            worker = subprocess.Popen(
                [str(environment.python), "-I", "-m", "neurodeploy.backends.lava.worker", str(folder)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=folder,
                env={**os.environ, PARENT_PID: str(os.getpid())},
            )

        timed_out = _watch(worker, folder, lambda: _stop(worker), timeout_s, progress)
        if not timed_out and (folder / REFUSED).exists():
            raise BackendError((folder / REFUSED).read_text().strip())
        kept = timed_out or worker.returncode != 0 or not (folder / RESULT).exists()
        if kept:
            (folder / KEPT).touch()
        if timed_out:
            raise BackendError(
                f"the Lava worker did not finish within the timeout of {timeout_s:g} s and was "
                f"stopped (log: {folder / LOG})"
            )
        if kept:
            raise BackendError(_failure(folder, worker.returncode))
        return read_result(folder)
    finally:
        if not kept:
            shutil.rmtree(folder, ignore_errors=True)


def remove_abandoned(root: Path) -> None:
    """Remove this user's exchange folders whose command is gone (SIGKILLed before it could), except the
    ones kept for a failure, whose log an error message named."""
    for folder in root.glob(f"{FOLDER_PREFIX}*-*"):
        owner = folder.name[len(FOLDER_PREFIX) :].split("-")[0]
        try:
            abandoned = (
                owner.isdigit()
                and not psutil.pid_exists(int(owner))
                and folder.stat().st_uid == os.getuid()
                and not (folder / KEPT).exists()
            )
        except OSError:  # removed meanwhile
            continue
        if abandoned:
            shutil.rmtree(folder, ignore_errors=True)


def _stop(worker: subprocess.Popen) -> None:
    """Ask the worker to stop (it stops Lava), kill it if it has not within ``KILL_AFTER_S``, then kill what
    is left of its session. A worker that died by a signal stopped no Lava: its Lava processes die with it
    and its resource tracker, once their pipes are closed, unlinks the shared memory they held, so the
    session is given ``CLEAN_UP_S`` to end by itself (killed at once, the tracker left the memory in
    /dev/shm)."""
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(KILL_AFTER_S)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    deadline = time.monotonic() + (CLEAN_UP_S if worker.returncode < 0 else 0.0)
    try:
        while time.monotonic() < deadline:
            os.killpg(worker.pid, 0)
            time.sleep(POLL_S / 2)
        os.killpg(worker.pid, signal.SIGKILL)  # whatever is left: Lava's processes, a tracker that hangs
    except ProcessLookupError:  # the session has ended
        pass


def _watch(worker, folder: Path, stop, timeout_s: float | None, progress: Progress | None) -> bool:
    """Wait for the worker, passing on its progress, until it ends or the timeout passes (True); stop it on
    the way out, whatever the way. The worker reports after each chunk of ticks: until its first report it
    builds (starts, imports Lava, builds and compiles the graph, runs the first chunk); after its last it
    reads the processes' final state back, stops Lava and writes its result."""
    started = time.monotonic()
    reported = None
    with stopped_on_exit("the lava run", stop, KILL_AFTER_S + CLEAN_UP_S + 5.0):
        while worker.poll() is None:
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                return True
            try:
                worker.wait(POLL_S)
            except subprocess.TimeoutExpired:
                pass
            fraction = read_progress(folder)
            if progress is None or fraction is None or fraction == reported:
                continue
            if reported is None:
                enter_stage(progress, "simulate")
            progress(fraction)
            reported = fraction
            if fraction >= 1.0:
                enter_stage(progress, "read_back")
    if reported is None or reported < 1.0:
        enter_stage(progress, "read_back")
    return False


def _failure(folder: Path, code: int) -> str:
    log = folder / LOG
    try:
        message = (folder / ERROR).read_text().strip()
    except FileNotFoundError:
        message = ""
    if code < 0:
        message = f"killed by {signal.Signals(-code).name}" + (f" ({message})" if message else "")
    return f"the Lava worker failed: {message or f'exit code {code}'} (log: {log})"
