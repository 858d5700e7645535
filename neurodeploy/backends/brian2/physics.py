"""Physics lowering: the continuous-time model (ODEs integrated at a small dt), for
statistical comparison only. It is not step-equivalent to any target (PSP timing differs by about
half a tick), and supports static projections only."""

from __future__ import annotations

import brian2 as b2

from neurodeploy.backends import LoweringRegistry
from neurodeploy.backends.brian2.cells import PHYSICS
from neurodeploy.backends.brian2.context import (
    RECEPTOR_VARIABLE,
    BuildContext,
    connect_synapses,
    set_delays,
    set_per_synapse,
)
from neurodeploy.description import STDP, Population, Projection

PROJECTIONS = LoweringRegistry("brian2 (physics)")


def population_lowering(population: Population):
    """The function making the population's group: its cell type's equations (``cells.PHYSICS``)."""
    return PHYSICS.lookup(population.cell)


@PROJECTIONS.register(type(None))
def static_synapses(projection: Projection, context: BuildContext, source, target, name: str):
    receptor = RECEPTOR_VARIABLE[projection.receptor]
    synapses = b2.Synapses(
        source,
        target,
        "w : 1 (constant)",
        on_pre=f"syn_{receptor}_post += w",
        clock=context.clock,
        name=name,
        namespace={},
    )
    network = context.network
    connections = connect_synapses(synapses, network, projection)
    set_per_synapse(synapses, "w", connections.weight)
    set_delays(synapses.pre, connections.delay_ticks, network.semantics.dt)
    return synapses


PROJECTIONS.refuse(STDP, "physics mode runs static projections only; use the discrete mode for STDP")
