"""The integers a fixed-point chip computes, as Brian2 code: pair STDP (:class:`FixedPointSTDP`), and the
integer primitives the membranes on a declared arithmetic (``cells.py``) use too.

The post population remembers its latest spikes for each fixed-point projection onto it (its own
post trace: Lava keeps one memory per projection, sPyNNaker one per neuron for the one rule it allows)
in ``history`` pairs of variables (``memI_t_k``, ``memI_o_k``; I the projection's index, k = 0 oldest),
updated by the reset, moved right after the threshold, before any synapse runs in the tick.
A pre spike runs the whole deferred update on the ``update`` pathway without delay (the post memory
as of its tick) and the ``deliver`` pathway delivers the weight it stored ``d - 1`` ticks later: with
delays above one tick, each synapse keeps the weights in flight in ``sent_j``, the slot of tick t
being ``t mod D`` (D the longest delay), as a later spike may change ``w`` before they arrive.
Integers are held in float64 (exact below 2^53) and floored by ``whole``: Brian2's own ``floor``
returns int32 here, whose products would wrap. ``whole``, ``truncated``, ``nearest`` and the decay tables
are bare numpy ufuncs on the numpy target and C on the Cython one: no per-call unit checking.
"""

from __future__ import annotations

import functools
import hashlib

import brian2 as b2
import numpy as np

from neurodeploy.backends.brian2.context import RECEPTOR_VARIABLE, BuildContext, connect_synapses
from neurodeploy.backends.brian2.structural import connect_slots, pre_rows, slot_relay
from neurodeploy.description import STDP, FixedPointSTDP, Network, Projection
from neurodeploy.description.structural import longest_formed_delay


def memory_prefix(network: Network, projection: str) -> str:
    return f"mem{list(network.projections).index(projection)}"


def post_memories(network: Network, label: str) -> dict[str, STDP]:
    """The fixed-point rules onto population ``label``, by the prefix of their memory's variables."""
    return {
        memory_prefix(network, p.label): p.plasticity
        for p in network.projections.values()
        if p.post == label and p.plasticity is not None and p.plasticity.arithmetic is not None
    }


def memory_equations(prefix: str, rule: STDP) -> str:
    return (
        "".join(f"{prefix}_t_{k} : 1\n{prefix}_o_{k} : 1\n" for k in range(rule.arithmetic.history))
        + f"{prefix}_n : 1\n"
    )


def signed_wrap(expression: str, bits: int) -> str:
    """Two's complement wrap to ``bits``, by the function :func:`integer_functions` names for it."""
    return f"wrapped_{bits}({expression})"


def _overflow(expression: str, arithmetic: FixedPointSTDP) -> str:
    """A trace kept to its signed width: wrapped (two's complement) or saturated."""
    if arithmetic.trace_overflow == "wrap":
        return signed_wrap(expression, arithmetic.trace_width)
    half = 2 ** (arithmetic.trace_width - 1)
    return f"bounded({expression}, {-half}, {half - 1})"


def _stored(arithmetic: FixedPointSTDP) -> str:
    """The weight's whole steps as the store keeps them, wrapped to weight_bits."""
    if arithmetic.weight_signed:
        return signed_wrap("whole(w_acc / step)", arithmetic.weight_bits)
    return f"(whole(w_acc / step) % {float(2**arithmetic.weight_bits)})"


FRACTION_32 = float(2**32)  # one, in fractions of 2^32 (u0.32 decays and init factors)


def rounding(ufunc: np.ufunc, c_name: str) -> b2.Function:
    """A float64 rounding as a Brian2 function: the numpy ufunc itself on the numpy target (a Function's
    default numpy implementation checks units and formats the whole result on every call), C's
    ``c_name`` on the Cython one; both round exactly, as IEEE 754 defines."""
    function = b2.Function(ufunc, arg_units=[1], return_unit=1, return_type="float", stateless=True)
    function.implementations.add_implementation("numpy", code=ufunc)
    function.implementations.add_implementation(
        "cython",
        code=f"""
from libc.math cimport {c_name}

cdef inline double _exact_{c_name}(double x) noexcept nogil:
    return {c_name}(x)
""",
        name=f"_exact_{c_name}",
    )
    return function


WHOLE = rounding(np.floor, "floor")
TRUNCATED = rounding(np.trunc, "trunc")
NEAREST = rounding(np.rint, "rint")


@functools.cache
def wrap_function(bits: int) -> b2.Function:
    """Two's complement wrap to ``bits`` of a whole number held in float64: with ``y = x + 2^(bits - 1)``,
    ``y - 2^bits floor(y / 2^bits) - 2^(bits - 1)``. Every step is exact below 2^53 (a division by a power of
    two, a floor, integers), and it is the float Python's ``y % 2^bits`` gives for any ``y``; a floor is one
    instruction where Cython's modulo is two calls of ``fmod``, the loop of a division. Compiled, a number
    already in range is returned as it is (-0.0 as 0.0, as the formula gives): a predictable compare, on
    the neuron update's every line. Both targets agree on whole numbers, all that integer code passes."""
    half, size = float(2 ** (bits - 1)), float(2**bits)

    def wrapped(x):
        y = x + half
        return (y - size * np.floor(y / size)) - half

    function = b2.Function(wrapped, arg_units=[1], return_unit=1, return_type="float", stateless=True)
    function.implementations.add_implementation("numpy", code=wrapped)
    function.implementations.add_implementation(
        "cython",
        code=f"""
cdef inline double _wrapped_{bits}(double x) noexcept nogil:
    cdef double y = x + {half!r}
    if -{half!r} <= x < {half!r}:
        return x + 0.0
    return (y - {size!r} * floor(y / {size!r})) - {half!r}
""",
        name=f"_wrapped_{bits}",
    )
    return function


BOUNDED = b2.Function(np.clip, arg_units=[1, 1, 1], return_unit=1, return_type="float", stateless=True)
"""``bounded(x, low, high)``: Brian2's ``clip`` (numpy's on the numpy target), whose Cython version, a fused
function, has every call checked for a Python exception."""
BOUNDED.implementations.add_implementation("numpy", code=np.clip)
BOUNDED.implementations.add_implementation(
    "cython",
    code="""
cdef inline double _bounded(double x, double low, double high) noexcept nogil:
    if x < low:
        return low
    if x > high:
        return high
    return x
""",
    name="_bounded",
)


def integer_functions(*widths: int) -> dict[str, b2.Function]:
    """The functions of integer code, by the names it calls them: the roundings, ``bounded``, and the two's
    complement wraps to ``widths`` bits (``wrapped_32``, ...; :func:`signed_wrap` writes their calls)."""
    wraps = {f"wrapped_{bits}": wrap_function(bits) for bits in widths}
    return {"whole": WHOLE, "truncated": TRUNCATED, "nearest": NEAREST, "bounded": BOUNDED, **wraps}


def decay_function(arithmetic: FixedPointSTDP, tau: float, dt: float) -> b2.Function:
    """``E(k)``: the table's entry for lag k, 0 outside it (negative lags included)."""
    return table_function(arithmetic.decay_table(tau, dt).astype(np.float64))


def table_function(table: np.ndarray) -> b2.Function:
    """``E(k)`` for one table, one Function per distinct table: the Cython code is named by the table's
    contents, so equal tables share one definition (two with one name in one module would not compile) and
    the generated code, and with it the compiled module's cache key, is the same in every run."""
    return _table_function(table.tobytes())


@functools.cache
def _table_function(contents: bytes) -> b2.Function:
    table = np.frombuffer(contents, dtype=np.float64).copy()  # writable: Cython reads it through a buffer
    size = table.size

    def decay(lag):
        lag = np.asarray(lag, dtype=np.int64)
        return np.where((lag >= 0) & (lag < size), table[np.clip(lag, 0, size - 1)], 0.0)

    name = f"_decay_{hashlib.sha1(contents).hexdigest()[:16]}"
    function = b2.Function(decay, arg_units=[1], return_unit=1, return_type="float", stateless=True)
    function.implementations.add_implementation("numpy", code=decay)
    function.implementations.add_implementation(
        "cython",
        code=f"""
cdef inline double {name}(double lag) noexcept nogil:
    global _namespace{name}_table
    cdef long k = <long>lag
    if k < 0 or k >= {size}:
        return 0.0
    return _namespace{name}_table[k]
""",
        namespace={f"{name}_table": table},
        name=name,
    )
    return function


def remember_spikes(prefix: str, rule: STDP, dt: float) -> tuple[str, dict]:
    """Reset code remembering each spike (the new post trace, the oldest spike forgotten), and its
    namespace."""
    arithmetic = rule.arithmetic
    last, one, unity = arithmetic.history - 1, 2**arithmetic.trace_bits, 2**arithmetic.decay_bits
    shift = "\n".join(f"{prefix}_{v}_{k} = {prefix}_{v}_{k + 1}" for k in range(last) for v in "to")
    decay = f"decay_minus_{prefix}"
    code = f"""
    trace = {
        _overflow(
            f"whole({prefix}_o_{last} * {decay}(t_in_timesteps - {prefix}_t_{last}) / {unity}) + {one}", arithmetic
        )
    }
    {shift}
    {prefix}_t_{last} = t_in_timesteps
    {prefix}_o_{last} = trace
    {prefix}_n = bounded({prefix}_n + 1, 0, {arithmetic.history})
    """
    return code, {decay: decay_function(arithmetic, rule.tau_minus, dt), **integer_functions(arithmetic.trace_width)}


def fixed_point_stdp_synapses(projection: Projection, context: BuildContext, source, target, name: str):
    """The update of :class:`FixedPointSTDP` per pre spike; ``w_acc`` holds the weight in units."""
    network, rule = context.network, projection.plasticity
    arithmetic = rule.arithmetic
    memory = memory_prefix(network, projection.label)
    receptor = RECEPTOR_VARIABLE[projection.receptor]
    structural = projection.structural is not None
    one, unity, history = 2**arithmetic.trace_bits, 2**arithmetic.decay_bits, arithmetic.history
    where = f"projection '{projection.label}' stdp arithmetic"
    multiplicative = rule.weight_dependence == "multiplicative"
    amplitude = arithmetic.rate_units if multiplicative else arithmetic.units
    a_plus, a_minus = (float(amplitude(getattr(rule, name), where, name)) for name in ("A_plus", "A_minus"))
    w_min, w_max = (float(arithmetic.units(getattr(rule, name), where, name)) for name in ("w_min", "w_max"))
    heterosynaptic = float(arithmetic.units(rule.heterosynaptic, where, "heterosynaptic"))
    step = float(arithmetic.units(arithmetic.weight_step, where, "weight_step"))
    rate = 2**arithmetic.rate_bits

    def rate_product(difference: str, amplitude: str, trace: str) -> str:
        if arithmetic.rate_product == "floor_each":
            return f"whole(whole({difference} * {amplitude} / {rate}) * {trace} / {one})"
        return f"whole({difference} * {amplitude} * {trace} / {rate * one})"

    update = [
        "t_now = t_in_timesteps",
        "begin = t0 - d_ticks" if arithmetic.potentiate_tick_zero else "begin = bounded(t0 - d_ticks, 0, inf)",
        "end = t_now - d_ticks" if arithmetic.potentiate_tick_zero else "end = bounded(t_now - d_ticks, 0, inf)",
        "latest = 0 * t0",
        "s_latest = 0 * t0",
        "o_latest = 0 * t0",  # per synapse, not scalars
    ]
    nearest = rule.semantics.traces == "nearest_spynnaker"  # traces of 1, the first post spike after a pre only
    for k in range(history):
        remembered = f"int({history - k} <= {memory}_n_post)"
        before = f"int({history - k + 1} <= {memory}_n_post) * {memory}_t_{k - 1}_post" if k else "0"
        first = f" * int({before} <= t0)" if nearest else ""
        update += [
            f"taken = {remembered} * int({memory}_t_{k}_post > begin) * int({memory}_t_{k}_post <= end){first}",
            f"r1 = whole({one if nearest else 'r0'} * decay_plus({memory}_t_{k}_post + d_ticks - t0) / {unity})",
            f"w_acc += taken * {rate_product('(w_max - w_acc)', 'a_plus', 'r1')}"
            if multiplicative
            else f"w_acc += taken * (bounded(w_acc + whole(a_plus * r1 / {one}), -inf, w_max) - w_acc)",
            *(
                [
                    f"in_window = {remembered} * int({memory}_t_{k}_post > begin) * int({memory}_t_{k}_post <= end)",
                    "w_acc += in_window * (bounded(w_acc - heterosynaptic, w_min, inf) - w_acc)",
                ]
                if heterosynaptic
                else []
            ),
            f"before_end = {remembered} * int({memory}_t_{k}_post <= end)",
            "latest = bounded(latest + before_end, 0, 1)",
            f"s_latest += before_end * ({memory}_t_{k}_post - s_latest)",
            f"o_latest += before_end * ({memory}_o_{k}_post - o_latest)",
        ]
    pre_trace = ["r0 = " + _overflow(f"whole(r0 * decay_plus(t_now - t0) / {unity}) + {one}", arithmetic), "t0 = t_now"]
    update += [
        f"o1 = whole({one if nearest else 'o_latest'} * decay_minus(t_now - s_latest - d_ticks) / {unity})",
        f"w_acc -= latest * {rate_product('(w_acc - w_min)', 'a_minus', 'o1')}"
        if multiplicative
        else f"w_acc += latest * (bounded(w_acc - whole(a_minus * o1 / {one}), w_min, inf) - w_acc)",
        f"w_acc = {_stored(arithmetic)} * step",
        "w = w_acc * weight_lsb",
        *pre_trace,
    ]
    if structural:  # the connector's slots 1 tick, a formed one its own (set at formation)
        delay_ticks = 1
        in_flight = longest_formed_delay(network, projection.label)
    else:
        delay_ticks = network.connections(projection.label).delay_ticks
        in_flight = int(np.max(delay_ticks, initial=1))
    delivered = "w"
    if in_flight > 1:
        update += [f"sent_{j} += int(t_now % {in_flight} == {j}) * (w - sent_{j})" for j in range(in_flight)]
        arrived = (  # the arriving spikes, by their sending tick
            (lambda j: f"int(arrived_{j}_pre)")
            if structural
            else (lambda j: f"int((t_in_timesteps - d_ticks + 1) % {in_flight} == {j})")
        )
        delivered = "(" + " + ".join(f"{arrived(j)} * sent_{j}" for j in range(in_flight)) + ")"
    dt = network.semantics.dt
    namespace = {
        **integer_functions(arithmetic.trace_width, arithmetic.weight_bits),
        "a_plus": a_plus,
        "a_minus": a_minus,
        "w_min": w_min,
        "w_max": w_max,
        "heterosynaptic": heterosynaptic,
        "step": step,
        "weight_lsb": arithmetic.weight_lsb,
        "decay_plus": decay_function(arithmetic, rule.tau_plus, dt),
        "decay_minus": decay_function(arithmetic, rule.tau_minus, dt),
    }
    # a structural projection's relay raises the update in the pre spike's tick and the delivery at the slot's delay
    events = {"on_event": {"update": "sent", "deliver": "spike"}} if structural else {}
    synapses = b2.Synapses(
        slot_relay(projection, context, source, name, target, "fixed_point") if structural else source,
        target,
        "w : 1\nw_acc : 1\nr0 : 1\nt0 : 1\n"
        + ("d_ticks : 1\n" if structural else "d_ticks : 1 (constant)\n")
        + "".join(f"sent_{j} : 1\n" for j in range(in_flight if in_flight > 1 else 0)),
        on_pre={"update": "\n".join(update), "deliver": f"syn_{receptor}_post += init_{receptor}_post * {delivered}"},
        **events,
        clock=context.clock,
        name=name,
        namespace=namespace,
    )
    if structural:
        connect_slots(synapses, network, projection)
        pre_rows(
            projection,
            context,
            source,
            target,
            "r0 : 1\nt0 : 1",
            "\n".join(["t_now = t_in_timesteps", *pre_trace]),
            namespace,
            name,
        )
    else:
        synapses.w = connect_synapses(synapses, network, projection).weight
    synapses.w_acc = arithmetic.units(synapses.w[:], where, "weight")
    synapses.d_ticks = delay_ticks
    synapses.update.delay = 0 * b2.ms
    synapses.deliver.delay = 0 * b2.ms if structural else (np.asarray(delay_ticks) - 1) * dt * b2.ms
    synapses.deliver.order = synapses.update.order + 1  # a spike delivers the weight its update stored
    return synapses
