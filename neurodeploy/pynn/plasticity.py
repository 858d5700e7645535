"""PyNN's STDP on the description's pair rule, with sPyNNaker's meaning: ``STDPMechanism`` of a timing rule
(PyNN's ``SpikePairRule``, all pairs; sPyNNaker's ``SpikeNearestPairRule``, its nearest pairs) and a
weight dependence (``AdditiveWeightDependence``, ``MultiplicativeWeightDependence``) becomes
``neurodeploy.description.STDP`` with sPyNNaker's semantics (``STDPSemantics()``: updates deferred to pre
spikes, post spikes seen after the synaptic delay, i.e. ``dendritic_delay_fraction`` 1, the only one
allowed).

A_plus and A_minus are read as ``setup(stdp_amplitudes=...)`` says: ``"spynnaker"`` (the default) as
sPyNNaker's, absolute weight steps (nA or uS) under additive dependence; ``"pynn"`` as PyNN's standard
(its NEST and Brian2 modules), steps scaled by ``w_max``. The description gets the absolute steps
``A x w_max`` (exact for additive dependence; SpiNNaker takes only absolute ones) and, either way,
``Projection.get`` reads A_plus and A_minus as the script gave them. Under multiplicative dependence they
are rates in both conventions (``w += A_plus x (w_max - w)``).

After a run, a plastic projection's weights are the final ones (``Projection.final_weights``)."""

from __future__ import annotations

import numpy as np
from pyNN.standardmodels import build_translations, synapses

import neurodeploy.description as nd
from neurodeploy.pynn.build import unsupported
from neurodeploy.pynn.simulator import state


def identity(*names):
    return build_translations(*((name, name) for name in names))


class STDPMechanism(synapses.STDPMechanism):
    __doc__ = synapses.STDPMechanism.__doc__
    base_translations = identity("weight", "delay", "dendritic_delay_fraction")

    def _get_minimum_delay(self):
        return state.dt if state.min_delay == "auto" else state.min_delay

    def description(self) -> nd.STDP:
        """The description's STDP of this mechanism, or NotImplementedError naming what it has none of."""
        return stdp_description(self)


class SpikePairRule(synapses.SpikePairRule):
    __doc__ = synapses.SpikePairRule.__doc__
    translations = identity("tau_plus", "tau_minus", "A_plus", "A_minus")
    traces = "all_to_all"


class SpikeNearestPairRule(synapses.STDPTimingDependence):
    """sPyNNaker's nearest-pair timing rule (``extra_models.SpikeNearestPairRule``): a pre spike pairs
    with the first post spike after it only, each pre spike with the latest post spike before it
    (``neurodeploy.description.plasticity`` spells out its events)."""

    default_parameters = {"tau_plus": 20.0, "tau_minus": 20.0, "A_plus": 0.01, "A_minus": 0.01}
    units = {"tau_plus": "ms", "tau_minus": "ms", "A_plus": "", "A_minus": ""}
    translations = identity(*default_parameters)
    traces = "nearest_spynnaker"

    def __init__(self, tau_plus=20.0, tau_minus=20.0, A_plus=0.01, A_minus=0.01):
        super().__init__(tau_plus=tau_plus, tau_minus=tau_minus, A_plus=A_plus, A_minus=A_minus)


class AdditiveWeightDependence(synapses.AdditiveWeightDependence):
    __doc__ = synapses.AdditiveWeightDependence.__doc__
    translations = identity("w_min", "w_max")
    dependence = "additive"


class MultiplicativeWeightDependence(synapses.MultiplicativeWeightDependence):
    __doc__ = synapses.MultiplicativeWeightDependence.__doc__
    translations = identity("w_min", "w_max")
    dependence = "multiplicative"


TIMING_RULES = (SpikePairRule, SpikeNearestPairRule)
WEIGHT_DEPENDENCES = (AdditiveWeightDependence, MultiplicativeWeightDependence)


def stdp_description(mechanism: STDPMechanism) -> nd.STDP:
    """The description's STDP of a PyNN STDPMechanism, or NotImplementedError naming what it has no
    description of."""
    timing, weight = mechanism.timing_dependence, mechanism.weight_dependence
    if not isinstance(timing, TIMING_RULES):
        raise unsupported(
            f"the STDP timing dependence {type(timing).__name__} (only SpikePairRule, SpikeNearestPairRule)"
        )
    if not isinstance(weight, WEIGHT_DEPENDENCES):
        raise unsupported(
            f"the STDP weight dependence {type(weight).__name__} "
            "(only AdditiveWeightDependence, MultiplicativeWeightDependence)"
        )
    if mechanism.voltage_dependence is not None:
        raise unsupported("a voltage dependence of STDP")
    if mechanism.dendritic_delay_fraction != 1:
        raise unsupported(
            f"dendritic_delay_fraction={mechanism.dendritic_delay_fraction!r} (only 1, as on sPyNNaker: the post "
            "spike is seen after the synaptic delay)"
        )
    values = {
        name: scalar(component, name)
        for component, names in ((timing, ("tau_plus", "tau_minus", "A_plus", "A_minus")), (weight, ("w_min", "w_max")))
        for name in names
    }
    if state.stdp_amplitudes == "pynn" and weight.dependence == "additive":
        values["A_plus"] *= values["w_max"]
        values["A_minus"] *= values["w_max"]
    return nd.STDP(
        **values,
        weight_dependence=weight.dependence,
        semantics=nd.STDPSemantics(traces=timing.traces),
    )


def scalar(component, name: str) -> float:
    value = component.parameter_space[name].base_value
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise unsupported(f"an STDP {name} given as {type(value).__name__} (only a number)")
    return float(value)
