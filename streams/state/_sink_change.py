"""SinkChange: one row change bound for the Postgres sink, and its JSON form on the sink topic.

The JSON keeps every value exact: NUMERIC as a JSON number written from the Decimal
(never through a float), timestamps as ISO-8601 UTC with `Z`, dates as ISO dates. JSON
has no timestamp type, so `types` names the columns whose text is a timestamp or a date,
and `from_json` gives back the same Python values `to_json` was given:

    {"table": "wells", "op": "upsert", "thingId": "acme:well-mor-001", "revision": 18,
     "key": {"tenant": "acme", "well_code": "MOR-001"},
     "columns": {"oil_rate_bopd": 300, "last_update": "2026-03-02T10:15:04Z"},
     "types": {"last_update": "timestamptz"},
     "correlationId": "...", "sourceTs": "2026-03-02T10:15:04.123Z"}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

from streams.cdc import loads, parse_date, parse_timestamp
from streams.ditto.protocol import revision_of
from streams.errors import DecodeError, MappingError
from streams.mapping import dumps

_TIMESTAMPTZ = "timestamptz"
_DATE = "date"


class SinkOp(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class SinkChange:
    """Write `columns` of the row `key` of `table` at twin `revision` (or delete the row).

    `columns` holds only the mapped columns the twin event touched (None = NULL), never
    a key column; a delete has none.
    """

    table: str
    op: SinkOp
    key: Mapping[str, Any]
    revision: int
    thing_id: str
    columns: Mapping[str, Any] = field(default_factory=dict)
    correlation_id: str | None = None
    source_ts: datetime | None = None  # Ditto's event time, for end-to-end latency

    def to_json(self) -> bytes:
        types = {
            name: kind
            for part in (self.key, self.columns)
            for name, value in part.items()
            if (kind := _type_of(value)) is not None
        }
        document: dict[str, Any] = {
            "table": self.table,
            "op": str(self.op),
            "thingId": self.thing_id,
            "revision": self.revision,
            "key": {k: _plain(v) for k, v in self.key.items()},
            "columns": {k: _plain(v) for k, v in self.columns.items()},
            "types": types,
            "correlationId": self.correlation_id,
            "sourceTs": None if self.source_ts is None else _iso(self.source_ts),
        }
        return dumps(document).encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> SinkChange:
        """The change a sink record holds, or a DecodeError saying what is wrong."""
        try:
            doc = loads(data)
        except ValueError as exc:
            raise DecodeError(f"sink record is not JSON: {exc}") from exc
        if not isinstance(doc, dict):
            raise DecodeError("sink record must be a JSON object")
        types = _object(doc, "types", required=False)
        if not _object(doc, "key"):
            raise DecodeError("sink record field 'key' is empty; a row needs its key columns")
        stamp = doc.get("sourceTs")
        return cls(
            table=_text(doc, "table"),
            op=_op(doc.get("op")),
            key=_typed(_object(doc, "key"), types),
            revision=revision_of(doc.get("revision"), "sink record revision"),
            thing_id=_text(doc, "thingId"),
            columns=_typed(_object(doc, "columns", required=False), types),
            correlation_id=None if doc.get("correlationId") is None else str(doc["correlationId"]),
            source_ts=None if stamp is None else parse_timestamp(stamp, "sink record sourceTs"),
        )


def _type_of(value: Any) -> str | None:
    if isinstance(value, datetime):
        return _TIMESTAMPTZ
    if isinstance(value, date):
        return _DATE
    return None


def _iso(value: datetime) -> str:
    if value.tzinfo is None:
        raise MappingError(f"timestamp {value.isoformat()} has no time zone; the sink needs UTC")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _typed(values: Mapping[str, Any], types: Mapping[str, Any]) -> dict[str, Any]:
    for name, value in values.items():
        if isinstance(value, dict | list):
            raise DecodeError(
                f"sink record column {name}: a column value is a scalar, got {value!r}"
            )
    out = dict(values)
    for name, kind in types.items():
        if name not in out or out[name] is None:
            continue
        what = f"sink record column {name}"
        if kind == _TIMESTAMPTZ:
            out[name] = parse_timestamp(out[name], what)
        elif kind == _DATE:
            out[name] = parse_date(out[name], what)
        else:
            raise DecodeError(f"{what}: unknown type {kind!r} (known: timestamptz, date)")
    return out


def _text(doc: Mapping[str, Any], name: str) -> str:
    value = doc.get(name)
    if isinstance(value, str) and value:
        return value
    raise DecodeError(f"sink record field {name!r} must be a non-empty string, got {value!r}")


def _object(doc: Mapping[str, Any], name: str, *, required: bool = True) -> dict[str, Any]:
    value = doc.get(name)
    if value is None and not required:
        return {}
    if isinstance(value, dict):
        return value
    raise DecodeError(f"sink record field {name!r} must be a JSON object, got {value!r}")


def _op(raw: Any) -> SinkOp:
    try:
        return SinkOp(raw)
    except ValueError as exc:
        raise DecodeError(f"sink record op must be upsert or delete, got {raw!r}") from exc


__all__ = ["SinkChange", "SinkOp"]
