"""The Kafka admin edge: confluent-kafka's AdminClient, its errors translated here."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic

from streams.errors import ConfigError, KafkaUnavailableError
from streams.kafka._quiet import QUIET
from streams.kafka.topics import TopicSpec

log = logging.getLogger(__name__)


def admin_client(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": 10000, **QUIET})


def ensure_topics(bootstrap: str, specs: Iterable[TopicSpec], timeout: float = 30.0) -> list[str]:
    """Create the topics that do not exist yet; returns the names created now."""
    admin = admin_client(bootstrap)
    try:
        existing = set(admin.list_topics(timeout=timeout).topics)
    except KafkaException as exc:
        raise KafkaUnavailableError(
            f"Kafka at {bootstrap} did not answer: start it with `streams stack up`"
        ) from exc
    wanted = [s for s in specs if s.name not in existing]
    if not wanted:
        return []
    futures = admin.create_topics(
        [NewTopic(s.name, s.partitions, 1, config=s.config) for s in wanted]
    )
    created = []
    for name, future in futures.items():
        try:
            future.result(timeout)
            created.append(name)
        except KafkaException as exc:
            if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                raise KafkaUnavailableError(f"cannot create topic {name}: {exc}") from exc
    log.info("created topics=%s", ",".join(created))
    return created


def source_partitions(bootstrap: str, topics: Iterable[str]) -> int:
    """The one partition count shared by `topics`, which a Faust table over them needs."""
    admin = admin_client(bootstrap)
    try:
        meta = admin.list_topics(timeout=30).topics
    except KafkaException as exc:
        raise KafkaUnavailableError(f"Kafka at {bootstrap} did not answer: {exc}") from exc
    counts: dict[str, int] = {}
    for topic in topics:
        if topic not in meta or meta[topic].error is not None:
            raise ConfigError(
                f"topic {topic} does not exist: is the Debezium connector running and its "
                "table in table.include.list? (`streams stack status`)"
            )
        counts[topic] = len(meta[topic].partitions)
    if len(set(counts.values())) != 1:
        raise ConfigError(
            f"source topics differ in partition count {counts}: give them one count "
            "(kafka-topics --alter --partitions) before the worker starts"
        )
    return next(iter(counts.values()))
