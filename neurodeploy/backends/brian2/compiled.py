"""Brian2's code targets for the reference: Cython-compiled code where Cython and a C++ compiler work,
the numpy target otherwise (or when asked for).

Compiled modules are cached per user, outside any checkout: in ``$NEURODEPLOY_BRIAN2_CACHE``, else
``$XDG_CACHE_HOME/neurodeploy/brian2`` (``~/.cache`` when unset). A network's first run compiles its
code (seconds per Brian2 object); later runs of the same code, in any network, load it.

Rejected: Brian2's ``cpp_standalone`` device. It builds one C++ project per network and runs it in
one go: the reference's run segments (spike sources loaded per segment), its network operations
(injected currents, rewiring, schedules) and its progress reports are Python between or during the
steps, which a standalone binary does not call back.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import sys
from pathlib import Path

import brian2 as b2

from neurodeploy.errors import BackendError

TARGETS = ("auto", "cython", "numpy")
"""The backend option ``codegen``: ``auto`` is Cython when it compiles here, numpy otherwise."""

DEFAULT_VARIABLE = "NEURODEPLOY_BRIAN2_CODEGEN"
"""The environment variable that chooses the code target of runs that do not give the option (every
reference a deploy runs and every run of an explanation, too); ``auto`` when unset. The test suite sets
``numpy``: a cold cache would compile each of its many distinct networks once."""


def default_choice() -> str:
    """The ``codegen`` of a run that does not give it."""
    choice = os.environ.get(DEFAULT_VARIABLE) or "auto"
    if choice not in TARGETS:
        raise BackendError(f"{DEFAULT_VARIABLE}={choice!r} is not one of {', '.join(TARGETS)}")
    return choice


COMPILE_FLAGS = ["-w", "-O2", "-march=native", "-ffp-contract=off", "-std=c++17", "-g0"]
"""Brian2's default flags without ``-ffast-math`` and with no fused multiply-add: compiled code rounds
every operation as numpy does, so both targets compute the same floats and the same spikes; only ``exp``
(float STDP's traces, the physics mode) is numpy's own vectorised code on one and the C library's on the
other, which differ in the last bit for some arguments. ``-O2`` and no debug information (Python's own
flags ask for it) compile much faster than ``-O3 -g``, and the loops Brian2 generates run as fast."""


def cache_folder() -> Path:
    """Where compiled modules are kept (the module docstring says which folder)."""
    if os.environ.get("NEURODEPLOY_BRIAN2_CACHE"):
        return Path(os.environ["NEURODEPLOY_BRIAN2_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "neurodeploy" / "brian2"


def code_target(choice: str) -> str:
    """The Brian2 code target a run uses for the option's ``choice``, Brian2's preferences set for it."""
    if choice == "numpy":
        b2.prefs.codegen.target = "numpy"
        return "numpy"
    folder = cache_folder()
    b2.prefs.codegen.runtime.cython.cache_dir = str(folder)
    b2.prefs.codegen.cpp.extra_compile_args_gcc = COMPILE_FLAGS
    unavailable = _cython_unavailable(str(folder))
    if unavailable is None:
        b2.prefs.codegen.target = "cython"
        return "cython"
    if choice == "cython":
        raise BackendError(f"backend 'brian2': codegen=cython needs compiled code, but {unavailable}")
    _notice(unavailable)
    b2.prefs.codegen.target = "numpy"
    return "numpy"


@functools.cache
def _cython_unavailable(folder: str) -> str | None:
    """Why Cython code cannot be compiled and loaded here (a test module in ``folder``), or None."""
    if importlib.util.find_spec("Cython") is None:
        return "Cython is not installed"
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return f"its cache folder {folder} cannot be made ({error.strerror})"
    from brian2.codegen.runtime.cython_rt import CythonCodeObject

    b2.BrianLogger.suppress_name("failed_compile_test")  # our notice says it in one line
    if not CythonCodeObject.is_available():
        return "a test compilation with the C++ compiler failed"
    return None


@functools.cache
def _notice(reason: str):
    print(f"notice: brian2 runs numpy code (slower): {reason}", file=sys.stderr)
