"""What every Brian2 lowering function gets, the one way synapses are connected, and the cell types' input."""
from __future__ import annotations

from dataclasses import dataclass, field

import brian2 as b2
import numpy as np

from neurodeploy.description import Connections, IFCondExp, IFCurrExp, Network, Population, Projection


@dataclass(frozen=True)
class BuildContext:
    network: Network
    dt_ms: float
    """The simulation step: the network's dt (discrete mode) or the physics step."""
    clock: b2.Clock
    """One clock of that step for every object."""
    at_rest: dict = field(default_factory=dict)
    """Per population lowered, its membrane's state at rest (``Membrane.at_rest``), for revived neurons."""
    slots: dict = field(default_factory=dict)
    """Per structural projection lowered, its slots (``structural.Slots``)."""


def connect_synapses(synapses: b2.Synapses, network: Network, projection: Projection) -> Connections:
    """Create the projection's synapses in connection order, so per-synapse arrays line up."""
    connections = network.connections(projection.label)
    if connections.pre.size:
        synapses.connect(i=connections.pre, j=connections.post)
    else:  # Brian2 cannot take empty index arrays; connect(False) declares that there are no synapses
        synapses.connect(False)
    if not (np.array_equal(synapses.i[:], connections.pre) and np.array_equal(synapses.j[:], connections.post)):
        raise RuntimeError("Brian2 reordered synapses; per-synapse values would be misassigned")
    return connections


RECEPTOR_VARIABLE = {"excitatory": "exc", "inhibitory": "inh"}  # syn_exc, init_exc, ... per receptor


def constants(*names: str) -> str:
    """Brian2 declarations of per-neuron (or per-synapse) constants."""
    return "".join(f"{name} : 1 (constant)\n" for name in names)


# Per cell type, the input current of the membrane equation. Groups hold the synaptic state as
# syn_exc / syn_inh: currents (initial values isyn_*) or conductances (gsyn_*).
DRIVE = {IFCurrExp: "syn_exc - syn_inh + i_offset",
         IFCondExp: "syn_exc * (e_rev_E - v) + syn_inh * (e_rev_I - v) + i_offset"}
REVERSAL = {IFCurrExp: (), IFCondExp: ("e_rev_E", "e_rev_I")}


def set_synaptic_state(group: b2.NeuronGroup, population: Population):
    group.syn_exc = population.value(f"{population.cell.synaptic_state}_exc")
    group.syn_inh = population.value(f"{population.cell.synaptic_state}_inh")


@dataclass(frozen=True)
class Membrane:
    """What the float and the integer (FixedPointLIF) membranes differ in: their variables, threshold
    variable, reset and per-tick code (steps 2 and 4), and how they are set from the population."""

    equations: str
    threshold: tuple[str, str]  # the variable compared and the level it is compared with
    reset: str
    update: str
    namespace: dict
    initialise: object  # (group, population, semantics) -> None
    at_rest: dict  # variable -> expression: the membrane at rest, besides no synaptic input, not refractory
