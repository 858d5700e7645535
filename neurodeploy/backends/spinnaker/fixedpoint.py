"""sPyNNaker 7.x fixed-point numbers: encodings, the constants its cores compute on chip, and the
arithmetic of its kernels (ARM, GCC stdfix).

* ``accum`` is s16.15 (LSB 2^-15): held here as Python/numpy integers ("bits").
* ``accum * accum`` is the 64-bit product shifted right by 15: floor, no rounding, no saturation.
* Decays are ``unsigned long fract`` u0.32; ``decay(x, d) = (x * d) >> 32`` (floor); 1.0 is 0xFFFFFFFF.
* Host-side encodings (``DataType.S1615``) round half to even on the decimal repr of the float.
* ``exp`` on chip is spinn_common's ``__expi64``: a table of e^k, a table of e^(-j/16) and a quadratic
  for the rest, with the rounding of ``scale64``. The constants below are spinn_common 7.4.1's
  (``src/stdfix-exp.c``, Apache-2.0); the code is our own.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

FRACTION_BITS = 15
ONE = 1 << FRACTION_BITS
U032_ONE = 0xFFFFFFFF  # 1.0ulr on chip
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

# spinn_common __exp_hi[k] = e^(k - 13) * 2^32, __expm1_mid[j] = (1 - e^(-j/16)) * 2^32, and the
# quadratic's coefficients for 1 - e^(-y) on y in [0, 2^-4).
_EXP_WHOLE = (
    9708,
    26389,
    71733,
    194991,
    530041,
    1440801,
    3916503,
    10646160,
    28939262,
    78665070,
    213833830,
    581260615,
    1580030169,
    4294967296,
    11674931555,
    31735754293,
    86266724208,
    234497268814,
    637429664642,
    1732713474316,
    4710003551159,
    12803117065094,
    34802480465680,
    94602950235157,
    257157480542844,
    699026506411923,
)
_EXPM1_SIXTEENTHS = (
    0,
    260218914,
    504671961,
    734314346,
    950043403,
    1152702096,
    1343082321,
    1521927990,
    1689937949,
    1847768698,
    1996036966,
    2135322113,
    2266168400,
    2389087112,
    2504558555,
    2613033936,
)
_SERIES = (5294, 4293434720, 2081624032)


def s1615(value) -> int:
    """Host encoding of a float as accum bits (sPyNNaker's DataType.S1615.encode_as_int)."""
    bits = int((Decimal(repr(float(value))) * ONE).to_integral_value(ROUND_HALF_EVEN))
    if not INT32_MIN <= bits <= INT32_MAX:
        raise OverflowError(f"{value} does not fit in s16.15 (range +-65536)")
    return bits


def to_float(bits) -> np.ndarray | float:
    return np.asarray(bits, dtype=np.float64) / ONE


def kdivk(a_bits: int, b_bits: int) -> int:
    """accum / accum on chip (positive operands): floor((a << 15) / b)."""
    return (a_bits << FRACTION_BITS) // b_bits


def _round64(x: int) -> int:
    """spinn_common round64: the high word, plus one when the low word is >= INT32_MAX."""
    return (x >> 32) + (1 if (x & 0xFFFFFFFF) >= INT32_MAX else 0)


def _scale64(x: int, y: int) -> int:
    """spinn_common scale64: x * y / 2^32 with the low word's product rounded by round64."""
    return _round64((x & 0xFFFFFFFF) * y) + (x >> 32) * y


def _series(y: int) -> int:
    term = (_SERIES[1] - ((_SERIES[2] * y) >> 32)) & 0xFFFFFFFF
    return (((term * y) >> 32) + _SERIES[0]) & 0xFFFFFFFF


def _exp_times_2_32(n: int) -> int:
    """e^(n / 2^15) * 2^32 as the chip computes it (``__expi64``)."""
    whole, fraction = n >> FRACTION_BITS, n & (ONE - 1)
    if fraction == 0:
        return _EXP_WHOLE[13 + whole]
    whole, fraction = whole + 1, ONE - fraction
    value = _EXP_WHOLE[13 + whole]
    value -= _scale64(value, _EXPM1_SIXTEENTHS[fraction >> 11])
    value -= _scale64(value, _series((fraction & 0x7FF) << 17))
    return value


def expk(x_bits: int) -> int:
    """exp of an accum, as accum bits (truncated)."""
    if x_bits > 363408:
        return INT32_MAX
    if x_bits < -340695:
        return 0
    return _exp_times_2_32(x_bits) >> 17


def expulr(x_bits: int) -> int:
    """exp of a non-positive accum, as u0.32 bits (truncated)."""
    if x_bits > 363408:
        return INT32_MAX
    if x_bits < -340695:
        return 0
    return _exp_times_2_32(x_bits) & 0xFFFFFFFF


ENCODING_PROFILES = {
    "7.4.1": "the cores compute exp(-dt/tau), tau/cm and init from s16.15 time constants (spinn_common's exp)",
    "2019": (
        "the host computes exp(-dt/tau), tau/cm and init in float64 and encodes them by truncation "
        "(sPyNNaker8 as its 2019 board recordings show: exp(-1/20) is floor(2^15 e^-0.05) = 31169)"
    ),
    "2022": (
        "the host computes exp(-dt/tau), tau/cm and init in float64 and encodes them by rounding, half to even "
        "on the decimal repr (DataType.encode_as_int), as the sparse hippocampus's May 2022 board recordings "
        "show (sPyNNaker 6 by its README): tau_m/cm = 3/0.27 is 364089, where 2019 has 364088 and 7.4.1 364103"
    ),
}
"""sPyNNaker versions' encodings of the membrane's and the exponential synapse's constants; 7.4.1 is the
default. A target names one (``encoding_profile``); the emulation and the quantization-aware reference
follow it."""
DEFAULT_PROFILE = "7.4.1"


def _truncated(value: float, scale: int) -> int:
    return math.floor(value * scale)


def _rounded(value: float, scale: int) -> int:
    return int((Decimal(repr(float(value))) * scale).to_integral_value(ROUND_HALF_EVEN))


HOST_ENCODINGS = {"2019": _truncated, "2022": _rounded}
"""The profiles whose host computes the constants in float64, and how each encodes them."""


def membrane_constants(tau_m: float, cm: float, dt: float, profile: str = DEFAULT_PROFILE) -> tuple[int, int]:
    """``(exp_TC, R)`` bits: under 7.4.1 as neuron_model_lif_impl.h computes them on chip; under 2019 and
    2022 the host's float64 ``exp(-dt / tau_m)`` and ``tau_m / cm`` truncated (rounded) to s16.15."""
    if profile in HOST_ENCODINGS:
        encode = HOST_ENCODINGS[profile]
        return encode(math.exp(-dt / tau_m), ONE), encode(tau_m / cm, ONE)
    ts = s1615(dt)
    return expk(-kdivk(ts, s1615(tau_m))), kdivk(s1615(tau_m), s1615(cm))


def synapse_constants(tau: float, dt: float, profile: str = DEFAULT_PROFILE) -> tuple[int, int]:
    """``(decay, init)`` u0.32 bits of an exponential synapse: under 7.4.1 as exp_synapse_utils.h computes
    them on chip; under 2019 and 2022 the host's float64 ``exp(-dt / tau)`` and ``(tau / dt) (1 - exp(-dt / tau))``
    truncated (rounded) to u0.32."""
    if profile in HOST_ENCODINGS:
        encode, decay = HOST_ENCODINGS[profile], math.exp(-dt / tau)
        return encode(decay, 1 << 32), encode((tau / dt) * (1.0 - decay), 1 << 32)
    ts, tau_bits = s1615(dt), s1615(tau)
    decay = expulr(-kdivk(ts, tau_bits))
    init = ((kdivk(tau_bits, ts) * (U032_ONE - decay)) >> FRACTION_BITS) & 0xFFFFFFFF
    return decay, init


def refractory_ticks(tau_refrac: float, dt: float) -> int:
    """``T_refract``: ceil of the accum quotient tau_refrac / dt, on the bits."""
    quotient = kdivk(s1615(tau_refrac), s1615(dt))
    return (quotient >> FRACTION_BITS) + (1 if quotient & (ONE - 1) else 0)


def stdp_lut(tau: float, dt: float) -> np.ndarray:
    """STDP exponential lookup table: floor(2048 exp(-k dt / tau)), its size rounded up to even
    (sPyNNaker plasticity/stdp/common.py); an index beyond the end reads 0."""
    step = dt / float(tau)
    size, extra = divmod(math.log(STDP_ONE) / step, 2)
    size = (int(size) + (extra > 0)) * 2
    return np.floor(np.exp(np.arange(size) * -step) * STDP_ONE).astype(np.int64)


STDP_FRACTION_BITS = 11
STDP_ONE = 1 << STDP_FRACTION_BITS
STDP_TRACE_WIDTH = 16  # int16_t traces
POST_EVENT_HISTORY = 16  # post events kept per neuron, the first a dummy at time 0 (post_events.h)
PRODUCT_BITS = 32  # an accum product lands in a 32-bit register


# --- kernel arithmetic on numpy int64 arrays holding 32-bit values ------------------------------


def wrap32(x):
    """Two's-complement int32 wrap of int64 values (what ARM register adds do): numpy's cast to int32 keeps
    the low 32 bits."""
    return np.asarray(x, dtype=np.int64).astype(np.int32).astype(np.int64)


def mul_accum(a, b):
    """accum * accum: floor((a * b) >> 15), wrapped to int32."""
    return wrap32((np.asarray(a, dtype=np.int64) * np.asarray(b, dtype=np.int64)) >> FRACTION_BITS)


def decay_accum(x, decay_u032):
    """accum * u0.32 decay: floor((x * d) >> 32). |x| < 2^31 and d < 2^32 keep the product in int64."""
    return (np.asarray(x, dtype=np.int64) * np.asarray(decay_u032, dtype=np.int64)) >> 32
