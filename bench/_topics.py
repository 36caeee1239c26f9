"""Bench topics: created with broker timestamps, counted, read back, deleted afterwards."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from streams.kafka.admin import admin_client, ensure_topics
from streams.kafka.topics import TopicSpec

log = logging.getLogger(__name__)

# The broker stamps each record when it appends it: both contestants are timed by the
# same clock at the same point (in Kafka, acknowledged), whatever their client does.
APPEND_TIME = {"message.timestamp.type": "LogAppendTime"}
READY_TIMEOUT = 30.0


@dataclass
class Output:
    """What one contestant wrote: how many records, when the first and the last arrived."""

    count: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    keys: set[bytes] = field(default_factory=set)
    actions: Counter[str] = field(default_factory=Counter)

    @property
    def span_s(self) -> float:
        if self.first_ms is None or self.last_ms is None:
            return 0.0
        return (self.last_ms - self.first_ms) / 1000

    @property
    def events_per_s(self) -> float:
        """Records after the first, over the time from the first to the last."""
        span = self.span_s
        return (self.count - 1) / span if span > 0 else 0.0


def create(bootstrap: str, specs: Iterable[TopicSpec]) -> None:
    """Create the topics and wait until every partition has a leader that answers."""
    wanted = list(specs)
    ensure_topics(bootstrap, wanted)
    reader = offset_reader(bootstrap)
    deadline = time.monotonic() + READY_TIMEOUT
    try:
        for spec in wanted:
            while not _answers(reader, spec.name):
                if time.monotonic() > deadline:
                    raise SystemExit(f"topic {spec.name} has no leader: check the broker log")
                time.sleep(0.2)
    finally:
        reader.close()


def _answers(reader: Consumer, topic: str) -> bool:
    try:
        end_total(reader, topic)
    except KafkaException:
        return False  # a new topic's leaders are not known everywhere yet
    return True


def output_spec(name: str, partitions: int) -> TopicSpec:
    return TopicSpec(name, partitions, dict(APPEND_TIME))


def delete(bootstrap: str, names: Iterable[str], groups: Iterable[str] = ()) -> None:
    """Delete the bench's own topics and consumer groups; missing ones are fine."""
    admin = admin_client(bootstrap)
    wanted = sorted(set(names))
    if wanted:
        for name, future in admin.delete_topics(wanted, operation_timeout=30).items():
            _settle(future, f"topic {name}", KafkaError.UNKNOWN_TOPIC_OR_PART)
    if list(groups):
        for name, future in admin.delete_consumer_groups(list(groups)).items():
            _settle(future, f"group {name}", KafkaError.GROUP_ID_NOT_FOUND)


def _settle(future: Any, what: str, missing: int) -> None:
    try:
        future.result(30)
    except KafkaException as exc:
        if exc.args[0].code() != missing:
            log.warning("cleanup failed what=%s error=%s", what, exc)


def topics_with_prefix(bootstrap: str, prefix: str) -> list[str]:
    names = admin_client(bootstrap).list_topics(timeout=10).topics
    return sorted(name for name in names if name.startswith(prefix))


def end_total(consumer: Consumer, topic: str) -> int:
    """Sum of the end offsets: the records a topic holds (no compaction, no deletes)."""
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    return sum(
        consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in meta.partitions
    )


def offset_reader(bootstrap: str) -> Consumer:
    return Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench-offsets", "enable.auto.commit": False}
    )


def read_output(bootstrap: str, topic: str, *, ditto: bool) -> Output:
    """Read `topic` from the start to its end; with `ditto`, count the command actions."""
    consumer = offset_reader(bootstrap)
    out = Output()
    try:
        total = end_total(consumer, topic)
        meta = consumer.list_topics(topic, timeout=10).topics[topic]
        consumer.assign([TopicPartition(topic, p, 0) for p in meta.partitions])
        while out.count < total:
            batch = consumer.consume(1000, timeout=10)
            if not batch:
                raise SystemExit(f"reading {topic} stalled at {out.count}/{total} records")
            for raw in batch:
                if raw.error() is None:
                    _add(out, raw, ditto)
    finally:
        consumer.close()
    return out


def _add(out: Output, raw: Any, ditto: bool) -> None:
    _, stamp = raw.timestamp()
    out.count += 1
    out.first_ms = stamp if out.first_ms is None else min(out.first_ms, stamp)
    out.last_ms = stamp if out.last_ms is None else max(out.last_ms, stamp)
    out.keys.add(raw.key())
    if ditto:
        command = json.loads(raw.value())
        out.actions[str(command["topic"]).rsplit("/", 1)[-1]] += 1


__all__ = [
    "Output",
    "create",
    "delete",
    "end_total",
    "offset_reader",
    "output_spec",
    "read_output",
    "topics_with_prefix",
]
