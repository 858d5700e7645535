"""Neuron types: parameter names, units, defaults and bounds, as data (PyNN's standard cells)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import ClassVar

import numpy as np

from neurodeploy.description import values
from neurodeploy.errors import ValidationError


@dataclass(frozen=True)
class Implausible:
    """Values a quantity may legally take that almost surely come from a unit mistake: those strictly
    between ``low`` and ``high`` (either may be infinite), and the unit they were likely written in, with an
    example of its conversion. They are warned of, not refused."""

    low: float
    high: float
    likely: str

    def found(self, value) -> np.ndarray:
        """Which of ``value`` (a scalar or an array) fall in the window."""
        value = np.asarray(value, dtype=np.float64)
        return (value > self.low) & (value < self.high)


IN_VOLTS = Implausible(-1.0, 0.0, "volts (-0.05 V is -50 mV)")
IN_SECONDS = Implausible(0.0, 0.05, "seconds (0.02 s is 20 ms)")
REFRACTORY_IN_SECONDS = Implausible(0.0, 0.01, "seconds (0.002 s is 2 ms)")
IN_PICOFARADS = Implausible(20.0, np.inf, "picofarads (250 pF is 0.25 nF: write '250 pF')")
IN_FARADS = Implausible(0.0, 1e-4, "farads (250e-12 F is 0.25 nF: write '250 pF')")
IN_PICOAMPERES = (
    Implausible(1e3, np.inf, "picoamperes (500 pA is 0.5 nA: write '500 pA')"),
    Implausible(-np.inf, -1e3, "picoamperes (-500 pA is -0.5 nA: write '-500 pA')"),
)


def implausible_text(window: Implausible, value, unit: str, location: str, items: str = "neurons") -> str | None:
    """The warning for the values of ``value`` in ``window`` (None when there are none): the first one and,
    for one value per item, how many of them."""
    array = np.asarray(value, dtype=np.float64)
    if array.size and (array.max() <= window.low or array.min() >= window.high):  # none inside: no mask made
        return None
    found = window.found(array)
    if not np.any(found):
        return None
    first = float(array[found].flat[0])
    share = f" ({int(found.sum())} of {array.size} {items})" if array.ndim else ""
    return f"{location}: {first:g} {unit}{share} is legal but unusual: written in {window.likely}?"


@dataclass(frozen=True)
class Parameter:
    """What one parameter or initial value of a cell type is: canonical unit, default, bounds, and the
    legal values that are almost surely a unit mistake (``implausible``: warned of, see
    :func:`implausible_values`).

    ``default`` may name another parameter (``"v_rest"``): the initial ``v`` defaults to ``v_rest``.
    """

    unit: str
    default: float | str
    positive: bool = False
    non_negative: bool = False
    implausible: tuple[Implausible, ...] = ()


def parameter(unit: str, default: float | str, *, initial: bool = False, implausible=(), **bounds):
    """A cell type's field: its value (a scalar or one float per neuron) with its spec as metadata.
    A default naming another field is resolved when the cell is checked (the field holds None)."""
    spec = Parameter(
        unit, default, implausible=(implausible,) if isinstance(implausible, Implausible) else implausible, **bounds
    )
    return field(
        default=None if isinstance(default, str) else default,
        metadata={"initial_value" if initial else "parameter": spec},
    )


# --- the parts a cell is composed of (sPyNNaker's builds: neuron model + synapse + input type) -----


@dataclass(frozen=True)
class CurrentInput:
    """Synaptic state is a current (nA) added to the membrane's drive; weights are currents."""

    weight_unit: ClassVar[str] = "nA"
    state: ClassVar[str] = "isyn"  # the initial values' prefix: isyn_exc, isyn_inh
    implausible_weight: ClassVar[Implausible] = IN_PICOAMPERES[0]


@dataclass(frozen=True)
class ConductanceInput:
    """Synaptic state is a conductance (uS) driving towards its receptor's reversal potential with the V
    the tick starts from; weights are conductances."""

    weight_unit: ClassVar[str] = "uS"
    state: ClassVar[str] = "gsyn"
    implausible_weight: ClassVar[Implausible] = Implausible(
        1e2, np.inf, "nanosiemens (500 nS is 0.5 uS: write '500 nS')"
    )
    reversal: ClassVar[dict[str, str]] = {"excitatory": "e_rev_E", "inhibitory": "e_rev_I"}


STATE_SUFFIX = {"excitatory": "exc", "inhibitory": "inh"}
"""Per receptor, the suffix of its synaptic state's initial value (``isyn_exc``)."""

RECORDING_CONVENTIONS = {
    "end_of_tick": (
        "sample t is the state at the end of tick t: V after threshold and reset, the synaptic state after "
        "its decay (what tick t + 1 starts from, before its input)"
    ),
    "spynnaker": (
        "sample t is what sPyNNaker records in tick t: V at the start of the tick (before it integrates), the "
        "synaptic state after the tick's input and before its decay (what step 2 integrates); a conductance "
        "as the chip's input type reads it, ``floor(s / 2^shift)``"
    ),
}
"""When in a tick a recorded ``v`` and synaptic state are sampled: a backend's ``recording`` option names one
(``end_of_tick`` unless it says otherwise); a run's details say which one its traces follow."""


SYNAPTIC_RECORDABLES = {
    f"{state}_{suffix}": receptor for state in ("isyn", "gsyn") for receptor, suffix in STATE_SUFFIX.items()
}
"""Each recordable synaptic state and the receptor whose state it is."""


@dataclass(frozen=True)
class ExponentialSynapse:
    """Per receptor, one synaptic state that arriving weights jump (times ``init``) and that decays by
    ``E_x`` each tick (the semantics' decay of ``tau_syn_x``: ``exp(-dt / tau_syn_x)``, or ``1 - dt /
    tau_syn_x`` under ``euler``).

    A synapse part states its per-tick numbers, so that nothing else reads its parameters: the factor
    arriving weights are scaled by (step 1), the decay (step 4) and the state the first tick starts from.
    """

    time_constants: ClassVar[dict[str, str]] = {"excitatory": "tau_syn_E", "inhibitory": "tau_syn_I"}

    def init_factor(self, cell, receptor: str, semantics):
        """The factor a weight arriving on ``receptor`` is scaled by (a scalar, or one per neuron)."""
        return semantics.init_factor(getattr(cell, self.time_constants[receptor]))

    def decay(self, cell, receptor: str, semantics):
        """The state's factor at the end of a tick."""
        return semantics.decay(getattr(cell, self.time_constants[receptor]))

    def initial_input(self, cell, receptor: str, semantics):
        """The synaptic state the first tick starts from: the initial value itself."""
        return np.asarray(getattr(cell, f"{cell.input.state}_{STATE_SUFFIX[receptor]}"), dtype=np.float64)


@dataclass(frozen=True)
class DeltaSynapse:
    """Per receptor, the charge (nA ms) of the weights arriving in a tick, which drives the membrane as
    the current ``charge / dt`` in that tick only (``init = 1 / dt``) and is then gone (decay 0): input
    arriving while the neuron is refractory is lost. As sPyNNaker's delta synapse and input type."""

    time_constants: ClassVar[dict[str, str]] = {}
    weight_unit: ClassVar[str] = "nA*ms"
    implausible_weight: ClassVar[Implausible] = Implausible(
        1e3, np.inf, "picoampere milliseconds (500 pA ms is 0.5 nA ms)"
    )

    def init_factor(self, cell, receptor: str, semantics):
        return 1.0 / semantics.dt

    def decay(self, cell, receptor: str, semantics):
        return 0.0

    def initial_input(self, cell, receptor: str, semantics):
        """The initial value is a charge present in the first tick: its current."""
        charge = getattr(cell, f"{cell.input.state}_{STATE_SUFFIX[receptor]}")
        return np.asarray(charge, dtype=np.float64) / semantics.dt


@dataclass(frozen=True)
class LeakyIntegrate:
    """The leaky membrane of :mod:`neurodeploy.description.semantics` (steps 2 and 3), with the semantics'
    reset (to ``v_reset``, or by subtraction) and refractoriness."""


@dataclass(frozen=True)
class LeakyMembrane:
    """The leaky membrane's step 2 without step 3: V integrates and leaks, and never spikes or resets (no
    threshold, no refractoriness). A read-out: its V is the output."""


@dataclass(frozen=True)
class PerfectIntegrate:
    """A membrane without leak, the limit of :class:`LeakyIntegrate` as ``tau_m`` grows with ``cm`` fixed.
    Step 2, if not refractory: ``V += (dt / cm) (I_exc - I_inh + i_offset)``, the tick's current held over
    the tick (both discretizations give this); step 3 as :class:`LeakyIntegrate`'s (threshold, reset,
    refractoriness)."""


@dataclass(frozen=True)
class PerfectMembrane:
    """:class:`PerfectIntegrate`'s step 2 without step 3: V integrates without leak and never spikes."""


@dataclass(frozen=True, eq=False)
class CellType:
    """Base of neuron types: a small typed node (NIR's) holding its parameters and initial values, each
    a scalar or one float per neuron, composed of parts (sPyNNaker's builds) that backends lower.

    The meaning per tick is in the subclass's docstring and :mod:`neurodeploy.description.semantics`.
    Its fields may be given as users write them (``"10 ms"``); :meth:`checked` converts and bounds them.
    """

    name: ClassVar[str]
    neuron: ClassVar[object]
    synapse: ClassVar[object]
    input: ClassVar[object]
    receptors: ClassVar[tuple[str, ...]] = ("excitatory", "inhibitory")
    recordables: ClassVar[tuple[str, ...]] = ("spikes", "v")
    """What a run can record of the cell. ``v`` and the synaptic state (``isyn_exc``, ``isyn_inh``: currents in
    nA; ``gsyn_exc``, ``gsyn_inh``: conductances in uS, both as positive magnitudes) are sampled once per tick
    at the moment the run's recording convention names (:data:`RECORDING_CONVENTIONS`)."""

    @classmethod
    def parameter_specs(cls) -> dict[str, Parameter]:
        return {f.name: f.metadata["parameter"] for f in fields(cls) if "parameter" in f.metadata}

    @classmethod
    def initial_value_specs(cls) -> dict[str, Parameter]:
        return {f.name: f.metadata["initial_value"] for f in fields(cls) if "initial_value" in f.metadata}

    @classmethod
    def specs(cls) -> dict[str, Parameter]:
        return {**cls.parameter_specs(), **cls.initial_value_specs()}

    @property
    def weight_unit(self) -> str:
        """The unit of weights onto the cell: the synapse part's if it has one (delta: charges), else the
        input type's."""
        return getattr(self.synapse, "weight_unit", self.input.weight_unit)

    @property
    def implausible_weight(self) -> Implausible:
        """The weights onto the cell that are almost surely a unit mistake (its synapse part's if it has a
        weight unit of its own, else its input type's)."""
        return getattr(self.synapse, "implausible_weight", self.input.implausible_weight)

    @property
    def synaptic_state(self) -> str:
        return self.input.state

    @property
    def parameters(self) -> dict:
        return {name: getattr(self, name) for name in self.parameter_specs()}

    @property
    def initial_values(self) -> dict:
        return {name: getattr(self, name) for name in self.initial_value_specs()}

    @classmethod
    def named_values(cls, parameters: dict, initial_values: dict, where: str) -> dict:
        """Fields from mappings of names to values as a user writes them; unknown names are errors."""
        given = {}
        for group, spec, items in (
            ("parameters", cls.parameter_specs(), parameters),
            ("initial_values", cls.initial_value_specs(), initial_values),
        ):
            if not isinstance(items, dict):
                raise ValidationError(where, group, "expected a mapping of names to values")
            for name, value in items.items():
                if name not in spec:
                    raise ValidationError(
                        where, f"{group}.{name}", f"unknown for {cls.name} (known: {', '.join(spec)})"
                    )
                if value is None:  # None is the "not given" of the fields: refused as any non-number
                    values.number(value, spec[name].unit, where, f"{group}.{name}")
                given[name] = value
        return given

    def check_times(self, semantics, where: str):
        """Check the cell's times against the network's dt: the synapses' time constants must have a
        decay under the discretization (a cell without a synapse part has none)."""
        for name in getattr(getattr(self, "synapse", None), "time_constants", {}).values():
            semantics.check_time_constant(getattr(self, name), where, f"parameters.{name}")

    def implausible_values(self, where: str) -> list[str]:
        """One line per parameter or initial value holding values that are legal but almost surely a unit
        mistake (its spec's ``implausible`` windows), naming it, the first such value and the likely unit."""
        found = []
        for group, spec in (("parameters", self.parameter_specs()), ("initial_values", self.initial_value_specs())):
            for name, parameter in spec.items():
                value = getattr(self, name)
                for window in parameter.implausible:
                    found.append(implausible_text(window, value, parameter.unit, f"{where}, field '{group}.{name}'"))
        return [text for text in found if text]

    def checked(self, where: str, size: int) -> "CellType":
        """This cell with every field a finite float or ``size`` float64s in its unit, within bounds, and
        defaults that name another field resolved."""
        resolved = {}
        for group, spec in (("parameters", self.parameter_specs()), ("initial_values", self.initial_value_specs())):
            for name, parameter in spec.items():
                value = getattr(self, name)
                if value is None and isinstance(parameter.default, str):
                    value = resolved[parameter.default]
                else:
                    value = values.number_or_array(value, parameter.unit, where, f"{group}.{name}", size)
                    if isinstance(value, np.ndarray):  # a fresh array: frozen with the cell (and shared)
                        value.flags.writeable = False
                if parameter.positive:
                    values.check_range(value, where, f"{group}.{name}", parameter.unit, above=0)
                if parameter.non_negative:
                    values.check_range(value, where, f"{group}.{name}", parameter.unit, at_least=0)
                resolved[name] = value
        return replace(self, **resolved)


@dataclass(frozen=True, eq=False)
class LIFParameters(CellType):
    """The leaky integrate-and-fire membrane's parameters."""

    neuron: ClassVar[object] = LeakyIntegrate()

    cm: float | np.ndarray = parameter("nF", 1.0, positive=True, implausible=(IN_PICOFARADS, IN_FARADS))
    tau_m: float | np.ndarray = parameter("ms", 20.0, positive=True, implausible=IN_SECONDS)
    tau_refrac: float | np.ndarray = parameter("ms", 0.1, non_negative=True, implausible=REFRACTORY_IN_SECONDS)
    v_rest: float | np.ndarray = parameter("mV", -65.0, implausible=IN_VOLTS)
    v_reset: float | np.ndarray = parameter("mV", -65.0, implausible=IN_VOLTS)
    v_thresh: float | np.ndarray = parameter("mV", -50.0, implausible=IN_VOLTS)
    i_offset: float | np.ndarray = parameter("nA", 0.0, implausible=IN_PICOAMPERES)

    def check_times(self, semantics, where: str):
        """The refractory period is a whole number of ticks that fits the run's counters; tau_m has a
        decay under the discretization."""
        super().check_times(semantics, where)
        semantics.check_time_constant(self.tau_m, where, "parameters.tau_m")
        semantics.refractory_ticks(np.asarray(self.tau_refrac, dtype=np.float64), where)


@dataclass(frozen=True, eq=False)
class ExponentialSynapseParameters(CellType):
    """The time constants of exponential synapses, one per receptor."""

    synapse: ClassVar[object] = ExponentialSynapse()

    tau_syn_E: float | np.ndarray = parameter("ms", 5.0, positive=True, implausible=IN_SECONDS)
    tau_syn_I: float | np.ndarray = parameter("ms", 5.0, positive=True, implausible=IN_SECONDS)


@dataclass(frozen=True, eq=False)
class IFCurrExp(LIFParameters, ExponentialSynapseParameters):
    """Current-based leaky integrate-and-fire neuron with exponential synapses (PyNN ``IF_curr_exp``).

    Continuous form: ``tau_m dV/dt = v_rest - V + R (I_exc - I_inh + i_offset)``, ``R = tau_m / cm``,
    ``tau_syn_E dI_exc/dt = -I_exc`` (likewise ``I_inh``), spike when ``V`` reaches ``v_thresh``, then
    ``V = v_reset`` and ``V`` held for ``tau_refrac``. The discrete per-tick meaning every backend
    implements is in :mod:`neurodeploy.description.semantics`. Units: mV, nA, ms, nF (R in MOhm).
    Weights onto either receptor are non-negative magnitudes in nA; the receptor gives the sign.
    Recordable: ``isyn_exc``, ``isyn_inh`` (nA), the synaptic currents ``I_exc`` and ``I_inh``, at the end of
    the tick (after step 4's decay) or, recorded as sPyNNaker does, after step 1's input and before the decay
    (:data:`RECORDING_CONVENTIONS`).
    """

    name: ClassVar[str] = "IF_curr_exp"
    input: ClassVar[object] = CurrentInput()
    recordables: ClassVar[tuple[str, ...]] = ("spikes", "v", "isyn_exc", "isyn_inh")

    v: float | np.ndarray = parameter("mV", "v_rest", initial=True, implausible=IN_VOLTS)
    isyn_exc: float | np.ndarray = parameter("nA", 0.0, initial=True)
    isyn_inh: float | np.ndarray = parameter("nA", 0.0, initial=True)


@dataclass(frozen=True, eq=False)
class IFCondExp(LIFParameters, ExponentialSynapseParameters):
    """Conductance-based leaky integrate-and-fire neuron with exponential synaptic conductances (PyNN
    ``IF_cond_exp``).

    Continuous form: ``tau_m dV/dt = v_rest - V + R (g_exc (e_rev_E - V) + g_inh (e_rev_I - V) +
    i_offset)``, ``tau_syn_E dg_exc/dt = -g_exc`` (likewise ``g_inh``); threshold, reset and
    refractoriness as ``IF_curr_exp``. Per tick the conductances stand where ``IF_curr_exp`` has
    currents, driving with the ``V`` the tick starts from (:mod:`neurodeploy.description.semantics`).
    Units: mV, nA, ms, nF, uS (uS x mV = nA). Weights onto either receptor are conductances in uS.
    Recordable: ``gsyn_exc``, ``gsyn_inh`` (uS), the conductances ``g_exc`` and ``g_inh``, at the end of the
    tick (after step 4's decay) or, recorded as sPyNNaker does, after step 1's input and before the decay
    (:data:`RECORDING_CONVENTIONS`).
    """

    name: ClassVar[str] = "IF_cond_exp"
    input: ClassVar[object] = ConductanceInput()
    recordables: ClassVar[tuple[str, ...]] = ("spikes", "v", "gsyn_exc", "gsyn_inh")

    e_rev_E: float | np.ndarray = parameter("mV", 0.0, implausible=IN_VOLTS)
    e_rev_I: float | np.ndarray = parameter("mV", -70.0, implausible=IN_VOLTS)
    v: float | np.ndarray = parameter("mV", "v_rest", initial=True, implausible=IN_VOLTS)
    gsyn_exc: float | np.ndarray = parameter("uS", 0.0, initial=True, non_negative=True)
    gsyn_inh: float | np.ndarray = parameter("uS", 0.0, initial=True, non_negative=True)


@dataclass(frozen=True, eq=False)
class IFCurrDelta(LIFParameters):
    """Leaky integrate-and-fire neuron whose synapses deliver charge at once (PyNN ``IF_curr_delta``, as
    sPyNNaker 7.x computes it: LIF, delta synapse, delta input type): no synaptic current, no tau_syn.

    Per tick (the steps of :mod:`neurodeploy.description.semantics`):

    1. input: ``I_x = q_x / dt``, ``q_x`` the sum of the weights arriving on receptor x this tick
       (charges, nA ms), with the initial ``isyn_x`` present in the first tick;
    2. integrate, if not refractory: ``a = (I_exc - I_inh + i_offset) R + v_rest``,
       ``V = a - E (a - V)``, ``R = tau_m / cm``, ``E`` the semantics' decay of ``tau_m``; otherwise V is
       held;
    3. threshold and reset as ``IF_curr_exp``;
    4. ``q_x = 0``, also while refractory: input arriving then is lost.

    A weight w thus moves V by ``(w / dt) R (1 - E)``, with ``discretization: exact`` ``(w / cm) (tau_m /
    dt) (1 - exp(-dt / tau_m))``,
    which approaches ``w / cm`` (PyNN's "a spike adds its weight to V", weights in mV when cm is 1 nF) as
    dt shrinks against tau_m, and falls a little short of it otherwise: sPyNNaker integrates the charge
    as a current held for the tick, and this is what it computes. In continuous time (Brian2's physics
    mode) the charge q moves V by ``q / cm`` at its arrival. Units: mV, nA, ms, nF; weights and the
    synaptic state are charges in nA ms, written as plain numbers (sPyNNaker takes the same numbers).
    """

    name: ClassVar[str] = "IF_curr_delta"
    synapse: ClassVar[object] = DeltaSynapse()
    input: ClassVar[object] = CurrentInput()

    v: float | np.ndarray = parameter("mV", "v_rest", initial=True, implausible=IN_VOLTS)
    isyn_exc: float | np.ndarray = parameter("nA*ms", 0.0, initial=True)
    isyn_inh: float | np.ndarray = parameter("nA*ms", 0.0, initial=True)


# --- membranes without a threshold or without leak (NIR's LI, CubaLI, IF and I) ----------------------


@dataclass(frozen=True, eq=False)
class LIParameters(CellType):
    """The leaky integrator's parameters: a leaky membrane without threshold, reset or refractoriness."""

    neuron: ClassVar[object] = LeakyMembrane()
    input: ClassVar[object] = CurrentInput()
    recordables: ClassVar[tuple[str, ...]] = ("v",)

    cm: float | np.ndarray = parameter("nF", 1.0, positive=True)
    tau_m: float | np.ndarray = parameter("ms", 20.0, positive=True)
    v_rest: float | np.ndarray = parameter("mV", -65.0)
    i_offset: float | np.ndarray = parameter("nA", 0.0)

    def check_times(self, semantics, where: str):
        super().check_times(semantics, where)
        semantics.check_time_constant(self.tau_m, where, "parameters.tau_m")


@dataclass(frozen=True, eq=False)
class LICurrDelta(LIParameters):
    """Leaky integrator with delta synapses: ``IF_curr_delta`` without threshold, reset and refractory
    period (NIR's ``LI``). It never spikes; its V is its output.

    Per tick: 1. input ``I_x = q_x / dt`` as ``IF_curr_delta``; 2. ``a = (I_exc - I_inh + i_offset) R +
    v_rest``, ``V = a - E (a - V)``, ``R = tau_m / cm``, ``E`` the semantics' decay of ``tau_m``; 3. none;
    4. ``q_x = 0``. Units: mV, nA, ms, nF; weights and the synaptic state are charges in nA ms.
    """

    name: ClassVar[str] = "LI_curr_delta"
    synapse: ClassVar[object] = DeltaSynapse()

    v: float | np.ndarray = parameter("mV", "v_rest", initial=True)
    isyn_exc: float | np.ndarray = parameter("nA*ms", 0.0, initial=True)
    isyn_inh: float | np.ndarray = parameter("nA*ms", 0.0, initial=True)


@dataclass(frozen=True, eq=False)
class LICurrExp(LIParameters, ExponentialSynapseParameters):
    """Leaky integrator with exponential current synapses: ``IF_curr_exp`` without threshold, reset and
    refractory period (NIR's ``CubaLI``). It never spikes; its V is its output.

    Per tick: steps 1, 2 and 4 of ``IF_curr_exp`` (input ``I_x += init_x w``; ``a = (I_exc - I_inh +
    i_offset) R + v_rest``, ``V = a - E (a - V)``; ``I_x *= E_x``), no step 3. Units: mV, nA, ms, nF;
    weights are currents in nA.
    """

    name: ClassVar[str] = "LI_curr_exp"

    v: float | np.ndarray = parameter("mV", "v_rest", initial=True)
    isyn_exc: float | np.ndarray = parameter("nA", 0.0, initial=True)
    isyn_inh: float | np.ndarray = parameter("nA", 0.0, initial=True)


@dataclass(frozen=True, eq=False)
class PerfectParameters(CellType):
    """A membrane without leak: its capacitance and constant current, and delta synapses."""

    synapse: ClassVar[object] = DeltaSynapse()
    input: ClassVar[object] = CurrentInput()

    cm: float | np.ndarray = parameter("nF", 1.0, positive=True)
    i_offset: float | np.ndarray = parameter("nA", 0.0)


@dataclass(frozen=True, eq=False)
class PIFCurrDelta(PerfectParameters):
    """Perfect (non-leaky) integrate-and-fire neuron with delta synapses (NIR's ``IF``: ``dV/dt = I /
    cm``), the limit of ``IF_curr_delta`` as ``tau_m`` grows with ``cm`` fixed.

    Per tick: 1. input ``I_x = q_x / dt`` as ``IF_curr_delta``; 2. if not refractory ``V += (dt / cm)
    (I_exc - I_inh + i_offset)``, so a charge q moves V by ``q / cm`` under both discretizations; otherwise
    V is held; 3. threshold, reset and refractoriness as ``IF_curr_delta``; 4. ``q_x = 0``. V starts at
    ``v_reset`` unless given. Units: mV, nA, ms, nF; weights and the synaptic state are charges in nA ms.
    """

    name: ClassVar[str] = "PIF_curr_delta"
    neuron: ClassVar[object] = PerfectIntegrate()

    tau_refrac: float | np.ndarray = parameter("ms", 0.1, non_negative=True)
    v_reset: float | np.ndarray = parameter("mV", 0.0)
    v_thresh: float | np.ndarray = parameter("mV", 1.0)
    v: float | np.ndarray = parameter("mV", "v_reset", initial=True)
    isyn_exc: float | np.ndarray = parameter("nA*ms", 0.0, initial=True)
    isyn_inh: float | np.ndarray = parameter("nA*ms", 0.0, initial=True)

    def check_times(self, semantics, where: str):
        super().check_times(semantics, where)
        semantics.refractory_ticks(np.asarray(self.tau_refrac, dtype=np.float64), where)


@dataclass(frozen=True, eq=False)
class PICurrDelta(PerfectParameters):
    """Perfect integrator with delta synapses (NIR's ``I``: ``dV/dt = I / cm``): ``PIF_curr_delta``
    without threshold, reset and refractory period. It never spikes; its V is its output.

    Per tick: 1. input ``I_x = q_x / dt``; 2. ``V += (dt / cm) (I_exc - I_inh + i_offset)``; 3. none;
    4. ``q_x = 0``. Units: mV, nA, ms, nF; weights and the synaptic state are charges in nA ms.
    """

    name: ClassVar[str] = "PI_curr_delta"
    neuron: ClassVar[object] = PerfectMembrane()
    recordables: ClassVar[tuple[str, ...]] = ("v",)

    v: float | np.ndarray = parameter("mV", 0.0, initial=True)
    isyn_exc: float | np.ndarray = parameter("nA*ms", 0.0, initial=True)
    isyn_inh: float | np.ndarray = parameter("nA*ms", 0.0, initial=True)


# --- Izhikevich (PyNN ``Izhikevich``, sPyNNaker's ``IZK_curr_exp``) ------------------------------------


@dataclass(frozen=True)
class QuadraticIntegrate:
    """Izhikevich's quadratic membrane with its recovery variable, stepped as sPyNNaker's kernel steps it
    (neuron_model_izh_impl.h): one midpoint (RK2) step of ``h`` per tick, a spike at ``v_thresh`` resets
    ``v`` to ``c``, adds ``d`` to ``u`` and makes the next tick's step ``spike_step`` times longer; no
    refractoriness. The constants are the model's, not parameters (sPyNNaker's, and its fixed threshold).

    On integers of ``2^-f`` (``one = 2^f``; v in mV, u, i_offset and the synaptic state in mV/ms = nA,
    a and b per ms, h in ms: each ``rint(one x)``; a product ``x * y`` is ``floor(x y / one)``, a half
    ``floor(x / 2)``), with ``M = rint(one quadratic)``, ``K = rint(one linear)``, ``C = rint(one constant)``,
    the step ``h = rint(one dt)`` and after a spike ``h * floor(one spike_step)`` (sPyNNaker truncates
    the literal 1.85), the tick's ``I`` and ``h``::

        pre = I + C - U                    alpha = pre + (V * M + K) * V
        eta = V + half(alpha * h)          p = h * a
        beta = half((V * b - U) * p)       (the order sPyNNaker's binary computes, reassociated by GCC)
        V' = V + (pre - beta + (eta * M + K) * eta) * h
        U' = U + (eta * b - (U + beta)) * p

    then ``V' >= rint(one v_thresh)`` spikes: ``V = c``, ``U = U' + d``, the next step ``h * floor(one
    spike_step)``. The arithmetics (:class:`Accumulator`, :class:`FixedPointIzhikevich`) say the rest:
    ``f``, how sums overflow, and the synapses. A neuron that comes alive (neuron turnover) starts at
    ``v = c``, ``u = b c`` and the step ``dt``.
    """

    quadratic: ClassVar[float] = 0.04  # 1/(mV ms)
    linear: ClassVar[float] = 5.0  # 1/ms
    constant: ClassVar[float] = 140.0  # mV/ms
    v_thresh: ClassVar[float] = 30.0  # mV: sPyNNaker's _IZK_THRESHOLD
    spike_step: ClassVar[float] = 1.85  # the step after a spike, in ticks (SIMPLE_TQ_OFFSET)

    def step(self, v, u, current, h, a, b):
        """One midpoint step of ``h`` ms in float64: ``(v', u')``, the formulas of the integer form
        with exact products."""
        pre = current + self.constant - u
        alpha = pre + (self.quadratic * v + self.linear) * v
        eta = v + h * alpha / 2
        beta = (b * v - u) * (h * a) / 2
        return (v + (pre - beta + (self.quadratic * eta + self.linear) * eta) * h, u + (b * eta - (u + beta)) * (h * a))


@dataclass(frozen=True, eq=False)
class Izhikevich(ExponentialSynapseParameters):
    """Izhikevich's neuron with current-based exponential synapses, as sPyNNaker runs PyNN's
    ``Izhikevich`` (``IZK_curr_exp``; PyNN's own has delta synapses, sPyNNaker's ``tau_syn_E/I``).

    Continuous form: ``dv/dt = 0.04 v^2 + 5 v + 140 - u + I``, ``du/dt = a (b v - u)``,
    ``I = I_exc - I_inh + i_offset`` (nA added to mV/ms: no membrane capacitance), synapses as
    ``IF_curr_exp``'s; when ``v`` reaches 30 mV: ``v = c``, ``u += d``. Per tick (the semantics' steps, with
    :class:`QuadraticIntegrate`'s step in float64): 1. input as ``IF_curr_exp``; 2. one midpoint step of
    ``h`` from ``(v, u)`` with that tick's ``I``, ``h = dt``, or ``1.85 dt`` in the tick after a spike; 3.
    ``v >= 30`` (the semantics' comparison) spikes: ``v = c``, ``u += d`` (no reset by subtraction: a
    backend refuses ``reset: subtract``); no refractoriness; 4. decay as
    ``IF_curr_exp``. Units: mV, ms, nA; a and b per ms, d in mV/ms (PyNN's). Recordable: ``isyn_exc``,
    ``isyn_inh`` as ``IF_curr_exp``'s.
    """

    name: ClassVar[str] = "Izhikevich"
    neuron: ClassVar[object] = QuadraticIntegrate()
    input: ClassVar[object] = CurrentInput()
    recordables: ClassVar[tuple[str, ...]] = ("spikes", "v", "isyn_exc", "isyn_inh")

    a: float | np.ndarray = parameter("1/ms", 0.02)
    b: float | np.ndarray = parameter("1/ms", 0.2)
    c: float | np.ndarray = parameter("mV", -65.0, implausible=IN_VOLTS)
    d: float | np.ndarray = parameter("mV/ms", 2.0)
    i_offset: float | np.ndarray = parameter("nA", 0.0, implausible=IN_PICOAMPERES)
    v: float | np.ndarray = parameter("mV", -70.0, initial=True, implausible=IN_VOLTS)
    u: float | np.ndarray = parameter("mV/ms", -14.0, initial=True)
    isyn_exc: float | np.ndarray = parameter("nA", 0.0, initial=True)
    isyn_inh: float | np.ndarray = parameter("nA", 0.0, initial=True)


CELL_TYPES: dict[str, type[CellType]] = {
    cls.name: cls
    for cls in (IFCurrExp, IFCondExp, IFCurrDelta, Izhikevich, LICurrDelta, LICurrExp, PIFCurrDelta, PICurrDelta)
}


@dataclass(eq=False)
class FixedPointLIF:
    """Steps 1-4 of the semantics on integers, as Loihi-class LIF neurons (our Lava processes) run
    them: the arithmetic as a declared meaning, so a float reference can compute it spike for spike.

    With ``S = 1 / v_unit`` (units per mV), ``V - v_rest`` is an integer ``v``; every decay factor
    ``D`` of the semantics (``Semantics.decay``: ``exp(-dt / tau)``, or ``1 - dt / tau`` under ``euler``)
    is the fraction ``F = rint(2^c D) / 2^c`` (``c = decay_bits``, ``E`` the membrane's) and ``v F``
    (likewise ``u F``) is truncated toward zero; the synaptic state ``u_x`` is held as its effect on ``v``
    in a tick, ``u = rint(S (1 - E) R I)`` (conductances: ``rint(2^k (1 - E) R g)``,
    ``k = conductance_shift``). Levels are ``rint(S (x - v_rest))``. Per tick:

    1. input: the tick's arriving weights add ``rint(sum of S (1 - E) R init_x w)`` (``2^k`` for ``S``
       onto conductances) to ``u_x``, which then wraps once by ``2^b`` into ``(-2^(b-1), 2^(b-1)]``
       (``b = state_bits``); with ``currents = "combined"`` (Lava's own LIF: one current, equal
       synaptic decays) ``u_exc - u_inh`` is the one current, and ``u_inh`` 0;
    2. integrate, if not refractory: ``v = clip(trunc(v E) + drive + rint(S (1 - E) R i_offset),
       -(2^(b-1) - 1), 2^(b-1) - 1)`` with ``drive = u_exc - u_inh``, or for conductances
       ``trunc(u_exc (e_E - v) / 2^k) + trunc(u_inh (e_I - v) / 2^k)`` (``e``: the reversal levels);
    3. threshold and reset on the levels of ``v_thresh`` and ``v_reset``: ``v`` compared with the
       threshold level by the semantics' threshold, then ``v = level(v_reset)``, or under ``reset:
       subtract`` ``v -= level(v_thresh) - level(v_reset)``;
    4. decay: ``u_x = trunc(u_x F_x)``.

    The synapse part gives ``init_x`` and the decay ``D_x``: a delta synapse ``1 / dt`` and 0 (``F_x = 0``).
    Without a threshold (:class:`LeakyMembrane`) there is no step 3; without leak (:class:`PerfectIntegrate`,
    :class:`PerfectMembrane`) ``E = 1`` (``F = 1``: v is kept whole), ``(1 - E) R`` is replaced by ``dt / cm``
    and levels are ``rint(S x)`` (our Lava processes compute these; the Brian2 reference not yet).

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
        if not isinstance(population.cell.neuron, LeakyIntegrate):
            raise ValidationError(
                where,
                "kind",
                f"fixed_point is the arithmetic of leaky integrate-and-fire neurons; "
                f"{population.cell_type} is not one (Izhikevich: fixed_point_izhikevich)",
            )
        conductance = isinstance(population.cell.input, ConductanceInput)
        if self.conductance_shift and not conductance:
            raise ValidationError(
                where, "conductance_shift", f"applies to conductances; {population.cell_type} has none"
            )
        if self.currents == "combined" and (conductance or not _equal_time_constants(population)):
            raise ValidationError(
                where,
                "currents",
                "'combined' needs current-based synapses with equal "
                + " and ".join(population.cell.synapse.time_constants.values()),
            )

    def to_dict(self) -> dict:
        return {"kind": self.KIND, **{name: getattr(self, name) for name in self.FIELDS}}


@dataclass(eq=False)
class Accumulator:
    """Steps 1-4 of the semantics on signed fixed-point accumulators, as sPyNNaker's kernels compute them:
    the arithmetic as a declared meaning, so a float reference can compute it spike for spike. Below, the
    LIF's step 2 (IF_curr_exp, IF_cond_exp); a cell type with another neuron model states its step on
    these integers in its neuron part's docstring.

    Quantities are 32-bit integers of ``2^-f`` (``f = fraction_bits``): V and the levels in mV
    (``rint(2^f x)``), i_offset, the synaptic state ``s_x`` (nA, or ``weight_scale`` times uS), ``R =
    rint(2^f tau_m / cm)`` and ``E = rint(2^f E_m)``; synaptic decays ``D_x = rint(2^32 E_x)`` and init
    factors ``c_x = rint(2^32 init_x)`` are fractions of 2^32 (``E`` the semantics' decays: ``exp(-dt /
    tau)``, or ``1 - dt / tau`` under ``euler``). A product
    ``a * b`` is ``floor(a b / 2^f)``; with a fraction of 2^32, ``floor(a d / 2^32)``. Per tick:

    1. input: the weights arriving on a receptor, summed and capped at ``input_limit`` (the ring
       buffer's), add ``floor(rint(2^f weight_scale w) c_x / 2^32)`` to ``s_x``;
    2. integrate, if not refractory: ``I = s_exc - s_inh + i_offset``, or with conductances
       ``g_x = floor(s_x / 2^conductance_shift)``, ``I = g_exc * (e_E - V) - (-g_inh) * (e_I - V) +
       i_offset`` (V the tick's start); ``a = I * R + v_rest``, ``V = a - E * (a - V)``;
    3. threshold and reset on the levels (by subtraction: ``V -= level(v_thresh) - level(v_reset)``);
    4. decay: ``s_x = floor(s_x D_x / 2^32)``.

    With a delta synapse (``IF_curr_delta``, sPyNNaker's delta input type), step 1 adds ``rint(2^f
    weight_scale w)`` (no ``c_x``), step 2's synaptic current is ``s_exc * sf - s_inh * sf`` with ``sf =
    floor(2^(2f) / rint(2^f dt))`` (1/dt as the chip divides it), and step 4 sets ``s_x = 0``.

    A membrane without a threshold (:class:`LeakyMembrane`) has no step 3 and no refractoriness; one
    without leak (:class:`PerfectIntegrate`, :class:`PerfectMembrane`) has step 2 ``V = V + I * G``,
    ``G = rint(2^f dt / cm)`` (the SpiNNaker emulation computes these; the Brian2 reference not yet).

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
        values.check_keys(
            self.input_limit, population.cell.receptors, f"{where} input_limit", required=population.cell.receptors
        )
        self.input_limit = {
            receptor: values.number(limit, None, where, f"input_limit.{receptor}")
            for receptor, limit in self.input_limit.items()
        }
        for receptor, limit in self.input_limit.items():
            values.check_range(limit, where, f"input_limit.{receptor}", "", above=0)
        self.fraction_bits = values.integer(self.fraction_bits, where, "fraction_bits", minimum=0, maximum=20)
        self.conductance_shift = values.integer(
            self.conductance_shift, where, "conductance_shift", minimum=0, maximum=20
        )
        self.weight_scale = values.number(self.weight_scale, None, where, "weight_scale")
        values.check_range(self.weight_scale, where, "weight_scale", "", above=0)

    def to_dict(self) -> dict:
        return {"kind": self.KIND, **{name: getattr(self, name) for name in self.FIELDS}}


def _equal_time_constants(population) -> bool:
    """Do the receptors' synapses share their time constants (the synapse part's), neuron by neuron?"""
    time_constants = [population.value(name) for name in population.cell.synapse.time_constants.values()]
    return all(np.array_equal(tau, time_constants[0]) for tau in time_constants)


MEMBRANE_ARITHMETICS = {cls.KIND: cls for cls in (FixedPointLIF, Accumulator)}


def membrane_arithmetic(data, where: str):
    """A population's ``arithmetic`` from its mapping (``kind``: fixed_point, the default, accumulator or
    fixed_point_izhikevich)."""
    if isinstance(data, tuple(MEMBRANE_ARITHMETICS.values())):
        return data
    if not isinstance(data, dict):
        raise ValidationError(f"{where} arithmetic", None, f"expected a mapping, got {data!r}")
    kind = values.choice(
        data.get("kind", FixedPointLIF.KIND), tuple(MEMBRANE_ARITHMETICS), f"{where} arithmetic", "kind"
    )
    cls = MEMBRANE_ARITHMETICS[kind]
    fields = {key: value for key, value in data.items() if key != "kind"}
    values.check_keys(fields, cls.FIELDS, f"{where} arithmetic", required=cls.FIELDS[:1])
    return cls(**fields)


# --- Izhikevich on Loihi-class integers (our Lava process) -------------------------------------------


@dataclass(eq=False)
class FixedPointIzhikevich:
    """:class:`QuadraticIntegrate`'s integer form in the widths of a Loihi-class neuron (our Lava
    process, which a Loihi 2 would run as microcode): the arithmetic as a declared meaning, so a float
    reference can compute it spike for spike.

    V, U, the levels, i_offset and the synaptic states ``s_x`` are integers of ``2^-f`` (``f =
    fraction_bits``); every decay (the semantics' decay of ``tau_x``: ``exp(-dt / tau_x)``, or ``1 - dt /
    tau_x`` under ``euler``) is the fraction ``F = rint(2^c decay) / 2^c`` (``c = decay_bits``) and ``s F``
    is truncated toward zero; ``V`` and ``U`` are held within
    ``b = state_bits`` signed bits. Per tick:

    1. input: the tick's arriving weights add ``rint(sum of 2^f init_x w)`` to ``s_x``, which then wraps
       once by ``2^b`` into ``(-2^(b-1), 2^(b-1)]``;
    2. integrate: :class:`QuadraticIntegrate`'s step with ``I = s_exc - s_inh + i_offset``, its
       intermediates exact, then ``V'`` and ``U'`` clipped to ``+-(2^(b-1) - 1)``;
    3. threshold and reset as :class:`QuadraticIntegrate` says (``U + d`` clipped likewise);
    4. decay: ``s_x = trunc(s_x F_x)``.

    The membrane potential reads ``V / 2^f``.
    """

    fraction_bits: int
    decay_bits: int = 12
    state_bits: int = 24

    KIND = "fixed_point_izhikevich"
    FIELDS = ("fraction_bits", "decay_bits", "state_bits")

    def validate(self, where: str, population):
        where = f"{where} arithmetic"
        for name, lowest, highest in (("fraction_bits", 1, 20), ("decay_bits", 1, 16), ("state_bits", 2, 32)):
            setattr(self, name, values.integer(getattr(self, name), where, name, minimum=lowest, maximum=highest))
        if not isinstance(population.cell.neuron, QuadraticIntegrate):
            raise ValidationError(where, "kind", f"{self.KIND} is Izhikevich's; {population.cell_type} is not")

    def to_dict(self) -> dict:
        return {"kind": self.KIND, **{name: getattr(self, name) for name in self.FIELDS}}


MEMBRANE_ARITHMETICS[FixedPointIzhikevich.KIND] = FixedPointIzhikevich
