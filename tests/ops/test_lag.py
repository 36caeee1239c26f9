"""`streams lag` on the real Kafka: own topic, own groups with known committed offsets."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from typer.testing import CliRunner

from streams.cli import app
from streams.config import Settings, get_settings
from streams.errors import ConfigError
from streams.kafka.admin import ensure_topics
from streams.kafka.topics import TopicSpec
from streams.ops.lag import Sampling, check
from streams.ops.lag_status import Status

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
