"""Consumer groups through the AdminClient: list, describe, committed and log offsets, and
the timestamp of the first unconsumed record. confluent-kafka's errors stop here."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient

from streams.errors import KafkaUnavailableError
from streams.kafka._quiet import QUIET

log = logging.getLogger(__name__)

TIMEOUT_S = 10.0
Tp = tuple[str, int]


def _unavailable(bootstrap: str, what: str, exc: BaseException) -> KafkaUnavailableError:
    return KafkaUnavailableError(
        f"{what}: Kafka at {bootstrap} did not answer ({exc}): start it with "
        "`streams stack up`, or point STREAMS_KAFKA_BOOTSTRAP at it"
    )


def _result(future: Future[Any], bootstrap: str, what: str) -> Any:
    try:
        return future.result(TIMEOUT_S + 5)
    except (KafkaException, TimeoutError) as exc:
        raise _unavailable(bootstrap, what, exc) from exc


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000, **QUIET})


def list_groups(client: AdminClient, bootstrap: str) -> list[str]:
    future = client.list_consumer_groups(request_timeout=TIMEOUT_S)
    listing = _result(future, bootstrap, "listing the consumer groups")
    if listing.errors:  # a broker that did not answer: never report "no groups, all OK"
        raise _unavailable(bootstrap, "listing the consumer groups", listing.errors[0])
    return sorted(g.group_id for g in listing.valid)


@dataclass(frozen=True, slots=True)
class Membership:
    state: str  # Kafka's name: STABLE, EMPTY, PREPARING_REBALANCING, DEAD ...
    members: int
    assigned: frozenset[Tp]


def describe(client: AdminClient, bootstrap: str, group: str) -> Membership:
    future = client.describe_consumer_groups([group], request_timeout=TIMEOUT_S)[group]
    found = _result(future, bootstrap, f"describing group {group}")
    assigned = frozenset(
        (tp.topic, tp.partition)
        for member in found.members
        if member.assignment is not None
        for tp in member.assignment.topic_partitions
    )
    return Membership(found.state.name, len(found.members), assigned)


def committed(
    client: AdminClient, bootstrap: str, group: str, tps: Iterable[Tp] | None = None
) -> dict[Tp, int | None]:
    """The group's committed offset per partition (all it has committed when tps is None)."""
    wanted = None if tps is None else [TopicPartition(t, p) for t, p in tps]
    request = [ConsumerGroupTopicPartitions(group, wanted)]
    future = client.list_consumer_group_offsets(request, request_timeout=TIMEOUT_S)[group]
    found = _result(future, bootstrap, f"committed offsets of group {group}")
    return {
        (tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
        for tp in found.topic_partitions
    }


def watermarks(bootstrap: str, tps: Iterable[Tp]) -> dict[Tp, tuple[int, int]]:
    """(start, end) offsets per partition; a partition of a deleted topic is left out."""
    consumer = _reader(bootstrap)
    found = {}
    try:
        for topic, partition in tps:
            try:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), timeout=TIMEOUT_S
                )
            except KafkaException as exc:
                if exc.args[0].code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise
                log.debug("topic gone tp=%s[%d]", topic, partition)
                continue
            found[(topic, partition)] = (low, high)
        return found
    except KafkaException as exc:
        raise _unavailable(bootstrap, "reading the log offsets", exc) from exc
    finally:
        consumer.close()


def _reader(bootstrap: str) -> Consumer:
    return Consumer(
        {
            # Reads by assignment and never commits: no member of any real group.
            "bootstrap.servers": bootstrap,
            "group.id": f"streams-lag-{uuid.uuid4().hex}",
            "enable.auto.commit": False,
            **QUIET,
        }
    )


def first_timestamps(
    bootstrap: str, positions: dict[Tp, int], timeout: float = 5.0
) -> dict[Tp, int]:
    """Timestamp (ms) of the first record at or after each position. A partition whose
    next records are all transaction markers answers nothing within `timeout`."""
    if not positions:
        return {}
    consumer = _reader(bootstrap)
    try:
        consumer.assign([TopicPartition(t, p, o) for (t, p), o in positions.items()])
        return _first_records(consumer, set(positions), timeout)
    except KafkaException as exc:
        raise _unavailable(bootstrap, "reading record timestamps", exc) from exc
    finally:
        consumer.close()


def _first_records(consumer: Consumer, todo: set[Tp], timeout: float) -> dict[Tp, int]:
    found: dict[Tp, int] = {}
    deadline = time.monotonic() + timeout
    while todo and time.monotonic() < deadline:
        for raw in consumer.consume(len(todo), timeout=0.5):
            if raw.error() is not None:
                raise KafkaException(raw.error())
            tp = (str(raw.topic()), int(raw.partition() or 0))
            if tp in todo:
                found[tp] = raw.timestamp()[1]
                todo.discard(tp)
                consumer.pause([TopicPartition(*tp)])
    return found
