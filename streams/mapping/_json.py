"""JSON text for twins and commands, with NUMERIC rendered exactly.

A Decimal becomes a JSON number written positionally from its normalized value: trailing
zeros go (450.000 -> 450, 7.0 -> 7, 2.875 -> 2.875), no exponent is used, and no float
rounding ever happens. Integral values travel as Python ints and values whose shortest
float text is the same digits travel as floats, both through the C encoder; only the
rare value that would round (more than ~15 significant digits) takes a slower path.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from streams.errors import MappingError

_DUMP = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_STRING = json.encoder.encode_basestring  # the C encoder's own string writer


class _NeedsExactPath(Exception):
    """A Decimal that no float reproduces: use the exact encoder for this document."""


def number_text(value: Decimal) -> str:
    """The JSON number text of a finite Decimal (trailing zeros dropped, positional)."""
    if not value.is_finite():
        raise MappingError(f"{value} cannot be a JSON number; NaN and Infinity have no twin form")
    # format(..., "f") is exact at any precision (normalize() would round to 28 digits).
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fast(value: Decimal) -> int | float:
    text = number_text(value)
    if "." not in text:
        return int(text)
    as_float = float(text)
    if repr(as_float) != text:
        raise _NeedsExactPath
    return as_float


def _prepare(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return _fast(obj)
    if isinstance(obj, dict):
        return {k: _prepare(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_prepare(v) for v in obj]
    return obj


def _exact(obj: Any) -> str:
    if isinstance(obj, Decimal):
        return number_text(obj)
    if isinstance(obj, dict):
        items = (f"{_DUMP(str(k))}:{_exact(v)}" for k, v in obj.items())
        return "{" + ",".join(items) + "}"
    if isinstance(obj, list | tuple):
        return "[" + ",".join(_exact(v) for v in obj) + "]"
    return _DUMP(obj)


def dumps(obj: Any) -> str:
    """Compact JSON text; Decimals as exact numbers, never NaN."""
    try:
        return _DUMP(_prepare(obj))
    except _NeedsExactPath:
        return _exact(obj)
    except ValueError as exc:  # allow_nan=False on a float NaN
        raise MappingError(f"not representable as JSON: {exc}") from exc


def canonical(value: Any) -> str:
    """One value's comparable JSON text: equal twin values give equal texts (450.0, 450)."""
    if isinstance(value, str):
        return _STRING(value)
    if isinstance(value, Decimal):
        return number_text(value)
    return dumps(value)


__all__ = ["canonical", "dumps", "number_text"]
