"""Checked conversion of user values (numbers, unit strings, arrays) to canonical float64.

Canonical units are PyNN's: mV, nA, ms, nF, uS (and MOhm, Hz). A value may be a plain number (already in
the canonical unit), a string such as ``"270 pF"``, or a ``quantities.Quantity``; anything else, or a
unit of the wrong dimension, is a :class:`ValidationError` naming the object and field. Weights are
currents (nA) onto current-based cells and conductances (uS) onto conductance-based ones: a weight
given with a unit records which, so the network can check it against the cell it reaches.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass

import numpy as np
import quantities as pq

from neurodeploy.errors import ValidationError

_QUANTITY_TEXT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z][A-Za-z0-9_/*^ ]*)?\s*$")


def describe(value) -> str:
    """A value as it may appear in a one-line message: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar(value, unit: str | None, where: str, field: str) -> float:
    if isinstance(value, bool):
        raise ValidationError(where, field, f"expected a number{_in(unit)}, got a boolean {value!r}")
    if isinstance(value, pq.Quantity):
        if unit is None:
            raise ValidationError(where, field, f"expected a plain number, got the quantity {value}")
        try:
            converted = float(value.rescale(unit).magnitude)
        except ValueError:
            raise ValidationError(where, field, f"expected a value in {unit}, got {value} (wrong unit)") from None
        return converted
    if isinstance(value, str):
        match = _QUANTITY_TEXT.match(value)
        if match is None:
            raise ValidationError(where, field, f"expected a number{_in(unit)}, got {describe(value)}")
        magnitude, unit_text = float(match.group(1)), match.group(2)
        if unit_text is None:
            return magnitude
        if unit is None:
            raise ValidationError(where, field, f"expected a plain number, got {value!r}")
        try:
            return float(pq.Quantity(magnitude, unit_text.strip()).rescale(unit).magnitude)
        except (LookupError, SyntaxError):  # quantities parses unit text with eval
            raise ValidationError(where, field, f"unknown unit '{unit_text.strip()}' in {value!r}") from None
        except ValueError:
            raise ValidationError(where, field, f"expected a value in {unit}, got {value!r} (wrong unit)") from None
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:  # an integer past the float range
            raise ValidationError(where, field, f"{describe(value)} is too large for a number") from None
    raise ValidationError(where, field, f"expected a number{_in(unit)}, got {describe(value)}")


def _unit(unit: str | None) -> str:
    return f" {unit}" if unit else ""


def _in(unit: str | None) -> str:
    return f" in {unit}" if unit else ""


def number(value, unit: str | None, where: str, field: str) -> float:
    """One finite float in ``unit``."""
    result = _scalar(value, unit, where, field)
    if not np.isfinite(result):
        raise ValidationError(where, field, f"must be finite, got {result}")
    return result


def number_or_array(
    value,
    unit: str | None,
    where: str,
    field: str,
    size: int | None = None,
    size_name: str = "neurons",
    copy: bool = True,
):
    """A finite float, or a float64 array of ``size`` entries (one per neuron or synapse); ``copy=False``
    returns a float64 array given as itself (one the description already holds), and so does a float64
    array nobody can change under the description (:func:`unchangeable`)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and not isinstance(value, pq.Quantity):
        value = value.item()  # a numpy scalar in an array
    if isinstance(value, (list, tuple)) or (isinstance(value, np.ndarray) and value.ndim > 0):
        if isinstance(value, pq.Quantity):
            try:
                array = np.asarray(value.rescale(unit).magnitude, dtype=np.float64)
            except ValueError:
                raise ValidationError(where, field, f"expected values in {unit} (wrong unit)") from None
        elif isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
            array = value.astype(np.float64, copy=copy and not unchangeable(value))
        elif all(type(v) is float or type(v) is int for v in value) and not any(
            type(v) is int and abs(v) > 2**1023 for v in value
        ):  # plain numbers: no per-entry parsing
            array = np.array(value, dtype=np.float64)
        else:
            array = np.array([_scalar(v, unit, where, field) for v in value], dtype=np.float64)
        if array.ndim != 1:
            raise ValidationError(where, field, f"expected a number or a flat list, got shape {array.shape}")
        if size is not None and array.size != size:
            raise ValidationError(where, field, f"has {array.size} values but there are {size} {size_name}")
        if _all_finite(array):
            return array
        bad = ~np.isfinite(array)
        if bad.any():
            raise ValidationError(
                where, field, f"entry {int(np.argmax(bad))} is {array[bad][0]}: values must be finite"
            )
        return array
    return number(value, unit, where, field)


def unchangeable(array: np.ndarray) -> bool:
    """Whether no one can write ``array`` through numpy: it is read-only, and so is every array it views
    (a read-only view of a writable array changes with it); its memory is its own or immutable bytes."""
    while not array.flags.writeable:
        base = array.base
        if not isinstance(base, np.ndarray):
            return base is None or isinstance(base, bytes)
        array = base
    return False


def _all_finite(array: np.ndarray) -> bool:
    """Whether every entry is finite, from the extremes (no temporary of the array's size): a NaN or an
    infinity makes the minimum or the maximum not finite."""
    return array.size == 0 or bool(np.isfinite(array.min()) and np.isfinite(array.max()))


WEIGHT_UNITS = ("nA", "uS", "nA*ms")
WEIGHT_KINDS = {"nA": "currents (nA)", "uS": "conductances (uS)", "nA*ms": "charges (nA*ms)"}


def weight(
    value,
    where: str,
    field: str,
    found: set,
    size: int | None = None,
    size_name: str = "connections",
    array: bool = True,
):
    """A weight (a number, or with ``array`` one per connection): plain numbers are in the post cell's
    weight unit; a value with a unit is converted to nA if it is a current, to uS if a conductance, to
    nA*ms if a charge, and that unit is added to ``found``."""
    unit = _weight_unit(value, where, field)
    if unit is not None:
        found.add(unit)
    if not array:
        return number(value, unit or WEIGHT_UNITS[0], where, field)
    return number_or_array(value, unit or WEIGHT_UNITS[0], where, field, size, size_name)


def _weight_unit(value, where: str, field: str) -> str | None:
    """The unit of the first entry given with one (one of WEIGHT_UNITS), None if all are plain numbers."""
    if isinstance(value, (list, tuple)):
        items = (v for v in value if not (type(v) is float or type(v) is int))  # plain numbers: no parsing
    else:
        items = [value]
    for item in items:
        if isinstance(item, str):
            match = _QUANTITY_TEXT.match(item)
            if match is None or match.group(2) is None:
                continue
            try:
                item = pq.Quantity(1.0, match.group(2).strip())
            except (LookupError, SyntaxError):  # quantities parses unit text with eval
                raise ValidationError(where, field, f"unknown unit '{match.group(2).strip()}' in {item!r}") from None
        if isinstance(item, pq.Quantity):
            for unit in WEIGHT_UNITS:
                try:
                    item.rescale(unit)
                    return unit
                except ValueError:
                    pass
            raise ValidationError(
                where, field, f"expected a current (nA), a conductance (uS) or a charge (nA*ms), got {describe(value)}"
            )
    return None


def integer(value, where: str, field: str, minimum: int | None = None, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValidationError(where, field, f"expected an integer, got {describe(value)}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValidationError(where, field, f"must be >= {minimum}, got {describe(value)}")
    if maximum is not None and value > maximum:
        raise ValidationError(where, field, f"must be at most {maximum}, got {describe(value)}")
    return value


def choice(value, options, where: str, field: str) -> str:
    if not isinstance(value, str) or value not in options:
        raise ValidationError(where, field, f"must be one of {', '.join(map(repr, options))}, got {describe(value)}")
    return value


def label(value, where: str, field: str = "label") -> str:
    """A name that prints on one line and is written to JSON and file names: printable characters only
    (no newline or other control character, no lone surrogate)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(where, field, f"expected a non-empty string, got {describe(value)}")
    if not value.isprintable():
        bad = next(character for character in value if not character.isprintable())
        raise ValidationError(
            where, field, f"must be printable text, got {ascii(value)[:60]} (character U+{ord(bad):04X})"
        )
    return value


def boolean(value, where: str, field: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(where, field, f"expected true or false, got {describe(value)}")
    return value


def index_dtype(bound: int) -> type:
    """The integer type of indices below ``bound``: int32 (half of int64's memory per synapse) wherever they fit."""
    return np.int32 if bound <= 2**31 else np.int64


def index_array(value, where: str, field: str, bound: int, bound_name: str) -> np.ndarray:
    """Integer indices in ``[0, bound)``, of :func:`index_dtype`."""
    array = np.asarray(value)
    if array.ndim != 1:
        raise ValidationError(where, field, f"expected a flat list of indices, got shape {array.shape}")
    if array.size and array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValidationError(where, field, "indices must be integers")
        array = array.astype(np.int64)
    elif array.size and array.dtype.kind not in "iu":
        raise ValidationError(where, field, f"indices must be integers, got {array.dtype} values")
    array = array.astype(np.int64)
    bad = (array < 0) | (array >= bound)
    if bad.any():
        raise ValidationError(
            where, field, f"index {int(array[bad][0])} is out of range for {bound_name} (0..{bound - 1})"
        )
    return array.astype(index_dtype(bound), copy=False)


def check_range(value, where: str, field: str, unit: str, *, above=None, at_least=None, at_most=None):
    """Bounds on a scalar or array: strictly ``> above`` or ``>= at_least``, and ``<= at_most``."""
    values = np.atleast_1d(value)
    if values.size == 0:
        return
    lowest, highest = values.min(), values.max()  # the extremes first: the masks below only to find a fault
    if (
        np.isnan(lowest)
        or np.isnan(highest)
        or (above is not None and lowest <= above)
        or (at_least is not None and lowest < at_least)
        or (at_most is not None and highest > at_most)
    ):
        _range_fault(values, where, field, unit, above, at_least, at_most)


def _range_fault(values: np.ndarray, where: str, field: str, unit: str, above, at_least, at_most):
    """The first value out of the bounds, named (a NaN is out of none)."""
    if above is not None and np.any(values <= above):
        worst = values[values <= above][0]
        raise ValidationError(where, field, f"must be > {above:g}{_unit(unit)}, got {worst:g}{_unit(unit)}")
    if at_least is not None and np.any(values < at_least):
        worst = values[values < at_least][0]
        raise ValidationError(where, field, f"must be >= {at_least:g}{_unit(unit)}, got {worst:g}{_unit(unit)}")
    if at_most is not None and np.any(values > at_most):
        worst = values[values > at_most][0]
        raise ValidationError(where, field, f"must be <= {at_most:g}{_unit(unit)}, got {worst:g}{_unit(unit)}")


@dataclass(frozen=True)
class Range:
    """Bounds a builder declares on a parameter, ``rate_hz: Annotated[float, Range(above=0)]``: the
    catalog checks a value against them before the builder runs, and the signature shows them."""

    above: float | None = None
    at_least: float | None = None
    at_most: float | None = None

    def check(self, value, where: str, field: str):
        """``value`` (already of the declared type) within the bounds; integers are compared exactly."""
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            least = [math.ceil(self.at_least)] if self.at_least is not None else []
            least += [math.floor(self.above) + 1] if self.above is not None else []
            return integer(
                value,
                where,
                field,
                max(least, default=None),
                None if self.at_most is None else math.floor(self.at_most),
            )
        check_range(value, where, field, "", above=self.above, at_least=self.at_least, at_most=self.at_most)
        return value


def check_keys(data, allowed, where: str, required=()):
    """Unknown or missing keys in a loaded mapping."""
    if not isinstance(data, dict):
        raise ValidationError(where, None, f"expected a mapping, got {describe(data)}")
    for key in data:
        if key not in allowed:
            raise ValidationError(where, str(key), f"unknown field (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in data:
            raise ValidationError(where, key, "is required")


def to_plain(value):
    """float64 scalars and arrays as JSON/YAML-ready Python floats and lists (exact repr round trip)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value
