"""The neurodeploy description of what a PyNN script created: populations and spike sources from the
cell types and their (native) parameters, and the projections ``connectivity`` describes. Anything
that has no description yet raises PyNN's NotImplementedError naming it, rather than being left out."""

from __future__ import annotations

import numpy as np
from pyNN.standardmodels.cells import SpikeSourceArray, SpikeSourcePoisson

import neurodeploy.description as nd


def unsupported(what: str) -> NotImplementedError:
    return NotImplementedError(f"neurodeploy.pynn does not support {what} yet")


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
    for projection in state.projections:
        for part in projection.descriptions:
            network.add(part)
    for source in state.current_sources:
        for injection in source.injections(state.dt, duration, int(state.seed)):
            network.add(injection)
    for change in getattr(state, "changes", ()):
        if change.time < duration:
            network.change(change)
    return network.validate()


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
