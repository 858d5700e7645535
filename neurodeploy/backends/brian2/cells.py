"""Everything a cell type means on Brian2, as registrations found through the class hierarchy (Nengo's
builder registry): a new cell type on Brian2 is new registrations here, nothing elsewhere. Each
registration states the parts it computes (``neuron=LeakyIntegrate``, ...): a subclass composed of another
part is refused, not lowered as its base.

Where each cell type's per-tick code is:

- ``IF_curr_exp`` and ``IF_cond_exp`` (:class:`LIFParameters`: leaky membrane, exponential synapses, an
  input type; they differ in the input type only):

  - physics mode, the continuous-time equations: :func:`lif_physics` (in ``PHYSICS``);
  - discrete mode in float64: :func:`lif_float` (in ``FLOAT``);
  - discrete mode on :class:`FixedPointLIF`'s integers: :func:`lif_fixed_point` (in ``FIXED_POINT``);
  - discrete mode on :class:`Accumulator`'s integers: :func:`lif_accumulator` (in ``ACCUMULATOR``).

- ``IF_curr_delta`` (:class:`LIFParameters` with a delta synapse): float64 and FixedPointLIF by the LIF
  membranes above (its synapse part's init and decay do it); physics mode :func:`delta_physics` (V jumps
  by the charge over cm); Accumulator :func:`delta_accumulator` (sPyNNaker's 1/dt scaling after the sum).

- ``Izhikevich`` (:class:`QuadraticIntegrate`, exponential current synapses): physics mode
  :func:`izhikevich_physics`; discrete mode in float64 :func:`izhikevich_float`, on Accumulator's integers
  :func:`izhikevich_accumulator` (sPyNNaker's kernel) and on :class:`FixedPointIzhikevich`'s (our Lava
  process's, in ``FIXED_POINT_IZHIKEVICH``) :func:`izhikevich_fixed_point`.

- ``LI_curr_delta`` and ``LI_curr_exp`` (:class:`LeakyMembrane`), ``PIF_curr_delta`` and
  ``PI_curr_delta`` (:class:`PerfectIntegrate`, :class:`PerfectMembrane`): float64 only,
  :func:`leaky_membrane_float` and :func:`perfect_float`; a membrane that never spikes has no threshold.

- Input types (sPyNNaker's ``input_types``), looked up on ``cell.input`` in ``INPUTS``: ``CurrentInput``
  is :class:`CurrentDrive`, ``ConductanceInput`` :class:`ConductanceDrive`. Each holds the membrane's drive
  in float64 (both modes) and in each integer arithmetic, and the reversal potentials it keeps as constants.
  A membrane above takes its drive from there, never from a flag.

A discrete-mode membrane is a :class:`Membrane`: its Brian2 variables, threshold, reset and the per-tick
code that ``discrete.neuron_group`` runs in Brian2's ``groups`` slot (steps 2 and 4 of
:mod:`neurodeploy.description.semantics`; step 1 too where the arithmetic moves the input itself). Its
input arrives in ``syn_exc`` / ``syn_inh``, to which projections add ``init_x w``; the group declares
these for every cell. The membrane found for a population is ``ARITHMETICS`` (its arithmetic, float64 for
none) then that registry's entry for its cell type.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Callable

import brian2 as b2
import numpy as np

from neurodeploy.backends import LoweringRegistry
from neurodeploy.backends.brian2.context import RECEPTOR_VARIABLE, BuildContext
from neurodeploy.backends.brian2.fixed_point import FRACTION_32, integer_functions, signed_wrap
from neurodeploy.description import Population
from neurodeploy.description.cells import (
    Accumulator,
    ConductanceInput,
    CurrentInput,
    DeltaSynapse,
    ExponentialSynapse,
    FixedPointIzhikevich,
    FixedPointLIF,
    IFCurrDelta,
    Izhikevich,
    LeakyIntegrate,
    LeakyMembrane,
    LIFParameters,
    LIParameters,
    PerfectIntegrate,
    PerfectMembrane,
    PICurrDelta,
    PIFCurrDelta,
    QuadraticIntegrate,
)
from neurodeploy.errors import ValidationError

PHYSICS = LoweringRegistry("brian2 (physics)")
"""Cell type -> ``(population, context, name) -> (NeuronGroup, extra objects)``."""

FLOAT = LoweringRegistry("brian2 (discrete)")
FIXED_POINT = LoweringRegistry("brian2 (discrete, FixedPointLIF arithmetic)")
ACCUMULATOR = LoweringRegistry("brian2 (discrete, Accumulator arithmetic)")
"""Per arithmetic, cell type -> ``(population, semantics) -> Membrane``."""

ARITHMETICS = LoweringRegistry("brian2 (discrete)")
ARITHMETICS.register(type(None))(FLOAT)
ARITHMETICS.register(FixedPointLIF)(FIXED_POINT)
ARITHMETICS.register(Accumulator)(ACCUMULATOR)

INPUTS = LoweringRegistry("brian2")
"""Input type (``cell.input``) -> its :class:`InputDrive`."""


@dataclass(frozen=True)
class Membrane:
    """A cell in the discrete mode: what its group holds besides its input, and its per-tick code."""

    equations: str
    threshold: tuple[str, str] | None  # the variable compared and the level it is compared with; None: never spikes
    reset: str
    update: str
    namespace: dict
    initialise: Callable[[b2.NeuronGroup], None]  # sets the group from the population
    at_rest: dict  # variable -> expression: a revived neuron's state (its input is emptied by the group)
    synaptic_reading: str | None = "syn_{x}"
    """The synaptic state of receptor ``x`` in the cell's unit (nA or uS), as a Brian2 expression of the
    group's variables; None where the arithmetic holds one combined current."""
    offset: tuple[str, object] | None = ("i_offset", None)
    """Where injected currents join ``i_offset``: the variable holding it and, on integers, its units per
    nA (a number, or one per neuron; each source's amplitude of the tick is rounded to them, as a chip holds
    each source's value); None where the arithmetic cannot take them."""


def membrane_lowering(population: Population) -> Callable[..., Membrane]:
    """The function making the population's membrane, for its arithmetic and cell type."""
    return ARITHMETICS.lookup(population.arithmetic).lookup(population.cell)


def constants(*names: str) -> str:
    """Brian2 declarations of per-neuron constants."""
    return "".join(f"{name} : 1 (constant)\n" for name in names)


def wrap32(expression: str) -> str:
    return signed_wrap(expression, 32)


# --- input types: what a synaptic state adds to the membrane's drive ------------------------------


class InputDrive(abc.ABC):
    """What an input type adds to a membrane's drive, in every arithmetic a membrane runs in."""

    drive: str
    """float64: the input current from ``syn_exc``, ``syn_inh``, ``v`` and the cell's parameters."""
    method: str
    """Brian2's integration method for the physics mode's equations with this drive."""
    reversal: dict[str, str]
    """The reversal potentials kept as constants: integer membranes hold a level (the key) of each
    parameter (the value), float64 ones the parameter itself."""

    @abc.abstractmethod
    def fixed_point_drive(self, arithmetic: FixedPointLIF) -> str:
        """FixedPointLIF step 2's ``drive``, from ``syn_x`` (u) and ``v_int``."""

    @abc.abstractmethod
    def fixed_point_units(self, arithmetic: FixedPointLIF) -> float:
        """``syn_x`` per (1 - E) R times the synaptic state: S, or 2^k for conductances."""

    @abc.abstractmethod
    def accumulator_current(self, arithmetic: Accumulator) -> str:
        """Accumulator step 2's synaptic part of ``I``, from ``s_x`` and ``v_bits``."""

    @abc.abstractmethod
    def accumulator_reading(self, arithmetic: Accumulator) -> str:
        """The synaptic state ``s_{x}`` as the input type reads it, in the cell's unit (a template of ``x``)."""


class CurrentDrive(InputDrive):
    """Synaptic currents add to the drive (sPyNNaker's ``input_type_current``)."""

    drive = "syn_exc - syn_inh + i_offset"
    method = "exact"  # the equations are linear
    reversal = {}

    def fixed_point_drive(self, arithmetic: FixedPointLIF) -> str:
        return "syn_exc - syn_inh"

    def fixed_point_units(self, arithmetic: FixedPointLIF) -> float:
        return 1.0 / arithmetic.v_unit

    def accumulator_current(self, arithmetic: Accumulator) -> str:
        return "s_exc - s_inh"

    def accumulator_reading(self, arithmetic: Accumulator) -> str:
        return f"s_{{x}} * lsb / {arithmetic.weight_scale!r}"


class ConductanceDrive(InputDrive):
    """Synaptic conductances drive towards their reversal potentials with the V the tick starts from
    (sPyNNaker's ``input_type_conductance``)."""

    drive = (
        "".join(
            f"syn_{x} * ({ConductanceInput.reversal[receptor]} - v) + " for receptor, x in RECEPTOR_VARIABLE.items()
        )
        + "i_offset"
    )
    method = "rk4"  # the membrane equation is bilinear in v and g
    reversal = {f"e_{x}": ConductanceInput.reversal[receptor] for receptor, x in RECEPTOR_VARIABLE.items()}

    def fixed_point_drive(self, arithmetic: FixedPointLIF) -> str:
        shift = 2**arithmetic.conductance_shift
        return f"truncated(syn_exc * (e_exc - v_int) / {shift}) + truncated(syn_inh * (e_inh - v_int) / {shift})"

    def fixed_point_units(self, arithmetic: FixedPointLIF) -> float:
        return 2.0**arithmetic.conductance_shift

    def accumulator_current(self, arithmetic: Accumulator) -> str:
        one, shift = 2**arithmetic.fraction_bits, 2**arithmetic.conductance_shift
        return (
            f"whole(whole(s_exc / {shift}) * {wrap32('e_exc - v_bits')} / {one})"
            f" - whole(-whole(s_inh / {shift}) * {wrap32('e_inh - v_bits')} / {one})"
        )

    def accumulator_reading(self, arithmetic: Accumulator) -> str:
        """``g = floor(s / 2^shift)``, as the drive reads it."""
        return f"whole(s_{{x}} / {2**arithmetic.conductance_shift}) * lsb"


INPUTS.register(CurrentInput)(CurrentDrive())
INPUTS.register(ConductanceInput)(ConductanceDrive())


def set_synaptic_state(group: b2.NeuronGroup, population: Population, semantics):
    """``syn_exc`` / ``syn_inh``: the synaptic state the first tick starts from (currents or conductances)."""
    for receptor, x in RECEPTOR_VARIABLE.items():
        setattr(group, f"syn_{x}", population.initial_input(receptor, semantics))


# --- IF_curr_exp, IF_cond_exp: leaky integrate-and-fire, exponential synapses ------------------------


@PHYSICS.register(LIFParameters, neuron=LeakyIntegrate, synapse=ExponentialSynapse)
def lif_physics(population: Population, context: BuildContext, name: str) -> tuple[b2.NeuronGroup, list]:
    drive = INPUTS.lookup(population.cell.input)
    time_constants = population.cell.synapse.time_constants
    parameters = (
        "tau_m",
        *time_constants.values(),
        "tau_refrac",
        "v_rest",
        "v_reset",
        "v_thresh",
        "i_offset",
        *drive.reversal.values(),
    )
    group = b2.NeuronGroup(
        population.size,
        f"""
        dv/dt = (v_rest - v + resistance * ({drive.drive})) / (tau_m * ms) : 1 (unless refractory)
        resistance : 1 (constant)
        """
        + "".join(
            f"dsyn_{x}/dt = -syn_{x} / ({time_constants[receptor]} * ms) : 1\n"
            for receptor, x in RECEPTOR_VARIABLE.items()
        )
        + "\n".join(f"{name} : 1 (constant)" for name in parameters),
        threshold=f"v {context.network.semantics.threshold} v_thresh",
        reset=physics_reset(context.network.semantics),
        refractory="tau_refrac * ms",
        method=drive.method,
        clock=context.clock,
        name=name,
        namespace={"ms": b2.ms},
    )
    for variable in parameters + ("v",):
        setattr(group, variable, population.value(variable))
    set_synaptic_state(group, population, context.network.semantics)
    group.resistance = population.value("tau_m") / population.value("cm")
    return group, []


def physics_reset(semantics) -> str:
    """The LIF's reset in the physics mode, as the semantics declare it."""
    return "v -= v_thresh - v_reset" if semantics.reset == "subtract" else "v = v_reset"


LIF_STATE = """
refractory_left : integer
refractory_ticks : integer (constant)
v_rest : 1 (constant)
"""
"""What every LIF membrane holds besides its own variables: the integer refractory counter (ticks V is
still held) and v_rest."""


def lif_reset(semantics, variable: str, threshold: str, reset: str) -> str:
    """Step 3's reset of ``variable`` (``threshold`` and ``reset`` its levels), and the refractory count."""
    lowered = f"{variable} -= {threshold} - {reset}" if semantics.reset == "subtract" else f"{variable} = {reset}"
    return f"{lowered}\nrefractory_left = refractory_ticks\n"


def refuse_subtraction(population: Population, semantics):
    """Izhikevich's reset sets v to c and adds d to u: there is no reset by subtraction to lower."""
    if semantics.reset == "subtract":
        raise ValidationError(
            f"population '{population.label}'",
            "semantics.reset",
            f"{population.cell_type} resets v to c; 'subtract' is defined for leaky integrate-and-fire cells",
        )


def initialise_lif(group: b2.NeuronGroup, population: Population, semantics):
    group.v_rest = population.value("v_rest")
    group.refractory_ticks = semantics.refractory_ticks(population.value("tau_refrac"))


@FLOAT.register(LIFParameters, neuron=LeakyIntegrate)
def lif_float(population: Population, semantics) -> Membrane:
    """Steps 2 and 4 in float64. (x * 1 + y * 0) is exactly x in float64: the held V is bit-identical."""
    drive = INPUTS.lookup(population.cell.input)
    reversal = tuple(drive.reversal.values())

    def initialise(group):
        value = population.value
        initialise_lif(group, population, semantics)
        for variable in ("v_reset", "v_thresh", "i_offset", "v", *reversal):
            setattr(group, variable, value(variable))
        set_synaptic_state(group, population, semantics)
        group.resistance = value("tau_m") / value("cm")
        group.decay_m = semantics.decay(value("tau_m"))
        for receptor, x in RECEPTOR_VARIABLE.items():
            setattr(group, f"decay_{x}", population.synaptic_decay(receptor, semantics))
            setattr(group, f"init_{x}", population.init_factor(receptor, semantics))

    return Membrane(
        LIF_STATE
        + "v : 1\n"
        + constants("v_reset", "v_thresh", "i_offset", "resistance", "decay_m", "decay_exc", "decay_inh", *reversal),
        ("v", "v_thresh"),
        lif_reset(semantics, "v", "v_thresh", "v_reset"),
        f"""
        integrating = int(refractory_left <= 0)
        a = ({drive.drive}) * resistance + v_rest
        v = (a - decay_m * (a - v)) * integrating + v * (1 - integrating)
        refractory_left -= 1 - integrating
        syn_exc *= decay_exc
        syn_inh *= decay_inh
        """,
        {},
        initialise,
        {"v": "v_rest", "refractory_left": "0"},
    )


def wrapped_state(half: int) -> str:
    """Step 1's wrap of the synaptic state on a Loihi-class chip: ``syn_x`` rounded to a whole number of
    units, wrapped once into ``(-half, half]``."""
    return "".join(
        f"""
        syn_{x} = nearest(syn_{x})
        syn_{x} += {2 * half} * (int(syn_{x} <= {-half}) - int(syn_{x} > {half}))"""
        for x in RECEPTOR_VARIABLE.values()
    )


@FIXED_POINT.register(LIFParameters, neuron=LeakyIntegrate)
def lif_fixed_point(population: Population, semantics) -> Membrane:
    """Steps 2 and 4 of :class:`FixedPointLIF` (step 1's wrap first). ``v_int`` holds V - v_rest in units,
    ``syn_x`` the synaptic state as u, whole numbers up to float error until the wrap rounds them."""
    arithmetic, cell = population.arithmetic, population.cell
    drive = INPUTS.lookup(cell.input)
    unity, half = 2**arithmetic.decay_bits, 2 ** (arithmetic.state_bits - 1)
    synaptic = drive.fixed_point_drive(arithmetic)
    combined = arithmetic.currents == "combined"  # one current: syn_exc holds u_exc - u_inh
    wrap = ("\n        syn_exc = syn_exc - syn_inh\n        syn_inh = 0" if combined else "") + wrapped_state(half)

    def initialise(group):
        value, scale = population.value, 1.0 / arithmetic.v_unit
        initialise_lif(group, population, semantics)
        keep_m = np.rint(unity * semantics.decay(value("tau_m")))
        gain = (1.0 - keep_m / unity) * value("tau_m") / value("cm")
        group.keep_m = keep_m
        group.v_unit = arithmetic.v_unit
        levels = {"v_int": "v", "threshold_level": "v_thresh", "reset_level": "v_reset", **drive.reversal}
        for variable, name in levels.items():
            setattr(group, variable, np.rint(scale * (value(name) - value("v_rest"))))
        group.bias = np.rint(scale * gain * value("i_offset"))
        units = drive.fixed_point_units(arithmetic)
        group.synaptic_unit = 1.0 / (units * gain)
        for receptor, x in RECEPTOR_VARIABLE.items():
            setattr(group, f"keep_{x}", np.rint(unity * population.synaptic_decay(receptor, semantics)))
            setattr(group, f"syn_{x}", np.rint(units * gain * population.initial_input(receptor, semantics)))
            setattr(group, f"init_{x}", units * gain * population.init_factor(receptor, semantics))

    return Membrane(
        LIF_STATE
        + "v_int : 1\nv = v_rest + v_int * v_unit : 1\n"
        + constants(
            "v_unit",
            "threshold_level",
            "reset_level",
            "bias",
            "keep_m",
            "keep_exc",
            "keep_inh",
            "synaptic_unit",
            *drive.reversal,
        ),
        ("v_int", "threshold_level"),
        lif_reset(semantics, "v_int", "threshold_level", "reset_level"),
        wrap
        + f"""
        integrating = int(refractory_left <= 0)
        integrated = bounded(truncated(v_int * keep_m / {unity}) + {synaptic} + bias, {1 - half}, {half - 1})
        v_int = integrated * integrating + v_int * (1 - integrating)
        refractory_left -= 1 - integrating
        syn_exc = truncated(syn_exc * keep_exc / {unity})
        syn_inh = truncated(syn_inh * keep_inh / {unity})
        """,
        integer_functions(),
        initialise,
        {"v_int": "0", "refractory_left": "0"},
        None if combined else "syn_{x} * synaptic_unit",
        ("bias", bias_units(population, semantics)),
    )


def bias_units(population: Population, semantics) -> np.ndarray:
    """:class:`FixedPointLIF`'s bias units per nA of ``i_offset`` (the bias is ``rint`` of these times it),
    per neuron: ``(1 - E') R / v_unit``."""
    value, unity = population.value, 2**population.arithmetic.decay_bits
    keep_m = np.rint(unity * semantics.decay(value("tau_m")))
    return (1.0 - keep_m / unity) * value("tau_m") / value("cm") / population.arithmetic.v_unit


@ACCUMULATOR.register(LIFParameters, neuron=LeakyIntegrate, synapse=ExponentialSynapse)
def lif_accumulator(population: Population, semantics) -> Membrane:
    """Steps 1 (the tick's summed input ``syn_x``, in weight units, enters ``s_x`` times ``init``), 2 and 4
    of :class:`Accumulator`, the synaptic current from the input type."""
    arithmetic = population.arithmetic
    drive = INPUTS.lookup(population.cell.input)
    return accumulator_membrane(
        population,
        semantics,
        drive.accumulator_current(arithmetic),
        drive.accumulator_reading(arithmetic),
        drive.reversal,
        {receptor: population.init_factor(receptor, semantics) for receptor in RECEPTOR_VARIABLE},
        {
            receptor: arithmetic.weight_scale * population.initial_input(receptor, semantics)
            for receptor in RECEPTOR_VARIABLE
        },
    )


ACCUMULATOR_SYNAPSES = "s_exc : 1\ns_inh : 1\n" + constants(
    "d_exc", "d_inh", "c_exc", "c_inh", "limit_exc", "limit_inh"
)
"""The synaptic state of :class:`Accumulator` (``s_x``) and its constants, whatever the neuron."""

ACCUMULATOR_DECAY = f"""
        s_exc = whole(s_exc * d_exc / {FRACTION_32})
        s_inh = whole(s_inh * d_inh / {FRACTION_32})
        """
"""Step 4 of :class:`Accumulator`: ``s_x`` times its u0.32 decay, floored."""


def accumulator_transfer(arithmetic) -> str:
    """Step 1 of :class:`Accumulator`: the tick's summed weights ``syn_x``, capped by the ring buffer and
    rounded to weight units, join ``s_x`` times the u0.32 ``init``; sums wrap at 32 bits."""
    scale = 2**arithmetic.fraction_bits * arithmetic.weight_scale
    return "".join(
        f"""
        s_{x} = {wrap32(f"s_{x} + whole(nearest(bounded(syn_{x}, 0, limit_{x}) * {scale}) * c_{x} / {FRACTION_32})")}
        syn_{x} = 0"""
        for x in RECEPTOR_VARIABLE.values()
    )


def initialise_accumulator_synapses(group, population: Population, semantics, init: dict, state: dict):
    """``s_x`` from ``state`` (per receptor, in weight units times the weight scale), the decays, the
    ``init`` factors and the ring buffers' caps; ``syn_x`` sums the tick's weights unscaled."""
    one = 2**population.arithmetic.fraction_bits
    for receptor, x in RECEPTOR_VARIABLE.items():
        setattr(group, f"s_{x}", np.rint(one * np.asarray(state[receptor], dtype=np.float64)))
        setattr(group, f"d_{x}", np.rint(FRACTION_32 * population.synaptic_decay(receptor, semantics)))
        setattr(group, f"c_{x}", np.rint(FRACTION_32 * init[receptor]))
        setattr(group, f"limit_{x}", population.arithmetic.input_limit[receptor])
        setattr(group, f"init_{x}", 1.0)


def accumulator_membrane(
    population: Population, semantics, current: str, reading: str, reversal: dict, init: dict, state: dict
) -> Membrane:
    """An :class:`Accumulator` membrane: ``v_bits`` holds V in units of 2^-f mV, ``s_x`` the synaptic
    state, which the tick's weights join times ``init`` (per receptor) and from which ``current`` (an
    expression of ``s_x``, ``v_bits`` and the ``reversal`` levels) is the synaptic part of I, and
    ``reading`` the recorded state; ``state`` is the synaptic state of the first tick."""
    one = 2**population.arithmetic.fraction_bits

    def initialise(group):
        value = population.value
        bits = lambda x: np.rint(one * np.asarray(x, dtype=np.float64))  # noqa: E731
        initialise_lif(group, population, semantics)
        group.lsb = 1.0 / one
        group.v_bits, group.threshold_level, group.reset_level = (
            bits(value("v")),
            bits(value("v_thresh")),
            bits(value("v_reset")),
        )
        group.rest_bits, group.offset_bits = bits(value("v_rest")), bits(value("i_offset"))
        group.resistance_bits = bits(value("tau_m") / value("cm"))
        group.keep_m = bits(semantics.decay(value("tau_m")))
        for level, name in reversal.items():
            setattr(group, level, bits(value(name)))
        initialise_accumulator_synapses(group, population, semantics, init, state)

    return Membrane(
        LIF_STATE
        + "v_bits : 1\nv = v_bits * lsb : 1\n"
        + ACCUMULATOR_SYNAPSES
        + constants(
            "lsb", "threshold_level", "reset_level", "rest_bits", "offset_bits", "resistance_bits", "keep_m", *reversal
        ),
        ("v_bits", "threshold_level"),
        lif_reset(semantics, "v_bits", "threshold_level", "reset_level"),
        accumulator_transfer(population.arithmetic)
        + f"""
        integrating = int(refractory_left <= 0)
        current = {wrap32(f"{current} + offset_bits")}
        a = {wrap32(f"whole(current * resistance_bits / {one}) + rest_bits")}
        integrated = {wrap32(f"a - whole(keep_m * {wrap32('a - v_bits')} / {one})")}
        v_bits = integrated * integrating + v_bits * (1 - integrating)
        refractory_left -= 1 - integrating
        """
        + ACCUMULATOR_DECAY,
        integer_functions(32),
        initialise,
        {"v_bits": "rest_bits", "s_exc": "0", "s_inh": "0", "refractory_left": "0"},
        reading,
        ("offset_bits", one),
    )


# --- IF_curr_delta: leaky integrate-and-fire, delta synapses ---------------------------------------
# In float64 and on FixedPointLIF's integers the LIF membranes above run it as they are: its synapse
# part's init (1/dt) and decay (0) make ``syn_x`` the tick's charge over dt, emptied at the tick's end.


@PHYSICS.register(IFCurrDelta, neuron=LeakyIntegrate, synapse=DeltaSynapse)
def delta_physics(population: Population, context: BuildContext, name: str) -> tuple[b2.NeuronGroup, list]:
    """The membrane's ODE without synaptic currents: the charge ``syn_x`` that projections deliver in a
    step moves V by ``(syn_exc - syn_inh) / cm`` before the threshold is checked, unless refractory
    (Brian2 holds V then; the charge is lost), and is gone."""
    parameters = ("tau_m", "tau_refrac", "v_rest", "v_reset", "v_thresh", "i_offset")
    group = b2.NeuronGroup(
        population.size,
        """
        dv/dt = (v_rest - v + resistance * i_offset) / (tau_m * ms) : 1 (unless refractory)
        syn_exc : 1
        syn_inh : 1
        """
        + constants(*parameters, "resistance", "capacitance"),
        threshold=f"v {context.network.semantics.threshold} v_thresh",
        reset=physics_reset(context.network.semantics),
        refractory="tau_refrac * ms",
        method="exact",
        clock=context.clock,
        name=name,
        namespace={"ms": b2.ms},
    )
    for variable in parameters + ("v",):
        setattr(group, variable, population.value(variable))
    group.capacitance = population.value("cm")
    group.resistance = population.value("tau_m") / population.value("cm")
    for receptor, x in RECEPTOR_VARIABLE.items():
        setattr(group, f"syn_{x}", population.value(f"{population.cell.synaptic_state}_{x}"))
    jump = group.run_regularly(
        """
        v += (syn_exc - syn_inh) / capacitance * int(not_refractory)
        syn_exc = 0
        syn_inh = 0
        """,
        when="before_thresholds",
        name=f"{name}_charge",
    )
    return group, [jump]


@ACCUMULATOR.register(IFCurrDelta, neuron=LeakyIntegrate, synapse=DeltaSynapse)
def delta_accumulator(population: Population, semantics) -> Membrane:
    """:class:`Accumulator` with a delta synapse (sPyNNaker's delta input type): the tick's weights join
    ``s_x`` unscaled, the synaptic current is ``floor(s_x sf / 2^f)`` per receptor, and ``s_x`` is then 0."""
    one = 2**population.arithmetic.fraction_bits
    sf = delta_scale(population.arithmetic, semantics.dt)
    return accumulator_membrane(
        population,
        semantics,
        f"whole(s_exc * {sf} / {one}) - whole(s_inh * {sf} / {one})",
        "s_{x} * lsb",
        {},
        dict.fromkeys(RECEPTOR_VARIABLE, 1.0),
        {receptor: population.initial_input(receptor, semantics) * semantics.dt for receptor in RECEPTOR_VARIABLE},
    )


def delta_scale(arithmetic: Accumulator, dt: float) -> int:
    """``sf = floor(2^(2f) / rint(2^f dt))``: 1/dt as the chip divides it."""
    one = 2**arithmetic.fraction_bits
    return one * one // int(np.rint(one * dt))


# --- membranes without a threshold (LI_curr_delta, LI_curr_exp) or without leak (PIF, PI) -------------
# Float64 only. The synapse part's init and decay make ``syn_x`` the tick's current, as for the LIF.


def set_synapses_float(group: b2.NeuronGroup, population: Population, semantics):
    set_synaptic_state(group, population, semantics)
    for receptor, x in RECEPTOR_VARIABLE.items():
        setattr(group, f"decay_{x}", population.synaptic_decay(receptor, semantics))
        setattr(group, f"init_{x}", population.init_factor(receptor, semantics))


SYNAPTIC_DECAY = """
        syn_exc *= decay_exc
        syn_inh *= decay_inh
        """


@FLOAT.register(LIParameters, neuron=LeakyMembrane, input=CurrentInput)
def leaky_membrane_float(population: Population, semantics) -> Membrane:
    """Steps 2 and 4 of the leaky membrane in float64, without threshold or refractoriness."""

    def initialise(group):
        value = population.value
        for variable in ("v_rest", "i_offset", "v"):
            setattr(group, variable, value(variable))
        group.resistance = value("tau_m") / value("cm")
        group.decay_m = semantics.decay(value("tau_m"))
        set_synapses_float(group, population, semantics)

    return Membrane(
        "v : 1\n" + constants("v_rest", "i_offset", "resistance", "decay_m", "decay_exc", "decay_inh"),
        None,
        "",
        f"""
        a = ({CurrentDrive.drive}) * resistance + v_rest
        v = a - decay_m * (a - v)"""
        + SYNAPTIC_DECAY,
        {},
        initialise,
        {"v": "v_rest"},
    )


@FLOAT.register(PIFCurrDelta, neuron=PerfectIntegrate, synapse=DeltaSynapse, input=CurrentInput)
@FLOAT.register(PICurrDelta, neuron=PerfectMembrane, synapse=DeltaSynapse, input=CurrentInput)
def perfect_float(population: Population, semantics) -> Membrane:
    """Step 2 of the membrane without leak in float64, ``V += (dt / cm) I``, and step 4; with
    :class:`PerfectIntegrate` step 3 and the refractory hold as the LIF's (``v + x * 0`` is exactly v)."""
    spiking = isinstance(population.cell.neuron, PerfectIntegrate)

    def initialise(group):
        value = population.value
        for variable in ("i_offset", "v") + (("v_reset", "v_thresh") if spiking else ()):
            setattr(group, variable, value(variable))
        group.step = semantics.dt / value("cm")
        if spiking:
            group.refractory_ticks = semantics.refractory_ticks(value("tau_refrac"))
        set_synapses_float(group, population, semantics)

    if not spiking:
        return Membrane(
            "v : 1\n" + constants("i_offset", "step", "decay_exc", "decay_inh"),
            None,
            "",
            f"""
        v = v + step * ({CurrentDrive.drive})"""
            + SYNAPTIC_DECAY,
            {},
            initialise,
            {"v": "0"},
        )
    return Membrane(
        "v : 1\nrefractory_left : integer\nrefractory_ticks : integer (constant)\n"
        + constants("i_offset", "step", "decay_exc", "decay_inh", "v_reset", "v_thresh"),
        ("v", "v_thresh"),
        lif_reset(semantics, "v", "v_thresh", "v_reset"),
        f"""
        integrating = int(refractory_left <= 0)
        v = v + step * ({CurrentDrive.drive}) * integrating
        refractory_left -= 1 - integrating"""
        + SYNAPTIC_DECAY,
        {},
        initialise,
        {"v": "v_reset", "refractory_left": "0"},
    )


# --- Izhikevich: quadratic membrane with recovery, exponential current synapses ---------------------
# Float64 (FLOAT), sPyNNaker's accumulators (ACCUMULATOR) and the Loihi-class integers of our Lava process
# (FIXED_POINT_IZHIKEVICH, its own arithmetic); the step is QuadraticIntegrate's, ``h`` the tick's step.

FIXED_POINT_IZHIKEVICH = LoweringRegistry("brian2 (discrete, FixedPointIzhikevich arithmetic)")
IZHIKEVICH_PARTS = {"neuron": QuadraticIntegrate, "synapse": ExponentialSynapse, "input": CurrentInput}
ARITHMETICS.register(FixedPointIzhikevich)(FIXED_POINT_IZHIKEVICH)


@PHYSICS.register(Izhikevich, **IZHIKEVICH_PARTS)
def izhikevich_physics(population: Population, context: BuildContext, name: str) -> tuple[b2.NeuronGroup, list]:
    refuse_subtraction(population, context.network.semantics)
    neuron = population.cell.neuron
    parameters = ("a", "b", "c", "d", "i_offset", "tau_syn_E", "tau_syn_I")
    group = b2.NeuronGroup(
        population.size,
        f"""
        dv/dt = ({neuron.quadratic} * v**2 + {neuron.linear} * v + {neuron.constant} - u + syn_exc - syn_inh
                 + i_offset) / ms : 1
        du/dt = a * (b * v - u) / ms : 1
        dsyn_exc/dt = -syn_exc / (tau_syn_E * ms) : 1
        dsyn_inh/dt = -syn_inh / (tau_syn_I * ms) : 1
        """
        + constants(*parameters),
        threshold=f"v >= {neuron.v_thresh}",
        reset="v = c\nu += d",
        method="rk4",
        clock=context.clock,
        name=name,
        namespace={"ms": b2.ms},
    )
    for variable in parameters + ("v", "u"):
        setattr(group, variable, population.value(variable))
    set_synaptic_state(group, population, context.network.semantics)
    return group, []


def izhikevich_synapses(group: b2.NeuronGroup, population: Population, semantics):
    for receptor, x in RECEPTOR_VARIABLE.items():
        setattr(group, f"init_{x}", population.init_factor(receptor, semantics))
        setattr(group, f"decay_{x}", population.synaptic_decay(receptor, semantics))


@FLOAT.register(Izhikevich, **IZHIKEVICH_PARTS)
def izhikevich_float(population: Population, semantics) -> Membrane:
    """Steps 2 and 4 in float64, the step's formulas as :meth:`QuadraticIntegrate.step` writes them."""
    refuse_subtraction(population, semantics)
    neuron = population.cell.neuron
    m, k, c = neuron.quadratic, neuron.linear, neuron.constant

    def initialise(group):
        for variable in ("a", "b", "c", "d", "i_offset", "v", "u"):
            setattr(group, variable, population.value(variable))
        set_synaptic_state(group, population, semantics)
        izhikevich_synapses(group, population, semantics)
        group.h = semantics.dt

    return Membrane(
        "v : 1\nu : 1\nh : 1\n" + constants("a", "b", "c", "d", "i_offset", "decay_exc", "decay_inh"),
        ("v", repr(neuron.v_thresh)),
        f"v = c\nu = u + d\nh = {neuron.spike_step * semantics.dt!r}\n",
        f"""
        pre = syn_exc - syn_inh + i_offset + {c} - u
        alpha = pre + ({m} * v + {k}) * v
        eta = v + h * alpha / 2
        beta = (b * v - u) * (h * a) / 2
        v_next = v + (pre - beta + ({m} * eta + {k}) * eta) * h
        u = u + (b * eta - (u + beta)) * (h * a)
        v = v_next
        h = {semantics.dt!r}
        syn_exc *= decay_exc
        syn_inh *= decay_inh
        """,
        {},
        initialise,
        {"v": "c", "u": "b * c", "h": repr(semantics.dt)},
    )


def izhikevich_integer_step(one: int, neuron, sum_of) -> str:
    """QuadraticIntegrate's integer step on ``v_q``, ``u_q``, ``current``, ``h_q`` and the parameters'
    integers (``a_q``, ``b_q``), to ``v_next`` and ``u_next``; ``sum_of`` keeps a sum in its width."""
    m, k, c = (float(np.rint(one * x)) for x in (neuron.quadratic, neuron.linear, neuron.constant))

    def product(x: str, y) -> str:
        return f"whole(({x}) * ({y}) / {one})"

    square = product(sum_of(product("v_q", m) + f" + {k}"), "v_q")
    drift = product(sum_of(product("v_q", "b_q") + " - u_q"), "p")
    recovery = product(sum_of(product("eta", "b_q") + " - " + sum_of("u_q + beta")), "p")
    return f"""
        pre = {sum_of(f"current + {c} - u_q")}
        alpha = {sum_of(f"pre + {square}")}
        eta = {sum_of(f"v_q + whole({product('alpha', 'h_q')} / 2)")}
        p = {product("h_q", "a_q")}
        beta = whole({drift} / 2)
        quadratic = {product(sum_of(product("eta", m) + f" + {k}"), "eta")}
        v_next = {sum_of(f"v_q + {product(sum_of('pre - beta + quadratic'), 'h_q')}")}
        u_next = {sum_of(f"u_q + {recovery}")}
        """


def izhikevich_integers(group: b2.NeuronGroup, population: Population, semantics, one: int):
    """The parameters, state and steps as integers of ``1 / one``."""
    bits = lambda x: np.rint(one * np.asarray(x, dtype=np.float64))  # noqa: E731
    value, neuron = population.value, population.cell.neuron
    group.lsb = 1.0 / one
    for variable in ("a", "b", "d", "v", "u"):
        setattr(group, f"{variable}_q", bits(value(variable)))
    group.reset_level, group.offset_q = bits(value("c")), bits(value("i_offset"))
    group.step_q = bits(semantics.dt)
    group.spike_step_q = np.floor(group.step_q[:] * np.floor(one * neuron.spike_step) / one)
    group.h_q = group.step_q[:]


IZHIKEVICH_INTEGERS = ("lsb", "a_q", "b_q", "d_q", "reset_level", "offset_q", "step_q", "spike_step_q")


@ACCUMULATOR.register(Izhikevich, **IZHIKEVICH_PARTS)
def izhikevich_accumulator(population: Population, semantics) -> Membrane:
    """Steps 1 (as :func:`lif_accumulator`), 2 and 4 of :class:`Accumulator` with Izhikevich's step:
    sums wrap at 32 bits; ``v_q`` and ``u_q`` hold V and U in units of 2^-f."""
    refuse_subtraction(population, semantics)
    arithmetic, cell = population.arithmetic, population.cell
    one = 2**arithmetic.fraction_bits

    def initialise(group):
        izhikevich_integers(group, population, semantics, one)
        initialise_accumulator_synapses(
            group,
            population,
            semantics,
            {receptor: population.init_factor(receptor, semantics) for receptor in RECEPTOR_VARIABLE},
            {
                receptor: arithmetic.weight_scale * population.initial_input(receptor, semantics)
                for receptor in RECEPTOR_VARIABLE
            },
        )

    return Membrane(
        "v_q : 1\nu_q : 1\nh_q : 1\nv = v_q * lsb : 1\n" + ACCUMULATOR_SYNAPSES + constants(*IZHIKEVICH_INTEGERS),
        ("v_q", repr(float(np.rint(one * cell.neuron.v_thresh)))),
        f"v_q = reset_level\nu_q = {wrap32('u_q + d_q')}\nh_q = spike_step_q\n",
        accumulator_transfer(arithmetic)
        + f"\n        current = {wrap32('s_exc - s_inh + offset_q')}"
        + izhikevich_integer_step(one, cell.neuron, wrap32)
        + """
        v_q = v_next
        u_q = u_next
        h_q = step_q
        """
        + ACCUMULATOR_DECAY,
        integer_functions(32),
        initialise,
        {"v_q": "reset_level", "u_q": f"whole(b_q * reset_level / {one})", "h_q": "step_q", "s_exc": "0", "s_inh": "0"},
        CurrentDrive().accumulator_reading(arithmetic),
        ("offset_q", one),
    )


@FIXED_POINT_IZHIKEVICH.register(Izhikevich, **IZHIKEVICH_PARTS)
def izhikevich_fixed_point(population: Population, semantics) -> Membrane:
    """Steps 1 (the wrap), 2, 3 and 4 of :class:`FixedPointIzhikevich`: ``syn_x`` holds the synaptic state
    in units of 2^-f, whole numbers up to float error until the wrap rounds them."""
    refuse_subtraction(population, semantics)
    arithmetic, cell = population.arithmetic, population.cell
    one, unity, half = 2**arithmetic.fraction_bits, 2**arithmetic.decay_bits, 2 ** (arithmetic.state_bits - 1)
    held = lambda x: f"bounded({x}, {1 - half}, {half - 1})"  # noqa: E731
    wrap = wrapped_state(half)

    def initialise(group):
        izhikevich_integers(group, population, semantics, one)
        for receptor, x in RECEPTOR_VARIABLE.items():
            setattr(group, f"syn_{x}", np.rint(one * population.initial_input(receptor, semantics)))
            setattr(group, f"keep_{x}", np.rint(unity * population.synaptic_decay(receptor, semantics)))
            setattr(group, f"init_{x}", one * population.init_factor(receptor, semantics))

    return Membrane(
        "v_q : 1\nu_q : 1\nh_q : 1\nv = v_q * lsb : 1\n" + constants(*IZHIKEVICH_INTEGERS, "keep_exc", "keep_inh"),
        ("v_q", repr(float(np.rint(one * cell.neuron.v_thresh)))),
        f"v_q = reset_level\nu_q = {held('u_q + d_q')}\nh_q = spike_step_q\n",
        wrap
        + "\n        current = syn_exc - syn_inh + offset_q"
        + izhikevich_integer_step(one, cell.neuron, lambda x: f"({x})")
        + f"""
        v_q = {held("v_next")}
        u_q = {held("u_next")}
        h_q = step_q
        syn_exc = truncated(syn_exc * keep_exc / {unity})
        syn_inh = truncated(syn_inh * keep_inh / {unity})
        """,
        integer_functions(),
        initialise,
        {"v_q": "reset_level", "u_q": f"whole(b_q * reset_level / {one})", "h_q": "step_q"},
        "syn_{x} * lsb",
        ("offset_q", one),
    )
