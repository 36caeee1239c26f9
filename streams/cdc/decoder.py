"""Debezium record -> RowChange or one of the non-row kinds.

Accepted shapes (see debezium.md §6 and §9.1): the full envelope with `op`; the flat row
of ExtractNewRecordState with `__op`/`__deleted` metadata; a flat row without metadata
(an upsert, also what a plain row JSON is); each with or without JsonConverter's
`{schema, payload}` wrapper; and every encoding of "delete by key": a Kafka null, the JSON
text `null`, and a null payload. Anything else is a DecodeError that says what to fix.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from streams.cdc import _envelope as env
from streams.cdc._model import (
    CdcRecord,
    Decoded,
    Op,
    RowChange,
    SourceInfo,
    Tombstone,
)
from streams.cdc._toast import DEFAULT_PLACEHOLDER, Placeholder
from streams.cdc._types import ColumnTypes, by_schema, coerce, loads
from streams.errors import DecodeError

logger = logging.getLogger(__name__)

HEARTBEAT_TOPIC_PREFIX = "__debezium-heartbeat"
OLD_KEY_HEADER = "__debezium.oldkey"
NEW_KEY_HEADER = "__debezium.newkey"
_ROW_OPS = {"c": Op.CREATE, "u": Op.UPDATE, "d": Op.DELETE, "r": Op.READ, "t": Op.TRUNCATE}


class Decoder:
    """Decodes records of any number of tables; holds no per-record state.

    `column_types` maps a table to its declared column types (from its mapping). Events
    with a schema are typed by the schema's semantic names and then checked against the
    declaration; events without one (schemas.enable=false) are typed by it alone.
    """

    def __init__(
        self,
        column_types: Mapping[str, ColumnTypes] | None = None,
        *,
        placeholder: str = DEFAULT_PLACEHOLDER,
        field_prefix: str = "__",
        heartbeat_topic_prefix: str = HEARTBEAT_TOPIC_PREFIX,
    ) -> None:
        self._types: Mapping[str, ColumnTypes] = column_types or {}
        self._placeholder = Placeholder.of(placeholder)
        self._prefix = field_prefix
        self._heartbeat_prefix = heartbeat_topic_prefix + "."

    def decode(self, record: CdcRecord) -> Decoded:
        """One record -> one decoded event; raises DecodeError naming record and cause."""
        try:
            return self._decode(record, _parse(record.key, "key"), _parse(record.value, "value"))
        except DecodeError as exc:
            raise DecodeError(f"{record.origin}: {exc}") from exc

    def decode_documents(self, record: CdcRecord, key: Any, value: Any) -> Decoded:
        """The same as `decode` for a key and value another converter has read already
        (the Avro one), given as JsonConverter's {schema, payload} documents."""
        try:
            return self._decode(record, key, value)
        except DecodeError as exc:
            raise DecodeError(f"{record.origin}: {exc}") from exc

    # -- shape dispatch -------------------------------------------------------------

    def _decode(self, record: CdcRecord, key_doc: Any, parsed: Any) -> Decoded:
        origin = record.origin
        key_schema, key = _unwrap(key_doc)
        if record.topic.startswith(self._heartbeat_prefix):
            value = _unwrap(parsed)[1]
            return env.heartbeat(_as_dict(key, "key"), _as_opt_dict(value), origin)
        parts = _Parts(record, _table_of(record.topic), _as_opt_dict(key_schema), key)
        if record.value is None:
            return self._tombstone(parts, "kafka-null")
        if parsed is None:
            return self._tombstone(parts, "json-null")
        schema, payload = _unwrap(parsed)
        if payload is None:
            return self._tombstone(parts, "payload-null")
        payload = _as_dict(payload, "value payload")
        if env.is_transaction_marker(payload):
            return env.transaction_marker(payload, origin)
        if payload.keys() == {"ts_ms"}:  # a heartbeat under a custom topic.heartbeat.name
            return env.heartbeat(_as_opt_dict(key) or {}, payload, origin)
        if "op" in payload:
            return self._envelope(parts, _as_opt_dict(schema), payload)
        return self._flat(parts, _as_opt_dict(schema), payload)

    def _tombstone(self, parts: _Parts, encoding: str) -> Tombstone:
        if parts.key is None:
            raise DecodeError(
                "a delete without a key cannot name a row; give the table a primary key "
                "or set message.key.columns in the connector"
            )
        key = self._typed(parts.table, _as_dict(parts.key, "key"), parts.key_schema, "key")
        return Tombstone(parts.table, key, parts.record.origin, encoding)

    def _envelope(
        self, parts: _Parts, schema: dict[str, Any] | None, payload: dict[str, Any]
    ) -> Decoded:
        op_code = payload["op"]
        if op_code == "m":
            return env.logical_message(payload, parts.record.origin)
        if op_code not in _ROW_OPS:
            raise DecodeError(f"unknown op {op_code!r}; expected one of c, u, d, r, t, m")
        source = env.source_info(_as_dict(payload.get("source") or {}, "source"))
        table = source.table or parts.table
        fields = _fields(schema)
        after, unavailable = self._image(table, payload.get("after"), fields.get("after"))
        before, _ = self._image(table, payload.get("before"), fields.get("before"))
        return self._row_change(
            replace(parts, table=table),
            _ROW_OPS[op_code],
            _Images(after, before, unavailable),
            source,
            env.optional_int(payload.get("ts_ms"), "ts_ms"),
        )

    def _flat(
        self, parts: _Parts, schema: dict[str, Any] | None, payload: dict[str, Any]
    ) -> RowChange:
        columns, meta = env.split_flat(payload, self._prefix)
        table = env.optional_str(meta.get("table"), "__table") or parts.table
        image, unavailable = self._image(table, columns, schema)
        op = _flat_op(meta)
        after, before = (None, image) if op is Op.DELETE else (image, None)
        return self._row_change(
            replace(parts, table=table),
            op,
            _Images(after, before, unavailable),
            env.source_info(meta, "flattened metadata"),
            env.optional_int(meta.get("ts_ms"), "__ts_ms"),
            flattened=True,
        )

    # -- building blocks ------------------------------------------------------------

    def _row_change(
        self,
        parts: _Parts,
        op: Op,
        images: _Images,
        source: SourceInfo,
        ts_ms: int | None,
        *,
        flattened: bool = False,
    ) -> RowChange:
        key = {} if parts.key is None else _as_dict(parts.key, "key")
        return RowChange(
            op=op,
            table=parts.table,
            key=self._typed(parts.table, key, parts.key_schema, "key"),
            row=images.after,
            before=images.before,
            source=source,
            origin=parts.record.origin,
            unavailable=images.unavailable,
            ts_ms=ts_ms,
            old_key=self._header_key(parts, OLD_KEY_HEADER),
            new_key=self._header_key(parts, NEW_KEY_HEADER),
            flattened=flattened,
        )

    def _image(
        self, table: str, values: Any, schema: Mapping[str, Any] | None
    ) -> tuple[dict[str, Any] | None, frozenset[str]]:
        if values is None:
            return None, frozenset()
        values = _as_dict(values, "row image")
        unavailable = frozenset(n for n, v in values.items() if self._placeholder.matches(v))
        kept = {n: v for n, v in values.items() if n not in unavailable}
        return self._typed(table, kept, schema, "row"), unavailable

    def _typed(
        self, table: str, values: Mapping[str, Any], schema: Mapping[str, Any] | None, part: str
    ) -> dict[str, Any]:
        declared = self._types.get(table, {})
        field_schemas = _fields(schema)
        typed: dict[str, Any] = {}
        for name, raw in values.items():
            what = f"{table}.{name} ({part})"
            value = by_schema(raw, field_schemas[name], what) if name in field_schemas else raw
            spec = declared.get(name)
            typed[name] = coerce(value, spec, what) if spec is not None else value
        return typed

    def _header_key(self, parts: _Parts, name: str) -> dict[str, Any] | None:
        raw = next((v for k, v in parts.record.headers if k == name and v is not None), None)
        if raw is None:
            return None
        try:
            payload = _unwrap(loads(raw))[1]
        except ValueError:
            # Informational only: the row event itself is still good.
            logger.warning("header=%s origin=%s not JSON, ignored", name, parts.record.origin)
            return None
        if not isinstance(payload, dict):
            return None
        return self._typed(parts.table, payload, None, name)


@dataclass(frozen=True, slots=True)
class _Parts:
    """What every shape needs besides the value: the record, its table and its key."""

    record: CdcRecord
    table: str
    key_schema: dict[str, Any] | None
    key: Any


@dataclass(frozen=True, slots=True)
class _Images:
    after: dict[str, Any] | None
    before: dict[str, Any] | None
    unavailable: frozenset[str]


def _parse(data: bytes | None, part: str) -> Any:
    if data is None:
        return None
    try:
        return loads(data)
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"the record {part} is not UTF-8 text; is this Avro? "
            "configure the JSON converter for this topic"
        ) from exc
    except ValueError as exc:
        raise DecodeError(
            f"the record {part} is not JSON ({exc}); the topic must carry "
            "Debezium's JSON converter output"
        ) from exc


def _unwrap(parsed: Any) -> tuple[Any, Any]:
    """JsonConverter with schemas.enable wraps as {schema, payload}: split it."""
    if isinstance(parsed, dict) and parsed.keys() == {"schema", "payload"}:
        return parsed["schema"], parsed["payload"]
    return None, parsed


def _fields(schema: Mapping[str, Any] | None) -> dict[str, Mapping[str, Any]]:
    if not schema:
        return {}
    return {f["field"]: f for f in schema.get("fields", ()) if isinstance(f, dict)}


def _as_dict(value: Any, what: str) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise DecodeError(f"the {what} must be a JSON object, got {type(value).__name__}")


def _as_opt_dict(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _table_of(topic: str) -> str:
    # `<prefix>.<schema>.<table>`; a flat row's `__table` or source.table overrides it.
    return topic.rsplit(".", 1)[-1]


def _flat_op(meta: Mapping[str, Any]) -> Op:
    deleted = meta.get("deleted")
    if deleted is True or (isinstance(deleted, str) and deleted.lower() == "true"):
        return Op.DELETE
    code = meta.get("op")
    if code is None:
        return Op.UPSERT
    if code not in _ROW_OPS:
        raise DecodeError(f"unknown __op {code!r}; expected one of c, u, d, r")
    return _ROW_OPS[code]


__all__ = ["HEARTBEAT_TOPIC_PREFIX", "NEW_KEY_HEADER", "OLD_KEY_HEADER", "Decoder"]
