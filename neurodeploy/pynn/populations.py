"""Populations on PyNN's common classes (as ``pyNN.mock`` keeps them): native parameters in a dict of
arrays, read when ``run`` builds the description."""

import numpy as np
from pyNN import common, errors
from pyNN.parameters import ParameterSpace, simplify

from neurodeploy.pynn import simulator
from neurodeploy.pynn.build import initial_values, unsupported
from neurodeploy.pynn.recording import Recorder
from neurodeploy.pynn.segments import after_run, parameters_changed


def check_spike_times(parameters: dict):
    """A SpikeSourceArray's times in increasing order, as PyNN's simulators require them."""
    for train in np.atleast_1d(parameters.get("spike_times", [])):
        times = np.asarray(train.value)
        if np.any(times[:-1] > times[1:]):
            raise errors.InvalidParameterValueError("Spike times given to SpikeSourceArray must be in increasing order")


class Assembly(common.Assembly):
    _simulator = simulator


class PopulationView(common.PopulationView):
    _assembly_class = Assembly
    _simulator = simulator

    @property
    def in_population(self) -> np.ndarray:
        """This view's neurons' indices in the population it is a view of (through views of views)."""
        return np.asarray(self.index_in_grandparent(np.arange(self.size)))

    def _get_parameters(self, *names):
        native = self.celltype.get_native_names(*names)
        space = ParameterSpace(
            {name: simplify(np.asarray(self.grandparent._parameters[name])[self.in_population]) for name in native},
            shape=(self.size,),
        )
        return self.celltype.reverse_translate(space)

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        check_spike_times(dict(parameter_space.items()))
        if after_run():
            parameters_changed(self.grandparent, self.in_population, parameter_space)
        for name, value in parameter_space.items():
            self.grandparent._parameters[name][self.in_population] = value

    def _set_initial_value_array(self, variable, initial_values):
        if after_run():
            raise unsupported("initialize() after run() (before reset())")

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)


class Population(common.Population):
    __doc__ = common.Population.__doc__
    _simulator = simulator
    _recorder_class = Recorder
    _assembly_class = Assembly

    def _create_cells(self):
        if simulator.state.has_run:
            raise unsupported("creating populations after run()")
        if not hasattr(self.celltype, "translations") or not hasattr(self.celltype, "get_native_names"):
            raise unsupported(f"the cell type {type(self.celltype).__name__}")
        id_range = np.arange(simulator.state.id_counter, simulator.state.id_counter + self.size)
        self.all_cells = np.array([simulator.ID(id) for id in id_range], dtype=simulator.ID)
        self._mask_local = np.ones(self.size, dtype=bool)
        parameter_space = self.celltype.native_parameters
        parameter_space.shape = (self.size,)
        parameter_space.evaluate(simplify=False)
        self._parameters = parameter_space.as_dict()
        check_spike_times(self._parameters)
        for id in self.all_cells:
            id.parent = self
        simulator.state.id_counter += self.size
        self.end_block()
        taken = {population.description_label for population in simulator.state.populations}
        label = self.label if self.label and self.label.isprintable() else f"population{len(taken)}"
        self.description_label = label if label not in taken else f"{label} ({len(taken)})"
        simulator.state.populations.append(self)

    def _set_initial_value_array(self, variable, initial_values):
        if after_run():
            raise unsupported("initialize() after run() (before reset())")

    def start_block(self):
        """The first run of a block: the parameters and initial values it starts from, kept while the
        script changes them during it."""
        self.start_parameters = {name: np.array(value, copy=True) for name, value in self._parameters.items()}
        self.started_from = initial_values(self) if hasattr(self.celltype, "neurodeploy_cell") else None

    def end_block(self):
        """After reset(): the next block starts from the parameters as they are then."""
        self.start_parameters = None
        self.started_from = None
        self.scheduled_spikes = None

    def _get_view(self, selector, label=None):
        return PopulationView(self, selector, label)

    def _get_parameters(self, *names):
        native = self.celltype.get_native_names(*names)
        space = ParameterSpace({name: simplify(self._parameters[name]) for name in native}, shape=(self.size,))
        return self.celltype.reverse_translate(space)

    def _set_parameters(self, parameter_space):
        parameter_space.evaluate(simplify=False)
        check_spike_times(dict(parameter_space.items()))
        if after_run():
            parameters_changed(self, None, parameter_space)
        for name, value in parameter_space.items():
            self._parameters[name] = value
