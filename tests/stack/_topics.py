"""Read Debezium topics back with confluent-kafka, bounded by offsets, never by sleeps."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, TopicPartition


@dataclass(frozen=True)
class Event:
    topic: str
    partition: int
    offset: int
    key: Any
    value: Any  # None for a tombstone

    @property
    def payload(self) -> Any:
        return None if self.value is None else self.value["payload"]


def consumer(bootstrap: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "streams-tests-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )


def partitions(reader: Consumer, topic: str) -> list[int]:
    return sorted(reader.list_topics(topic, timeout=10).topics[topic].partitions)


def end_offsets(reader: Consumer, topic: str) -> dict[int, int]:
    return {
        p: reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in partitions(reader, topic)
    }


def _event(record: Any) -> Event:
    key, value = record.key(), record.value()
    return Event(
        record.topic(),
        record.partition(),
        record.offset(),
        None if key is None else json.loads(key),
        None if value is None else json.loads(value),
    )


def _is_foreign(record: Any) -> bool:
    """Not Debezium's JSON: e.g. the malformed record the dead-letter test injects."""
    try:
        for part in (record.key(), record.value()):
            if part is not None:
                json.loads(part)
    except ValueError:
        return True
    return False


def read_all(bootstrap: str, topic: str, timeout: float = 120.0) -> list[Event]:
    """Every record of `topic` up to its end offsets at the time of the call."""
    reader = consumer(bootstrap)
    try:
        ends = end_offsets(reader, topic)
        todo = {p for p, end in ends.items() if end > 0}
        reader.assign([TopicPartition(topic, p, 0) for p in todo])
        events: list[Event] = []
        deadline = time.monotonic() + timeout
        while todo:
            assert time.monotonic() < deadline, f"timed out reading {topic}"
            for record in reader.consume(1000, timeout=0.5):
                assert record.error() is None, record.error()
                if record.offset() + 1 >= ends[record.partition()]:
                    todo.discard(record.partition())
                if _is_foreign(record):
                    continue
                events.append(_event(record))
        return events
    finally:
        reader.close()


def read_from(
    reader: Consumer,
    topic: str,
    start: dict[int, int],
    until: Callable[[list[Event]], bool],
    timeout: float = 60.0,
) -> list[Event]:
    """Records of `topic` from offsets `start` on, until `until(events)` holds."""
    reader.assign([TopicPartition(topic, p, o) for p, o in start.items()])
    events: list[Event] = []
    deadline = time.monotonic() + timeout
    while not until(events):
        assert time.monotonic() < deadline, f"timed out on {topic}; got {events}"
        for record in reader.consume(100, timeout=1):
            assert record.error() is None, record.error()
            events.append(_event(record))
    return events
