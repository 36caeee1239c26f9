"""The CDC topics read for a replay: bounded ranges in a consumer group of its own.

The consumer is assigned partitions (never subscribed), so the group has no members to
rebalance and its committed offsets move only when `commit` is called: after the replay
has every twin answered. confluent-kafka's errors are translated here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from typing import TypeVar

from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from streams.errors import ConfigError, KafkaUnavailableError
from streams.kafka._quiet import QUIET
from streams.kafka.reader import TopicRecord, _record

Tp = tuple[str, int]
T = TypeVar("T")
TIMEOUT = 10.0


class StartFrom(StrEnum):
    EARLIEST = "earliest"
    COMMITTED = "committed"
    OFFSET = "offset"
    TIME = "time"


@dataclass(frozen=True, slots=True)
class Start:
    """Where a replay starts in every partition; `value` is the offset or epoch ms."""

    kind: StartFrom
    value: int = 0


class ReplaySource:
    """One consumer of `group` over `topics`, assigned by hand."""

    def __init__(self, bootstrap: str, group: str, topics: Iterable[str]) -> None:
        self._bootstrap = bootstrap
        self.topics = sorted(topics)
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "enable.partition.eof": True,
                **QUIET,
            }
        )

    def close(self) -> None:
        self._consumer.close()

    def partitions(self) -> list[Tp]:
        found: list[Tp] = []
        for topic in self.topics:
            meta = self._call(partial(self._consumer.list_topics, topic, timeout=TIMEOUT))
            info = meta.topics.get(topic)
            if info is None or info.error is not None or not info.partitions:
                raise ConfigError(
                    f"topic {topic} does not exist: is the Debezium connector running and its "
                    "table in table.include.list? (`streams stack status`)"
                )
            found += [(topic, p) for p in sorted(info.partitions)]
        return found

    def watermarks(self) -> dict[Tp, tuple[int, int]]:
        """(low, high) of every partition of the topics."""
        return {
            tp: self._call(
                partial(self._consumer.get_watermark_offsets, TopicPartition(*tp), timeout=TIMEOUT)
            )
            for tp in self.partitions()
        }

    def starts(self, start: Start, marks: Mapping[Tp, tuple[int, int]]) -> dict[Tp, int]:
        """The first offset to read per partition, inside [low, high]."""
        if start.kind is StartFrom.EARLIEST:
            wanted = {tp: low for tp, (low, _) in marks.items()}
        elif start.kind is StartFrom.OFFSET:
            wanted = {tp: start.value for tp in marks}
        elif start.kind is StartFrom.COMMITTED:
            # Resume: the group's committed offsets, the earliest where it has none.
            done = self._committed(list(marks))
            wanted = {tp: done.get(tp, low) for tp, (low, _) in marks.items()}
        else:
            wanted = self._at_time(start.value, marks)
        return {tp: min(max(wanted[tp], low), high) for tp, (low, high) in marks.items()}

    def read(self, starts: Mapping[Tp, int], ends: Mapping[Tp, int]) -> Iterator[TopicRecord]:
        """Every record from `starts` up to (not including) `ends`, per partition in order."""
        todo = {tp: end for tp, end in ends.items() if end > starts.get(tp, end)}
        if not todo:
            return
        self._consumer.assign([TopicPartition(*tp, starts[tp]) for tp in todo])
        try:
            while todo:
                for raw in self._call(lambda: self._consumer.consume(1000, timeout=1.0)):
                    tp = (str(raw.topic()), int(raw.partition() or 0))
                    if _at_end(raw):
                        # Compaction or deleted records can leave no record at end - 1.
                        todo.pop(tp, None)
                        continue
                    record = _record(raw)
                    end = todo.get(tp)
                    if end is None or record.offset >= end:
                        todo.pop(tp, None)
                        continue  # past the bound: the next run reads it
                    if record.offset + 1 >= end:
                        del todo[tp]
                    yield record
        finally:
            self._consumer.unassign()

    def commit(self, offsets: Mapping[Tp, int]) -> None:
        """Commit `offsets` (the next offset to read) for the group, synchronously."""
        if not offsets:
            return
        positions = [TopicPartition(*tp, offset) for tp, offset in offsets.items()]
        self._call(lambda: self._consumer.commit(offsets=positions, asynchronous=False))

    def committed(self) -> dict[Tp, int]:
        """The group's committed offsets; partitions without one are left out."""
        return self._committed(self.partitions())

    def _committed(self, tps: list[Tp]) -> dict[Tp, int]:
        asked = [TopicPartition(*tp) for tp in tps]
        got = self._call(lambda: self._consumer.committed(asked, timeout=TIMEOUT))
        return {
            (tp.topic, tp.partition): tp.offset
            for tp in got
            if tp.offset != OFFSET_INVALID and tp.offset >= 0
        }

    def _at_time(self, epoch_ms: int, marks: Mapping[Tp, tuple[int, int]]) -> dict[Tp, int]:
        asked = [TopicPartition(*tp, epoch_ms) for tp in marks]
        got = self._call(lambda: self._consumer.offsets_for_times(asked, timeout=TIMEOUT))
        # -1: no record at or after that time, so nothing of this partition is replayed.
        found = {(tp.topic, tp.partition): tp.offset for tp in got}
        return {
            tp: found.get(tp, -1) if found.get(tp, -1) >= 0 else high
            for tp, (_, high) in marks.items()
        }

    def _call(self, action: Callable[[], T]) -> T:
        try:
            return action()
        except KafkaException as exc:
            raise KafkaUnavailableError(
                f"Kafka at {self._bootstrap} failed ({exc}): `streams stack status`, or point "
                "STREAMS_KAFKA_BOOTSTRAP at the cluster"
            ) from exc


def _at_end(raw: Message) -> bool:
    """True for the end-of-partition event; raises for any other error event."""
    error = raw.error()
    if error is None:
        return False
    if error.code() == KafkaError._PARTITION_EOF:
        return True
    raise KafkaUnavailableError(f"reading the CDC topics: {error}")


class DeadLetterProducer:
    """Dead letters of a tool run, flushed before the run reports."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **QUIET})
        self._errors: list[str] = []
        self.sent = 0

    def send(
        self, key: bytes | None, value: bytes | None, headers: list[tuple[str, str | bytes | None]]
    ) -> None:
        try:
            self._producer.produce(
                self._topic, value=value, key=key, headers=headers, on_delivery=self._delivered
            )
        except (KafkaException, BufferError) as exc:
            raise KafkaUnavailableError(f"dead letter to {self._topic}: {exc}") from exc
        self._producer.poll(0)
        self.sent += 1

    def flush(self, timeout: float = 30.0) -> None:
        """Wait until every dead letter is in Kafka; raise when one is not."""
        deadline = time.monotonic() + timeout
        while self._producer.flush(1.0) > 0:
            if time.monotonic() > deadline:
                raise KafkaUnavailableError(
                    f"dead letters not delivered to {self._topic} at {self._bootstrap} "
                    f"within {timeout:.0f}s: `streams stack status`"
                )
        if self._errors:
            raise KafkaUnavailableError(
                f"{len(self._errors)} dead letter(s) refused by {self._topic}: {self._errors[0]}"
            )

    def _delivered(self, error: object, _message: object) -> None:
        if error is not None:
            self._errors.append(str(error))


__all__ = ["DeadLetterProducer", "ReplaySource", "Start", "StartFrom", "Tp"]
