"""The neurodeploy description of what a PyNN script created: populations and spike sources from the
cell types and their (native) parameters, and the projections ``connectivity`` describes. Anything
that has no description yet raises PyNN's NotImplementedError naming it, rather than being left out."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from pyNN.standardmodels.cells import SpikeSourceArray, SpikeSourcePoisson

import neurodeploy.description as nd


def unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(f"neurodeploy.pynn does not support {what}")


def build_network(state, duration: float) -> nd.Network:
    """Everything ``state`` holds, as one network of ``duration`` ms on PyNN's time step: the populations as
    the running block started (see ``Population.start_block``), with the block's changes made before
    ``duration`` scheduled."""
    from neurodeploy.pynn.structural import network_seed

    network = nd.Network("pynn", nd.Semantics(dt=state.dt), seed=network_seed(state), duration=duration)
    for index, population in enumerate(state.populations):
        network.add(population_description(population, (int(state.seed), index), state.dt, duration))
        recorded = [
            recorded_name(population, variable.name) for variable, ids in population.recorder.recorded.items() if ids
        ]
        if recorded:
            network.record(population.description_label, recorded)
    charge_per_mV = (
        delta_charges_per_mV(network, getattr(state, "changes", ()))
        if getattr(state, "delta_weights", "spynnaker") == "pynn"
        else {}
    )
    for projection in state.projections:
        for part in projection.descriptions:
            network.add(as_charges(part, charge_per_mV.get(part.post)))
    for source in state.current_sources:
        for injection in source.injections(state.dt, duration, int(state.seed)):
            network.add(injection)
    for change in getattr(state, "changes", ()):
        if change.time < duration:
            if isinstance(change, nd.WeightChange) and network.projections[change.projection].post in charge_per_mV:
                factor = charge_per_mV[network.projections[change.projection].post]
                change = replace(change, weight=np.asarray(change.weight, dtype=float) * factor)
            network.change(change)
    return network.validate()


def delta_charges_per_mV(network: nd.Network, changes) -> dict[str, float]:
    """``setup(delta_weights="pynn")``: per IF_curr_delta population, the charge (nA ms) whose tick of
    input moves V by exactly 1 mV in the description's (sPyNNaker's) per-tick integration,
    ``cm dt / (tau_m (1 - E))``, ``E`` the semantics' decay of ``tau_m``. One number per population: cm and
    tau_m the same for all its neurons and not changed during the block."""
    factors = {}
    for label, population in network.populations.items():
        if population.cell.name != "IF_curr_delta":
            continue
        cm, tau_m = (np.unique(np.asarray(getattr(population.cell, name), dtype=float)) for name in ("cm", "tau_m"))
        if cm.size > 1 or tau_m.size > 1:
            raise unsupported(
                f"IF_curr_delta weights in mV (delta_weights='pynn') onto '{label}', whose neurons' cm or tau_m differ"
            )
        if any(
            isinstance(change, nd.ParameterChange)
            and change.population == label
            and {"cm", "tau_m"} & set(change.parameters)
            for change in changes
        ):
            raise unsupported(
                f"IF_curr_delta weights in mV (delta_weights='pynn') onto '{label}', whose cm or tau_m change in a run"
            )
        decay = float(network.semantics.decay(float(tau_m[0])))
        factors[label] = float(cm[0]) * network.semantics.dt / (float(tau_m[0]) * (1.0 - decay))
    return factors


def as_charges(part: nd.Projection, charge_per_mV: float | None) -> nd.Projection:
    """A projection part onto an IF_curr_delta population whose weights the script gave in mV, with the
    charges (nA ms) that make those jumps; other parts as they are."""
    if charge_per_mV is None:
        return part
    if part.plasticity is not None or part.structural is not None:
        raise unsupported(
            f"plasticity on IF_curr_delta weights in mV (delta_weights='pynn'), projection '{part.label}'"
        )
    return replace(part, weight=part.weight * charge_per_mV)


def recorded_name(population, variable: str) -> str:
    """The description's name of a PyNN recordable of ``population`` (a current-based cell's ``gsyn_exc`` is
    its ``isyn_exc``)."""
    return getattr(population.celltype, "recorded_as", {}).get(variable, variable)


def population_description(
    population, poisson_key: tuple[int, int], dt: float, duration: float
) -> nd.Population | nd.SpikeSource:
    label = population.description_label
    started = getattr(population, "start_parameters", None)
    parameters = {name: plain(value) for name, value in (started or population._parameters).items()}
    if isinstance(population.celltype, SpikeSourcePoisson):
        return nd.SpikeSource(
            label, population.size, poisson_trains(parameters, population.size, poisson_key, dt, duration)
        )
    if isinstance(population.celltype, SpikeSourceArray):
        scheduled = getattr(population, "scheduled_spikes", None)
        if scheduled is not None:
            return nd.SpikeSource(label, population.size, scheduled)
        return nd.SpikeSource(label, population.size, spike_trains(parameters["spike_times"], population.size, dt))
    cell = nd.CELL_TYPES[population.celltype.neurodeploy_cell]
    names = cell.initial_value_specs()
    if getattr(population, "started_from", None) is None:
        population.started_from = initial_values(population)
    initial = population.started_from
    return nd.Population(
        label, population.size, cell.name, parameters, {name: initial[name] for name in names if name in initial}
    )


def initial_values(population) -> dict:
    """The population's initial values as numbers, drawn once per block: the recording's first sample is
    the same draw."""
    return {name: plain(value.evaluate(simplify=True)) for name, value in population.initial_values.items()}


def spike_trains(spike_times, size: int, dt: float) -> list[np.ndarray]:
    """A SpikeSourceArray's ``spike_times`` parameter (one Sequence, or one per neuron) as one array per
    neuron, each time on the nearest tick (as sPyNNaker's and PyNN's on-grid simulators send them)."""
    trains = np.broadcast_to(np.asarray(spike_times, dtype=object), (size,))
    return [np.round(np.asarray(train.value, dtype=float) / dt) * dt for train in trains]


def poisson_trains(parameters: dict, size: int, key: tuple[int, int], dt: float, duration: float) -> list[np.ndarray]:
    """PyNN's Poisson process of ``rate`` Hz in [start, start + duration) on the tick grid, within the run:
    each tick fires with probability rate * dt, so the expected count is rate * duration, and a neuron fires
    at most once per tick (as every backend's spike sources do). Drawn here, once, so every backend gets
    the same spikes; each neuron from its own generator, keyed by (setup's seed, the population's place,
    the neuron), so a longer run or another population leaves the spikes drawn so far as they were."""
    rate, start, length = (np.broadcast_to(parameters[name], (size,)) for name in ("rate", "start", "duration"))
    probability = rate * dt / 1000.0
    if np.any(probability > 1) or np.any(probability < 0):
        raise ValueError(f"SpikeSourcePoisson rates must lie in [0, 1/dt] = [0, {1000.0 / dt:g}] Hz")
    last_tick = round(duration / dt)
    first = np.clip(np.ceil(start / dt - TICK_SLACK), 0, last_tick).astype(np.int64)
    stop = np.clip(np.ceil((start + length) / dt - TICK_SLACK), 0, last_tick).astype(np.int64)
    trains = []
    for neuron in range(size):
        ticks = np.arange(first[neuron], max(stop[neuron], first[neuron]))
        fired = np.random.default_rng([*key, neuron]).random(ticks.size) < probability[neuron]
        trains.append(ticks[fired] * dt)
    return trains


TICK_SLACK = 1e-9  # a start or end given as a multiple of dt stays on its own tick despite float rounding


def plain(value):
    """A parameter value as the description takes it: a float, or one float per neuron."""
    array = np.asarray(value)
    return float(array) if array.ndim == 0 else array
