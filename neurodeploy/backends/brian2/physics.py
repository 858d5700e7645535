"""Physics lowering: the continuous-time model (ODEs integrated at a small dt), for
statistical comparison only. It is not step-equivalent to any target (PSP timing differs by about
half a tick), and supports static projections only."""
from __future__ import annotations

import brian2 as b2

from neurodeploy.backends import LoweringRegistry
from neurodeploy.backends.brian2.context import (DRIVE, RECEPTOR_VARIABLE, REVERSAL, BuildContext, connect_synapses,
                                                set_synaptic_state)
from neurodeploy.description import STDP, IFCondExp, IFCurrExp, Population, Projection

POPULATIONS = LoweringRegistry("brian2 (physics)")
PROJECTIONS = LoweringRegistry("brian2 (physics)")


# The conductance-based membrane equation is bilinear in v and g: Runge-Kutta at the small step.
METHOD = {IFCurrExp: "exact", IFCondExp: "rk4"}


@POPULATIONS.register(IFCurrExp)
@POPULATIONS.register(IFCondExp)
def lif_group(population: Population, context: BuildContext, name: str) -> tuple[b2.NeuronGroup, list]:
    cell = population.cell
    parameters = ("tau_m", "tau_syn_E", "tau_syn_I", "tau_refrac", "v_rest", "v_reset", "v_thresh", "i_offset",
                  *REVERSAL[type(cell)])
    group = b2.NeuronGroup(
        population.size,
        f"""
        dv/dt = (v_rest - v + resistance * ({DRIVE[type(cell)]})) / (tau_m * ms) : 1 (unless refractory)
        resistance : 1 (constant)
        dsyn_exc/dt = -syn_exc / (tau_syn_E * ms) : 1
        dsyn_inh/dt = -syn_inh / (tau_syn_I * ms) : 1
        """ + "\n".join(f"{name} : 1 (constant)" for name in parameters),
        threshold="v >= v_thresh", reset="v = v_reset", refractory="tau_refrac * ms", method=METHOD[type(cell)],
        clock=context.clock, name=name, namespace={"ms": b2.ms})
    for variable in parameters + ("v",):
        setattr(group, variable, population.value(variable))
    set_synaptic_state(group, population)
    group.resistance = population.value("tau_m") / population.value("cm")
    return group, []


@PROJECTIONS.register(type(None))
def static_synapses(projection: Projection, context: BuildContext, source, target, name: str):
    receptor = RECEPTOR_VARIABLE[projection.receptor]
    synapses = b2.Synapses(source, target, "w : 1 (constant)", on_pre=f"syn_{receptor}_post += w",
                           clock=context.clock, name=name, namespace={})
    network = context.network
    connections = connect_synapses(synapses, network, projection)
    synapses.w = connections.weight
    synapses.delay = connections.delay_ticks * network.semantics.dt * b2.ms
    return synapses


PROJECTIONS.refuse(STDP, "physics mode runs static projections only; use the discrete mode for STDP")

