"""The workflow in Python, as a notebook user writes it: a model (registered, a file, a PyNN script, a NIR
graph, or a network built in Python), its runs on backends, their comparison, a deployment::

    import neurodeploy as nd

    model = nd.load_model("feedforward-poisson", n_neurons=20, duration_ms=200.0)
    reference, emulated = model.run("brian2"), model.run("spinnaker")
    comparison = nd.compare(emulated, reference)
    print(comparison.table())
    deployed = model.deploy("spinn5", out="runs/ff")

The commands do the same through the same functions (``catalog``, ``pipeline``, ``runs``); a run converts
to neo (``to_neo``) and pandas (``to_pandas``). Values that are legal but almost surely a mistake are
warned of with :class:`~neurodeploy.errors.NeurodeployWarning`.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from neurodeploy import catalog, explainer, pipeline
from neurodeploy.catalog import LoadedModel
from neurodeploy.compilation import Thresholds
from neurodeploy.description import Network, io
from neurodeploy.errors import NeurodeployWarning, ValidationError
from neurodeploy.results import Progress, RunResult, SpikeRecord
from neurodeploy.runs import compare as comparing
from neurodeploy.runs import deployment
from neurodeploy.runs.rundir import read_run, write_run

TRACE_UNITS = {"v": "mV", "isyn_exc": "nA", "isyn_inh": "nA", "gsyn_exc": "uS", "gsyn_inh": "uS"}
"""The unit of each recordable trace (cells.py: V in mV, synaptic currents in nA, conductances in uS)."""


def _warn(lines):
    for line in lines:
        warnings.warn(line, NeurodeployWarning, stacklevel=3)


class Model:
    """A network ready to run, deploy and compare: one loaded by :func:`load_model` or a ``Network`` built
    in Python (``nd.Model(network)``, validated here). ``network`` is the description; runs and deployments
    leave it as it is (a stimulus or a protocol drives a copy)."""

    def __init__(self, network: Network | LoadedModel, name: str | None = None):
        if isinstance(network, LoadedModel):
            self.loaded = network
        elif isinstance(network, Network):
            network.validate()
            self.loaded = LoadedModel(network, name or network.name, "python")
            self.loaded.warnings = network.implausible_values()
        else:
            raise ValidationError("model", None, f"expected a Network, got {type(network).__name__}")
        _warn(self.loaded.warnings)

    @property
    def network(self) -> Network:
        return self.loaded.network

    @property
    def name(self) -> str:
        return self.loaded.name

    @property
    def warnings(self) -> list[str]:
        """Values that are legal but almost surely a unit mistake, one line each."""
        return list(self.loaded.warnings)

    def __repr__(self):
        return f"Model({self.name!r}: {self.network!r})"

    def _prepared(self, stimulus, protocol, duration) -> tuple[LoadedModel, pipeline.ProtocolRun | None, float]:
        """A copy driven by the stimulus (a mapping, or a JSON file) or protocol, and the duration to run; its
        input warnings are this input's (warned of here; the model's own were when it loaded)."""
        loaded = replace(self.loaded, input_warnings=[])
        if isinstance(stimulus, (str, Path)):
            stimulus = pipeline.read_stimulus(stimulus)
        protocol_run, duration_ms = pipeline.prepare_inputs(loaded, stimulus, protocol, duration)
        _warn(loaded.input_warnings)
        return loaded, protocol_run, duration_ms

    def run(
        self,
        backend: str = "brian2",
        duration: float | None = None,
        *,
        stimulus: dict | str | Path | None = None,
        protocol: str | Path | None = None,
        out: str | Path | None = None,
        progress: Progress | None = None,
        **backend_options,
    ) -> Run:
        """Run on ``backend`` for ``duration`` ms (default: the model's own), its spike sources firing as
        ``stimulus`` says (label -> one list of times per neuron, or such a JSON file) or as ``protocol``'s
        operations (a file or the name of one the family ships). ``out``: also write the run folder the
        ``run`` command writes. ``backend_options``: as ``--backend-option`` (``mode="physics"``)."""
        loaded, protocol_run, duration_ms = self._prepared(stimulus, protocol, duration)
        result, manifest = pipeline.run_model(loaded, backend, duration_ms, backend_options, progress)
        answers = protocol_run.decode(loaded, result) if protocol_run is not None else None
        run = Run(result, manifest, answers)
        if out is not None:
            run.save(out)
        return run

    def deploy(
        self,
        targets: str | list[str],
        out: str | Path,
        duration: float | None = None,
        *,
        stimulus: dict | str | Path | None = None,
        protocol: str | Path | None = None,
        board: str | Path | None = None,
        progress: Progress | None = None,
        explain_runs: int = explainer.DEPLOY_RUNS,
        **thresholds,
    ) -> Deployment:
        """Deploy as the ``deploy`` command does to one target or several (compile, check and map, execute,
        the references, compare, explain), writing ``out``: a thin wrapper of
        :func:`neurodeploy.pipeline.deploy_model`. ``explain_runs``: Brian2 runs each comparison that parts may
        take to find why (0: not explained). ``thresholds``: ``min_same_tick``, ``min_within_one``,
        ``max_rate_error`` over each target's own."""
        names = [targets] if isinstance(targets, str) else list(targets)
        loaded, protocol_run, duration_ms = self._prepared(stimulus, protocol, duration)
        summary = pipeline.deploy_model(
            loaded,
            names,
            out,
            duration_ms,
            pipeline.thresholds_over(names, thresholds),
            protocol_run,
            Path(board) if board is not None else None,
            progress,
            explain_runs=explain_runs,
        )
        return Deployment(summary, Path(out))

    def save(self, path: str | Path) -> Path:
        """The network as a JSON or YAML file (``nd.load`` reads it back)."""
        return io.save(self.network, path)


def load_model(reference: str | Path, *, seed: int | None = None, **parameters) -> Model:
    """A model as the commands take MODEL: a registered name with its builder's parameters
    (``load_model("ca3-cam", cue_size=5)``), a ``.json``/``.yaml`` network file, ``path.py:function``, a PyNN
    script, or a NIR graph (``.nir``, whose options ``dt``, ``discretization``, ``reset``, ``threshold`` are
    given here as the parameters). ``seed``: the network's seed, and the builder's when it takes one."""
    reference = str(reference)
    if Path(reference).suffix.lower() == catalog.NIR_SUFFIX:
        return Model(catalog.load_model(reference, seed=seed, nir_options=parameters))
    return Model(catalog.load_model(reference, parameters, seed))


class Run:
    """What one run produced: spikes (``spikes``: a SpikeRecord), recorded traces (``traces``: per
    population and variable, ticks x neurons), final weights of plastic projections, structural events,
    the answers to a protocol's operations, and its manifest (backend, versions, wall time per stage)."""

    def __init__(self, result: RunResult, manifest: dict, answers: dict | None = None, path: Path | None = None):
        self.result, self.manifest, self.answers, self.path = result, manifest, answers, path

    @property
    def spikes(self) -> SpikeRecord:
        return self.result.spikes

    @property
    def traces(self) -> dict[str, dict[str, np.ndarray]]:
        return self.result.traces

    @property
    def weights(self) -> dict[str, dict[str, np.ndarray]]:
        return self.result.weights

    @property
    def structural(self) -> dict | None:
        return self.result.structural

    @property
    def backend(self) -> str:
        return self.spikes.backend

    @property
    def recording(self) -> str:
        """When in a tick its traces were sampled (``cells.RECORDING_CONVENTIONS``)."""
        return self.result.details.get("recording", "end_of_tick")

    def __repr__(self):
        counts = ", ".join(
            f"{label} {sum(t.size for t in trains)}" for label, trains in self.spikes.populations.items()
        )
        return f"Run({self.backend}, {self.spikes.duration_ms:g} ms; spikes: {counts})"

    @classmethod
    def read(cls, path: str | Path) -> Run:
        """A run folder (the ``run`` command's ``--out``, or a deploy's ``target``, ``reference``...)."""
        folder = read_run(path)
        backend = folder.manifest.get("backend")
        details = {"recording": folder.recording} if isinstance(backend, dict) else {}
        structural = folder.document("structural.json")
        result = RunResult(folder.spikes, folder.traces(), folder.weights(), details=details, structural=structural)
        return cls(result, folder.manifest, folder.document("answers.json"), Path(path))

    def comparable(self) -> comparing.RunData:
        """What comparing reads of this run."""
        return comparing.RunData.of(
            self.spikes, self.manifest, self.traces, self.weights, self.structural, self.answers
        )

    def save(self, out: str | Path) -> Path:
        """Write the run folder (as the ``run`` command does: published atomically, files of yours kept)."""
        documents = {"answers.json": self.answers} if self.answers is not None else {}
        self.path = write_run(Path(out), self.manifest, self.result, documents)
        return self.path

    def to_neo(self):
        """A ``neo.Block`` with one Segment: a SpikeTrain per neuron (annotated ``population`` and
        ``neuron``) and an AnalogSignal per recorded trace (``population``, ``variable``; one channel per
        neuron, in mV, nA or uS). A sample stands at the time it describes: the end of its tick (``t_start``
        one dt), or its start under the ``spynnaker`` recording convention (``t_start`` 0)."""
        import neo
        import quantities as pq

        block = self.spikes.to_neo()
        segment = block.segments[0]
        dt = self.spikes.dt_ms
        start = 0.0 if self.recording == "spynnaker" else dt
        for label, variables in self.traces.items():
            for variable, values in variables.items():
                segment.analogsignals.append(
                    neo.AnalogSignal(
                        values,
                        units=TRACE_UNITS.get(variable, "dimensionless"),
                        sampling_period=dt * pq.ms,
                        t_start=start * pq.ms,
                        name=f"{label}.{variable}",
                        population=label,
                        variable=variable,
                        recording=self.recording,
                        array_annotations={"neuron": np.arange(values.shape[1])},
                    )
                )
        return block

    def to_pandas(self, what: str = "spikes"):
        """A ``pandas.DataFrame``: ``"spikes"``, one row per spike (``population``, ``neuron``, ``time_ms``);
        ``"traces"``, long form, one row per sample (``population``, ``variable``, ``neuron``, ``time_ms``,
        ``value``, times as in :meth:`to_neo`)."""
        import pandas as pd

        if what == "spikes":
            labels, neurons, times = [], [np.empty(0, dtype=np.int64)], [np.empty(0)]
            for label, trains in self.spikes.populations.items():
                for neuron, train in enumerate(trains):
                    labels += [label] * train.size
                    neurons.append(np.full(train.size, neuron, dtype=np.int64))
                    times.append(train)
            return pd.DataFrame(
                {
                    "population": pd.Series(labels, dtype=object),
                    "neuron": np.concatenate(neurons),
                    "time_ms": np.concatenate(times),
                }
            )
        if what == "traces":
            dt = self.spikes.dt_ms
            start = 0.0 if self.recording == "spynnaker" else dt
            frames = []
            for label, variables in self.traces.items():
                for variable, values in variables.items():
                    ticks, neurons = values.shape
                    frames.append(
                        pd.DataFrame(
                            {
                                "population": label,
                                "variable": variable,
                                "neuron": np.tile(np.arange(neurons, dtype=np.int64), ticks),
                                "time_ms": np.round(np.repeat(start + dt * np.arange(ticks), neurons), 9),
                                "value": values.reshape(-1).astype(np.float64),
                            }
                        )
                    )
            columns = ["population", "variable", "neuron", "time_ms", "value"]
            return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
        raise ValidationError("to_pandas", "what", f"must be 'spikes' or 'traces', got {what!r}")


def _as_run(run) -> Run:
    return run if isinstance(run, Run) else Run.read(run)


class Comparison:
    """A run against a reference run, with every measure ``neurodeploy compare`` takes: spikes (``spikes``:
    same tick, within one tick, rates, van Rossum per population; the thresholds), every trace both recorded
    (``traces``), the final weights of plastic projections (``weights``), structural decisions
    (``structural``) and a protocol's answers (``functional``), each None where it does not apply."""

    def __init__(self, spikes: comparing.Comparison, measures: dict):
        self.spikes, self.measures = spikes, measures

    @property
    def traces(self) -> dict | None:
        return self.measures["traces"]

    @property
    def weights(self) -> dict | None:
        return self.measures["weights"]

    @property
    def structural(self) -> dict | None:
        return self.measures["structural"]

    @property
    def functional(self) -> dict | None:
        return self.measures["functional"]

    @property
    def passed(self) -> bool:
        return self.measures["passed"]

    @property
    def failures(self) -> list[str]:
        """The spike thresholds missed, structural decisions that part, answers that differ."""
        return self.measures["failures"]

    def table(self) -> str:
        """What ``neurodeploy compare`` prints."""
        return "\n".join([self.spikes.table(), *comparing.measure_lines(self.measures)])

    def to_dict(self) -> dict:
        """``compare.json``'s figures."""
        measures = {key: self.measures[key] for key in ("traces", "weights", "structural", "functional")}
        return {
            **self.spikes.to_dict(),
            **{key: value for key, value in measures.items() if value},
            "passed": self.passed,
            "failures": self.failures,
        }

    def to_pandas(self):
        """A ``pandas.DataFrame``, one row per population and one for ``overall`` (indexed by label), with
        the spike figures of :meth:`to_dict` and whether the population is an input (not judged)."""
        import pandas as pd

        items = [*self.spikes.populations.values(), self.spikes.overall]
        return pd.DataFrame(
            [{**item.to_dict(), "input": item.label in self.spikes.inputs} for item in items],
            index=pd.Index([item.label for item in items], name="population"),
        )

    def __repr__(self):
        overall = self.spikes.overall
        verdict = "PASS" if self.passed else "FAIL"
        return (
            f"Comparison({verdict}: same tick {overall.same_tick_fraction:.2%}, ±1 {overall.within_one_fraction:.2%})"
        )


def compare(
    run: Run | str | Path,
    reference: Run | str | Path,
    *,
    min_same_tick: float = Thresholds.min_same_tick,
    min_within_one: float = Thresholds.min_within_one,
    max_rate_error: float = Thresholds.max_rate_error,
    tau_ms: float = 5.0,
) -> Comparison:
    """Compare ``run`` with ``reference`` (runs, or run folders), as ``neurodeploy compare`` does: of the same
    network's populations, time step and duration; the reference's spike sources are listed, not judged."""
    run, reference = _as_run(run), _as_run(reference)
    inputs = tuple(reference.manifest.get("spike_sources", ()))
    spikes = comparing.compare(
        run.spikes, reference.spikes, Thresholds(min_same_tick, min_within_one, max_rate_error), tau_ms, inputs
    )
    return Comparison(spikes, comparing.measure_runs(run.comparable(), reference.comparable(), spikes))


class Deployment:
    """A deployment's summary (``deploy.json``: ``passed``, ``verdict``, the comparisons) and its folder,
    whose runs :meth:`run` reads."""

    def __init__(self, summary: dict, path: Path):
        self.summary, self.path = summary, path

    @property
    def passed(self) -> bool:
        return self.summary["passed"]

    @property
    def verdict(self) -> str:
        return self.summary["verdict"]

    @property
    def explanation(self) -> str | None:
        """Why its runs part, in words (deploy.json's ``explain``); None where the deploy did not explain them."""
        explain = self.summary["explain"]
        return None if explain is None else explain["text"]

    @property
    def report(self) -> Path:
        """Its report.html, to open in a browser."""
        return self.path / deployment.REPORT

    def run(self, folder: str) -> Run:
        """One of its runs by its folder in the deployment (``"spinn5/target"``, ``"spinn5/reference"``,
        ``"reference-float"``)."""
        return Run.read(self.path / folder)

    def __repr__(self):
        return f"Deployment({self.verdict} -> {self.path})"
