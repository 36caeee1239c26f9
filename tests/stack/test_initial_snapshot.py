"""The sample estate present when the connector started arrives as op=r, one event per row."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from psycopg import sql

from streams.config import Settings
from tests.stack._topics import Event, read_all

pytestmark = pytest.mark.stack

# Each legacy table with its primary key columns, as Debezium puts them in the key.
TABLES = {
    "basins": ("tenant", "code"),
    "wells": ("tenant", "well_code"),
    "well_production_daily": ("tenant", "well_code", "day"),
}


def _key(event: Event, columns: tuple[str, ...]) -> tuple[object, ...]:
    return tuple(event.key["payload"][c] for c in columns)


def _replay(
    events: list[Event], columns: tuple[str, ...]
) -> tuple[list[tuple[object, ...]], set[tuple[object, ...]]]:
    """The keys of the initial snapshot's reads, and the key set after every later change."""
    reads: list[tuple[object, ...]] = []
    live: set[tuple[object, ...]] = set()
    for event in events:
        if event.value is None:
            continue  # a tombstone follows its delete, which already removed the key
        op, key = event.payload["op"], _key(event, columns)
        # An incremental snapshot (`streams replay --from-snapshot`) reads rows as op=r
        # too; only the connector's initial snapshot is counted here.
        if op == "r" and event.payload["source"].get("snapshot") != "incremental":
            reads.append(key)
        if op in ("r", "c", "u"):
            live.add(key)
        elif op == "d":
            live.discard(key)
    return reads, live


def _ops(events: list[Event], op: str) -> int:
    """Distinct changes of kind `op`: Debezium is at-least-once, and a connector that
    crashed before committing its offsets sends some changes again (same key and LSN)."""
    return len(
        {
            (json.dumps(e.key, sort_keys=True), e.payload["source"]["lsn"])
            for e in events
            if e.value is not None and e.payload["op"] == op
        }
    )


def _table_state(
    settings: Settings, table: str, columns: tuple[str, ...]
) -> tuple[set[tuple[object, ...]], int]:
    """The table's keys and its SELECT count(*), read in one transaction snapshot."""
    # Dates come as days since the epoch in Debezium's key; compare in that unit.
    select = [
        sql.SQL("({} - DATE '1970-01-01')").format(sql.Identifier(c))
        if c == "day"
        else sql.Identifier(c)
        for c in columns
    ]
    keys_query = sql.SQL("SELECT {} FROM {}").format(
        sql.SQL(", ").join(select), sql.Identifier(table)
    )
    count_query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
    with psycopg.connect(settings.pg_dsn) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        keys = {tuple(row) for row in conn.execute(keys_query)}
        row = conn.execute(count_query).fetchone()
    assert row is not None
    return keys, int(row[0])


@pytest.mark.parametrize("table", list(TABLES))
def test_snapshot_has_one_read_event_per_row(cdc_stack: Settings, table: str) -> None:
    columns = TABLES[table]
    topic = f"{cdc_stack.topic_prefix}.public.{table}"
    # Other tests may change the tables meanwhile; the stream catches up within seconds.
    deadline = time.monotonic() + 60
    while True:
        events = read_all(cdc_stack.kafka_bootstrap, topic)
        reads, live = _replay(events, columns)
        keys, count = _table_state(cdc_stack, table, columns)
        if live == keys or time.monotonic() > deadline:
            break
        time.sleep(1)

    assert reads, f"no snapshot events on {topic}"
    assert len(reads) == len(set(reads)), "a row was read twice by the snapshot"
    # Rows present at snapshot time = today's count, less the rows created since, plus
    # the rows deleted since (a key change is a delete and a create).
    assert len(reads) == count - _ops(events, "c") + _ops(events, "d")
    # And they are the right rows: the reads replayed with every later change give
    # exactly the table's keys.
    assert live == keys
    snapshot_marks = {
        e.payload["source"]["snapshot"]
        for e in events
        if e.value is not None and e.payload["op"] == "r"
    }
    assert snapshot_marks <= {
        "true",
        "first",
        "first_in_data_collection",
        "last_in_data_collection",
        "last",
        "incremental",
    }
