"""What a script changes after run() and before the next: PyNN's ``set`` of cell parameters, spike times
and weights between runs become changes the running block's description schedules at the current time
(``neurodeploy.description.schedule``); ``reset()`` drops them with the block."""

from __future__ import annotations

import numpy as np
from pyNN.standardmodels.cells import SpikeSourceArray, SpikeSourcePoisson

import neurodeploy.description as nd
from neurodeploy.pynn import simulator
from neurodeploy.pynn.build import plain, spike_trains, unsupported


def after_run() -> bool:
    """Whether the running block has advanced time: a change now is a change during the run."""
    return simulator.state.t > 0


def parameters_changed(population, neurons: np.ndarray | None, parameter_space):
    """``set`` of a population's (``neurons``: a view's, in the population) native parameters after a run:
    a parameter change from now on; for a SpikeSourceArray, the times from now on replaced."""
    state = simulator.state
    if isinstance(population.celltype, SpikeSourcePoisson):
        raise unsupported("changing SpikeSourcePoisson parameters after run()")
    if isinstance(population.celltype, SpikeSourceArray):
        spike_times_changed(population, neurons, parameter_space["spike_times"])
        return
    changed = {name: plain(value) for name, value in parameter_space.items()}
    state.changes.append(nd.ParameterChange(state.t, population.description_label, changed, neurons))


def spike_times_changed(population, neurons: np.ndarray | None, spike_times):
    """New times of a SpikeSourceArray after a run: its times before now stay (they have fired), the new
    ones from now on replace the rest (as PyNN's simulators send them)."""
    boundary = simulator.state.t - simulator.state.dt / 2  # times in ticks before now have fired
    trains = population.scheduled_spikes
    if trains is None:
        trains = spike_trains(population.start_parameters["spike_times"], population.size, simulator.state.dt)
    indices = np.arange(population.size) if neurons is None else neurons
    new = spike_trains(spike_times, len(indices), simulator.state.dt)
    trains = list(trains)
    for index, times in zip(indices, new):
        trains[index] = np.concatenate([trains[index][trains[index] < boundary], times[times >= boundary]])
    population.scheduled_spikes = trains
