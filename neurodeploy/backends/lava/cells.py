"""What Lava runs for each cell type, in one place: Nengo's builder registry, looked up through the cell's
class (``CELLS``), as PyNN keeps one translation per standard cell and simulator.

A cell type's registration is the class of its fixed-point numbers, stating the parts they compute
(a subclass with another neuron part is refused, not run as a LIF). Its ``quantized`` converts a
population (the quantize step), and the numbers know the rest: the Process they become (Lava's own
``lava.proc.lif.LIF`` where that computes them exactly, else our integer processes in ``proc/``), by name
with its constructor arguments (this module imports no Lava: the main process lowers, the Lava worker
builds the processes, :mod:`.graph`), their entry in the compile report, the loihi2 design rules they break, and the
quantization-aware reference made from them. Where Lava composes, so does this module: a LIF's input
type (sPyNNaker's current or conductance input) is its own registration (``INPUTS``), the part of the
numbers that sets u's scale and chooses the drive (CondExpLIF is CurrExpLIF with another drive), and so
is its synapse type (``SYNAPSES``: u's decay and what a weight adds; ``IF_curr_delta`` is a LIF whose u
forgets itself every tick).

The general formats (voltage scale S, 12-bit decays, 8-bit weight mantissas) are in :mod:`.quantize`.
"""

from __future__ import annotations

import abc
import math
from dataclasses import dataclass, fields, replace
from typing import ClassVar

import numpy as np

from neurodeploy.backends import LoweringRegistry
from neurodeploy.backends.lava.quantize import (
    ACTIVATION_SHIFT,
    BIAS_EXPONENT_MAX,
    DECAY_SHIFT,
    DECAY_UNITY,
    STATE_BITS,
    V_HEADROOM,
    arrival_factor,
    before_first_decay,
    bias,
    decay_code,
    implemented_time_constant,
    power_of_two_within,
    stock_threshold,
    stock_threshold_offset,
)
from neurodeploy.compilation import Finding
from neurodeploy.description import FixedPointLIF, Network, Population
from neurodeploy.description.cells import (
    STATE_SUFFIX,
    SYNAPTIC_RECORDABLES,
    ConductanceInput,
    CurrentInput,
    DeltaSynapse,
    ExponentialSynapse,
    FixedPointIzhikevich,
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
from neurodeploy.description.semantics import Semantics
from neurodeploy.errors import BackendError

CELLS = LoweringRegistry("lava")
INPUTS = LoweringRegistry("lava")
SYNAPSES = LoweringRegistry("lava")
MAX_REFRACTORY_TICKS = 255

NO_THRESHOLD = (
    "Lava's LIF and our processes all spike, and no threshold of Lava's LIF is out of reach (v saturates at "
    "2^23 - 1, its largest threshold is (2^17 - 1) 2^6): the lava backend runs the read-out on CurrExpLIF "
    "with vth beyond v's range; loihi2's quantization-aware reference (Brian2 on FixedPointLIF) does not "
    "compute it yet"
)
NO_LEAK = (
    "Lava's LIF with dv = 0 adds u + bias to v without decay (the lava backend runs it so); loihi2's "
    "quantization-aware reference (Brian2 on FixedPointLIF) does not compute it yet"
)


QUANTIZATIONS = ("neurodeploy", "nir-paper")


def population_fixed(network: Network, quantization: str = "neurodeploy") -> dict:
    """Every population's numbers, by its cell type's registration (``neurodeploy``), or all by the NIR
    paper's conversion (``nir-paper``: :class:`NirPaperLIFFixed`, which refuses what it cannot express)."""
    inputs = network.input_per_tick()
    if quantization == "nir-paper":
        problems = nir_paper_problems(network)
        if problems:
            raise BackendError("the nir-paper quantization cannot lower this network: " + "; ".join(problems))
    return {
        label: (NirPaperLIFFixed if quantization == "nir-paper" else CELLS.lookup(population.cell)).quantized(
            population,
            network.semantics,
            {receptor: inputs.get((label, receptor), 0.0) for receptor in population.cell.receptors},
        )
        for label, population in network.populations.items()
    }


def span(values: np.ndarray) -> list:
    """A report's summary of integers: up to four distinct values, else the range."""
    values = np.unique(values)
    return values.tolist() if values.size <= 4 else [int(values.min()), int(values.max())]


# --- input types: what u holds and how it drives v -------------------------------------------------


@INPUTS.register(CurrentInput)
@dataclass(eq=False)
class CurrentFixed:
    """Currents: u holds ``S (1 - E') R I`` in v's units and drives v as ``u_exc - u_inh`` (CurrExpLIF;
    Lava's LIF holds one such current)."""

    lif_process: ClassVar[str] = "CurrExpLIF"
    on_stock_lif: ClassVar[bool] = True
    conductance_shift: ClassVar[int] = 0

    @staticmethod
    def levels(population: Population) -> list[np.ndarray]:
        """Potentials v must hold besides threshold, reset and initial value."""
        return []

    @staticmethod
    def drive_per_tick(synaptic: np.ndarray):
        """The single-tick synaptic input in v's units (it bounds S)."""
        return synaptic

    @classmethod
    def quantized(cls, population: Population, scale: float, synaptic: np.ndarray) -> "CurrentFixed":
        return cls()

    @staticmethod
    def u_scale(scale: float) -> float:
        """u units per unit of (1 - E') R w, with v's scale S."""
        return scale

    def arguments(self) -> dict:
        """The LIF process's arguments for this input type."""
        return {}

    def report(self) -> dict:
        return {}

    def reference_fields(self, population: Population, scale: float) -> dict:
        """The cell's fields these numbers change, besides the LIF's."""
        return {}


@INPUTS.register(ConductanceInput)
@dataclass(eq=False)
class ConductanceFixed:
    """Conductances: u holds ``K (1 - E') R g`` with its own power of two ``K = 2^k`` (the largest
    single-tick conductance input within 21 bits of u), the reversal potentials are levels of v,
    ``e = round(S (E_rev - v_rest))`` (in the range S is chosen for), and the drive is ``u (e - v) >> k``,
    the current in v's units (CondExpLIF). Weights (uS) map to u as currents do, with K for S."""

    conductance_shift: int  # k
    e_rev_exc: np.ndarray
    e_rev_inh: np.ndarray

    lif_process: ClassVar[str] = "CondExpLIF"
    on_stock_lif: ClassVar[bool] = False

    @staticmethod
    def levels(population: Population) -> list[np.ndarray]:
        return [population.value(population.cell.input.reversal[receptor]) for receptor in population.cell.receptors]

    @staticmethod
    def drive_per_tick(synaptic: np.ndarray):
        return 0.0  # u has its own scale

    @classmethod
    def quantized(cls, population: Population, scale: float, synaptic: np.ndarray) -> "ConductanceFixed":
        u_scale = power_of_two_within(
            [2.0 ** (STATE_BITS - 3) / float(np.max(synaptic)) if np.max(synaptic) > 0 else np.inf]
        )
        v_rest = population.value("v_rest")
        e_rev_exc, e_rev_inh = (np.rint(scale * (level - v_rest)).astype(np.int64) for level in cls.levels(population))
        return cls(int(math.log2(u_scale)), e_rev_exc, e_rev_inh)

    def u_scale(self, scale: float) -> float:
        return 2.0**self.conductance_shift

    def arguments(self) -> dict:
        return {"e_rev_exc": self.e_rev_exc, "e_rev_inh": self.e_rev_inh, "conductance_shift": self.conductance_shift}

    def report(self) -> dict:
        return {
            "conductance_shift": self.conductance_shift,
            "e_rev_exc": span(self.e_rev_exc),
            "e_rev_inh": span(self.e_rev_inh),
        }

    def reference_fields(self, population: Population, scale: float) -> dict:
        v_rest = population.value("v_rest")
        reversal = population.cell.input.reversal
        return {
            reversal["excitatory"]: v_rest + self.e_rev_exc / scale,
            reversal["inhibitory"]: v_rest + self.e_rev_inh / scale,
        }


# --- synapse types: how u decays and what a weight adds to it ------------------------------------


@SYNAPSES.register(ExponentialSynapse)
class ExponentialFixed:
    """Exponential synapses: ``du = round(4096 (1 - E)) - 1`` with E the semantics' decay of tau_syn (Lava
    decays u by ``4096 - (du + 1)``); a weight adds the semantics' init factor for that decay (the
    first-tick mean, or 1)."""

    @staticmethod
    def du(population: Population, receptor: str, semantics: Semantics) -> np.ndarray:
        tau = population.value(population.cell.synapse.time_constants[receptor])
        return np.maximum(decay_code(tau, semantics) - 1, 0)

    @staticmethod
    def init(decay: np.ndarray, semantics: Semantics) -> np.ndarray:
        """The factor a weight arriving is scaled by, for the decay the integers implement."""
        return arrival_factor(decay, semantics)

    @staticmethod
    def reference_fields(
        population: Population, decays: dict, semantics: Semantics, stock_receptor: str | None
    ) -> dict:
        """The time constants the decays implement (Lava's LIF: both its one receptor's)."""
        time_constants, value = population.cell.synapse.time_constants, population.value
        tau_syn = {
            name: implemented_time_constant(decays[receptor], semantics, value(name))
            for receptor, name in time_constants.items()
        }
        if stock_receptor is not None:
            return dict.fromkeys(tau_syn, tau_syn[time_constants[stock_receptor]])
        return tau_syn

    @staticmethod
    def initial_value(initial_input: np.ndarray, dt: float) -> np.ndarray:
        """The initial value (``isyn_exc``) whose first tick's state is ``initial_input``."""
        return initial_input


@SYNAPSES.register(DeltaSynapse)
class DeltaFixed:
    """Delta synapses: ``du = 4095``, so Lava keeps ``4096 - (du + 1) = 0`` of u each tick and u is the
    tick's input alone (Lava's own LIF computes this exactly); a weight w adds as the current ``w / dt``."""

    @staticmethod
    def du(population: Population, receptor: str, semantics: Semantics) -> np.ndarray:
        return np.full(population.size, DECAY_UNITY - 1, dtype=np.int64)

    @staticmethod
    def init(decay: np.ndarray, semantics: Semantics) -> np.ndarray:
        return np.full(np.shape(decay), 1.0 / semantics.dt)

    @staticmethod
    def reference_fields(
        population: Population, decays: dict, semantics: Semantics, stock_receptor: str | None
    ) -> dict:
        return {}

    @staticmethod
    def initial_value(initial_input: np.ndarray, dt: float) -> np.ndarray:
        """The charge whose current is ``initial_input``."""
        return initial_input * dt


# --- cell types ------------------------------------------------------------------------------------


class CellFixed(abc.ABC):
    """What a cell type's registration is: its numbers, and what Lava runs for them."""

    scale: float  # v's units per mV: a voltage trace reads ``v_rest + v / scale``
    runs_turnover: ClassVar[bool] = True  # does the Process run neuron turnover?
    watch_clipping: ClassVar[bool] = False  # does a run fail if v was clipped (no threshold or leak bounds it)?
    no_target: ClassVar[str] = ""  # why a Loihi target cannot run these numbers (a design-rule error), if so

    @classmethod
    @abc.abstractmethod
    def quantized(cls, population: Population, semantics: Semantics, synaptic_input: dict) -> "CellFixed":
        """The numbers of ``population``; ``synaptic_input``: per receptor, the weight each neuron
        receives if all its inputs arrive in one tick."""

    @abc.abstractmethod
    def units_per_weight(self, receptor: str) -> np.ndarray:
        """Per neuron, the units of synaptic state a unit of weight arriving on ``receptor`` adds."""

    def current_units(self) -> np.ndarray | None:
        """Per neuron, the integer units per nA an injected current adds where ``i_offset`` does (each
        source's amplitude of the tick times these, rounded); None where the Process takes none."""
        return None

    def mantissa_units(self, receptor: str) -> np.ndarray:
        """Per neuron, the units per unit of weight that a weight's mantissa is rounded from: those it
        adds, unless the numbers follow another converter's weight formula."""
        return self.units_per_weight(receptor)

    @staticmethod
    def mantissa(steps: np.ndarray) -> np.ndarray:
        """A weight's mantissa from its size in mantissa steps: the nearest."""
        return np.rint(steps).astype(np.int64)

    def runs_on_stock_lif(self, network: Network, label: str) -> bool:
        """Can Lava's own LIF run the population exactly?"""
        return False

    @property
    @abc.abstractmethod
    def process_type(self) -> str:
        """The class name of our Process for these numbers (in :mod:`.proc`)."""

    @abc.abstractmethod
    def process(
        self, size: int, semantics: Semantics, stock_receptor: str | None, turnover: dict | None, max_epochs: int
    ) -> tuple:
        """The neurons' Process, as the name of its class (``LIF``, Lava's, when ``stock_receptor`` is given)
        and its constructor's arguments, for the network's ``semantics``."""

    @abc.abstractmethod
    def voltage(self, v: np.ndarray, population: Population) -> np.ndarray:
        """The membrane potential (mV) of the process's ``v`` (ticks x neurons, integers or floats), a new array:
        the only one made (a long trace's arrays cost more to make than to compute)."""

    synaptic_vars: ClassVar[dict[str, str]] = {}
    """Per receptor, the process's Var holding its synaptic state (none: the state cannot be recorded)."""

    def synaptic_state(self, state: np.ndarray, receptor: str, recording: str) -> np.ndarray:
        """The synaptic state (nA or uS) as the ``recording`` convention samples it, from the process's Var as
        Lava's Monitor reads it after each step (ticks x neurons)."""
        raise NotImplementedError

    @abc.abstractmethod
    def report(self) -> dict:
        """The compile report's entry."""

    @abc.abstractmethod
    def summary(self) -> str:
        """The compile text's line: the scale and the numbers that matter most."""

    @abc.abstractmethod
    def findings(self, subject: str) -> list[Finding]:
        """The loihi2 design rules these numbers break."""

    @abc.abstractmethod
    def reference(self, population: Population, semantics: Semantics, stock_receptor: str | None) -> Population:
        """The population of the quantization-aware reference."""

    def arrays(self) -> dict:
        """The numbers by name, for the compile's parameter file."""
        return dict(vars(self))

    def types(self) -> list[str]:
        """The classes of these numbers, by name, as :func:`numbers_from` takes them."""
        return [type(self).__name__]


def leaky_membrane(population: Population, semantics: Semantics) -> dict:
    """A leaky membrane's numbers before scaling: ``dv``, the gain (mV per nA per tick, ``(dv / DECAY_UNITY) R``) and
    the potential v is held relative to (v_rest)."""
    value = population.value
    dv = decay_code(value("tau_m"), semantics)
    return {"dv": dv, "gain": (dv / DECAY_UNITY) * value("tau_m") / value("cm"), "origin": value("v_rest")}


@CELLS.register(LIFParameters, neuron=LeakyIntegrate)
@dataclass(eq=False)
class LIFFixed(CellFixed):
    """A LIF population in integers (arrays, one value per neuron), run by CurrExpLIF or CondExpLIF (by its
    input type), or by Lava's LIF where that is exact; its synapse part's registration (``SYNAPSES``:
    exponential or delta) gives u's decays and what a weight adds.

    The membrane potential is kept relative to v_rest, ``v = S (V - v_rest)``. With ``E' = 1 - dv/4096``
    the neuron's per-tick decay, a current I (nA) is held as ``u = S (1 - E') R I`` (R = tau_m/cm), so
    that ``v' = E' v + u + bias`` is the shared model's ``V' = E' V' + (1 - E') R (I + i_offset)``:

    * ``dv = round(4096 (1 - E_m))``; ``du = round(4096 (1 - E_syn)) - 1`` (Lava decays currents by
      ``4096 - (du + 1)``), with E the semantics' decays (``exp(-dt/tau)``, or ``1 - dt/tau`` under
      ``euler``);
    * a weight w (nA) onto a neuron adds ``S (1 - E') R init' w`` to u (``init'`` the semantics' init
      factor for the implemented decay: the first-tick mean, or 1);
    * thresholds, resets and initial values are ``round(S (x - v_rest))``; the process compares v with
      vth as the semantics' threshold does and resets to v_reset or subtracts ``vth - v_reset`` (Lava's
      LIF, which resets to 0, runs neither subtraction nor a v_reset off rest); ``i_offset`` is the bias
      ``S (1 - E') R i_offset`` as a 13-bit mantissa and 3-bit exponent;
    * S is the largest power of two keeping twice the range of the levels (threshold, reset, initial
      value, the input type's, and the bound on V of a cell nothing resets, :meth:`reach`) within 23 bits
      (v is 24-bit signed) and the largest input one neuron can receive in a single tick within 21 bits of
      u, so the activation a connection delivers in a tick fits 16 signed bits (``a << 6`` enters u):
      thresholds and weights use the available bits.
      (Precision matters: on the 200-neuron benchmark the same-tick match with the quantization-aware
      reference grows from 99.3% at S = 2^14 to 100% at 2^18.) Inputs sustained far above that
      single-tick bound can still wrap u; the design rules say so.
    """

    scale: float  # S, units per mV
    dv: np.ndarray
    du_exc: np.ndarray
    du_inh: np.ndarray
    gain: np.ndarray  # (1 - E') R: mV per nA of current, per tick
    init_exc: np.ndarray  # the init factor for the implemented current decay
    init_inh: np.ndarray
    vth: np.ndarray
    v_reset: np.ndarray
    v_init: np.ndarray
    u_exc: np.ndarray
    u_inh: np.ndarray
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    refractory_ticks: np.ndarray
    input: CurrentFixed | ConductanceFixed

    @staticmethod
    def membrane(population: Population, semantics: Semantics) -> dict:
        """The membrane's numbers before scaling: ``dv``, the gain (mV per nA per tick), the potential v
        is held relative to, the threshold and reset potentials, the refractory ticks."""
        value = population.value
        return {
            **leaky_membrane(population, semantics),
            "v_thresh": value("v_thresh"),
            "v_reset": value("v_reset"),
            "refractory_ticks": semantics.refractory_ticks(value("tau_refrac")),
        }

    @classmethod
    def quantized(cls, population: Population, semantics: Semantics, synaptic_input: dict) -> "LIFFixed":
        value = population.value
        synapse = SYNAPSES.lookup(population.cell.synapse)
        membrane = cls.membrane(population, semantics)
        dv, gain, v_rest = membrane["dv"], membrane["gain"], membrane["origin"]
        du = {receptor: synapse.du(population, receptor, semantics) for receptor in population.cell.receptors}
        init = {receptor: synapse.init((DECAY_UNITY - 1 - du[receptor]) / DECAY_UNITY, semantics) for receptor in du}
        input_type = INPUTS.lookup(population.cell.input)
        levels = [membrane["v_thresh"], membrane["v_reset"], value("v")] + input_type.levels(population)
        level_span = np.max(np.abs(np.concatenate(levels) - np.tile(v_rest, len(levels))))
        decays = {receptor: (DECAY_UNITY - 1 - du[receptor]) / DECAY_UNITY for receptor in du}
        level_span = max(level_span, float(np.max(cls.reach(population, semantics, init, decays, synaptic_input))))
        synaptic = sum(gain * init[receptor] * synaptic_input[receptor] for receptor in du)
        tick = np.abs(gain * value("i_offset")) + input_type.drive_per_tick(synaptic)
        scale = power_of_two_within(
            [
                2.0 ** (STATE_BITS - 1) / (V_HEADROOM * level_span) if level_span > 0 else np.inf,
                2.0 ** (STATE_BITS - 3) / float(np.max(tick)) if np.max(tick) > 0 else np.inf,
            ]
        )
        bias_mant, bias_exp = bias(np.rint(scale * gain * value("i_offset")))
        part = input_type.quantized(population, scale, synaptic)
        u_scale = part.u_scale(scale)
        u = {
            receptor: np.rint(u_scale * gain * population.initial_input(receptor, semantics)).astype(np.int64)
            for receptor in du
        }
        return cls(
            scale,
            dv,
            du["excitatory"],
            du["inhibitory"],
            gain,
            init["excitatory"],
            init["inhibitory"],
            cls.threshold_level(scale * (membrane["v_thresh"] - v_rest)),
            np.rint(scale * (membrane["v_reset"] - v_rest)).astype(np.int64),
            np.rint(scale * (value("v") - v_rest)).astype(np.int64),
            u["excitatory"],
            u["inhibitory"],
            bias_mant,
            bias_exp,
            membrane["refractory_ticks"],
            part,
        )

    @staticmethod
    def reach(population: Population, semantics: Semantics, init: dict, decays: dict, synaptic_input: dict):
        """Per neuron, how far (mV) from the origin v can go besides the levels: nothing for a LIF, whose
        threshold bounds it from above and whose S leaves one tick's input room beyond its levels;
        sustained inhibition can still drive v to the 24-bit floor, where Lava clips it as the
        quantization-aware reference does (FixedPointLIF's step 2), so a deploy shows it."""
        return np.zeros(population.size)

    @staticmethod
    def threshold_level(units: np.ndarray) -> np.ndarray:
        """vth from the threshold's distance to the origin in units of v: the nearest."""
        return np.rint(units).astype(np.int64)

    def decay_v(self) -> np.ndarray:
        return 1.0 - self.dv / DECAY_UNITY

    def decay_u(self, receptor: str) -> np.ndarray:
        return (DECAY_UNITY - 1 - (self.du_exc if receptor == "excitatory" else self.du_inh)) / DECAY_UNITY

    def units_per_weight(self, receptor: str) -> np.ndarray:
        init = self.init_exc if receptor == "excitatory" else self.init_inh
        return self.input.u_scale(self.scale) * self.gain * init

    def current_units(self) -> np.ndarray | None:
        return self.scale * self.gain  # i_offset's: the bias is rint(S gain i_offset)

    def arrays(self) -> dict:
        return {**{name: value for name, value in vars(self).items() if name != "input"}, **vars(self.input)}

    def types(self) -> list[str]:
        return [type(self).__name__, type(self.input).__name__]

    # --- the Process ---

    def runs_on_stock_lif(self, network: Network, label: str) -> bool:
        """Exactly as described, up to its 64-unit threshold grid, if it holds one current and resets to rest,
        and its synaptic state is not recorded (Lava's LIF holds ``u_exc - u_inh``, not each)."""
        if set(network.recordings.get(label, ())) & set(SYNAPTIC_RECORDABLES):
            return False
        incoming = [p for p in network.projections.values() if p.post == label]
        receptors = {p.receptor for p in incoming}
        one_decay = len(receptors) <= 1 or np.array_equal(self.du_exc, self.du_inh)
        du = self.du_exc if receptors != {"inhibitory"} else self.du_inh
        vth = stock_threshold(self.vth, network.semantics.threshold)
        return (
            network.semantics.reset == "to_v_reset"
            and not self.watch_clipping  # Lava's LIF does not say whether it clipped v
            and label not in network.turnovers
            and not any(injection.population == label for injection in network.injections.values())
            and self.input.on_stock_lif
            and not np.any(self.refractory_ticks)
            and not np.any(self.v_reset)
            and one_decay
            and np.unique(self.dv).size == 1
            and np.unique(du).size == 1
            and not any(p.plasticity is not None for p in incoming)
            and bool(np.all((vth >= 0) & (vth < 1 << 17)))
        )

    @property
    def process_type(self) -> str:
        return self.input.lif_process

    def process(
        self, size: int, semantics: Semantics, stock_receptor: str | None, turnover: dict | None, max_epochs: int
    ) -> tuple:
        """The neurons' Process: Lava's LIF with the decay of ``stock_receptor`` (its one current), or
        without it ours, running ``turnover`` if given, with the semantics' threshold and reset."""
        if stock_receptor is not None:
            du = self.du_inh if stock_receptor == "inhibitory" else self.du_exc
            return "LIF", dict(
                shape=(size,),
                du=int(du[0]),
                dv=int(self.dv[0]),
                vth=stock_threshold(self.vth, semantics.threshold),
                bias_mant=self.bias_mant,
                bias_exp=self.bias_exp,
                u=before_first_decay(self.u_exc - self.u_inh, du),
                v=self.v_init,
            )
        return self.process_type, dict(
            shape=(size,),
            du_exc=self.du_exc,
            du_inh=self.du_inh,
            dv=self.dv,
            bias_mant=self.bias_mant,
            bias_exp=self.bias_exp,
            vth=self.vth,
            v_reset=self.v_reset,
            refractory_ticks=self.refractory_ticks,
            u_exc=before_first_decay(self.u_exc, self.du_exc),
            u_inh=before_first_decay(self.u_inh, self.du_inh),
            v=self.v_init,
            threshold=semantics.threshold,
            reset=semantics.reset,
            turnover=turnover,
            max_epochs=max_epochs,
            **self.input.arguments(),
        )

    # --- what the compile says about them ---

    def voltage(self, v: np.ndarray, population: Population) -> np.ndarray:
        """v is relative to v_rest."""
        mv = np.true_divide(v, self.scale)
        mv += population.value("v_rest")
        return mv

    synaptic_vars: ClassVar[dict[str, str]] = {"excitatory": "u_exc", "inhibitory": "u_inh"}

    def synaptic_state(self, state: np.ndarray, receptor: str, recording: str) -> np.ndarray:
        """The processes decay u at the start of a step, then add the step's input: the Monitor reads u after
        the tick's input and before its decay, what the spynnaker convention samples. The end of the tick is
        that u decayed as the next step decays it (``u (4096 - du - 1) >> 12``, toward zero). Read as
        ``u / (K (1 - E') R)`` (``K``: S for currents, ``2^k`` for conductances)."""
        if recording != "spynnaker":
            keep = DECAY_UNITY - 1 - (self.du_exc if receptor == "excitatory" else self.du_inh)
            product = state.astype(np.int64) * keep
            state = np.sign(product) * (np.abs(product) >> DECAY_SHIFT)
        return state / (self.input.u_scale(self.scale) * self.gain)

    def report(self) -> dict:
        return {
            "scale_units_per_mV": self.scale,
            "vth": span(self.vth),
            "v_reset": span(self.v_reset),
            "dv": span(self.dv),
            "du_exc": span(self.du_exc),
            "du_inh": span(self.du_inh),
            "bias_mant": span(self.bias_mant),
            "bias_exp": span(self.bias_exp),
            "refractory_ticks": span(self.refractory_ticks),
            **self.input.report(),
        }

    def summary(self) -> str:
        return (
            f"scale {self.scale:g}/mV, vth {span(self.vth)}, dv {span(self.dv)}, du exc {span(self.du_exc)} "
            f"inh {span(self.du_inh)}, refractory {span(self.refractory_ticks)}"
        )

    def findings(self, subject: str) -> list[Finding]:
        findings = []
        if np.any(self.dv >= DECAY_UNITY):
            findings.append(
                Finding(
                    "warning",
                    subject,
                    "tau_m is so short that V forgets everything within a tick; the 12-bit dv saturates at 4095",
                )
            )
        if np.any(self.gain == 0):
            findings.append(
                Finding(
                    "warning",
                    subject,
                    "tau_m is so long that the 12-bit dv is 0: the integers' gain (dv / 4096) R is 0, so i_offset "
                    "and every weight reach v as 0 (the membrane without leak is PIF_curr_delta)",
                )
            )
        for state, du in ((self.u_exc, self.du_exc), (self.u_inh, self.du_inh)):
            if np.any((state != 0) & (du >= DECAY_UNITY - 1)):
                findings.append(
                    Finding(
                        "warning",
                        subject,
                        "a synaptic state decays to 0 within a tick here, so its "
                        "non-zero initial value is lost: Lava's neurons decay it before first use",
                    )
                )
        if np.any(self.bias_exp > BIAS_EXPONENT_MAX):
            findings.append(
                Finding(
                    "error",
                    subject,
                    "i_offset is too large for a 13-bit bias mantissa with a 3-bit "
                    "exponent at this voltage scale: lower it",
                )
            )
        if np.any(self.refractory_ticks > MAX_REFRACTORY_TICKS):
            findings.append(
                Finding(
                    "error",
                    subject,
                    f"refractory periods above {MAX_REFRACTORY_TICKS} ticks do not "
                    "fit the 8-bit counter: shorten tau_refrac",
                )
            )
        return findings

    # --- the quantization-aware reference ---

    def reference(self, population: Population, semantics: Semantics, stock_receptor: str | None) -> Population:
        """The population with the numbers the integers implement: time constants whose decays
        (``Semantics.decay``) are the 12-bit ones (R kept; the described one where that decay is 0, which
        no time constant has and whose 12-bit decay is 0 too), thresholds, resets and initial values on the
        1/S grid (Lava's LIF, the one current of ``stock_receptor``: threshold on its 64-unit grid, reset to
        v_rest and both decays its receptor's), i_offset from the bias, and the neurons' integer
        arithmetic (FixedPointLIF)."""
        value, cell, dt = population.value, population.cell, semantics.dt
        v_rest = value("v_rest")
        tau_m = implemented_time_constant(self.decay_v(), semantics, value("tau_m"))
        synapse = SYNAPSES.lookup(cell.synapse)
        threshold, v_reset = self.vth, v_rest + self.v_reset / self.scale
        if stock_receptor is not None:  # Lava's LIF keeps one current: u_exc - u_inh, one decay
            offset = stock_threshold_offset(semantics.threshold)
            threshold, v_reset = stock_threshold(self.vth, semantics.threshold) * 64 + offset, cell.v_rest
        u = {"excitatory": self.u_exc, "inhibitory": self.u_inh}
        fields = {
            "tau_m": tau_m,
            "cm": tau_m / (value("tau_m") / value("cm")),
            "v_reset": v_reset,
            **synapse.reference_fields(population, {r: self.decay_u(r) for r in u}, semantics, stock_receptor),
            "v_thresh": v_rest + threshold / self.scale,
            "i_offset": (self.bias_mant * 2.0**self.bias_exp) / (self.scale * self.gain),
            "v": v_rest + self.v_init / self.scale,
            **{
                f"{cell.synaptic_state}_{STATE_SUFFIX[receptor]}": synapse.initial_value(
                    u[receptor] / (self.input.u_scale(self.scale) * self.gain), dt
                )
                for receptor in u
            },
            **self.input.reference_fields(population, self.scale),
        }
        arithmetic = FixedPointLIF(
            v_unit=1.0 / self.scale,
            decay_bits=DECAY_SHIFT,
            state_bits=STATE_BITS,
            conductance_shift=self.input.conductance_shift,
            currents="separate" if stock_receptor is None else "combined",
        )
        return replace(
            population,
            cell=replace(cell, **fields),
            arithmetic=arithmetic,
            synaptic_init={"excitatory": self.init_exc, "inhibitory": self.init_inh},
        )


# --- membranes without a threshold or without leak: the LIF's integers, vth out of reach or dv = 0 ----

NEVER = 1 << (STATE_BITS - 1)  # a vth v never reaches: v is clipped to +-(2^23 - 1)


class _NoTarget:
    """What the lava backend runs and loihi2 refuses: ``no_target`` says why (the design rules' error)."""

    no_target: ClassVar[str]

    def reference(self, population: Population, semantics: Semantics, stock_receptor: str | None) -> Population:
        raise BackendError(f"{population.cell_type}: {self.no_target}")

    def current_units(self) -> np.ndarray | None:
        return None


@CELLS.register(LIParameters, neuron=LeakyMembrane)
@dataclass(eq=False)
class LeakyMembraneFixed(_NoTarget, LIFFixed):
    """A leaky read-out (``LI_curr_delta``, ``LI_curr_exp``) in :class:`LIFFixed`'s integers, run by
    CurrExpLIF with ``vth = 2^23``, which the clipped v never reaches: the LIF's integer step without the
    threshold step (no refractoriness).

    Nothing resets v, so S is chosen from a bound on V itself (:meth:`reach`), not from a threshold."""

    no_target: ClassVar[str] = NO_THRESHOLD
    watch_clipping: ClassVar[bool] = True

    @staticmethod
    def reach(population: Population, semantics: Semantics, init: dict, decays: dict, synaptic_input: dict):
        """The bound on ``|V - v_rest|`` that V's step keeps, so that v (S this far within 23 bits, with
        :data:`V_HEADROOM`) is never clipped.

        Each tick ``V' = a - E (a - V)`` with ``0 <= E < 1`` and the tick's target ``a = v_rest + R (I +
        i_offset)``: V' lies between V and a, so by induction V stays within the range of V0 and every
        target. A receptor's current (the implemented decay E_syn, the init factor of a weight arriving) is
        ``I' = E_syn I + init w``, w the weight arriving in the tick, at most W (all of the neuron's inputs
        at once, plastic ones at w_max, never negative): by the same induction I stays within
        ``[min(I0, 0), max(I0, init W / (1 - E_syn))]`` (a delta synapse: E_syn = 0 and init = 1/dt, the
        charge's current). Excitation adds and inhibition subtracts, so ``|a - v_rest|`` is at most R times
        the larger of ``|i_offset + max I_exc - min I_inh|`` and ``|i_offset + min I_exc - max I_inh|``,
        and ``|V - v_rest| <= max(|V0 - v_rest|, that)`` (V0 is a level already). u holds ``S (1 - E') R I``,
        within the same bound, so it never wraps. The integers truncate decays toward zero, which only
        shrinks them; the weights' and bias's rounding to mantissas is what the headroom is for (and
        the run checks that v was never clipped)."""
        value = population.value
        low, high = {}, {}
        for receptor in init:
            start = population.initial_input(receptor, semantics)
            low[receptor] = np.minimum(start, 0.0)
            high[receptor] = np.maximum(start, init[receptor] * synaptic_input[receptor] / (1.0 - decays[receptor]))
        offset = value("i_offset")
        drive = np.maximum(
            np.abs(offset + high["excitatory"] - low["inhibitory"]),
            np.abs(offset + low["excitatory"] - high["inhibitory"]),
        )
        return value("tau_m") / value("cm") * drive

    @staticmethod
    def membrane(population: Population, semantics: Semantics) -> dict:
        value = population.value
        return {
            **leaky_membrane(population, semantics),
            "v_thresh": value("v_rest"),
            "v_reset": value("v_rest"),
            "refractory_ticks": np.zeros(population.size, dtype=np.int64),
        }

    @staticmethod
    def threshold_level(units: np.ndarray) -> np.ndarray:
        return np.full(np.shape(units), NEVER, dtype=np.int64)


@CELLS.register(PIFCurrDelta, neuron=PerfectIntegrate, synapse=DeltaSynapse, input=CurrentInput)
@dataclass(eq=False)
class PerfectIntegrateFixed(_NoTarget, LIFFixed):
    """``PIF_curr_delta`` in :class:`LIFFixed`'s integers with ``dv = 0`` (v keeps ``v 4096 >> 12 = v``):
    v is held relative to 0 mV, the gain is ``dt / cm``, so a charge q adds ``rint(S q / cm)`` to u and
    ``i_offset`` is the bias ``rint(S dt i_offset / cm)``: ``v' = v + u_exc - u_inh + bias``, then the
    threshold, reset and refractoriness of CurrExpLIF.

    Nothing bounds an integrator (inhibition drives it down without limit, and a reset by subtraction
    slower than its input lets it climb): S is chosen as for a LIF, and a run whose v was clipped fails
    (``watch_clipping``; Lava's LIF, which does not say so, never runs it)."""

    no_target: ClassVar[str] = NO_LEAK
    watch_clipping: ClassVar[bool] = True

    @staticmethod
    def membrane(population: Population, semantics: Semantics) -> dict:
        value = population.value
        spiking = isinstance(population.cell.neuron, PerfectIntegrate)
        zero = np.zeros(population.size)
        return {
            "dv": np.zeros(population.size, dtype=np.int64),
            "gain": semantics.dt / value("cm"),
            "origin": zero,
            "v_thresh": value("v_thresh") if spiking else zero,
            "v_reset": value("v_reset") if spiking else zero,
            "refractory_ticks": semantics.refractory_ticks(value("tau_refrac"))
            if spiking
            else np.zeros(population.size, dtype=np.int64),
        }

    def voltage(self, v: np.ndarray, population: Population) -> np.ndarray:
        return v / self.scale


@CELLS.register(PICurrDelta, neuron=PerfectMembrane, synapse=DeltaSynapse, input=CurrentInput)
@dataclass(eq=False)
class PerfectMembraneFixed(PerfectIntegrateFixed):
    """``PI_curr_delta``: :class:`PerfectIntegrateFixed` with ``vth = 2^23``, never reached."""

    threshold_level = LeakyMembraneFixed.threshold_level


# --- Izhikevich: our integer process, which a Loihi 2 would run as microcode -----------------------


@CELLS.register(Izhikevich, neuron=QuadraticIntegrate, synapse=ExponentialSynapse, input=CurrentInput)
@dataclass(eq=False)
class IzhikevichFixed(CellFixed):
    """An Izhikevich population in integers of ``1 / scale`` (``scale = 2^f``; arrays, one value per
    neuron), run by CurrExpIzhikevich: :class:`FixedPointIzhikevich`'s arithmetic, sPyNNaker's step.

    v, u, c, d, i_offset, the synaptic states, a, b and the step (ms) are ``rint(scale x)``; the step after
    a spike is ``floor(step floor(1.85 scale) / scale)``; synaptic decays are 12-bit, ``du =
    round(4096 (1 - E_syn))`` (E_syn the semantics' decay, kept below 4096), the state keeping ``4096 - du``;
    a weight w (nA) adds ``scale init' w`` (``init'`` the semantics' init factor for that decay); the
    threshold compares as the semantics' does. ``scale`` is the largest power of
    two (at most 2^16) that keeps twice the largest of |c|, |v|, |u| and the threshold within 23 bits and
    the largest input one neuron can receive in a tick, with i_offset, within 21 bits (a connection's
    activation fits 16 signed bits, ``a << 6`` enters the state).
    """

    runs_turnover: ClassVar[bool] = False

    scale: float
    fraction_bits: int
    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    i_offset: np.ndarray
    du_exc: np.ndarray
    du_inh: np.ndarray
    init_exc: np.ndarray
    init_inh: np.ndarray
    vth: np.ndarray
    step: np.ndarray
    spike_step: np.ndarray
    v_init: np.ndarray
    u_init: np.ndarray
    s_exc: np.ndarray
    s_inh: np.ndarray

    @classmethod
    def quantized(cls, population: Population, semantics: Semantics, synaptic_input: dict) -> "IzhikevichFixed":
        value, neuron = population.value, population.cell.neuron
        time_constants = population.cell.synapse.time_constants
        du = {
            receptor: np.minimum(decay_code(value(time_constants[receptor]), semantics), DECAY_UNITY - 1)
            for receptor in population.cell.receptors
        }
        init = {receptor: arrival_factor((DECAY_UNITY - du[receptor]) / DECAY_UNITY, semantics) for receptor in du}
        level_span = max(float(np.max(np.abs(value(name)))) for name in ("c", "v", "u"))
        level_span = max(level_span, neuron.v_thresh)
        tick = np.abs(value("i_offset")) + sum(init[receptor] * synaptic_input[receptor] for receptor in du)
        scale = min(
            power_of_two_within(
                [
                    2.0 ** (STATE_BITS - 1) / (V_HEADROOM * level_span),
                    2.0 ** (STATE_BITS - 3) / float(np.max(tick)) if np.max(tick) > 0 else np.inf,
                ]
            ),
            2.0**16,
        )
        levels = lambda name: np.rint(scale * value(name)).astype(np.int64)  # noqa: E731
        step = np.full(population.size, int(np.rint(scale * semantics.dt)), dtype=np.int64)
        state = population.cell.synaptic_state
        return cls(
            scale,
            int(math.log2(scale)),
            levels("a"),
            levels("b"),
            levels("c"),
            levels("d"),
            levels("i_offset"),
            du["excitatory"],
            du["inhibitory"],
            init["excitatory"],
            init["inhibitory"],
            np.full(population.size, int(np.rint(scale * neuron.v_thresh)), dtype=np.int64),
            step,
            step * int(math.floor(scale * neuron.spike_step)) // int(scale),
            levels("v"),
            levels("u"),
            levels(f"{state}_exc"),
            levels(f"{state}_inh"),
        )

    def units_per_weight(self, receptor: str) -> np.ndarray:
        return self.scale * (self.init_exc if receptor == "excitatory" else self.init_inh)

    def current_units(self) -> np.ndarray | None:
        return np.full(self.a.shape, self.scale)  # i_offset's: rint(S i_offset)

    @property
    def process_type(self) -> str:
        return "CurrExpIzhikevich"

    def process(
        self, size: int, semantics: Semantics, stock_receptor: str | None, turnover: dict | None, max_epochs: int
    ) -> tuple:
        if turnover is not None:
            raise BackendError("CurrExpIzhikevich runs no neuron turnover")
        return self.process_type, dict(
            shape=(size,),
            fraction_bits=self.fraction_bits,
            a=self.a,
            b=self.b,
            c=self.c,
            d=self.d,
            i_offset=self.i_offset,
            du_exc=self.du_exc,
            du_inh=self.du_inh,
            vth=self.vth,
            step=self.step,
            spike_step=self.spike_step,
            v=self.v_init,
            u=self.u_init,
            s_exc=self.s_exc,
            s_inh=self.s_inh,
            threshold=semantics.threshold,
        )

    def voltage(self, v: np.ndarray, population: Population) -> np.ndarray:
        return v / self.scale

    synaptic_vars: ClassVar[dict[str, str]] = {"excitatory": "s_exc", "inhibitory": "s_inh"}

    def synaptic_state(self, state: np.ndarray, receptor: str, recording: str) -> np.ndarray:
        """The process decays s at the end of its step: the Monitor reads the end of the tick, ``s / scale``
        (the state after the tick's input is gone by then: the spynnaker convention is refused)."""
        if recording == "spynnaker":
            raise BackendError(
                "CurrExpIzhikevich decays its synaptic state within its step: the spynnaker convention (the state "
                "after the tick's input) is not sampled on Lava"
            )
        return state / self.scale

    def report(self) -> dict:
        return {
            "scale_units_per_mV": self.scale,
            "fraction_bits": self.fraction_bits,
            "a": span(self.a),
            "b": span(self.b),
            "c": span(self.c),
            "d": span(self.d),
            "i_offset": span(self.i_offset),
            "vth": span(self.vth),
            "step": span(self.step),
            "spike_step": span(self.spike_step),
            "du_exc": span(self.du_exc),
            "du_inh": span(self.du_inh),
        }

    def summary(self) -> str:
        return (
            f"scale {self.scale:g}/mV (2^{self.fraction_bits}), a {span(self.a)}, b {span(self.b)}, "
            f"step {span(self.step)} then {span(self.spike_step)} after a spike, du exc {span(self.du_exc)} "
            f"inh {span(self.du_inh)}"
        )

    def findings(self, subject: str) -> list[Finding]:
        findings = [
            Finding(
                "warning",
                subject,
                "Loihi 2 runs Izhikevich neurons only as custom microcode (no "
                "built-in neuron model squares v): it needs two 24-bit state variables (v, u) besides "
                "the step h and the synaptic currents, the square of v per step (a 24 x 24-bit product, "
                "48 bits before the shift) and 32-bit intermediate sums; CurrExpIzhikevich computes it "
                f"on integers of 2^-{self.fraction_bits}",
            )
        ]
        if self.fraction_bits < 1:
            findings.append(
                Finding(
                    "error",
                    subject,
                    "v, u or the input per tick are too large for 24-bit state "
                    "with a fraction bit: lower the weights, i_offset or the levels",
                )
            )
        elif self.fraction_bits < 10:
            findings.append(
                Finding(
                    "warning",
                    subject,
                    f"v and u keep only {self.fraction_bits} fraction bits (the "
                    "levels or the input per tick are large): a, b and 0.04 lose precision",
                )
            )
        if np.any(self.a == 0) or np.any(self.b == 0):
            findings.append(Finding("warning", subject, f"a or b is below 2^-{self.fraction_bits + 1} and becomes 0"))
        return findings

    def reference(self, population: Population, semantics: Semantics, stock_receptor: str | None) -> Population:
        """The population with the numbers the integers implement: parameters and initial values on the
        1/scale grid, time constants whose decays are the 12-bit ones, and the integer arithmetic
        (FixedPointIzhikevich)."""
        cell = population.cell
        tau_syn = {
            name: semantics.time_constant(
                (DECAY_UNITY - (self.du_exc if receptor == "excitatory" else self.du_inh)) / DECAY_UNITY
            )
            for receptor, name in cell.synapse.time_constants.items()
        }
        state = cell.synaptic_state
        fields = {
            "a": self.a / self.scale,
            "b": self.b / self.scale,
            "c": self.c / self.scale,
            "d": self.d / self.scale,
            "i_offset": self.i_offset / self.scale,
            "v": self.v_init / self.scale,
            "u": self.u_init / self.scale,
            f"{state}_exc": self.s_exc / self.scale,
            f"{state}_inh": self.s_inh / self.scale,
            **tau_syn,
        }
        arithmetic = FixedPointIzhikevich(
            fraction_bits=self.fraction_bits, decay_bits=DECAY_SHIFT, state_bits=STATE_BITS
        )
        return replace(
            population,
            cell=replace(cell, **fields),
            arithmetic=arithmetic,
            synaptic_init={"excitatory": self.init_exc, "inhibitory": self.init_inh},
        )


# --- the NIR paper's conversion: Lava's stock LIF configured as paper/nir_to_lava.py does -----------

NIR_PAPER_SCALE = 2.0**14  # (int(v 131071) >> 9) << 6: 2^14 units per unit of v
NIR_PAPER_THRESHOLD_UNITS = 131071  # the paper's 17-bit threshold scale, before its >> 9
NIR_PAPER_WEIGHT_SCALE = 256  # the paper's int(256 w): mantissas of 2^6 units of v
INTEGER_SLACK = 1e-9  # relative: a weight recovered as charge / dt lands within this of the paper's product


def leak_fraction(tau, semantics: Semantics) -> np.ndarray:
    """``1 - E`` of a time constant: ``dt / tau`` under ``euler`` (the paper's ``dt / tau`` bit for bit), else
    ``1 - exp(-dt / tau)``."""
    tau = np.asarray(tau, dtype=np.float64)
    return semantics.dt / tau if semantics.discretization == "euler" else -np.expm1(-semantics.dt / tau)


def nir_paper_threshold(v_thresh: np.ndarray) -> np.ndarray:
    """The paper's ``int(v_threshold * 131071) >> 9``: the stock LIF's vth, 2^6 units each."""
    return np.right_shift(np.trunc(np.asarray(v_thresh) * NIR_PAPER_THRESHOLD_UNITS).astype(np.int64), 9)


def nir_paper_lacks(cell) -> str:
    """Why the paper's conversion has nothing for a cell that is not a NIR LIF: it makes a Lava LIF of
    NIR's LIF nodes and raises on every other neuron node."""
    if isinstance(cell.neuron, LeakyMembrane):
        return "it has no Lava process for NIR's read-outs LI and CubaLI, which never spike"
    if isinstance(cell.neuron, (PerfectIntegrate, PerfectMembrane)):
        return "it has no Lava process for NIR's leakless IF and I"
    if isinstance(cell.input, ConductanceInput) or not isinstance(cell.neuron, LeakyIntegrate):
        return "NIR has no node for this cell"
    return "it has no Lava process for a CubaLIF"


def nir_paper_problems(network: Network) -> list[str]:
    """What Lava's stock LIF, configured as the paper does, cannot compute: each in words that say what
    to change (empty when it can)."""
    semantics = network.semantics
    problems = []
    if semantics.threshold != ">":
        problems.append("threshold '>=': the paper's Lava LIF spikes on v > vth: use threshold '>'")
    if semantics.reset != "to_v_reset":
        problems.append(f"reset '{semantics.reset}': Lava's stock LIF sets v to 0 at a spike: use to_v_reset")
    inputs = network.input_per_tick()
    for label, population in network.populations.items():
        subject, cell, value = f"population '{label}'", population.cell, population.value
        if not (
            isinstance(cell, LIFParameters)
            and isinstance(cell.neuron, LeakyIntegrate)
            and isinstance(cell.synapse, DeltaSynapse)
            and isinstance(cell.input, CurrentInput)
        ):
            problems.append(
                f"{subject} is {population.cell_type}: the paper's Lava conversion configures a NIR LIF "
                f"(IF_curr_delta) only ({nir_paper_lacks(cell)})"
            )
            continue
        for name, what in (
            ("v_rest", "v_leak: the paper drops it (no bias), its LIF leaks to 0"),
            ("v_reset", "v_reset: Lava's stock LIF resets to 0"),
            ("v", "the initial v: the paper's LIF starts from 0"),
            ("i_offset", "i_offset: the paper refuses a bias"),
            ("tau_refrac", "tau_refrac: Lava's stock LIF has no refractory period"),
        ):
            if np.any(value(name) != 0):
                problems.append(f"{subject}: {name} must be 0 ({what})")
        if any(np.any(population.initial_input(receptor, semantics) != 0) for receptor in cell.receptors):
            problems.append(f"{subject}: the initial synaptic charge must be 0 (the paper's LIF starts with u = 0)")
        vth = nir_paper_threshold(value("v_thresh"))
        if np.any(vth < 0) or np.any(vth >= 1 << 17):
            problems.append(f"{subject}: v_thresh must be within [0, 512) for the stock LIF's 17-bit vth")
        units_per_charge = NIR_PAPER_SCALE * value("tau_m") / value("cm") * leak_fraction(value("tau_m"), semantics)
        tick = units_per_charge / semantics.dt * sum(inputs.get((label, r), 0.0) for r in cell.receptors)
        if np.max(tick) > 2.0 ** (STATE_BITS - 3):
            problems.append(
                f"{subject}: its inputs in one tick can exceed 2^{STATE_BITS - 3} units of u at the paper's "
                "2^14 units per unit of v: lower the weights"
            )
        if label in network.turnovers:
            problems.append(f"{subject}: the paper's stock LIF runs no neuron turnover")
    for label, projection in network.projections.items():
        if projection.plasticity is not None or projection.structural is not None:
            problems.append(f"projection '{label}': the paper's conversion has static weights only")
    return problems


@dataclass(eq=False)
class NirPaperLIFFixed(LIFFixed):
    """A NIR LIF (an ``IF_curr_delta`` population with v_rest = v_reset = 0, no refractoriness or bias)
    in the integers the NIR paper's ``paper/nir_to_lava.py`` gives Lava's stock LIF, with ``1 - E`` the
    semantics' (``dt / tau`` under ``euler``, the paper's):

    * v is held at ``S = 2^14`` units per unit of v; ``dv = int(4095 (1 - E_m))``; ``du = 4095`` (Lava's
      ``+1`` on du makes the current last one tick);
    * the threshold is ``(int(v_thresh 131071) >> 9) << 6``, spiking when v is above it, reset to 0;
    * a charge q onto a neuron is the NIR weight ``w = q / dt`` and adds the paper's
      ``int(256 r w (1 - E_m)) << 6`` (``mantissa_gain`` is ``r (1 - E_m)``), truncated as the paper's
      ``astype(int32)`` does; the weight exponent grows past 0 only where that exceeds 255.

    ``gain`` stays the implemented ``(dv / DECAY_UNITY) R``, so the quantization-aware reference rebuilt from
    these numbers (:meth:`LIFFixed.reference`) adds each stored weight's ``mantissa << 6`` exactly.
    """

    mantissa_gain: np.ndarray = None  # r (1 - E_m): what the paper's weight formula multiplies by

    def current_units(self) -> np.ndarray | None:
        return None  # the paper's stock LIF runs no bias

    @classmethod
    def quantized(cls, population: Population, semantics: Semantics, synaptic_input: dict) -> "NirPaperLIFFixed":
        value, size = population.value, population.size
        resistance = value("tau_m") / value("cm")
        fraction = leak_fraction(value("tau_m"), semantics)
        dv = np.trunc(fraction * (DECAY_UNITY - 1)).astype(np.int64)
        zeros = np.zeros(size, dtype=np.int64)
        delta = np.full(size, DECAY_UNITY - 1, dtype=np.int64)
        init = np.full(size, 1.0 / semantics.dt)
        return cls(
            scale=NIR_PAPER_SCALE,
            dv=dv,
            du_exc=delta,
            du_inh=delta.copy(),
            gain=(dv / DECAY_UNITY) * resistance,
            init_exc=init,
            init_inh=init.copy(),
            vth=nir_paper_threshold(value("v_thresh")) << ACTIVATION_SHIFT,
            v_reset=zeros,
            v_init=zeros.copy(),
            u_exc=zeros.copy(),
            u_inh=zeros.copy(),
            bias_mant=zeros.copy(),
            bias_exp=zeros.copy(),
            refractory_ticks=zeros.copy(),
            input=CurrentFixed(),
            mantissa_gain=fraction * resistance,
        )

    def mantissa_units(self, receptor: str) -> np.ndarray:
        init = self.init_exc if receptor == "excitatory" else self.init_inh
        return self.scale * self.mantissa_gain * init

    @staticmethod
    def mantissa(steps: np.ndarray) -> np.ndarray:
        """The paper's ``astype(int32)``: toward zero (the steps are magnitudes), a product landing within
        ``INTEGER_SLACK`` below an integer counted as that integer."""
        return np.floor(np.asarray(steps) * (1.0 + INTEGER_SLACK)).astype(np.int64)

    def summary(self) -> str:
        return "nir-paper: " + super().summary()


def numbers_from(types: list[str], arrays: dict) -> CellFixed:
    """A population's numbers from their classes' names (``CellFixed.types``) and the arrays of the
    parameter file: how the worker gets them from the main process."""
    classes = {cls.__name__: cls for cls in (*CELLS.functions(), *INPUTS.functions(), NirPaperLIFFixed)}
    numbers, *parts = (classes[name] for name in types)
    arguments = {field.name: arrays[field.name] for field in fields(numbers) if field.name != "input"}
    if parts:
        arguments["input"] = parts[0](**{field.name: arrays[field.name] for field in fields(parts[0])})
    return numbers(**arguments)
