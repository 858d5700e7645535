"""What sPyNNaker 7.x builds for each cell type, and all the SpiNNaker backend derives from it, in one place.

sPyNNaker composes a neuron from parts (``spynnaker/pyNN/models/neuron/builds``): a neuron model
with its threshold type, a synapse type and an input type. Here each part of a description's cell
(``cell.neuron``, ``cell.synapse``, ``cell.input``) is lowered by a class registered for that part,
and each cell type by a :class:`CellBuild` naming the PyNN model sPyNNaker runs it as, composed of
its parts' lowerings. A part's lowering holds, for its own numbers:

* the per-neuron integer state and constants the emulator keeps (``build``) and what they do in a
  tick (s16.15 bits, the arithmetic of :mod:`.fixedpoint`);
* the chip's numbers as fields of a typed copy of the cell (``chip_values``), for the
  quantization-aware reference;
* the fields the chip holds in s16.15, with the factor it holds them times, and the design-rule
  findings of its own (``findings``).

A new cell type registers its :class:`CellBuild` here, and a lowering for each part no earlier cell
type has.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import ClassVar, Iterator

import numpy as np

from neurodeploy.backends import LoweringRegistry
from neurodeploy.backends.spinnaker import fixedpoint as fp
from neurodeploy.description.cells import (
    Accumulator,
    CellType,
    ConductanceInput,
    CurrentInput,
    DeltaSynapse,
    ExponentialSynapse,
    IFCondExp,
    IFCurrDelta,
    IFCurrExp,
    Izhikevich,
    LeakyIntegrate,
    LeakyMembrane,
    LICurrDelta,
    LICurrExp,
    PerfectIntegrate,
    PerfectMembrane,
    PICurrDelta,
    PIFCurrDelta,
    QuadraticIntegrate,
)

LOWERINGS = LoweringRegistry("spinnaker")
RECEPTORS = ("excitatory", "inhibitory")  # rows of the synaptic state and of the ring buffers


def build(cell: CellType | type[CellType]) -> "CellBuild":
    """What sPyNNaker builds for ``cell`` (an instance or its type)."""
    return LOWERINGS.lookup(cell)


def on_chip(value, scale: float = 1.0):
    """``value`` as the chip holds ``value * scale`` in s16.15, read back (a float, or one per neuron)."""
    rounded = np.vectorize(lambda v: fp.s1615(v * scale) / fp.ONE / scale, otypes=[np.float64])(
        np.asarray(value, dtype=np.float64)
    )
    return _field(rounded)


def _field(array: np.ndarray):
    """A cell field: a float, or one float64 per neuron."""
    return float(array) if array.ndim == 0 else array


def _encoded(population, name: str, scale: float = 1.0) -> np.ndarray:
    """A field of every neuron as s16.15 bits of the value times ``scale``, each distinct value encoded once."""
    distinct, inverse = np.unique(population.value(name) * scale, return_inverse=True)
    return np.array([fp.s1615(value) for value in distinct], dtype=np.int64)[inverse.reshape(-1)]


def handed_time_constant(tau, semantics):
    """The time constant sPyNNaker is handed for ``tau``: its cores decay by ``exp(-dt / tau')``, so
    ``tau'`` is the exact discretization's time constant of the semantics' decay (under ``euler``
    ``tau' = -dt / ln(1 - dt / tau)``; ``tau`` itself under ``exact``). A decay of 0 (``tau = dt`` under
    ``euler``) is handed ``dt / 16``: the membrane's s16.15 decay is then 0, a synapse's u0.32 decay
    about 2^-23 (both references compute the handed numbers)."""
    if semantics.discretization == "exact":
        return tau
    decay = semantics.decay(tau)
    exact = dataclasses.replace(semantics, discretization="exact")
    return _field(np.where(decay > 0, exact.time_constant(np.maximum(decay, 2.0**-64)), semantics.dt / 16))


def _per_neuron(function, *columns) -> np.ndarray:
    """Apply a scalar constant function to per-neuron columns, once per distinct value; one row per
    value the function returns."""
    arrays = [np.asarray(column) for column in columns]
    codes = np.zeros(arrays[0].size, dtype=np.int64)  # per neuron, which distinct row of values it has
    for array in arrays:
        distinct, inverse = np.unique(array, return_inverse=True)
        codes = np.unique(codes * distinct.size + inverse, return_inverse=True)[1]
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    rows = [function(*(array[index].item() for array in arrays)) for index in first.tolist()]
    return np.array(rows, dtype=np.int64).reshape(len(rows), -1)[inverse].T


class _Part:
    """A part's lowering: its integer state for one population (an instance, made by ``build``), and
    what it contributes to the reference and the design rules (class-level)."""

    @staticmethod
    def findings(population, dt: float) -> Iterator[tuple[str, str]]:
        """``(level, message)`` for what sPyNNaker loses of this part of ``population``."""
        return iter(())

    @staticmethod
    def handed_values(cell, semantics) -> dict:
        """The fields of ``cell`` sPyNNaker is handed otherwise than described, for the semantics."""
        return {}

    @staticmethod
    def pynn_values(cell, semantics) -> dict:
        """The fields a board is given otherwise than the emulation holds them (the threshold's comparison)."""
        return {}


# --- neuron models (with their threshold type) --------------------------------------------------


def _fire(neurons, alive: np.ndarray | None) -> np.ndarray:
    """threshold_type_static.h on ``neurons`` (v, v_thresh, v_reset, refract, t_refract, strict, subtract):
    ``V >= v_thresh`` (``>`` when strict) spikes, also while refractory: ``V = v_reset`` (or ``V -= v_thresh
    - v_reset``), countdown ``T_refract``. The neurons that spike (only ``alive`` ones, when given)."""
    reached = neurons.v > neurons.v_thresh if neurons.strict else neurons.v >= neurons.v_thresh
    spiking = np.flatnonzero(reached if alive is None else reached & alive)
    if neurons.subtract:
        neurons.v[spiking] = fp.wrap32(neurons.v[spiking] - (neurons.v_thresh[spiking] - neurons.v_reset[spiking]))
    else:
        neurons.v[spiking] = neurons.v_reset[spiking]
    neurons.refract[spiking] = neurons.t_refract[spiking]
    return spiking


def _threshold_fields(population, semantics) -> dict:
    """The threshold type's integer state: levels, the refractory countdown and its length, the comparison."""
    return {
        "v_reset": _encoded(population, "v_reset"),
        "v_thresh": _encoded(population, "v_thresh"),
        "t_refract": _per_neuron(lambda t: (fp.refractory_ticks(t, semantics.dt),), population.value("tau_refrac"))[0],
        "refract": np.zeros(population.size, dtype=np.int64),
        "strict": semantics.threshold == ">",
        "subtract": semantics.reset == "subtract",
    }


def _threshold_chip_values(cell, semantics) -> dict:
    """The threshold type's fields as the chip holds them: levels in s16.15, a whole count of ticks."""
    refractory = np.vectorize(lambda t: fp.refractory_ticks(t, semantics.dt), otypes=[np.int64])(
        np.asarray(cell.tau_refrac, dtype=np.float64)
    )
    return {
        "tau_refrac": _field(refractory * semantics.dt),
        **{n: on_chip(getattr(cell, n)) for n in ("v_reset", "v_thresh")},
    }


def _threshold_pynn_values(cell, semantics) -> dict:
    """``V > v_thresh`` is ``V >= v_thresh + 1 LSB`` on the bits: the threshold's bits plus one."""
    if semantics.threshold != ">":
        return {}
    return {"v_thresh": _field(np.vectorize(lambda v: (fp.s1615(v) + 1) / fp.ONE)(np.asarray(cell.v_thresh)))}


@dataclass(eq=False)
class _ThresholdType:
    """threshold_type_static.h with the refractory countdown, over a membrane part's ``integrated`` step: what
    :class:`NeuronModelLIF` adds to :class:`NeuronModelLI` and :class:`NeuronModelPIF` to :class:`NeuronModelPI`."""

    v_reset: np.ndarray = None
    v_thresh: np.ndarray = None
    t_refract: np.ndarray = None
    refract: np.ndarray = None
    strict: bool = False  # threshold '>'
    subtract: bool = False  # reset by subtraction

    @classmethod
    def build(cls, population, semantics, profile: str = fp.DEFAULT_PROFILE):
        """The neurons of ``population`` as handed to sPyNNaker (:meth:`CellBuild.handed`), their constants
        encoded as the sPyNNaker version ``profile`` does (:data:`.fixedpoint.ENCODING_PROFILES`)."""
        return cls(**cls.membrane(population, semantics, profile), **_threshold_fields(population, semantics))

    def step(self, exc: np.ndarray, inh: np.ndarray, alive: np.ndarray | None) -> np.ndarray:
        """One tick on the input drive, integrating only where not refractory; the neurons that spike (only
        ``alive`` ones, when given)."""
        integrating = self.refract <= 0
        self.v = np.where(integrating, self.integrated(exc, inh), self.v)
        self.refract = np.where(integrating, self.refract, self.refract - 1)
        return _fire(self, alive)

    pynn_values = staticmethod(_threshold_pynn_values)


def _accumulator(input_limit: dict, input_type) -> Accumulator:
    """The kernels' arithmetic, for a float reference to compute it spike for spike."""
    return Accumulator(
        input_limit=input_limit,
        fraction_bits=fp.FRACTION_BITS,
        weight_scale=input_type.weight_scale,
        **input_type.accumulator_fields,
    )


@LOWERINGS.register(LeakyMembrane)
@dataclass(eq=False)
class NeuronModelLI(_Part):
    """neuron_model_lif_impl.h's integration without a threshold type (no sPyNNaker build has one), on
    s16.15 bits per neuron: in a tick with input current ``I`` (``exc - inh + i_offset``), ``alpha = I * R +
    v_rest`` and ``V = alpha - exp_TC * (alpha - V)``; never a spike."""

    held_fields: ClassVar[tuple[str, ...]] = ("v_rest", "i_offset", "cm", "tau_m", "v")

    v: np.ndarray
    v_rest: np.ndarray
    i_offset: np.ndarray
    exp_tc: np.ndarray
    resistance: np.ndarray

    @classmethod
    def membrane(cls, population, semantics, profile: str = fp.DEFAULT_PROFILE) -> dict:
        """The leaky membrane's integer state, as handed to sPyNNaker (:meth:`CellBuild.handed`)."""
        exp_tc, resistance = _per_neuron(
            lambda t, c: fp.membrane_constants(t, c, semantics.dt, profile),
            population.value("tau_m"),
            population.value("cm"),
        )
        return {
            **{name: _encoded(population, name) for name in ("v", "v_rest", "i_offset")},
            "exp_tc": exp_tc,
            "resistance": resistance,
        }

    @classmethod
    def build(cls, population, semantics, profile: str = fp.DEFAULT_PROFILE) -> "NeuronModelLI":
        return cls(**cls.membrane(population, semantics, profile))

    def integrated(self, exc: np.ndarray, inh: np.ndarray) -> np.ndarray:
        """V after the tick's integration of the input drive."""
        current = fp.wrap32(exc - inh + self.i_offset)
        alpha = fp.wrap32(fp.mul_accum(current, self.resistance) + self.v_rest)
        return fp.wrap32(alpha - fp.mul_accum(self.exp_tc, fp.wrap32(alpha - self.v)))

    def step(self, exc: np.ndarray, inh: np.ndarray, alive: np.ndarray | None) -> np.ndarray:
        self.v = self.integrated(exc, inh)
        return np.empty(0, dtype=np.int64)

    def revive(self, neurons: np.ndarray):
        self.v[neurons] = self.v_rest[neurons]

    @staticmethod
    def handed_values(cell, semantics) -> dict:
        """``tau_m`` as :func:`handed_time_constant` hands it, ``cm`` keeping ``R = tau_m / cm``."""
        tau_m = handed_time_constant(cell.tau_m, semantics)
        return {"tau_m": tau_m, "cm": _field(np.asarray(cell.cm) * (np.asarray(tau_m) / np.asarray(cell.tau_m)))}

    @staticmethod
    def chip_values(cell, semantics, profile: str = fp.DEFAULT_PROFILE) -> dict:
        """Time constants re-derived from the on-chip constants (the semantics' decay of tau_m' is
        exp_TC, ``tau_m'/cm' = R``), voltages and currents in s16.15; ``cell`` as handed to sPyNNaker."""
        constants = np.vectorize(
            lambda t, c: fp.membrane_constants(t, c, semantics.dt, profile), otypes=[np.int64, np.int64]
        )(np.asarray(cell.tau_m, dtype=np.float64), np.asarray(cell.cm, dtype=np.float64))
        tau_chip = semantics.time_constant(constants[0] / fp.ONE)
        return {
            "tau_m": _field(tau_chip),
            "cm": _field(tau_chip / (constants[1] / fp.ONE)),
            **{name: on_chip(getattr(cell, name)) for name in ("v_rest", "i_offset", "v")},
        }

    arithmetic = staticmethod(_accumulator)


@LOWERINGS.register(LeakyIntegrate)
@dataclass(eq=False)
class NeuronModelLIF(_ThresholdType, NeuronModelLI):
    """neuron_model_lif_impl.h with threshold_type_static.h, on s16.15 bits per neuron. In a tick with
    input current ``I`` (``exc - inh + i_offset``): if not refractory, ``alpha = I * R + v_rest`` and
    ``V = alpha - exp_TC * (alpha - V)``, otherwise the countdown goes on and V is held; then
    ``V >= v_thresh`` spikes (also while refractory): ``V = v_reset``, countdown ``T_refract``.

    The emulation also computes what the semantics declare beyond sPyNNaker's model: ``V > v_thresh``
    (on the bits, what ``V >= v_thresh + 1 LSB`` computes on a board) and the reset by subtraction,
    ``V -= v_thresh - v_reset`` (no sPyNNaker model does; the design rules refuse it for a board)."""

    held_fields: ClassVar[tuple[str, ...]] = ("v_rest", "v_reset", "v_thresh", "i_offset", "cm", "tau_m", "v")

    def revive(self, neurons: np.ndarray):
        """Neurons coming alive start at rest, not refractory."""
        self.v[neurons] = self.v_rest[neurons]
        self.refract[neurons] = 0

    @staticmethod
    def chip_values(cell, semantics, profile: str = fp.DEFAULT_PROFILE) -> dict:
        """The leaky membrane's (:meth:`NeuronModelLI.chip_values`), the refractory period a whole count of
        ticks and the levels in s16.15."""
        return {**NeuronModelLI.chip_values(cell, semantics, profile), **_threshold_chip_values(cell, semantics)}


@LOWERINGS.register(PerfectMembrane)
@dataclass(eq=False)
class NeuronModelPI(_Part):
    """A membrane without leak (no sPyNNaker neuron model is one), on s16.15 bits per neuron: in a tick with
    input current ``I`` (``exc - inh + i_offset``), ``V = V + I * G`` with ``G = S(dt / cm)``, the
    step's constant encoded by the host; never a spike."""

    held_fields: ClassVar[tuple[str, ...]] = ("i_offset", "v")

    v: np.ndarray
    i_offset: np.ndarray
    gain: np.ndarray  # G

    @classmethod
    def membrane(cls, population, semantics, profile: str = fp.DEFAULT_PROFILE) -> dict:
        gain = _per_neuron(lambda c: (fp.s1615(semantics.dt / c),), population.value("cm"))[0]
        return {"v": _encoded(population, "v"), "i_offset": _encoded(population, "i_offset"), "gain": gain}

    @classmethod
    def build(cls, population, semantics, profile: str = fp.DEFAULT_PROFILE) -> "NeuronModelPI":
        return cls(**cls.membrane(population, semantics))

    def integrated(self, exc: np.ndarray, inh: np.ndarray) -> np.ndarray:
        return fp.wrap32(self.v + fp.mul_accum(fp.wrap32(exc - inh + self.i_offset), self.gain))

    def step(self, exc: np.ndarray, inh: np.ndarray, alive: np.ndarray | None) -> np.ndarray:
        self.v = self.integrated(exc, inh)
        return np.empty(0, dtype=np.int64)

    def revive(self, neurons: np.ndarray):
        self.v[neurons] = 0

    @staticmethod
    def chip_values(cell, semantics, profile: str = fp.DEFAULT_PROFILE) -> dict:
        """``cm`` whose ``dt / cm`` is G, ``i_offset`` and ``v`` in s16.15."""
        gain = np.vectorize(lambda c: fp.s1615(semantics.dt / c), otypes=[np.int64])(np.asarray(cell.cm, dtype=float))
        return {
            "cm": _field(semantics.dt / (gain / fp.ONE)),
            **{n: on_chip(getattr(cell, n)) for n in ("i_offset", "v")},
        }

    @staticmethod
    def findings(population, dt: float) -> Iterator[tuple[str, str]]:
        if np.any(dt / population.value("cm") < 2.0**-16):
            yield "error", "dt / cm is below half of s16.15's step: V would never move"

    arithmetic = staticmethod(_accumulator)


@LOWERINGS.register(PerfectIntegrate)
@dataclass(eq=False)
class NeuronModelPIF(_ThresholdType, NeuronModelPI):
    """:class:`NeuronModelPI`'s step if not refractory (else V is held and the countdown goes on), then
    threshold_type_static.h as :class:`NeuronModelLIF`'s (``>``, the reset by subtraction likewise)."""

    held_fields: ClassVar[tuple[str, ...]] = ("v_reset", "v_thresh", "i_offset", "v")

    def revive(self, neurons: np.ndarray):
        """Neurons coming alive start at the reset, not refractory."""
        self.v[neurons] = self.v_reset[neurons]
        self.refract[neurons] = 0

    @staticmethod
    def chip_values(cell, semantics, profile: str = fp.DEFAULT_PROFILE) -> dict:
        return {**NeuronModelPI.chip_values(cell, semantics), **_threshold_chip_values(cell, semantics)}


# --- synapse types -------------------------------------------------------------------------------


@LOWERINGS.register(ExponentialSynapse)
@dataclass(eq=False)
class SynapseTypeExponential(_Part):
    """synapse_types_exponential_impl.h: per receptor (rows ``RECEPTORS``) a state that the tick's
    ring-buffer input joins times ``init`` and that decays by ``decay`` at the end of the tick, both
    u0.32 fractions computed on chip from the time constant (exp_synapse_utils.h)."""

    state: np.ndarray
    decay: np.ndarray
    init: np.ndarray

    @classmethod
    def build(
        cls, population, dt: float, initial: np.ndarray, profile: str = fp.DEFAULT_PROFILE
    ) -> "SynapseTypeExponential":
        time_constants = population.cell.synapse.time_constants
        decay, init = np.stack(
            [
                _per_neuron(lambda t: fp.synapse_constants(t, dt, profile), population.value(time_constants[r]))
                for r in RECEPTORS
            ],
            axis=1,
        )
        return cls(initial, decay, init)

    def receive(self, inputs: np.ndarray):
        """The tick's ring-buffer slot (s16.15 bits, per receptor) joins the state."""
        self.state = fp.wrap32(self.state + fp.decay_accum(inputs, self.init))

    def shape(self):
        """The end of the tick: every state decays."""
        self.state = fp.decay_accum(self.state, self.decay)

    def revive(self, neurons: np.ndarray):
        self.state[:, neurons] = 0

    @staticmethod
    def handed_values(cell, semantics) -> dict:
        return {
            name: handed_time_constant(getattr(cell, name), semantics) for name in cell.synapse.time_constants.values()
        }

    @staticmethod
    def chip_values(cell, semantics, profile: str = fp.DEFAULT_PROFILE) -> dict:
        """Time constants re-derived from the on-chip decays (the semantics' decay of tau_syn' is the
        chip's); ``cell`` as handed to sPyNNaker."""
        values = {}
        for name in cell.synapse.time_constants.values():
            decay = SynapseTypeExponential._constants(getattr(cell, name), semantics.dt, profile)[0]
            # A decay of 0 on chip: a time constant whose decay is a quarter of the LSB, which rounds to 0.
            values[name] = _field(semantics.time_constant(np.maximum(decay, 0.25) / 2.0**32))
        return values

    @staticmethod
    def chip_init(cell, dt: float, profile: str = fp.DEFAULT_PROFILE) -> dict:
        """The chip's own ``init`` per receptor, as a population's ``synaptic_init``; ``cell`` as handed."""
        return {
            receptor: _field(
                np.maximum(SynapseTypeExponential._constants(getattr(cell, name), dt, profile)[1] / 2.0**32, 2.0**-32)
            )
            for receptor, name in cell.synapse.time_constants.items()
        }

    @staticmethod
    def weight_factor(cell, semantics) -> dict | None:
        """Per receptor, what the host multiplies weights by so that the chip's ``init`` (computed from
        the handed time constant: the first-tick mean of ``exp``) adds what the semantics' does: None for
        sPyNNaker's own meaning (``exact`` with ``mean_first_tick``); else the semantics' factor over the
        chip's (``cell`` as described)."""
        if semantics.discretization == "exact" and semantics.synaptic_init == "mean_first_tick":
            return None
        handed = SynapseTypeExponential.handed_values(cell, semantics)
        factors = {}
        for receptor, name in cell.synapse.time_constants.items():
            chip = SynapseTypeExponential._constants(handed[name], semantics.dt)[1] / 2.0**32
            factors[receptor] = _field(semantics.init_factor(getattr(cell, name)) / np.maximum(chip, 2.0**-32))
        return factors

    @staticmethod
    def _constants(tau, dt: float, profile: str = fp.DEFAULT_PROFILE) -> tuple[np.ndarray, np.ndarray]:
        return np.vectorize(lambda t: fp.synapse_constants(t, dt, profile), otypes=[np.int64, np.int64])(
            np.asarray(tau, dtype=np.float64)
        )

    @staticmethod
    def findings(population, dt: float) -> Iterator[tuple[str, str]]:
        for name in population.cell.synapse.time_constants.values():
            if fp.synapse_constants(float(population.value(name).min()), dt)[0] == 0:
                yield (
                    "warning",
                    (f"{name} is so short that the synaptic current decays to 0 within one tick of {dt:g} ms on chip"),
                )


@LOWERINGS.register(DeltaSynapse)
@dataclass(eq=False)
class SynapseTypeDelta(_Part):
    """synapse_types_delta_impl.h: per receptor a state that the tick's ring-buffer input joins as it is
    (no ``init``) and that is 0 at the end of every tick, refractory or not (an input arriving while the
    neuron is refractory is never read)."""

    state: np.ndarray

    @classmethod
    def build(cls, population, dt: float, initial: np.ndarray, profile: str = fp.DEFAULT_PROFILE) -> "SynapseTypeDelta":
        return cls(initial)

    def receive(self, inputs: np.ndarray):
        self.state = fp.wrap32(self.state + inputs)

    def shape(self):
        self.state = np.zeros_like(self.state)

    def revive(self, neurons: np.ndarray):
        self.state[:, neurons] = 0

    @staticmethod
    def chip_values(cell, semantics, profile: str = fp.DEFAULT_PROFILE) -> dict:
        return {}

    @staticmethod
    def chip_init(cell, dt: float, profile: str = fp.DEFAULT_PROFILE) -> None:
        """No ``init``: the reference's arithmetic (Accumulator with a delta synapse) adds none."""
        return None

    @staticmethod
    def weight_factor(cell, semantics) -> None:
        """Weights are charges as described, whatever the semantics: the input type scales them by 1/dt."""
        return None


# --- input types (neuron/input_types/input_type_current.h, input_type_conductance.h) -----------


class _InputType(_Part):
    """What input types share: the synaptic state is held times the global weight scale, from the cell's
    initial values named after the state (``isyn_exc``)."""

    weight_scale: ClassVar[float]
    accumulator_fields: ClassVar[dict] = {}  # Accumulator's fields beyond the weight scale
    reversal_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def initial_state(cls, population) -> np.ndarray:
        """Per receptor, the synaptic state's initial s16.15 bits."""
        return np.stack([_encoded(population, name, cls.weight_scale) for name in cls._state_fields(population.cell)])

    @classmethod
    def held(cls, cell) -> dict[str, float]:
        return {
            **{name: 1.0 for name in cls.reversal_fields},
            **{name: cls.weight_scale for name in cls._state_fields(cell)},
        }

    @classmethod
    def chip_values(cls, cell) -> dict:
        return {name: on_chip(getattr(cell, name), factor) for name, factor in cls.held(cell).items()}

    @staticmethod
    def _state_fields(cell) -> list[str]:
        return [f"{cell.input.state}_{suffix}" for suffix in ("exc", "inh")]


@LOWERINGS.register(CurrentInput)
@dataclass(eq=False)
class InputTypeCurrent(_InputType):
    """input_type_current.h: the synaptic state is the current; weights are written as they are."""

    weight_scale: ClassVar[float] = 1.0  # get_global_weight_scale

    @classmethod
    def build(cls, population, dt: float) -> "InputTypeCurrent":
        return cls()

    def drive(self, state: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The excitatory and inhibitory input of the tick, from the synaptic state."""
        return state[0], state[1]

    def recorded(self, state: np.ndarray) -> np.ndarray:
        """Per receptor, the synaptic state as sPyNNaker records it (input_type_get_input_value): s16.15
        bits of the current (nA)."""
        return state


@LOWERINGS.register(ConductanceInput)
@dataclass(eq=False)
class InputTypeConductance(_InputType):
    """input_type_conductance.h: the synaptic state holds ``2^shift g`` (weights are written times the
    global weight scale ``2^shift``), and drives towards the reversal potentials with the V the tick
    starts from: ``exc = (s_exc >> shift) * (E_rev_E - V)``, ``inh = (-(s_inh >> shift)) * (E_rev_I - V)``."""

    shift: ClassVar[int] = 10
    weight_scale: ClassVar[float] = float(1 << shift)
    accumulator_fields: ClassVar[dict] = {"conductance_shift": shift}
    reversal_fields: ClassVar[tuple[str, ...]] = tuple(ConductanceInput.reversal[r] for r in RECEPTORS)

    e_rev: np.ndarray  # per receptor, s16.15 bits

    @classmethod
    def build(cls, population, dt: float) -> "InputTypeConductance":
        return cls(np.stack([_encoded(population, name) for name in cls.reversal_fields]))

    def recorded(self, state: np.ndarray) -> np.ndarray:
        """Per receptor, the conductance as the input type reads it and sPyNNaker records it: s16.15 bits of
        ``floor(s / 2^shift)`` uS."""
        return state >> self.shift

    def drive(self, state: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g = state >> self.shift
        return (fp.mul_accum(g[0], fp.wrap32(self.e_rev[0] - v)), fp.mul_accum(-g[1], fp.wrap32(self.e_rev[1] - v)))


@dataclass(eq=False)
class InputTypeDelta(InputTypeCurrent):
    """input_type_delta.h: the synaptic state is a charge, and the tick's input is it times ``sf =
    floor(2^30 / S(dt))`` (1/dt as ``kdivk(1.0k, dt)`` computes it on chip), each receptor floored apart."""

    sf: int

    @classmethod
    def build(cls, population, dt: float) -> "InputTypeDelta":
        return cls(fp.kdivk(fp.ONE, fp.s1615(dt)))

    def drive(self, state: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return fp.mul_accum(state[0], self.sf), fp.mul_accum(state[1], self.sf)


# --- cell types ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellBuild:
    """What sPyNNaker builds for a cell type: the PyNN model it runs it as (None: sPyNNaker has none, the
    emulation alone computes the parts, and ``no_board`` says what a board would need), and its parts'
    lowerings."""

    model: str | None
    neuron: type
    synapse: type
    input: type
    no_board: str = ""

    @classmethod
    def register(cls, cell_type: type[CellType], model: str | None, no_board: str = "", **parts: type):
        """Register the build of ``cell_type``: its parts' lowerings, but for ``parts`` (by name) that
        sPyNNaker composes otherwise. The build is the PyNN model's, composed of these parts: a subclass
        with another part is refused (no model sPyNNaker runs is that composition), not built as this one."""
        names = ("neuron", "synapse", "input")
        found = {name: LOWERINGS.lookup(getattr(cell_type, name)) for name in names}
        LOWERINGS.register(cell_type, **{name: type(getattr(cell_type, name)) for name in names})(
            cls(model, **{**found, **parts}, no_board=no_board)
        )

    @property
    def parts(self) -> tuple[type, ...]:
        return self.neuron, self.synapse, self.input

    def handed(self, cell, semantics) -> CellType:
        """The cell with the time constants sPyNNaker is handed for the semantics' discretization
        (:func:`handed_time_constant`): what its host and cores compute their constants from."""
        if semantics.discretization == "exact":
            return cell
        return replace(
            cell, **self.neuron.handed_values(cell, semantics), **self.synapse.handed_values(cell, semantics)
        )

    def parameters(self, cell, semantics) -> dict:
        """The PyNN model's parameters: the handed cell's, under PyNN's names (its own), with the threshold
        a board compares ``>=`` with (the neuron part's ``pynn_values``)."""
        return {**self.handed(cell, semantics).parameters, **self.neuron.pynn_values(cell, semantics)}

    def weight_factor(self, population, receptor: str, semantics) -> np.ndarray | None:
        """Per neuron of ``population``, what the host multiplies the weights onto ``receptor`` by (the
        synapse part's ``weight_factor``), or None: written as described."""
        factors = self.synapse.weight_factor(population.cell, semantics)
        return None if factors is None else population.per_neuron(factors[receptor])

    def held(self, cell) -> dict[str, float]:
        """The fields the chip holds in s16.15, each with the factor it holds them times."""
        return {**{name: 1.0 for name in self.neuron.held_fields}, **self.input.held(cell)}

    def chip_cell(self, cell, semantics, profile: str = fp.DEFAULT_PROFILE) -> CellType:
        """The cell with the numbers the chip computes with (a typed copy), its time constants those whose
        decay under the semantics is the chip's (its constants encoded as ``profile`` does)."""
        handed = self.handed(cell, semantics)
        return replace(
            cell,
            **self.neuron.chip_values(handed, semantics, profile),
            **self.synapse.chip_values(handed, semantics, profile),
            **self.input.chip_values(cell),
        )

    def findings(self, population, dt: float) -> Iterator[tuple[str, str]]:
        """``(level, message)`` for what the chip cannot hold of ``population`` or loses of it."""
        for name, factor in self.held(population.cell).items():
            if np.any(np.abs(population.value(name)) * factor >= 65536):
                yield "error", f"{name} does not fit s16.15 (|x| < 65536" + (f" / {factor:g})" if factor != 1 else ")")
            default = population.cell.initial_value_specs().get(name)
            if default is not None and name != "v" and np.any(population.value(name) != default.default):
                yield (
                    "warning",
                    (
                        f"initial {name} is not {default.default:g}: the emulation starts from it, a board "
                        f"run through the PyNN script from {default.default:g}"
                    ),
                )
        for part in self.parts:
            yield from part.findings(population, dt)


CellBuild.register(IFCurrExp, "IF_curr_exp")
CellBuild.register(IFCondExp, "IF_cond_exp")
# sPyNNaker's delta input type scales the charge by 1/dt where the description's delta synapse does.
CellBuild.register(IFCurrDelta, "IF_curr_delta", input=InputTypeDelta)

# Cells sPyNNaker 7.x has no build for: the emulation computes them on the same accumulators (the parts
# above state how), a board would need the neuron model ``no_board`` names.
NO_THRESHOLD = (
    "sPyNNaker has no neuron model without a threshold (every build pairs its neuron model with a threshold "
    "type that spikes): a read-out needs a threshold type that never fires beside neuron_model_lif_impl.h "
    "(the SpiNNaker emulation, `run --backend spinnaker`, computes it)"
)
NO_LEAK = (
    "sPyNNaker has no neuron model without leak, and its LIF cannot stand for one (a tau_m long enough rounds "
    "exp_TC to 1 in s16.15, where V stops integrating at all): V += (dt / cm) I needs a neuron model that adds "
    "the input without decay (the SpiNNaker emulation, `run --backend spinnaker`, computes it)"
)
CellBuild.register(LICurrDelta, None, NO_THRESHOLD, input=InputTypeDelta)
CellBuild.register(LICurrExp, None, NO_THRESHOLD)
CellBuild.register(PIFCurrDelta, None, NO_LEAK, input=InputTypeDelta)
CellBuild.register(PICurrDelta, None, NO_LEAK, input=InputTypeDelta)


# --- Izhikevich: neuron_model_izh_impl.h (sPyNNaker's IZK_curr_exp, PyNN's Izhikevich) -------------


@LOWERINGS.register(QuadraticIntegrate)
@dataclass(eq=False)
class NeuronModelIzh(_Part):
    """neuron_model_izh_impl.h with threshold_type_static.h at 30 mV, on s16.15 bits per neuron, as the
    7.4.1 binary computes it: :class:`QuadraticIntegrate`'s integer step with f = 15 (0.04 held as
    1311 / 2^15, the half as a product with 0.5, beta in the order GCC reassociated), every product
    ``mul`` (floor), every sum wrapping at 32 bits. ``h`` is each neuron's ``this_h``: ``S(dt)``, and in
    the tick after a spike ``mul(S(dt), 60620)`` (1.85 truncated). No refractoriness."""

    held_fields: ClassVar[tuple[str, ...]] = ("a", "b", "c", "d", "i_offset", "v", "u")

    v: np.ndarray
    u: np.ndarray
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    i_offset: np.ndarray
    h: np.ndarray
    reset_h: np.ndarray
    strict: bool  # threshold '>' (the emulation's; sPyNNaker's threshold is fixed)

    @classmethod
    def build(cls, population, semantics, profile: str = fp.DEFAULT_PROFILE) -> "NeuronModelIzh":
        reset_h = np.full(population.size, fp.s1615(semantics.dt), dtype=np.int64)
        return cls(
            *(_encoded(population, name) for name in ("v", "u", "a", "b", "c", "d", "i_offset")),
            reset_h.copy(),
            reset_h,
            semantics.threshold == ">",
        )

    def step(self, exc: np.ndarray, inh: np.ndarray, alive: np.ndarray | None) -> np.ndarray:
        neuron, mul, wrap = QuadraticIntegrate(), fp.mul_accum, fp.wrap32
        m, k, c = (fp.s1615(x) for x in (neuron.quadratic, neuron.linear, neuron.constant))
        half = fp.s1615(0.5)
        v, u, h = self.v, self.u, self.h
        pre = wrap(wrap(exc - inh + self.i_offset) + c - u)
        alpha = wrap(pre + mul(wrap(mul(v, m) + k), v))
        eta = wrap(v + mul(mul(alpha, h), half))
        p = mul(h, self.a)
        beta = mul(mul(wrap(mul(v, self.b) - u), p), half)
        v_next = wrap(v + mul(wrap(pre - beta + mul(wrap(mul(eta, m) + k), eta)), h))
        u_next = wrap(u + mul(wrap(mul(eta, self.b) - wrap(u + beta)), p))
        threshold = fp.s1615(neuron.v_thresh)
        reached = v_next > threshold if self.strict else v_next >= threshold
        spiking = reached if alive is None else reached & alive
        self.v = np.where(spiking, self.c, v_next)
        self.u = np.where(spiking, wrap(u_next + self.d), u_next)
        self.h = np.where(spiking, mul(self.reset_h, int(fp.ONE * neuron.spike_step)), self.reset_h)
        return np.flatnonzero(spiking)

    def revive(self, neurons: np.ndarray):
        """Neurons coming alive start at the reset, with the recovery at its nullcline there."""
        self.v[neurons] = self.c[neurons]
        self.u[neurons] = fp.mul_accum(self.b[neurons], self.c[neurons])
        self.h[neurons] = self.reset_h[neurons]

    @staticmethod
    def chip_values(cell, semantics, profile: str = fp.DEFAULT_PROFILE) -> dict:
        """Parameters and initial values in s16.15 (the step's constants are the model's own)."""
        return {name: on_chip(getattr(cell, name)) for name in NeuronModelIzh.held_fields}

    arithmetic = staticmethod(_accumulator)

    @staticmethod
    def findings(population, dt: float) -> Iterator[tuple[str, str]]:
        h = fp.s1615(dt)
        a = _encoded(population, "a")
        held = (h * a >> fp.FRACTION_BITS) / np.maximum(h * a / fp.ONE, 1e-300)
        if np.any((a != 0) & (held < 0.99)):
            yield (
                "warning",
                (
                    f"a dt is held as floor(2^15 a dt) / 2^15 per tick: at dt = {dt:g} ms the recovery "
                    f"runs up to {1 - float(np.min(held[a != 0])):.0%} slow; a larger a or dt loses less"
                ),
            )


CellBuild.register(Izhikevich, "Izhikevich")
