"""Step-exact lowering: the discrete-time semantics as Brian2 per-tick code, no ODE solver.

Brian2's schedule per tick is ``groups`` (our ``run_regularly`` update), ``thresholds``,
``synapses``, ``resets``. Steps 2 and 4 of the semantics run in ``groups`` (each cell type's code is
in ``cells.py``); the threshold and reset are Brian2's; input delivered in the ``synapses`` slot of
tick ``k`` is used by the update of tick ``k + 1``, so a connection with delay ``d`` ticks is a Brian2
pathway delay of ``d - 1`` ticks.
"""

from __future__ import annotations

from functools import partial

import brian2 as b2
import numpy as np

from neurodeploy.backends import LoweringRegistry
from neurodeploy.backends.brian2.cells import membrane_lowering
from neurodeploy.backends.brian2.context import (
    RECEPTOR_VARIABLE,
    BuildContext,
    connect_synapses,
    set_delays,
    set_per_synapse,
)
from neurodeploy.backends.brian2.fixed_point import (
    fixed_point_stdp_synapses,
    memory_equations,
    post_memories,
    remember_spikes,
)
from neurodeploy.backends.brian2.structural import connect_slots, pre_rows, slot_relay
from neurodeploy.description import STDP, Population, Projection
from neurodeploy.description.structural import longest_formed_delay
from neurodeploy.errors import BackendError

PROJECTIONS = LoweringRegistry("brian2 (discrete)")

INPUT = "".join(f"syn_{x} : 1\ninit_{x} : 1 (constant)\n" for x in RECEPTOR_VARIABLE.values())
"""Every cell's input: projections add ``init_x w`` to ``syn_x``; what it means is the cell's membrane."""


def population_lowering(population: Population):
    """The function making the population's group, its membrane found for its cell type and arithmetic
    (``cells.py``) now: an unsupported one fails before any Brian2 object is made."""
    return partial(neuron_group, membrane_lowering(population))


def neuron_group(
    make_membrane, population: Population, context: BuildContext, name: str
) -> tuple[b2.NeuronGroup, list]:
    """A population as its cell's membrane, with what the network adds to any cell: the input projections
    deliver to, life (turnover: dead neurons never spike) and the memories of its spikes that fixed-point
    STDP onto it reads."""
    semantics = context.network.semantics
    membrane = make_membrane(population, semantics)
    turnover = population.label in context.network.turnovers
    memories = post_memories(context.network, population.label)
    injections = [i for i in context.network.injections.values() if i.population == population.label]
    equations = membrane.equations
    if injections:
        if membrane.offset is None:
            raise BackendError(
                f"population '{population.label}': its arithmetic ({type(population.arithmetic).__name__}) "
                "takes no current source"
            )
        equations = equations.replace(f"{membrane.offset[0]} : 1 (constant)", f"{membrane.offset[0]} : 1")
    remembered = [remember_spikes(prefix, rule, semantics.dt) for prefix, rule in memories.items()]
    namespace = {name: item for _, entries in remembered for name, item in entries.items()}
    group = b2.NeuronGroup(
        population.size,
        INPUT
        + synaptic_readings(membrane)
        + equations
        + ("alive : 1\n" if turnover else "")
        + "".join(memory_equations(prefix, rule) for prefix, rule in memories.items()),
        threshold=None
        if membrane.threshold is None
        else f" {semantics.threshold} ".join(membrane.threshold) + (" and alive > 0" if turnover else ""),
        reset=None if membrane.threshold is None else membrane.reset + "".join(code for code, _ in remembered),
        clock=context.clock,
        name=name,
        namespace={**namespace, **membrane.namespace},
    )
    if memories and membrane.threshold is not None:  # the synapses read the spikes of their tick from the memories
        group.resetter["spike"].when = "after_thresholds"
    membrane.initialise(group)
    context.at_rest[population.label] = membrane.at_rest
    update = group.run_regularly(membrane.update, when="groups", name=f"{name}_update")
    if not injections:
        return group, [update]
    feed = CurrentFeed(context.network, injections, group, context.clock, *membrane.offset)
    context.current_feeds[population.label] = feed
    return group, [update, b2.NetworkOperation(feed, when="start", clock=context.clock, name=f"{name}_currents")]


class CurrentFeed:
    """Sets the variable holding ``i_offset`` at the start of each tick to ``i_offset`` plus the injected
    currents of the tick (:mod:`neurodeploy.description.currents`), computed in blocks of ticks; on integers
    each source's amplitude is rounded to the variable's units (``scale`` per nA) before the sum."""

    BLOCK_VALUES = 1 << 20  # a block of ticks x neurons holds at most this many values (8 MiB)
    BLOCK_TICKS = 4096

    def __init__(self, network, injections, group, clock, variable: str, scale):
        self.network, self.injections, self.group, self.clock = network, injections, group, clock
        self.variable, self.scale = variable, scale
        self.base = np.array(getattr(group, variable)[:], dtype=np.float64)
        self.storage = group.variables[variable].get_value()  # the array itself (runtime numpy target)
        self.block_ticks = max(1, min(self.BLOCK_TICKS, self.BLOCK_VALUES // self.base.size))
        self.first, self.block = 0, np.zeros((0, group.N))

    def rebase(self):
        """Take the variable's value now as ``i_offset`` (a parameter change has just set it)."""
        self.base = np.array(self.storage, dtype=np.float64)

    def __call__(self):
        tick = int(self.clock.timestep[:])
        if not self.first <= tick < self.first + len(self.block):
            self.first, self.block = tick, self._currents(tick, tick + self.block_ticks)
        np.add(self.base, self.block[tick - self.first], out=self.storage)

    def _currents(self, first: int, stop: int) -> np.ndarray:
        total = np.zeros((stop - first, self.group.N))
        for injection in self.injections:
            amplitudes = injection.amplitudes(first, stop, self.network.semantics, self.network.seed)[:, None]
            targets = injection.targets(self.group.N)
            if self.scale is not None:
                amplitudes = np.rint(amplitudes * np.broadcast_to(self.scale, (self.group.N,))[targets])
            total[:, targets] += amplitudes
        return total


SYNAPTIC_READING = "recorded_syn_{x}"
"""The name of the group's reading of receptor ``x``'s synaptic state, for recording."""


def synaptic_readings(membrane) -> str:
    """The synaptic state of each receptor in the cell's unit, as subexpressions a monitor records."""
    if membrane.synaptic_reading is None:
        return ""
    return "".join(
        f"{SYNAPTIC_READING.format(x=x)} = {membrane.synaptic_reading.format(x=x)} : 1\n"
        for x in RECEPTOR_VARIABLE.values()
    )


@PROJECTIONS.register(type(None))
def static_synapses(projection: Projection, context: BuildContext, source, target, name: str):
    network = context.network
    receptor = RECEPTOR_VARIABLE[projection.receptor]
    if projection.structural is not None:  # its slots, fired by their relay
        synapses = b2.Synapses(
            slot_relay(projection, context, source, name),
            target,
            "w : 1",
            on_pre=f"syn_{receptor}_post += init_{receptor}_post * w * arrivals_pre",
            clock=context.clock,
            name=name,
            namespace={},
        )
        connect_slots(synapses, network, projection)
        synapses.delay = 0 * b2.ms  # the last tick of a slot's delay: the relay fires its slots after the rest
        return synapses
    synapses = b2.Synapses(
        source,
        target,
        "w : 1 (constant)",
        on_pre=f"syn_{receptor}_post += init_{receptor}_post * w",
        clock=context.clock,
        name=name,
        namespace={},
    )
    connections = connect_synapses(synapses, network, projection)
    set_per_synapse(synapses, "w", connections.weight)
    set_delays(synapses.pre, connections.delay_ticks, network.semantics.dt, shortened_by=1)  # the module docstring
    return synapses


@PROJECTIONS.register(STDP)
def stdp_synapses(projection: Projection, context: BuildContext, source, target, name: str):
    """Pair STDP with the declared semantics.

    Every event of a synapse is processed ``d - 1`` ticks late, where the spike it delivers enters
    the ring: lags are unchanged and the delivered weight is the one the update produced. Post
    events are further shifted by ``d`` when ``post_spike_shift`` is ``synaptic_delay``.
    ``w`` is the visible (delivered, read back) weight, ``w_run`` the weight with every update so far.
    A structural projection's synapses are its slots, driven by their relay (``structural``) at each slot's
    current delay: updates in the pre spike's tick (every lag shortened by ``d - 1``), post events ``d`` (or
    0) ticks after the post spike, and each spike delivering on arrival the weight its update stored; its pre
    neurons' rows keep their traces, which a synapse formed in a slot takes over.
    """
    network = context.network
    rule: STDP = projection.plasticity
    if rule.arithmetic is not None:
        return fixed_point_stdp_synapses(projection, context, source, target, name)
    semantics = rule.semantics
    receptor = RECEPTOR_VARIABLE[projection.receptor]
    structural = projection.structural is not None
    deliver = f"syn_{receptor}_post += init_{receptor}_post * w"
    if semantics.traces == "all_to_all":
        pre_trace = "r = r * exp(-(t_in_timesteps - t_pre_last) * dt_ms / tau_plus) + 1"
        post_trace = "o = o * exp(-(t_in_timesteps - t_post_last) * dt_ms / tau_minus) + 1"
    else:
        pre_trace, post_trace = "r = 1", "o = 1"
    # sPyNNaker's nearest pairs: no pre trace (a first pre spike pairs against time 0), and a post event
    # potentiates only if the post spike before it, unshifted, is not later than the pre spike.
    pairing = "r" if semantics.traces != "nearest_spynnaker" else "int(t_post_last - post_shift <= t_pre_last)"
    potentiation = f"a_plus * {pairing} * exp(-(t_in_timesteps - t_pre_last) * dt_ms / tau_plus)"
    depression = "a_minus * o * exp(-(t_in_timesteps - t_post_last) * dt_ms / tau_minus)"
    if rule.weight_dependence == "multiplicative":
        potentiation += " * (w_max - w_run)"
        depression += " * (w_run - w_min)"
    on_pre = [
        deliver if semantics.delivered_weight == "before_update" else "",
        f"w_run = clip(w_run - {depression}, w_min, w_max)",
        pre_trace,
        "t_pre_last = t_in_timesteps",
        "w = w_run",
        deliver if semantics.delivered_weight == "after_update" else "",
    ]
    on_post = [
        post_trace,
        f"w_run = clip(w_run + {potentiation}, w_min, w_max)",
        "w_run = clip(w_run - heterosynaptic, w_min, w_max)" if rule.heterosynaptic else "",
        "t_post_last = t_in_timesteps",
        "w = w_run" if semantics.weight_update == "at_each_spike" else "",
    ]
    a_plus, a_minus = rule.amplitudes
    namespace = {
        "a_plus": a_plus,
        "a_minus": a_minus,
        "tau_plus": rule.tau_plus,
        "tau_minus": rule.tau_minus,
        "w_min": rule.w_min,
        "w_max": rule.w_max,
        "heterosynaptic": rule.heterosynaptic_loss,
        "dt_ms": network.semantics.dt,
    }
    on_post = "\n".join(line for line in on_post if line)
    if structural:
        # The relay raises each slot's events at its current delay (``structural``): the update in the pre
        # spike's tick (lags all shortened by d - 1), storing the weight the spike delivers on arrival
        # (``sent_j`` by sending tick modulo the longest delay, so a spike in flight delivers its own).
        depth = longest_formed_delay(network, projection.label)
        store = "\n".join(f"sent_{j} += int(t_in_timesteps % {depth} == {j}) * (w - sent_{j})" for j in range(depth))
        on_pre = [store if line == deliver else line for line in on_pre]
        arrived = " + ".join(f"int(arrived_{j}_pre) * sent_{j}" for j in range(depth))
        pathways = {
            "on_pre": {
                "update": "\n".join(line for line in on_pre if line),
                "posted": on_post,
                "deliver": f"syn_{receptor}_post += init_{receptor}_post * ({arrived})",
            },
            "on_event": {"update": "sent", "posted": "posted", "deliver": "spike"},
        }
    else:
        pathways = {"on_pre": "\n".join(line for line in on_pre if line), "on_post": on_post}
    synapses = b2.Synapses(
        slot_relay(projection, context, source, name, target, "float") if structural else source,
        target,
        """
        w : 1
        w_run : 1
        r : 1
        o : 1
        t_pre_last : integer
        t_post_last : integer
        post_shift : integer
        """
        + "".join(f"sent_{j} : 1\n" for j in range(depth if structural else 0)),
        **pathways,
        clock=context.clock,
        name=name,
        namespace=namespace,
    )
    if structural:
        connect_slots(synapses, network, projection)
        synapses.w_run = synapses.w[:]
        delay_ticks = np.ones(len(synapses), dtype=np.int64)  # the connector's, lags shortened by d - 1
        pre_rows(
            projection,
            context,
            source,
            target,
            "r : 1\nt_pre_last : integer",
            f"{pre_trace}\nt_pre_last = t_in_timesteps",
            namespace,
            name,
        )
    else:
        connections = connect_synapses(synapses, network, projection)
        synapses.w = connections.weight
        synapses.w_run = connections.weight
        delay_ticks = connections.delay_ticks
    dt = network.semantics.dt * b2.ms
    processing_lag = delay_ticks - 1
    post_shift = delay_ticks if semantics.post_spike_shift == "synaptic_delay" else 0
    if structural:
        processing_lag = 0 * processing_lag
        synapses.update.order, synapses.deliver.order = -1, 2  # a spike delivers the weight its update stored
        post_pathway = synapses.posted
    else:
        synapses.pre.delay = processing_lag * dt
        post_pathway = synapses.post
        post_pathway.delay = (processing_lag + post_shift) * dt
    # Processing times are spike times plus these lags: a pre and a post spike in tick 0 before any.
    synapses.post_shift = post_shift
    synapses.t_pre_last = processing_lag
    synapses.t_post_last = processing_lag + post_shift
    # Brian2 runs pre pathways (order -1) before post pathways (+1) within a tick.
    post_pathway.order = -2 if semantics.coincident_spikes == "post_first" else 1
    return synapses
