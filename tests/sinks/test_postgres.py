"""The Postgres sink writer on the real legacy database (and, for the origin, real Debezium).

Each test writes under its own tenant and removes it afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from streams.config import Settings
from streams.errors import PostgresUnavailableError
from streams.sinks.postgres import PostgresSink
from streams.stack.postgres import SYNC_ORIGIN
from streams.state.twin_flow import SinkChange, SinkOp
from tests.stack._topics import Event, consumer, end_offsets, read_from

pytestmark = pytest.mark.stack


@pytest.fixture
def tenant(cdc_stack: Settings) -> Iterator[str]:
    name = f"sk{uuid.uuid4().hex[:10]}"
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO basins (tenant, code, name) VALUES (%s, 'B1', 'Basin')", (name,))
    yield name
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM wells WHERE tenant = %s", (name,))
        conn.execute("DELETE FROM basins WHERE tenant = %s", (name,))


@pytest.fixture
def sink(cdc_stack: Settings) -> Iterator[PostgresSink]:
    application = f"sink-test-{uuid.uuid4().hex[:8]}"
    with PostgresSink(cdc_stack.pg_dsn, origin=SYNC_ORIGIN, application=application) as writer:
        yield writer


def up(tenant: str, code: str, revision: int, **columns: Any) -> SinkChange:
    key = {"tenant": tenant, "well_code": code}
    return SinkChange("wells", SinkOp.UPSERT, key, revision, f"{tenant}:well-{code}", columns)


def delete(tenant: str, code: str, revision: int) -> SinkChange:
    key = {"tenant": tenant, "well_code": code}
    return SinkChange("wells", SinkOp.DELETE, key, revision, f"{tenant}:well-{code}")


def rows(settings: Settings, tenant: str, *columns: str) -> dict[str, tuple[Any, ...]]:
    with psycopg.connect(settings.pg_dsn) as conn:
        found = conn.execute(
            f"SELECT well_code, {', '.join(columns)} FROM wells WHERE tenant = %s", (tenant,)
        ).fetchall()
    return {code: tuple(rest) for code, *rest in found}


def legacy_insert(settings: Settings, tenant: str, code: str, **columns: Any) -> None:
    values = {"tenant": tenant, "well_code": code, "name": code, **columns}
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            f"INSERT INTO wells ({', '.join(values)}) VALUES ({', '.join(['%s'] * len(values))})",
            list(values.values()),
        )


def test_batch_upserts_and_deletes(cdc_stack: Settings, tenant: str, sink: PostgresSink) -> None:
    stats = sink.write(
        [
            up(tenant, "W1", 1, name="One", oil_rate_bopd=Decimal("450.125")),
            up(tenant, "W2", 1, name="Two", status="PRODUCING"),
            up(tenant, "W3", 1, name="Three"),
            up(tenant, "W1", 2, status="SHUT-IN"),
        ]
    )
    assert (stats.changes, stats.written, stats.skipped, stats.rejected) == (4, 3, 0, ())
    assert rows(cdc_stack, tenant, "name", "status", "oil_rate_bopd", "twin_revision") == {
        "W1": ("One", "SHUT-IN", Decimal("450.125"), 2),
        "W2": ("Two", "PRODUCING", None, 1),
        "W3": ("Three", None, None, 1),
    }
    stats = sink.write([delete(tenant, "W2", 2), delete(tenant, "W3", 2)])
    assert (stats.written, stats.skipped) == (2, 0)
    assert set(rows(cdc_stack, tenant, "name")) == {"W1"}


def test_only_touched_columns_change_and_legacy_columns_stay(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    legacy_insert(cdc_stack, tenant, "W1", api_number="VE-1", basin_code="B1", field="F")
    sink.write([up(tenant, "W1", 7, status="PRODUCING", water_rate_bwpd=None)])
    assert rows(cdc_stack, tenant, "api_number", "basin_code", "field", "status", "twin_revision")[
        "W1"
    ] == ("VE-1", "B1", "F", "PRODUCING", 7)


def test_revision_guard_an_older_revision_changes_nothing(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    sink.write([up(tenant, "W1", 5, name="New", status="A")])
    stats = sink.write([up(tenant, "W1", 3, name="Old"), up(tenant, "W1", 5, status="B")])
    assert (stats.written, stats.skipped) == (0, 2)
    stats = sink.write([delete(tenant, "W1", 4)])
    assert (stats.written, stats.skipped) == (0, 1)
    assert rows(cdc_stack, tenant, "name", "status", "twin_revision") == {"W1": ("New", "A", 5)}
    # One by one, in a batch that falls back to row by row, the guard holds too.
    stats = sink.write([up(tenant, "W1", 4, name="Older"), up(tenant, "W9", 1, status="no name")])
    assert stats.row_by_row and len(stats.rejected) == 1 and stats.skipped == 1
    assert rows(cdc_stack, tenant, "name", "twin_revision") == {"W1": ("New", 5)}


def test_a_newer_delete_removes_a_row_the_sink_never_wrote(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    legacy_insert(cdc_stack, tenant, "W1")
    assert sink.write([delete(tenant, "W1", 1)]).written == 1
    assert rows(cdc_stack, tenant, "name") == {}


def test_upsert_after_delete_in_one_batch_is_a_fresh_row(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    sink.write([up(tenant, "W1", 1, name="Old", api_number="VE-1", status="A")])
    stats = sink.write(
        [
            up(tenant, "W1", 2, status="B"),
            delete(tenant, "W1", 3),
            up(tenant, "W1", 4, name="Fresh"),
        ]
    )
    assert (stats.written, stats.skipped, stats.rejected) == (1, 0, ())
    assert rows(cdc_stack, tenant, "name", "api_number", "status", "twin_revision") == {
        "W1": ("Fresh", None, None, 4)
    }


def test_rejected_rows_do_not_stop_the_good_rows_of_their_batch(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    stats = sink.write(
        [
            up(tenant, "W1", 1, name="Good one"),
            up(tenant, "W2", 1, status="a new row without its NOT NULL name"),
            up(tenant, "W3", 1, name="Good three", tubing_size=Decimal("2.875")),
            up(tenant, "W4", 1, name="Too wide", tubing_size=Decimal("12345.678")),
            up(tenant, "W1", 2, status="PRODUCING"),
        ]
    )
    assert stats.row_by_row
    assert [r.index for r in stats.rejected] == [1, 3]
    not_null, overflow = (str(r.error) for r in stats.rejected)
    assert "[23502]" in not_null and 'null value in column "name"' in not_null
    assert "[22003]" in overflow and "numeric field overflow" in overflow
    assert (stats.written, stats.skipped) == (3, 0)
    assert rows(cdc_stack, tenant, "name", "status", "tubing_size", "twin_revision") == {
        "W1": ("Good one", "PRODUCING", None, 2),
        "W3": ("Good three", None, Decimal("2.875"), 1),
    }


def test_sink_writes_carry_the_replication_origin_through_debezium(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    topic = f"{cdc_stack.topic_prefix}.public.wells"
    reader = consumer(cdc_stack.kafka_bootstrap)
    start = end_offsets(reader, topic)
    sink.write([up(tenant, "BY-SINK", 1, name="Written by the sink")])
    legacy_insert(cdc_stack, tenant, "BY-APP")  # an ordinary legacy write, for contrast

    def ours(events: list[Event]) -> dict[str, dict[str, Any]]:
        return {
            e.payload["after"]["well_code"]: e.payload
            for e in events
            if e.value is not None and e.key["payload"]["tenant"] == tenant
        }

    try:
        events = ours(read_from(reader, topic, start, lambda got: len(ours(got)) >= 2))
    finally:
        reader.close()
    assert events["BY-SINK"]["op"] == "c"
    assert events["BY-SINK"]["source"]["origin"] == SYNC_ORIGIN
    assert events["BY-SINK"]["after"]["twin_revision"] == 1
    assert events["BY-APP"]["source"].get("origin") is None


def test_origin_is_released_after_each_batch(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    sink.write([up(tenant, "W1", 1, name="One")])
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as other:
        other.execute("SELECT pg_replication_origin_session_setup(%s)", (SYNC_ORIGIN,))
        # While another session holds the origin the batch waits (a retriable error)...
        with pytest.raises(PostgresUnavailableError, match="held by another session"):
            sink.write([up(tenant, "W1", 2, name="Two")])
        other.execute("SELECT pg_replication_origin_session_reset()")
    # ...and goes through once it is free; nothing of the refused attempt was written.
    assert rows(cdc_stack, tenant, "name", "twin_revision") == {"W1": ("One", 1)}
    assert sink.write([up(tenant, "W1", 2, name="Two")]).written == 1


def test_lost_connection_is_retriable_and_the_next_batch_reconnects(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    sink.write([up(tenant, "W1", 1, name="One")])
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as admin:
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (sink.application,),
        ).fetchall()
    assert killed == [(True,)]
    with pytest.raises(PostgresUnavailableError, match="unavailable"):
        sink.write([up(tenant, "W1", 2, name="Two")])
    assert sink.write([up(tenant, "W1", 2, name="Two")]).written == 1
    assert rows(cdc_stack, tenant, "name", "twin_revision") == {"W1": ("Two", 2)}


def test_a_replayed_older_change_does_not_ride_along_with_a_newer_one(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    sink.write([up(tenant, "W1", 4, name="Four", status="A")])
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as conn:
        conn.execute("UPDATE wells SET name = 'Legacy edit' WHERE tenant = %s", (tenant,))
    # Revision 3 was applied long ago; replayed with 5 it must not bring its name back.
    stats = sink.write([up(tenant, "W1", 3, name="Three"), up(tenant, "W1", 5, status="B")])
    assert (stats.written, stats.skipped) == (1, 1)
    assert rows(cdc_stack, tenant, "name", "status", "twin_revision") == {
        "W1": ("Legacy edit", "B", 5)
    }


def test_a_column_the_table_lacks_rejects_only_its_change(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    stats = sink.write(
        [up(tenant, "W1", 1, name="One"), up(tenant, "W2", 1, name="Two", depth_m=1)]
    )
    assert [r.index for r in stats.rejected] == [1]
    assert "[42703]" in str(stats.rejected[0].error) and "depth_m" in str(stats.rejected[0].error)
    assert rows(cdc_stack, tenant, "name") == {"W1": ("One",)}


def test_awkward_text_and_exact_values_survive_the_fast_path(
    cdc_stack: Settings, tenant: str, sink: PostgresSink
) -> None:
    when = datetime(2026, 1, 10, 13, 0, 0, 250000, tzinfo=timezone(timedelta(hours=1)))
    awkward = ['say "hi"', "back\\slash", "NULL", "{a,b}", " edge ", "", "Åsgard 15/9-F-1 C"]
    changes = [
        up(tenant, f"W{i}", 1, name=text, oil_rate_bopd=Decimal("123456789.125"), last_update=when)
        for i, text in enumerate(awkward)
    ]
    stats = sink.write(changes)
    assert (stats.written, stats.row_by_row) == (len(awkward), False)
    found = rows(cdc_stack, tenant, "name", "oil_rate_bopd", "last_update")
    assert {code: name for code, (name, _, _) in found.items()} == {
        f"W{i}": text for i, text in enumerate(awkward)
    }
    assert {(oil, at) for _, oil, at in found.values()} == {(Decimal("123456789.125"), when)}
