"""Neuron types: parameter names, units, defaults and bounds, as data (PyNN's standard cells)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Parameter:
    """One parameter or initial value: canonical unit, default and what makes it valid.

    ``default`` may name another parameter (``"v_rest"``): the initial ``v`` defaults to ``v_rest``.
    """

    unit: str
    default: float | str
    positive: bool = False
    non_negative: bool = False


class CellType:
    """Base of neuron types; subclasses are pure data plus a docstring with their equations."""

    name: str
    parameters: dict[str, Parameter]
    initial_values: dict[str, Parameter]
    synaptic_state: str  # the initial values' prefix of the synaptic state: isyn_exc, isyn_inh, ...


class IFCurrExp(CellType):
    """Current-based leaky integrate-and-fire neuron with exponential synapses (PyNN ``IF_curr_exp``).

    Continuous form: ``tau_m dV/dt = v_rest - V + R (I_exc - I_inh + i_offset)``, ``R = tau_m / cm``,
    ``tau_syn_E dI_exc/dt = -I_exc`` (likewise ``I_inh``), spike when ``V`` reaches ``v_thresh``, then
    ``V = v_reset`` and ``V`` held for ``tau_refrac``. The discrete per-tick meaning every backend
    implements is in :mod:`neurodeploy.description.semantics`. Units: mV, nA, ms, nF (R in MOhm).
    Weights onto either receptor are non-negative magnitudes in nA; the receptor gives the sign.
    """

    name = "IF_curr_exp"
    parameters = {
        "cm": Parameter("nF", 1.0, positive=True),
        "tau_m": Parameter("ms", 20.0, positive=True),
        "tau_refrac": Parameter("ms", 0.1, non_negative=True),
        "tau_syn_E": Parameter("ms", 5.0, positive=True),
        "tau_syn_I": Parameter("ms", 5.0, positive=True),
        "v_rest": Parameter("mV", -65.0),
        "v_reset": Parameter("mV", -65.0),
        "v_thresh": Parameter("mV", -50.0),
        "i_offset": Parameter("nA", 0.0),
    }
    initial_values = {
        "v": Parameter("mV", "v_rest"),
        "isyn_exc": Parameter("nA", 0.0),
        "isyn_inh": Parameter("nA", 0.0),
    }
    receptors = ("excitatory", "inhibitory")
    recordables = ("spikes", "v")
    weight_unit = "nA"
    synaptic_state = "isyn"


class IFCondExp(CellType):
    """Conductance-based leaky integrate-and-fire neuron with exponential synaptic conductances (PyNN
    ``IF_cond_exp``).

    Continuous form: ``tau_m dV/dt = v_rest - V + R (g_exc (e_rev_E - V) + g_inh (e_rev_I - V) +
    i_offset)``, ``tau_syn_E dg_exc/dt = -g_exc`` (likewise ``g_inh``); threshold, reset and
    refractoriness as ``IF_curr_exp``. Per tick the conductances stand where ``IF_curr_exp`` has
    currents, driving with the ``V`` the tick starts from (:mod:`neurodeploy.description.semantics`).
    Units: mV, nA, ms, nF, uS (uS x mV = nA). Weights onto either receptor are conductances in uS.
    """

    name = "IF_cond_exp"
    parameters = {**IFCurrExp.parameters,
                  "e_rev_E": Parameter("mV", 0.0),
                  "e_rev_I": Parameter("mV", -70.0)}
    initial_values = {
        "v": Parameter("mV", "v_rest"),
        "gsyn_exc": Parameter("uS", 0.0, non_negative=True),
        "gsyn_inh": Parameter("uS", 0.0, non_negative=True),
    }
    receptors = ("excitatory", "inhibitory")
    recordables = ("spikes", "v")
    weight_unit = "uS"
    synaptic_state = "gsyn"


CELL_TYPES: dict[str, type[CellType]] = {cls.name: cls for cls in (IFCurrExp, IFCondExp)}
