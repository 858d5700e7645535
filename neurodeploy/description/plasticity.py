"""Spike-timing-dependent plasticity with its semantics spelled out, not implied by a backend.

Pair rule with all-to-all (or nearest) traces. Each neuron keeps a trace that jumps at its spikes:
``r = r * exp(-dt_since_last/tau_plus) + 1`` for the pre neuron and likewise ``o`` with ``tau_minus``
for the post neuron (``r = 1`` / ``o = 1`` with ``traces = "nearest"``).

Events, in time order, for each synapse with delay ``d``:

* a **post** event at ``T = t_post + d`` (``post_spike_shift = "synaptic_delay"``; ``T = t_post`` with
  ``"none"``) potentiates against the latest pre event strictly before it:
  ``w += A+ * r_last * exp(-(T - t_pre_last)/tau_plus)`` (additive) or that amount times
  ``(w_max - w)`` (multiplicative); then ``w = min(w, w_max)``;
* a **pre** event at ``t_pre`` depresses against the latest post event at or before it (zero lag
  included): ``w -= A- * o_last * exp(-(t_pre - T_last)/tau_minus)`` (additive) or that amount times
  ``(w - w_min)`` (multiplicative); then ``w = max(w, w_min)``.

``coincident_spikes`` orders a post event and a pre event at the same time: ``post_first`` (the
post potentiates against the earlier pre, the pre then depresses at zero lag: sPyNNaker) or
``pre_first``. ``amplitude = "absolute"`` takes ``A+``/``A-`` in nA; ``"scaled_by_w_max"`` multiplies
them by ``w_max`` (additive only). ``weight_update = "at_pre_spike"`` makes the weight visible (and
read back) change only when a pre spike is processed (sPyNNaker's lazy update);
``"at_each_spike"`` applies every update when it happens. ``delivered_weight`` says whether a pre
spike delivers the weight after (``after_update``) or before (``before_update``) its own update.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from neurodeploy.description import values
from neurodeploy.errors import ValidationError

STDP_SEMANTICS_OPTIONS = {
    "weight_update": ("at_pre_spike", "at_each_spike"),
    "delivered_weight": ("after_update", "before_update"),
    "post_spike_shift": ("synaptic_delay", "none"),
    "coincident_spikes": ("post_first", "pre_first"),
    "amplitude": ("absolute", "scaled_by_w_max"),
    "traces": ("all_to_all", "nearest"),
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
        values.check_keys(data, STDP_SEMANTICS_OPTIONS, where)
        return cls(**data)

    @classmethod
    def immediate(cls) -> "STDPSemantics":
        """The textbook online rule (Brian2's STDP example): every update at its spike, no delay
        shift, a pre spike delivers the weight it found."""
        return cls(weight_update="at_each_spike", delivered_weight="before_update",
                   post_spike_shift="none", coincident_spikes="pre_first")


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
    semantics: STDPSemantics = field(default_factory=STDPSemantics)

    FIELDS = ("tau_plus", "tau_minus", "A_plus", "A_minus", "weight_dependence", "w_min", "w_max")
    UNITS = {"tau_plus": "ms", "tau_minus": "ms", "A_plus": "weight", "A_minus": "weight", "w_min": "weight",
             "w_max": "weight"}

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
        if self.w_max < self.w_min:
            raise ValidationError(where, "w_max", f"must be >= w_min ({self.w_min:g}), got {self.w_max:g}")
        values.choice(self.weight_dependence, ("additive", "multiplicative"), where, "weight_dependence")
        if not isinstance(self.semantics, STDPSemantics):
            raise ValidationError(where, "semantics", "expected STDPSemantics")
        if self.weight_dependence == "multiplicative" and self.semantics.amplitude != "absolute":
            raise ValidationError(where, "semantics.amplitude",
                                  "'scaled_by_w_max' applies to additive weight dependence only")

    @property
    def amplitudes(self) -> tuple[float, float]:
        """``(A+, A-)`` as applied, after the declared amplitude scaling."""
        scale = self.w_max if self.semantics.amplitude == "scaled_by_w_max" else 1.0
        return self.A_plus * scale, self.A_minus * scale

    def to_dict(self) -> dict:
        return {"kind": "stdp_pair", **{name: getattr(self, name) for name in self.FIELDS},
                "semantics": self.semantics.to_dict()}

    @classmethod
    def from_dict(cls, data, where: str) -> "STDP":
        values.check_keys(data, ("kind", "semantics") + cls.FIELDS, f"{where} plasticity")
        if data.get("kind", "stdp_pair") != "stdp_pair":
            raise ValidationError(where, "plasticity.kind", f"unknown plasticity {data['kind']!r} (known: 'stdp_pair')")
        semantics = STDPSemantics.from_dict(data.get("semantics", {}), f"{where} stdp semantics")
        return cls(**{name: data[name] for name in cls.FIELDS if name in data}, semantics=semantics)
