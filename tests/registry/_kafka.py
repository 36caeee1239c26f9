"""Raw records of a topic (Avro bytes stay bytes), read until a condition holds."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError

from streams.cdc import CdcRecord


def as_record(raw: Any) -> CdcRecord:
    return CdcRecord(
        key=raw.key(),
        value=raw.value(),
        topic=str(raw.topic()),
        partition=int(raw.partition()),
        offset=int(raw.offset()),
        headers=tuple(raw.headers() or ()),
    )


def read_records(
    bootstrap: str,
    topic: str,
    until: Callable[[list[CdcRecord]], bool],
    timeout: float = 120.0,
) -> list[CdcRecord]:
    """Every record of `topic` from the start, until `until(records)` holds."""
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"t-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    reader.subscribe([topic])
    records: list[CdcRecord] = []
    deadline = time.monotonic() + timeout
    try:
        while not until(records):
            assert time.monotonic() < deadline, f"{topic}: condition not met in {timeout}s"
            for raw in reader.consume(500, timeout=1.0):
                error = raw.error()
                if error is not None:
                    # A topic not created yet (Connect creates it with its first record).
                    waits = (KafkaError._PARTITION_EOF, KafkaError.UNKNOWN_TOPIC_OR_PART)
                    assert error.code() in waits, error
                    continue
                records.append(as_record(raw))
    finally:
        reader.close()
    return records
