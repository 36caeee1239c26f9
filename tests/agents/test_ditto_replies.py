"""Legacy rows to twins in Ditto end to end, and Ditto's answers handled by the worker.

The module bootstraps Ditto for its own tenant, subject, topics and connections, then
runs a real worker. The worker replays the whole CDC history into its command topic;
those commands name other tenants' policies, which do not grant this module's subject,
so Ditto refuses them and they become dead letters here, never twins in the shared Ditto.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import psycopg
import pytest
from confluent_kafka import Producer

from streams.config import Settings
from streams.ditto.bootstrap import bootstrap
from streams.kafka.admin import ensure_topics
from streams.kafka.topics import owned_topics
from streams.ops.worker_process import WorkerProcess
from tests._own_worker import as_env, wait_caught_up
from tests.agents import _loop
from tests.agents._loop import own_settings
from tests.agents._records import Record, collect

pytestmark = pytest.mark.stack

WAIT = 90.0


@dataclass
class Setup:
    settings: Settings
    tenant: str  # bootstrapped: the sync may write its twins
    locked: str  # a policy that lets the sync read but not write
    api: httpx.Client
    worker: WorkerProcess


def _lock(api: httpx.Client, settings: Settings, tenant: str) -> None:
    read_only = {"grant": ["READ"], "revoke": []}
    everything = {"grant": ["READ", "WRITE"], "revoke": []}
    policy = {
        "entries": {
            "ADMIN": {
                "subjects": {settings.ditto_admin_subject: {"type": "test"}},
                "resources": {"policy:/": everything, "thing:/": everything},
            },
            "SYNC": {
                "subjects": {settings.ditto_sync_subject: {"type": "test"}},
                "resources": {"policy:/": read_only, "thing:/": read_only},
            },
        }
    }
    response = api.put(f"/policies/{tenant}:default-policy", json=policy)
    assert response.status_code == 201, response.text


def _rows(settings: Settings, sql: str, tenants: tuple[str, ...]) -> None:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        for tenant in tenants:
            conn.execute(sql, (tenant,))


@pytest.fixture(scope="module")
def setup(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    from streams.stack import orchestrator

    orchestrator.up(cdc_stack, only=("ditto",))
    run = uuid.uuid4().hex[:8]
    fields = own_settings("replies", run)
    env = {**as_env(fields), "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("worker"))}
    settings = cdc_stack.model_copy(update=fields)
    tenant, locked = f"rp{run}", f"rl{run}"
    ensure_topics(settings.kafka_bootstrap, owned_topics(settings))
    bootstrap(settings, [f"{tenant}:default-policy"])
    auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
    api = httpx.Client(base_url=f"{settings.ditto_url}/api/2", auth=auth, timeout=10)
    _lock(api, settings, locked)
    _rows(
        settings,
        "INSERT INTO basins (tenant, code, name) VALUES (%s, 'B-1', 'B')",
        (tenant, locked),
    )
    worker = WorkerProcess(tmp_path_factory.mktemp("logs") / "worker.log", env)
    worker.start()
    wait_caught_up(settings)
    yield Setup(settings, tenant, locked, api, worker)
    worker.stop()
    _rows(settings, "DELETE FROM wells WHERE tenant = %s", (tenant, locked))
    _rows(settings, "DELETE FROM basins WHERE tenant = %s", (tenant, locked))
    with httpx.Client(
        base_url=f"{settings.ditto_url}/api/2",
        auth=(settings.ditto_devops_user, settings.ditto_devops_password.get_secret_value()),
    ) as devops:
        devops.delete(f"/connections/{settings.ditto_command_connection}")
        devops.delete(f"/connections/{settings.ditto_event_connection}")
    api.close()


def _insert_well(settings: Settings, tenant: str, code: str) -> None:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wells (tenant, well_code, name, basin_code, api_number, "
            "tubing_size, oil_rate_bopd, status) "
            "VALUES (%s, %s, %s, 'B-1', 'VE-12345', %s, 450, 'PRODUCING')",
            (tenant, code, code, Decimal("2.875")),
        )


def test_a_new_legacy_well_becomes_its_twin_in_ditto(setup: Setup) -> None:
    _insert_well(setup.settings, setup.tenant, "MOR-001")

    twin = _loop.twin(setup.api, f"{setup.tenant}:well-mor-001")

    assert twin == {
        "thingId": f"{setup.tenant}:well-mor-001",
        "policyId": f"{setup.tenant}:default-policy",
        "definition": f"{setup.settings.thing_models_url}/well-1.0.0.tm.jsonld",
        "attributes": {
            "type": "WELL",
            "name": "MOR-001",
            "wellCode": "MOR-001",
            "apiNumber": "VE-12345",
        },
        "features": {
            "completion": {"properties": {"tubingSize": 2.875}},
            "production": {"properties": {"oilRateBopd": 450}},
            "status": {"properties": {"current": "PRODUCING"}},
        },
    }


def _refused(thing_id: str) -> Any:
    def found(records: list[Record]) -> bool:
        return any(r.key == thing_id for r in records)

    return found


def test_a_command_ditto_refuses_for_good_is_a_dead_letter_with_dittos_error(
    setup: Setup,
) -> None:
    thing_id = f"{setup.locked}:well-x-1"

    _insert_well(setup.settings, setup.locked, "X-1")

    records = collect(
        setup.settings.kafka_bootstrap, setup.settings.dead_letter_topic, _refused(thing_id)
    )
    letter = next(r for r in records if r.key == thing_id)
    assert letter.json["topic"] == f"{setup.locked}/well-x-1/things/twin/commands/modify"
    assert letter.headers["streams.dlq.stage"] == "ditto-reply"
    assert letter.headers["streams.dlq.error.class"] == "RejectedByDittoError"
    assert letter.headers["streams.dlq.topic"] == setup.settings.command_topic
    assert letter.headers["streams.dlq.ditto.status"] == "403"
    assert letter.headers["streams.dlq.ditto.error"] == "things:thing.notmodifiable"
    assert letter.headers["streams.dlq.ditto.message"]
    assert letter.headers["correlation-id"].startswith("streams:")
    assert setup.api.get(f"/things/{thing_id}").status_code == 404


def test_the_worker_counts_dittos_answers(setup: Setup) -> None:
    _insert_well(setup.settings, setup.tenant, "MOR-002")
    _loop.twin(setup.api, f"{setup.tenant}:well-mor-002")

    deadline = time.monotonic() + WAIT
    while True:
        page = httpx.get(f"http://127.0.0.1:{setup.worker.port}/metrics", timeout=10).text
        done = [
            line for line in page.splitlines() if line.startswith("streams_ditto_answers_total")
        ]
        if any('verdict="done"' in line for line in done) and any(
            'verdict="dead-letter"' in line for line in done
        ):
            break
        assert time.monotonic() < deadline, f"answers not counted: {done}"
        time.sleep(0.5)


def _row_rate(settings: Settings, tenant: str, code: str) -> Decimal | None:
    with psycopg.connect(settings.pg_dsn) as conn:
        row = conn.execute(
            "SELECT oil_rate_bopd FROM wells WHERE tenant = %s AND well_code = %s", (tenant, code)
        ).fetchone()
    return None if row is None else row[0]


def test_a_twin_edited_in_ditto_reaches_its_row_once_and_sends_no_command_back(
    setup: Setup,
) -> None:
    """The whole loop through Ditto's own event connection: twin -> row, and no echo."""
    settings, tenant = setup.settings, setup.tenant
    thing_id = f"{tenant}:well-mor-003"
    _insert_well(settings, tenant, "MOR-003")
    _loop.twin(setup.api, thing_id)
    sent_before = collect(
        settings.kafka_bootstrap, settings.command_topic, lambda rs: True, settle=3.0
    )

    response = setup.api.patch(
        f"/things/{thing_id}/features/production/properties/oilRateBopd",
        content=b"612.125",
        headers={"content-type": "application/merge-patch+json"},
    )
    assert response.status_code == 204, response.text

    deadline = time.monotonic() + WAIT
    while _row_rate(settings, tenant, "MOR-003") != Decimal("612.125"):
        assert time.monotonic() < deadline, "the twin's edit never reached its row"
        time.sleep(0.5)
    # The sink's write comes back through Debezium marked with our origin: no command.
    sent_after = collect(
        settings.kafka_bootstrap, settings.command_topic, lambda rs: True, settle=8.0
    )

    def for_thing(records: list[Record]) -> list[str | None]:
        return [r.json["topic"] for r in records if r.key == thing_id]

    assert for_thing(sent_after) == for_thing(sent_before)
    assert for_thing(sent_after) == [f"{tenant}/well-mor-003/things/twin/commands/modify"]


def _bad_records_dead_lettered(keys: set[str]) -> Any:
    def found(records: list[Record]) -> bool:
        return keys <= {r.key for r in records if r.key is not None}

    return found


def test_a_reply_tombstone_and_a_command_not_utf8_are_decode_dead_letters(setup: Setup) -> None:
    settings = setup.settings
    tombstone_key, garbled_key = f"{setup.tenant}:tombstone", f"{setup.tenant}:garbled"
    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(settings.reply_topic, key=tombstone_key.encode(), value=None)
    producer.produce(settings.command_topic, key=garbled_key.encode(), value=b'{"\xff\xfe"}')
    assert producer.flush(10) == 0

    records = collect(
        settings.kafka_bootstrap,
        settings.dead_letter_topic,
        _bad_records_dead_lettered({tombstone_key, garbled_key}),
    )
    letters = {r.key: r for r in records if r.key in (tombstone_key, garbled_key)}
    for key, topic, words in (
        (tombstone_key, settings.reply_topic, "tombstone"),
        (garbled_key, settings.command_topic, "not UTF-8"),
    ):
        headers = letters[key].headers
        origin = f"{topic}[{headers['streams.dlq.partition']}]@{headers['streams.dlq.offset']}"
        assert headers["streams.dlq.stage"] == "decode"
        assert headers["streams.dlq.error.class"] == "DecodeError"
        assert origin in headers["streams.dlq.error.message"]
        assert words in headers["streams.dlq.error.message"]
    log = setup.worker.log_file.read_text(errors="replace")
    assert "TypeError" not in log and "UnicodeDecodeError" not in log
