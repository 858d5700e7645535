"""Everything a cell type means on Brian2, as registrations found through the class hierarchy (Nengo's
builder registry): a new cell type on Brian2 is new registrations here, nothing elsewhere.

Where each cell type's per-tick code is:

- ``IF_curr_exp`` and ``IF_cond_exp`` (:class:`LIFParameters`: leaky membrane, exponential synapses, an
  input type; they differ in the input type only):

  - physics mode, the continuous-time equations: :func:`lif_physics` (in ``PHYSICS``);
  - discrete mode in float64: :func:`lif_float` (in ``FLOAT``);
  - discrete mode on :class:`FixedPointLIF`'s integers: :func:`lif_fixed_point` (in ``FIXED_POINT``);
  - discrete mode on :class:`Accumulator`'s integers: :func:`lif_accumulator` (in ``ACCUMULATOR``).

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
from neurodeploy.backends.brian2.fixed_point import FRACTION_32, NEAREST, TRUNCATED, WHOLE, signed_wrap
from neurodeploy.description import Population
from neurodeploy.description.cells import (Accumulator, ConductanceInput, CurrentInput, FixedPointLIF,
                                           LIFParameters)

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
    threshold: tuple[str, str]  # the variable compared and the level it is compared with
    reset: str
    update: str
    namespace: dict
    initialise: Callable[[b2.NeuronGroup], None]  # sets the group from the population
    at_rest: dict  # variable -> expression: a revived neuron's state (its input is emptied by the group)


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


class ConductanceDrive(InputDrive):
    """Synaptic conductances drive towards their reversal potentials with the V the tick starts from
    (sPyNNaker's ``input_type_conductance``)."""

    drive = "syn_exc * (e_rev_E - v) + syn_inh * (e_rev_I - v) + i_offset"
    method = "rk4"  # the membrane equation is bilinear in v and g
    reversal = {"e_exc": "e_rev_E", "e_inh": "e_rev_I"}

    def fixed_point_drive(self, arithmetic: FixedPointLIF) -> str:
        shift = 2 ** arithmetic.conductance_shift
        return f"truncated(syn_exc * (e_exc - v_int) / {shift}) + truncated(syn_inh * (e_inh - v_int) / {shift})"

    def fixed_point_units(self, arithmetic: FixedPointLIF) -> float:
        return 2.0 ** arithmetic.conductance_shift

    def accumulator_current(self, arithmetic: Accumulator) -> str:
        one, shift = 2 ** arithmetic.fraction_bits, 2 ** arithmetic.conductance_shift
        return (f"whole(whole(s_exc / {shift}) * {wrap32('e_exc - v_bits')} / {one})"
                f" - whole(-whole(s_inh / {shift}) * {wrap32('e_inh - v_bits')} / {one})")


INPUTS.register(CurrentInput)(CurrentDrive())
INPUTS.register(ConductanceInput)(ConductanceDrive())


def set_synaptic_state(group: b2.NeuronGroup, population: Population):
    """``syn_exc`` / ``syn_inh`` from the initial currents or conductances."""
    group.syn_exc = population.value(f"{population.cell.synaptic_state}_exc")
    group.syn_inh = population.value(f"{population.cell.synaptic_state}_inh")


# --- IF_curr_exp, IF_cond_exp: leaky integrate-and-fire, exponential synapses ------------------------

@PHYSICS.register(LIFParameters)
def lif_physics(population: Population, context: BuildContext, name: str) -> tuple[b2.NeuronGroup, list]:
    drive = INPUTS.lookup(population.cell.input)
    parameters = ("tau_m", "tau_syn_E", "tau_syn_I", "tau_refrac", "v_rest", "v_reset", "v_thresh", "i_offset",
                  *drive.reversal.values())
    group = b2.NeuronGroup(
        population.size,
        f"""
        dv/dt = (v_rest - v + resistance * ({drive.drive})) / (tau_m * ms) : 1 (unless refractory)
        resistance : 1 (constant)
        dsyn_exc/dt = -syn_exc / (tau_syn_E * ms) : 1
        dsyn_inh/dt = -syn_inh / (tau_syn_I * ms) : 1
        """ + "\n".join(f"{name} : 1 (constant)" for name in parameters),
        threshold="v >= v_thresh", reset="v = v_reset", refractory="tau_refrac * ms", method=drive.method,
        clock=context.clock, name=name, namespace={"ms": b2.ms})
    for variable in parameters + ("v",):
        setattr(group, variable, population.value(variable))
    set_synaptic_state(group, population)
    group.resistance = population.value("tau_m") / population.value("cm")
    return group, []


LIF_STATE = """
refractory_left : integer
refractory_ticks : integer (constant)
v_rest : 1 (constant)
"""
"""What every LIF membrane holds besides its own variables: the integer refractory counter (ticks V is
still held) and v_rest."""


def lif_reset(variable: str, level: str) -> str:
    return f"{variable} = {level}\nrefractory_left = refractory_ticks\n"


def initialise_lif(group: b2.NeuronGroup, population: Population, semantics):
    group.v_rest = population.value("v_rest")
    group.refractory_ticks = semantics.refractory_ticks(population.value("tau_refrac"))


@FLOAT.register(LIFParameters)
def lif_float(population: Population, semantics) -> Membrane:
    """Steps 2 and 4 in float64. (x * 1 + y * 0) is exactly x in float64: the held V is bit-identical."""
    drive = INPUTS.lookup(population.cell.input)
    reversal = tuple(drive.reversal.values())

    def initialise(group):
        value = population.value
        initialise_lif(group, population, semantics)
        for variable in ("v_reset", "v_thresh", "i_offset", "v", *reversal):
            setattr(group, variable, value(variable))
        set_synaptic_state(group, population)
        group.resistance = value("tau_m") / value("cm")
        group.decay_m = semantics.decay(value("tau_m"))
        group.decay_exc = semantics.decay(value("tau_syn_E"))
        group.decay_inh = semantics.decay(value("tau_syn_I"))
        for receptor, x in RECEPTOR_VARIABLE.items():
            setattr(group, f"init_{x}", population.init_factor(receptor, semantics))
    return Membrane(
        LIF_STATE + "v : 1\n" + constants("v_reset", "v_thresh", "i_offset", "resistance", "decay_m", "decay_exc",
                                          "decay_inh", *reversal),
        ("v", "v_thresh"), lif_reset("v", "v_reset"), f"""
        integrating = int(refractory_left <= 0)
        a = ({drive.drive}) * resistance + v_rest
        v = (a - decay_m * (a - v)) * integrating + v * (1 - integrating)
        refractory_left -= 1 - integrating
        syn_exc *= decay_exc
        syn_inh *= decay_inh
        """, {}, initialise, {"v": "v_rest", "refractory_left": "0"})


@FIXED_POINT.register(LIFParameters)
def lif_fixed_point(population: Population, semantics) -> Membrane:
    """Steps 2 and 4 of :class:`FixedPointLIF` (step 1's wrap first). ``v_int`` holds V - v_rest in units,
    ``syn_x`` the synaptic state as u, whole numbers up to float error until the wrap rounds them."""
    arithmetic, cell = population.arithmetic, population.cell
    drive = INPUTS.lookup(cell.input)
    unity, half = 2 ** arithmetic.decay_bits, 2 ** (arithmetic.state_bits - 1)
    synaptic = drive.fixed_point_drive(arithmetic)
    combined = arithmetic.currents == "combined"  # one current: syn_exc holds u_exc - u_inh
    wrap = ("\n        syn_exc = syn_exc - syn_inh\n        syn_inh = 0" if combined else "") + "".join(f"""
        syn_{x} = nearest(syn_{x})
        syn_{x} += {2 * half} * (int(syn_{x} <= {-half}) - int(syn_{x} > {half}))""" for x in RECEPTOR_VARIABLE.values())

    def initialise(group):
        value, scale = population.value, 1.0 / arithmetic.v_unit
        initialise_lif(group, population, semantics)
        keep_m = np.rint(unity * semantics.decay(value("tau_m")))
        gain = (1.0 - keep_m / unity) * value("tau_m") / value("cm")
        group.keep_m = keep_m
        group.keep_exc = np.rint(unity * semantics.decay(value("tau_syn_E")))
        group.keep_inh = np.rint(unity * semantics.decay(value("tau_syn_I")))
        group.v_unit = arithmetic.v_unit
        levels = {"v_int": "v", "threshold_level": "v_thresh", "reset_level": "v_reset", **drive.reversal}
        for variable, name in levels.items():
            setattr(group, variable, np.rint(scale * (value(name) - value("v_rest"))))
        group.bias = np.rint(scale * gain * value("i_offset"))
        units = drive.fixed_point_units(arithmetic)
        for receptor, x in RECEPTOR_VARIABLE.items():
            setattr(group, f"syn_{x}", np.rint(units * gain * value(f"{cell.synaptic_state}_{x}")))
            setattr(group, f"init_{x}", units * gain * population.init_factor(receptor, semantics))
    return Membrane(
        LIF_STATE + "v_int : 1\nv = v_rest + v_int * v_unit : 1\n" + constants(
            "v_unit", "threshold_level", "reset_level", "bias", "keep_m", "keep_exc", "keep_inh", *drive.reversal),
        ("v_int", "threshold_level"), lif_reset("v_int", "reset_level"), wrap + f"""
        integrating = int(refractory_left <= 0)
        integrated = clip(truncated(v_int * keep_m / {unity}) + {synaptic} + bias, {1 - half}, {half - 1})
        v_int = integrated * integrating + v_int * (1 - integrating)
        refractory_left -= 1 - integrating
        syn_exc = truncated(syn_exc * keep_exc / {unity})
        syn_inh = truncated(syn_inh * keep_inh / {unity})
        """, {"truncated": TRUNCATED, "nearest": NEAREST}, initialise, {"v_int": "0", "refractory_left": "0"})


@ACCUMULATOR.register(LIFParameters)
def lif_accumulator(population: Population, semantics) -> Membrane:
    """Steps 1 (the tick's summed input ``syn_x``, in weight units, enters ``s_x``), 2 and 4 of
    :class:`Accumulator`; ``v_bits`` holds V in units of 2^-f mV."""
    arithmetic, cell = population.arithmetic, population.cell
    drive = INPUTS.lookup(cell.input)
    one = 2 ** arithmetic.fraction_bits
    transfer = "".join(f"""
        s_{x} = {wrap32(f"s_{x} + whole(nearest(clip(syn_{x}, 0, limit_{x}) * {one * arithmetic.weight_scale}) * c_{x} / {FRACTION_32})")}
        syn_{x} = 0""" for x in RECEPTOR_VARIABLE.values())

    def initialise(group):
        value = population.value
        bits = lambda x: np.rint(one * np.asarray(x, dtype=np.float64))  # noqa: E731
        initialise_lif(group, population, semantics)
        group.lsb = 1.0 / one
        group.v_bits, group.threshold_level, group.reset_level = bits(value("v")), bits(value("v_thresh")), bits(
            value("v_reset"))
        group.rest_bits, group.offset_bits = bits(value("v_rest")), bits(value("i_offset"))
        group.resistance_bits = bits(value("tau_m") / value("cm"))
        group.keep_m = bits(semantics.decay(value("tau_m")))
        for level, name in drive.reversal.items():
            setattr(group, level, bits(value(name)))
        for (receptor, x), tau in zip(RECEPTOR_VARIABLE.items(), ("tau_syn_E", "tau_syn_I")):
            setattr(group, f"s_{x}", bits(arithmetic.weight_scale * value(f"{cell.synaptic_state}_{x}")))
            setattr(group, f"d_{x}", np.rint(FRACTION_32 * semantics.decay(value(tau))))
            setattr(group, f"c_{x}", np.rint(FRACTION_32 * population.init_factor(receptor, semantics)))
            setattr(group, f"limit_{x}", arithmetic.input_limit[receptor])
            setattr(group, f"init_{x}", 1.0)  # syn_x sums the tick's weights
    return Membrane(
        LIF_STATE + "v_bits : 1\nv = v_bits * lsb : 1\ns_exc : 1\ns_inh : 1\n" + constants(
            "lsb", "threshold_level", "reset_level", "rest_bits", "offset_bits", "resistance_bits", "keep_m", "d_exc",
            "d_inh", "c_exc", "c_inh", "limit_exc", "limit_inh", *drive.reversal),
        ("v_bits", "threshold_level"), lif_reset("v_bits", "reset_level"), transfer + f"""
        integrating = int(refractory_left <= 0)
        current = {wrap32(f"{drive.accumulator_current(arithmetic)} + offset_bits")}
        a = {wrap32(f"whole(current * resistance_bits / {one}) + rest_bits")}
        integrated = {wrap32(f"a - whole(keep_m * {wrap32('a - v_bits')} / {one})")}
        v_bits = integrated * integrating + v_bits * (1 - integrating)
        refractory_left -= 1 - integrating
        s_exc = whole(s_exc * d_exc / {FRACTION_32})
        s_inh = whole(s_inh * d_inh / {FRACTION_32})
        """, {"whole": WHOLE, "nearest": NEAREST}, initialise,
        {"v_bits": "rest_bits", "s_exc": "0", "s_inh": "0", "refractory_left": "0"})
