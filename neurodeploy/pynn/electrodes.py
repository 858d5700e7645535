"""PyNN's current sources on PyNN's ``electrodes`` bases (as ``pyNN.mock`` has them): each holds its native
parameters as attributes (as ``pyNN.neuron``'s do) and the cells it was injected into; ``run`` makes one
description injection (:mod:`neurodeploy.description.currents`) per population it reaches. Times are
rounded to the time step as PyNN's simulators round them; a stop beyond the run is no stop. ``record()``
gives the current of each tick, computed from the description.

Parameters set between runs apply from the time they are set, as on PyNN's simulators: the source
becomes pieces, each on only from its time to the next change (an ACSource's phase continues; a noisy
source draws new samples from the change on). ``reset()`` keeps the parameters as set, from time 0."""

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
        object.__setattr__(self, "earlier", [])  # (the source as it was, the time it was changed) per change
        space = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        space.update(**parameters)
        self._take(self.translate(space))  # made, not changed: no earlier piece, even after run()
        object.__setattr__(self, "description_label", f"current source {len(simulator.state.current_sources)}")
        simulator.state.current_sources.append(self)

    def set_native_parameters(self, parameters):
        state = simulator.state
        if after_run() and not (self.earlier and self.earlier[-1][1] == state.t):
            self.earlier.append((self.snapshot(), state.t))
        self._take(parameters)

    def _take(self, parameters):
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
        return self.between(0.0, None, dt, duration)

    def between(self, since: float, until: float | None, dt: float, duration: float | None):
        """This source as it is now, on only in [since, until) (None: no end); None if never on there."""
        window = self.window(duration)
        start = max(window["start"], since)
        stop = until if window["stop"] is None else window["stop"] if until is None else min(window["stop"], until)
        if stop is not None and start >= stop:
            return None
        return self.made(start, stop)

    def made(self, start: float, stop: float | None) -> nd.currents.CurrentSource:
        raise NotImplementedError

    def pieces(self, dt: float, duration: float | None) -> list[tuple[str, nd.currents.CurrentSource]]:
        """The description's sources of this one's pieces (a label suffix and a source each): as it was
        before each change, then as it is now."""
        made, since = [], 0.0
        for piece, until in [*self.earlier, (self, None)]:
            source = piece.between(since, until, dt, duration)
            if source is not None:
                made.append(("" if since == 0 else f" from {since:g} ms", source))
            since = until
        return made

    def snapshot(self) -> "CurrentSource":
        """The source as it is now (PyNN's attribute lookup forbids ``copy.copy``)."""
        kept = object.__new__(type(self))
        kept.__dict__.update(self.__dict__)
        return kept

    def end_block(self):
        """reset(): the parameters as set now apply from time 0."""
        self.earlier.clear()

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
        return [
            nd.CurrentInjection(self._label(index) + suffix, population.description_label, source, neurons)
            for suffix, source in self.pieces(dt, duration)
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
        current = np.zeros(ticks + 1)
        for suffix, source in self.pieces(dt, duration):
            injection = nd.CurrentInjection(self._label(0) + suffix, "recorded", source)
            current += injection.amplitudes(0, ticks + 1, nd.Semantics(dt=dt), seed)
        return np.arange(ticks + 1) * dt, current


class DCSource(CurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    translations = build_translations(("amplitude", "amplitude"), ("start", "start"), ("stop", "stop"))

    def made(self, start, stop):
        return nd.DCSource(self.amplitude, start, stop)


class ACSource(CurrentSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    translations = build_translations(
        *((name, name) for name in ("amplitude", "start", "stop", "frequency", "offset", "phase"))
    )

    def made(self, start, stop):
        """From ``start`` on, the phase the sine has reached there (it counts from this source's start)."""
        phase = self.phase + 360.0 * self.frequency * (start - self.on_grid(self.start)) / 1000.0
        return nd.ACSource(self.amplitude, self.offset, self.frequency, phase, start, stop)


class NoisyCurrentSource(CurrentSource, electrodes.NoisyCurrentSource):
    """PyNN's Gaussian noise current: its samples are drawn from setup's seed (not an ``rng`` argument)
    when the network is built, so every backend gets the same ones. ``dt`` must be a multiple of the time
    step."""

    translations = build_translations(*((name, name) for name in ("mean", "stdev", "start", "stop", "dt")))

    def made(self, start, stop):
        source = nd.NoisyCurrentSource(self.mean, self.stdev, start, stop, dt=self.dt)
        source.ticks_per_sample(nd.Semantics(dt=simulator.state.dt), "NoisyCurrentSource")
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

    def between(self, since, until, dt, duration):
        """The amplitude in force at ``since``, the changes in (since, until), then 0 at ``until``."""
        in_force = self.amplitudes[self.times <= since]
        inside = (self.times > since) & (self.times < (np.inf if until is None else until))
        times = [since, *self.times[inside], *([] if until is None else [until])]
        amplitudes = [
            in_force[-1] if in_force.size else 0.0,
            *self.amplitudes[inside],
            *([] if until is None else [0.0]),
        ]
        if since == 0 and not in_force.size:  # unchanged: the times as given
            times, amplitudes = times[1:], amplitudes[1:]
        return nd.StepCurrentSource(times, amplitudes)
