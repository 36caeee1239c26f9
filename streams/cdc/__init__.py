"""Debezium change events -> typed row changes (the decode stage; no I/O here)."""

from __future__ import annotations

from streams.cdc._model import (
    CdcRecord,
    Decoded,
    Headers,
    Heartbeat,
    LogicalMessage,
    Op,
    RecordDecoder,
    RecordOrigin,
    RowChange,
    SnapshotMarker,
    SourceInfo,
    Tombstone,
    TransactionMarker,
)
from streams.cdc._toast import DEFAULT_PLACEHOLDER
from streams.cdc._types import (
    ColumnSpec,
    ColumnType,
    ColumnTypes,
    coerce,
    loads,
    parse_date,
    parse_timestamp,
)
from streams.cdc.decoder import HEARTBEAT_TOPIC_PREFIX, NEW_KEY_HEADER, OLD_KEY_HEADER, Decoder

__all__ = [
    "DEFAULT_PLACEHOLDER",
    "HEARTBEAT_TOPIC_PREFIX",
    "NEW_KEY_HEADER",
    "OLD_KEY_HEADER",
    "CdcRecord",
    "ColumnSpec",
    "ColumnType",
    "ColumnTypes",
    "Decoded",
    "Decoder",
    "Headers",
    "Heartbeat",
    "LogicalMessage",
    "Op",
    "RecordDecoder",
    "RecordOrigin",
    "RowChange",
    "SnapshotMarker",
    "SourceInfo",
    "Tombstone",
    "TransactionMarker",
    "coerce",
    "loads",
    "parse_date",
    "parse_timestamp",
]
