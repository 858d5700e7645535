"""What every Brian2 lowering function gets, and the one way synapses are connected."""

from __future__ import annotations

from dataclasses import dataclass, field

import brian2 as b2
import numpy as np

from neurodeploy.description import Connections, Network, Projection


@dataclass(frozen=True)
class BuildContext:
    network: Network
    dt_ms: float
    """The simulation step: the network's dt (discrete mode) or the physics step."""
    clock: b2.Clock
    """One clock of that step for every object."""
    at_rest: dict = field(default_factory=dict)
    """Per population lowered, its membrane's state at rest (``cells.Membrane.at_rest``), for revived neurons."""
    slots: dict = field(default_factory=dict)
    """Per structural projection lowered, its slots (``structural.Slots``)."""
    current_feeds: dict = field(default_factory=dict)
    """Per population with injected currents, its feed (``discrete.CurrentFeed``), which a parameter change
    of the schedule rebases on the new ``i_offset``."""


def connect_synapses(synapses: b2.Synapses, network: Network, projection: Projection) -> Connections:
    """Create the projection's synapses in connection order, so per-synapse arrays line up."""
    connections = network.connections(projection.label)
    if connections.pre.size:
        synapses.connect(i=connections.pre, j=connections.post)
    else:  # Brian2 cannot take empty index arrays; connect(False) declares that there are no synapses
        synapses.connect(False)
    created = (synapses.variables[name].get_value() for name in ("_synaptic_pre", "_synaptic_post"))
    if not all(np.array_equal(indices, given) for indices, given in zip(created, connections[:2])):
        raise RuntimeError("Brian2 reordered synapses; per-synapse values would be misassigned")
    return connections


def set_per_synapse(holder, name: str, values: np.ndarray) -> np.ndarray:
    """Per-synapse values written into Brian2's own array of ``holder`` (synapses or a pathway), which is
    returned: assigning through Brian2's attributes builds index and unit-checked copies of the whole
    array (tens of bytes per synapse at the peak of a large network's build)."""
    stored = holder.variables[name].get_value()
    stored[:] = values
    return stored


def set_delays(pathway, delay_ticks: np.ndarray, dt_ms: float, shortened_by: int = 0):
    """A pathway's delays of ``delay_ticks - shortened_by`` ticks of ``dt_ms``, computed in Brian2's array
    itself, in seconds."""
    seconds = set_per_synapse(pathway, "delay", delay_ticks)
    seconds -= shortened_by
    seconds *= dt_ms
    seconds *= float(b2.ms)


RECEPTOR_VARIABLE = {"excitatory": "exc", "inhibitory": "inh"}  # syn_exc, init_exc, ... per receptor
