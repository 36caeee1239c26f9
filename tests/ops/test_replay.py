"""`streams replay` on the real stack: the shared CDC topics, Postgres and Debezium, into a
Ditto stand-in of this module's own (the shared one at :8080 serves others), on a free
loopback port and empty when the module starts.

Only the sample tenants are replayed (`--tenant`), so rows other tests add and remove
under their own tenants at the same time do not move the counts compared here.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from streams.config import PROJECT_ROOT, Settings
from streams.ditto.bootstrap import bootstrap, policy_ids
from streams.ditto.protocol import ORIGIN_HEADER, ORIGIN_LEGACY
from streams.errors import ConfigError
from streams.kafka.admin import admin_client, ensure_topics
from streams.kafka.reader import read_to_end
from streams.kafka.replay_source import ReplaySource, Start, StartFrom
from streams.kafka.topics import cdc_topic, owned_topics
from streams.mapping import dumps, load_mappings, to_thing
from streams.ops.replay import ReplayOptions, ReplayReport, replay
from streams.ops.validate import Options as ValidateOptions
from streams.ops.validate import validate
from streams.stack import ditto
from streams.stack.postgres import SYNC_ORIGIN
from tests._own_worker import as_env, own_topics

pytestmark = pytest.mark.stack

SAMPLE = ("acme", "nordic")
EARLIEST = Start(StartFrom.EARLIEST)
WAIT = 120.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def own(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings for an own, empty Ditto stand-in, with own topics and consumer group."""
    run = uuid.uuid4().hex[:8]
    fields: dict[str, Any] = {
        **own_topics("replay", run),
        "stack_dir": tmp_path_factory.mktemp("stack"),
        "ditto_url": f"http://127.0.0.1:{_free_port()}",
        "ditto_command_connection": f"test-commands-{run}",
        "ditto_event_connection": f"test-events-{run}",
    }
    settings = cdc_stack.model_copy(update=fields)
    ensure_topics(settings.kafka_bootstrap, owned_topics(settings))
    ditto.up(settings)
    try:
        yield settings
    finally:
        ditto.down(settings)
        _delete_groups(settings)


GROUPS: list[str] = []  # every replay group this module made, deleted at its end


def _delete_groups(settings: Settings) -> None:
    admin = admin_client(settings.kafka_bootstrap)
    listed = admin.list_consumer_groups().result(timeout=30).valid or []
    made = [g.group_id for g in listed if g.group_id in GROUPS]  # a dry run makes none
    for future in admin.delete_consumer_groups(made).values() if made else ():
        future.result(timeout=30)


@pytest.fixture(scope="module")
def tenant(own: Settings) -> str:
    """A tenant of this module alone, with the sample tenants' policies beside its own."""
    name = f"rp{uuid.uuid4().hex[:8]}"
    bootstrap(own, policy_ids(load_mappings(own.mappings_dir), (*SAMPLE, name)))
    return name


@pytest.fixture
def api(own: Settings, tenant: str) -> Iterator[httpx.Client]:
    auth = (own.ditto_user, own.ditto_password.get_secret_value())
    with httpx.Client(base_url=f"{own.ditto_url}/api/2", auth=auth, timeout=10) as client:
        yield client


def _options(**changes: Any) -> ReplayOptions:
    fields: dict[str, Any] = {"start": EARLIEST, "tenants": SAMPLE, "group": _group()}
    return ReplayOptions(**(fields | changes))


def _group() -> str:
    GROUPS.append(f"test-replay-{uuid.uuid4().hex[:8]}")
    return GROUPS[-1]


def _rows(settings: Settings, tenants: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """Thing id -> the JSON the mapping makes of each row of `tenants`, read now."""
    mappings = load_mappings(settings.mappings_dir)
    twins: dict[str, dict[str, Any]] = {}
    with psycopg.connect(settings.pg_dsn) as conn:
        for table, mapping in mappings.items():
            cursor = conn.execute(f"SELECT * FROM {table} WHERE tenant = ANY(%s)", (list(tenants),))
            columns = [c.name for c in cursor.description or ()]
            for values in cursor.fetchall():
                row = dict(zip(columns, values, strict=True))
                thing = to_thing(mapping, row, models_url=settings.thing_models_url)
                twins[thing["thingId"]] = json.loads(dumps(thing))
    return twins


def _count(settings: Settings, table: str) -> int:
    with psycopg.connect(settings.pg_dsn) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {table} WHERE tenant = ANY(%s)", (list(SAMPLE),)
        ).fetchone()
    return int(row[0]) if row else 0


def _twins(api: httpx.Client, thing_ids: list[str]) -> dict[str, dict[str, Any] | None]:
    found: dict[str, dict[str, Any] | None] = {}
    for thing_id in thing_ids:
        response = api.get(
            f"/things/{thing_id}",
            params={"fields": "_revision,thingId,policyId,definition,attributes,features"},
        )
        assert response.status_code in (200, 404), response.text
        found[thing_id] = response.json() if response.status_code == 200 else None
    return found


def _without_revision(twin: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if twin is None else {k: v for k, v in twin.items() if k != "_revision"}


def _empty(api: httpx.Client, thing_ids: list[str]) -> None:
    """The module's Ditto without these twins, as a replay into an empty Ditto needs."""
    for thing_id in thing_ids:
        assert api.delete(f"/things/{thing_id}").status_code in (204, 404)


def _committed(settings: Settings, group: str) -> dict[tuple[str, int], int]:
    topics = [cdc_topic(settings, t) for t in load_mappings(settings.mappings_dir)]
    source = ReplaySource(settings.kafka_bootstrap, group, topics)
    try:
        return source.committed()
    finally:
        source.close()


def _assert_all_twins(api: httpx.Client, expected: dict[str, dict[str, Any]]) -> None:
    found = _twins(api, sorted(expected))
    missing = [t for t, twin in found.items() if twin is None]
    differing = [t for t, twin in found.items() if _without_revision(twin) != expected[t]]
    assert not missing, f"{len(missing)} rows have no twin, e.g. {missing[:3]}"
    assert not differing, f"{len(differing)} twins differ from their row, e.g. {differing[:3]}"


def _written(report: ReplayReport, outcome: str) -> int:
    return sum(t.written[outcome] for t in report.tables.values())


# -- dry run ------------------------------------------------------------------------------


def test_dry_run_counts_one_modify_per_row_and_sends_and_commits_nothing(
    own: Settings, api: httpx.Client
) -> None:
    options = _options(dry_run=True)
    report = replay(own, options, lambda line: None)
    for table, counts in report.tables.items():
        assert counts.planned["modify"] == _count(own, table), table
        assert counts.written == {}
    assert _committed(own, str(options.group)) == {}
    some = sorted(_rows(own, SAMPLE))[:5]
    assert all(twin is None for twin in _twins(api, some).values())


def test_from_time_reads_only_what_came_after(own: Settings, tenant: str) -> None:
    since = int(time.time() * 1000)
    with psycopg.connect(own.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO basins (tenant, code, name) VALUES (%s, 'RP-T', 'after')", (tenant,)
        )
    try:
        _wait_in_topic(own, tenant, "RP-T")
        only = (tenant,)
        start = Start(StartFrom.TIME, since)
        report = replay(own, _options(start=start, dry_run=True, tenants=only), lambda line: None)
        whole = replay(own, _options(dry_run=True, tenants=only), lambda line: None)
    finally:
        with psycopg.connect(own.pg_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM basins WHERE tenant = %s", (tenant,))
    assert report.tables["basins"].planned == {"modify": 1}
    assert report.tables["basins"].records < whole.tables["basins"].records


@pytest.mark.parametrize("bad", ["ACME", "", "Bad Tenant!"])
def test_a_tenant_without_rows_is_a_usage_error_naming_the_tenants(own: Settings, bad: str) -> None:
    options = _options(tenants=(bad,))
    with pytest.raises(ConfigError, match=r"no rows in .*the tenants are: .*\bacme\b"):
        replay(own, options, lambda line: None)
    assert _committed(own, str(options.group)) == {}


def test_the_command_refuses_a_mistyped_tenant_with_exit_2_and_commits_nothing(
    own: Settings,
) -> None:
    group = _group()
    env = {**os.environ, **as_env({"dead_letter_topic": own.dead_letter_topic})}
    command = [sys.executable, "-m", "streams.cli", "replay", "--tenant", "ACME"]
    done = subprocess.run(
        [*command, "--group", group, "--from", "earliest"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "--tenant 'ACME': no rows" in done.stderr and "acme" in done.stderr
    assert _committed(own, group) == {}


def test_a_future_start_warns_that_nothing_will_be_read(own: Settings) -> None:
    lines: list[str] = []
    future = Start(StartFrom.TIME, int((time.time() + 86_400) * 1000))

    report = replay(own, _options(start=future, dry_run=True), lines.append)

    assert any("is in the future: nothing will be read" in line for line in lines), lines
    assert all(t.records == 0 for t in report.tables.values())


# -- into an empty Ditto, then again ---------------------------------------------------------


def test_replay_into_an_empty_ditto_makes_every_twin_and_a_second_makes_no_revision(
    own: Settings, api: httpx.Client
) -> None:
    expected = _rows(own, SAMPLE)
    _empty(api, sorted(expected))
    options = _options()

    first = replay(own, options, lambda line: None)

    assert first.ok, first.failures[:3]
    assert _written(first, "created") == len(expected) == first.twins
    _assert_all_twins(api, expected)
    assert _committed(own, str(options.group)) == first.committed
    # The migration's integrity check agrees, field by field through the mappings.
    checked = validate(own, ValidateOptions(tenants=SAMPLE), lambda line: None)
    assert (checked.differences, checked.ok) == (0, True)
    before = {t: twin["_revision"] for t, twin in _twins(api, sorted(expected)).items() if twin}

    second = replay(own, options, lambda line: None)  # --from earliest again

    assert second.ok, second.failures[:3]
    assert _written(second, "unchanged") == len(expected) == second.twins
    after = {t: twin["_revision"] for t, twin in _twins(api, sorted(expected)).items() if twin}
    assert after == before


# -- the sink's own rows ------------------------------------------------------------------


def _write_as_sink(settings: Settings, sql: str, params: tuple[Any, ...]) -> None:
    """One transaction under the sink's replication origin, as the Postgres sink writes."""
    deadline = time.monotonic() + WAIT
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        while True:
            try:
                conn.execute("SELECT pg_replication_origin_session_setup(%s)", (SYNC_ORIGIN,))
                break
            except psycopg.errors.ObjectInUse:  # the live sink holds it for a batch
                assert time.monotonic() < deadline, "the sink's origin stayed busy"
                time.sleep(0.2)
        try:
            with conn.transaction():
                conn.execute(sql, params)
        finally:
            conn.execute("SELECT pg_replication_origin_session_reset()")


def _wait_in_topic(settings: Settings, tenant: str, mark: str) -> None:
    topic = cdc_topic(settings, "basins")
    deadline = time.monotonic() + WAIT
    while not any(
        tenant.encode() in (r.key or b"") and mark.encode() in (r.value or b"")
        for r in read_to_end(settings.kafka_bootstrap, topic)
    ):
        assert time.monotonic() < deadline, f"{mark} of {tenant} never reached {topic}"
        time.sleep(0.5)


def _events(settings: Settings, thing_id: str) -> list[dict[str, Any]]:
    """The twin events Ditto's event connection published for `thing_id`."""
    deadline = time.monotonic() + WAIT
    while True:
        found = [
            json.loads(r.value or b"{}")
            for r in read_to_end(settings.kafka_bootstrap, settings.event_topic)
            if r.key == thing_id.encode()
        ]
        if found:
            return found
        assert time.monotonic() < deadline, f"no event of {thing_id} in {settings.event_topic}"
        time.sleep(0.5)


def test_a_row_the_sink_wrote_is_applied_by_replay(
    own: Settings, api: httpx.Client, tenant: str
) -> None:
    with psycopg.connect(own.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO basins (tenant, code, name) VALUES (%s, 'RP-1', 'as created')",
            (tenant,),
        )
    _write_as_sink(
        own,
        "UPDATE basins SET name = 'edited in Ditto', twin_revision = 2 "
        "WHERE tenant = %s AND code = 'RP-1'",
        (tenant,),
    )
    _wait_in_topic(own, tenant, SYNC_ORIGIN)
    try:
        report = replay(own, _options(tenants=(tenant,)), lambda line: None)
        assert report.ok, report.failures[:3]
        twin = api.get(f"/things/{tenant}:basin-rp-1/attributes/name")
        assert twin.status_code == 200 and twin.json() == "edited in Ditto"
        # Its event carries our origin, so the way back drops it as an echo.
        [event] = _events(own, f"{tenant}:basin-rp-1")
        assert event["headers"][ORIGIN_HEADER] == ORIGIN_LEGACY
    finally:
        with psycopg.connect(own.pg_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM basins WHERE tenant = %s", (tenant,))


def test_a_twin_ditto_refuses_is_a_dead_letter_with_dittos_error(own: Settings) -> None:
    orphan = f"rpx{uuid.uuid4().hex[:8]}"  # a tenant without a policy in this Ditto
    with psycopg.connect(own.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO basins (tenant, code, name) VALUES (%s, 'RP-X', 'no policy')", (orphan,)
        )
    try:
        _wait_in_topic(own, orphan, "RP-X")
        options = _options(tenants=(orphan,))
        said: list[str] = []
        report = replay(own, options, said.append)
    finally:
        with psycopg.connect(own.pg_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM basins WHERE tenant = %s", (orphan,))
    thing_id = f"{orphan}:basin-rp-x"
    assert not report.ok and report.tables["basins"].written["failed"] == 1
    [failure] = report.failures
    assert failure.startswith(thing_id) and "policies:policy.notfound" in failure
    [letter] = [
        r
        for r in read_to_end(own.kafka_bootstrap, own.dead_letter_topic)
        if r.key == thing_id.encode()
    ]
    headers = {name: (value or b"").decode() for name, value in letter.headers}
    assert headers["streams.dlq.stage"] == "ditto-reply"
    assert headers["streams.dlq.ditto.status"] == "404"
    assert headers["streams.dlq.ditto.error"] == "policies:policy.notfound"
    assert headers["streams.dlq.topic"] == cdc_topic(own, "basins")
    assert json.loads(letter.value or b"{}")["topic"].endswith("/things/twin/commands/modify")
    # Answered and dead-lettered: the group moves on, past every tenant's records.
    assert _committed(own, str(options.group)) == report.committed
    assert f"warning: group {options.group} will be committed past the records" in said[0]


# -- interrupt and resume -------------------------------------------------------------------


def _replay_process(own: Settings, group: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **as_env({"ditto_url": own.ditto_url, "dead_letter_topic": own.dead_letter_topic}),
    }
    args = ["--from", "earliest", "--group", group, "--concurrency", "1"]
    for name in SAMPLE:
        args += ["--tenant", name]
    command = [sys.executable, "-m", "streams.cli", "replay", *args]
    with log.open("wb") as out:
        return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=out)


def test_an_interrupted_replay_commits_nothing_and_the_next_run_resumes(
    own: Settings, api: httpx.Client, tmp_path: Path
) -> None:
    expected = _rows(own, SAMPLE)
    _empty(api, sorted(expected))
    group = _group()
    process = _replay_process(own, group, tmp_path / "replay.log")
    first = sorted(expected)[0]  # twins are written in thing id order
    deadline = time.monotonic() + WAIT
    try:
        while api.get(f"/things/{first}").status_code == 404:
            assert process.poll() is None, (tmp_path / "replay.log").read_text()
            assert time.monotonic() < deadline, "the replay wrote no twin"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert _committed(own, group) == {}

    resumed = replay(own, _options(start=Start(StartFrom.COMMITTED), group=group), print)

    assert resumed.ok, resumed.failures[:3]
    assert _written(resumed, "unchanged") >= 1
    assert _written(resumed, "created") + _written(resumed, "unchanged") == len(expected)
    _assert_all_twins(api, expected)
    assert _committed(own, group) == resumed.committed


# -- from a fresh snapshot -------------------------------------------------------------------


def test_from_snapshot_makes_every_twin(own: Settings, api: httpx.Client) -> None:
    expected = _rows(own, SAMPLE)
    _empty(api, sorted(expected))

    report = replay(own, _options(from_snapshot=True, snapshot_timeout=300.0), print)

    assert report.ok, report.failures[:3]
    assert _written(report, "created") == len(expected)
    _assert_all_twins(api, expected)
