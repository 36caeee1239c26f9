"""A wells row inserted, updated and deleted reaches Kafka as Debezium's c, u, d and tombstone."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from streams.config import Settings
from tests.stack._topics import Event, consumer, end_offsets, read_from

pytestmark = pytest.mark.stack


def _decimal(encoded: str, scale: int) -> Decimal:
    """Connect's Decimal in JSON: base64 of the big-endian two's-complement unscaled value."""
    unscaled = int.from_bytes(base64.b64decode(encoded), "big", signed=True)
    return Decimal(unscaled).scaleb(-scale)


def _field_schema(value: dict[str, Any], side: str, name: str) -> dict[str, Any]:
    envelope = {f["field"]: f for f in value["schema"]["fields"]}
    return next(f for f in envelope[side]["fields"] if f["field"] == name)


@pytest.fixture
def tenant(cdc_stack: Settings) -> Iterator[str]:
    """A tenant of this test alone, with one basin for the wells foreign key."""
    name = f"test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO basins (tenant, code, name) VALUES (%s, 'B1', 'Test basin')", (name,)
        )
    yield name
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM wells WHERE tenant = %s", (name,))
        conn.execute("DELETE FROM basins WHERE tenant = %s", (name,))


def test_insert_update_delete_arrive_as_c_u_d_and_tombstone(
    cdc_stack: Settings, tenant: str
) -> None:
    topic = f"{cdc_stack.topic_prefix}.public.wells"
    reader = consumer(cdc_stack.kafka_bootstrap)
    start = end_offsets(reader, topic)
    well_code = "15/9-F-99 T2"  # the estate's codes hold slashes and spaces

    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wells (tenant, well_code, name, basin_code, oil_rate_bopd, status)"
            " VALUES (%s, %s, 'Test well Æ', 'B1', 1234.5, 'producing')",
            (tenant, well_code),
        )
        conn.execute(
            "UPDATE wells SET status = 'shut_in', oil_rate_bopd = 0 "
            "WHERE tenant = %s AND well_code = %s",
            (tenant, well_code),
        )
        conn.execute("DELETE FROM wells WHERE tenant = %s AND well_code = %s", (tenant, well_code))

    def ours(events: list[Event]) -> list[Event]:
        return [e for e in events if e.key["payload"]["tenant"] == tenant]

    try:
        events = ours(read_from(reader, topic, start, lambda got: len(ours(got)) >= 4))
    finally:
        reader.close()
    created, updated, deleted, tombstone = events

    key = {"tenant": tenant, "well_code": well_code}
    for event in events:
        assert event.key["payload"] == key
        assert [f["field"] for f in event.key["schema"]["fields"]] == ["tenant", "well_code"]
    # One key, one partition: the four records keep their order.
    assert len({e.partition for e in events}) == 1
    assert [e.offset for e in events] == sorted(e.offset for e in events)

    assert created.payload["op"] == "c"
    assert created.payload["before"] is None
    after = created.payload["after"]
    assert (after["name"], after["basin_code"], after["status"]) == (
        "Test well Æ",
        "B1",
        "producing",
    )
    scale = int(_field_schema(created.value, "after", "oil_rate_bopd")["parameters"]["scale"])
    assert _decimal(after["oil_rate_bopd"], scale) == Decimal("1234.5")
    assert after["gas_rate_mscfd"] is None  # a real NULL stays null
    assert created.payload["source"]["table"] == "wells"
    # Streaming events leave source.snapshot null: its schema default is "false", and the
    # connector is told not to replace nulls with defaults (a real NULL must stay NULL).
    assert created.payload["source"]["snapshot"] is None
    assert _field_schema(created.value, "source", "snapshot")["default"] == "false"

    assert updated.payload["op"] == "u"
    # REPLICA IDENTITY DEFAULT and an unchanged key: pgoutput sends no old row.
    assert updated.payload["before"] is None
    assert updated.payload["after"]["status"] == "shut_in"
    assert _decimal(updated.payload["after"]["oil_rate_bopd"], scale) == 0

    assert deleted.payload["op"] == "d"
    assert deleted.payload["after"] is None
    assert {k: deleted.payload["before"][k] for k in key} == key

    assert tombstone.value is None
    assert created.payload["source"]["lsn"] < updated.payload["source"]["lsn"]
    assert updated.payload["source"]["lsn"] < deleted.payload["source"]["lsn"]
