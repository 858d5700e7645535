"""Injected currents inside our neuron processes (worker half): each tick, every current source's
amplitude (:mod:`neurodeploy.description.currents`) in the neurons' integer units (``rint(units x I)``,
per source, then summed), added where the process adds ``i_offset``. The sources arrive as description
data in the process's parameters and are computed in blocks of ticks."""

from __future__ import annotations

import numpy as np

from neurodeploy.description.currents import CurrentInjection
from neurodeploy.description.semantics import Semantics


class InjectedUnits:
    """The per-tick injected current of a population's neurons, in their integer units."""

    BLOCK_TICKS = 4096

    def __init__(self, currents: dict):
        self.injections = [CurrentInjection.from_dict(data) for data in currents["injections"]]
        self.semantics = Semantics(dt=currents["dt"])
        self.seed = currents["seed"]
        self.units = np.asarray(currents["units"], dtype=np.float64)  # per neuron, integer units per nA
        self.first, self.block = 0, np.zeros((0, self.units.size), dtype=np.int64)

    def at(self, tick: int) -> np.ndarray:
        if not self.first <= tick < self.first + len(self.block):
            self.first, self.block = tick, self._units(tick, tick + self.BLOCK_TICKS)
        return self.block[tick - self.first]

    def _units(self, first: int, stop: int) -> np.ndarray:
        total = np.zeros((stop - first, self.units.size), dtype=np.int64)
        for injection in self.injections:
            targets = injection.targets(self.units.size)
            amplitudes = injection.amplitudes(first, stop, self.semantics, self.seed)
            total[:, targets] += np.rint(amplitudes[:, None] * self.units[targets]).astype(np.int64)
        return total


def injected_units(proc_params) -> InjectedUnits | None:
    currents = proc_params.get("currents")
    return None if currents is None else InjectedUnits(currents)
