"""Processes neurodeploy starts end with it.

Lava forks its workers (multiprocessing's ``fork`` start method, from the thread that calls ``run``).
Every forked child asks the kernel to SIGKILL it when its parent dies (``PR_SET_PDEATHSIG``), so even a
SIGKILLed CLI leaves no worker behind, and it ignores the termination signals: a Ctrl-C reaches the
whole process group, and the parent, not each worker, decides how the run stops. multiprocessing's
resource tracker is started by fork+exec (no fork hooks) but exits once every copy of its pipe is
closed, that is with the parent and the forked children; it ignores the termination signals itself.

In the parent a termination signal raises :class:`Interrupted` in the main thread (like
``KeyboardInterrupt``), so that every ``finally`` on the way out runs; :func:`stopped_on_exit` stops a
running engine there within a bounded time, killing its workers if the engine cannot stop itself.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from contextlib import contextmanager
from multiprocessing import resource_tracker

from neurodeploy.errors import BackendError

TERMINATION_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
STOP_WITHIN_S = 10.0
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
"""Resolved here, in the parent: a forked child of a threaded process must not load libraries."""


class Interrupted(BaseException):
    """A termination signal arrived. A BaseException, like KeyboardInterrupt, so that no
    ``except Exception`` on the way out swallows it."""

    def __init__(self, signum: int):
        self.signal = signal.Signals(signum)
        self.stopped: list[str] = []  # what was stopped on the way out, for the one line the user sees
        super().__init__(self.signal.name)

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signal


class _Signals:
    """What the handler does now: raise, hold the signal back (while Lava forks its workers) or only
    note it (while cleaning up, which a second Ctrl-C must not break)."""

    first: Interrupted | None = None
    holding = False
    cleaning_up = False


def _on_termination_signal(signum, frame):
    if _Signals.first is None:
        _Signals.first = Interrupted(signum)
    if not (_Signals.holding or _Signals.cleaning_up):
        # Raised again on every signal until handled: one raised inside a fork hook or a __del__ is lost.
        raise Interrupted(_Signals.first.signal)


@contextmanager
def termination_signals_raise():
    """Within the block, SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` in the main thread. A signal
    the process was started with ignored (``nohup``) stays ignored; the previous handlers come back after
    the block."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _Signals.first, _Signals.holding, _Signals.cleaning_up = None, False, False
    previous = {signum: signal.getsignal(signum) for signum in TERMINATION_SIGNALS}
    previous_hook = sys.unraisablehook

    def raised_again(unraisable):
        # Raised inside a finalizer (a weakref callback, a __del__), where Python prints and drops it: sent
        # again from another thread, to be raised once the finalizer is over, where the command can answer it.
        if isinstance(unraisable.exc_value, Interrupted):
            again = threading.Timer(0.05, os.kill, (os.getpid(), unraisable.exc_value.signal))
            again.daemon = True
            again.start()
        else:
            previous_hook(unraisable)

    for signum, handler in previous.items():
        if handler != signal.SIG_IGN:
            signal.signal(signum, _on_termination_signal)
    sys.unraisablehook = raised_again
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def cleaning_up() -> None:
    """From now on termination signals are only noted: the process is already on its way out."""
    _Signals.cleaning_up = True


@contextmanager
def signals_held():
    """Termination signals wait until the end of the block (Lava starting its workers, which a stop
    cannot end cleanly), then raise."""
    _Signals.holding = True
    try:
        yield
    finally:
        _Signals.holding = False
    if _Signals.first is not None and not _Signals.cleaning_up:
        raise Interrupted(_Signals.first.signal)


_parent_pid: int | None = None
_hooks_registered = False


def _before_fork():
    global _parent_pid
    if _tied_depth:
        _parent_pid = os.getpid()
        # Held back until the child has set its own dispositions (it would run the parent's handler).
        signal.pthread_sigmask(signal.SIG_BLOCK, TERMINATION_SIGNALS)


def _after_fork_in_parent():
    if _tied_depth:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, TERMINATION_SIGNALS)


def _after_fork_in_child():
    global _tied_depth
    if not _tied_depth:
        return
    _tied_depth = 0  # the child's own children are its business
    end_with_parent(_parent_pid)


def end_with_parent(parent_pid: int | None = None) -> None:
    """In a new child (a fork hook, or ``preexec_fn`` of a subprocess): die when the parent dies, and
    leave the termination signals to the parent."""
    for signum in TERMINATION_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, TERMINATION_SIGNALS)
    die_with_parent(parent_pid)


def die_with_parent(parent_pid: int | None = None) -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux), and die now if ``parent_pid``,
    the parent it was started by, is already gone."""
    if _prctl is not None and _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        os._exit(1)  # a worker that could outlive us must not run
    if parent_pid is not None and os.getppid() != parent_pid:  # the parent died before the request took effect
        os.kill(os.getpid(), signal.SIGKILL)


_tied_depth = 0


@contextmanager
def forked_children_end_with_parent():
    """Within the block, every child this process forks dies with it and leaves termination signals to
    it (Linux; elsewhere nothing changes). Only within the block: other users of multiprocessing keep
    ``Process.terminate()`` working."""
    global _hooks_registered, _tied_depth
    if not sys.platform.startswith("linux"):
        yield
        return
    if not _hooks_registered:
        os.register_at_fork(
            before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child
        )
        _hooks_registered = True
    _start_resource_tracker_ignoring_hangup()
    _tied_depth += 1
    try:
        yield
    finally:
        _tied_depth -= 1


def _start_resource_tracker_ignoring_hangup() -> None:
    """The resource tracker ignores SIGINT and SIGTERM itself, not the SIGHUP of a closing terminal,
    which would kill it (and have multiprocessing warn and start another). An ignored signal stays
    ignored across exec, so it is started here with SIGHUP ignored (and held back, not lost, meanwhile)."""
    if threading.current_thread() is not threading.main_thread():
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, previous)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGHUP})


def _kill_workers() -> None:
    for child in multiprocessing.active_children():
        child.kill()
    for child in multiprocessing.active_children():
        multiprocessing.Process.join(child, 1.0)  # Lava's SystemProcess.join takes no timeout


def _stop_within(what: str, stop, within_s: float) -> BaseException | None:
    """Call ``stop()`` in a helper thread, so that a stop that hangs (a worker died) cannot hold the
    process; kill the workers if it fails or hangs. Returns what went wrong, if anything."""
    failure: list[BaseException] = []

    def call_stop():
        try:
            stop()
        except BaseException as error:  # handed to the calling thread
            failure.append(error)

    stopper = threading.Thread(target=call_stop, name=f"stop {what}", daemon=True)
    stopper.start()
    interrupted = None
    while stopper.is_alive():
        try:
            stopper.join(within_s)
            break
        except Interrupted as signal_during_stop:  # let the stop finish, then report the signal
            cleaning_up()
            interrupted = signal_during_stop
            interrupted.stopped.append(what)
    if stopper.is_alive() or failure:
        _kill_workers()
    if interrupted is not None:
        return interrupted
    if failure:
        return BackendError(f"{what} did not stop cleanly: {type(failure[0]).__name__}: {failure[0]}")
    if stopper.is_alive():
        return BackendError(f"{what} did not stop within {within_s:g} s; its workers were killed")
    return None


@contextmanager
def stopped_on_exit(what: str, stop, within_s: float = STOP_WITHIN_S):
    """Run the body, then always call ``stop()``: on return, on error and on a signal. Whatever went
    wrong in the body is what is raised; a failed stop is raised only after a body that succeeded."""
    try:
        yield
    except Interrupted as interrupted:
        cleaning_up()
        interrupted.stopped.append(what)
        _stop_within(what, stop, within_s)
        raise
    except BaseException:
        _stop_within(what, stop, within_s)
        raise
    problem = _stop_within(what, stop, within_s)
    if problem is not None:
        raise problem
