"""Has a Debezium connector's initial snapshot reached Kafka?

Debezium exposes no REST flag for it, so two facts from Kafka itself decide:

1. The connector's committed source offset (Connect's GET .../offsets). While a
   snapshot runs it carries a `snapshot` key; once streaming has committed an offset
   the key is gone. A warm stack answers here at once.
2. Right after the snapshot the committed offset may still carry the key (the next
   commit follows the next record, a heartbeat at the latest). Then the snapshot is
   done when its final record, the one marked `source.snapshot = "last"`, is in a
   topic with the offset's LSN: every record of one snapshot carries the same LSN, so
   a `last` marker of an earlier snapshot into the same topics does not count.
3. With no committed offset at all (a fresh connector, before Connect's first offset
   flush) any `last` marker in its topics is its own snapshot's.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, Literal

from confluent_kafka import Consumer, KafkaException, Message, TopicPartition

from streams.errors import StackError
from streams.stack import _connect_rest as rest

log = logging.getLogger(__name__)

_LAST_MARK = b'"snapshot":"last"'


class SnapshotWatch:
    """Tells when the initial snapshot of connector `name` (topic prefix `prefix`) is done.

    It keeps one consumer across calls and reads each topic only once, so polling it
    while a large snapshot runs costs no more than reading the snapshot once.
    """

    def __init__(
        self,
        connect_url: str,
        bootstrap: str,
        name: str,
        prefix: str,
        last_lsn: LastLsn | None = None,
    ) -> None:
        self._last_lsn = last_lsn or json_last_lsn
        self._url = connect_url
        self._name = name
        self._prefix = prefix
        self._assigned: set[tuple[str, int]] = set()
        self._last_lsns: set[int | None] = set()
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"streams-stack-snapshot-{name}",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "log_level": 0,
            }
        )

    def done(self) -> bool:
        offset = self._committed_offset()
        if offset is None:
            # Nothing committed yet (Connect flushes offsets once a minute): a fresh
            # connector's only snapshot is done once its `last` record is in Kafka.
            self._read_new_records()
            return bool(self._last_lsns)
        if "snapshot" not in offset or offset.get("snapshot_completed") is True:
            return True
        lsn = offset.get("lsn")
        self._read_new_records()
        return lsn in self._last_lsns or (lsn is None and bool(self._last_lsns))

    def close(self) -> None:
        self._consumer.close()

    def _committed_offset(self) -> dict[str, Any] | None:
        for entry in rest.offsets(self._url, self._name):
            if entry["partition"].get("server") == self._prefix:
                return dict(entry["offset"])
        return None

    def _read_new_records(self) -> None:
        try:
            self._assign_new_partitions()
            if not self._assigned:
                return
            while batch := self._consumer.consume(1000, timeout=0.5):
                for record in batch:
                    if record.error() is None and (lsn := self._last_lsn(record)) is not False:
                        self._last_lsns.add(lsn)
        except KafkaException as exc:
            raise StackError(f"cannot read the snapshot topics of {self._name}: {exc}") from exc

    def _assign_new_partitions(self) -> None:
        topics = self._consumer.list_topics(timeout=10).topics
        new = [
            TopicPartition(topic, partition, 0)
            for topic, meta in topics.items()
            if topic.startswith(f"{self._prefix}.")
            for partition in meta.partitions
            if (topic, partition) not in self._assigned
        ]
        if new:
            self._consumer.incremental_assign(new)
            self._assigned.update((tp.topic, tp.partition) for tp in new)


# A record -> the LSN of the snapshot it ends (None when it has none), or False when it
# is not the `last` record of a snapshot. The JSON connector's is below; the Avro one's
# decodes with the registry (streams.stack.avro).
LastLsn = Callable[[Message], int | Literal[False] | None]


def json_last_lsn(record: Message) -> int | Literal[False] | None:
    value = record.value()
    if not value or _LAST_MARK not in value:
        return False
    lsn = _source(value).get("lsn")
    return None if lsn is None else int(lsn)


def _source(value: bytes) -> dict[str, Any]:
    """The `source` block of a Debezium event, with or without the JSON schema envelope."""
    doc = json.loads(value)
    payload = doc["payload"] if "schema" in doc and "payload" in doc else doc
    source: dict[str, Any] = payload.get("source") or {}
    return source


__all__ = ["LastLsn", "SnapshotWatch", "json_last_lsn"]
