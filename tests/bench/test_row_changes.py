"""The sink bench's row changes: Debezium's encodings of the update, and the SinkChange."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bench._row_changes import connect_decimal, sink_change, updated_columns, zoned_timestamp
from streams.cdc import CdcRecord, Decoder, RowChange
from streams.state.twin_flow import SinkOp

DECIMAL = {"type": "bytes", "name": "org.apache.kafka.connect.data.Decimal", "optional": True}
ZONED = {"type": "string", "name": "io.debezium.time.ZonedTimestamp", "optional": True}


def _schema() -> dict[str, Any]:
    columns = [
        {"type": "string", "optional": False, "field": "tenant"},
        {"type": "string", "optional": False, "field": "well_code"},
        {"type": "string", "optional": True, "field": "status"},
        {**DECIMAL, "parameters": {"scale": "3"}, "field": "oil_rate_bopd"},
        {**ZONED, "field": "last_update"},
        {**ZONED, "field": "updated_at"},
    ]
    row = {"type": "struct", "optional": True, "fields": columns}
    return {
        "type": "struct",
        "name": "bench.public.wells.Envelope",
        "fields": [
            {**row, "field": "before"},
            {**row, "field": "after"},
            {"type": "string", "optional": False, "field": "op"},
        ],
    }


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        (Decimal("1234.50"), 2, "AeI6"),  # the reference's numeric(12,2) example
        (Decimal("0"), 3, "AA=="),
        (Decimal("1.28"), 2, "AIA="),  # 128 needs a sign byte, as BigInteger writes it
        (Decimal("-0.001"), 3, "/w=="),
    ],
)
def test_connect_decimal_is_the_unscaled_twos_complement(
    value: Decimal, scale: int, expected: str
) -> None:
    assert connect_decimal(value, scale) == expected


def test_zoned_timestamp_is_utc_with_six_digits() -> None:
    stamp = datetime(2026, 3, 2, 10, 15, 4, 120, tzinfo=UTC)
    assert zoned_timestamp(stamp) == "2026-03-02T10:15:04.000120Z"


def test_the_update_decodes_to_the_values_it_was_built_from() -> None:
    schema = _schema()
    after = {"tenant": "bench", "well_code": "W-B000007", "status": "PRODUCING"}
    after.update(updated_columns(schema, after, 7))
    value = {"schema": schema, "payload": {"before": None, "after": after, "op": "u"}}
    key = json.dumps({"tenant": "bench", "well_code": "W-B000007"}).encode()
    decoded = Decoder().decode(CdcRecord(key, json.dumps(value).encode(), "b.public.wells"))
    assert isinstance(decoded, RowChange) and decoded.row is not None
    assert decoded.row["status"] == "SHUT-IN"
    assert decoded.row["oil_rate_bopd"] == Decimal("7.007")
    assert decoded.row["updated_at"] == datetime(2026, 1, 1, 0, 0, 7, 7, tzinfo=UTC)
    assert decoded.row["last_update"] == datetime(2025, 12, 31, 23, 0, 7, 7, tzinfo=UTC)


def test_sink_change_writes_every_column_but_the_key_and_the_revision() -> None:
    row = {"tenant": "bench", "well_code": "W-1", "name": "W 1", "twin_revision": 2}
    change = sink_change("bench_t", row, 2, "bench:well-1")
    assert change.op is SinkOp.UPSERT
    assert dict(change.key) == {"tenant": "bench", "well_code": "W-1"}
    assert dict(change.columns) == {"name": "W 1"}
    assert change.revision == 2
