"""Reading the parts of a Debezium value: the source block, the flattened metadata, the
non-row kinds (transaction markers, logical messages, heartbeats)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from streams.cdc._model import (
    Heartbeat,
    LogicalMessage,
    RecordOrigin,
    SnapshotMarker,
    SourceInfo,
    TransactionMarker,
)
from streams.errors import DecodeError

# Fields ExtractNewRecordState may add with `add.fields`; the prefix is stripped first,
# and a `source_` qualifier too, so `__lsn` and `__source_lsn` both land on `lsn`.
FLAT_SOURCE_FIELDS = frozenset(
    {"lsn", "txId", "ts_ms", "snapshot", "origin", "origin_lsn", "db", "schema", "table"}
)


def optional_int(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)  # add.headers / string converters write numbers as text
    raise DecodeError(f"{what}: expected an integer, got {value!r}")


def optional_str(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise DecodeError(f"{what}: expected a string, got {value!r}")


def snapshot_marker(value: Any) -> SnapshotMarker | None:
    if value is None:
        return None
    if isinstance(value, bool):  # an old docs example shows a boolean
        return SnapshotMarker.TRUE if value else SnapshotMarker.FALSE
    try:
        return SnapshotMarker(str(value).lower())
    except ValueError as exc:
        raise DecodeError(
            f"source.snapshot {value!r} is not one of "
            f"{', '.join(m.value for m in SnapshotMarker)}; is this a newer Debezium?"
        ) from exc


def source_info(source: Mapping[str, Any], what: str = "source") -> SourceInfo:
    return SourceInfo(
        lsn=optional_int(source.get("lsn"), f"{what}.lsn"),
        tx_id=optional_int(source.get("txId"), f"{what}.txId"),
        ts_ms=optional_int(source.get("ts_ms"), f"{what}.ts_ms"),
        snapshot=snapshot_marker(source.get("snapshot")),
        origin=optional_str(source.get("origin"), f"{what}.origin"),
        origin_lsn=optional_int(source.get("origin_lsn"), f"{what}.origin_lsn"),
        db=optional_str(source.get("db"), f"{what}.db"),
        schema=optional_str(source.get("schema"), f"{what}.schema"),
        table=optional_str(source.get("table"), f"{what}.table"),
    )


def split_flat(payload: Mapping[str, Any], prefix: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A flattened row -> (columns, metadata keyed without prefix and `source_`)."""
    columns: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for name, value in payload.items():
        if not name.startswith(prefix):
            columns[name] = value
            continue
        bare = name[len(prefix) :]
        qualified = bare.removeprefix("source_")
        meta[qualified if qualified in FLAT_SOURCE_FIELDS else bare] = value
    return columns, meta


def is_transaction_marker(payload: Mapping[str, Any]) -> bool:
    return "op" not in payload and payload.get("status") in ("BEGIN", "END") and "id" in payload


def transaction_marker(payload: Mapping[str, Any], origin: RecordOrigin) -> TransactionMarker:
    collections = tuple(
        (str(c.get("data_collection")), int(c.get("event_count", 0)))
        for c in payload.get("data_collections") or ()
        if isinstance(c, Mapping)
    )
    return TransactionMarker(
        status=str(payload["status"]),
        tx_id=str(payload["id"]),
        ts_ms=optional_int(payload.get("ts_ms"), "ts_ms"),
        origin=origin,
        event_count=optional_int(payload.get("event_count"), "event_count"),
        data_collections=collections,
    )


def heartbeat(
    key: Mapping[str, Any], payload: Mapping[str, Any] | None, origin: RecordOrigin
) -> Heartbeat:
    ts_ms = optional_int((payload or {}).get("ts_ms"), "heartbeat ts_ms")
    return Heartbeat(optional_str(key.get("serverName"), "serverName"), ts_ms, origin)


def logical_message(payload: Mapping[str, Any], origin: RecordOrigin) -> LogicalMessage:
    message = payload.get("message")
    if not isinstance(message, Mapping):
        raise DecodeError("an op 'm' event without a `message` struct")
    source = source_info(payload.get("source") or {})
    return LogicalMessage(
        prefix=str(message.get("prefix", "")),
        content=_content(message.get("content")),
        source=source,
        origin=origin,
        transactional=source.tx_id is not None,
    )


def _content(value: Any) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, str):
        raise DecodeError(f"logical message content must be text, got {value!r}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value.encode()  # binary.handling.mode other than bytes writes text


__all__ = [
    "FLAT_SOURCE_FIELDS",
    "heartbeat",
    "is_transaction_marker",
    "logical_message",
    "optional_int",
    "snapshot_marker",
    "source_info",
    "split_flat",
    "transaction_marker",
]
