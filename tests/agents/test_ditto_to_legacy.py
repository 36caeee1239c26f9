"""The Ditto -> legacy agents on the real stack: Ditto-shaped events in, rows out, no echo.

A `streams worker` process (all three agents) runs on topics of its own. Events are
produced the way Ditto's Kafka target writes them (keyed by thing id, the Ditto Protocol
envelope as the value). Each test checks what
arrived in Postgres and on the topics, and that nothing extra arrived after a settle.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from confluent_kafka import Producer

from streams.config import Settings
from streams.mapping import identity, load_mappings
from streams.ops.worker_process import WorkerProcess
from streams.stack._process import wait_until
from tests._own_worker import as_env, own_topics
from tests.agents._records import Record, collect

pytestmark = pytest.mark.stack

SETTLE = 8.0  # seconds of silence that show no extra record follows


@pytest.fixture(scope="module")
def settings(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    topics = own_topics("twin", uuid.uuid4().hex[:8])
    env = as_env(topics)
    env["STREAMS_WORKER_DATA_DIR"] = str(tmp_path_factory.mktemp("twin-worker"))
    process = WorkerProcess(tmp_path_factory.mktemp("logs") / "worker.log", env)
    process.start()
    yield cdc_stack.model_copy(update=topics)
    process.stop()


@pytest.fixture
def tenant(cdc_stack: Settings) -> Iterator[str]:
    name = f"sk{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(cdc_stack.pg_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM wells WHERE tenant = %s", (name,))


def well_id(settings: Settings, tenant: str, code: str) -> str:
    mapping = load_mappings(settings.mappings_dir)["wells"]
    return identity(mapping, {"tenant": tenant, "well_code": code}).thing_id


def ditto_event(
    thing_id: str, action: str, path: str, value: Any, revision: int, **headers: str
) -> dict[str, Any]:
    namespace, name = thing_id.split(":", 1)
    envelope = {
        "topic": f"{namespace}/{name}/things/twin/events/{action}",
        "headers": {
            "correlation-id": f"test-{uuid.uuid4().hex[:8]}",
            "version": 2,
            "ditto-originator": "nginx:ditto",
            **headers,
        },
        "path": path,
        "value": value,
        "revision": revision,
        "timestamp": "2026-03-02T10:15:04.123Z",
    }
    if action == "deleted":
        del envelope["value"]
    return envelope


def produce(settings: Settings, thing_id: str, *events: dict[str, Any]) -> None:
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    for event in events:
        producer.produce(settings.event_topic, key=thing_id.encode(), value=json.dumps(event))
    assert producer.flush(10) == 0


def well_thing(thing_id: str, code: str, **attributes: Any) -> dict[str, Any]:
    return {
        "thingId": thing_id,
        "policyId": f"{thing_id.split(':')[0]}:default-policy",
        "attributes": {"type": "WELL", "name": code, "wellCode": code, **attributes},
        "features": {
            "production": {"properties": {"oilRateBopd": 450, "gasRateMscfd": 850}},
            "status": {"properties": {"current": "PRODUCING"}},
        },
    }


def row(settings: Settings, tenant: str, code: str) -> tuple[Any, ...] | None:
    with psycopg.connect(settings.pg_dsn) as conn:
        return conn.execute(
            "SELECT name, oil_rate_bopd, status, api_number, twin_revision FROM wells "
            "WHERE tenant = %s AND well_code = %s",
            (tenant, code),
        ).fetchone()


def keyed(records: list[Record], thing_id: str) -> list[Any]:
    return [r.json for r in records if r.key == thing_id]


def test_twin_edits_reach_the_row_once_and_do_not_come_back(
    settings: Settings, tenant: str
) -> None:
    code = "15/9-F-12 T"
    thing_id = well_id(settings, tenant, code)
    created = ditto_event(thing_id, "created", "/", well_thing(thing_id, code), 1)
    merged = ditto_event(
        thing_id,
        "merged",
        "/features/production/properties",
        {"oilRateBopd": 312.5},
        2,
        **{"content-type": "application/merge-patch+json"},
    )
    # Redeliveries and a late copy, as a replayed Ditto target would publish them.
    produce(settings, thing_id, created, merged, merged, created)

    wait_until(
        lambda: row(settings, tenant, code) == (code, Decimal("312.500"), "PRODUCING", None, 2),
        what="the twin's row",
        timeout=90,
    )
    sink = collect(
        settings.kafka_bootstrap,
        settings.sink_topic,
        lambda rs: len(keyed(rs, thing_id)) >= 2,
        settle=SETTLE,
    )
    assert [c["revision"] for c in keyed(sink, thing_id)] == [1, 2]

    # The legacy side: the sink's writes came back through Debezium as echoes, so the
    # legacy agent sent no command for them; a real legacy edit is a merge of just it.
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute("UPDATE wells SET api_number = 'NO-1' WHERE tenant = %s", (tenant,))
    commands = collect(
        settings.kafka_bootstrap,
        settings.command_topic,
        lambda rs: len(keyed(rs, thing_id)) >= 1,
        timeout=120,
        settle=SETTLE,
    )
    (command,) = keyed(commands, thing_id)
    assert command["topic"].endswith("/things/twin/commands/merge")
    assert command["value"] == {"attributes": {"apiNumber": "NO-1"}}

    # Ditto's event for that command carries our origin header: the sink writes nothing.
    echo = ditto_event(thing_id, "merged", "/", command["value"], 3, **{"streams-origin": "legacy"})
    produce(settings, thing_id, echo)
    sink = collect(
        settings.kafka_bootstrap,
        settings.sink_topic,
        lambda rs: len(keyed(rs, thing_id)) >= 2,
        settle=SETTLE,
    )
    assert len(keyed(sink, thing_id)) == 2
    assert row(settings, tenant, code) == (code, Decimal("312.500"), "PRODUCING", "NO-1", 2)


def test_deleted_twin_deletes_the_row(settings: Settings, tenant: str) -> None:
    code = "W-DEL"
    thing_id = well_id(settings, tenant, code)
    produce(
        settings,
        thing_id,
        ditto_event(thing_id, "created", "/", well_thing(thing_id, code), 1),
        ditto_event(thing_id, "deleted", "/", None, 2),
    )
    collect(settings.kafka_bootstrap, settings.sink_topic, lambda rs: len(keyed(rs, thing_id)) >= 2)
    wait_until(lambda: row(settings, tenant, code) is None, what="the row's delete", timeout=60)


def test_bad_events_and_rejected_rows_are_dead_letters_and_the_rest_flows(
    settings: Settings, tenant: str
) -> None:
    bad_type, no_name, good = (well_id(settings, tenant, c) for c in ("W-TYPE", "W-NULL", "W-OK"))
    wrong = well_thing(bad_type, "W-TYPE")
    wrong["features"]["production"]["properties"]["oilRateBopd"] = "lots"
    nameless = well_thing(no_name, "W-NULL")
    del nameless["attributes"]["name"]  # the row's name is NOT NULL
    produce(settings, bad_type, ditto_event(bad_type, "created", "/", wrong, 1))
    produce(settings, no_name, ditto_event(no_name, "created", "/", nameless, 1))
    produce(settings, good, ditto_event(good, "created", "/", well_thing(good, "W-OK"), 1))

    def letter(records: list[Record], thing_id: str) -> Record | None:
        return next((r for r in records if r.key == thing_id), None)

    letters = collect(
        settings.kafka_bootstrap,
        settings.dead_letter_topic,
        lambda rs: letter(rs, bad_type) is not None and letter(rs, no_name) is not None,
    )
    mapping_error = letter(letters, bad_type)
    assert mapping_error is not None
    assert mapping_error.headers["streams.dlq.stage"] == "map"
    assert mapping_error.headers["streams.dlq.topic"] == settings.event_topic
    assert "expected a number" in mapping_error.headers["streams.dlq.error.message"]
    assert mapping_error.json["topic"].endswith("/things/twin/events/created")
    rejected = letter(letters, no_name)
    assert rejected is not None
    assert rejected.headers["streams.dlq.stage"] == "sink-write"
    assert rejected.headers["streams.dlq.error.class"] == "RejectedByPostgresError"
    assert rejected.headers["streams.dlq.topic"] == settings.sink_topic
    assert rejected.headers["streams.dlq.mapping"] == "wells.toml"
    assert "[23502]" in rejected.headers["streams.dlq.error.message"]
    assert rejected.json["thingId"] == no_name  # the original sink record

    wait_until(lambda: row(settings, tenant, "W-OK") is not None, what="the good row", timeout=60)
    assert row(settings, tenant, "W-TYPE") is None and row(settings, tenant, "W-NULL") is None


def test_partial_edit_of_a_twin_made_from_a_legacy_row_finds_the_row_by_the_claim(
    settings: Settings, tenant: str
) -> None:
    """No event of this twin passed the agent before: only the legacy agent's claim names
    the row (written under the CDC record's partition, read from the event's)."""
    code = "NO 15/9-19 A"
    thing_id = well_id(settings, tenant, code)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wells (tenant, well_code, name, status) VALUES (%s, %s, 'Legacy', 'A')",
            (tenant, code),
        )
    collect(
        settings.kafka_bootstrap, settings.command_topic, lambda rs: len(keyed(rs, thing_id)) >= 1
    )
    edit = ditto_event(thing_id, "modified", "/features/status/properties/current", "SHUT-IN", 2)
    produce(settings, thing_id, edit)
    wait_until(
        lambda: row(settings, tenant, code) == ("Legacy", None, "SHUT-IN", None, 2),
        what="the claimed row's edit",
        timeout=60,
    )


def test_sink_waits_while_postgres_refuses_and_writes_once_it_can(
    settings: Settings, tenant: str
) -> None:
    code = "W-WAIT"
    thing_id = well_id(settings, tenant, code)
    with psycopg.connect(settings.pg_dsn, autocommit=True) as holder:
        # Another session holds the sink's replication origin: a transient refusal.
        holder.execute("SELECT pg_replication_origin_session_setup('ditto_streams_sink')")
        produce(
            settings, thing_id, ditto_event(thing_id, "created", "/", well_thing(thing_id, code), 1)
        )
        collect(
            settings.kafka_bootstrap, settings.sink_topic, lambda rs: len(keyed(rs, thing_id)) >= 1
        )
        time.sleep(3)  # the sink has had time to try (and to retry) meanwhile
        assert row(settings, tenant, code) is None
        holder.execute("SELECT pg_replication_origin_session_reset()")
    wait_until(lambda: row(settings, tenant, code) is not None, what="the waiting row", timeout=60)
    letters = collect(settings.kafka_bootstrap, settings.dead_letter_topic, lambda rs: True)
    assert all(r.key != thing_id for r in letters)  # a transient error is never a dead letter
