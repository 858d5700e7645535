"""PyNN's current sources on PyNN's ``electrodes`` bases (as ``pyNN.mock`` has them): each holds its native
parameters as attributes (as ``pyNN.neuron``'s do) and the cells it was injected into; ``run`` makes one
description injection (:mod:`neurodeploy.description.currents`) per population it reaches. Times are
rounded to the time step as PyNN's simulators round them; a stop beyond the run is no stop. ``record()``
gives the current of each tick, computed from the description."""

from __future__ import annotations

import numpy as np
from pyNN.common import Assembly, Population, PopulationView
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import StandardCurrentSource, build_translations, electrodes

import neurodeploy.description as nd
from neurodeploy.pynn import simulator
from neurodeploy.pynn.build import unsupported
from neurodeploy.pynn.segments import after_run


class CurrentSource(StandardCurrentSource):
    """A PyNN current source whose parameters describe a neurodeploy one."""

    description_class: type

    def __init__(self, **parameters):
        object.__setattr__(self, "targets", [])  # (population, its neurons' indices or None for all)
        object.__setattr__(self, "recording", False)
        space = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        space.update(**parameters)
        self.set_native_parameters(self.translate(space))
        object.__setattr__(self, "description_label", f"current source {len(simulator.state.current_sources)}")
        simulator.state.current_sources.append(self)

    def set_native_parameters(self, parameters):
        if after_run():
            raise unsupported("changing a current source after run()")
        parameters.evaluate(simplify=True)
        self._accept(
            {name: value.value if isinstance(value, Sequence) else value for name, value in parameters.items()}
        )

    def _accept(self, given: dict):
        """Keep the evaluated native parameters (plain values) as attributes, checked as a description."""
        for name, value in given.items():
            object.__setattr__(self, name, np.asarray(value, dtype=float) if np.ndim(value) else float(value))
        self.description(simulator.state.dt, None)  # checked now, where the script sets it

    def get_native_parameters(self):
        return ParameterSpace({name: getattr(self, name) for name in self.get_native_names()})

    def on_grid(self, time: float) -> float:
        return float(self._round_timestamp(time, simulator.state.dt))

    def window(self, duration: float | None) -> dict:
        """start and stop on the grid; a stop at or beyond the run's end is None."""
        stop = self.on_grid(self.stop)
        return {"start": self.on_grid(self.start), "stop": None if duration is None or stop >= duration else stop}

    def description(self, dt: float, duration: float | None) -> nd.currents.CurrentSource:
        """The description of this source for a run of ``duration`` ms (None: only to check it)."""
        raise NotImplementedError

    def inject_into(self, cells):
        """Inject into a Population, PopulationView, Assembly or list of IDs (PyNN's forms)."""
        if after_run():
            raise unsupported("injecting a current source after run()")
        if isinstance(cells, Assembly):
            for population in cells.populations:
                self.inject_into(population)
            return
        if isinstance(cells, Population):
            self._add(cells, None)
            return
        if isinstance(cells, PopulationView):
            self._add(cells.grandparent, np.asarray(cells.index_in_grandparent(np.arange(cells.size))))
            return
        by_population = {}
        for id in cells:
            by_population.setdefault(id.parent, []).append(int(id.parent.id_to_index(id)))
        for population, indices in by_population.items():
            self._add(population, np.asarray(indices))

    def _add(self, population, indices):
        if not population.celltype.injectable:
            raise TypeError("Can't inject current into a spike source.")
        for index, (known, neurons) in enumerate(self.targets):
            if known is population:  # one injection per population: the union of the neurons given
                merged = None if neurons is None or indices is None else np.union1d(neurons, indices)
                self.targets[index] = (population, merged)
                return
        self.targets.append((population, indices))

    def injections(self, dt: float, duration: float, seed: int) -> list[nd.CurrentInjection]:
        """The description's injections of this source in a run of ``duration`` ms."""
        source = self.description(dt, duration)
        return [
            nd.CurrentInjection(self._label(index), population.description_label, source, neurons)
            for index, (population, neurons) in enumerate(self.targets)
        ]

    def ran(self, dt: float, duration: float, seed: int):
        """The run so far (kept for ``get_data``, which PyNN allows after ``end()``)."""
        object.__setattr__(self, "run_made", (dt, duration, seed))

    def _label(self, index: int) -> str:
        return self.description_label if index == 0 else f"{self.description_label} ({index})"

    def record(self):
        """Record the current (of the first population it is injected into, for a noisy source)."""
        object.__setattr__(self, "recording", True)

    def _get_data(self):
        """The current at every time step from 0 to the end of the run, as the run's description gives it."""
        if not self.recording:
            raise unsupported("get_data() of a current source that was not recorded")
        if not hasattr(self, "run_made"):
            raise unsupported("get_data() of a current source before run()")
        dt, duration, seed = self.run_made
        ticks = int(round(duration / dt))
        injection = nd.CurrentInjection(self._label(0), "recorded", self.description(dt, duration))
        current = injection.amplitudes(0, ticks + 1, nd.Semantics(dt=dt), seed)
        return np.arange(ticks + 1) * dt, current


class DCSource(CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"), ("stop", "stop"))

    def description(self, dt, duration):
        return nd.DCSource(self.amplitude, **self.window(duration))


class ACSource(CurrentSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(
        *((name, name) for name in ("amplitude", "start", "stop", "frequency", "offset", "phase"))
    )

    def description(self, dt, duration):
        return nd.ACSource(self.amplitude, self.offset, self.frequency, self.phase, **self.window(duration))


class NoisyCurrentSource(CurrentSource, electrodes.NoisyCurrentSource):
    """PyNN's Gaussian noise current: its samples are drawn from setup's seed (not an ``rng`` argument)
    when the network is built, so every backend gets the same ones. ``dt`` must be a multiple of the time
    step."""

    translations = build_translations(*((name, name) for name in ("mean", "stdev", "start", "stop", "dt")))

    def description(self, dt, duration):
        source = nd.NoisyCurrentSource(self.mean, self.stdev, dt=self.dt, **self.window(duration))
        source.ticks_per_sample(nd.Semantics(dt=dt), "NoisyCurrentSource")
        return source


class StepCurrentSource(CurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    translations = build_translations(("amplitudes", "amplitudes"), ("times", "times"))

    def _accept(self, given: dict):
        """Times must be increasing and >= 0; they are rounded to the time step and of times landing on
        one step the last amplitude stays (PyNN's ``_check_step_times``). Either may be set alone."""
        times, amplitudes = (
            np.asarray(given[name] if name in given else getattr(self, name), dtype=float)
            for name in ("times", "amplitudes")
        )
        on_grid = nd.StepCurrentSource(times, amplitudes).on_grid(simulator.state.dt)
        super()._accept({"times": on_grid.times, "amplitudes": on_grid.amplitudes})

    def description(self, dt, duration):
        return nd.StepCurrentSource(self.times, self.amplitudes)
