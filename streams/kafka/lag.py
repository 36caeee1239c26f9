"""Consumer-group lag in messages: committed offset against the log end, per partition."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams.errors import KafkaUnavailableError
from streams.kafka._quiet import QUIET


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here
    end: int

    @property
    def lag(self) -> int:
        return self.end - (self.committed or 0)


def group_lag(bootstrap: str, group: str, topics: Iterable[str]) -> list[PartitionLag]:
    """Lag of `group` on each partition of `topics` (the group need not be running)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            **QUIET,
        }
    )
    try:
        tps = []
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=10).topics[topic]
            tps += [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        committed = consumer.committed(tps, timeout=10)
        result = []
        for tp in committed:
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            offset = tp.offset if tp.offset >= 0 else None
            result.append(PartitionLag(tp.topic, tp.partition, offset, high))
        return result
    except KafkaException as exc:
        raise KafkaUnavailableError(f"lag of group {group} at {bootstrap}: {exc}") from exc
    finally:
        consumer.close()
