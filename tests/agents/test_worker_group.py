"""Two workers of one group share the partitions; a killed worker's partitions move to the
other with their tables, and a stopped worker's commits hold: no change reaches a sink
twice and none is lost.

The module runs `streams worker` processes in a group of its own, on topics and Ditto
connections of its own (six partitions each, so both workers get work), from the present
end of the CDC topics. Its rows belong to tenants of its own. What is counted:

- commands on the command topic per change (the correlation id names the CDC record);
- Ditto's revision of every twin: one per change that reached Ditto;
- CDC records per row: the insert, each row edit, and each write of the sink.

At least once allows a command to be produced twice: a worker killed after producing it
but before committing the CDC offset leaves the record to the next owner. The per-key
state travels in its changelog and is restored first, so the next owner drops the record
as a duplicate when the state's write reached Kafka before the kill; only a command whose
state write was lost with the process goes out again. Between the command topic and
Ditto nothing filters (the commands carry no if-equal), so the assertions that matter are
on the sinks: Ditto's revisions and the rows' writes.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from streams.config import Settings
from streams.ditto.bootstrap import bootstrap
from streams.kafka.admin import ensure_topics
from streams.kafka.lag import group_lag, read_group
from streams.kafka.reader import end_offsets, read_to_end
from streams.kafka.topics import cdc_topic, owned_topics
from streams.mapping import identity, load_mappings
from streams.ops.worker_process import WorkerProcess
from tests._own_worker import as_env, start_at_the_end
from tests.agents._loop import _delete_connections, delete_rows, own_settings

pytestmark = pytest.mark.stack

WAIT = 300.0  # a killed member's partitions move after the session timeout (Faust: 60 s),
# then the survivor restores their tables from the changelogs: minutes on a busy machine
SETTLE = 6.0
RUN = uuid.uuid4().hex[:8]
KILLED = f"wk{RUN}"  # tenant of the SIGKILL test
STOPPED = f"ws{RUN}"  # tenant of the SIGTERM test
ROW_EDITED = [f"R-{n}" for n in range(8)]  # wells whose rows are edited
TWIN_EDITED = [f"T-{n}" for n in range(4)]  # wells whose twins are edited in Ditto
ROUNDS = 6
PROCESSED = 'streams_events_in_total{agent="legacy-to-ditto"}'


@dataclass
class Group:
    settings: Settings
    env: dict[str, str]
    api: httpx.Client
    logs: Path

    def worker(self, name: str) -> WorkerProcess:
        return WorkerProcess(self.logs / f"{name}.log", self.env)


@pytest.fixture(scope="module")
def group(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Group]:
    from streams.stack import orchestrator

    orchestrator.up(cdc_stack, only=("ditto",))
    fields = own_settings("group", RUN)
    settings = cdc_stack.model_copy(update=fields)
    env = {
        **as_env(fields),
        "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "STREAMS_WORKER_LAG_INTERVAL": "1",  # the lag gauges show who owns what
    }
    ensure_topics(settings.kafka_bootstrap, owned_topics(settings))
    start_at_the_end(settings)
    auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
    api = httpx.Client(base_url=f"{settings.ditto_url}/api/2", auth=auth, timeout=10)
    try:
        bootstrap(settings, [f"{t}:default-policy" for t in (KILLED, STOPPED)])
        yield Group(settings, env, api, tmp_path_factory.mktemp("logs"))
    finally:
        _delete_connections(settings)
        api.close()
        delete_rows(cdc_stack, (KILLED, STOPPED))


# -- rows and twins -----------------------------------------------------------------------


def _thing_id(settings: Settings, tenant: str, code: str) -> str:
    wells = load_mappings(settings.mappings_dir)["wells"]
    return identity(wells, {"tenant": tenant, "well_code": code}).thing_id


def _insert(settings: Settings, tenant: str, codes: list[str]) -> None:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        for code in codes:
            conn.execute(
                "INSERT INTO wells (tenant, well_code, name, oil_rate_bopd, status) "
                "VALUES (%s, %s, %s, 100, 'PRODUCING')",
                (tenant, code, code),
            )


def _row_rate(n: int) -> Decimal:
    return Decimal(100 + n)


def _twin_rate(n: int) -> Decimal:
    return Decimal(f"{500 + n}.25")


def _edit_rows(settings: Settings, tenant: str, n: int) -> None:
    """Round n: one transaction that sets each row-edited well's rate."""
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE wells SET oil_rate_bopd = %s WHERE tenant = %s AND well_code = ANY(%s)",
            (_row_rate(n), tenant, ROW_EDITED),
        )


def _edit_twins(group: Group, tenant: str, n: int) -> None:
    """Round n: a person's edit of each twin-edited well in Ditto."""
    for code in TWIN_EDITED:
        thing_id = _thing_id(group.settings, tenant, code)
        response = group.api.patch(
            f"/things/{thing_id}/features/production/properties/oilRateBopd",
            content=str(_twin_rate(n)).encode(),
            headers={"content-type": "application/merge-patch+json"},
        )
        assert response.status_code == 204, response.text


def _twin(group: Group, thing_id: str) -> dict[str, Any] | None:
    fields = "thingId,_revision,features/production/properties/oilRateBopd"
    response = group.api.get(f"/things/{thing_id}", params={"fields": fields})
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _twin_rate_of(twin: dict[str, Any] | None) -> Decimal | None:
    if twin is None:
        return None
    rate = twin.get("features", {}).get("production", {}).get("properties", {})
    value = rate.get("oilRateBopd")
    return None if value is None else Decimal(str(value))


def _rows(settings: Settings, tenant: str) -> dict[str, dict[str, Any]]:
    with psycopg.connect(settings.pg_dsn) as conn:
        cursor = conn.execute(
            "SELECT well_code, oil_rate_bopd, twin_revision FROM wells WHERE tenant = %s",
            (tenant,),
        )
        return {code: {"rate": rate, "revision": rev} for code, rate, rev in cursor}


def _wait(check: Any, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(1)


def _final_state_reached(group: Group, tenant: str) -> bool:
    settings, last = group.settings, ROUNDS
    rows = _rows(settings, tenant)
    twins_done = all(
        _twin_rate_of(_twin(group, _thing_id(settings, tenant, code))) == _row_rate(last)
        for code in ROW_EDITED
    )
    rows_done = all(rows[code]["rate"] == _twin_rate(last) for code in TWIN_EDITED)
    return twins_done and rows_done


# -- what reached each topic and sink ------------------------------------------------------


def _header(record: Any, name: str) -> str:
    return next((v or b"").decode() for k, v in record.headers if k == name)


def _traffic(settings: Settings, tenant: str) -> dict[str, Any]:
    """Per thing: commands by correlation id; per row key: CDC records; dead letters."""
    mark = tenant.encode()
    commands = [
        r
        for r in read_to_end(settings.kafka_bootstrap, settings.command_topic)
        if mark in (r.key or b"")
    ]
    cdc = [
        r
        for r in read_to_end(settings.kafka_bootstrap, cdc_topic(settings, "wells"))
        if mark in (r.key or b"") and _op(r) in ("c", "u")
    ]
    dead = [
        r
        for r in read_to_end(settings.kafka_bootstrap, settings.dead_letter_topic)
        if mark in (r.key or b"")
    ]
    return {
        "commands": Counter(_header(r, "correlation-id") for r in commands),
        "commands_per_thing": Counter((r.key or b"").decode() for r in commands),
        "cdc_per_row": Counter(_row_code(r.key) for r in cdc),
        "sink_writes": _sink_writes(cdc),
        "dead_letters": len(dead),
    }


def _row_code(key: bytes | None) -> str:
    """The well code in a Debezium key ({"schema":..., "payload": {...}})."""
    payload = json.loads(key or b"{}").get("payload", {})
    return str(payload.get("well_code"))


def _op(record: Any) -> str | None:
    """Debezium's op: c, u and d are row changes; r a snapshot's read of a row (a re-snapshot
    of the shared table by someone else reads these rows again; not a change)."""
    payload = json.loads(record.value or b"{}").get("payload") or {}
    return payload.get("op")


def _sink_writes(cdc: list[Any]) -> dict[str, list[int]]:
    """Per well code, the twin revisions the sink's writes set, in the order written
    (Debezium's record of each write; only the sink sets twin_revision)."""
    writes: dict[str, list[int]] = {}
    for record in cdc:
        after = (json.loads(record.value or b"{}").get("payload") or {}).get("after") or {}
        if after.get("twin_revision") is not None:
            writes.setdefault(after["well_code"], []).append(after["twin_revision"])
    return writes


def _settled_traffic(settings: Settings, tenant: str) -> dict[str, Any]:
    seen = _traffic(settings, tenant)
    deadline = time.monotonic() + WAIT
    while True:
        time.sleep(SETTLE)
        now = _traffic(settings, tenant)
        if now == seen:
            return now
        assert time.monotonic() < deadline, f"traffic of {tenant} never stopped"
        seen = now


def _members(settings: Settings) -> int:
    return read_group(settings.kafka_bootstrap, settings.consumer_group).members


def _owned(worker: WorkerProcess, topic: str) -> set[int]:
    """Partitions of `topic` the worker exports lag for: the ones it owns."""
    page = httpx.get(f"http://127.0.0.1:{worker.port}/metrics", timeout=10).text
    mark = "kafka_consumergroup_lag{consumergroup="
    return {
        int(line.split('partition="', 1)[1].split('"', 1)[0])
        for line in page.splitlines()
        if line.startswith(mark) and f'topic="{topic}"' in line
    }


def _shared(settings: Settings, workers: list[WorkerProcess]) -> bool:
    """Each worker owns partitions of the wells' CDC topic, and together all of them."""
    topic = cdc_topic(settings, "wells")
    owned = [_owned(w, topic) for w in workers]
    every = set(end_offsets(settings.kafka_bootstrap, topic))
    return all(owned) and set().union(*owned) == every and sum(map(len, owned)) == len(every)


def _processed(worker: WorkerProcess) -> float:
    page = httpx.get(f"http://127.0.0.1:{worker.port}/metrics", timeout=10).text
    found = [line for line in page.splitlines() if line.startswith(PROCESSED)]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


def _caught_up(settings: Settings) -> bool:
    topics = [cdc_topic(settings, t) for t in ("basins", "wells")]
    lags = group_lag(settings.kafka_bootstrap, settings.consumer_group, topics)
    return all(p.lag == 0 for p in lags)


def _drive(group: Group, tenant: str, rounds: range) -> None:
    for n in rounds:
        _edit_rows(group.settings, tenant, n)
        _edit_twins(group, tenant, n)
        time.sleep(0.5)  # a stream, not one burst


def _created(group: Group, tenant: str) -> None:
    settings = group.settings
    _insert(settings, tenant, ROW_EDITED + TWIN_EDITED)
    _wait(
        lambda: all(
            _twin(group, _thing_id(settings, tenant, code)) is not None
            for code in ROW_EDITED + TWIN_EDITED
        ),
        "every twin created",
    )


def _assert_each_change_reached_each_sink_once(group: Group, tenant: str) -> dict[str, Any]:
    settings = group.settings
    traffic = _settled_traffic(settings, tenant)
    rows = _rows(settings, tenant)

    # Row-edited wells: the insert and ROUNDS edits, each one CDC record, each one
    # command at least (a redelivered one reuses its correlation id), each one revision;
    # the sink never writes them.
    for code in ROW_EDITED:
        thing_id = _thing_id(settings, tenant, code)
        twin = _twin(group, thing_id)
        assert _twin_rate_of(twin) == _row_rate(ROUNDS)
        assert twin is not None and twin["_revision"] == 1 + ROUNDS, (code, twin)
        assert traffic["cdc_per_row"][code] == 1 + ROUNDS
        assert rows[code] == {"rate": _row_rate(ROUNDS), "revision": None}
        assert code not in traffic["sink_writes"]

    # Twin-edited wells: the insert's command and ROUNDS twin edits, each one revision.
    # The sink merges the revisions of one row that share a batch into one write, so a
    # row has one write per batch: each write sets a newer revision than the last (no
    # revision is written twice), and the row ends at the last one.
    for code in TWIN_EDITED:
        thing_id = _thing_id(settings, tenant, code)
        twin = _twin(group, thing_id)
        assert twin is not None and twin["_revision"] == 1 + ROUNDS, (code, twin)
        writes = traffic["sink_writes"][code]
        assert writes == sorted(set(writes)) and writes[-1] == 1 + ROUNDS, (code, writes)
        assert traffic["cdc_per_row"][code] == 1 + len(writes)
        assert rows[code] == {"rate": _twin_rate(ROUNDS), "revision": 1 + ROUNDS}
        assert traffic["commands_per_thing"][thing_id] >= 1

    changes = len(ROW_EDITED) * (1 + ROUNDS) + len(TWIN_EDITED)
    assert len(traffic["commands"]) == changes  # every change has its command
    assert traffic["dead_letters"] == 0
    return traffic


# -- the tests ------------------------------------------------------------------------------


def test_a_killed_worker_hands_its_partitions_over_and_no_change_reaches_a_sink_twice(
    group: Group,
) -> None:
    first, second = group.worker("first"), group.worker("second")
    try:
        first.start()
        second.start()
        _wait(lambda: _shared(group.settings, [first, second]), "both owning partitions")
        _created(group, KILLED)
        # Both hold partitions of the CDC topics, so both did some of the work.
        assert _processed(first) > 0 and _processed(second) > 0

        _drive(group, KILLED, range(1, ROUNDS // 2 + 1))
        first.stop(signal.SIGKILL)
        _drive(group, KILLED, range(ROUNDS // 2 + 1, ROUNDS + 1))
        _wait(lambda: _final_state_reached(group, KILLED), "the last round in twins and rows")
        _wait(lambda: _caught_up(group.settings), "the survivor reading every CDC record")

        traffic = _assert_each_change_reached_each_sink_once(group, KILLED)
        assert _members(group.settings) == 1
        _wait(lambda: _shared(group.settings, [second]), "the survivor owning every partition")
        # Redelivered commands (same correlation id) may exist; none reached Ditto twice.
        repeated = sum(n - 1 for n in traffic["commands"].values())
        print(f"commands sent again after the kill: {repeated}")
    finally:
        first.stop(signal.SIGKILL)
        second.stop()


def test_a_worker_stopped_mid_stream_commits_what_it_did_and_its_successor_repeats_nothing(
    group: Group,
) -> None:
    worker = group.worker("stopped")
    worker.start()
    try:
        _created(group, STOPPED)
        _drive(group, STOPPED, range(1, ROUNDS // 2 + 1))
        assert worker.stop(signal.SIGTERM) == 0
        _drive(group, STOPPED, range(ROUNDS // 2 + 1, ROUNDS + 1))
        worker = group.worker("restarted")
        worker.start()
        _wait(lambda: _final_state_reached(group, STOPPED), "the last round in twins and rows")
        _wait(lambda: _caught_up(group.settings), "the successor reading every CDC record")

        traffic = _assert_each_change_reached_each_sink_once(group, STOPPED)
        # A graceful stop commits every record it processed: no command went out twice.
        assert set(traffic["commands"].values()) == {1}
    finally:
        worker.stop()
