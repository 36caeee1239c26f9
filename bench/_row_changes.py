"""The sink bench's row changes, in the two forms the two sinks read.

`rows` changes of `rows // 2` distinct wells (tenant `bench`, codes `<code>-B<n>`): first
an insert of every well, then an update of every well. Each change is written twice,
with the same row values:

- as a Debezium change event, JsonConverter with schemas, as our connector writes it
  (the templates are its snapshot reads of `wells`, the after image edited): what
  Debezium's JDBC sink reads;
- as SinkChange JSON, what our Postgres sink agent reads from its sink topic, built by
  decoding that very event with our Decoder, so both carry equal values.

Both forms carry every column of the row. `twin_revision` is 1 for the insert and 2 for
the update in both: our sink writes it from the change's revision, the JDBC sink from
the after image, so the two tables end equal column for column.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench._input import TENANT, Template, compact, streamed
from streams.cdc import CdcRecord, Decoder, RowChange
from streams.state.twin_flow import SinkChange, SinkOp

KEY_COLUMNS = ("tenant", "well_code")
REVISION_COLUMN = "twin_revision"
UPDATED = datetime(2026, 1, 1, tzinfo=UTC)  # the updates' timestamps count up from here

Record = tuple[bytes, bytes, list[Any]]  # key, value, headers


@dataclass(frozen=True)
class Change:
    """One row change in both forms."""

    debezium: Record
    ours: Record


def changes(templates: list[Template], rows: int, ours_table: str, topic: str) -> Iterator[Change]:
    """The inserts of `rows // 2` wells, then their updates; `topic` names the source."""
    forms = _Forms(Decoder(), ours_table, topic, int(time.time() * 1000))
    for op in ("c", "u"):
        for n in range(rows // 2):
            yield forms.change(templates[n % len(templates)], n, op)


@dataclass(frozen=True)
class _Forms:
    decoder: Decoder
    table: str  # the table our sink writes
    topic: str  # the Debezium events' topic (the decoder reads the table from it)
    now_ms: int

    def change(self, template: Template, n: int, op: str) -> Change:
        code = f"{template.key['payload']['well_code']}-B{n:06d}"
        key = {**template.key, "payload": {"tenant": TENANT, "well_code": code}}
        after = {**template.value["payload"]["after"], "tenant": TENANT, "well_code": code}
        revision = 1 if op == "c" else 2
        if op == "u":
            after.update(updated_columns(template.value["schema"], after, n))
        after[REVISION_COLUMN] = revision
        index = n if op == "c" else n + 1_000_000_000  # the updates' LSNs follow the inserts'
        value = streamed(template.value, after, op, index, self.now_ms)
        debezium = (compact(key), compact(value), template.headers)
        row = self.decoder.decode(CdcRecord(debezium[0], debezium[1], self.topic))
        if not isinstance(row, RowChange) or row.row is None:
            raise SystemExit(f"bench event {code} did not decode to a row change: {row!r}")
        sink = sink_change(self.table, row.row, revision, f"{TENANT}:well-{n}")
        return Change(debezium, (sink.thing_id.encode(), sink.to_json(), []))


def updated_columns(schema: dict[str, Any], after: dict[str, Any], n: int) -> dict[str, Any]:
    """The update of well `n`: status, oil rate and both timestamps, as Debezium encodes them."""
    status = "SHUT-IN" if after.get("status") == "PRODUCING" else "PRODUCING"
    rate = Decimal(f"{n % 5000}.{n % 1000:03d}")
    stamp = UPDATED + timedelta(seconds=n, microseconds=n % 1_000_000)
    return {
        "status": status,
        "oil_rate_bopd": connect_decimal(rate, _scale(schema, "oil_rate_bopd")),
        "last_update": zoned_timestamp(stamp - timedelta(hours=1)),
        "updated_at": zoned_timestamp(stamp),
    }


def sink_change(table: str, row: Any, revision: int, thing_id: str) -> SinkChange:
    """The SinkChange that writes the decoded `row` whole, as the Ditto side would."""
    return SinkChange(
        table=table,
        op=SinkOp.UPSERT,
        key={name: row[name] for name in KEY_COLUMNS},
        revision=revision,
        thing_id=thing_id,
        columns={
            name: value
            for name, value in row.items()
            if name not in KEY_COLUMNS and name != REVISION_COLUMN
        },
    )


def connect_decimal(value: Decimal, scale: int) -> str:
    """Connect's Decimal in JSON: base64 of the unscaled value, big-endian two's complement."""
    unscaled = int(value.scaleb(scale).to_integral_exact())
    size = unscaled.bit_length() // 8 + 1  # as Java's BigInteger.toByteArray: a sign bit
    return base64.b64encode(unscaled.to_bytes(size, "big", signed=True)).decode()


def zoned_timestamp(value: datetime) -> str:
    """Debezium's ZonedTimestamp text of a timestamptz: UTC, six fractional digits, `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _scale(schema: dict[str, Any], column: str) -> int:
    after = next(f for f in schema["fields"] if f["field"] == "after")
    spec = next(f for f in after["fields"] if f["field"] == column)
    return int(spec["parameters"]["scale"])


__all__ = [
    "Change",
    "changes",
    "connect_decimal",
    "sink_change",
    "updated_columns",
    "zoned_timestamp",
]
