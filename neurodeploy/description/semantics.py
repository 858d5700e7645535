"""What a network means, tick by tick: the semantics block and the numbers derived from it.

Every backend runs in ticks of ``dt``. Per tick, for each neuron (the order is part of the meaning):

1. ``input``: synaptic input arriving this tick is added, ``I_x += init_x * w``;
2. ``integrate``: if not refractory, ``a = (I_exc - I_inh + i_offset) * R + v_rest`` with
   ``R = tau_m / cm`` and ``V = a - E_m * (a - V)``; otherwise the refractory counter is
   decremented and ``V`` is held;
3. ``threshold``: if ``V >= v_thresh`` (or ``>``), the neuron spikes, ``V`` is reset (``V = v_reset``,
   or by subtraction ``V -= v_thresh - v_reset``) and the refractory counter is set to
   ``ceil(tau_refrac / dt)``;
4. ``decay``: ``I_x *= E_x``, also while refractory.

``E = exp(-dt/tau)`` is each time constant's decay per tick (``discretization: exact``: the exact
solution with the input held over the tick), or ``E = 1 - dt/tau`` (``euler``: forward Euler, as
snnTorch, Norse and the NIR paper's Lava conversion step their ODEs; ``dt <= tau`` is required).
The discretization governs the cells' decays (membrane and synapses); plasticity traces and
structural rules keep the decays their own docstrings state.

Conductance-based cells (``IF_cond_exp``) keep conductances ``g_x`` where the above has currents
(steps 1 and 4 unchanged) and in step 2 drive with the ``V`` the tick starts from:
``a = (g_exc (e_rev_E - V) + g_inh (e_rev_I - V) + i_offset) * R + v_rest``, as sPyNNaker does.
Delta synapses (``IF_curr_delta``) have ``init_x = 1/dt`` and ``exp(-dt/tau_x) = 0``: ``I_x`` is the
charge arriving in the tick over dt, gone at its end.

Other neuron models replace steps 2 and 3 with their own, stated in their cell type's docstring
(:mod:`.cells`; ``Izhikevich``: one midpoint step of its two variables, no refractoriness; the read-outs
``LI_curr_*`` and ``PI_curr_delta`` have no step 3 and never spike; ``PIF_curr_delta`` and ``PI_curr_delta``
integrate without leak, ``V += (dt / cm) I``); steps 1 and 4 and the delays are the same.

Injected currents (:mod:`.currents`: ``DCSource``, ``StepCurrentSource``, ``ACSource``,
``NoisyCurrentSource``) join ``i_offset`` in step 2, whatever the cell (``IF_cond_exp`` and ``Izhikevich``
too): a neuron's drive in tick ``n`` has ``i_offset + sum of I_src(n)`` (nA), each source's amplitude of
that tick. A source starting at ``s`` ms first drives tick ``s / dt``; V shows it at the end of that tick.
On a chip's integers each source's amplitude of the tick is rounded to the chip's current units before
the sum, as sPyNNaker holds each source's value in s16.15.

A spike emitted in tick ``n`` over a connection with delay ``d`` ticks (``d >= 1``) is input in tick
``n + d``. Spike times are ``n * dt``.

A network's schedule (:mod:`.schedule`) changes parameters or weights during the run: a change at time
``t`` applies before the tick that computes the state at ``t + dt`` (so ``run(100); set(...); run(100)``
computes its second run's first tick with the new value, as PyNN's simulators do); a spike emitted
before it delivers the weight it was emitted with, scaled by the ``init_x`` of the tick it arrives in.

The functions below compute the derived constants once, so every backend uses the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodeploy.description import values
from neurodeploy.errors import ValidationError

UPDATE_ORDER = ("input", "integrate", "threshold", "decay")
DELAY_CONVENTIONS = ("arrive_n_plus_d",)
THRESHOLDS = (">=", ">")
RESETS = ("to_v_reset", "subtract")
DISCRETIZATIONS = ("exact", "euler")
REFRACTORY_ROUNDING = ("ceil",)
SYNAPTIC_INIT = ("mean_first_tick", "none")

# Relative slack when dividing times by dt, so 0.3/0.1 counts as 3 ticks: values within this
# fraction of a tick of an integer are that integer; anything further off is an error, never rounded.
TICK_TOLERANCE = 1e-9
# The slack never reaches a noticeable part of a tick, however large the count.
MAX_TICK_SLACK = 1e-3
# Tick counts every backend holds in a 32-bit integer (Brian2's and Lava's delays and spike times):
# a time beyond it would wrap round, so it is refused instead.
MAX_TICKS = 2**31 - 1
TICKS_BLOCK = 1 << 20  # times converted to ticks at once


@dataclass(eq=False)
class Semantics:
    """The discrete-time meaning of a network (see the module docstring).

    ``threshold``: spike when ``V >= v_thresh`` (sPyNNaker) or ``V > v_thresh``.
    ``reset``: ``to_v_reset`` sets ``V = v_reset`` at the spike; ``subtract`` lowers ``V`` by
    ``v_thresh - v_reset`` (NIR's and snnTorch's ``v -= v_threshold``, whose ``v_reset`` is 0), keeping
    the overshoot.
    ``discretization``: ``exact`` decays by ``exp(-dt/tau)`` per tick, ``euler`` by ``1 - dt/tau``.
    ``refractory``: ``ceil`` holds ``V`` for ``ceil(tau_refrac/dt)`` ticks after the spike tick.
    ``delay_convention``: ``arrive_n_plus_d``, a spike in tick n with delay d is input in tick n+d.
    ``synaptic_init``: ``mean_first_tick`` scales each arriving weight by
    ``init = (tau/dt) (1 - exp(-dt/tau))``, the mean of the PSC over its first tick (sPyNNaker);
    ``none`` adds the weight unscaled. Both are for exponential synapses: a delta synapse's factor is
    ``1/dt`` (its weight is a charge delivered in one tick), whichever is chosen.
    """

    dt: float = 1.0
    threshold: str = ">="
    reset: str = "to_v_reset"
    refractory: str = "ceil"
    delay_convention: str = "arrive_n_plus_d"
    synaptic_init: str = "mean_first_tick"
    update_order: tuple = UPDATE_ORDER
    discretization: str = "exact"

    FIELDS = (
        "dt",
        "threshold",
        "reset",
        "refractory",
        "delay_convention",
        "synaptic_init",
        "update_order",
        "discretization",
    )

    def __post_init__(self):
        where = "semantics"
        self.dt = values.number(self.dt, "ms", where, "dt")
        values.check_range(self.dt, where, "dt", "ms", above=0)
        values.choice(self.threshold, THRESHOLDS, where, "threshold")
        values.choice(self.reset, RESETS, where, "reset")
        values.choice(self.refractory, REFRACTORY_ROUNDING, where, "refractory")
        values.choice(self.delay_convention, DELAY_CONVENTIONS, where, "delay_convention")
        values.choice(self.synaptic_init, SYNAPTIC_INIT, where, "synaptic_init")
        values.choice(self.discretization, DISCRETIZATIONS, where, "discretization")
        if not isinstance(self.update_order, (list, tuple)) or tuple(self.update_order) != UPDATE_ORDER:
            raise ValidationError(
                where, "update_order", f"only {list(UPDATE_ORDER)} is defined, got {values.describe(self.update_order)}"
            )
        self.update_order = UPDATE_ORDER

    def to_dict(self) -> dict:
        return {
            name: (list(self.update_order) if name == "update_order" else getattr(self, name)) for name in self.FIELDS
        }

    @classmethod
    def from_dict(cls, data) -> "Semantics":
        values.check_keys(data, cls.FIELDS, "semantics")
        return cls(**data)

    def __eq__(self, other):
        return isinstance(other, Semantics) and self.to_dict() == other.to_dict()

    # --- derived constants, one function each -------------------------------------------------

    def ticks(self, time_ms, where: str, field: str, minimum: int = 0, dtype=np.int64) -> np.ndarray | int:
        """Exact number of ticks in ``time_ms`` (scalar or array): every time becomes ticks here, so every
        time is checked here: finite, a whole number of ticks, at least ``minimum`` ticks and at most
        ``MAX_TICKS`` (which int32 holds: an array's ``dtype``). Long arrays are converted in blocks, so that
        the checks' temporaries stay small."""
        times = np.asarray(time_ms, dtype=np.float64)
        if times.size > TICKS_BLOCK:
            flat, result = times.reshape(-1), np.empty(times.size, dtype=dtype)
            for start in range(0, flat.size, TICKS_BLOCK):
                result[start : start + TICKS_BLOCK] = self.ticks(
                    flat[start : start + TICKS_BLOCK], where, field, minimum
                )
            return result.reshape(times.shape)
        with np.errstate(over="ignore", invalid="ignore"):
            ratio = times / self.dt
        rounded = np.round(ratio)
        if (  # whole numbers of ticks in range (as times of a tick grid are): nothing to find
            rounded.size
            and np.array_equal(ratio, rounded)
            and rounded.min() >= minimum - 0.5
            and rounded.max() <= MAX_TICKS + 0.5
        ):
            result = rounded.astype(dtype)
            return int(result) if result.ndim == 0 else result
        bad = ~np.isfinite(ratio) | (ratio < minimum - 0.5) | (ratio > MAX_TICKS + 0.5)
        if np.any(bad):
            time = np.atleast_1d(times)[np.atleast_1d(bad)][0]
            raise ValidationError(
                where,
                field,
                f"{time:g} ms is {time / self.dt:g} ticks of dt = {self.dt:g} ms; "
                f"a whole number of ticks from {minimum} to {MAX_TICKS} is needed",
            )
        slack = np.minimum(TICK_TOLERANCE * np.maximum(1.0, np.abs(ratio)), MAX_TICK_SLACK)
        off = np.abs(ratio - rounded) > slack
        if np.any(off):
            time = np.atleast_1d(times)[np.atleast_1d(off)][0]
            raise ValidationError(where, field, f"{time:g} ms is not a multiple of dt = {self.dt:g} ms")
        result = rounded.astype(dtype)
        return int(result) if result.ndim == 0 else result

    def duration_ticks(self, duration_ms, where: str = "run", field: str = "duration") -> int:
        """Ticks of a run: a positive whole number of ticks."""
        return self.ticks(values.number(duration_ms, "ms", where, field), where, field, minimum=1)

    def decay(self, tau_ms):
        """Per-tick decay factor: ``exp(-dt/tau)``, or ``1 - dt/tau`` under ``euler``."""
        tau = np.asarray(tau_ms, dtype=np.float64)
        if self.discretization == "euler":
            return 1.0 - self.dt / tau
        return np.exp(-self.dt / tau)

    def time_constant(self, decay):
        """The time constant (ms) whose per-tick decay is ``decay`` (the inverse of :meth:`decay`);
        infinite for a decay of 1, as a quantized decay may round to."""
        decay = np.asarray(decay, dtype=np.float64)
        with np.errstate(divide="ignore"):
            if self.discretization == "euler":
                return self.dt / (1.0 - decay)
            return -self.dt / np.log(decay)

    def check_time_constant(self, tau_ms, where: str, field: str):
        """Under ``euler`` a time constant below dt would make the decay negative (the state would
        oscillate): refused, naming it."""
        tau = np.asarray(tau_ms, dtype=np.float64)
        if self.discretization == "euler" and np.any(tau < self.dt):
            shortest = float(np.min(tau))
            raise ValidationError(
                where,
                field,
                f"{shortest:g} ms is shorter than dt = {self.dt:g} ms: forward Euler's decay 1 - dt/tau "
                "would be negative (use discretization 'exact' or a smaller dt)",
            )

    def init_factor(self, tau_ms):
        """Scale applied to a weight when it arrives: the PSC's mean over its first tick
        (``(tau/dt)(1 - E)``: 1 under ``euler``, which holds the state over the tick), or 1."""
        tau = np.asarray(tau_ms, dtype=np.float64)
        if self.synaptic_init == "none":
            return np.ones_like(tau)
        if self.discretization == "euler":
            return np.ones_like(tau)
        return (tau / self.dt) * -np.expm1(-self.dt / tau)

    def refractory_ticks(self, tau_refrac_ms, where: str = "population", field: str = "parameters.tau_refrac"):
        """Ticks ``V`` is held after the spike tick: ``ceil(tau_refrac/dt)``, at most ``MAX_TICKS``."""
        tau_refrac = np.asarray(tau_refrac_ms, dtype=np.float64)
        with np.errstate(over="ignore"):
            ratio = tau_refrac / self.dt
        if np.any(ratio > MAX_TICKS):
            time = np.atleast_1d(tau_refrac)[np.atleast_1d(ratio > MAX_TICKS)][0]
            raise ValidationError(
                where,
                field,
                f"{time:g} ms is {time / self.dt:g} ticks of dt = {self.dt:g} ms; "
                f"at most {MAX_TICKS} ticks are possible",
            )
        slack = np.minimum(TICK_TOLERANCE * np.maximum(1.0, ratio), MAX_TICK_SLACK)
        return np.ceil(ratio - slack).astype(np.int64)
