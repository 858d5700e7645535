"""An emulation of sPyNNaker 7.x's neuron kernels on a combined neuron-synapse core, vectorized over
neurons with numpy, its spike delivery and STDP updates compiled where numba is installed (:mod:`.delivery`
states them in numpy). All state is integer, as on chip.

Per tick ``t``, every population runs the parts of its cell as sPyNNaker builds them (:mod:`.cells`,
where each part states its arithmetic):

1. the ring-buffer slot of ``t`` joins the synaptic state (exponential: ``syn += ((w16 << shift) *
   init) >> 32``);
2. the input type makes the tick's excitatory and inhibitory input of the synaptic state (current:
   the state itself; conductance: times the driving force of the V the tick starts from); the neuron
   model integrates it unless refractory, and ``V >= V_thresh`` (or ``>``, as the semantics declare)
   spikes (also while refractory): V is reset (to ``v_reset``, or by subtraction) and the neuron
   refractory; the spike enters the post-event history of plastic synapses;
3. the synaptic state decays (exponential: ``syn = (syn * decay) >> 32``).

Recorded V and synaptic state are sampled at the end of the tick, or under the ``spynnaker`` recording
convention where sPyNNaker records them: V before step 2, the synaptic state between steps 1 and 3
(:data:`neurodeploy.description.cells.RECORDING_CONVENTIONS`).

Then every spike of tick ``t`` (neurons and spike sources) is processed: static synapses add their
16-bit weight to slot ``t + d`` (saturating at 0xFFFF); plastic synapses are first updated by the
pair rule against the post events in the window ``(t_last_pre - d, t - d]`` (sPyNNaker's deferred
update, run by the shared integer core ``backends/pair_stdp.py`` on :func:`chip_stdp_arithmetic`'s
formats: lookup-table exponentials, int16 traces, floor everywhere, products in 32-bit registers, the
weight floored back to 16 bits) and deliver the updated weight.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from neurodeploy.backends.pair_stdp import PairSTDPRule, PostHistory
from neurodeploy.backends.spinnaker import cells, delivery
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.backends.spinnaker.graph import host_weights, weight_factor
from neurodeploy.backends.spinnaker.quantize import (
    RECEPTORS,
    ReceptorScaling,
    chip_stdp_arithmetic,
    stdp_scale,
    weight_units,
    weights_from_units,
)
from neurodeploy.description import Network, StructuralEngine
from neurodeploy.description.cells import SYNAPTIC_RECORDABLES
from neurodeploy.description.structural import slot_synapses
from neurodeploy.errors import ValidationError
from neurodeploy.results import sorted_pairs


class _Population:
    """A population on its core: the parts of its cell as sPyNNaker builds them (:mod:`.cells`) from the
    cell it is handed, the ring buffers they read and the post-event history of plastic synapses."""

    STATE = ("v", "u", "h", "refract", "state")
    """The parts' fields that are state, not parameters: a parameter change keeps them."""

    def __init__(self, population, semantics, shifts: tuple[int, int], slots: int, profile: str):
        self.semantics = semantics
        self.profile = profile
        build = cells.build(population.cell)
        population = replace(population, cell=build.handed(population.cell, semantics))
        dt = semantics.dt
        self.size = population.size
        self.neurons = build.neuron.build(population, semantics, profile)
        self.input = build.input.build(population, dt)
        self.synapses = build.synapse.build(population, dt, build.input.initial_state(population), profile)
        self.shifts = np.array(shifts, dtype=np.int64)[:, None]
        self.slots = slots
        self.ring = np.zeros((slots, 2, self.size), dtype=np.uint16)  # the chip's 16-bit saturating ring buffers
        self.history: PostHistory | None = None  # post spikes, for a plastic projection onto the population
        self.alive = None  # with turnover: which neurons may spike
        self.at_start = None  # under the spynnaker convention, the tick's sample (V before step 2, state after 1)
        self.currents: _CurrentSources | None = None
        self.fused = delivery.kernels().fused_tick(self.neurons, self.synapses, self.input)

    @property
    def v(self) -> np.ndarray:
        return self.neurons.v

    def change(self, population):
        """New parameters (a changed copy of the population): the parts rebuilt from it, as the host
        encodes them, keeping their state."""
        fresh = _Population(population, self.semantics, (0, 0), 1, self.profile)
        for part in ("neurons", "input", "synapses"):
            old, new = getattr(self, part), getattr(fresh, part)
            for name in self.STATE:
                if hasattr(old, name):
                    setattr(new, name, getattr(old, name))
            setattr(self, part, new)
        self.fused = fresh.fused
        if self.currents is not None:  # the sources add to the new i_offset
            self.currents.base = self.neurons.i_offset.copy()

    def revive(self, neurons: np.ndarray):
        """Neurons coming alive start at rest, with no synaptic current or input."""
        self.neurons.revive(neurons)
        self.synapses.revive(neurons)
        self.ring[:, :, neurons] = 0

    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """V and the recorded synaptic state per receptor (s16.15 bits), now."""
        return self.neurons.v.copy(), self.input.recorded(self.synapses.state).copy()

    def step(self, t: int, sample_at_start: bool = False) -> np.ndarray:
        if self.currents is not None:
            self.neurons.i_offset = self.currents.offset(t)
        slot = self.ring[t & (self.slots - 1)]
        if self.fused is not None and not sample_at_start and self.alive is None:
            spiking = self.fused(slot, self.shifts, self.neurons, self.synapses)
        else:
            self.synapses.receive(fp.wrap32(slot.astype(np.int64) << self.shifts))
            slot[:] = 0
            if sample_at_start:
                self.at_start = self.sample()
            spiking = self.neurons.step(*self.input.drive(self.synapses.state, self.neurons.v), self.alive)
            self.synapses.shape()
        if self.history is not None and spiking.size:
            self.history.add(t, spiking)
        return spiking


class _CurrentSources:
    """The injected currents of a population, as sPyNNaker's neuron core adds them: each source's value of
    the tick in s16.15 (``current_source_get_offset``), summed with ``i_offset`` into the input of the
    neuron model (``exc - inh + external_bias + I_offset``). Computed in blocks of ticks from the
    description (the noisy source's samples are the description's, not the chip's generator's)."""

    BLOCK_VALUES = 1 << 20  # a block of ticks x neurons holds at most this many values (8 MiB)
    BLOCK_TICKS = 4096

    def __init__(self, network: Network, injections: list, base: np.ndarray):
        self.network, self.injections, self.base = network, injections, base
        self.block_ticks = max(1, min(self.BLOCK_TICKS, self.BLOCK_VALUES // self.base.size))
        self.first, self.block = 0, np.zeros((0, base.size), dtype=np.int64)

    def offset(self, t: int) -> np.ndarray:
        if not self.first <= t < self.first + len(self.block):
            self.first, self.block = t, self._bits(t, t + self.block_ticks)
        return fp.wrap32(self.base + self.block[t - self.first])

    def _bits(self, first: int, stop: int) -> np.ndarray:
        total = np.zeros((stop - first, self.base.size), dtype=np.int64)
        for injection in self.injections:
            amplitudes = injection.amplitudes(first, stop, self.network.semantics, self.network.seed)
            total[:, injection.targets(self.base.size)] += np.rint(amplitudes * fp.ONE).astype(np.int64)[:, None]
        return total


class _Projection:
    """Synapses grouped by pre neuron (CSR), so one spike reaches its row in one gather; held as the chip
    holds them (32-bit post indices, delays of a byte or two, 16-bit weights)."""

    def __init__(
        self,
        label,
        connections,
        weights,
        pre_size,
        post: _Population,
        receptor: int,
        scaling: ReceptorScaling,
        rule: PairSTDPRule | None,
    ):
        pre = connections.pre
        ordered = bool(np.all(pre[1:] >= pre[:-1]))  # generated connections come by pre neuron already
        order = None if ordered else np.argsort(pre, kind="stable")
        self.label, self.order = label, order
        if ordered:  # each row's start found in the sorted pre indices (a count would widen them all to int64)
            starts = np.arange(pre_size + 1, dtype=pre.dtype if pre_size < np.iinfo(pre.dtype).max else np.int64)
            self.indptr = np.searchsorted(pre, starts).astype(np.int64, copy=False)  # (of pre's type: not widened)
        else:
            self.indptr = np.zeros(pre_size + 1, dtype=np.int64)
            np.cumsum(np.bincount(pre, minlength=pre_size), out=self.indptr[1:])
        delay = connections.delay_ticks
        self._synapses(
            _ordered(connections.post, order).astype(np.int32),
            _ordered(delay, order).astype(np.min_scalar_type(int(delay.max(initial=1)))),
            weight_units(_ordered(weights, order), scaling),
            pre_size,
            post,
            receptor,
            scaling,
            rule,
        )

    def _synapses(self, post_index, delay, units, pre_size, post, receptor, scaling, rule):
        self.post_index, self.delay, self.units = post_index, delay, units
        self.post, self.receptor, self.scaling, self.rule = post, receptor, scaling, rule
        self.kernels = delivery.kernels()
        if rule is not None:
            self.last_pre_time = np.zeros(pre_size, dtype=np.int64)
            self.last_pre_trace = np.zeros(pre_size, dtype=np.int64)

    def load_kernels(self):
        """Compile the kernels for these arrays (or load them from numba's cache) now, not in the first tick."""
        none = np.empty(0, dtype=np.int64)
        if self.indptr is not None:
            self.kernels.deliver_rows(
                self.post.ring, 0, self.receptor, none, self.indptr, self.post_index, self.delay, self.units
            )
        self.kernels.deliver(self.post.ring, 0, self.receptor, none, self.post_index, self.delay, self.units)
        if self.rule is not None:
            self._update(0, none, *self.rows(none))

    def rows(self, spiking: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The synapses of the spiking pre neurons, and the index in ``spiking`` of the pre neuron of each."""
        return self.kernels.synapse_rows(self.indptr, spiking)

    def transmit(self, t: int, spiking: np.ndarray):
        if self.rule is None and self.indptr is not None:  # static rows: gathered and delivered in one pass
            self.kernels.deliver_rows(
                self.post.ring, t, self.receptor, spiking, self.indptr, self.post_index, self.delay, self.units
            )
            return
        rows, synapses = self.rows(spiking)
        if self.rule is not None:  # also with no synapse in the rows: their pre traces go on (slots fill later)
            self._update(t, spiking, rows, synapses)
        if synapses.size:
            self.kernels.deliver(self.post.ring, t, self.receptor, synapses, self.post_index, self.delay, self.units)

    def _update(self, t: int, spiking: np.ndarray, rows: np.ndarray, synapses: np.ndarray):
        units, traces = self.kernels.stdp_update(
            self.rule,
            t,
            self.post.history,
            self.last_pre_time[spiking],
            self.last_pre_trace[spiking],
            rows,
            self.delay[synapses],
            self.post_index[synapses],
            self.units[synapses],
        )
        self.units[synapses] = units
        self.last_pre_time[spiking] = t
        self.last_pre_trace[spiking] = traces

    def weights(self) -> np.ndarray:
        """Current weights (nA or uS) in the projection's connection order."""
        if self.order is None:
            return weights_from_units(self.units, self.scaling)
        result = np.empty(len(self.units))
        result[self.order] = weights_from_units(self.units, self.scaling)
        return result


class _SlotProjection(_Projection):
    """A structural projection as sPyNNaker's rewiring holds it: ``s_max`` slots per post neuron
    (synapse ``post * s_max + slot``), each holding a pre neuron (-1: empty), a weight and a delay; a
    spike reaches the slots holding its neuron in one gather over the table. Memory O(N_post s_max)."""

    def __init__(
        self,
        label,
        pre: np.ndarray,
        weight: np.ndarray,
        pre_size,
        post: _Population,
        receptor: int,
        scaling: ReceptorScaling,
        rule: PairSTDPRule | None,
    ):
        self.label, self.s_max, self.indptr = label, pre.shape[1], None
        self.pre = pre.reshape(-1).copy()
        self._synapses(
            np.repeat(np.arange(pre.shape[0]), self.s_max),
            np.ones(self.pre.size, dtype=np.int64),
            weight_units(weight.reshape(-1), scaling),
            pre_size,
            post,
            receptor,
            scaling,
            rule,
        )
        self.spiked = np.zeros(pre_size + 1, dtype=bool)  # the last entry stands for the empty slots' -1

    def rows(self, spiking: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self.spiked[spiking] = True
        synapses = np.flatnonzero(self.spiked[self.pre])
        self.spiked[spiking] = False
        return np.searchsorted(spiking, self.pre[synapses]), synapses

    def place(self, post: int, slot: int, pre: int, units: int, delay: int = 1):
        """A synapse formed (pre >= 0, weighing ``units``, ``delay`` ticks) or eliminated (pre -1) in a slot."""
        index = post * self.s_max + slot
        self.pre[index], self.units[index], self.delay[index] = pre, units, delay

    def slot_units(self) -> tuple[np.ndarray, np.ndarray]:
        """The table: pre neurons and stored weights, post x s_max."""
        return self.pre.reshape(-1, self.s_max), self.units.reshape(-1, self.s_max)

    def synapses(self) -> dict:
        pre, units = self.slot_units()
        return slot_synapses(pre, weights_from_units(units, self.scaling))


def _ordered(values: np.ndarray, order: np.ndarray | None) -> np.ndarray:
    return values if order is None else values[order]


def _rule(stdp: dict, dt: float, scaling: ReceptorScaling) -> PairSTDPRule:
    """sPyNNaker's rule on its integers: lookup-table decays, and the weight parameters written times the
    cell's global weight scale (A+ and A- too when additive; multiplicative amplitudes are rates)."""
    scaled = {
        name: fp.s1615(stdp[name] * stdp_scale(stdp, name, scaling.weight_scale))
        for name in ("A_plus", "A_minus", "w_min", "w_max", "heterosynaptic")
    }
    return PairSTDPRule(
        chip_stdp_arithmetic(scaling),
        fp.stdp_lut(stdp["tau_plus"], dt),
        fp.stdp_lut(stdp["tau_minus"], dt),
        scaled["A_plus"],
        scaled["A_minus"],
        scaled["w_min"],
        scaled["w_max"],
        stdp["weight_dependence"] == "multiplicative",
        product_bits=fp.PRODUCT_BITS,
        nearest=stdp["timing_dependence"] == "SpikeNearestPairRule",
        heterosynaptic=scaled["heterosynaptic"],
    )


@dataclass(frozen=True, eq=False)
class EmulatedRun:
    """What the emulation computed, in its own terms (ticks, neuron indices, mV, described weight units)."""

    spikes: dict[str, list[tuple[int, np.ndarray]]]
    """Per population and spike source, the ticks with spikes and the neurons that spiked then."""
    traces: dict[str, dict[str, np.ndarray]]
    """Per population recorded, V (mV) and the synaptic states (nA or uS) it records, ticks x neurons."""
    weights: dict[str, dict[str, np.ndarray]]
    """Final weights of the plastic projections (``pre``, ``post``, ``weight``)."""
    structural: dict | None
    """The structural engine's document (formations, eliminations, turnover), None without one."""


class Emulator:
    """Runs a network as sPyNNaker would, given the ring-buffer scaling it chose."""

    def __init__(self, network: Network, graph, scaling, profile: str = fp.DEFAULT_PROFILE):
        dt = network.semantics.dt
        max_delay = {label: 1 for label in network.populations}
        for projection in network.projections.values():
            delays = network.connections(projection.label).delay_ticks
            if delays.size:
                max_delay[projection.post] = max(max_delay[projection.post], int(delays.max()))
            if projection.structural is not None and hasattr(projection.structural, "delay_ticks"):
                formed = projection.structural.delay_ticks(network.semantics, f"projection '{projection.label}'")
                max_delay[projection.post] = max(max_delay[projection.post], formed[1])
        self.populations = {
            label: _Population(
                population,
                network.semantics,
                tuple(s.shift for s in scaling[label]),
                1 << int(max_delay[label]).bit_length(),
                profile,
            )
            for label, population in network.populations.items()
        }
        self.source_ticks = {label: _source_ticks(network, source) for label, source in network.spike_sources.items()}
        self.projections: dict[str, list[_Projection]] = {
            label: [] for label in [*network.populations, *network.spike_sources]
        }
        self.plastic, self.structural, self.by_label = {}, {}, {}
        self.network = network
        self.stages = {stage.tick: stage for stage in network.stages()}
        self.current = network  # the network as the schedule has changed it so far
        self.engine = (
            StructuralEngine.for_network(network)
            if any(p.structural is not None for p in network.projections.values()) or network.turnovers
            else None
        )
        for label, graph_projection in graph.projections.items():
            projection = network.projections[label]
            post = self.populations[projection.post]
            receptor = RECEPTORS.index(projection.receptor)
            receptor_scaling = scaling[projection.post][receptor]
            rule = _rule(graph_projection.stdp, dt, receptor_scaling) if graph_projection.stdp else None
            if rule is not None:  # sPyNNaker keeps one memory of post spikes per neuron
                post.history = rule.history(post.size)
            if projection.structural is not None:
                slots = self.engine.projections[label]
                emulated = _SlotProjection(
                    label,
                    slots.pre,
                    slots.weight,
                    network.size_of(projection.pre),
                    post,
                    receptor,
                    receptor_scaling,
                    rule,
                )
                self.structural[label] = emulated
            else:
                emulated = _Projection(
                    label,
                    network.connections(label),
                    host_weights(network, label),
                    network.size_of(projection.pre),
                    post,
                    receptor,
                    receptor_scaling,
                    rule,
                )
            self.projections[projection.pre].append(emulated)
            self.by_label[label] = emulated
            if rule is not None:
                self.plastic[label] = emulated
        for emulated in self.by_label.values():
            emulated.load_kernels()
        for label, turnover in (self.engine.turnovers if self.engine else {}).items():
            self.populations[label].alive = turnover.alive
        for label, population in self.populations.items():
            injections = [i for i in network.injections.values() if i.population == label]
            if injections:
                population.currents = _CurrentSources(network, injections, population.neurons.i_offset.copy())

    def run(self, ticks: int, recorded=None, progress=None, convention: str = "end_of_tick") -> EmulatedRun:
        """Run ``ticks`` ticks, recording the variables ``recorded`` names per population (``v``, the
        synaptic states), sampled as ``convention`` says."""
        spikes = {label: [] for label in self.projections}
        recorded = {
            label: [variable for variable in variables if variable != "spikes"]
            for label, variables in (recorded or {}).items()
            if label in self.populations
        }
        recorded = {label: variables for label, variables in recorded.items() if variables}
        traces = {
            label: {variable: np.empty((ticks, self.populations[label].size)) for variable in variables}
            for label, variables in recorded.items()
        }
        at_start = convention == "spynnaker"
        source_spikes = {label: _spikes_by_tick(*spikes, ticks) for label, spikes in self.source_ticks.items()}
        report_every = max(1, ticks // 20)
        emitted = {label: np.empty(0, dtype=np.int64) for label in [*self.populations, *self.source_ticks]}
        for t in range(ticks):
            if t in self.stages:
                self._change(self.stages[t])
            if self.engine is not None:
                self._rewire(t, emitted)
            emitted = {
                label: population.step(t, at_start and label in traces)
                for label, population in self.populations.items()
            }
            for label, by_tick in source_spikes.items():
                emitted[label] = by_tick.get(t, np.empty(0, dtype=np.int64))
            for label, neurons in emitted.items():
                if neurons.size:
                    spikes[label].append((t, neurons))
                    for projection in self.projections[label]:
                        projection.transmit(t, neurons)
            for label, population_traces in traces.items():
                population = self.populations[label]
                v, synaptic = population.at_start if at_start else population.sample()
                for variable, trace in population_traces.items():
                    if variable == "v":
                        trace[t] = fp.to_float(v)
                    else:
                        trace[t] = fp.to_float(synaptic[RECEPTORS.index(SYNAPTIC_RECORDABLES[variable])])
            if progress is not None and (t + 1) % report_every == 0:
                progress((t + 1) / ticks)
        weights = {}
        for label, projection in self.plastic.items():
            if label in self.structural:
                weights[label] = projection.synapses()
            else:
                connections = self.network.connections(label)
                weights[label] = {"pre": connections.pre, "post": connections.post, "weight": projection.weights()}
        return EmulatedRun(spikes, traces, weights, self.engine.document() if self.engine is not None else None)

    def _change(self, stage):
        """The schedule's changes at this tick: changed populations get their parts re-encoded; static
        projections onto them or changed get their weights written again (a host weight factor may
        follow the cell's parameters). Spikes already in the ring buffers keep their weights."""
        for label in stage.populations:
            self.populations[label].change(stage.network.populations[label])
        for label, emulated in self.by_label.items():
            projection = stage.network.projections[label]
            if label not in stage.projections and projection.post not in stage.populations:
                continue
            if emulated.rule is None and label not in self.structural:
                emulated.units = weight_units(
                    _ordered(host_weights(stage.network, label), emulated.order), emulated.scaling
                )
                continue
            before, after = (weight_factor(network, projection) for network in (self.current, stage.network))
            if not (before is None and after is None or np.array_equal(before, after)):
                raise ValidationError(
                    f"population '{projection.post}'",
                    "changes",
                    f"a parameter change alters the factor the host writes the weights of plastic projection "
                    f"'{label}' with: the emulation does not re-encode learned weights",
                )
        self.current = stage.network

    def _slot_weights(self, label: str) -> np.ndarray:
        """The stored weights (nA or uS) of a structural projection's slots, static or plastic, for
        elimination by weight: a decision compares what the chip holds, as the quantization-aware
        reference does (its weights are the stored ones); a slot holding the stored initial weight
        reports the initial weight, so that it compares with thresholds as the description's."""
        emulated = self.structural[label]
        initial = self.network.projections[label].structural.initial_weight
        slots, units = emulated.slot_units()
        return np.where(
            slots < 0,
            0.0,
            np.where(
                units == weight_units(initial, emulated.scaling), initial, weights_from_units(units, emulated.scaling)
            ),
        )

    def _rewire(self, t: int, previous: dict):
        """The network's structural decisions for tick t, applied to the slots. A formed plastic synapse
        joins its row: the row's deferred update covers it from the last pre spike."""
        events = self.engine.step(t, previous.__getitem__, self._slot_weights)
        for label, neurons in self.engine.born.items():
            self.populations[label].revive(neurons)
        for event in events:
            emulated = self.structural[event.projection]
            rule = self.network.projections[event.projection].structural
            if event.kind == "form":
                units = weight_units(rule.initial_weight, emulated.scaling)
                emulated.place(event.post, event.slot, event.pre, units, event.delay)
            else:
                emulated.place(event.post, event.slot, -1, 0)


def _source_ticks(network: Network, source) -> tuple[np.ndarray, np.ndarray]:
    """A spike source's spikes as (neuron, tick) arrays, all trains converted at once."""
    lengths = [len(times) for times in source.spike_times]
    times = np.concatenate([np.empty(0), *source.spike_times])
    neurons = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    return neurons, np.asarray(network.semantics.ticks(times, source.label, "spike_times"), dtype=np.int64)


def _spikes_by_tick(neurons: np.ndarray, times: np.ndarray, ticks: int) -> dict[int, np.ndarray]:
    """The neurons spiking in each tick before ``ticks``, in index order."""
    keep = times < ticks
    times, neurons = sorted_pairs(times[keep], neurons[keep])
    neurons = neurons.astype(np.int64, copy=False)  # as the populations emit: the compiled kernels' signature
    starts = np.flatnonzero(np.diff(times, prepend=-1))
    return {int(times[a]): neurons[a:b] for a, b in zip(starts, [*starts[1:], times.size])}
