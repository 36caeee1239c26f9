"""Each change crosses the loop once: replays change nothing, and an edit on either side
makes exactly one write on the other and no further traffic.

The module bootstraps Ditto for its own subject, tenants, topics and connections and runs
a real worker. Every count is of one tenant's records on every topic of the loop (the
wells CDC topic, commands, Ditto's replies, Ditto's events, the sink topic, dead letters),
taken once no new record of the tenant arrived for a settle period.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer

from streams.config import Settings
from streams.kafka.lag import group_lag
from streams.kafka.reader import read_to_end
from streams.mapping import identity, load_mappings
from tests.agents._loop import Loop, delete_rows, running_loop, settled_counts, twin

pytestmark = pytest.mark.stack

SETTLE = 6.0  # seconds without a new record of the tenant on any topic
WAIT = 90.0
SUFFIX = uuid.uuid4().hex[:8]
REPLAYED = f"ld{SUFFIX}"  # the replay test's tenant
EDITED = f"lq{SUFFIX}"  # the traffic test's tenant
DUPLICATES = 'streams_duplicates_dropped_total{agent="ditto-to-legacy"}'


@pytest.fixture(scope="module")
def loop(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    policies = [f"{tenant}:default-policy" for tenant in (REPLAYED, EDITED)]
    try:
        with running_loop(cdc_stack, tmp_path_factory, policies) as running:
            yield running
    finally:
        delete_rows(cdc_stack, (REPLAYED, EDITED))


def _well_id(settings: Settings, tenant: str, code: str) -> str:
    wells = load_mappings(settings.mappings_dir)["wells"]
    return identity(wells, {"tenant": tenant, "well_code": code}).thing_id


def _insert_well(settings: Settings, tenant: str, code: str) -> None:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wells (tenant, well_code, name, oil_rate_bopd, status) "
            "VALUES (%s, %s, %s, 450, 'PRODUCING')",
            (tenant, code, code),
        )


def _row(settings: Settings, tenant: str) -> dict[str, Any]:
    """The tenant's one well, every column (updated_at shows any write, even a no-op)."""
    with psycopg.connect(settings.pg_dsn) as conn:
        cursor = conn.execute("SELECT * FROM wells WHERE tenant = %s", (tenant,))
        rows = cursor.fetchall()
        columns = [c.name for c in cursor.description or ()]
    assert len(rows) == 1, rows
    return dict(zip(columns, rows[0], strict=True))


def _wait(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.5)


def _edit_twin(loop: Loop, thing_id: str, rate: str) -> None:
    """A person's edit in Ditto (no origin header): it must reach the row."""
    response = loop.api.patch(
        f"/things/{thing_id}/features/production/properties/oilRateBopd",
        content=rate.encode(),
        headers={"content-type": "application/merge-patch+json"},
    )
    assert response.status_code == 204, response.text


def _rate_in_row(loop: Loop, tenant: str, rate: str) -> Any:
    return lambda: _row(loop.settings, tenant)["oil_rate_bopd"] == Decimal(rate)


def _replay(settings: Settings, records: list[Any]) -> None:
    """Produce `records` again, each to the partition it was read from, as a replay of
    those offsets would deliver them: same key, value and headers."""
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for r in records:
        producer.produce(
            r.topic, key=r.key, value=r.value, headers=list(r.headers), partition=r.partition
        )
    assert producer.flush(10) == 0


def _events_read(settings: Settings) -> bool:
    """The worker committed past every record of the event topic."""
    lags = group_lag(settings.kafka_bootstrap, settings.consumer_group, [settings.event_topic])
    return all(p.lag == 0 for p in lags)


def test_replayed_and_late_ditto_events_change_nothing(loop: Loop) -> None:
    settings = loop.settings
    thing_id = _well_id(settings, REPLAYED, "D-1")
    _insert_well(settings, REPLAYED, "D-1")
    twin(loop.api, thing_id)
    _edit_twin(loop, thing_id, "500")
    _wait(_rate_in_row(loop, REPLAYED, "500"), "the first twin edit in the row")
    _edit_twin(loop, thing_id, "510")
    _wait(_rate_in_row(loop, REPLAYED, "510"), "the second twin edit in the row")
    before = settled_counts(settings, REPLAYED, SETTLE)
    assert before == {
        "cdc": 3,  # the insert and the sink's two writes
        "command": 1,
        "reply": 1,
        "event": 3,  # created (our own command's echo), merged, merged
        "sink": 2,
        "dead-letter": 0,
    }
    row = _row(settings, REPLAYED)
    assert row["twin_revision"] == 3
    events = [r for r in read_to_end(settings.kafka_bootstrap, settings.event_topic)]
    events = [r for r in events if r.key == thing_id.encode()]
    dropped = loop.metric(DUPLICATES)

    # Every event again in order (a replay of their offsets), then revision 2 once more
    # after revision 3 has been applied (a late copy).
    _replay(settings, [*events, events[1]])
    _wait(lambda: _events_read(settings), "the worker reading the replayed events")
    after = settled_counts(settings, REPLAYED, SETTLE)

    assert after == {**before, "event": before["event"] + 4}
    assert _row(settings, REPLAYED) == row
    assert loop.metric(DUPLICATES) == dropped + 4


def test_a_row_edit_and_a_twin_edit_each_make_one_write_and_no_more_traffic(
    loop: Loop,
) -> None:
    settings = loop.settings
    thing_id = _well_id(settings, EDITED, "Q-1")
    _insert_well(settings, EDITED, "Q-1")
    twin(loop.api, thing_id)
    created = settled_counts(settings, EDITED, SETTLE)
    assert created == {
        "cdc": 1,
        "command": 1,
        "reply": 1,
        "event": 1,
        "sink": 0,
        "dead-letter": 0,
    }

    # Row edit: one CDC record, one merge command, Ditto's answer and its echo event.
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute("UPDATE wells SET oil_rate_bopd = 451.5 WHERE tenant = %s", (EDITED,))
    _wait(
        lambda: (
            twin(loop.api, thing_id)["features"]["production"]["properties"]["oilRateBopd"] == 451.5
        ),
        "the row edit in the twin",
    )
    row_edited = settled_counts(settings, EDITED, SETTLE)
    assert row_edited == {**created, "cdc": 2, "command": 2, "reply": 2, "event": 2}
    assert _row(settings, EDITED)["twin_revision"] is None  # the sink wrote nothing

    # Twin edit: one event, one sink record, one row write whose CDC record is no command.
    _edit_twin(loop, thing_id, "612.125")
    _wait(_rate_in_row(loop, EDITED, "612.125"), "the twin edit in the row")
    twin_edited = settled_counts(settings, EDITED, SETTLE)
    assert twin_edited == {**row_edited, "cdc": 3, "event": 3, "sink": 1}
    assert _row(settings, EDITED)["twin_revision"] == 3
