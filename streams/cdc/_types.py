"""Typing of column values: by Connect schema name when the event has a schema, by the
declared column type when it has none. Every result is exact: NUMERIC is a Decimal,
never a float; timestamps are aware UTC datetimes at microsecond precision.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, assert_never

from streams.errors import DecodeError

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_DAY = date(1970, 1, 1)


class ColumnType(StrEnum):
    """The column types a mapping may declare; each has one Python type after decoding."""

    TEXT = "text"  # str
    NUMERIC = "numeric"  # Decimal
    INTEGER = "integer"  # int
    TIMESTAMPTZ = "timestamptz"  # aware datetime in UTC
    DATE = "date"  # date
    BOOLEAN = "boolean"  # bool


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A declared column. `scale` is only needed for NUMERIC columns that arrive in
    Debezium's precise mode (base64 bytes) without a schema, where the scale is lost."""

    type: ColumnType
    scale: int | None = None


ColumnTypes = Mapping[str, ColumnSpec]


# The decoder, the mapping and the JSON writer recurse once or twice per level, so a
# document a few hundred levels deep would exhaust Python's stack after it parsed; no row
# nests anywhere near this.
MAX_JSON_DEPTH = 64


def loads(data: bytes | str) -> Any:
    """JSON with every fraction as an exact Decimal (never a float); a DecodeError when
    it nests deeper than MAX_JSON_DEPTH levels of objects and arrays."""
    try:
        doc = json.loads(data, parse_float=Decimal)
    except RecursionError as exc:
        raise _too_deep() from exc
    # Counting brackets is cheap and bounds the depth from above; walk only when it may exceed.
    if _openings(data) > MAX_JSON_DEPTH and _nesting(doc) > MAX_JSON_DEPTH:
        raise _too_deep()
    return doc


def _openings(data: bytes | str) -> int:
    if isinstance(data, bytes):
        return data.count(b"[") + data.count(b"{")
    return data.count("[") + data.count("{")


def _too_deep() -> DecodeError:
    return DecodeError(
        f"the JSON nests too deep (over {MAX_JSON_DEPTH} levels of objects and arrays); "
        "no legacy row nests like that: check what wrote this record"
    )


def _nesting(doc: Any) -> int:
    """Levels of objects and arrays, counted without recursion (stops past the limit)."""
    depth, level = 0, [doc]
    while depth <= MAX_JSON_DEPTH:
        containers = [v for v in level if isinstance(v, dict | list)]
        if not containers:
            return depth
        depth += 1
        level = [c for box in containers for c in (box.values() if isinstance(box, dict) else box)]
    return depth


# -- primitives ---------------------------------------------------------------------


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise DecodeError(f"{what}: expected base64 text, got {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(f"{what}: {value!r} is not valid base64") from exc


def unscaled_decimal(raw: bytes, scale: int) -> Decimal:
    """Connect Decimal bytes: big-endian two's complement of the unscaled integer."""
    # From text, which is exact; scaleb() would round to the context's 28 digits.
    return Decimal(f"{int.from_bytes(raw, 'big', signed=True)}E-{scale}")


def _connect_decimal(value: Any, scale: int, what: str) -> Decimal:
    # decimal.format=NUMERIC writes a JSON number; the default BASE64 writes the bytes.
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        return Decimal(value)
    return unscaled_decimal(_bytes(value, what), scale)


def _variable_scale(value: Any, what: str) -> Decimal:
    if not isinstance(value, Mapping) or "scale" not in value or "value" not in value:
        raise DecodeError(f"{what}: expected a {{scale, value}} struct, got {value!r}")
    return unscaled_decimal(_bytes(value["value"], what), int(value["scale"]))


def _from_epoch(amount: int, per_second: int, what: str) -> datetime:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise DecodeError(f"{what}: expected an integer timestamp, got {amount!r}")
    seconds, rest = divmod(amount, per_second)
    micros, sub_micro = divmod(rest * 1_000_000, per_second)
    if sub_micro:
        raise DecodeError(f"{what}: {amount} has precision below a microsecond")
    try:
        return EPOCH + timedelta(seconds=seconds, microseconds=micros)
    except OverflowError as exc:
        raise DecodeError(
            f"{what}: {amount} is outside the datetime range (an 'infinity' sentinel?); "
            "store a real timestamp or leave the column unmapped"
        ) from exc


def _time_of_day(amount: int, per_second: int, what: str) -> time:
    moment = _from_epoch(amount, per_second, what)
    if moment.date() != EPOCH_DAY:
        raise DecodeError(f"{what}: {amount} is not a time of day")
    return moment.time()


def _days(value: Any, what: str) -> date:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DecodeError(f"{what}: expected days since 1970-01-01, got {value!r}")
    try:
        return EPOCH_DAY + timedelta(days=value)
    except OverflowError as exc:
        raise DecodeError(f"{what}: {value} days is outside the date range") from exc


_FRACTION = re.compile(r"^(?P<head>[^.]*T\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?(?P<tail>.*)$")


def parse_timestamp(text: Any, what: str, *, truncate: bool = False) -> datetime:
    """ISO-8601 with up to 9 fraction digits (Postgres has 6) -> aware UTC datetime.

    Sub-microsecond digits are an error for a column value (the row could not hold it)
    and are cut off with `truncate`, for stamps that only say when something happened.
    """
    if not isinstance(text, str):
        raise DecodeError(f"{what}: expected an ISO-8601 timestamp text, got {text!r}")
    match = _FRACTION.match(text.strip())
    if match is None:
        raise DecodeError(f"{what}: {text!r} is not an ISO-8601 timestamp")
    frac = match["frac"] or ""
    if frac[6:].strip("0") and not truncate:
        raise DecodeError(f"{what}: {text!r} has precision below a microsecond")
    tail = match["tail"] or "+00:00"
    normal = f"{match['head']}.{frac[:6].ljust(6, '0')}{'+00:00' if tail == 'Z' else tail}"
    try:
        parsed = datetime.fromisoformat(normal)
    except ValueError as exc:
        raise DecodeError(f"{what}: {text!r} is not an ISO-8601 timestamp") from exc
    return parsed.astimezone(UTC)


def parse_date(text: Any, what: str) -> date:
    """`2019-03-14` or Debezium's IsoDate `2019-03-14Z`."""
    if not isinstance(text, str):
        raise DecodeError(f"{what}: expected an ISO-8601 date text, got {text!r}")
    try:
        return date.fromisoformat(text.removesuffix("Z"))
    except ValueError as exc:
        raise DecodeError(f"{what}: {text!r} is not an ISO-8601 date") from exc


def _zoned_time(text: Any, what: str) -> time:
    if not isinstance(text, str):
        raise DecodeError(f"{what}: expected an ISO-8601 time text, got {text!r}")
    try:
        return time.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DecodeError(f"{what}: {text!r} is not an ISO-8601 time") from exc


def _json_text(value: Any, what: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return loads(value)
    except ValueError as exc:
        raise DecodeError(f"{what}: the json/jsonb text is not valid JSON") from exc


# -- by Connect schema name -----------------------------------------------------------

_Converter = Callable[[Any, Mapping[str, Any], str], Any]

_BY_NAME: dict[str, _Converter] = {
    "org.apache.kafka.connect.data.Decimal": lambda v, s, w: _connect_decimal(
        v, int(s.get("parameters", {}).get("scale", 0)), w
    ),
    "io.debezium.data.VariableScaleDecimal": lambda v, s, w: _variable_scale(v, w),
    "io.debezium.time.Date": lambda v, s, w: _days(v, w),
    "org.apache.kafka.connect.data.Date": lambda v, s, w: _days(v, w),
    "io.debezium.time.Timestamp": lambda v, s, w: _from_epoch(v, 1_000, w),
    "org.apache.kafka.connect.data.Timestamp": lambda v, s, w: _from_epoch(v, 1_000, w),
    "io.debezium.time.MicroTimestamp": lambda v, s, w: _from_epoch(v, 1_000_000, w),
    "io.debezium.time.NanoTimestamp": lambda v, s, w: _from_epoch(v, 1_000_000_000, w),
    "io.debezium.time.ZonedTimestamp": lambda v, s, w: parse_timestamp(v, w),
    "io.debezium.time.IsoTimestamp": lambda v, s, w: parse_timestamp(v, w),
    "io.debezium.time.IsoDate": lambda v, s, w: parse_date(v, w),
    "io.debezium.time.Time": lambda v, s, w: _time_of_day(v, 1_000, w),
    "org.apache.kafka.connect.data.Time": lambda v, s, w: _time_of_day(v, 1_000, w),
    "io.debezium.time.MicroTime": lambda v, s, w: _time_of_day(v, 1_000_000, w),
    "io.debezium.time.NanoTime": lambda v, s, w: _time_of_day(v, 1_000_000_000, w),
    "io.debezium.time.ZonedTime": lambda v, s, w: _zoned_time(v, w),
    "io.debezium.time.IsoTime": lambda v, s, w: _zoned_time(v, w),
    "io.debezium.data.Json": lambda v, s, w: _json_text(v, w),
}


def by_schema(value: Any, schema: Mapping[str, Any], what: str) -> Any:
    """Type one value from its Connect field schema (JSON converter, schemas.enable)."""
    if value is None:
        return None
    name = schema.get("name")
    if isinstance(name, str) and name in _BY_NAME:
        return _BY_NAME[name](value, schema, what)
    kind = schema.get("type")
    if kind == "bytes":
        return _bytes(value, what)
    if kind == "array" and isinstance(value, list):
        items = schema.get("items") or {}
        return [by_schema(item, items, f"{what}[]") for item in value]
    if kind == "struct" and isinstance(value, Mapping):
        return struct_by_schema(value, schema, what)
    return value


def struct_by_schema(value: Mapping[str, Any], schema: Mapping[str, Any], what: str) -> Any:
    fields = {f["field"]: f for f in schema.get("fields", ()) if "field" in f}
    return {
        name: by_schema(item, fields.get(name, {}), f"{what}.{name}")
        for name, item in value.items()
    }


# -- by declared column type (also the check after schema typing) ----------------------

_DECIMAL_LITERAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(nan|NAN|NaN)$")


def _numeric_text(value: str, spec: ColumnSpec, what: str) -> Decimal:
    # decimal.handling.mode=string writes a literal; precise mode without a schema writes
    # base64, whose scale only the mapping can supply. A literal with a point is never
    # base64 ('.' is outside its alphabet); a bare digit string is base64 only when the
    # column declares a scale, i.e. when the mapping says "precise without schema".
    literal = _DECIMAL_LITERAL.match(value) is not None
    if literal and (spec.scale is None or not value.lstrip("+-").isdigit()):
        return Decimal(value)
    if spec.scale is not None:
        return unscaled_decimal(_numeric_bytes(value, what), spec.scale)
    raise DecodeError(
        f"{what}: NUMERIC arrived as base64 bytes without a schema, so its scale is "
        "lost; enable value.converter.schemas.enable, or set decimal.handling.mode="
        "string, or declare `scale` for this column in the mapping"
    )


def _numeric_bytes(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(
            f"{what}: {value!r} is not a number (nor the base64 bytes Debezium writes for "
            "a NUMERIC without a schema); give the column a number"
        ) from exc


def _to_numeric(value: Any, spec: ColumnSpec, what: str) -> Decimal:
    if isinstance(value, bool):
        raise DecodeError(f"{what}: a boolean cannot be a NUMERIC")
    if isinstance(value, Decimal | int):
        return Decimal(value)
    if isinstance(value, float):  # only NaN/Infinity reach here (parse_constant)
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return _variable_scale(value, what)
    if isinstance(value, str):
        return _numeric_text(value, spec, what)
    raise DecodeError(f"{what}: cannot read {value!r} as NUMERIC")


def _to_timestamptz(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int) and not isinstance(value, bool):
        raise DecodeError(
            f"{what}: an integer timestamp without a schema has no unit (ms, us or ns); "
            "a timestamptz column arrives as text, so check the column's real type or "
            "enable value.converter.schemas.enable"
        )
    return parse_timestamp(value, what)


def _to_date(value: Any, what: str) -> date:
    if isinstance(value, datetime):
        raise DecodeError(f"{what}: a timestamp arrived for a DATE column")
    if isinstance(value, date):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return _days(value, what)
    return parse_date(value, what)


def _expect(value: Any, kinds: type | tuple[type, ...], type_name: str, what: str) -> Any:
    if isinstance(value, kinds) and not (type_name == "integer" and isinstance(value, bool)):
        return value
    raise DecodeError(
        f"{what}: expected {type_name}, got {type(value).__name__} {value!r}; "
        "fix the column's type in the mapping"
    )


_PYTHON_TYPE = {
    ColumnType.TEXT: str,
    ColumnType.NUMERIC: Decimal,
    ColumnType.INTEGER: int,
    ColumnType.TIMESTAMPTZ: datetime,
    ColumnType.DATE: date,
    ColumnType.BOOLEAN: bool,
}


def coerce(value: Any, spec: ColumnSpec, what: str) -> Any:
    """The declared type's Python value, or a DecodeError naming column and fix."""
    if value is None:
        return None
    # Already typed (by the schema, or by an earlier call): the common case, kept cheap.
    if type(value) is _PYTHON_TYPE[spec.type]:
        aware = not isinstance(value, datetime) or value.tzinfo is not None
        if aware:
            return value
    match spec.type:
        case ColumnType.NUMERIC:
            return _to_numeric(value, spec, what)
        case ColumnType.TIMESTAMPTZ:
            return _to_timestamptz(value, what)
        case ColumnType.DATE:
            return _to_date(value, what)
        case ColumnType.TEXT:
            return _expect(value, str, "text", what)
        case ColumnType.INTEGER:
            return _expect(value, int, "integer", what)
        case ColumnType.BOOLEAN:
            return _expect(value, bool, "boolean", what)
    assert_never(spec.type)


__all__ = [
    "ColumnSpec",
    "ColumnType",
    "ColumnTypes",
    "by_schema",
    "coerce",
    "loads",
    "parse_date",
    "parse_timestamp",
    "struct_by_schema",
    "unscaled_decimal",
]
