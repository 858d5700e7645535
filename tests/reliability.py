"""Running one CLI invocation in isolation, bounded in time and memory, and judging its answer.

A forked child of the (already importing) test process runs ``neurodeploy.cli.main`` under an address-space
limit, so each generated example costs a fork, not an interpreter start, and a runaway allocation becomes a
failed example instead of a machine out of memory. Backends that start processes of their own (Lava) run in a
subprocess instead, in a session of its own so a timeout ends its children too.
"""

from __future__ import annotations

import faulthandler
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TIME_LIMIT_S = 60.0
"""The issue's bound on any answer, refusal or not."""

MEMORY_LIMIT_BYTES = 3 * 2**30
"""Address space of one invocation: far above what a refused input needs, far below the machine's memory."""


@dataclass
class Outcome:
    """What one invocation answered: exit code (None when it was killed at the time limit), output, time."""

    args: list[str]
    exit_code: int | None
    stdout: str
    stderr: str
    seconds: float

    @property
    def hung(self) -> bool:
        return self.exit_code is None

    def describe(self) -> str:
        return (
            f"neurodeploy {' '.join(self.args)}\n  -> exit {self.exit_code} after {self.seconds:.1f} s"
            f"{' (killed: hung)' if self.hung else ''}\n  stdout: {self.stdout[-1500:]!r}\n"
            f"  stderr: {self.stderr[-3000:]!r}"
        )


def _child(args: list[str], env: dict | None, cwd, stdout_fd: int, stderr_fd: int, memory_bytes: int):
    """Body of the forked child: never returns."""
    code = 1
    try:
        os.setpgid(0, 0)
        os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
        os.dup2(stdout_fd, 1)
        os.dup2(stderr_fd, 2)
        # Streams as a real interpreter has them on a UTF-8 locale (stderr never fails to encode).
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
        sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        faulthandler.disable()  # pytest's, which would write a crash to the test run's stderr, not the child's
        if env:
            os.environ.update(env)
        if cwd is not None:
            os.chdir(cwd)
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        from neurodeploy.cli import main

        try:
            main(args, prog_name="neurodeploy", standalone_mode=True)
            code = 0
        except SystemExit as exit_:
            if exit_.code is None:
                code = 0
            elif isinstance(exit_.code, int):
                code = exit_.code
            else:
                print(exit_.code, file=sys.stderr)
                code = 1
    except BaseException:  # as the interpreter itself would report it
        try:
            traceback.print_exc()
        except BaseException:
            pass
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
        os._exit(code & 0xFF)


def invoke(
    *args, env: dict | None = None, cwd=None, time_limit_s: float = TIME_LIMIT_S, memory_bytes: int = MEMORY_LIMIT_BYTES
) -> Outcome:
    """Run ``neurodeploy ARGS`` in a forked child; kill it (and its process group) at the time limit."""
    args = [os.fsdecode(a) if isinstance(a, (bytes, os.PathLike)) else str(a) for a in args]
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            _child(args, env, cwd, out.fileno(), err.fileno(), memory_bytes)
        exit_code = None
        while True:
            finished, status = os.waitpid(pid, os.WNOHANG)
            if finished:
                exit_code = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() - started > time_limit_s:
                _kill_group(pid)
                os.waitpid(pid, 0)
                break
            time.sleep(0.005)
        seconds = time.monotonic() - started
        return Outcome(args, exit_code, _read(out), _read(err), seconds)


def invoke_subprocess(*args, env: dict | None = None, cwd=None, time_limit_s: float = TIME_LIMIT_S) -> Outcome:
    """Run ``python -m neurodeploy ARGS`` as a fresh interpreter (for backends that fork processes of their own)."""
    args = [os.fsdecode(a) if isinstance(a, (bytes, os.PathLike)) else str(a) for a in args]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "neurodeploy", *args],
        cwd=cwd or ROOT,
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=time_limit_s)
        exit_code = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process.pid)
        stdout, stderr = process.communicate()
        exit_code = None
    return Outcome(
        args,
        exit_code,
        stdout.decode("utf-8", "backslashreplace"),
        stderr.decode("utf-8", "backslashreplace"),
        time.monotonic() - started,
    )


def _kill_group(pid: int):
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _read(file) -> str:
    file.seek(0)
    return file.read().decode("utf-8", "backslashreplace")


def assert_refused(outcome: Outcome, *, naming: str | None = None):
    """The issue's promise for bad input: exit 2, one line on stderr (naming the object when given), no
    traceback, within the time limit."""
    assert not outcome.hung, f"hung:\n{outcome.describe()}"
    assert "Traceback" not in outcome.stdout + outcome.stderr, f"traceback:\n{outcome.describe()}"
    assert outcome.exit_code == 2, f"exit code {outcome.exit_code}, not 2:\n{outcome.describe()}"
    assert_one_line(outcome)
    if naming is not None:
        assert naming in outcome.stderr, f"the error does not name {naming!r}:\n{outcome.describe()}"


def assert_one_line(outcome: Outcome):
    """Exactly one non-empty line on stderr, without a doubled ``error:`` prefix."""
    lines = outcome.stderr.split("\n")
    assert len(lines) == 2 and lines[0].strip() and lines[1] == "", f"not one line on stderr:\n{outcome.describe()}"
    assert "error: error:" not in outcome.stderr, f"doubled prefix:\n{outcome.describe()}"


def assert_succeeded(outcome: Outcome):
    assert not outcome.hung and outcome.exit_code == 0, f"failed:\n{outcome.describe()}"
    assert "Traceback" not in outcome.stdout + outcome.stderr, f"traceback:\n{outcome.describe()}"
