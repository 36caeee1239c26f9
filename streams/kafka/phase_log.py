"""The phase topic: write a phase record, read the one in force, follow it in a worker.

Every worker must obey every phase record, so none reads the topic in a consumer group
(a group would hand the one partition to one member): each assigns the partition itself
and reads it from the beginning, and never commits.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)

from streams.errors import KafkaUnavailableError, PhaseError
from streams.kafka._quiet import QUIET
from streams.kafka.reader import read_to_end
from streams.state.phase import RECORD_KEY, Phase, PhaseRecord, Timeline

log = logging.getLogger(__name__)

# What a topic created a moment ago answers until its partition has a leader.
_NO_LEADER_YET = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_PARTITION,
}

OnChange = Callable[[PhaseRecord | None, PhaseRecord], None]


def write_phase(bootstrap: str, topic: str, record: PhaseRecord, timeout: float = 30.0) -> None:
    """Append `record` and wait until every in-sync replica has it."""
    errors: list[str] = []

    def delivered(err: object, _msg: object) -> None:
        if err is not None:
            errors.append(str(err))

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", **QUIET})
    try:
        producer.produce(topic, key=RECORD_KEY, value=record.to_json(), on_delivery=delivered)
        left = producer.flush(timeout)
    except KafkaException as exc:
        raise KafkaUnavailableError(f"Kafka at {bootstrap} refused the phase: {exc}") from exc
    if left or errors:
        raise KafkaUnavailableError(
            f"the phase record did not reach {topic} at {bootstrap} "
            f"({'; '.join(errors) or 'timed out'}): is Kafka up? (`streams stack status`)"
        )


# Compaction would let a tombstone erase the last phase record, and workers would fall
# back to the default phase: say so where it is read.
_TOMBSTONE = (
    "phase tombstone ignored origin=%s[0]@%d: once compacted it erases the phase record "
    "before it; set the phase again with `streams phase set`"
)


def read_phase(bootstrap: str, topic: str) -> PhaseRecord | None:
    """The record in force: the last readable one (None when the topic is empty)."""
    last = None
    try:
        for raw in read_to_end(bootstrap, topic):
            if raw.key != RECORD_KEY:
                continue
            if raw.value is None:
                log.warning(_TOMBSTONE, topic, raw.offset)
                continue
            try:
                last = PhaseRecord.from_json(raw.value)
            except PhaseError as exc:
                log.warning("phase record ignored origin=%s[0]@%d: %s", topic, raw.offset, exc)
    except KafkaUnavailableError as exc:
        raise KafkaUnavailableError(
            f"cannot read the phase topic {topic}: {exc}; start Kafka with `streams stack up`"
            " or point STREAMS_KAFKA_BOOTSTRAP at it"
        ) from exc
    return last


class PhaseFollower:
    """Keeps the phase in force, read by a thread that follows the topic to its end.

    `start` returns once the thread has read every record the topic held at start, so a
    worker knows its phase before its agents process their first record.
    """

    def __init__(self, bootstrap: str, topic: str, on_change: OnChange) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._on_change = on_change
        # Replaced whole on each record: the agents read it from another thread.
        self._timeline = Timeline()
        self._caught_up = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._end = 0

    @property
    def phase(self) -> Phase:
        return self._timeline.now()

    @property
    def timeline(self) -> Timeline:
        return self._timeline

    @property
    def record(self) -> PhaseRecord | None:
        records = self._timeline.records
        return records[-1] if records else None

    def start(self, timeout: float = 30.0) -> None:
        consumer = self._consumer()
        try:
            low, self._end = self._watermarks(consumer, time.monotonic() + timeout)
        except KafkaException as exc:
            consumer.close()
            raise KafkaUnavailableError(
                f"cannot read the phase topic {self._topic} at {self._bootstrap}: {exc}; "
                "start Kafka with `streams stack up`"
            ) from exc
        if self._end <= low:
            self._caught_up.set()
        self._thread = threading.Thread(
            target=self._run, args=(consumer,), name="phase-follower", daemon=True
        )
        self._thread.start()
        if not self._caught_up.wait(timeout):
            self.stop()
            raise KafkaUnavailableError(
                f"read the phase topic {self._topic} for {timeout:.0f}s without reaching its "
                f"end (offset {self._end}): is Kafka up? (`streams stack status`)"
            )

    def _watermarks(self, consumer: Consumer, deadline: float) -> tuple[int, int]:
        """The partition's low and high offsets; a topic created a moment ago may have no
        leader yet, which Kafka reports as a retriable error."""
        while True:
            try:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(self._topic, 0), timeout=10
                )
                return int(low), int(high)
            except KafkaException as exc:
                error = exc.args[0]
                waiting = error.retriable() or error.code() in _NO_LEADER_YET
                if not waiting or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(10)

    def _consumer(self) -> Consumer:
        return Consumer(
            {
                "bootstrap.servers": self._bootstrap,
                "group.id": f"streams-phase-{uuid.uuid4().hex}",  # assigned, never joined
                "enable.auto.commit": False,
                **QUIET,
            }
        )

    def _run(self, consumer: Consumer) -> None:
        consumer.assign([TopicPartition(self._topic, 0, OFFSET_BEGINNING)])
        try:
            while not self._stop.is_set():
                self._poll(consumer)
        finally:
            consumer.close()

    def _poll(self, consumer: Consumer) -> None:
        message = consumer.poll(0.5)
        if message is None:
            return
        if message.error() is not None:
            log.warning("phase topic=%s read error: %s", self._topic, message.error())
            time.sleep(1)
            return
        offset = int(message.offset() or 0)
        self._apply(message.key(), message.value(), offset)
        if offset + 1 >= self._end:
            self._caught_up.set()

    def _apply(self, key: bytes | None, value: bytes | None, offset: int) -> None:
        if key != RECORD_KEY:
            return
        if value is None:
            log.error(_TOMBSTONE, self._topic, offset)
            return
        try:
            record = PhaseRecord.from_json(value)
        except PhaseError as exc:
            # A bad record never stops the sync: the phase in force stays.
            log.error("phase record ignored origin=%s[0]@%d: %s", self._topic, offset, exc)
            return
        previous = self.record
        self._timeline = self._timeline.add(record)
        self._on_change(previous, record)


__all__ = ["PhaseFollower", "read_phase", "write_phase"]
