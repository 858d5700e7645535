"""Neuron types: parameter names, units, defaults and bounds, as data (PyNN's standard cells)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.description import values
from neurodeploy.errors import ValidationError


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


@dataclass(eq=False)
class FixedPointLIF:
    """Steps 1-4 of the semantics on integers, as Loihi-class LIF neurons (our Lava processes) run
    them: the arithmetic as a declared meaning, so a float reference can compute it spike for spike.

    With ``S = 1 / v_unit`` (units per mV), ``V - v_rest`` is an integer ``v``; every decay factor
    ``exp(-dt / tau)`` is the fraction ``F = rint(2^c exp(-dt / tau)) / 2^c`` (``c = decay_bits``, ``E``
    the membrane's) and ``v F`` (likewise ``u F``) is truncated toward zero; the synaptic state ``u_x``
    is held as its effect on ``v`` in a tick, ``u = rint(S (1 - E) R I)`` (conductances:
    ``rint(2^k (1 - E) R g)``, ``k = conductance_shift``). Levels are ``rint(S (x - v_rest))``. Per tick:

    1. input: the tick's arriving weights add ``rint(sum of S (1 - E) R init_x w)`` (``2^k`` for ``S``
       onto conductances) to ``u_x``, which then wraps once by ``2^b`` into ``(-2^(b-1), 2^(b-1)]``
       (``b = state_bits``); with ``currents = "combined"`` (Lava's own LIF: one current, equal
       synaptic decays) ``u_exc - u_inh`` is the one current, and ``u_inh`` 0;
    2. integrate, if not refractory: ``v = clip(trunc(v E) + drive + rint(S (1 - E) R i_offset),
       -(2^(b-1) - 1), 2^(b-1) - 1)`` with ``drive = u_exc - u_inh``, or for conductances
       ``trunc(u_exc (e_E - v) / 2^k) + trunc(u_inh (e_I - v) / 2^k)`` (``e``: the reversal levels);
    3. threshold and reset on the levels of ``v_thresh`` and ``v_reset``;
    4. decay: ``u_x = trunc(u_x F_x)``.

    The membrane potential reads ``v_rest + v / S``.
    """

    v_unit: float
    decay_bits: int = 12
    state_bits: int = 24
    conductance_shift: int = 0
    currents: str = "separate"

    KIND = "fixed_point"
    FIELDS = ("v_unit", "decay_bits", "state_bits", "conductance_shift", "currents")

    def validate(self, where: str, population):
        """Check the fields, and that they fit ``population``'s cell type and parameters."""
        where = f"{where} arithmetic"
        self.v_unit = values.number(self.v_unit, "mV", where, "v_unit")
        values.check_range(self.v_unit, where, "v_unit", "mV", above=0)
        for name, lowest, highest in (("decay_bits", 1, 16), ("state_bits", 2, 32), ("conductance_shift", 0, 31)):
            setattr(self, name, values.integer(getattr(self, name), where, name, minimum=lowest, maximum=highest))
        values.choice(self.currents, ("separate", "combined"), where, "currents")
        conductance = population.cell_type == "IF_cond_exp"
        if self.conductance_shift and not conductance:
            raise ValidationError(where, "conductance_shift", f"applies to conductances; {population.cell_type} has none")
        if self.currents == "combined" and (conductance or np.any(population.value("tau_syn_E")
                                                                   != population.value("tau_syn_I"))):
            raise ValidationError(where, "currents", "'combined' needs current-based synapses with equal tau_syn_E "
                                  "and tau_syn_I")

    def to_dict(self) -> dict:
        return {"kind": self.KIND, **{name: getattr(self, name) for name in self.FIELDS}}


@dataclass(eq=False)
class AccumulatorLIF:
    """Steps 1-4 of the semantics on signed fixed-point accumulators, as sPyNNaker's IF_curr_exp and
    IF_cond_exp kernels compute them: the arithmetic as a declared meaning, so a float reference can
    compute it spike for spike.

    Quantities are 32-bit integers of ``2^-f`` (``f = fraction_bits``): V and the levels in mV
    (``rint(2^f x)``), i_offset, the synaptic state ``s_x`` (nA, or ``weight_scale`` times uS), ``R =
    rint(2^f tau_m / cm)`` and ``E = rint(2^f exp(-dt / tau_m))``; synaptic decays ``D_x = rint(2^32
    exp(-dt / tau_x))`` and init factors ``c_x = rint(2^32 init_x)`` are fractions of 2^32. A product
    ``a * b`` is ``floor(a b / 2^f)``; with a fraction of 2^32, ``floor(a d / 2^32)``. Per tick:

    1. input: the weights arriving on a receptor, summed and capped at ``input_limit`` (the ring
       buffer's), add ``floor(rint(2^f weight_scale w) c_x / 2^32)`` to ``s_x``;
    2. integrate, if not refractory: ``I = s_exc - s_inh + i_offset``, or with conductances
       ``g_x = floor(s_x / 2^conductance_shift)``, ``I = g_exc * (e_E - V) - (-g_inh) * (e_I - V) +
       i_offset`` (V the tick's start); ``a = I * R + v_rest``, ``V = a - E * (a - V)``;
    3. threshold and reset on the levels;
    4. decay: ``s_x = floor(s_x D_x / 2^32)``.

    Sums wrap at 32 bits (products do not: a chip's wrap there is reached only near the ends of its
    range; a reference computes them exactly below 2^53, that is for states below about 2^21 units).
    """

    input_limit: dict
    fraction_bits: int = 15
    weight_scale: float = 1.0
    conductance_shift: int = 10

    KIND = "accumulator"
    FIELDS = ("input_limit", "fraction_bits", "weight_scale", "conductance_shift")

    def validate(self, where: str, population):
        where = f"{where} arithmetic"
        values.check_keys(self.input_limit, population.cell.receptors, f"{where} input_limit",
                          required=population.cell.receptors)
        self.input_limit = {receptor: values.number(limit, None, where, f"input_limit.{receptor}")
                            for receptor, limit in self.input_limit.items()}
        for receptor, limit in self.input_limit.items():
            values.check_range(limit, where, f"input_limit.{receptor}", "", above=0)
        self.fraction_bits = values.integer(self.fraction_bits, where, "fraction_bits", minimum=0, maximum=20)
        self.conductance_shift = values.integer(self.conductance_shift, where, "conductance_shift", minimum=0,
                                                maximum=20)
        self.weight_scale = values.number(self.weight_scale, None, where, "weight_scale")
        values.check_range(self.weight_scale, where, "weight_scale", "", above=0)

    def to_dict(self) -> dict:
        return {"kind": self.KIND, **{name: getattr(self, name) for name in self.FIELDS}}


MEMBRANE_ARITHMETICS = {cls.KIND: cls for cls in (FixedPointLIF, AccumulatorLIF)}


def membrane_arithmetic(data, where: str):
    """A population's ``arithmetic`` from its mapping (``kind``: fixed_point, the default, or accumulator)."""
    if isinstance(data, tuple(MEMBRANE_ARITHMETICS.values())):
        return data
    if not isinstance(data, dict):
        raise ValidationError(f"{where} arithmetic", None, f"expected a mapping, got {data!r}")
    kind = values.choice(data.get("kind", FixedPointLIF.KIND), tuple(MEMBRANE_ARITHMETICS), f"{where} arithmetic",
                         "kind")
    cls = MEMBRANE_ARITHMETICS[kind]
    fields = {key: value for key, value in data.items() if key != "kind"}
    values.check_keys(fields, cls.FIELDS, f"{where} arithmetic", required=cls.FIELDS[:1])
    return cls(**fields)
