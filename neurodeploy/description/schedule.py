"""Changes during a run: a network's schedule of parameter and weight changes at given times, what PyNN
scripts make with ``run(); set(...); run()``.

A change at time ``t`` (ms, a multiple of dt) applies before the tick that computes the state at
``t + dt``: the ticks before it ran with the old values, every tick from it on with the new ones. A
weight change reaches the spikes emitted from that tick on; a spike emitted before it delivers the
weight it was emitted with, whatever its delay (as sPyNNaker's ring buffers and NEST's events do); the
factor a cell scales arriving weights by (its synapse part's, from ``tau_syn``) is the one of the tick the
input arrives in.
State (V, synaptic input, refractoriness, plastic traces) is never changed: only parameters, as
PyNN's ``set`` between runs changes them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

import numpy as np

from neurodeploy.description import values
from neurodeploy.errors import ValidationError


@dataclass(eq=False)
class ParameterChange:
    """From ``time`` (ms) on, the cell parameters in ``parameters`` (name -> a float, or one value per
    changed neuron) of population ``population``; only the neurons ``neurons`` (indices in the population)
    when given, all of them otherwise."""

    time: float
    population: str
    parameters: dict
    neurons: np.ndarray | None = None

    def __post_init__(self):
        self.time = values.number(self.time, "ms", self.where, "time")
        values.check_range(self.time, self.where, "time", "ms", at_least=0)
        self.population = values.label(self.population, self.where, "population")
        if not isinstance(self.parameters, dict) or not self.parameters:
            raise ValidationError(self.where, "parameters", "expected a non-empty mapping of names to values")
        if self.neurons is not None:
            neurons = np.asarray(self.neurons)
            if neurons.ndim != 1 or neurons.size == 0 or not np.issubdtype(neurons.dtype, np.integer):
                raise ValidationError(self.where, "neurons", "expected a non-empty list of neuron indices")
            if np.unique(neurons).size != neurons.size:
                raise ValidationError(self.where, "neurons", "lists a neuron twice")
            self.neurons = neurons.astype(np.int64)

    @property
    def where(self) -> str:
        return f"parameter change at {self.time:g} ms"

    def applied(self, population):
        """``population`` with this change made, checked as any cell is (names, units, bounds)."""
        where = f"{self.where} of population '{population.label}'"
        known = population.cell.parameter_specs()
        for name in self.parameters:
            if name not in known:
                raise ValidationError(
                    where,
                    f"parameters.{name}",
                    f"not a parameter of {population.cell.name} (known: {', '.join(known)})",
                )
        count = population.size if self.neurons is None else len(self.neurons)
        if self.neurons is not None and (self.neurons.min() < 0 or self.neurons.max() >= population.size):
            raise ValidationError(where, "neurons", f"an index is out of range for {population.size} neurons")
        changed = {}
        for name, value in self.parameters.items():
            value = values.number_or_array(value, known[name].unit, where, f"parameters.{name}", count)
            if self.neurons is not None:
                value = _with(population.value(name), self.neurons, value)
            changed[name] = value
        cell = replace(population.cell, **changed).checked(where, population.size)
        return replace(population, cell=cell)

    def to_dict(self) -> dict:
        data = {
            "time": self.time,
            "population": self.population,
            "parameters": {name: values.to_plain(value) for name, value in self.parameters.items()},
        }
        if self.neurons is not None:
            data["neurons"] = self.neurons.tolist()
        return data


@dataclass(eq=False)
class WeightChange:
    """From ``time`` (ms) on, projection ``projection``'s weights are ``weight``: one value, or one per
    connection in the projection's connection order (``Network.connections``)."""

    time: float
    projection: str
    weight: float | np.ndarray

    def __post_init__(self):
        self.time = values.number(self.time, "ms", self.where, "time")
        values.check_range(self.time, self.where, "time", "ms", at_least=0)
        self.projection = values.label(self.projection, self.where, "projection")

    @property
    def where(self) -> str:
        return f"weight change at {self.time:g} ms"

    def applied(self, projection, count: int):
        """``projection`` with this change made (``count``: its connections), checked as any projection."""
        where = f"{self.where} of projection '{projection.label}'"
        if projection.structural is not None:
            raise ValidationError(where, "projection", "a structural projection's synapses have no fixed order")
        weight = values.number_or_array(self.weight, None, where, "weight", count, "connections")
        values.check_range(weight, where, "weight", "", at_least=0)
        return replace(projection, weight=weight)

    def to_dict(self) -> dict:
        return {"time": self.time, "projection": self.projection, "weight": values.to_plain(self.weight)}


def change_from_dict(data):
    """A ParameterChange (with ``population``) or WeightChange (with ``projection``) from its dictionary."""
    if not isinstance(data, dict):
        raise ValidationError("changes", None, f"expected a mapping, got {data!r}")
    if "projection" in data:
        values.check_keys(
            data, ("time", "projection", "weight"), "weight change", required=("time", "projection", "weight")
        )
        return WeightChange(**data)
    values.check_keys(
        data,
        ("time", "population", "parameters", "neurons"),
        "parameter change",
        required=("time", "population", "parameters"),
    )
    return ParameterChange(**data)


class Stage(NamedTuple):
    """The network from ``tick`` on: ``network`` with every change up to then made, ``populations`` and
    ``projections`` the labels changed at ``tick``."""

    tick: int
    network: object
    populations: tuple[str, ...]
    projections: tuple[str, ...]


def _with(base: np.ndarray, neurons: np.ndarray, value) -> np.ndarray:
    result = base.copy()
    result[neurons] = value
    return result
