"""The Brian2 reference backend: float64, step-exact discrete-time semantics (``mode="discrete"``),
or the continuous-time model at a small step for statistics (``mode="physics"``)."""

from __future__ import annotations

import gc
import time
from dataclasses import replace
from typing import NamedTuple

import brian2 as b2
import numpy as np

from neurodeploy.backends import Backend, refuse_plastic_weight_changes
from neurodeploy.backends.brian2 import compiled, discrete, physics
from neurodeploy.backends.brian2.context import RECEPTOR_VARIABLE, BuildContext
from neurodeploy.backends.brian2.schedule import scheduled_actions
from neurodeploy.backends.brian2.structural import Rewiring
from neurodeploy.description import Network, SpikeSource, resources, values
from neurodeploy.description.cells import RECORDING_CONVENTIONS, SYNAPTIC_RECORDABLES
from neurodeploy.errors import BackendError, ValidationError
from neurodeploy.results import Progress, RunResult, SpikeRecord, enter_stage

LOWERINGS = {"discrete": discrete, "physics": physics}

# A run interrupted while its network is built leaves Brian2 objects that never ran: Brian2 would warn of
# each, in many lines, as the process exits after its one-line answer.
b2.BrianLogger.suppress_name("unused_brian_object")

COSTS = resources.Costs(
    baseline=150e6,
    per_neuron=350,
    per_synapse=130,
    per_plastic_synapse=220,
    per_recorded_value=32,
    per_recorded_spike=80,
    per_source_spike=160,
    per_delay_slot=32,
)
"""Bytes per item with the numpy code generator, measured and rounded up (docs/reliability.md); a recorded
V value is a growing monitor's, a delay slot a tick of a projection's spike queue."""

RECORDED_WHEN = {
    "end_of_tick": {"v": "end", "synaptic": "thresholds"},
    "spynnaker": {"v": "start", "synaptic": "start"},
}
"""Per recording convention, Brian2's slot each recorded value is sampled in. At the end of a tick V is
sampled after threshold and reset, the synaptic state after the update's decay and before the synapses
slot adds the next tick's input; at the start of a tick (in float64) V is the one the update integrates and
the synaptic state holds the tick's input, not yet decayed."""


class Brian2Backend(Backend):
    name = "brian2"
    summary = "Brian2 float64 reference: step-exact per-tick semantics (mode=physics: exact ODEs, statistics only)"
    options = {
        "mode": (tuple(LOWERINGS), "discrete"),
        "physics_dt": (None, 0.1),
        "recording": (tuple(RECORDING_CONVENTIONS), "end_of_tick"),
        "codegen": (compiled.TARGETS, "auto"),
    }

    def __init__(
        self,
        mode: str = "discrete",
        physics_dt: float = 0.1,
        recording: str = "end_of_tick",
        codegen: str | None = None,
    ):
        self.mode = mode
        self.recording = values.choice(recording, tuple(RECORDING_CONVENTIONS), f"backend '{self.name}'", "recording")
        codegen = codegen or compiled.default_choice()
        self.codegen = values.choice(codegen, compiled.TARGETS, f"backend '{self.name}'", "codegen")
        self.physics_dt = values.number(physics_dt, "ms", f"backend '{self.name}'", "physics_dt")
        values.check_range(self.physics_dt, f"backend '{self.name}'", "physics_dt", "ms", above=0)

    def run(self, network: Network, duration_ms: float, progress: Progress | None = None) -> RunResult:
        enter_stage(progress, "build")
        network.validate()
        semantics = network.semantics
        model_ticks = semantics.duration_ticks(duration_ms)
        dt_ms = semantics.dt if self.mode == "discrete" else self._physics_step(semantics.dt)
        steps = int(round(model_ticks * semantics.dt / dt_ms))
        target = compiled.code_target(self.codegen)
        # Brian2 looks for objects made but left out of a network with a full garbage collection before every
        # run; this backend puts every object it makes into its network.
        b2.prefs.logging.warn_for_unused_objects = False
        if network.turnovers and self.mode != "discrete":
            raise BackendError("neuron turnover runs in the discrete mode only")
        integer = [p.label for p in network.populations.values() if p.arithmetic is not None]
        if integer and self.mode != "discrete":
            raise BackendError(f"population '{integer[0]}': a fixed-point arithmetic runs in the discrete mode only")
        if network.injections and self.mode != "discrete":
            raise BackendError(
                f"{next(iter(network.injections.values())).where}: current sources run in the discrete mode only"
            )
        structural = [p.label for p in network.projections.values() if p.structural is not None]
        if structural and self.mode != "discrete":
            raise BackendError(f"projection '{structural[0]}': structural plasticity runs in the discrete mode only")
        if network.changes and self.mode != "discrete":
            raise BackendError(f"{network.changes[0].where}: changes during a run run in the discrete mode only")
        refuse_plastic_weight_changes(network, self.name)
        recorded = self._simulate(network, dt_ms, steps, progress)
        # Brian2's objects refer to each other: collected now, not after the records are sorted (which costs
        # as much memory again as the spikes), where a large network's synapses are most of what a run holds.
        # A full collection walks every object of the process (a tenth of a second with Brian2 imported):
        # small networks, run many times over by explain, leave it to Python's own collections.
        if sum(len(network.connections(label).pre) for label in network.projections) >= COLLECTED_SYNAPSES:
            gc.collect()
        spikes = SpikeRecord.from_ticks(dt_ms, model_ticks * semantics.dt, self.name, recorded.spikes)
        return RunResult(
            spikes,
            recorded.traces,
            recorded.weights,
            versions={"brian2": b2.__version__, "numpy": np.__version__, **_compiler_versions(target)},
            details={
                "mode": self.mode,
                "dt_ms": dt_ms,
                "recording": self.recording,
                "codegen": target,
                "build_s": recorded.build_s,
                "simulation_wall_time_s": recorded.wall_s,
            },
            structural=recorded.structural,
        )

    def _simulate(self, network: Network, dt_ms: float, steps: int, progress: Progress | None) -> Recorded:
        """Build the Brian2 network, run it, and copy out what it recorded (none of it Brian2's own memory)."""
        context = BuildContext(network, dt_ms, b2.Clock(dt_ms * b2.ms, name="neurodeploy_clock"))
        lowering = LOWERINGS[self.mode]
        # Look every lowering up before making any Brian2 object: unsupported features fail first.
        population_lowerings = [lowering.population_lowering(p) for p in network.populations.values()]
        projection_lowerings = [lowering.PROJECTIONS.lookup(type(p.plasticity)) for p in network.projections.values()]
        groups, objects = {}, []
        for index, (population, lower) in enumerate(zip(network.populations.values(), population_lowerings)):
            group, extras = lower(population, context, f"population_{index}")
            groups[population.label] = group
            objects += [group, *extras]
        feeds = []
        for index, source in enumerate(network.spike_sources.values()):
            feeds.append(SpikeFeed(source, context, f"source_{index}"))
            groups[source.label] = feeds[-1].group
            objects.append(groups[source.label])
        plastic, structural, projected = {}, {}, {}
        for index, (projection, lower) in enumerate(zip(network.projections.values(), projection_lowerings)):
            synapses = lower(
                projection, context, groups[projection.pre], groups[projection.post], f"projection_{index}"
            )
            objects.append(synapses)
            projected[projection.label] = synapses
            if projection.structural is not None:
                structural[projection.label] = synapses
            if projection.plasticity is not None:
                plastic[projection.label] = synapses
        rewiring = None
        if structural or network.turnovers:
            rewiring = Rewiring(network, structural, groups, context)
            objects += rewiring.objects
        spike_monitors, state_monitors = {}, {}
        for label, variables in network.recordings.items():
            if "spikes" in variables:
                spike_monitors[label] = b2.SpikeMonitor(groups[label], record=True, name=f"{groups[label].name}_spikes")
                objects.append(spike_monitors[label])
            for variable in (name for name in variables if name != "spikes"):
                state, when = self._sampled(network.populations[label], groups[label], variable)
                monitor = b2.StateMonitor(
                    groups[label], state, record=True, when=when, name=f"{groups[label].name}_{variable}"
                )
                state_monitors.setdefault(label, {})[variable] = (monitor, state)
                objects.append(monitor)

        actions = scheduled_actions(network, groups, projected, context.current_feeds) if network.changes else {}
        started = time.perf_counter()
        simulation = b2.Network(*objects)
        pieces = sorted({*range(0, steps, SEGMENT_STEPS), *(tick for tick in actions if tick < steps), steps})
        build = 0.0
        enter_stage(progress, "codegen")  # the first segment's preparation, until Brian2 first reports
        for start, stop in zip(pieces, pieces[1:]):
            for action in actions.get(start, ()):
                action()
            for feed in feeds:
                feed.load(start, stop)
            segment = Segment(progress, start / steps, (stop - start) / steps)
            simulation.run((stop - start) * dt_ms * b2.ms, namespace={}, report_period=1 * b2.second, report=segment)
            build += segment.build_s or 0.0  # None: Brian2 had nothing to run
        wall = time.perf_counter() - started - build
        enter_stage(progress, "read_back")

        spikes = {}
        for label, monitor in spike_monitors.items():
            neurons, times = (monitor.variables[name].get_value() for name in ("i", "t"))
            spikes[label] = (network.size_of(label), neurons.copy(), _spike_ticks(times, dt_ms * 1e-3))
        traces = {
            label: {
                variable: np.asarray(getattr(monitor, name)[:]).T.copy()
                for variable, (monitor, name) in sampled.items()
            }
            for label, sampled in state_monitors.items()
        }
        weights = {}
        for label, synapses in plastic.items():
            if network.projections[label].structural is not None:
                weights[label] = rewiring.synapses_of(label)
                continue
            connections = network.connections(label)
            # a copy: Brian2's view of its synapses' memory dangles once the network is collected
            weights[label] = {"pre": connections.pre, "post": connections.post, "weight": np.array(synapses.w[:])}
        return Recorded(spikes, traces, weights, rewiring.engine.document() if rewiring else None, build, wall)

    def estimate_memory(self, network: Network, duration_ms: float) -> resources.MemoryEstimate:
        """In physics mode every tick of the model is ``dt / physics_dt`` steps: recordings and delay
        queues scale with them."""
        steps = 1.0 if self.mode == "discrete" else network.semantics.dt / self.physics_dt
        costs = (
            COSTS
            if steps == 1.0
            else replace(
                COSTS, per_recorded_value=COSTS.per_recorded_value * steps, per_delay_slot=COSTS.per_delay_slot * steps
            )
        )
        return resources.estimate(network, duration_ms, f"{self.name} backend", costs)

    def _sampled(self, population, group, variable: str) -> tuple[str, str]:
        """The group's variable a monitor records for ``variable`` and the slot it samples it in, under the
        backend's recording convention; what cannot be sampled so is refused, naming why."""
        where = f"recording '{population.label}'"
        if self.recording != "end_of_tick" and (self.mode != "discrete" or population.arithmetic is not None):
            raise BackendError(
                f"{where}: the {self.recording} recording convention is sampled in float64's discrete mode only "
                "(an integer arithmetic moves its input into the state within the tick's update)"
            )
        if variable == "v":
            return "v", RECORDED_WHEN[self.recording]["v"]
        x = RECEPTOR_VARIABLE[SYNAPTIC_RECORDABLES[variable]]
        if self.mode != "discrete":
            return f"syn_{x}", "end"
        name = discrete.SYNAPTIC_READING.format(x=x)
        if name not in group.variables:
            raise BackendError(
                f"{where}: {variable} cannot be recorded: the population's arithmetic holds one combined current "
                "(FixedPointLIF currents='combined'), not one per receptor"
            )
        return name, RECORDED_WHEN[self.recording]["synaptic"]

    def _physics_step(self, model_dt: float) -> float:
        ratio = model_dt / self.physics_dt
        if abs(ratio - round(ratio)) > 1e-9:
            raise ValidationError(
                f"backend '{self.name}'",
                "physics_dt",
                f"{self.physics_dt:g} ms must divide the model's dt ({model_dt:g} ms)",
            )
        return self.physics_dt


def _spike_ticks(times: np.ndarray, dt_s: float) -> np.ndarray:
    """A monitor's spike times (s) as int32 ticks, converted in blocks: read back beside all of Brian2's
    memory, where float temporaries of every spike would raise the run's peak."""
    ticks = np.empty(times.size, dtype=np.int32)
    for start in range(0, times.size, TICKS_BLOCK):
        block = times[start : start + TICKS_BLOCK] / dt_s
        ticks[start : start + TICKS_BLOCK] = np.rint(block, out=block)
    return ticks


TICKS_BLOCK = 1 << 20

SEGMENT_STEPS = 10000
"""Runs go in segments of at most this many steps (ending where the schedule changes something), each
spike generator holding its segment's spikes only: Brian2's numpy spike generator copies all its spike
times every step (a dtype mismatch in its searchsorted), which made long stimuli cost milliseconds per
tick."""

COLLECTED_SYNAPSES = 10**6
"""Synapses from which a run collects Brian2's objects before its records are sorted."""


class SpikeFeed:
    """A spike source as a Brian2 SpikeGeneratorGroup, loaded one run segment at a time."""

    def __init__(self, source: SpikeSource, context: BuildContext, name: str):
        counts = [len(times) for times in source.spike_times]
        indices = np.repeat(np.arange(source.size), counts)
        times = np.concatenate(source.spike_times) if sum(counts) else np.empty(0)
        order = np.argsort(times, kind="stable")
        self.indices, self.times, self.dt_ms = indices[order], times[order], context.dt_ms
        self.group = b2.SpikeGeneratorGroup(source.size, [], [] * b2.ms, clock=context.clock, name=name)

    def load(self, start: int, stop: int):
        """The spikes of steps ``start .. stop - 1``."""
        low, high = np.searchsorted(self.times, [(start - 0.5) * self.dt_ms, (stop - 0.5) * self.dt_ms])
        self.group.set_spikes(self.indices[low:high], self.times[low:high] * b2.ms)


class Recorded(NamedTuple):
    """What a run recorded, out of Brian2's objects: spikes per label as (size, neurons, ticks), traces,
    weights, the structural events' document, and the times of Brian2's preparation and of its loop."""

    spikes: dict
    traces: dict
    weights: dict
    structural: dict | None
    build_s: float
    wall_s: float


class Segment:
    """Brian2's report callback for one run segment: the time Brian2 took to prepare it (code generated,
    compiled or loaded, spike queues built) before its first step, when Brian2 first reports (the first
    segment's first report ends the codegen stage), and the progress of the whole run."""

    def __init__(self, progress: Progress | None, done: float, share: float):
        self.progress, self.done, self.share = progress, done, share
        self.called = time.perf_counter()
        self.build_s = None

    def __call__(self, elapsed, completed, start, duration):
        if self.build_s is None:
            self.build_s = time.perf_counter() - self.called
            if self.done == 0:
                enter_stage(self.progress, "simulate")
        if self.progress is not None:
            self.progress(self.done + self.share * float(completed))


def _compiler_versions(target: str) -> dict:
    if target != "cython":
        return {}
    import Cython

    return {"cython": Cython.__version__}
