"""The ``neurodeploy`` command line. It only wires the description layer, backends and runs.

Exit codes: 0 success, 1 a comparison failed its thresholds or a backend failed, 2 bad input, 141 the
reader of its output stopped reading (quietly).
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import math
import os
import resource
import select
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import TextIO

import click

from neurodeploy import __version__, catalog, explainer, pipeline, processes
from neurodeploy.backends import backend_class, backend_names
from neurodeploy.compilation import Thresholds
from neurodeploy.description import resources
from neurodeploy.errors import BackendError, NeurodeployError, ValidationError, one_line
from neurodeploy.report import REPORT, write_report
from neurodeploy.runs import deployment
from neurodeploy.runs.compare import compare_runs, measure_lines, spikes_table
from neurodeploy.runs.explain import MAX_RUNS
from neurodeploy.runs.rundir import MANIFEST, SPIKES, read_run, staged_directory, write_document, write_run_files

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_STDOUT_CLOSED = 128 + signal.SIGPIPE
"""What a shell reports for a writer whose reader went away (``neurodeploy ... | head``)."""


def internal_error_log(error: BaseException) -> Path:
    """Write the full trace of an unexpected error to a new file in the user's cache folder; its path."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cache / "neurodeploy" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"internal-error-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.log"
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    path.write_text(
        f"neurodeploy {__version__}, python {sys.version.split()[0]}\ncommand: {' '.join(sys.argv)}\n\n{trace}",
        errors="backslashreplace",
    )
    return path


def stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader has gone: a broken pipe there is the reader's choice (``| head``),
    not a failure; one to a child process is."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a file (captured by a test runner): never closed
        return False
    poller = select.poll()
    poller.register(descriptor, select.POLLOUT)
    return any(events & select.POLLERR for _, events in poller.poll(0))


def exit_if_stdout_closed():
    """End without a word, as a shell pipeline expects, when stdout's reader has stopped reading: what is left
    to print goes to the null device (Python flushes stdout once more on its way out)."""
    if stdout_closed():
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_STDOUT_CLOSED)


@contextlib.contextmanager
def quiet_when_stdout_closes():
    try:
        yield
    except BrokenPipeError:
        exit_if_stdout_closed()
        raise


def _fail(message: str, code: int):
    click.echo(one_line(message), err=True)
    sys.exit(code)


def reports_errors(command):
    """Whatever happens in a command ends in one line on stderr and an exit code, never a traceback:
    bad input 2, a toolchain failure 1, an unexpected error 1 with the trace in a log file, a
    termination signal 128 + its number after stopping what was running; stdout closed by its reader, nothing
    and :data:`EXIT_STDOUT_CLOSED`."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        previous_cap = resource.getrlimit(resource.RLIMIT_DATA)
        with processes.termination_signals_raise():
            try:
                cap = cap_memory()
                return command(*args, **kwargs)
            except (click.ClickException, click.exceptions.Exit, click.Abort):
                raise  # click's own ways out of a command, answered by click
            except MemoryError:
                _fail(
                    f"error: out of memory: an allocation exceeds the memory limit of {resources.format_size(cap)} "
                    f"({resources.RAISE_IT})",
                    EXIT_BAD_INPUT,
                )
            except ValidationError as error:
                _fail(f"error: {error}", EXIT_BAD_INPUT)
            except NeurodeployError as error:
                _fail(f"error: {error}", EXIT_FAILED)
            except processes.Interrupted as interrupted:
                stopped = f": stopped {' and '.join(interrupted.stopped)}" if interrupted.stopped else ""
                _fail(f"interrupted by {interrupted.signal.name}{stopped}", interrupted.exit_code)
            except KeyboardInterrupt:
                _fail("interrupted by SIGINT", 128 + signal.SIGINT)
            except SystemExit as exit_request:  # our own exits are click.exceptions.Exit: this is user code's
                _fail(f"error: model code called sys.exit({exit_request.code!r}) during the command", EXIT_BAD_INPUT)
            except BrokenPipeError as error:
                exit_if_stdout_closed()
                _internal_error(error)
            except Exception as error:
                _internal_error(error)
            finally:
                resource.setrlimit(resource.RLIMIT_DATA, previous_cap)
                resources.set_memory_limit(None)

    return wrapper


def _internal_error(error: Exception):
    try:
        where = f"full trace in {internal_error_log(error)}"
    except OSError as unwritable:
        where = f"no trace kept: cannot write a log: {unwritable}"
    _fail(f"internal error: {type(error).__name__}: {error} ({where})", EXIT_FAILED)


SMALLEST_CAP = 10**9
"""The process cap is never below this: loading the backends' libraries needs a few hundred MB, and
OpenBLAS spins instead of failing when it cannot get its buffers."""


def cap_memory() -> int:
    """Cap the data segment of this process (and of the children it starts) at the memory limit, so
    that an allocation the estimates missed raises MemoryError instead of exhausting the machine."""
    limit = max(resources.memory_limit(), SMALLEST_CAP)
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    resource.setrlimit(resource.RLIMIT_DATA, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    address_space, _ = resource.getrlimit(resource.RLIMIT_AS)  # a cap set by the caller holds too
    return limit if address_space == resource.RLIM_INFINITY else min(limit, address_space)


class MemorySize(click.ParamType):
    """A size in bytes: 8GB, 512MB, 2GiB."""

    name = "size"

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        try:
            return resources.parse_size(value)
        except ValueError as error:
            self.fail(str(error), param, ctx)


memory_limit_option = click.option(
    "--memory-limit",
    type=MemorySize(),
    expose_value=False,
    metavar="SIZE",
    callback=lambda ctx, param, value: resources.set_memory_limit(value),
    help=f"Refuse, before allocating, what would need more memory than this (e.g. 8GB; default: "
    f"${resources.ENVIRONMENT_VARIABLE}, else the memory available now).",
)


STAGE_WORDS = {
    "load": "loading",
    "build": "building",
    "codegen": "generating Brian2's code",
    "simulate": "simulating",
    "read_back": "reading back",
}
"""How the progress line names the stages of a run (``results.STAGES``) it shows."""

STAGE_HINTS = {
    "codegen": (
        10.0,
        "Brian2 compiles a network's code on its first run on Cython (seconds per object; later runs load it) and "
        "builds its spike queues; to run without compiling: --backend-option codegen=numpy (run), "
        "NEURODEPLOY_BRIAN2_CODEGEN=numpy (any command)",
    ),
}
"""What the progress line says once, on a line of its own, when a stage has lasted so many seconds: why it
may take long, and what to do about it."""


class ProgressLine:
    """Shows on stderr, once a command has taken more than ``after_s`` seconds and then every ``every_s``,
    where it is: while its run simulates, the share of simulated time done and an estimate of the time left
    (the simulation so far, at its pace); a stage that reports no fraction (a build, a read-back) once it has
    itself lasted ``after_s``, from a ticker thread (so a refusal early in a stage stays one line). It writes to
    ``stream``, else to ``sys.stderr``, and stops at the first write that fails: it is advice, never the reason a
    run fails."""

    def __init__(
        self,
        what: str,
        after_s: float = 2.0,
        every_s: float = 2.0,
        clock=time.perf_counter,
        ticker=True,
        stream: TextIO | None = None,
    ):
        self.what, self.stream = what, stream
        self.after_s, self.every_s, self.clock = after_s, every_s, clock
        self.started = clock()
        self.last_shown = None
        self.current, self.stage_started = None, self.started
        self.fraction, self.simulating_since, self.simulated_before = None, None, 0.0
        self._hinted, self._silenced = set(), False
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="progress line", daemon=True) if ticker else None
        if self._ticker is not None:
            self._ticker.start()

    @property
    def shown(self) -> bool:
        return self.last_shown is not None

    def stage(self, text: str):
        """Announce a stage of a long command (always shown)."""
        with self._lock:
            self._end_line()
            self.last_shown, self.current, self.fraction, self.simulating_since = None, None, None, None
            self._write(f"{self.what}: {text}\n")

    def enter_stage(self, stage: str):
        """The run enters one of ``results.STAGES``."""
        with self._lock:
            self.current, self.stage_started = stage, self.clock()
            if stage == "simulate":
                self.simulating_since, self.simulated_before, self.fraction = self.stage_started, 0.0, None

    def __call__(self, fraction: float):
        with self._lock:
            self.fraction = fraction
            if self.simulating_since is None:  # a backend that tells no stages: paced from its first report
                self.simulating_since, self.simulated_before = self.clock(), fraction
        self.refresh(force=fraction >= 1)

    def time_left(self, now: float) -> float | None:
        """Seconds the simulation should still take at its pace so far; None before any of it is done."""
        if not self._simulating() or self.simulating_since is None or self.fraction <= self.simulated_before:
            return None
        if now <= self.simulating_since:
            return None
        pace = (self.fraction - self.simulated_before) / (now - self.simulating_since)
        return (1 - self.fraction) / pace

    def text(self, now: float) -> str:
        """The line as it reads at ``now``."""
        elapsed = now - self.started
        if self._simulating():
            left = self.time_left(now)
            estimate = "" if left is None or self.fraction >= 1 else f", about {left:.0f} s left"
            status = f"simulating, {self.fraction:6.1%} of simulated time after {elapsed:5.1f} s{estimate}"
        else:
            word = STAGE_WORDS.get(self.current, self.current)
            status = f"{word} for {now - self.stage_started:.1f} s, after {elapsed:5.1f} s"
        return f"{self.what}: {status}"

    def _simulating(self) -> bool:
        """Whether fractions are coming: the run simulates (or its backend tells no stages)."""
        return self.fraction is not None and self.current in (None, "simulate")

    def refresh(self, force: bool = False):
        """Show the line if it is due (the ticker calls this every half period)."""
        with self._lock:
            now = self.clock()
            if now - self.started < self.after_s:
                return
            if not self._simulating() and (self.current is None or now - self.stage_started < self.after_s):
                return
            if not force and self.shown and now - self.last_shown < self.every_s:
                return
            self._hint(now)
            self.last_shown = now
            end = "\x1b[K\r" if self._on_terminal() else "\n"  # a terminal's line cleared past the text
            self._write(self.text(now) + end)  # one write: the line stays whole

    def _hint(self, now: float):
        hint = STAGE_HINTS.get(self.current)
        if hint is not None and self.current not in self._hinted and now - self.stage_started >= hint[0]:
            self._hinted.add(self.current)
            self._end_line()
            self._write(f"{self.what}: {hint[1]}\n")

    def _tick(self):
        while not self._stopped.wait(self.every_s / 2):
            self.refresh()

    def _end_line(self):
        if self.shown and self._on_terminal():
            self._write("\n")

    def _output(self) -> TextIO | None:
        """Where the line goes: None where there is no stderr, or once a write has failed (a closed pipe)."""
        return None if self._silenced else self.stream or sys.stderr

    def _on_terminal(self) -> bool:
        out = self._output()
        return out is not None and out.isatty()

    def _write(self, text: str):
        """Write and flush ``text``, where the line goes."""
        out = self._output()
        if out is None:
            return
        try:
            click.echo(text, file=out, nl=False)
        except (OSError, ValueError):  # ValueError: a closed stream
            self._silenced = True

    def close(self):
        self._stopped.set()
        if self._ticker is not None and self._ticker is not threading.current_thread():
            self._ticker.join()
        with self._lock:
            self._end_line()


class FiniteFloat(click.FloatRange):
    """A float option in a range; click's FloatRange lets nan (and inf when unbounded) through."""

    name = "finite float"

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{number} is not a finite number.", param, ctx)
        return number


class OneLineErrors(click.Group):
    """Click's own refusals (an option value out of range, a missing argument) as one line and exit 2,
    like every other bad input, instead of click's usage block. Its help and version, like every command's
    output, end quietly when stdout's reader stops reading (click would exit 1)."""

    def make_context(self, *args, **kwargs):
        with quiet_when_stdout_closes():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx):
        with quiet_when_stdout_closes():
            return super().invoke(ctx)

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as error:  # no command: the help, as click shows it
            error.show()
            sys.exit(EXIT_BAD_INPUT)
        except click.ClickException as error:
            command = error.ctx.info_name + ": " if getattr(error, "ctx", None) is not None else ""
            click.echo(f"error: {command}{one_line(error.format_message())}", err=True)
            sys.exit(EXIT_BAD_INPUT if isinstance(error, click.UsageError) else error.exit_code)
        except click.Abort:  # Ctrl-C while click reads the command line
            click.echo("interrupted by SIGINT", err=True)
            sys.exit(128 + signal.SIGINT)
        sys.exit(result if isinstance(result, int) else 0)


def _key_values(pairs, option: str) -> dict:
    try:
        return catalog.parse_parameters(pairs)
    except ValidationError as error:
        raise ValidationError(f"option {option}", error.field, error.message) from None


model_argument = click.argument("model", metavar="MODEL")


def _nir_option(name: str, help_text: str, **kwargs):
    """An option of a NIR graph's import, kept in the context (see :func:`_nir_options`) so the commands
    taking MODEL keep their signatures."""

    def keep(ctx, param, value):
        ctx.meta.setdefault("nir_options", {})[name] = value

    return click.option(f"--{name}", expose_value=False, callback=keep, help=help_text, **kwargs)


NIR_OPTIONS = [
    _nir_option(
        "dt",
        "Time step in ms of a NIR graph (MODEL.nir): required unless the graph's neurodeploy metadata gives it.",
        type=FiniteFloat(min=0, min_open=True),
        metavar="MS",
    ),
    _nir_option(
        "discretization",
        "How a NIR graph's ODEs are stepped: exact (exp(-dt/tau)) or euler (1 - dt/tau, as snnTorch and Norse). "
        "Default: the graph's metadata, else exact.",
        type=click.Choice(["exact", "euler"]),
    ),
    _nir_option(
        "reset",
        "A NIR graph's reset: to_v_reset or subtract (v -= v_threshold). Default: the graph's metadata, else "
        "to_v_reset.",
        type=click.Choice(["to_v_reset", "subtract"]),
    ),
    _nir_option(
        "threshold",
        "A NIR graph's spike condition: '>' or '>='. Default: the graph's metadata, else '>'.",
        type=click.Choice([">", ">="]),
    ),
]


def nir_options(command):
    for option in reversed(NIR_OPTIONS):
        command = option(command)
    return command


def _nir_options() -> dict:
    return click.get_current_context().meta.get("nir_options", {})


def _echo_notes(loaded):
    for line in loaded.notes:
        click.echo(line)


param_option = click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="Model parameter (repeatable); VALUE is read as YAML: 5, 0.3, true, [1, 4].",
)


@click.group(cls=OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="neurodeploy")
def main():
    """Describe a spiking network once, run it on neuromorphic targets, and prove each target
    against the Brian2 reference.

    MODEL is a registered model name (see `neurodeploy models`), a .json/.yaml network file,
    path.py:function returning a Network, a PyNN script (script.py: `import pyNN.spiNNaker as sim` runs
    on neurodeploy.pynn, its run() gives the network and duration, see `neurodeploy capture`), or a NIR
    graph (.nir, imported with --dt and the options --discretization, --reset, --threshold; its Input
    nodes are the stimulus's labels).
    """


@main.command()
@click.argument("name", required=False)
@reports_errors
def models(name):
    """List the registered model families, one line each, and under a family the protocols it ships
    (names for --protocol). With NAME, that family: what it is, its parameters (type, bounds, default) and
    its protocols."""
    if name is not None:
        click.echo(_family_text(catalog.model_family(name)))
        return
    families = catalog.model_families()
    if not families:
        click.echo(f"no models registered (looked in {catalog.MODELS} and NEURODEPLOY_MODEL_PATH)")
    shipped = catalog.family_protocols(families)
    for name, family in families.items():
        click.echo(f"{name:<26} {family.summary}")
        if shipped[name]:
            click.echo(f"{'':<26} protocols: {', '.join(shipped[name])}")


def _family_text(family) -> str:
    """A family as ``models NAME`` shows it: its docstring (what it is, its summary first), its parameters,
    its protocols and its file."""
    described = inspect.cleandoc(family.module.__doc__ or "")
    lines = [f"{family.name}: {described}" if described else family.name, "", "parameters (--param KEY=VALUE):"]
    parameters = catalog.family_parameters(family)
    width = max((len(p.name) for p in parameters), default=0)
    for parameter in parameters:
        default = "required" if parameter.default is inspect.Parameter.empty else f"default {parameter.default!r}"
        lines.append(
            f"  {parameter.name:<{width}}  {parameter.types or '-':<14} {parameter.bounds or '-':<14} {default}"
        )
    if not parameters:
        lines.append("  none")
    shipped = catalog.family_protocols({family.name: family})[family.name]
    takes = getattr(family.module, "PROTOCOL", None) is not None
    lines.append(
        "protocols (--protocol NAME): "
        + (", ".join(shipped) if shipped else "none shipped" if takes else "takes none (use --stimulus)")
    )
    lines.append(f"source: {family.path}")
    return "\n".join(lines)


@main.command()
@reports_errors
def targets():
    """List the deployment targets described in the package and NEURODEPLOY_TARGET_PATH, one line each."""
    descriptions = catalog.target_descriptions()
    if not descriptions:
        click.echo(f"no targets described (looked in {catalog.TARGETS} and NEURODEPLOY_TARGET_PATH)")
    for name, target in descriptions.items():
        click.echo(f"{name:<26} {target.summary}")


@main.command()
@reports_errors
def backends():
    """List the backends, one line each: what each runs, or why it cannot load and how to install it."""
    for name in backend_names():
        try:
            backend = backend_class(name)
            problem = backend.unavailable()
            summary = backend.summary if problem is None else f"not available: {problem}"
        except BackendError as error:
            summary = f"not available: {error}"
        click.echo(f"{name:<26} {summary}")


@main.command("setup-lava")
@click.argument("path", required=False, type=click.Path(file_okay=False), metavar="[DIR]")
@click.option(
    "--python",
    "python",
    metavar="PYTHON3.10",
    help="The Python 3.10 to create it with, a path or a command on PATH (default: python3.10 on PATH, else pyenv's).",
)
@reports_errors
def setup_lava(path, python):
    """Create the Lava environment the lava backend and the loihi2 target run their worker in: Python 3.10
    with lava-nc and numpy 1.x, pinned, linked to this neurodeploy. DIR: default .venv-lava in a clone,
    else $XDG_DATA_HOME/neurodeploy/venv-lava; another DIR is used when NEURODEPLOY_LAVA_ENV names it."""
    from neurodeploy.backends.lava.environment import create, default_location

    created = create(Path(path) if path else default_location(), python, echo=click.echo)
    if created.path.resolve() != default_location().resolve():
        click.echo(
            f"the lava backend looks for it at {default_location()}: set NEURODEPLOY_LAVA_ENV={created.path} "
            "to use this one"
        )


@main.command()
@model_argument
@param_option
@nir_options
@memory_limit_option
@reports_errors
def validate(model, params):
    """Check a model: exit 0, or exit 2 with a one-line error naming the object and field. Values that are
    legal but almost surely a unit mistake (a capacitance in pF, a threshold in V) are warned of on stderr, and so are
    spikes of the model's own inputs after its duration. A NIR graph's latency per layer is printed too."""
    loaded = catalog.load_model(model, _key_values(params, "--param"), nir_options=_nir_options())
    if loaded.network.duration is not None:
        loaded.input_warnings += pipeline.unsent_spikes(loaded.network, loaded.network.duration)
    _echo_warnings(loaded)
    click.echo(f"ok: {loaded.network!r}")
    _echo_notes(loaded)


def model_inputs(command):
    """MODEL with its parameters, seed and input (stimulus or protocol) and duration."""
    for option in reversed(
        [
            model_argument,
            param_option,
            *NIR_OPTIONS,
            click.option(
                "--stimulus",
                type=click.Path(dir_okay=False),
                metavar="FILE",
                help="JSON object: spike-source label -> one list of spike times (ms) per neuron.",
            ),
            click.option(
                "--protocol",
                type=click.Path(dir_okay=False),
                metavar="FILE|NAME",
                help="JSON list of operations for models that take them (ca3-cam), or the name of one a model "
                "family ships (see `neurodeploy models`); answers go to answers.json.",
            ),
            click.option(
                "--duration",
                type=FiniteFloat(min=0, min_open=True),
                metavar="MS",
                help="Simulated time in ms (default: the model's own).",
            ),
            click.option(
                "--seed", type=click.IntRange(min=0), help="The network's seed (and the model's seed parameter)."
            ),
            memory_limit_option,
        ]
    ):
        command = option(command)
    return command


def _load(model, params, stimulus, protocol, duration, seed, default_duration=None):
    """The loaded model, its protocol run (or None) and the duration to simulate."""
    loaded = catalog.load_model(model, _key_values(params, "--param"), seed, _nir_options())
    if stimulus is not None and protocol is not None:
        raise ValidationError("option --stimulus", None, "give either --stimulus or --protocol, not both")
    spike_times = pipeline.read_stimulus(stimulus) if stimulus is not None else None
    protocol_run, duration_ms = pipeline.prepare_inputs(loaded, spike_times, protocol, duration, default_duration)
    _echo_warnings(loaded)
    return loaded, protocol_run, duration_ms


def _echo_warnings(loaded):
    for line in [*loaded.warnings, *loaded.input_warnings]:
        click.echo(one_line(f"warning: {line}"), err=True)


def _progress(what: str, call):
    with contextlib.ExitStack() as cleanup:
        stream = _stderr_of_its_own()
        if stream is not None:
            cleanup.callback(_close_quietly, stream)
        progress = ProgressLine(what, stream=stream)
        cleanup.callback(progress.close)
        return call(progress)


def _close_quietly(stream: TextIO):
    """Close the progress line's stream, whose last flush may fail as its writes did (a closed pipe)."""
    with contextlib.suppress(OSError, ValueError):
        stream.close()


def _stderr_of_its_own() -> TextIO | None:
    """stderr on a duplicate of its descriptor, for the progress line: Brian2 points descriptor 2 at a file of
    its own while it compiles, which would swallow the line for minutes; None where stderr has no descriptor."""
    try:
        descriptor = os.dup(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):  # a stream in memory (click's test runner, pytest's capsys)
        return None
    return os.fdopen(
        descriptor, "w", encoding=sys.stderr.encoding or "utf-8", errors=sys.stderr.errors or "backslashreplace"
    )


@main.command()
@model_inputs
@click.option("--backend", default="brian2", show_default=True, help="Backend to run on (see `neurodeploy backends`).")
@click.option(
    "--backend-option",
    "backend_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Backend option (repeatable), e.g. mode=physics for brian2.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Run folder to write (manifest.json, spikes.json, ...): new, empty or an earlier run; "
    "published atomically, files you add to it are kept.",
)
@reports_errors
def run(model, params, stimulus, protocol, duration, seed, backend, backend_options, out):
    """Run MODEL on a backend and write a run directory.

    With --protocol, the operations drive the model's inputs and the decoded answers are printed
    and written to answers.json."""
    loaded, protocol_run, duration_ms = _load(model, params, stimulus, protocol, duration, seed)
    options = _key_values(backend_options, "--backend-option")
    writes = (MANIFEST, SPIKES, *(("answers.json", "protocol.json") if protocol_run is not None else ()))
    with staged_directory(Path(out), "run", writes) as staging:  # refuses a folder it must not write before running
        result, manifest = _progress(
            f"{backend} running {loaded.name}",
            lambda progress: pipeline.run_model(loaded, backend, duration_ms, options, progress),
        )
        documents = {}
        if protocol_run is not None:
            documents["answers.json"] = protocol_run.decode(loaded, result)
            documents["protocol.json"] = [operation.to_dict() for operation in protocol_run.operations]
        write_run_files(staging, manifest, result, documents)
    if protocol_run is not None:
        click.echo(protocol_run.protocol.table(documents["answers.json"]))
    else:
        for label, trains in result.spikes.populations.items():
            click.echo(f"{label:<24} {len(trains):>6} neurons {sum(len(t) for t in trains):>8} spikes")
        for label, traces in result.traces.items():
            if label not in result.spikes.populations:  # a read-out: no spikes, its state only
                size = next(iter(traces.values())).shape[1]
                click.echo(f"{label:<24} {size:>6} neurons    {', '.join(traces)} recorded")
    _echo_notes(loaded)
    simulated = f"{duration_ms:g} ms simulated in {manifest['wall_time_s']:.2f} s"
    click.echo(f"{backend}: {simulated} ({stages_text(manifest)}) -> {out}")


def stages_text(manifest: dict) -> str:
    """The wall time of a run in all and per stage, from its manifest."""
    stages = {stage: seconds for stage, seconds in manifest.get("stages", {}).items() if seconds is not None}
    parts = ", ".join(f"{stage.replace('_', '-')} {seconds:.2f} s" for stage, seconds in stages.items())
    return f"{sum(stages.values()):.2f} s in all: {parts}"


target_option = click.option("--target", required=True, metavar="NAME", help="Target (see `neurodeploy targets`).")


@main.command(name="compile")
@model_inputs
@target_option
@click.option("--no-map", is_flag=True, help="Skip mapping with the target's own tools.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Folder for the artefacts (for SpiNNaker: pynn_script.py, graph.json) and compile.json/.txt.",
)
@reports_errors
def compile_command(model, params, stimulus, protocol, duration, seed, target, no_map, out):
    """Compile MODEL for a target: design-rule check, quantization report, the target's artefacts and
    (unless --no-map) the mapping report. Exits 1 when the design rules find errors.

    The duration (default: the model's, else 1000 ms) sizes the recording buffers of the mapping."""
    loaded, _, duration_ms = _load(model, params, stimulus, protocol, duration, seed, default_duration=1000.0)
    compilation = pipeline.compile_model(loaded, target, out, duration_ms, not no_map)
    click.echo(compilation.text())
    click.echo(f"-> {out}")
    if compilation.errors:
        raise click.exceptions.Exit(EXIT_FAILED)


@main.command()
@model_inputs
@click.option(
    "--target",
    "targets",
    required=True,
    multiple=True,
    metavar="NAME",
    help="Target (see `neurodeploy targets`); repeat it to deploy to several and compare them with each other.",
)
@click.option(
    "--board-config",
    type=click.Path(dir_okay=False, exists=True),
    metavar="FILE",
    help="The target's own configuration of a real board (for SpiNNaker a spynnaker.cfg with a machine "
    "name or spalloc server), for a deploy to one target; without it each target runs on its software emulation.",
)
@click.option("--min-same-tick", type=FiniteFloat(0, 1), help="Override each target's same-tick threshold.")
@click.option("--min-within-one", type=FiniteFloat(0, 1), help="Override each target's ±1-tick threshold.")
@click.option("--max-rate-error", type=FiniteFloat(0), help="Override each target's rate-error threshold.")
@click.option(
    "--explain-runs",
    type=click.IntRange(min=0),
    default=explainer.DEPLOY_RUNS,
    show_default=True,
    metavar="N",
    help="Brian2 runs each comparison that parts may take to find which quantization effects cause it "
    "(0: do not explain; `neurodeploy explain DIR` can later, with a larger budget).",
)
@click.option("--json", "as_json", is_flag=True, help="Print deploy.json to stdout instead of the text.")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Folder for reference-float/, one folder per target (compile/, target/, reference/), deploy.json and "
    "report.html.",
)
@reports_errors
def deploy(
    model,
    params,
    stimulus,
    protocol,
    duration,
    seed,
    targets,
    board_config,
    min_same_tick,
    min_within_one,
    max_rate_error,
    explain_runs,
    as_json,
    out,
):
    """Compile, check and map MODEL for each target, execute it (board if configured, else emulation), run
    the Brian2 reference on the same input with each target's numbers and in float, and compare: each target
    against its quantization-aware reference (the verdict), against the float model (what quantization
    costs) and against each other target (portability). Where two runs part, explain says where first and
    which quantization effects account for it. Prints a verdict per target and every warning. Exits 1 when a
    target departs from its reference beyond the thresholds."""
    loaded, protocol_run, duration_ms = _load(model, params, stimulus, protocol, duration, seed)
    summary = _progress(
        f"deploy {loaded.name} on {', '.join(targets)}",
        lambda progress: pipeline.deploy_model(
            loaded,
            list(targets),
            out,
            duration_ms,
            pipeline.thresholds_over(targets, _given_thresholds()),
            protocol_run,
            Path(board_config) if board_config else None,
            progress,
            progress.stage,
            explain_runs,
        ),
    )
    if as_json:
        click.echo(json.dumps(summary, indent=1))
    else:
        click.echo(_deploy_text(summary, out))
        click.echo(f"-> {out} (report: {Path(out) / REPORT})")
    if not summary["passed"]:
        raise click.exceptions.Exit(EXIT_FAILED)


def _given_thresholds() -> dict:
    """The threshold options (``--min-same-tick`` ...) given on the command line, by Thresholds' field names."""
    context = click.get_current_context()
    return {
        name: context.params[name]
        for name in ("min_same_tick", "min_within_one", "max_rate_error")
        if context.get_parameter_source(name) != click.core.ParameterSource.DEFAULT
    }


COMPARISON_NAMES = {
    "correctness": "{run} vs its quantization-aware reference",
    "quantization_cost": "{run} vs the float model (what quantization costs)",
    "portability": "{run} vs {reference} (portability)",
}


def _comparison_name(item: dict) -> str:
    target = item["run"].split("/")[0]
    return COMPARISON_NAMES[item["kind"]].format(run=target, reference=item["reference"].split("/")[0])


def _comparisons_text(comparisons: list[dict]) -> list[str]:
    """A line of spike measures per comparison, then a line per other measure that applies."""
    lines = []
    for item in comparisons:
        overall = item["spikes"]["overall"]
        lines.append(
            f"{_comparison_name(item)}: same tick {overall['same_tick_fraction']:.2%}, ±1 tick "
            f"{overall['within_one_fraction']:.2%}, rate {overall['run_rate_hz']:.3g} vs "
            f"{overall['reference_rate_hz']:.3g} Hz, van Rossum {overall['van_rossum']:.3g}"
        )
    for item in comparisons:
        lines += measure_lines(item, f"{_comparison_name(item)}: ")
    return lines


def _explain_lines(explain: dict | None, out) -> list[str]:
    """A line per comparison explained (where its runs part, and why), or why there are none."""
    if explain is None:
        return [f"explain: skipped (--explain-runs 0): `neurodeploy explain {out}` explains the runs that part"]
    if not explain["explanations"]:
        return [f"explain: {explain['text']}"]
    return [f"explain {_comparison_name(item)}: {item['sentence']}" for item in explain["explanations"]]


def _deploy_text(summary: dict, out) -> str:
    lines = []
    for name, entry in summary["per_target"].items():
        mapping, resources = entry.get("mapping"), entry.get("resources")
        if entry["errors"]:
            lines += [f"{name}: design-rule errors:", *(f"  {error}" for error in entry["errors"])]
        elif mapping:
            lines.append(
                f"{name}: mapped: {mapping['application_cores']} application cores on {mapping['chips_used']} chips"
            )
        elif resources:
            lines.append(f"{name}: about {resources['neuro_cores']} of {resources['available']} neuro cores")
    lines += _comparisons_text(summary["comparisons"])
    lines += _explain_lines(summary["explain"], out)
    if summary["warnings"]:
        lines.append(f"warnings ({len(summary['warnings'])}):")
        lines += [
            f"  {warning['source']}"
            + (f" ({warning['target']})" if warning["target"] and warning["target"] not in warning["source"] else "")
            + f": {warning['message']}"
            for warning in summary["warnings"]
        ]
    lines += [entry["verdict"] for entry in summary["per_target"].values()]
    return "\n".join(lines)


@main.command(name="compare")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("reference_dir", type=click.Path(file_okay=False), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print compare.json to stdout instead of the table.")
@click.option(
    "--min-same-tick",
    type=FiniteFloat(0, 1),
    default=Thresholds.min_same_tick,
    show_default=True,
    help="Least fraction of reference spikes matched in the same tick.",
)
@click.option(
    "--min-within-one",
    type=FiniteFloat(0, 1),
    default=Thresholds.min_within_one,
    show_default=True,
    help="Least fraction of reference spikes matched within ±1 tick.",
)
@click.option(
    "--max-rate-error",
    type=FiniteFloat(0),
    default=Thresholds.max_rate_error,
    show_default=True,
    help="Largest relative difference of the overall rate.",
)
@click.option(
    "--tau",
    type=FiniteFloat(min=0, min_open=True),
    default=5.0,
    show_default=True,
    metavar="MS",
    help="Time constant of the van Rossum distance.",
)
@reports_errors
def compare_command(run_dir, reference_dir, as_json, min_same_tick, min_within_one, max_rate_error, tau):
    """Compare RUN_DIR with REFERENCE_DIR (two runs of the same model, a deploy's among them:
    OUT/spinn5/target); write RUN_DIR/compare.json. Given a deploy folder alone (OUT), compare its runs again:
    each target against its reference and the float model, and the targets with each other (with each
    target's thresholds, unless given here).

    Exits 1 when the thresholds are not met."""
    if reference_dir is None:
        _compare_deploy(run_dir, _given_thresholds(), tau, as_json)
        return
    for path in (run_dir, reference_dir):
        _refuse_deploy_folder(path)
    run_record, reference = read_run(run_dir), read_run(reference_dir)
    models = run_record.manifest.get("model", {}).get("name"), reference.manifest.get("model", {}).get("name")
    if models[0] != models[1]:
        raise ValidationError("compare", "model", f"runs are of different models ('{models[0]}' vs '{models[1]}')")
    measures = compare_runs(
        run_record.comparable(),
        reference.comparable(),
        Thresholds(min_same_tick, min_within_one, max_rate_error),
        tuple(reference.manifest.get("spike_sources", ())),
        tau,
    )
    document = {
        "run": str(run_dir),
        "reference": str(reference_dir),
        "run_backend": run_record.spikes.backend,
        "reference_backend": reference.spikes.backend,
        **measures["spikes"],
        **{key: measures[key] for key in ("traces", "weights", "structural", "functional") if measures[key]},
        "passed": measures["passed"],
        "failures": measures["failures"],
    }
    if as_json:
        click.echo(json.dumps(document, indent=1))
    else:
        click.echo(f"{run_record.spikes.backend} run {run_dir} vs {reference.spikes.backend} reference {reference_dir}")
        click.echo(spikes_table(measures["spikes"]))
        for line in measure_lines(measures):
            click.echo(line)
    if write_document(run_record, "compare.json", document, _is_comparison) is None:
        click.echo(
            one_line(
                f"warning: '{Path(run_dir) / 'compare.json'}' was not written by neurodeploy: left as "
                "it is, this comparison is not saved"
            ),
            err=True,
        )
    if not measures["passed"]:
        raise click.exceptions.Exit(EXIT_FAILED)


def _refuse_deploy_folder(path) -> None:
    """A deploy folder, or a target's folder in one, given where a run is expected: say which runs it holds."""
    document = deployment.read_deploy(path)
    if document is not None:
        runs = [deployment.target_run(t) for t in document["targets"]] + [deployment.FLOAT_REFERENCE]
        raise ValidationError(
            f"run directory '{path}'",
            None,
            f"is a deploy folder: compare it alone (`neurodeploy compare {path}`), or two of its runs ("
            + ", ".join(f"'{Path(path) / run}'" for run in runs)
            + ", ...)",
        )
    if deployment.deploy_folder_of(path) is not None:
        raise ValidationError(
            f"run directory '{path}'",
            None,
            f"is a target's folder of a deploy: its runs are '{Path(path) / deployment.TARGET_RUN}' and "
            f"'{Path(path) / deployment.REFERENCE_RUN}'",
        )


def _compare_deploy(path, thresholds: dict, tau: float, as_json: bool) -> None:
    """``compare OUT`` on a deploy folder: its comparisons computed again from its runs, with each
    target's thresholds (the deploy's) but for those given."""
    document = deployment.read_deploy(path)
    if document is None:
        raise ValidationError(
            "compare", None, f"'{path}' is not a deploy folder (no {deployment.DOCUMENT}): give a run and a reference"
        )
    runs = {folder: read_run(Path(path) / folder) for folder in deployment.run_folders(document)}
    limits = {
        target: Thresholds(**{**entry["thresholds"], **thresholds}) for target, entry in document["per_target"].items()
    }
    inputs = tuple(next(iter(runs.values())).manifest.get("spike_sources", ())) if runs else ()
    comparisons = deployment.comparisons(
        {folder: run.comparable() for folder, run in runs.items()}, document["targets"], limits, inputs, tau
    )
    passed = all(item["passed"] for item in comparisons if item["kind"] == "correctness") and all(
        not entry["errors"] for entry in document["per_target"].values()
    )
    if as_json:
        click.echo(json.dumps({"deploy": str(path), "comparisons": comparisons, "passed": passed}, indent=1))
    else:
        click.echo(f"deploy {path}: {document['model']['name']} on {', '.join(document['targets'])}")
        for line in _comparisons_text(comparisons):
            click.echo(line)
        no_input = deployment.had_no_input(document)
        for target, entry in document["per_target"].items():
            if entry["errors"]:
                click.echo(entry["verdict"])
                continue
            correctness = deployment.comparison(
                {"comparisons": comparisons}, "correctness", deployment.target_run(target)
            )
            click.echo(deployment.verdict(target, entry["backend"], correctness, no_input))
    if not passed:
        raise click.exceptions.Exit(EXIT_FAILED)


@main.command()
@click.argument("folder", type=click.Path(file_okay=False, exists=True), metavar="DIR")
@reports_errors
def report(folder):
    """Write DIR/report.html, one self-contained page (figures inline, nothing fetched) of what a run, compare
    or deploy folder holds: the verdict, rasters with the divergences marked, rates, traces at the first
    divergence, quantization, final weights, structural events, protocol answers, design rules, mapping.
    Prints its path."""
    click.echo(write_report(folder))


@main.command(name="explain")
@click.argument("deploy_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the explanation (deploy.json's explain) as JSON.")
@click.option(
    "--max-runs",
    type=click.IntRange(min=1),
    default=MAX_RUNS,
    show_default=True,
    help="Brian2 runs one comparison's attribution may take.",
)
@memory_limit_option
@reports_errors
def explain_command(deploy_dir, as_json, max_runs):
    """Why the runs of a deploy part: for each comparison that does (a target vs the float model, a target
    vs another, a failed verdict), the first tick and neuron where they part, and which quantization effects
    account for it: the Brian2 reference re-run with effects put back to float (docs/explain.md). A deploy
    explains itself within a smaller budget (deploy --explain-runs); this computes it again and writes it into
    DEPLOY_DIR/deploy.json and report.html."""
    document = _progress(
        f"explain {deploy_dir}", lambda progress: explainer.explain_folder(deploy_dir, max_runs, progress.stage)
    )
    if as_json:
        click.echo(json.dumps(document, indent=1))
    else:
        click.echo(document["text"])
        click.echo(f"-> {Path(deploy_dir) / deployment.DOCUMENT} (report: {Path(deploy_dir) / REPORT})")


def _is_comparison(document) -> bool:
    """Whether ``document`` is a compare.json neurodeploy wrote (every version wrote these keys)."""
    return isinstance(document, dict) and {"run", "reference", "passed"} <= document.keys()


@main.command()
@click.argument("script", type=click.Path(dir_okay=False), metavar="SCRIPT.py")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="FILE.yaml|FILE.json",
    help="The description to write; the spike sources' times go beside it to FILE.stimulus.json.",
)
@memory_limit_option
@reports_errors
def capture(script, out):
    """Run a PyNN script on neurodeploy.pynn without simulating and write the network its run() builds
    (`import pyNN.spiNNaker as sim` and PyNN's other simulator modules get neurodeploy.pynn). Its run()'s
    end is the duration, its spike sources' times (SpikeSourcePoisson drawn from setup's seed) the stimulus,
    setup's timestep the time step. Any command takes SCRIPT.py as MODEL the same way."""
    from neurodeploy.description import io
    from neurodeploy.description.io import write_atomically
    from neurodeploy.pynn.capture import capture as capture_script

    out = Path(out)
    if out.suffix.lower() not in io.SUFFIXES:
        raise ValidationError("option --out", None, f"expected a .yaml or .json file, got '{out}'")
    network = capture_script(script)
    stimulus = {label: [t.tolist() for t in source.spike_times] for label, source in network.spike_sources.items()}
    stimulus_file = out.with_name(out.stem + ".stimulus.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    io.save(network, out)
    text = json.dumps(stimulus) + "\n"
    write_atomically(stimulus_file, lambda temporary: Path(temporary).write_text(text))
    click.echo(f"{network!r}, {network.duration:g} ms at dt {network.semantics.dt:g} ms -> {out}, {stimulus_file}")


@main.command(name="export")
@model_argument
@param_option
@click.option("--seed", type=click.IntRange(min=0), help="The network's seed (and the model's seed parameter).")
@click.option(
    "--stimulus",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="JSON object: spike-source label -> one list of spike times (ms) per neuron, exported in place of "
    "the model's own.",
)
@click.option("--to", "to_format", required=True, type=click.Choice(["nir", "pynn"]), help="The format to write.")
@click.option(
    "--out",
    required=True,
    type=click.Path(),
    metavar="FILE.nir|DIR",
    help="nir: the graph to write; the spike sources' times go beside it to FILE.stimulus.json. pynn: the "
    "folder to write pynn_script.py and its data files into (new, empty or an earlier export; published "
    "atomically, files you add to it are kept).",
)
@click.option(
    "--duration",
    type=FiniteFloat(min=0, min_open=True),
    metavar="MS",
    help="pynn: the script's run() in ms (default: the model's own duration).",
)
@memory_limit_option
@nir_options
@reports_errors
def export_command(model, params, seed, stimulus, to_format, out, duration):
    """Write MODEL as a NIR graph or as a PyNN script.

    nir: the static part (populations, projections, delays, biases); networks that change as they run (STDP,
    rewiring, turnover) are refused. Prints what a reader of plain NIR would not see (the graph's metadata
    keeps it for neurodeploy's import).

    pynn: a plain PyNN script for sPyNNaker (populations, spike sources, projections, STDP and synaptogenesis
    as PyNN calls, drawn connections in files beside it), which `neurodeploy run DIR/pynn_script.py` reads
    back; what PyNN cannot state (semantics other than PyNN's, a chip's arithmetic, coincidence wiring,
    turnover) is refused, naming it."""
    loaded = catalog.load_model(model, _key_values(params, "--param"), seed, _nir_options())
    if stimulus is not None:
        loaded.network = loaded.network.with_spike_times(pipeline.read_stimulus(stimulus))
    if to_format == "pynn":
        from neurodeploy.interchange import pynn_export

        exported = pynn_export.to_script(loaded.network, duration)
        with staged_directory(Path(out), "export", (pynn_export.SCRIPT,)) as staging:
            written = exported.write(staging)
        click.echo(f"{loaded.network!r} -> {Path(out) / pynn_export.SCRIPT} and {len(written) - 1} files beside it")
        for note in exported.notes:
            click.echo(f"not exported: {note}")
        return
    if duration is not None:
        raise ValidationError("option --duration", None, "applies to --to pynn (a NIR graph has no run)")
    from neurodeploy.interchange import nir_export

    exported = nir_export.write(loaded.network, Path(out))
    nodes = exported.graph.nodes
    click.echo(f"{len(nodes)} nodes, {len(exported.graph.edges)} edges -> {out}, {nir_export.stimulus_path(out)}")
    click.echo("a plain NIR reader does not see (kept in the graph's metadata):")
    for phrase in exported.unseen:
        click.echo(f"  {phrase}")
