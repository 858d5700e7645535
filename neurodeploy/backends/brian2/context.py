"""What every Brian2 lowering function gets, and the one way synapses are connected."""
from __future__ import annotations

from dataclasses import dataclass

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


def connect_synapses(synapses: b2.Synapses, network: Network, projection: Projection) -> Connections:
    """Create the projection's synapses in connection order, so per-synapse arrays line up."""
    connections = network.connections(projection.label)
    synapses.connect(i=connections.pre, j=connections.post)
    if not (np.array_equal(synapses.i[:], connections.pre) and np.array_equal(synapses.j[:], connections.post)):
        raise RuntimeError("Brian2 reordered synapses; per-synapse values would be misassigned")
    return connections
