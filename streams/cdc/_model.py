"""What the decoder produces: a row change, or one of the non-row kinds Debezium emits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

Headers = Sequence[tuple[str, bytes | None]]


class Op(StrEnum):
    """Debezium's operation codes, plus UPSERT for a flat row that does not say which."""

    CREATE = "c"
    UPDATE = "u"
    DELETE = "d"
    READ = "r"
    TRUNCATE = "t"
    # A flattened row without `__op` (or a plain row JSON): an insert or an update, we
    # cannot tell which; it has no LSN either, so the state compares images.
    UPSERT = "upsert"


class SnapshotMarker(StrEnum):
    """`source.snapshot`: a string enum, never a boolean."""

    TRUE = "true"
    FIRST = "first"
    FIRST_IN_DATA_COLLECTION = "first_in_data_collection"
    LAST_IN_DATA_COLLECTION = "last_in_data_collection"
    LAST = "last"
    FALSE = "false"
    INCREMENTAL = "incremental"

    @property
    def is_initial_snapshot(self) -> bool:
        """True for the rows of a blocking/initial snapshot, which all share one LSN."""
        return self not in (SnapshotMarker.FALSE, SnapshotMarker.INCREMENTAL)


@dataclass(frozen=True, slots=True)
class RecordOrigin:
    """Where a record came from: printed as `topic[partition]@offset` in logs and DLQs."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass(frozen=True, slots=True)
class CdcRecord:
    """One Kafka record as the decoder needs it; the Kafka edge builds it."""

    key: bytes | None
    value: bytes | None
    topic: str
    partition: int = 0
    offset: int = 0
    headers: Headers = ()

    @property
    def origin(self) -> RecordOrigin:
        return RecordOrigin(self.topic, self.partition, self.offset)


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """The provenance block. Every field may be missing (flattened rows, incremental reads)."""

    lsn: int | None = None
    tx_id: int | None = None
    ts_ms: int | None = None
    snapshot: SnapshotMarker | None = None  # None: the event did not say
    origin: str | None = None
    origin_lsn: int | None = None
    db: str | None = None
    schema: str | None = None
    table: str | None = None

    @property
    def lsn_text(self) -> str | None:
        """The LSN in Postgres' own `hi/lo` hex form, for humans."""
        if self.lsn is None:
            return None
        return f"{self.lsn >> 32:X}/{self.lsn & 0xFFFFFFFF:X}"


@dataclass(frozen=True, slots=True)
class RowChange:
    """One row event. `row` is the after image (None for d and t); values are typed.

    Columns whose value Debezium could not read (an unchanged TOASTed value) are absent
    from `row` and named in `unavailable`: they must never be written anywhere.
    """

    op: Op
    table: str
    key: Mapping[str, Any]
    row: Mapping[str, Any] | None
    before: Mapping[str, Any] | None
    source: SourceInfo
    origin: RecordOrigin
    unavailable: frozenset[str] = frozenset()
    ts_ms: int | None = None
    # Set on the two halves of a primary-key change (from __debezium.oldkey/newkey).
    old_key: Mapping[str, Any] | None = None
    new_key: Mapping[str, Any] | None = None
    flattened: bool = False


@dataclass(frozen=True, slots=True)
class Tombstone:
    """A delete that carries only the key: a Kafka null, JSON `null`, or a null payload."""

    table: str
    key: Mapping[str, Any]
    origin: RecordOrigin
    encoding: str = "kafka-null"


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Debezium's heartbeat on `__debezium-heartbeat.<prefix>`: no row, nothing to map."""

    server_name: str | None
    ts_ms: int | None
    origin: RecordOrigin


@dataclass(frozen=True, slots=True)
class TransactionMarker:
    """BEGIN/END record of the `<prefix>.transaction` topic."""

    status: str
    tx_id: str
    ts_ms: int | None
    origin: RecordOrigin
    event_count: int | None = None
    data_collections: tuple[tuple[str, int], ...] = field(default=())


@dataclass(frozen=True, slots=True)
class LogicalMessage:
    """An `op: "m"` record from pg_logical_emit_message."""

    prefix: str
    content: bytes
    source: SourceInfo
    origin: RecordOrigin
    transactional: bool


Decoded = RowChange | Tombstone | Heartbeat | TransactionMarker | LogicalMessage


class RecordDecoder(Protocol):
    """What turns a record into an event: the JSON Decoder, or the Avro one."""

    def decode(self, record: CdcRecord) -> Decoded: ...


__all__ = [
    "CdcRecord",
    "Decoded",
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
]
