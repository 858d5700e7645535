"""The Loihi-class target: Lava process graphs run on Lava's bit-accurate (fixed_pt) CPU models, with
our own integer processes where Lava's stock ones do not compute what the model means.

This process lowers the network (the integers, the checks, the quantization-aware reference); Lava runs
in a worker process in the Lava environment (:mod:`.launcher`, :mod:`.worker`), which needs Python 3.10
and numpy 1.x: no module imported here imports Lava."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from neurodeploy.backends import Backend, refuse_plastic_weight_changes
from neurodeploy.backends.lava.cells import QUANTIZATIONS, CellFixed, numbers_from, population_fixed
from neurodeploy.backends.lava.environment import LavaEnvironment, default_location
from neurodeploy.backends.lava.quantize import ProjectionFixed, projection_fixed, quantization_aware
from neurodeploy.backends.lava.rules import check_fixed
from neurodeploy.description import Network, resources, values
from neurodeploy.description.cells import RECORDING_CONVENTIONS, SYNAPTIC_RECORDABLES
from neurodeploy.description.structural import slot_synapses, structural_document
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.results import Progress, RunResult, SpikeRecord, enter_stage


@dataclass(eq=False)
class LoweredStage:
    """The numbers that change at ``tick`` (the network's schedule): the changed populations' and the
    projections whose mantissas change, in the formats (scale, weight exponent) the run started with."""

    tick: int
    populations: dict[str, CellFixed]
    projections: dict[str, ProjectionFixed]


@dataclass(eq=False)
class Lowered:
    """A network in the integers the Lava processes use (each population's its cell type's, :mod:`.cells`),
    which populations run on stock LIF, and the numbers its schedule changes."""

    network: Network
    populations: dict[str, CellFixed]
    projections: dict[str, ProjectionFixed]
    stock: set[str]
    stages: list[LoweredStage] = field(default_factory=list)

    def reference_network(self) -> Network:
        return quantization_aware(self.network, self.populations, self.projections, self.stock)


def lower(network: Network, quantization: str = "neurodeploy") -> Lowered:
    """``quantization``: ``neurodeploy`` (our integers, :mod:`.cells`) or ``nir-paper`` (the NIR paper's
    conversion of a NIR LIF to Lava's stock LIF: :class:`.cells.NirPaperLIFFixed`)."""
    network.validate()
    populations = population_fixed(network, quantization)
    stock = {label for label, fixed in populations.items() if fixed.runs_on_stock_lif(network, label)}
    staged = staged_populations(network, populations, stock, quantization)
    exponents = {}  # a projection's weight exponent: wide enough for its weights at every stage
    for stage_network, numbers in [(network, populations), *((stage.network, current) for stage, _, current in staged)]:
        for label, fixed in projection_fixed(stage_network, numbers).items():
            exponents[label] = max(exponents.get(label, 0), fixed.weight_exp)
    projections = projection_fixed(network, populations, exponents)
    stages, weights = [], dict(projections)
    for stage, changed, current in staged:
        mantissas = {}
        for label, fixed in projection_fixed(stage.network, current, exponents).items():
            if np.array_equal(fixed.mantissas, weights[label].mantissas):
                continue
            if network.projections[label].plasticity is not None or network.projections[label].structural is not None:
                raise ValidationError(
                    f"projection '{label}'",
                    "changes",
                    f"the lava backend cannot run the change at {stage.tick * network.semantics.dt:g} ms: the "
                    "learned or rewired weights would be written again",
                )
            mantissas[label] = weights[label] = fixed
        stages.append(LoweredStage(stage.tick, changed, mantissas))
    return Lowered(network, populations, projections, stock, stages)


def staged_populations(network: Network, populations: dict, stock: set, quantization: str) -> list:
    """Per stage of the schedule: the stage, the numbers of its changed populations and every population's
    numbers from then on. A change must keep the run's formats: a population's scale, Lava's stock LIF or
    not, v_rest (which v is held relative to), what a unit of arriving weight adds (held in the weights);
    and it cannot come before the first tick."""
    staged, current = [], dict(populations)
    for stage in network.stages():
        where = f"the change at {stage.tick * network.semantics.dt:g} ms"

        def refuse(subject: str, problem: str):
            raise ValidationError(subject, "changes", f"the lava backend cannot run {where}: {problem}")

        if stage.tick == 0:
            refuse("network", "a change before the first tick (give the population that value)")
        numbers = population_fixed(stage.network, quantization)
        changed = {}
        for label in stage.populations:
            before, after = current[label], numbers[label]
            population = stage.network.populations[label]
            if type(before) is not type(after) or before.scale != after.scale:
                refuse(
                    f"population '{label}'", f"its fixed-point scale would change ({before.scale:g} to {after.scale:g})"
                )
            if label in stock and not after.runs_on_stock_lif(stage.network, label):
                refuse(f"population '{label}'", "it runs on Lava's LIF, which cannot compute the new values")
            if "v_rest" in population.parameters and not np.array_equal(
                population.value("v_rest"), network.populations[label].value("v_rest")
            ):
                refuse(f"population '{label}'", "v is held relative to v_rest, which cannot change")
            receptors = {p.receptor for p in network.projections.values() if p.post == label}
            if any(not np.array_equal(before.units_per_weight(r), after.units_per_weight(r)) for r in receptors):
                refuse(
                    f"population '{label}'",
                    "the factor its arriving weights are scaled by would change, which Lava holds in the weights "
                    "(applied when a spike is sent, not when it arrives)",
                )
            changed[label] = after
        current = {**current, **changed}
        staged.append((stage, changed, current))
    return staged


def parameter_arrays(lowered: Lowered) -> dict[str, np.ndarray]:
    """The lowered numbers by name: the compile's ``lava_parameters.npz``, what the worker runs (a stage's
    under ``stage.INDEX.``)."""
    staged = {
        f"stage.{index}.{name}": value
        for index, stage in enumerate(lowered.stages)
        for name, value in parameter_arrays(
            Lowered(lowered.network, stage.populations, stage.projections, set())
        ).items()
    }
    return {
        **staged,
        **{
            f"population.{label}.{name}": np.asarray(value)
            for label, fixed in lowered.populations.items()
            for name, value in fixed.arrays().items()
        },
        **{
            f"projection.{label}.{name}": np.asarray(value)
            for label, fixed in lowered.projections.items()
            for name, value in vars(fixed).items()
        },
    }


def write_parameters(lowered: Lowered, path: Path) -> None:
    with open(path, "wb") as file:
        np.savez(file, **parameter_arrays(lowered))


def number_types(lowered: Lowered) -> dict:
    """What the parameter file does not say: each population's class of numbers (and of its input's), and
    which populations run on Lava's stock LIF."""
    return {
        "populations": {label: fixed.types() for label, fixed in lowered.populations.items()},
        "stock": sorted(lowered.stock),
        "stages": [[stage.tick, list(stage.populations), list(stage.projections)] for stage in lowered.stages],
    }


def lowered_from(network: Network, types: dict, arrays: dict[str, np.ndarray]) -> Lowered:
    """The lowered network rebuilt from ``number_types`` and the parameter file, as the main process made
    it (the worker lowers nothing itself: a cell type defined in the user's script, which the description
    names by its base, and another numpy are no concern of its)."""
    grouped: dict[tuple[str, str, str], dict] = {}
    for name, value in arrays.items():
        stage = ""
        if name.startswith("stage."):
            _, stage, name = name.split(".", 2)
        kind, rest = name.split(".", 1)
        label, field_name = rest.rsplit(".", 1)  # labels may hold dots, field names do not
        grouped.setdefault((stage, kind, label), {})[field_name] = value.item() if value.ndim == 0 else value

    def numbers(stage: str, population_labels, projection_labels):
        populations = {
            label: numbers_from(types["populations"][label], grouped[(stage, "population", label)])
            for label in population_labels
        }
        projections = {label: ProjectionFixed(**grouped[(stage, "projection", label)]) for label in projection_labels}
        return populations, projections

    try:
        populations, projections = numbers("", types["populations"], network.projections)
        stages = [
            LoweredStage(tick, *numbers(str(index), changed, mantissas))
            for index, (tick, changed, mantissas) in enumerate(types.get("stages", []))
        ]
    except (KeyError, TypeError) as error:
        raise BackendError(f"the compiled parameters do not hold the lowered network: {error}") from None
    return Lowered(network, populations, projections, set(types["stock"]), stages)


class LavaBackend(Backend):
    name = "lava"
    summary = (
        "Loihi-class: Lava process graph on Lava's bit-accurate fixed_pt models (plus our integer processes), "
        "in the Lava environment's worker"
    )
    options = {
        "timeout": (None, None),
        "quantization": (QUANTIZATIONS, "neurodeploy"),
        "recording": (tuple(RECORDING_CONVENTIONS), "end_of_tick"),
    }

    def __init__(self, timeout: float | None = None, quantization: str = "neurodeploy", recording: str = "end_of_tick"):
        self.quantization = values.choice(quantization, QUANTIZATIONS, f"backend '{self.name}'", "quantization")
        self.recording = values.choice(recording, tuple(RECORDING_CONVENTIONS), f"backend '{self.name}'", "recording")
        self.timeout_s = None if timeout is None else values.number(timeout, "s", f"backend '{self.name}'", "timeout")
        if self.timeout_s is not None:
            values.check_range(self.timeout_s, f"backend '{self.name}'", "timeout", "s", above=0)

    @classmethod
    def unavailable(cls) -> str | None:
        return LavaEnvironment(default_location()).problem()

    def run(
        self, network: Network, duration_ms: float, progress: Progress | None = None, parameters: Path | None = None
    ) -> RunResult:
        """``parameters``: the compile's ``lava_parameters.npz``, when run from one."""
        from neurodeploy.backends.lava.launcher import run_in_worker

        enter_stage(progress, "build")
        refuse_plastic_weight_changes(network, self.name)
        lowered = lower(network, self.quantization)
        if self.recording == "spynnaker" and network.turnovers:
            raise BackendError("the spynnaker recording convention is not sampled with neuron turnover on Lava")
        errors = [f for f in check_fixed(network, lowered.populations, lowered.projections, None) if f.level == "error"]
        if errors:
            raise BackendError("; ".join(f"{f.subject}: {f.message}" for f in errors))
        ticks = network.semantics.duration_ticks(duration_ms)
        synaptic = self._synaptic_recordings(network, lowered)
        run = run_in_worker(
            lowered,
            ticks,
            progress,
            probes=[(label, var) for label, (_, var, _) in synaptic],
            parameters=parameters,
            timeout_s=self.timeout_s,
        )
        record = SpikeRecord.from_ticks(
            network.semantics.dt,
            ticks * network.semantics.dt,
            self.name,
            {label: (network.size_of(label), neurons, ticks_) for label, (neurons, ticks_) in run.spikes.items()},
        )
        plastic = {}
        for label, (mantissas, pre) in run.weights.items():
            fixed = lowered.projections[label]
            structural = network.projections[label].structural
            if structural is not None:
                plastic[label] = slot_synapses(
                    pre.reshape(-1, structural.s_max), mantissas.reshape(-1, structural.s_max) * fixed.weight_unit
                )
            else:
                plastic[label] = {
                    "pre": network.connections(label).pre,
                    "post": network.connections(label).post,
                    "weight": mantissas * fixed.unit,
                }
        traces = {label: {"v": self._sampled_v(lowered, label, v)} for label, v in run.voltages.items()}
        for label, (variable, var, receptor) in synaptic:
            state = lowered.populations[label].synaptic_state(run.probed[(label, var)], receptor, self.recording)
            traces.setdefault(label, {})[variable] = state
        return RunResult(
            record,
            traces,
            plastic,
            versions=run.about.get("versions", {}),
            details={
                "mode": "Lava fixed_pt (CPU), in the Lava environment's worker",
                "recording": self.recording,
                "stock_lif": sorted(lowered.stock),
                "quantization": self.quantization,
                "build_s": run.about.get("build_s"),
                "simulation_wall_time_s": run.about.get("simulation_wall_time_s"),
                "read_back_s": run.about.get("read_back_s"),
            },
            structural=structural_document(network, run.events, run.turnover)
            if run.about.get("structural") or run.turnover
            else None,
        )

    def _sampled_v(self, lowered: Lowered, label: str, v: np.ndarray) -> np.ndarray:
        """V at the end of each tick as recorded, or under the spynnaker convention at its start: the initial
        value, then the end of the tick before."""
        if self.recording != "spynnaker":
            return v
        fixed, population = lowered.populations[label], lowered.network.populations[label]
        initial = fixed.voltage(np.asarray(fixed.v_init, dtype=np.float64)[None, :], population)
        return np.vstack([initial, v[:-1]])

    @staticmethod
    def _synaptic_recordings(network: Network, lowered: Lowered) -> list[tuple[str, tuple[str, str, str]]]:
        """Per recorded synaptic state, its population, and the variable, the process's Var and the receptor (a
        population recording it runs on our process, which holds one state per receptor, not on Lava's LIF)."""
        recorded = []
        for label, variables in network.recordings.items():
            for variable in (name for name in variables if name in SYNAPTIC_RECORDABLES):
                receptor = SYNAPTIC_RECORDABLES[variable]
                recorded.append((label, (variable, lowered.populations[label].synaptic_vars[receptor], receptor)))
        return recorded

    def estimate_memory(self, network: Network, duration_ms: float) -> resources.MemoryEstimate:
        return resources.estimate(network, duration_ms, f"{self.name} backend", COSTS)


COSTS = resources.Costs(
    baseline=400e6,
    per_neuron=2000,
    per_synapse=700,
    per_plastic_synapse=1400,
    per_recorded_value=48,
    per_recorded_spike=0,
    per_source_spike=160,
    per_delay_slot=0,
    per_recorded_neuron_tick=16,
    per_source_neuron_tick=16,
)
"""Bytes per item over the process and its Lava workers, measured and rounded up (docs/reliability.md) when
a spike source and a recorder of its spikes both held every tick: the source still does, recorded spikes
are now index arrays the processes write into files, so per recorded neuron tick this is an upper bound.
Plastic synapses are taken at twice the static cost (not measured)."""
