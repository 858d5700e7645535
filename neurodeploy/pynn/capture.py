"""A PyNN script, run unchanged on ``neurodeploy.pynn``: ``import pyNN.spiNNaker as sim`` (or any of PyNN's
simulator modules, or sPyNNaker's ``spynnaker8``) gets this module while the script runs, with sPyNNaker's
extras that only place a network on the machine accepted as no-ops. :func:`capture` takes the description
the script's ``run`` builds without simulating it; :func:`run_script` runs the script on the backend its
``setup`` chose. Either restores the imports, ``sys.argv`` and ``sys.path`` afterwards, and reports an error
in the script as one line naming its file and line."""

from __future__ import annotations

import contextlib
import io
import os
import runpy
import sys
import traceback
import types
from pathlib import Path

import numpy as np

import neurodeploy.pynn as pynn
from neurodeploy.description import Network
from neurodeploy.errors import NeurodeployError, ValidationError
from neurodeploy.pynn import simulator
from neurodeploy.results import RunResult, SpikeRecord

SIMULATOR_MODULES = (
    "pyNN.spiNNaker",
    "pyNN.nest",
    "pyNN.brian2",
    "pyNN.neuron",
    "pyNN.mock",
    "pyNN.neurodeploy",
    "spynnaker8",
    "spynnaker.pyNN",
)
"""The names a script may import its simulator module under; each is this front end while it runs."""

PLACEMENT_ONLY = (
    "set_number_of_neurons_per_core",
    "set_number_of_synapse_cores",
    "set_allow_delay_extensions",
    "set_number_of_neurons_per_dimension_per_core",
)
"""sPyNNaker's functions that say how a network is cut into cores, which changes nothing it computes."""


def simulator_module(name: str) -> types.ModuleType:
    """``neurodeploy.pynn`` under a simulator module's name, with sPyNNaker's placement-only extras."""
    module = types.ModuleType(name, pynn.__doc__)
    module.__dict__.update({key: value for key, value in vars(pynn).items() if not key.startswith("__")})
    for extra in PLACEMENT_ONLY:
        module.__dict__[extra] = _ignored
    if "extra_models" not in module.__dict__:  # sPyNNaker's own models (SpikeNearestPairRule), where this has them
        module.extra_models = types.SimpleNamespace(**{k: v for k, v in vars(pynn).items() if not k.startswith("_")})
    return module


def _ignored(*args, **kwargs):
    """Accepted and ignored: it places the network on SpiNNaker's cores, it does not change it."""


class _EmptyBackend:
    """Simulates nothing: a script's reads during capture see an empty recording."""

    def run(self, network: Network, duration_ms: float, progress=None) -> RunResult:
        populations = {label: [np.empty(0)] * network.size_of(label) for label in network.recordings}
        traces = {
            label: {
                name: np.full((round(duration_ms / network.semantics.dt), network.size_of(label)), np.nan)
                for name in variables
                if name != "spikes"
            }
            for label, variables in network.recordings.items()
        }
        weights = {
            label: {
                "pre": network.connections(label).pre,
                "post": network.connections(label).post,
                "weight": np.full(len(network.connections(label).pre), np.nan),
            }
            for label, projection in network.projections.items()
            if projection.plasticity is not None
        }
        rewiring = {label for label, projection in network.projections.items() if projection.structural is not None}
        return RunResult(
            SpikeRecord(network.semantics.dt, duration_ms, "capture", populations),
            traces,
            weights,
            structural={"events": {label: [] for label in rewiring}} if rewiring else None,
        )


@contextlib.contextmanager
def _script_context(path: Path, arguments: list[str]):
    """Run with the simulator modules mapped to this front end, ``sys.argv`` the script's, its folder first
    on ``sys.path``, and matplotlib drawing to no window; everything put back afterwards."""
    saved_modules = {name: sys.modules.get(name) for name in SIMULATOR_MODULES}
    # ``import pyNN.spiNNaker as sim`` takes the package's attribute before sys.modules: set both
    parents = {name: sys.modules.get(name.rpartition(".")[0]) for name in SIMULATOR_MODULES if "." in name}
    saved_attributes = {
        name: getattr(parent, name.rpartition(".")[2], None) for name, parent in parents.items() if parent is not None
    }
    saved_argv, saved_path = sys.argv, list(sys.path)
    saved_backend = os.environ.get("MPLBACKEND")
    for name in SIMULATOR_MODULES:
        sys.modules[name] = simulator_module(name)
        if parents.get(name) is not None:
            setattr(parents[name], name.rpartition(".")[2], sys.modules[name])
    sys.argv = [str(path), *arguments]
    sys.path.insert(0, str(path.parent))
    os.environ["MPLBACKEND"] = "Agg"
    try:
        yield
    finally:
        for name, module in saved_modules.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
        for name, attribute in saved_attributes.items():
            parent, child = parents[name], name.rpartition(".")[2]
            if attribute is None:
                delattr(parent, child)
            else:
                setattr(parent, child, attribute)
        sys.argv, sys.path[:] = saved_argv, saved_path
        if saved_backend is None:
            os.environ.pop("MPLBACKEND", None)
        else:
            os.environ["MPLBACKEND"] = saved_backend
        simulator.state.write_on_end = []
        simulator.state.clear()


def _execute(path: Path, arguments: list[str]) -> None:
    """Run the script as ``python path arguments`` would, its failures one line naming its file and line."""
    if not path.is_file():
        raise ValidationError(f"script '{path}'", None, "no such file")
    with _script_context(path, arguments):
        try:
            runpy.run_path(str(path), run_name="__main__")
        except SystemExit as error:
            if error.code not in (None, 0):
                raise ValidationError(f"script '{path}'", None, f"exited with status {error.code}") from None
        except NeurodeployError as error:
            raise ValidationError(_where(path, error), None, str(error)) from None
        except Exception as error:
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            raise ValidationError(
                _where(path, error), None, f"{type(error).__name__}: {message}" if message else type(error).__name__
            ) from None


def _where(path: Path, error: BaseException) -> str:
    """``script 'PATH', line N``: the last line of the script the error passed through (of a syntax error,
    its own line)."""
    resolved = path.resolve()
    if isinstance(error, SyntaxError) and error.filename and Path(error.filename).resolve() == resolved:
        return f"script '{path}', line {error.lineno}"
    lines = [
        frame.lineno
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename and Path(frame.filename).resolve() == resolved
    ]
    return f"script '{path}', line {lines[-1]}" if lines else f"script '{path}'"


def capture(path, arguments: list[str] | None = None) -> Network:
    """The description a PyNN script's ``run`` builds (its duration the run's end, its spike sources' times
    the stimulus, setup's time step the semantics' dt), taken without simulating anything when its block of
    runs ends (at ``reset``, ``end`` or the script's end). A script that never calls ``run`` is refused;
    after several blocks, the last one's description. What the script prints is not shown: it reads empty
    recordings here, and would report them."""
    path = Path(path)
    captured: list[Network] = []
    saved = simulator.make_backend
    simulator.make_backend = lambda name, **options: _EmptyBackend()
    simulator.state.block_observer = captured.append
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            _execute(path, list(arguments or []))
    finally:
        simulator.make_backend = saved
        simulator.state.block_observer = None
    if not captured:
        raise ValidationError(
            f"script '{path}'", None, "never calls run(): no network to take (a builder is given as path.py:function)"
        )
    network = captured[-1]
    network.name = path.stem  # the script's name, as the catalog names the model
    return network


def run_script(path, arguments: list[str] | None = None) -> None:
    """Run a PyNN script on this front end and the backend its ``setup`` chose, as ``python`` would run it
    with a PyNN simulator installed."""
    _execute(Path(path), list(arguments or []))
