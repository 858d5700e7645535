"""The model-description layer: one description of a spiking network, with explicit meaning.

It imports no backend. Read :mod:`.semantics` for what a tick means, :mod:`.cells` for neuron
types, :mod:`.connectors`, :mod:`.plasticity`, :mod:`.schedule` (changes during a run) and :mod:`.network` for the rest.
"""

from neurodeploy.description.cells import (
    CELL_TYPES,
    Accumulator,
    FixedPointIzhikevich,
    FixedPointLIF,
    IFCondExp,
    IFCurrDelta,
    IFCurrExp,
    Izhikevich,
)
from neurodeploy.description.connectors import AllToAll, FixedProbability, FromList, OneToOne
from neurodeploy.description.currents import (
    ACSource,
    CurrentInjection,
    DCSource,
    NoisyCurrentSource,
    StepCurrentSource,
    injected_current,
)
from neurodeploy.description.io import load, save
from neurodeploy.description.network import Connections, DelayTicks, Network, Population, Projection, SpikeSource
from neurodeploy.description.plasticity import STDP, FixedPointSTDP, STDPSemantics
from neurodeploy.description.schedule import ParameterChange, WeightChange
from neurodeploy.description.semantics import Semantics
from neurodeploy.description.structural import CoincidenceWiring, StructuralEngine, Synaptogenesis
from neurodeploy.description.turnover import NeuronTurnover

__all__ = [
    "ACSource",
    "Accumulator",
    "AllToAll",
    "CELL_TYPES",
    "CoincidenceWiring",
    "Connections",
    "CurrentInjection",
    "DCSource",
    "DelayTicks",
    "FixedPointIzhikevich",
    "FixedPointLIF",
    "FixedPointSTDP",
    "FixedProbability",
    "FromList",
    "IFCondExp",
    "IFCurrDelta",
    "IFCurrExp",
    "Izhikevich",
    "Network",
    "NeuronTurnover",
    "NoisyCurrentSource",
    "OneToOne",
    "ParameterChange",
    "Population",
    "Projection",
    "STDP",
    "STDPSemantics",
    "Semantics",
    "SpikeSource",
    "StepCurrentSource",
    "StructuralEngine",
    "Synaptogenesis",
    "WeightChange",
    "injected_current",
    "load",
    "save",
]
