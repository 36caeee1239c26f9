"""The bench input: real Debezium change events of `wells`, re-keyed into a bench topic.

Why not insert N rows and bench on the connector's own topic: the CDC topics keep every
record forever, and each test worker reads them from the earliest offset, so N bench
rows (plus their deletes and tombstones at cleanup) would slow every later test run.
Instead the records the connector captured for the sample estate's snapshot are the
templates: each bench event is one of them, byte-for-byte the converter's envelope and
schema, with a distinct key (tenant `bench`, well code + `-B<n>`) and the source block of
a streaming insert (op c, its own LSN and transaction id), as Debezium writes it.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Producer, TopicPartition

from streams.cdc import CdcRecord
from streams.config import Settings
from streams.kafka.topics import cdc_topic

log = logging.getLogger(__name__)

TENANT = "bench"
# Far above any LSN of the local stack, so no bench event looks older than a real one.
FIRST_LSN = 1 << 40
FIRST_TX = 1 << 30
LSN_STEP = 64
READ_STALL = 30.0  # seconds without a record before a read gives up


@dataclass(frozen=True)
class Template:
    key: dict[str, Any]
    value: dict[str, Any]
    headers: list[tuple[str, bytes]]


def load_templates(settings: Settings) -> list[Template]:
    """The snapshot reads of `wells` the connector wrote, one per key."""
    topic = cdc_topic(settings, "wells")
    found: dict[str, Template] = {}
    for raw in _read_all(settings.kafka_bootstrap, topic):
        template = _template(raw)
        if template is not None:
            found.setdefault(json.dumps(template.key["payload"]), template)
    if not found:
        raise SystemExit(
            f"no snapshot reads of wells in {topic}: start the stack with "
            "`streams stack up` (it seeds the sample estate and waits for the snapshot)"
        )
    log.info("templates topic=%s count=%d", topic, len(found))
    return list(found.values())


def _template(raw: Any) -> Template | None:
    if raw.key() is None or raw.value() is None:
        return None
    try:
        key, value = json.loads(raw.key()), json.loads(raw.value())
        wanted = value["payload"]["op"] == "r" and value["payload"]["after"] is not None
    except (ValueError, KeyError, TypeError):
        return None  # the tests inject malformed records into this topic on purpose
    return Template(key, value, list(raw.headers() or [])) if wanted else None


def events(templates: list[Template], count: int) -> Iterator[tuple[bytes, bytes, list[Any]]]:
    """`count` streaming inserts of distinct wells: (key, value, headers) as Kafka bytes."""
    now_ms = int(time.time() * 1000)
    for n in range(count):
        template = templates[n % len(templates)]
        code = f"{template.key['payload']['well_code']}-B{n:06d}"
        key = {**template.key, "payload": {"tenant": TENANT, "well_code": code}}
        value = _insert(template.value, code, n, now_ms)
        yield compact(key), compact(value), template.headers


def _insert(envelope: dict[str, Any], code: str, n: int, now_ms: int) -> dict[str, Any]:
    after = {**envelope["payload"]["after"], "tenant": TENANT, "well_code": code}
    return streamed(envelope, after, "c", n, now_ms)


def streamed(
    envelope: dict[str, Any], after: dict[str, Any], op: str, n: int, now_ms: int
) -> dict[str, Any]:
    """`envelope` as the streaming change number `n` (op c or u, its own LSN and tx)."""
    payload = envelope["payload"]
    lsn = FIRST_LSN + n * LSN_STEP
    source = {
        **payload["source"],
        "snapshot": None,
        "sequence": json.dumps([str(lsn - LSN_STEP), str(lsn)], separators=(",", ":")),
        "lsn": lsn,
        "txId": FIRST_TX + n,
        "ts_ms": now_ms,
        "ts_us": now_ms * 1000,
        "ts_ns": now_ms * 1_000_000,
    }
    timing = {"ts_ms": now_ms, "ts_us": now_ms * 1000, "ts_ns": now_ms * 1_000_000}
    body = {**payload, "before": None, "after": after, "source": source, "op": op, **timing}
    return {**envelope, "payload": body}


def compact(document: dict[str, Any]) -> bytes:
    # The JsonConverter writes compact UTF-8 JSON; so do we.
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def publish(settings: Settings, topic: str, templates: list[Template], count: int) -> None:
    """Write the bench events to `topic`, partitioned by key as Kafka Connect does."""
    write_records(settings, topic, events(templates, count))


def write_records(
    settings: Settings, topic: str, records: Iterable[tuple[bytes, bytes, list[Any]]]
) -> None:
    """(key, value, headers) into `topic`, partitioned by key as Kafka Connect does."""
    # murmur2 is the Java client's partitioner, so each key lands where Connect puts it.
    producer = Producer(
        {
            "bootstrap.servers": settings.kafka_bootstrap,
            "partitioner": "murmur2_random",
            "linger.ms": 20,
        }
    )
    for key, value, headers in records:
        _produce(producer, topic, key, value, headers)
    left = producer.flush(60)
    if left:
        raise SystemExit(f"{left} bench records not acknowledged by Kafka: check the broker log")


def _produce(producer: Producer, topic: str, key: bytes, value: bytes, headers: Any) -> None:
    while True:
        try:
            producer.produce(topic, key=key, value=value, headers=headers)
            producer.poll(0)
            return
        except BufferError:  # local queue full: let deliveries drain, then retry
            producer.poll(0.1)


def read_records(bootstrap: str, topic: str) -> list[CdcRecord]:
    """Every record of `topic` as the agent sees it (for the in-process profile)."""
    return [
        CdcRecord(
            key=raw.key(),
            value=raw.value(),
            topic=raw.topic(),
            partition=raw.partition(),
            offset=raw.offset(),
            headers=tuple(raw.headers() or ()),
        )
        for raw in _read_all(bootstrap, topic)
    ]


def _read_all(bootstrap: str, topic: str) -> Iterator[Any]:
    """Every record from the earliest to the current end offset of each partition."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "bench-reader", "enable.auto.commit": False}
    )
    try:
        ends = _end_offsets(consumer, topic)
        left = {p: end for p, end in ends.items() if end > 0}
        consumer.assign([TopicPartition(topic, p, 0) for p in left])
        deadline = time.monotonic() + READ_STALL
        while left:
            if time.monotonic() > deadline:
                raise SystemExit(f"reading {topic} stalled with partitions {sorted(left)} left")
            for raw in consumer.consume(1000, timeout=1):
                deadline = time.monotonic() + READ_STALL
                yield _checked(raw, topic)
                _reached(left, raw)
    finally:
        consumer.close()


def _checked(raw: Any, topic: str) -> Any:
    if raw.error() is not None:
        raise SystemExit(f"reading {topic}: {raw.error()}")
    return raw


def _reached(left: dict[int, int], raw: Any) -> None:
    """Drop a partition from `left` once its end offset (taken at the start) is read."""
    if raw.offset() + 1 >= left.get(raw.partition(), 0):
        left.pop(raw.partition(), None)


def _end_offsets(consumer: Consumer, topic: str) -> dict[int, int]:
    meta = consumer.list_topics(topic, timeout=10).topics[topic]
    if meta.error is not None:
        raise SystemExit(f"topic {topic}: {meta.error}")
    return {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in meta.partitions
    }


__all__ = [
    "TENANT",
    "Template",
    "compact",
    "events",
    "load_templates",
    "publish",
    "read_records",
    "streamed",
    "write_records",
]
