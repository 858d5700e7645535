"""Physics lowering: the continuous-time model (exact ODE integration at a small dt), for
statistical comparison only. It is not step-equivalent to any target (PSP timing differs by about
half a tick), and supports static projections only."""
from __future__ import annotations

import brian2 as b2

from neurodeploy.backends import LoweringRegistry
from neurodeploy.backends.brian2.context import BuildContext, connect_synapses
from neurodeploy.description import STDP, IFCurrExp, Population, Projection

POPULATIONS = LoweringRegistry("brian2 (physics)")
PROJECTIONS = LoweringRegistry("brian2 (physics)")


@POPULATIONS.register(IFCurrExp)
def lif_group(population: Population, context: BuildContext, name: str) -> tuple[b2.NeuronGroup, list]:
    parameters = ("tau_m", "tau_syn_E", "tau_syn_I", "tau_refrac", "v_rest", "v_reset", "v_thresh", "i_offset")
    group = b2.NeuronGroup(
        population.size,
        """
        dv/dt = (v_rest - v + resistance * (isyn_exc - isyn_inh + i_offset)) / (tau_m * ms) : 1 (unless refractory)
        resistance : 1 (constant)
        disyn_exc/dt = -isyn_exc / (tau_syn_E * ms) : 1
        disyn_inh/dt = -isyn_inh / (tau_syn_I * ms) : 1
        """ + "\n".join(f"{name} : 1 (constant)" for name in parameters),
        threshold="v >= v_thresh", reset="v = v_reset", refractory="tau_refrac * ms", method="exact",
        clock=context.clock, name=name, namespace={"ms": b2.ms})
    for variable in parameters + ("v", "isyn_exc", "isyn_inh"):
        setattr(group, variable, population.value(variable))
    group.resistance = population.value("tau_m") / population.value("cm")
    return group, []


@PROJECTIONS.register(type(None))
def static_synapses(projection: Projection, context: BuildContext, source, target, name: str):
    receptor = "exc" if projection.receptor == "excitatory" else "inh"
    synapses = b2.Synapses(source, target, "w : 1 (constant)", on_pre=f"isyn_{receptor}_post += w",
                           clock=context.clock, name=name, namespace={})
    network = context.network
    connections = connect_synapses(synapses, network, projection)
    synapses.w = connections.weight
    synapses.delay = connections.delay_ticks * network.semantics.dt * b2.ms
    return synapses


PROJECTIONS.refuse(STDP, "physics mode runs static projections only; use the discrete mode for STDP")


def refuse_structural(projection: Projection):
    if projection.structural is not None:
        raise BackendError(f"projection '{projection.label}': structural plasticity runs in the discrete mode only")
