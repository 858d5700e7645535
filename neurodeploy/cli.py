"""The ``neurodeploy`` command line. It only wires the description layer, backends and runs.

Exit codes: 0 success, 1 a comparison failed its thresholds or a backend failed, 2 bad input.
"""
from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

import click

from neurodeploy import __version__, catalog, pipeline
from neurodeploy.backends import backend_class, backend_names
from neurodeploy.errors import NeurodeployError, ValidationError
from neurodeploy.runs.compare import Thresholds, compare
from neurodeploy.runs.rundir import read_run, write_json_atomically, write_run

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


def reports_errors(command):
    """Turn toolchain errors into one line on stderr and an exit code, never a traceback."""
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ValidationError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_BAD_INPUT)
        except NeurodeployError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(EXIT_FAILED)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
    return wrapper


class ProgressLine:
    """Shows progress on stderr once a run has taken more than ``after_s`` seconds."""

    def __init__(self, what: str, after_s: float = 2.0):
        self.what = what
        self.after_s = after_s
        self.started = time.perf_counter()
        self.shown = False

    def __call__(self, fraction: float):
        elapsed = time.perf_counter() - self.started
        if elapsed < self.after_s:
            return
        self.shown = True
        end = "\r" if sys.stderr.isatty() else "\n"
        click.echo(f"{self.what}: {fraction:6.1%} of simulated time after {elapsed:5.1f} s", err=True, nl=False)
        click.echo(end, err=True, nl=False)

    def close(self):
        if self.shown and sys.stderr.isatty():
            click.echo("", err=True)


def _key_values(pairs, option: str) -> dict:
    try:
        return catalog.parse_parameters(pairs)
    except ValidationError as error:
        raise ValidationError(f"option {option}", error.field, error.message) from None


model_argument = click.argument("model", metavar="MODEL")
param_option = click.option("--param", "params", multiple=True, metavar="KEY=VALUE",
                            help="Model parameter (repeatable); VALUE is read as YAML: 5, 0.3, true, [1, 4].")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="neurodeploy")
def main():
    """Describe a spiking network once, run it on neuromorphic targets, and prove each target
    against the Brian2 reference.

    MODEL is a registered model name (see `neurodeploy models`), a .json/.yaml network file, or
    path.py:function returning a Network.
    """


@main.command()
@reports_errors
def models():
    """List the registered model families, one line each."""
    families = catalog.model_families()
    if not families:
        click.echo("no models registered (looked in models/ and NEURODEPLOY_MODEL_PATH)")
    for name, family in families.items():
        click.echo(f"{name:<26} {family.summary}")


@main.command()
@reports_errors
def targets():
    """List the deployment targets described in targets/, one line each."""
    descriptions = catalog.target_descriptions()
    if not descriptions:
        click.echo("no targets described (looked in targets/ and NEURODEPLOY_TARGET_PATH)")
    for name, target in descriptions.items():
        click.echo(f"{name:<26} {target.summary}")


@main.command()
@reports_errors
def backends():
    """List the installed backends, one line each."""
    for name in backend_names():
        click.echo(f"{name:<26} {backend_class(name).summary}")


@main.command()
@model_argument
@param_option
@reports_errors
def validate(model, params):
    """Check a model: exit 0, or exit 2 with a one-line error naming the object and field."""
    loaded = catalog.load_model(model, _key_values(params, "--param"))
    click.echo(f"ok: {loaded.network!r}")


@main.command()
@model_argument
@click.option("--backend", default="brian2", show_default=True, help="Backend to run on (see `neurodeploy backends`).")
@param_option
@click.option("--stimulus", type=click.Path(dir_okay=False), metavar="FILE",
              help="JSON object: spike-source label -> one list of spike times (ms) per neuron.")
@click.option("--protocol", type=click.Path(dir_okay=False), metavar="FILE",
              help="JSON list of operations for models that take them (ca3-cam); answers go to answers.json.")
@click.option("--duration", type=float, metavar="MS", help="Simulated time in ms (default: the model's own).")
@click.option("--seed", type=click.IntRange(min=0), help="The network's seed (and the model's seed parameter).")
@click.option("--backend-option", "backend_options", multiple=True, metavar="KEY=VALUE",
              help="Backend option (repeatable), e.g. mode=physics for brian2.")
@click.option("--out", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="Run directory to write (manifest.json, spikes.json, ...), replaced atomically.")
@reports_errors
def run(model, backend, params, stimulus, protocol, duration, seed, backend_options, out):
    """Run MODEL on a backend and write a run directory.

    With --protocol, the operations drive the model's inputs and the decoded answers are printed
    and written to answers.json."""
    loaded = catalog.load_model(model, _key_values(params, "--param"), seed)
    if stimulus is not None and protocol is not None:
        raise ValidationError("option --stimulus", None, "give either --stimulus or --protocol, not both")
    if stimulus is not None:
        loaded.network = loaded.network.with_spike_times(pipeline.read_stimulus(stimulus))
    protocol_run = pipeline.apply_protocol(loaded, protocol) if protocol is not None else None
    duration_ms = pipeline.resolve_duration(loaded, duration)
    progress = ProgressLine(f"{backend} running {loaded.name}")
    try:
        result, manifest = pipeline.run_model(loaded, backend, duration_ms,
                                              _key_values(backend_options, "--backend-option"), progress)
    finally:
        progress.close()
    documents = {}
    if protocol_run is not None:
        documents["answers.json"] = protocol_run.decode(loaded, result)
        documents["protocol.json"] = [operation.to_dict() for operation in protocol_run.operations]
    write_run(Path(out), manifest, result, documents)
    if protocol_run is not None:
        click.echo(protocol_run.protocol.table(documents["answers.json"]))
    else:
        for label, trains in result.spikes.populations.items():
            click.echo(f"{label:<24} {len(trains):>6} neurons {sum(len(t) for t in trains):>8} spikes")
    click.echo(f"{backend}: {duration_ms:g} ms simulated in {manifest['wall_time_s']:.2f} s -> {out}")


@main.command(name="compare")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.argument("reference_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print compare.json to stdout instead of the table.")
@click.option("--min-same-tick", type=click.FloatRange(0, 1), default=Thresholds.min_same_tick, show_default=True,
              help="Least fraction of reference spikes matched in the same tick.")
@click.option("--min-within-one", type=click.FloatRange(0, 1), default=Thresholds.min_within_one, show_default=True,
              help="Least fraction of reference spikes matched within ±1 tick.")
@click.option("--max-rate-error", type=click.FloatRange(0), default=Thresholds.max_rate_error, show_default=True,
              help="Largest relative difference of the overall rate.")
@click.option("--tau", type=click.FloatRange(min=0, min_open=True), default=5.0, show_default=True, metavar="MS",
              help="Time constant of the van Rossum distance.")
@reports_errors
def compare_command(run_dir, reference_dir, as_json, min_same_tick, min_within_one, max_rate_error, tau):
    """Compare RUN_DIR with REFERENCE_DIR (two runs of the same model); write RUN_DIR/compare.json.

    Exits 1 when the thresholds are not met."""
    run_record, reference = read_run(run_dir), read_run(reference_dir)
    models = run_record.manifest.get("model", {}).get("name"), reference.manifest.get("model", {}).get("name")
    if models[0] != models[1]:
        raise ValidationError("compare", "model", f"runs are of different models ('{models[0]}' vs '{models[1]}')")
    comparison = compare(run_record.spikes, reference.spikes,
                         Thresholds(min_same_tick, min_within_one, max_rate_error), tau,
                         inputs=tuple(reference.manifest.get("spike_sources", ())))
    document = {"run": str(run_dir), "reference": str(reference_dir),
                "run_backend": run_record.spikes.backend, "reference_backend": reference.spikes.backend,
                **comparison.to_dict()}
    write_json_atomically(Path(run_dir) / "compare.json", document)
    if as_json:
        click.echo(json.dumps(document, indent=1))
    else:
        click.echo(f"{run_record.spikes.backend} run {run_dir} vs {reference.spikes.backend} reference {reference_dir}")
        click.echo(comparison.table())
    if not comparison.passed:
        sys.exit(EXIT_FAILED)

