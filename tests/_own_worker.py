"""A test worker's own consumer group and topics, so it never reads or writes the stack's.

A worker runs every agent, the way back included: with the stack's event or sink topic
it would replay them into Postgres, and with the stack's group it would take partitions
from any other worker.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from streams.config import Settings
from streams.kafka.lag import group_lag
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
