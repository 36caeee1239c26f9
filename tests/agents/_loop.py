"""The whole loop for one test module: Ditto set up for its own topics and connections,
a real worker, and counts of what every topic of the loop holds for one tenant.

Ditto sends no event back to the connection whose command caused it, so a module that
watches the way back needs both connections of its own (see streams.ditto.bootstrap).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from streams.config import Settings
from streams.ditto.bootstrap import bootstrap
from streams.kafka.admin import ensure_topics
from streams.kafka.reader import read_to_end
from streams.kafka.topics import cdc_topic, owned_topics
from streams.ops.worker_process import WorkerProcess
from tests._own_worker import as_env, own_topics, wait_caught_up

WAIT = 90.0


@dataclass
class Loop:
    settings: Settings
    api: httpx.Client  # Ditto's API as the admin subject of every tenant policy
    worker: WorkerProcess

    def metric(self, line_start: str) -> float:
        """The value of the worker's Prometheus sample whose line starts so (0 if none)."""
        page = httpx.get(f"http://127.0.0.1:{self.worker.port}/metrics", timeout=10).text
        found = [line for line in page.splitlines() if line.startswith(line_start)]
        return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


def own_settings(kind: str, run: str, *, own_subject: bool = True) -> dict[str, str]:
    """Settings field -> value: own group, topics and Ditto connections (and subject)."""
    fields = {
        **own_topics(kind, run),
        "ditto_command_connection": f"test-commands-{run}",
        "ditto_event_connection": f"test-events-{run}",
    }
    if own_subject:
        fields["ditto_sync_subject"] = f"integration:test-{run}"
    return fields


def _delete_connections(settings: Settings) -> None:
    auth = (settings.ditto_devops_user, settings.ditto_devops_password.get_secret_value())
    with httpx.Client(base_url=f"{settings.ditto_url}/api/2", auth=auth, timeout=10) as devops:
        for connection in (settings.ditto_command_connection, settings.ditto_event_connection):
            devops.delete(f"/connections/{connection}")


@contextmanager
def running_loop(
    cdc_stack: Settings,
    tmp_path_factory: pytest.TempPathFactory,
    policies: Iterable[str],
    *,
    own_subject: bool = True,
) -> Iterator[Loop]:
    """Topics, connections and policies bootstrapped, and a worker past the CDC history.

    With `own_subject=False` the connections act as the shared sync subject, so the
    policies bootstrap writes are the very ones `streams ditto bootstrap` writes.
    """
    from streams.stack import orchestrator

    orchestrator.up(cdc_stack, only=("ditto",))
    run = uuid.uuid4().hex[:8]
    fields = own_settings("loop", run, own_subject=own_subject)
    env = {**as_env(fields), "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("worker"))}
    settings = cdc_stack.model_copy(update=fields)
    ensure_topics(settings.kafka_bootstrap, owned_topics(settings))
    auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
    api = httpx.Client(base_url=f"{settings.ditto_url}/api/2", auth=auth, timeout=10)
    worker = WorkerProcess(tmp_path_factory.mktemp("logs") / "worker.log", env)
    try:
        bootstrap(settings, policies)
        worker.start()
        wait_caught_up(settings)
        yield Loop(settings, api, worker)
    finally:
        worker.stop()
        _delete_connections(settings)
        api.close()


def delete_rows(settings: Settings, tenants: Iterable[str]) -> None:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        for tenant in tenants:
            conn.execute("DELETE FROM wells WHERE tenant = %s", (tenant,))
            conn.execute("DELETE FROM basins WHERE tenant = %s", (tenant,))


def twin(api: httpx.Client, thing_id: str) -> dict[str, Any]:
    """The twin as Ditto holds it, once it exists."""
    deadline = time.monotonic() + WAIT
    while (response := api.get(f"/things/{thing_id}")).status_code == 404:
        assert time.monotonic() < deadline, f"{thing_id} never appeared in Ditto"
        time.sleep(0.5)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def loop_topics(settings: Settings) -> dict[str, str]:
    """Every topic a well's change can travel through, by its role in the loop."""
    return {
        "cdc": cdc_topic(settings, "wells"),
        "command": settings.command_topic,
        "reply": settings.reply_topic,
        "event": settings.event_topic,
        "sink": settings.sink_topic,
        "dead-letter": settings.dead_letter_topic,
    }


def counts(settings: Settings, tenant: str) -> dict[str, int]:
    """Records of `tenant` on each topic of the loop.

    Ditto-side topics are keyed by thing id (`<tenant>:...`), the CDC topic by the row's
    primary key, which holds the tenant column: a unique tenant names them all.
    """
    mark = tenant.encode()

    def count(topic: str) -> int:
        records = read_to_end(settings.kafka_bootstrap, topic)
        return sum(1 for r in records if mark in (r.key or b""))

    topics = loop_topics(settings)
    # One reader per topic at once: each spends most of its time joining, not reading.
    with ThreadPoolExecutor(len(topics)) as pool:
        return dict(zip(topics, pool.map(count, topics.values()), strict=True))


def settled_counts(settings: Settings, tenant: str, settle: float) -> dict[str, int]:
    """`counts` once no new record of the tenant arrived on any topic for `settle` seconds."""
    deadline = time.monotonic() + WAIT
    seen = counts(settings, tenant)
    while True:
        time.sleep(settle)
        now = counts(settings, tenant)
        if now == seen:
            return now
        assert time.monotonic() < deadline, f"traffic of {tenant} never stopped: {now}"
        seen = now
