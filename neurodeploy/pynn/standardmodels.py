"""PyNN's standard cell types and static synapse on neurodeploy's cells: the native names are the fields of
``neurodeploy.description.cells`` (PyNN's names and units already), so every translation is the identity."""

from pyNN.standardmodels import build_translations, cells, synapses

from neurodeploy.pynn.simulator import state


def identity(*names):
    return build_translations(*((name, name) for name in names))


LIF = ("v_rest", "cm", "tau_m", "tau_refrac", "i_offset", "v_reset", "v_thresh")


class IF_curr_exp(cells.IF_curr_exp):
    __doc__ = cells.IF_curr_exp.__doc__
    translations = identity(*LIF, "tau_syn_E", "tau_syn_I")
    neurodeploy_cell = "IF_curr_exp"


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
    units = {**cells.Izhikevich.units, "tau_syn_E": "ms", "tau_syn_I": "ms"}
    translations = identity("a", "b", "c", "d", "i_offset", "tau_syn_E", "tau_syn_I")
    neurodeploy_cell = "Izhikevich"


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
