"""`streams lag` on the real Kafka: own topic, own groups with known committed offsets."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from typer.testing import CliRunner

from streams.cli import app
from streams.config import Settings, get_settings
from streams.errors import ConfigError
from streams.kafka.admin import ensure_topics
from streams.kafka.topics import TopicSpec, cdc_topic, owned_topics
from streams.ops.lag import IDLE, Sampling, check
from streams.ops.lag_status import Status
from streams.ops.worker_process import WorkerProcess
from tests._own_worker import as_env, own_topics, start_at_the_end

pytestmark = pytest.mark.stack

RECORDS = 5
AGE_S = 300  # the records' own timestamps lie this far back


@dataclass(frozen=True)
class Topic:
    settings: Settings
    name: str


@pytest.fixture(scope="module")
def topic(cdc_stack: Settings) -> Topic:
    """Two partitions of five records each, stamped AGE_S seconds ago."""
    name = f"test.lag.{uuid.uuid4().hex[:8]}"
    ensure_topics(cdc_stack.kafka_bootstrap, [TopicSpec(name, 2)])
    producer = Producer({"bootstrap.servers": cdc_stack.kafka_bootstrap})
    stamp = int((time.time() - AGE_S) * 1000)
    for partition in (0, 1):
        for n in range(RECORDS):
            producer.produce(name, f"r{n}".encode(), partition=partition, timestamp=stamp)
    assert producer.flush(30) == 0
    return Topic(cdc_stack, name)


def _consumer(settings: Settings, group: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )


def _commit(consumer: Consumer, topic: str) -> None:
    """Partition 0 read up to offset 2 (3 records left), partition 1 read to its end."""
    offsets = [TopicPartition(topic, 0, 2), TopicPartition(topic, 1, RECORDS)]
    consumer.commit(offsets=offsets, asynchronous=False)


@pytest.fixture
def stopped_group(topic: Topic) -> str:
    """Committed offsets and no member: the group's consumer has gone."""
    group = f"test-lag-stopped-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(topic.settings, group)
    _commit(consumer, topic.name)
    consumer.close()
    return group


@pytest.fixture
def member_group(topic: Topic) -> Iterator[str]:
    """A live member that committed once and then reads no further."""
    group = f"test-lag-member-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(topic.settings, group)
    consumer.subscribe([topic.name])
    deadline = time.monotonic() + 60
    while not consumer.assignment():
        assert time.monotonic() < deadline, "the member got no partitions"
        consumer.poll(0.2)
    _commit(consumer, topic.name)
    yield group
    consumer.close()


def test_a_group_without_members_is_stopped_with_its_lag_and_age(
    topic: Topic, stopped_group: str
) -> None:
    [report] = check(topic.settings, [stopped_group], Sampling(samples=1))

    assert report.verdict.status is Status.STOPPED
    assert report.last.members == 0
    lags = {p.partition: (p.committed, p.end, p.lag) for p in report.last.partitions}
    assert lags == {0: (2, RECORDS, 3), 1: (RECORDS, RECORDS, 0)}
    [waiting] = [p for p in report.last.partitions if p.lag]
    assert waiting.lag_seconds is not None and waiting.lag_seconds >= AGE_S


def test_a_member_whose_offsets_stand_still_is_stalled(topic: Topic, member_group: str) -> None:
    [report] = check(topic.settings, [member_group], Sampling(samples=2, interval=0.2))

    assert report.last.members == 1
    assert report.verdict.status is Status.STALLED
    assert f"{topic.name}[0]" in report.verdict.reason


def test_the_command_prints_json_and_exits_1_when_a_group_is_not_ok(
    topic: Topic, stopped_group: str
) -> None:
    get_settings.cache_clear()
    args = ["lag", "--group", stopped_group, "--samples", "1", "--json"]

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 1, result.output
    [group] = json.loads(result.stdout)
    assert (group["group"], group["status"], group["lag"]) == (stopped_group, "STOPPED", 3)
    assert group["lag_seconds"] >= AGE_S


def test_an_unknown_group_is_named_with_the_fix(topic: Topic) -> None:
    with pytest.raises(ConfigError, match="streams lag --all"):
        check(topic.settings, [f"test-lag-none-{uuid.uuid4().hex}"], Sampling(samples=1))


@pytest.fixture
def idle_group(topic: Topic) -> str:
    """A member that joined, got partitions and left without committing: Kafka lists the
    group (EMPTY) with no committed offset."""
    group = f"test-lag-idle-{uuid.uuid4().hex[:8]}"
    consumer = _consumer(topic.settings, group)
    consumer.subscribe([topic.name])
    deadline = time.monotonic() + 60
    while not consumer.assignment():
        assert time.monotonic() < deadline, "the member got no partitions"
        consumer.poll(0.2)
    consumer.close()
    return group


def test_a_listed_group_without_offsets_is_reported_not_refused(
    topic: Topic, idle_group: str
) -> None:
    [report] = check(topic.settings, [idle_group], Sampling(samples=1), listed=True)

    assert report.verdict.status is Status.OK
    assert report.verdict.reason == IDLE
    assert (report.last.members, report.last.partitions) == (0, ())
    with pytest.raises(ConfigError, match="streams lag --all"):  # named: a typo
        check(topic.settings, [idle_group], Sampling(samples=1))


def test_lag_all_shows_a_group_that_left_without_committing(topic: Topic, idle_group: str) -> None:
    get_settings.cache_clear()

    result = CliRunner().invoke(app, ["lag", "--all", "--samples", "1", "--json"])

    assert result.exit_code in (0, 1), result.output  # other people's groups may lag
    [idle] = [g for g in json.loads(result.stdout) if g["group"] == idle_group]
    assert (idle["status"], idle["reason"], idle["lag"]) == ("OK", IDLE, 0)


# -- a real worker's group: lag rises while it is stopped, falls to 0 once it runs ---------


@dataclass(frozen=True)
class StoppedWorker:
    settings: Settings
    env: dict[str, str]
    logs: Path
    tenant: str


@pytest.fixture
def stopped_worker(cdc_stack: Settings, tmp_path: Path) -> Iterator[StoppedWorker]:
    """A worker group of its own, committed at the CDC topics' end, with no member yet."""
    run = uuid.uuid4().hex[:8]
    fields = own_topics("lag", run)
    settings = cdc_stack.model_copy(update=fields)
    ensure_topics(settings.kafka_bootstrap, owned_topics(settings))
    start_at_the_end(settings)
    env = {**as_env(fields), "STREAMS_WORKER_DATA_DIR": str(tmp_path / "data")}
    tenant = f"tlag{run}"
    try:
        yield StoppedWorker(settings, env, tmp_path, tenant)
    finally:
        with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM wells WHERE tenant = %s", (tenant,))


def _streams_lag(group: str, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "streams.cli", "lag", "--group", group, "--json", *args]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def _insert_wells(settings: Settings, tenant: str, codes: range) -> None:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        for n in codes:
            conn.execute(
                "INSERT INTO wells (tenant, well_code, name, status) VALUES (%s, %s, 'L', 'A')",
                (tenant, f"L-{n}"),
            )


def _lag_once(group: str) -> dict[str, Any]:
    """One sample of `streams lag --json`: its exit code and the group's report."""
    done = _streams_lag(group, "--samples", "1")
    [report] = json.loads(done.stdout)
    return {"exit": done.returncode, **report}


def _wells_lag(report: dict[str, Any], topic: str) -> int:
    return sum(p["lag"] for p in report["partitions"] if p["topic"] == topic)


def _wait_wells_lag(group: str, topic: str, at_least: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while _wells_lag(report := _lag_once(group), topic) < at_least:
        assert time.monotonic() < deadline, f"Debezium never delivered the rows: {report}"
        time.sleep(1)
    return report


def test_lag_rises_while_the_workers_are_stopped_and_falls_to_0_after_one_starts(
    stopped_worker: StoppedWorker,
) -> None:
    settings, group = stopped_worker.settings, stopped_worker.settings.consumer_group
    wells = cdc_topic(settings, "wells")
    before = _lag_once(group)
    assert (before["exit"], before["status"], before["lag"]) == (0, "OK", 0)

    _insert_wells(settings, stopped_worker.tenant, range(3))
    first = _wait_wells_lag(group, wells, 3)
    _insert_wells(settings, stopped_worker.tenant, range(3, 8))
    second = _wait_wells_lag(group, wells, 8)
    assert (first["exit"], first["status"], first["members"]) == (1, "STOPPED", 0)
    assert (second["exit"], second["status"]) == (1, "STOPPED")
    assert second["lag"] > first["lag"] >= 3

    worker = WorkerProcess(stopped_worker.logs / "worker.log", stopped_worker.env)
    worker.start()
    try:
        reports = _watch_until_ok(group)
    finally:
        worker.stop()
    assert reports[-1]["lag"] == 0 and reports[-1]["members"] == 1


def _watch_until_ok(group: str) -> list[dict[str, Any]]:
    """`streams lag --watch`, one report a second, read until the lag is 0; then the
    command is interrupted as a person would (Ctrl-C) and exits 0: its last report is OK."""
    argv = [sys.executable, "-m", "streams.cli", "lag", "--group", group, "--json", "--watch"]
    argv += ["--samples", "1", "--interval", "1"]
    reports: list[dict[str, Any]] = []
    deadline = time.monotonic() + 120
    with subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as watch:
        try:
            assert watch.stdout is not None
            for line in watch.stdout:
                [report] = json.loads(line)
                reports.append(report)
                if report["lag"] == 0 or time.monotonic() > deadline:
                    break
        finally:
            watch.send_signal(signal.SIGINT)
            code = watch.wait(30)
    assert reports and reports[-1]["status"] == "OK" and reports[-1]["lag"] == 0, reports[-3:]
    assert code == 0
    return reports
