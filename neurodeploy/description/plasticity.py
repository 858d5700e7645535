"""Spike-timing-dependent plasticity with its semantics spelled out, not implied by a backend.

A pair rule, with one of three ways of pairing spikes (``traces``). Each synapse with delay ``d`` sees
its post neuron's spike at ``t_post`` as a **post** event at ``T = t_post + d``
(``post_spike_shift = "synaptic_delay"``; ``T = t_post`` with ``"none"``) and its pre neuron's spike as a
**pre** event at ``t_pre``. Additive weight dependence changes ``w`` by ``+A+ x`` at a post event and
``-A- y`` at a pre event (``x``, ``y`` below), then clamps it to ``w_max`` / ``w_min``; multiplicative
dependence by ``+A+ x (w_max - w)`` and ``-A- y (w - w_min)``.

``all_to_all``: every pair counts. Each neuron keeps a trace that jumps at its spikes,
``r = r exp(-dt_since_last/tau_plus) + 1`` for the pre neuron and likewise ``o`` with ``tau_minus``
for the post neuron (both 0 before the first spike). A post event at ``T`` potentiates against the
latest pre event strictly before it, ``x = r_last exp(-(T - t_pre_last)/tau_plus)``; a pre event at
``t_pre`` depresses against the latest post event at or before it (zero lag included),
``y = o_last exp(-(t_pre - T_last)/tau_minus)``.

``nearest_symmetric``: the symmetric nearest-spike rule of Morrison et al. 2008 (NEST's
``stdp_nn_symm_synapse``): as ``all_to_all`` with traces that are set to 1 at a spike instead of
incremented, so each post event pairs with the latest pre event before it and each pre event with the
latest post event at or before it, however many other spikes paired with them already.

``nearest_spynnaker``: sPyNNaker's ``SpikeNearestPairRule`` (``timing_nearest_pair_impl.h`` as
``synapse_dynamics_stdp_mad_impl.c`` drives it), in which a pre spike pairs with the first post spike
after it only. A post event at ``T`` (post spike at ``t_post``) potentiates with
``x = exp(-(T - t_pre_last)/tau_plus)``, ``t_pre_last`` the latest pre spike strictly before ``T``, only
if the post neuron's spike before ``t_post`` (its own, unshifted time ``p``; 0 if there is none) is not
later than that pre spike: ``p <= t_pre_last``. Before a pre neuron's first spike ``t_pre_last`` is 0
(sPyNNaker's initial last-pre time: a pre neuron's first spike applies the post events before it
against time 0). A pre event at ``t_pre`` depresses against the latest post event at or before it,
``y = exp(-(t_pre - T_last)/tau_minus)``, if the post neuron has spiked. The comparison of the
unshifted ``p`` with ``t_pre_last`` is sPyNNaker's: with delay ``d``, a post event within ``d`` of
the post event before it still potentiates when that earlier post spike precedes the pre spike.

``coincident_spikes`` orders a post event and a pre event at the same time: ``post_first`` (the
post potentiates against the earlier pre, the pre then depresses at zero lag: sPyNNaker) or
``pre_first``. ``amplitude = "absolute"`` takes ``A+``/``A-`` in nA; ``"scaled_by_w_max"`` multiplies
them by ``w_max`` (additive only). ``weight_update = "at_pre_spike"`` makes the weight visible (and
read back) change only when a pre spike is processed (sPyNNaker's lazy update);
``"at_each_spike"`` applies every update when it happens. ``delivered_weight`` says whether a pre
spike delivers the weight after (``after_update``) or before (``before_update``) its own update.

``heterosynaptic`` (optional, 0 = none; additive weight dependence only) adds the competition between a
neuron's inputs that keeps receptive fields local: at every post event, after that event's potentiation
and its clamp, the synapse loses the constant ``heterosynaptic`` (nA; times ``w_max`` with
``scaled_by_w_max``) and is clamped to ``w_min``. Every plastic synapse onto the neuron loses it, whether
its pre neuron fired or not, so an input that takes part in the post neuron's spikes gains (A+ x) while the
rest decay; under ``at_pre_spike`` the loss, like the potentiation, becomes visible at the synapse's next
pre spike.

``arithmetic`` (:class:`FixedPointSTDP`, optional) replaces the real-valued updates above by the
integer ones of a fixed-point chip, so that a reference can compute what the chip computes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neurodeploy.description import values
from neurodeploy.errors import ValidationError

STDP_SEMANTICS_OPTIONS = {
    "weight_update": ("at_pre_spike", "at_each_spike"),
    "delivered_weight": ("after_update", "before_update"),
    "post_spike_shift": ("synaptic_delay", "none"),
    "coincident_spikes": ("post_first", "pre_first"),
    "amplitude": ("absolute", "scaled_by_w_max"),
    "traces": ("all_to_all", "nearest_symmetric", "nearest_spynnaker"),
}


@dataclass(eq=False)
class STDPSemantics:
    """When and how pair-STDP updates apply (see the module docstring). The defaults are
    sPyNNaker 7.x's rule, the one that reproduces the SpiNNaker recordings."""

    weight_update: str = "at_pre_spike"
    delivered_weight: str = "after_update"
    post_spike_shift: str = "synaptic_delay"
    coincident_spikes: str = "post_first"
    amplitude: str = "absolute"
    traces: str = "all_to_all"

    def __post_init__(self):
        for name, options in STDP_SEMANTICS_OPTIONS.items():
            values.choice(getattr(self, name), options, "stdp semantics", name)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in STDP_SEMANTICS_OPTIONS}

    @classmethod
    def from_dict(cls, data, where: str) -> "STDPSemantics":
        """Models saved before sPyNNaker's pairing had a name say ``traces: nearest`` for the symmetric
        nearest pairs (``nearest_symmetric``), which is what they load as."""
        values.check_keys(data, STDP_SEMANTICS_OPTIONS, where)
        if isinstance(data, dict) and data.get("traces") == "nearest":
            data = {**data, "traces": "nearest_symmetric"}
        return cls(**data)

    @classmethod
    def immediate(cls) -> "STDPSemantics":
        """The textbook online rule (Brian2's STDP example): every update at its spike, no delay
        shift, a pre spike delivers the weight it found."""
        return cls(
            weight_update="at_each_spike",
            delivered_weight="before_update",
            post_spike_shift="none",
            coincident_spikes="pre_first",
        )


FIXED_POINT_TRACES = ("all_to_all", "nearest_spynnaker")  # the pairings sPyNNaker runs

FIXED_POINT_OPTIONS = {
    "decay_rounding": ("floor", "nearest"),
    "trace_overflow": ("wrap", "saturate"),
    "rate_product": ("floor_each", "floor_once"),
}


@dataclass(eq=False)
class FixedPointSTDP:
    """The pair rule on integers, deferred to pre spikes as sPyNNaker runs it: a chip's arithmetic as
    a declared meaning, so a float reference can compute it spike for spike. The defaults are
    sPyNNaker 7.x's but for the weight units; Lava's PairSTDPSynapses is the other setting.

    Weights are whole units of ``weight_lsb`` (nA or uS) while updated, and stored as ``weight_bits``-bit
    counts of ``weight_step`` (a whole number of units); A+, A-, w_min and w_max are whole units
    (multiplicative A+ and A- whole units of 2^-rate_bits). Traces are ``trace_width``-bit signed
    integers of 2^-b (``b = trace_bits``) that ``wrap`` or ``saturate``; over ``k >= 0`` ticks a trace
    decays by the factor ``E(k) = R(2^c exp(-k dt / tau)) / 2^c`` (``c = decay_bits``, ``R`` floor or
    nearest integer: ``decay_rounding``), by 0 for ``k < 0``. Every product is floored, and exact (a
    chip's 32-bit wrap of products, reached only near the ends of its range, is not part of this; a
    reference computes exactly below 2^53). Each neuron remembers its latest ``history`` spikes, each
    with the post trace ``o = ovf(floor(o' E-(s - s')) + 2^b)`` (``s'``, ``o'``: the spike before, 0 at first).

    A pre spike in tick ``t`` on a synapse of delay ``d``, its pre neuron's previous spike at ``t0``
    with trace ``r0`` (0 and 0 before the first), its post neuron remembering the spikes up to tick ``t``:

    1. for each remembered post spike ``s`` with ``t0 - d < s <= t - d``, oldest first (a spike in tick 0
       only with ``potentiate_tick_zero``; without it times are unsigned, as on sPyNNaker: both ends of the
       window are ``max(., 0)``): ``r1 = floor(r0 E+(s + d - t0))``, additive
       ``w = min(w + floor(A+ r1 / 2^b), w_max)``, multiplicative ``w += P(w_max - w, A+, r1)``; then, with a
       heterosynaptic amplitude ``H`` (whole units), ``w = max(w - H, w_min)``;
    2. with the latest remembered ``s`` at or before the window's end and its trace ``o``:
       ``o1 = floor(o E-(t - s - d))``,
       additive ``w = max(w - floor(A- o1 / 2^b), w_min)``, multiplicative ``w -= P(w - w_min, A-, o1)``;
    3. ``w`` is floored to whole steps, wrapped to ``weight_bits`` (unsigned, or two's complement with
       ``weight_signed``), stored and delivered;
    4. ``r0 = ovf(floor(r0 E+(t - t0)) + 2^b)``, ``t0 = t``.

    With ``traces = "nearest_spynnaker"`` (sPyNNaker's nearest pair rule, the module docstring) traces are
    1 at each spike: step 1 takes ``r1 = floor(2^b E+(s + d - t0))``, and only for the spikes ``s`` whose
    remembered spike before (0 for the oldest remembered) is at or before ``t0``; step 2 takes
    ``o1 = floor(2^b E-(t - s - d))``. The heterosynaptic loss of step 1 applies at every post spike in
    the window, paired or not. A post spike older than the ``history`` remembered ones is not in the window:
    its loss is lost with its potentiation, where the float rule takes it (unlike a potentiation it does not
    fade with time): the integer rule computes the float one's losses only while a post neuron fires at most
    ``history`` times between two pre spikes of a synapse.

    ``P(x, A, r)`` is ``floor(floor(x A / 2^rate_bits) r / 2^b)`` (``rate_product = "floor_each"``) or
    ``floor(x A r / 2^(rate_bits + b))`` (``"floor_once"``); the multiplicative rule has no clamp. A
    synapse formed by structural plasticity starts from its initial weight and is updated at its pre
    neuron's next spike as if it had existed since the previous one.
    """

    weight_lsb: float
    weight_step: float
    weight_bits: int = 16
    weight_signed: bool = False
    trace_bits: int = 11
    decay_bits: int = 11
    decay_rounding: str = "floor"
    trace_width: int = 16
    trace_overflow: str = "wrap"
    rate_bits: int = 15
    rate_product: str = "floor_each"
    history: int = 15
    potentiate_tick_zero: bool = False

    FIELDS = (
        "weight_lsb",
        "weight_step",
        "weight_bits",
        "weight_signed",
        "trace_bits",
        "decay_bits",
        "decay_rounding",
        "trace_width",
        "trace_overflow",
        "rate_bits",
        "rate_product",
        "history",
        "potentiate_tick_zero",
    )
    # Bounds of the integer fields: a 32-bit chip's words and 16-bit traces.
    LARGEST = {
        "weight_bits": 32,
        "trace_bits": 15,
        "decay_bits": 16,
        "trace_width": 16,
        "rate_bits": 16,
        "history": 256,
    }
    UNIT_TOLERANCE = 1e-6  # of one unit: values given as floats of whole units

    def validate(self, rule: "STDP", where: str):
        where = f"{where} arithmetic"
        self.weight_lsb = values.weight(self.weight_lsb, where, "weight_lsb", rule.weight_units, array=False)
        self.weight_step = values.weight(self.weight_step, where, "weight_step", rule.weight_units, array=False)
        values.check_range(self.weight_lsb, where, "weight_lsb", "", above=0)
        self.units(self.weight_step, where, "weight_step")
        for name, largest in self.LARGEST.items():
            setattr(self, name, values.integer(getattr(self, name), where, name, minimum=1, maximum=largest))
        for name, options in FIXED_POINT_OPTIONS.items():
            values.choice(getattr(self, name), options, where, name)
        for name in ("weight_signed", "potentiate_tick_zero"):
            setattr(self, name, values.boolean(getattr(self, name), where, name))
        if self.trace_width <= self.trace_bits:
            raise ValidationError(
                where, "trace_width", f"must exceed trace_bits ({self.trace_bits}): a trace holds 1.0"
            )
        if self.weight_step < self.weight_lsb:
            raise ValidationError(where, "weight_step", f"must be at least weight_lsb ({self.weight_lsb:g})")
        if {**rule.semantics.to_dict(), "traces": "all_to_all"} != STDPSemantics().to_dict() or (
            rule.semantics.traces not in FIXED_POINT_TRACES
        ):
            raise ValidationError(
                where,
                None,
                "fixed-point arithmetic is defined for the deferred rule: give the STDP semantics their defaults "
                f"(traces {' or '.join(map(repr, FIXED_POINT_TRACES))})",
            )
        multiplicative = rule.weight_dependence == "multiplicative"
        for name in ("A_plus", "A_minus", "w_min", "w_max", "heterosynaptic"):
            if name.startswith("A_") and multiplicative:
                self.rate_units(getattr(rule, name), where, name)
            else:
                self.units(getattr(rule, name), where, name)

    def units(self, weight, where: str, field: str) -> np.ndarray:
        """Weights (nA or uS) as whole units of weight_lsb; an error if they are not."""
        return self._whole(
            np.asarray(weight, dtype=np.float64) / self.weight_lsb,
            where,
            field,
            f"whole units of weight_lsb ({self.weight_lsb:g})",
        )

    def rate_units(self, rate, where: str, field: str) -> np.ndarray:
        return self._whole(
            np.asarray(rate, dtype=np.float64) * 2.0**self.rate_bits,
            where,
            field,
            f"whole units of 2^-{self.rate_bits}",
        )

    def _whole(self, scaled: np.ndarray, where: str, field: str, what: str) -> np.ndarray:
        whole = np.rint(scaled)
        if np.any(np.abs(scaled - whole) > self.UNIT_TOLERANCE):
            raise ValidationError(where, field, f"must be {what} under fixed-point arithmetic")
        return whole

    def decay_table(self, tau: float, dt: float) -> np.ndarray:
        """``2^c E(k)`` for k = 0, 1, ... up to its last non-zero entry (0 beyond)."""
        size = math.ceil(math.log(2.0 ** (self.decay_bits + 1)) / (dt / tau)) + 1  # reaches below 1/2
        scaled = np.exp(np.arange(size) * -(dt / tau)) * 2.0**self.decay_bits
        table = np.floor(scaled) if self.decay_rounding == "floor" else np.rint(scaled)
        return table[: np.argmax(table == 0)] if np.any(table == 0) else table

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_dict(cls, data, where: str) -> "FixedPointSTDP":
        values.check_keys(data, cls.FIELDS, f"{where} arithmetic", required=("weight_lsb", "weight_step"))
        return cls(**data)


@dataclass(eq=False)
class STDP:
    """Pair-based STDP on a projection (module docstring). Times in ms, weights and amplitudes in
    nA (or dimensionless rates for multiplicative weight dependence)."""

    tau_plus: float = 20.0
    tau_minus: float = 20.0
    A_plus: float = 0.01
    A_minus: float = 0.012
    weight_dependence: str = "additive"
    w_min: float = 0.0
    w_max: float = 1.0
    heterosynaptic: float = 0.0
    semantics: STDPSemantics = field(default_factory=STDPSemantics)
    arithmetic: FixedPointSTDP | None = None

    FIELDS = ("tau_plus", "tau_minus", "A_plus", "A_minus", "weight_dependence", "w_min", "w_max", "heterosynaptic")
    UNITS = {
        "tau_plus": "ms",
        "tau_minus": "ms",
        "A_plus": "weight",
        "A_minus": "weight",
        "w_min": "weight",
        "w_max": "weight",
        "heterosynaptic": "weight",
    }

    def validate(self, where: str):
        """Check and convert the fields; ``weight_units`` collects the units weights were given in."""
        where = f"{where} stdp"
        self.weight_units = set()
        for name, unit in self.UNITS.items():
            value = getattr(self, name)
            if name.startswith("A_") and self.weight_dependence == "multiplicative":
                value = values.number(value, None, where, name)
            elif unit == "weight":
                value = values.weight(value, where, name, self.weight_units, array=False)
            else:
                value = values.number(value, unit, where, name)
            setattr(self, name, value)
        values.check_range(self.tau_plus, where, "tau_plus", "ms", above=0)
        values.check_range(self.tau_minus, where, "tau_minus", "ms", above=0)
        values.check_range(self.A_plus, where, "A_plus", "", at_least=0)
        values.check_range(self.A_minus, where, "A_minus", "", at_least=0)
        values.check_range(self.w_min, where, "w_min", "", at_least=0)
        values.check_range(self.heterosynaptic, where, "heterosynaptic", "", at_least=0)
        if self.w_max < self.w_min:
            raise ValidationError(where, "w_max", f"must be >= w_min ({self.w_min:g}), got {self.w_max:g}")
        values.choice(self.weight_dependence, ("additive", "multiplicative"), where, "weight_dependence")
        if self.heterosynaptic > 0 and self.weight_dependence != "additive":
            raise ValidationError(
                where,
                "heterosynaptic",
                "heterosynaptic depression is a constant loss, defined for additive weight dependence only",
            )
        if not isinstance(self.semantics, STDPSemantics):
            raise ValidationError(where, "semantics", "expected STDPSemantics")
        if self.weight_dependence == "multiplicative" and self.semantics.amplitude != "absolute":
            raise ValidationError(
                where, "semantics.amplitude", "'scaled_by_w_max' applies to additive weight dependence only"
            )
        if self.arithmetic is not None:
            if not isinstance(self.arithmetic, FixedPointSTDP):
                raise ValidationError(where, "arithmetic", f"expected FixedPointSTDP, got {self.arithmetic!r}")
            self.arithmetic.validate(self, where)

    @property
    def amplitudes(self) -> tuple[float, float]:
        """``(A+, A-)`` as applied, after the declared amplitude scaling."""
        scale = self.w_max if self.semantics.amplitude == "scaled_by_w_max" else 1.0
        return self.A_plus * scale, self.A_minus * scale

    @property
    def heterosynaptic_loss(self) -> float:
        """What each post event takes from every synapse, after the declared amplitude scaling."""
        return self.heterosynaptic * (self.w_max if self.semantics.amplitude == "scaled_by_w_max" else 1.0)

    def to_dict(self) -> dict:
        data = {
            "kind": "stdp_pair",
            **{name: getattr(self, name) for name in self.FIELDS if name != "heterosynaptic" or self.heterosynaptic},
            "semantics": self.semantics.to_dict(),
        }
        if self.arithmetic is not None:
            data["arithmetic"] = self.arithmetic.to_dict()
        return data

    @classmethod
    def from_dict(cls, data, where: str) -> "STDP":
        values.check_keys(data, ("kind", "semantics", "arithmetic") + cls.FIELDS, f"{where} plasticity")
        if data.get("kind", "stdp_pair") != "stdp_pair":
            raise ValidationError(where, "plasticity.kind", f"unknown plasticity {data['kind']!r} (known: 'stdp_pair')")
        semantics = STDPSemantics.from_dict(data.get("semantics", {}), f"{where} stdp semantics")
        arithmetic = data.get("arithmetic")
        if arithmetic is not None:
            arithmetic = FixedPointSTDP.from_dict(arithmetic, f"{where} stdp")
        return cls(
            **{name: data[name] for name in cls.FIELDS if name in data}, semantics=semantics, arithmetic=arithmetic
        )
