"""PyNN's standard cell types and static synapse on neurodeploy's cells: the native names are the fields of
``neurodeploy.description.cells`` (PyNN's names and units already), so every translation is the identity."""

from pyNN.standardmodels import build_translations, cells, synapses

from neurodeploy.pynn.simulator import state


def identity(*names):
    return build_translations(*((name, name) for name in names))


LIF = ("v_rest", "cm", "tau_m", "tau_refrac", "i_offset", "v_reset", "v_thresh")

CURRENTS_AS_GSYN = {"gsyn_exc": "isyn_exc", "gsyn_inh": "isyn_inh"}
"""sPyNNaker records a current-based cell's synaptic currents (nA) under PyNN's ``gsyn_exc`` and ``gsyn_inh``;
the description names them ``isyn_exc`` and ``isyn_inh``."""


class IF_curr_exp(cells.IF_curr_exp):
    """PyNN's IF_curr_exp; ``gsyn_exc`` and ``gsyn_inh`` record its synaptic currents (nA), as sPyNNaker's do."""

    translations = identity(*LIF, "tau_syn_E", "tau_syn_I")
    neurodeploy_cell = "IF_curr_exp"
    recordable = [*cells.IF_curr_exp.recordable, "gsyn_exc", "gsyn_inh"]
    units = {**cells.IF_curr_exp.units, "gsyn_exc": "nA", "gsyn_inh": "nA"}
    recorded_as = CURRENTS_AS_GSYN


class IF_cond_exp(cells.IF_cond_exp):
    __doc__ = cells.IF_cond_exp.__doc__
    translations = identity(*LIF, "tau_syn_E", "tau_syn_I", "e_rev_E", "e_rev_I")
    neurodeploy_cell = "IF_cond_exp"


class IF_curr_delta(cells.IF_curr_delta):
    __doc__ = cells.IF_curr_delta.__doc__
    translations = identity(*LIF)
    neurodeploy_cell = "IF_curr_delta"


class Izhikevich(cells.Izhikevich):
    """PyNN's Izhikevich neuron with exponential current synapses, as sPyNNaker's ``Izhikevich``
    (``IZK_curr_exp``) has them: ``tau_syn_E`` and ``tau_syn_I`` are parameters beside PyNN's."""

    default_parameters = {**cells.Izhikevich.default_parameters, "tau_syn_E": 5.0, "tau_syn_I": 5.0}
    units = {**cells.Izhikevich.units, "tau_syn_E": "ms", "tau_syn_I": "ms", "gsyn_exc": "nA", "gsyn_inh": "nA"}
    translations = identity("a", "b", "c", "d", "i_offset", "tau_syn_E", "tau_syn_I")
    neurodeploy_cell = "Izhikevich"
    recordable = [*cells.Izhikevich.recordable, "gsyn_exc", "gsyn_inh"]
    recorded_as = CURRENTS_AS_GSYN


class SpikeSourceArray(cells.SpikeSourceArray):
    __doc__ = cells.SpikeSourceArray.__doc__
    translations = identity("spike_times")


class StaticSynapse(synapses.StaticSynapse):
    """PyNN's static synapse. Its weights' signs are checked once per projection, by
    ``connectivity.weight_magnitudes``, not column by column by PyNN's check (which refuses sPyNNaker's
    positive weights on a current-based inhibitory receptor)."""

    translations = identity("weight", "delay")
    parameter_checks = {}

    def _get_minimum_delay(self):
        return state.dt if state.min_delay == "auto" else state.min_delay


class SpikeSourcePoisson(cells.SpikeSourcePoisson):
    """PyNN's Poisson spike source; its spike times are drawn from setup's seed when the network is built
    (see ``build.poisson_trains``) and reach every backend as a spike source's times."""

    translations = identity("rate", "start", "duration")
