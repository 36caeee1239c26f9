"""The legacy -> Ditto agent on the real stack: a `streams worker` process reading Debezium.

Each test watches the worker's own command topic (see conftest.Worker) and asserts what
arrived there, and that nothing extra arrived after a settle period.
"""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer

from streams.config import Settings
from streams.mapping import identity, load_mappings
from streams.stack import connect
from streams.stack.seed import BASIN_COLUMNS, WELL_COLUMNS, basin_rows, well_rows
from tests.agents._records import Record, collect
from tests.agents.conftest import Worker

pytestmark = pytest.mark.stack

SETTLE = 8.0  # seconds of silence that show no extra command follows


def _things(records: list[Record], thing_id: str) -> list[dict[str, Any]]:
    return [r.json for r in records if r.key == thing_id]


def _action(command: dict[str, Any]) -> str:
    return str(command["topic"]).rsplit("/", 1)[-1]


@pytest.fixture
def tenant(cdc_stack: Settings) -> Iterator[str]:
    name = f"it{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO basins (tenant, code, name) VALUES (%s, 'B-1', 'Basin')", (name,))
    yield name
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM wells WHERE tenant = %s", (name,))
        conn.execute("DELETE FROM basins WHERE tenant = %s", (name,))


def _well_id(settings: Settings, tenant: str, code: str) -> str:
    mapping = load_mappings(settings.mappings_dir)["wells"]
    return identity(mapping, {"tenant": tenant, "well_code": code}).thing_id


def _insert_well(settings: Settings, tenant: str, code: str) -> None:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wells (tenant, well_code, name, basin_code, oil_rate_bopd, status) "
            "VALUES (%s, %s, %s, 'B-1', 450, 'PRODUCING')",
            (tenant, code, code),
        )


def test_snapshot_yields_one_modify_per_sample_row(worker: Worker) -> None:
    mappings = load_mappings(worker.settings.mappings_dir)
    expected = {
        identity(mappings["basins"], dict(zip(BASIN_COLUMNS, row, strict=True))).thing_id
        for row in basin_rows()
    } | {
        identity(mappings["wells"], dict(zip(WELL_COLUMNS, row, strict=True))).thing_id
        for row in well_rows()
    }
    assert len(expected) == len(basin_rows()) + len(well_rows())

    def modifies(records: list[Record]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in records:
            if r.key in expected and _action(r.json) == "modify":
                counts[r.key] = counts.get(r.key, 0) + 1
        return counts

    records = collect(
        worker.settings.kafka_bootstrap,
        worker.settings.command_topic,
        lambda rs: len(modifies(rs)) == len(expected),
        timeout=180,
        settle=SETTLE,
    )
    counts = modifies(records)
    assert set(counts) == expected
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
    sample = next(r.json for r in records if r.key == "nordic:well-15-9-f-1-c")
    assert sample["value"]["attributes"]["wellCode"] == "15/9-F-1 C"
    assert sample["headers"]["streams-origin"] == "legacy"


def test_update_is_one_merge_of_the_changed_path_and_delete_is_one_delete(
    worker: Worker, tenant: str
) -> None:
    settings = worker.settings
    code = "15/9-Z-7 T"
    thing_id = _well_id(settings, tenant, code)
    _insert_well(settings, tenant, code)
    collect(
        settings.kafka_bootstrap, settings.command_topic, lambda rs: len(_things(rs, thing_id)) == 1
    )

    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute("UPDATE wells SET oil_rate_bopd = 512.250 WHERE tenant = %s", (tenant,))
    records = collect(
        settings.kafka_bootstrap,
        settings.command_topic,
        lambda rs: len(_things(rs, thing_id)) >= 2,
        settle=SETTLE,
    )
    commands = _things(records, thing_id)
    assert [_action(c) for c in commands] == ["modify", "merge"]
    merge = commands[1]
    assert merge["value"] == {"features": {"production": {"properties": {"oilRateBopd": 512.25}}}}
    assert merge["headers"]["content-type"] == "application/merge-patch+json"
    assert int(merge["headers"]["streams-source-lsn"]) > 0

    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM wells WHERE tenant = %s", (tenant,))
    records = collect(
        settings.kafka_bootstrap,
        settings.command_topic,
        lambda rs: len(_things(rs, thing_id)) >= 3,
        settle=SETTLE,
    )
    assert [_action(c) for c in _things(records, thing_id)] == ["modify", "merge", "delete"]


def test_malformed_event_is_a_dead_letter_and_the_next_event_flows(
    worker: Worker, tenant: str
) -> None:
    settings = worker.settings
    topic = f"{settings.topic_prefix}.public.wells"
    delivered: list[Any] = []
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(
        topic,
        key=b'{"tenant":"x","well_code":"y"}',
        value=b'{"payload": {oops',
        on_delivery=lambda err, msg: delivered.append(msg),
    )
    producer.flush(10)
    bad = delivered[0]
    code = "NO 7/11-A-1"
    _insert_well(settings, tenant, code)

    origin = (topic, str(bad.partition()), str(bad.offset()))

    def is_bad(r: Record) -> bool:
        return (
            r.headers.get("streams.dlq.topic"),
            r.headers.get("streams.dlq.partition"),
            r.headers.get("streams.dlq.offset"),
        ) == origin

    letters = collect(
        settings.kafka_bootstrap, settings.dead_letter_topic, lambda rs: any(is_bad(r) for r in rs)
    )
    letter = next(r for r in letters if is_bad(r))
    assert letter.headers["streams.dlq.error.class"] == "DecodeError"
    assert letter.headers["streams.dlq.stage"] == "decode"
    assert letter.headers["streams.dlq.mapping"] == "wells.toml"
    assert "JSON" in letter.headers["streams.dlq.error.message"]
    assert letter.value == b'{"payload": {oops'

    thing_id = _well_id(settings, tenant, code)
    collect(
        settings.kafka_bootstrap,
        settings.command_topic,
        lambda rs: [_action(c) for c in _things(rs, thing_id)] == ["modify"],
    )


def test_a_row_too_large_to_carry_is_a_cut_dead_letter_and_the_worker_goes_on(
    worker: Worker, tenant: str
) -> None:
    """A real 600 KB row from Debezium: refused before any table write, never a crash."""
    settings = worker.settings
    big_code, good_code = "BIG-1", "AFTER-BIG-1"
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wells (tenant, well_code, name, basin_code) VALUES (%s, %s, %s, 'B-1')",
            (tenant, big_code, "x" * 600_000),
        )
    _insert_well(settings, tenant, good_code)

    def is_big(r: Record) -> bool:
        return r.headers.get("streams.dlq.error.class") == "RecordTooLargeError" and (
            f'"well_code":"{big_code}"'.encode() in (r.value or b"") or tenant in (r.key or "")
        )

    letters = collect(
        settings.kafka_bootstrap, settings.dead_letter_topic, lambda rs: any(is_big(r) for r in rs)
    )
    letter = next(r for r in letters if is_big(r))
    assert letter.headers["streams.dlq.stage"] == "decode"
    assert letter.headers["streams.dlq.value.truncated"] == "true"
    assert int(letter.headers["streams.dlq.value.bytes"]) > 600_000
    assert len(letter.value or b"") == 256 * 1024
    assert letter.headers["streams.dlq.topic"] == f"{settings.topic_prefix}.public.wells"

    good = _well_id(settings, tenant, good_code)
    collect(
        settings.kafka_bootstrap,
        settings.command_topic,
        lambda rs: [_action(c) for c in _things(rs, good)] == ["modify"],
    )
    assert worker.process.alive()
    assert not _things(
        collect(settings.kafka_bootstrap, settings.command_topic, lambda rs: True),
        _well_id(settings, tenant, big_code),
    )


def test_replay_after_a_connector_crash_sends_no_extra_command(worker: Worker, tenant: str) -> None:
    """Kill Connect before it commits its offsets: Debezium re-sends the change on restart."""
    settings = worker.settings
    code = "6507/7-A-9"
    thing_id = _well_id(settings, tenant, code)
    cdc_topic = f"{settings.topic_prefix}.public.wells"
    _insert_well(settings, tenant, code)
    collect(
        settings.kafka_bootstrap, settings.command_topic, lambda rs: len(_things(rs, thing_id)) == 1
    )

    def changes(rs: list[Record]) -> list[Record]:
        return [r for r in rs if r.value and f'"well_code":"{code}"' in r.value.decode()]

    for proc in connect.processes(settings):
        proc.stop_signal = signal.SIGKILL
        proc.stop(timeout=10)
    connect.up(settings)
    # The replay is real only if the create reached the CDC topic a second time.
    collect(settings.kafka_bootstrap, cdc_topic, lambda rs: len(changes(rs)) >= 2, timeout=120)
    time.sleep(SETTLE)
    records = collect(
        settings.kafka_bootstrap,
        settings.command_topic,
        lambda rs: len(_things(rs, thing_id)) >= 1,
        settle=SETTLE,
    )
    assert [_action(c) for c in _things(records, thing_id)] == ["modify"]


# Keys that all make the slug `a-1`: Debezium spreads them over the CDC topic's partitions.
SAME_SLUG = ("A-1", "a 1", "a_1", "a.1", "A 1", "a--1", "A.1", "a/1")


def test_keys_with_one_slug_on_any_partitions_make_one_twin_and_dead_letters(
    worker: Worker, tenant: str
) -> None:
    settings = worker.settings
    thing_id = _well_id(settings, tenant, "A-1")
    for code in SAME_SLUG:
        _insert_well(settings, tenant, code)

    def collisions(records: list[Record]) -> list[Record]:
        return [
            r
            for r in records
            if r.headers.get("streams.dlq.error.class") == "ThingIdError"
            and thing_id in r.headers.get("streams.dlq.error.message", "")
        ]

    letters = collisions(
        collect(
            settings.kafka_bootstrap,
            settings.dead_letter_topic,
            lambda rs: len(collisions(rs)) >= len(SAME_SLUG) - 1,
            settle=SETTLE,
        )
    )
    commands = _things(
        collect(settings.kafka_bootstrap, settings.command_topic, lambda rs: True, settle=2.0),
        thing_id,
    )

    partitions = {r.headers["streams.dlq.partition"] for r in letters}
    assert len(letters) == len(SAME_SLUG) - 1, "every key but the first is a collision"
    assert len(partitions) > 1, "the keys should have spread over partitions"
    assert [_action(c) for c in commands] == ["modify"], "one key's twin, written once"
