"""Read our own topics back with confluent-kafka, until a condition holds or time runs out."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str | None
    value: bytes | None
    headers: dict[str, str]

    @property
    def json(self) -> Any:
        return None if self.value is None else json.loads(self.value)


def _record(raw: Any) -> Record:
    key = raw.key()
    headers = {k: (v or b"").decode(errors="replace") for k, v in (raw.headers() or [])}
    return Record(
        raw.topic(),
        raw.partition(),
        raw.offset(),
        None if key is None else key.decode(),
        raw.value(),
        headers,
    )


def collect(
    bootstrap: str,
    topic: str,
    until: Callable[[list[Record]], bool],
    timeout: float = 90.0,
    settle: float = 0.0,
) -> list[Record]:
    """Every record of `topic` from the start, until `until(records)` holds.

    With `settle`, keep reading that many seconds more after the condition holds, so a
    test can assert that nothing *extra* arrived.
    """
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"t-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    reader.subscribe([topic])
    records: list[Record] = []
    deadline = time.monotonic() + timeout
    settled_at: float | None = None
    try:
        while True:
            for raw in reader.consume(500, timeout=0.5):
                if raw.error() and raw.error().code() == KafkaError._PARTITION_EOF:
                    continue
                assert raw.error() is None, raw.error()
                records.append(_record(raw))
            if settled_at is None and until(records):
                settled_at = time.monotonic()
            if settled_at is not None and time.monotonic() - settled_at >= settle:
                return records
            assert time.monotonic() < deadline, f"timed out on {topic}: {len(records)} records"
    finally:
        reader.close()


def end_offset_total(bootstrap: str, topic: str) -> int:
    reader = Consumer({"bootstrap.servers": bootstrap, "group.id": "t-offsets"})
    try:
        meta = reader.list_topics(topic, timeout=10).topics[topic]
        return sum(
            reader.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in meta.partitions
        )
    finally:
        reader.close()
