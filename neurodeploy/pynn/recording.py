"""Recording: PyNN's Recorder makes the neo objects (one Segment per block of runs, cached at reset());
the data come from the block's result (every neuron of a recorded population is recorded, PyNN keeps the
ones asked for), from the recording's start on (0, or the time of the last get_data(clear=True)), every
``sampling_interval`` (a whole number of time steps). ``v``,
``gsyn_exc`` and ``gsyn_inh`` are sampled as the backend's recording convention says
(:data:`neurodeploy.pynn.control.RECORDING`): on spinnaker as sPyNNaker records them, elsewhere at the end
of each tick."""

import numpy as np
from pyNN import errors, recording

from neurodeploy.description import CELL_TYPES
from neurodeploy.pynn import simulator
from neurodeploy.pynn.build import recorded_name, unsupported
from neurodeploy.pynn.segments import after_run


class Recorder(recording.Recorder):
    _simulator = simulator

    def _record(self, variable, new_ids, sampling_interval=None):
        """PyNN's record() has already added ``new_ids`` to what is recorded: a refused record takes them out,
        so that a script catching the refusal still runs."""
        refusal = self._refusal(variable, sampling_interval)
        if refusal is not None:
            kept = self.recorded[variable].difference(new_ids)
            if kept:
                self.recorded[variable] = kept
            else:  # PyNN reads every key as a recorded variable
                del self.recorded[variable]
            raise refusal
        if sampling_interval is not None and variable.name != "spikes":
            self.sampling_interval = sampling_interval

    def _refusal(self, variable, sampling_interval) -> NotImplementedError | None:
        if after_run():
            return unsupported("record() after run() (before reset())")
        if sampling_interval is not None and variable.name != "spikes":
            ticks = round(sampling_interval / simulator.state.dt)
            if ticks < 1 or abs(ticks * simulator.state.dt - sampling_interval) > 1e-9 * sampling_interval:
                return unsupported(f"a sampling_interval of {sampling_interval} ms, not a whole number of time steps")
        celltype = self.population.celltype
        if variable.name != "spikes" and (
            not hasattr(celltype, "neurodeploy_cell")
            or recorded_name(self.population, variable.name) not in CELL_TYPES[celltype.neurodeploy_cell].recordables
        ):
            return unsupported(f"recording {variable.name!r} of {type(celltype).__name__}")
        return None

    def _result(self):
        if not simulator.state.running:
            raise errors.NothingToWriteError("no run() yet: nothing recorded")
        return simulator.state.execute()

    def _start_tick(self) -> int:
        """The tick the data start at: the recording's start time (PyNN's, moved by clear)."""
        return round(float(self._recording_start_time) / simulator.state.dt)

    def _get_spiketimes(self, ids, clear=False):
        indices = self.population.id_to_index(np.asarray(ids, dtype=int)) if len(ids) else np.empty(0, dtype=int)
        times = self._spikes_since_start(indices)
        id_array = np.concatenate([np.full(len(t), id, dtype=int) for id, t in zip(ids, times)] or [np.empty(0, int)])
        return id_array, np.concatenate(times or [np.empty(0)])

    def _spikes_since_start(self, indices) -> list[np.ndarray]:
        """Each of the population's ``indices``' spike times from the recording's start on."""
        trains = self._result().spikes.populations[self.population.description_label]
        start = self._start_tick() * simulator.state.dt - simulator.state.dt / 2
        return [trains[index][trains[index] >= start] for index in indices]

    def _get_all_signals(self, variable, ids, clear=False):
        """Each neuron's value per sampling interval from the recording's start: every k-th row of the
        full per-tick trace (``sampling_interval`` k ticks), as PyNN's simulators sample."""
        trace, times = self._per_tick_signals(variable, ids)
        return trace[:: round(self.sampling_interval / simulator.state.dt)], times

    def _per_tick_signals(self, variable, ids):
        """Each neuron's value per time step from the recording's start. As sPyNNaker records (the spynnaker
        convention): one sample per tick, V at its start and the synaptic state after its input, before its
        decay. Otherwise every time step to the end of the run: the initial value (at time 0), then the
        value at the end of each tick."""
        result = self._result()
        name = recorded_name(self.population, variable.name)
        trace = result.traces[self.population.description_label][name]
        indices = self.population.id_to_index(np.asarray(ids, dtype=int))
        start = self._start_tick()
        if result.details.get("recording") == "spynnaker":
            return trace[start:, indices], None
        if start > 0:
            return trace[start - 1 :, indices], None
        initial = np.broadcast_to(self.population.started_from[name], (self.population.size,))
        return np.vstack([initial[indices], trace[:, indices]]), None

    def _local_count(self, variable, filter_ids=None):
        """Each neuron's spikes from the recording's start on (get_data's clear empties the count too)."""
        ids = list(self.filter_recorded(variable, filter_ids))
        indices = [self.population.id_to_index(int(id)) for id in ids]
        return {int(id): len(times) for id, times in zip(ids, self._spikes_since_start(indices))}

    def _clear_simulator(self):
        """Nothing is held to clear: the block's result is read from the recording's start time, which
        PyNN's clear moves to now."""

    def _reset(self):
        if after_run():
            raise unsupported("changing what is recorded after run() (before reset())")
