"""The Lava process graph of a network: one neuron process per population, one connection process per
projection, ring-buffer sources, recorders that pass results to the host. No per-neuron processes.

Stock Lava processes wherever they compute what the description means:
* ``lava.proc.lif.LIF`` for a population whose cell type's numbers it runs exactly, otherwise our own
  process for them (:mod:`.cells`: ``CurrExpLIF``, ``CondExpLIF``, ``CurrExpIzhikevich``);
* ``lava.proc.sparse.Sparse`` (delay 1) or ``DelaySparse`` (per-synapse delays) for static projections;
  our ``PairSTDPSynapses`` for plastic ones, ``StructuralSynapses`` for static structural ones (plastic
  structural ones are ``PairSTDPSynapses`` on slots);
* ``lava.proc.io.source.RingBuffer`` for spike sources.

What a run produced (spikes, voltages, final weights, structural events) the processes that compute it
write into files in the run's folder (:mod:`.proc.recording`; Lava's LIF and spike source run their stock
models with the same mixin, :mod:`.proc.stock`), not ``Var.get``, which Lava 0.10 transfers one element
at a time, nor recorder processes, which cost every tick a round of the runtime's messages; so reading
results back costs about what copying them does.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import numpy as np
from lava.magma.compiler.compiler_graphs import find_processes
from lava.magma.core.model.py.model import AbstractPyProcessModel
from lava.magma.core.process.variable import Var
from lava.magma.core.run_conditions import RunSteps
from lava.magma.core.run_configs import Loihi2SimCfg
from lava.proc.io.source import RingBuffer as SpikeSource
from lava.proc.lif.process import LIF
from lava.proc.sparse.process import DelaySparse, Sparse
from scipy.sparse import csr_matrix

from neurodeploy.backends.lava.cells import CellFixed
from neurodeploy.backends.lava.exchange import LavaRun
from neurodeploy.backends.lava.proc.cond_exp_lif.process import CondExpLIF
from neurodeploy.backends.lava.proc.curr_exp_lif.process import CurrExpLIF
from neurodeploy.backends.lava.proc.izhikevich.process import CurrExpIzhikevich
from neurodeploy.backends.lava.proc.join.process import Join
from neurodeploy.backends.lava.proc.pair_stdp.process import PairSTDPSynapses
from neurodeploy.backends.lava.proc.recording import Recordings
from neurodeploy.backends.lava.proc.rewiring import max_events
from neurodeploy.backends.lava.proc.stock import STOCK_MODELS
from neurodeploy.backends.lava.proc.structural.process import StructuralSynapses
from neurodeploy.backends.lava.quantize import (
    STATE_BITS,
    ProjectionFixed,
    decay_table,
    pair_stdp_arithmetic,
    stdp_units,
    stock_receptor,
)
from neurodeploy.description import Network
from neurodeploy.description.structural import Event, longest_formed_delay, slot_table
from neurodeploy.errors import BackendError
from neurodeploy.processes import forked_children_end_with_parent, signals_held, stopped_on_exit

NEURON_PROCESSES = {process.__name__: process for process in (LIF, CurrExpLIF, CondExpLIF, CurrExpIzhikevich)}
"""The neuron Processes by the names :mod:`.cells` gives them."""


def _set_var_keeping_integers(lava_set_var):
    """Lava 0.10's models take a sparse Var's new values into a float buffer (``np.empty``), so a
    bit-accurate Sparse given new weights would shift floats and fail: the values are put back into the
    integer type the Var held (they arrive as exact floats of its integers)."""

    def set_var(model):
        sparse = {
            name: getattr(model, name)
            for name in model.var_id_to_var_map.values()
            if isinstance(getattr(model, name, None), csr_matrix)
        }
        lava_set_var(model)
        for name, before in sparse.items():
            after = getattr(model, name)
            if after is not before and after.dtype != before.dtype:
                setattr(model, name, after.astype(before.dtype))

    return set_var


AbstractPyProcessModel._set_var = _set_var_keeping_integers(AbstractPyProcessModel._set_var)


def _key(var) -> tuple[str, str]:
    """A Var by its process's name and its own."""
    return var.process.name, var.name


class LavaGraph:
    """Builds the processes; ``run`` executes them on Lava's fixed_pt models, in ``chunks`` runs (progress is
    reported after each), and always stops them (also on errors and signals), with workers that die with
    this process. What they record goes to a temporary folder in ``folder`` (default: the system's), removed
    once read."""

    def __init__(
        self,
        network: Network,
        populations: dict[str, CellFixed],
        projections: dict[str, ProjectionFixed],
        stock: set[str],
        ticks: int,
        chunks: int = 10,
        stages=(),
        folder: Path | None = None,
    ):
        self.network, self.ticks, self.stock, self.least_chunks = network, ticks, stock, chunks
        self.folder = folder
        self.fixed = populations
        self.stages = {stage.tick: stage for stage in stages if stage.tick < ticks}
        self.neurons = {label: self._neurons(label, populations[label]) for label in network.populations}
        self.sources = {label: SpikeSource(data=self._source_data(label)) for label in network.spike_sources}
        self.plastic, self.structural = {}, {}
        self.connections = {}
        for label, projection in network.projections.items():
            self.connections[label] = self._projection(label, projection, projections[label])
        self.reach = [
            self._reach(label, projection)
            for label in network.turnovers
            for projection in network.projections.values()
            if projection.post == label and projection.structural is None
        ]
        self.recorded_spikes = [label for label, variables in network.recordings.items() if "spikes" in variables]
        self.voltages = {
            label: self.neurons[label].v for label, variables in network.recordings.items() if "v" in variables
        }
        self.probes = {}
        self.final = [process.weights for process in self.plastic.values()]  # the Vars read at the end
        self.final += [
            getattr(process, name) for process in self.structural.values() for name in ("pre", "events", "n_events")
        ]
        self.final += [
            getattr(self.neurons[label], name)
            for label in network.turnovers
            for name in ("epochs", "alive_after", "n_epochs")
        ]
        self.watched = [label for label, fixed in populations.items() if fixed.watch_clipping]
        self.final += [self.neurons[label].clipped for label in self.watched]

    def probe(self, label: str, variable: str):
        """Also record a neuron variable (raw integers, ticks x neurons), e.g. ``u_exc``."""
        self.probes[(label, variable)] = getattr(self.neurons[label], variable)

    def _chunks(self) -> list[int]:
        """The ticks of each run: ``least_chunks`` runs (a progress report after each), also split where the
        schedule changes something."""
        count = min(self.least_chunks, self.ticks)
        starts = {int(chunk[0]) for chunk in np.array_split(np.arange(self.ticks), count)} | set(self.stages)
        bounds = [*sorted(starts), self.ticks]
        return [stop - start for start, stop in zip(bounds, bounds[1:])]

    def _neurons(self, label: str, fixed: CellFixed):
        turnover, max_epochs = None, 1
        if label in self.network.turnovers:
            turnover = {"network": self.decision_network.to_dict(), "label": label}
            max_epochs = self.ticks // int(round(self.network.turnovers[label].epoch / self.network.semantics.dt)) + 1
        name, arguments = fixed.process(
            self.network.size_of(label),
            self.network.semantics,
            stock_receptor(self.network, label) if label in self.stock else None,
            turnover,
            max_epochs,
        )
        injections = [i.to_dict() for i in self.network.injections.values() if i.population == label]
        if injections:
            arguments["currents"] = {
                "injections": injections,
                "dt": self.network.semantics.dt,
                "seed": self.network.seed,
                "units": fixed.current_units().tolist(),
            }
        return NEURON_PROCESSES[name](name=f"population {label}", **arguments)

    @cached_property
    def decision_network(self) -> Network:
        """The description that structural and turnover processes rebuild to take their decisions: the
        network without its spike sources' trains, which no decision reads (a long run's trains would
        otherwise be copied into every such process)."""
        return self.network.with_spike_times(
            {label: [[]] * source.size for label, source in self.network.spike_sources.items()}
        )

    def _reach(self, label: str, projection) -> Sparse:
        """A static projection into a population with turnover, as counts of arriving spikes (weight 1),
        to the population's neurons and to the structural synapses on either side of it."""
        connections = self.network.connections(projection.label)
        shape = (self.network.size_of(label), self.network.size_of(projection.pre))
        ones = csr_matrix((np.ones(len(connections.pre), dtype=np.int64), (connections.post, connections.pre)), shape)
        process = Sparse(weights=ones, name=f"reach {projection.label}")
        self._out_port(projection.pre).connect(process.s_in)
        process.a_out.connect(self.neurons[label].reach)
        for structural_label, synapses in self.structural.items():
            structural = self.network.projections[structural_label]
            if structural.post == label:
                process.a_out.connect(synapses.reach_post)
            elif structural.pre == label:
                process.a_out.connect(synapses.reach_pre)
        return process

    def _source_data(self, label: str) -> np.ndarray:
        source = self.network.spike_sources[label]
        data = np.zeros((source.size, self.ticks), dtype=np.int32)
        for neuron, times in enumerate(source.spike_times):
            ticks = self.network.semantics.ticks(times, label, "spike_times")
            data[neuron, ticks[ticks < self.ticks]] = 1
        return data

    def _out_port(self, label: str):
        return (self.neurons.get(label) or self.sources[label]).s_out

    def _in_port(self, label: str, receptor: str):
        neurons = self.neurons[label]
        if label in self.stock:
            return neurons.a_in
        return neurons.a_in_exc if receptor == "excitatory" else neurons.a_in_inh

    def _projection(self, label, projection, fixed: ProjectionFixed):
        connections = self.network.connections(label)
        shape = (self.network.size_of(projection.post), self.network.size_of(projection.pre))
        rewiring = None
        if projection.structural is not None:
            rewiring = {
                "network": self.decision_network.to_dict(),
                "label": label,
                "initial_mantissa": fixed.mantissa_of(projection.structural.initial_weight),
                "max_events": max_events(self.network, label, self.ticks),
                "unit": fixed.weight_unit,
            }
        if projection.structural is not None:  # slots: post x s_max, pre neuron (-1 empty) and mantissa
            slot_pre = slot_table(self.network, label, connections.pre.astype(np.int64), -1)
            slot_mantissas = slot_table(self.network, label, np.asarray(fixed.mantissas, dtype=np.int64), 0)
        if projection.structural is not None and projection.plasticity is None:
            process = StructuralSynapses(
                network=self.decision_network,
                label=label,
                pre=slot_pre,
                mantissas=slot_mantissas,
                weight_exp=fixed.weight_exp,
                initial_mantissa=rewiring["initial_mantissa"],
                unit=rewiring["unit"],
                max_events=rewiring["max_events"],
                name=f"projection {label}",
            )
            self._out_port(projection.post).connect(process.s_post)
            self.structural[label] = process
        elif projection.plasticity is not None:
            rule = projection.plasticity
            units = stdp_units({name: getattr(rule, name) for name in rule.FIELDS}, fixed)
            pre, post, delays, mantissas = connections.pre, connections.post, connections.delay_ticks, fixed.mantissas
            if rewiring is not None:  # the slots, synapse ``post * s_max + slot``
                pre, mantissas = slot_pre.reshape(-1), slot_mantissas.reshape(-1)
                post = np.repeat(np.arange(shape[0]), slot_pre.shape[1])
                delays = np.ones(pre.size, dtype=np.int64)
            process = PairSTDPSynapses(
                n_pre=shape[1],
                n_post=shape[0],
                pre=pre,
                post=post,
                delays=delays,
                weights=mantissas,
                weight_exp=fixed.weight_exp,
                a_plus=units["A_plus"],
                a_minus=units["A_minus"],
                w_min=units["w_min"],
                w_max=units["w_max"],
                decay_plus=decay_table(rule.tau_plus, self.network.semantics.dt),
                decay_minus=decay_table(rule.tau_minus, self.network.semantics.dt),
                arithmetic=pair_stdp_arithmetic(fixed.weight_unit),
                multiplicative=rule.weight_dependence == "multiplicative",
                nearest=rule.semantics.traces == "nearest_spynnaker",
                heterosynaptic=units["heterosynaptic"],
                structural=rewiring,
                max_delay=longest_formed_delay(self.network, label),
                name=f"projection {label}",
            )
            self._out_port(projection.post).connect(process.s_post)
            self.plastic[label] = process
            if rewiring is not None:
                self.structural[label] = process
        else:
            sign = -1 if projection.receptor == "inhibitory" and projection.post in self.stock else 1
            weights = csr_matrix((sign * fixed.mantissas, (connections.post, connections.pre)), shape=shape)
            if np.all(connections.delay_ticks == 1):
                process = Sparse(weights=weights, weight_exp=fixed.weight_exp, name=f"projection {label}")
            else:
                # int64: DelaySparse refuses any other integer type (it compares the dtype with Python's int)
                waits = connections.delay_ticks.astype(np.int64) - 1
                delays = csr_matrix((waits, (connections.post, connections.pre)), shape=shape)
                process = DelaySparse(
                    weights=weights, delays=delays, weight_exp=fixed.weight_exp, name=f"projection {label}"
                )
        self._out_port(projection.pre).connect(process.s_in)
        process.a_out.connect(self._in_port(projection.post, projection.receptor))
        return process

    def _joined(self, processes: list):
        """The process to compile from, which reaches every part of the graph (None when no part has a
        result), and the Joins that connect its unconnected parts: Lava compiles only the processes
        connected to the one it is called on. A Join's RefPorts reach one Var of each part (a population's
        ``v``, or a recorded spike source's ``data``); when the parts outnumber a Join's slots, each further
        Join also reaches the last Var of the one before, so the Joins are connected too. A part with
        neither (spike sources that nothing reads or records) computes nothing anyone sees and is left out."""
        seen, ties = set(), []
        for process in processes:
            if process.id in seen:
                continue
            part = find_processes(process)
            seen.update(member.id for member in part)
            neurons = [member for member in self.neurons.values() if member in part]
            ties.append(neurons[0].v if neurons else process.data)
        if len(ties) < 2:
            return (ties[0].process if ties else None), []
        step = Join.SLOTS - 1
        joins = [
            Join(vars=ties[first : first + Join.SLOTS], name="parts joined") for first in range(0, len(ties) - 1, step)
        ]
        return joins[0], joins

    def _plan(self, recordings: Recordings) -> None:
        """What each process writes: recorded spikes, traces every tick, and the Vars read at the end."""
        for label in self.recorded_spikes:
            recordings.spikes(self.neurons.get(label) or self.sources[label])
        for var in [*self.voltages.values(), *self.probes.values()]:
            recordings.trace(var)
        for var in self.final:
            recordings.final(var)
        recordings.give_plans()

    def run(self, progress=None) -> LavaRun:
        """Run all ticks, then read what the processes wrote. ``about["read_back_s"]``: the seconds spent
        writing and reading it (the processes' and the host's)."""
        sources = [self.sources[label] for label in self.recorded_spikes if label in self.sources]
        anchor, joins = self._joined([*self.neurons.values(), *sources])
        if anchor is None:  # nothing to simulate that anyone reads: an empty run, as on the other backends
            return LavaRun()
        folder = Path(tempfile.mkdtemp(prefix="lava-recordings-", dir=self.folder))
        try:
            recordings = Recordings(folder, self.ticks)
            self._plan(recordings)
            self._simulate(anchor, progress)
            read = time.perf_counter()
            result = self._result(recordings)
            read_back_s = recordings.seconds() + time.perf_counter() - read
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return replace(result, about={"read_back_s": read_back_s})

    def _simulate(self, anchor, progress) -> None:
        """All ticks, in chunks, with the schedule's changes between them."""
        configuration = Loihi2SimCfg(select_tag="fixed_pt", exception_proc_model_map=STOCK_MODELS)
        executable = anchor.compile(configuration)
        done = 0
        with forked_children_end_with_parent(), stopped_on_exit("the lava run", anchor.stop):
            for steps in self._chunks():
                if done == 0:
                    # Lava 0.10 cannot stop a runtime that has started its workers but not run: a signal
                    # waits until the first steps are under way.
                    with signals_held():
                        anchor.create_runtime(executable=executable)
                        anchor.run(condition=RunSteps(num_steps=steps, blocking=False))
                    anchor.wait()
                else:
                    if done in self.stages:
                        self._change(self.stages[done])
                    anchor.run(condition=RunSteps(num_steps=steps))
                done += steps
                if progress is not None:
                    progress(done / self.ticks)

    def _result(self, recordings: Recordings) -> LavaRun:
        final = recordings.finals()
        self._refuse_clipped(final)
        spikes = {
            label: recordings.spikes_of(self.neurons.get(label) or self.sources[label])
            for label in self.recorded_spikes
        }
        voltages = {
            label: self.fixed[label].voltage(recordings.trace_of(var), self.network.populations[label])
            for label, var in self.voltages.items()
        }
        probed = {key: np.array(recordings.trace_of(var), dtype=np.int64) for key, var in self.probes.items()}
        weights = {
            label: (
                final[(process.name, "weights")],
                final[(process.name, "pre")]
                if label in self.structural
                else self.network.connections(label).pre.astype(np.int64),
            )
            for label, process in self.plastic.items()
        }
        events = [
            Event(int(tick), "form" if kind else "eliminate", label, int(pre), int(post), -1)
            for label, process in self.structural.items()
            for tick, kind, pre, post in final[(process.name, "events")][: final[(process.name, "n_events")][0]]
        ]
        turnover = {label: self._epochs(label, final) for label in self.network.turnovers}
        return LavaRun(spikes, voltages, weights, probed, events, turnover)

    STATE = ("v", "u", "u_exc", "u_inh", "s_exc", "s_inh")
    """The neuron processes' arguments that are state: a change of parameters keeps them."""

    def _change(self, stage):
        """The schedule's numbers for the next tick, set into the paused processes' Vars: a population's
        parameters as its Process takes them (its state kept), a static projection's weights (Lava
        multiplies a spike by the weights when the projection receives it: the spikes before have
        theirs)."""
        semantics = self.network.semantics
        for label, fixed in stage.populations.items():
            neurons = self.neurons[label]
            stock = stock_receptor(self.network, label) if label in self.stock else None
            size = self.network.size_of(label)
            _, before = self.fixed[label].process(size, semantics, stock, None, 1)
            _, after = fixed.process(size, semantics, stock, None, 1)
            for name, value in after.items():
                var = getattr(neurons, name, None)
                if name in self.STATE or not isinstance(var, Var) or np.array_equal(value, before[name]):
                    continue
                var.set(np.broadcast_to(np.asarray(value), var.shape).astype(var.init.dtype, copy=True))
            self.fixed[label] = fixed
        for label, fixed in stage.projections.items():
            projection, connections = self.network.projections[label], self.network.connections(label)
            sign = -1 if projection.receptor == "inhibitory" and projection.post in self.stock else 1
            shape = (self.network.size_of(projection.post), self.network.size_of(projection.pre))
            self.connections[label].weights.set(
                csr_matrix((sign * fixed.mantissas, (connections.post, connections.pre)), shape=shape)
            )

    def _refuse_clipped(self, final: dict) -> None:
        """Fail the run, in one line, if v of a watched population (``CellFixed.watch_clipping``) was ever
        clipped: its trace and everything it drove would be wrong without a word."""
        first = {}  # per watched population that clipped: its first tick
        for label in self.watched:
            clipped = final[_key(self.neurons[label].clipped)]
            if np.any(clipped >= 0):
                first[label] = int(clipped[clipped >= 0].min())
        if not first:
            return
        label = min(first, key=first.get)  # the earliest clip, usually the cause of the others
        tick = first[label]
        neuron = int(np.flatnonzero(final[_key(self.neurons[label].clipped)] == tick)[0])
        population = self.network.populations[label]
        largest = np.full((2, population.size), (1 << (STATE_BITS - 1)) - 1) * [[-1], [1]]
        low, high = self.fixed[label].voltage(largest.astype(np.float64), population)[:, neuron]
        raise BackendError(
            f"population '{label}': v of neuron {neuron} reached the limit of its 24-bit Lava integer "
            f"at tick {tick} (t = {tick * self.network.semantics.dt:g} ms) and was clipped to "
            f"[{low:g}, {high:g}] mV, so its v and what it drives would be wrong from there (lower its "
            "inputs or shorten the run)"
        )

    def _epochs(self, label: str, final: dict) -> list[dict]:
        """The population's turnover epochs, as the shared engine records them."""
        name = self.neurons[label].name
        count = int(final[(name, "n_epochs")][0])
        rows, masks = final[(name, "epochs")][:count], final[(name, "alive_after")][:count].astype(bool)
        before = np.arange(self.network.size_of(label)) < self.network.turnovers[label].initial_alive
        epochs = []
        for (tick, alive, dormant), after in zip(rows.tolist(), masks):
            epochs.append(
                {
                    "tick": tick,
                    "alive": alive,
                    "dormant": dormant,
                    "dormant_ratio": float(dormant / alive) if alive else 0.0,
                    "died": np.flatnonzero(before & ~after).tolist(),
                    "born": np.flatnonzero(~before & after).tolist(),
                    "alive_after": int(after.sum()),
                }
            )
            before = after
        return epochs
