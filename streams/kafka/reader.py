"""Read a topic from its start to its current end with confluent-kafka (tools, not agents)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from streams.errors import KafkaUnavailableError
from streams.kafka._quiet import QUIET


@dataclass(frozen=True, slots=True)
class TopicRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp_ms: int


def _consumer(bootstrap: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"streams-reader-{uuid.uuid4().hex}",  # never commits: any id will do
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            **QUIET,
        }
    )


def end_offsets(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (low, high) watermark; {} when the topic does not exist."""
    consumer = _consumer(bootstrap)
    try:
        meta = consumer.list_topics(topic, timeout=10).topics.get(topic)
        if meta is None or meta.error is not None:
            return {}
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            for p in meta.partitions
        }
    except KafkaException as exc:
        raise KafkaUnavailableError(f"Kafka at {bootstrap}: {exc}") from exc
    finally:
        consumer.close()


def read_to_end(bootstrap: str, topic: str, timeout: float = 120.0) -> Iterator[TopicRecord]:
    """Every record now in `topic`, partition by partition order preserved."""
    ends = {p: hi for p, (lo, hi) in end_offsets(bootstrap, topic).items() if hi > lo}
    if not ends:
        return
    consumer = _consumer(bootstrap)
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    todo, deadline = set(ends), time.monotonic() + timeout
    try:
        while todo:
            if time.monotonic() > deadline:
                raise KafkaUnavailableError(f"reading {topic} took over {timeout:.0f}s")
            for raw in consumer.consume(1000, timeout=0.5):
                if raw.error() is not None:
                    raise KafkaUnavailableError(f"reading {topic}: {raw.error()}")
                record = _record(raw)
                if record.offset + 1 >= ends[record.partition]:
                    todo.discard(record.partition)
                yield record
    finally:
        consumer.close()


def _record(raw: Message) -> TopicRecord:
    """A consumed message as plain values (a fetched message always has these fields)."""
    headers = raw.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return TopicRecord(
        topic=str(raw.topic()),
        partition=int(raw.partition() or 0),
        offset=int(raw.offset() or 0),
        key=_bytes(raw.key()),
        value=_bytes(raw.value()),
        headers=tuple((name, _bytes(value)) for name, value in pairs),
        timestamp_ms=raw.timestamp()[1],
    )


def _bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value
