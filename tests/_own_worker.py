"""A test worker's own consumer group and topics, so it never reads or writes the stack's.

A worker runs every agent, the way back included: with the stack's event or sink topic
it would replay them into Postgres, and with the stack's group it would take partitions
from any other worker.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from confluent_kafka import Consumer, TopicPartition

from streams.config import Settings
from streams.kafka.lag import group_lag
from streams.kafka.reader import end_offsets
from streams.kafka.topics import cdc_topic


def own_topics(kind: str, run: str) -> dict[str, str]:
    """Settings field -> value: a group and every topic a worker reads or writes."""
    return {
        "consumer_group": f"test-{kind}-{run}",
        "command_topic": f"test.commands.{run}",
        "reply_topic": f"test.replies.{run}",
        "event_topic": f"test.events.{run}",
        "sink_topic": f"test.sink.{run}",
        "dead_letter_topic": f"test.dead-letters.{run}",
        # Its own phase too: a `streams phase set` on the stack must not steer a test.
        "phase_topic": f"test.phase.{run}",
    }


def as_env(fields: Mapping[str, str]) -> dict[str, str]:
    """The same settings as the STREAMS_* variables a worker process reads."""
    return {f"STREAMS_{name.upper()}": value for name, value in fields.items()}


def wait_caught_up(settings: Settings, timeout: float = 600.0) -> None:
    """Wait until the group has read the CDC history, so tests time only their own rows."""
    topics = [cdc_topic(settings, table) for table in ("basins", "wells")]
    deadline = time.monotonic() + timeout
    while any(
        p.lag > 0 for p in group_lag(settings.kafka_bootstrap, settings.consumer_group, topics)
    ):
        assert time.monotonic() < deadline, "worker did not catch up with the CDC topics"
        time.sleep(1)


def start_at_the_end(settings: Settings) -> None:
    """Commit the group at the CDC topics' present end, before any worker of it starts:
    it then reads only the rows a test writes, not the whole history."""
    offsets = [
        TopicPartition(topic, partition, end)
        for topic in (cdc_topic(settings, t) for t in ("basins", "wells"))
        for partition, (_, end) in end_offsets(settings.kafka_bootstrap, topic).items()
    ]
    consumer = Consumer(
        {"bootstrap.servers": settings.kafka_bootstrap, "group.id": settings.consumer_group}
    )
    try:
        consumer.commit(offsets=offsets, asynchronous=False)
    finally:
        consumer.close()
