"""The exception tree, the pipeline stages and the dead-letter header names.

Two families, and the split decides what the agents do with a failure:

=====================  =======================================  ===========================
family                 meaning                                  what the pipeline does
=====================  =======================================  ===========================
``DataError``          this record can never succeed as it is   dead-letter it, move on
``RetriableError``     the record is fine, a peer is not        retry with backoff, then
                       (broker, registry, Ditto, Postgres)      wait: never dead-letter
``StackError``         the local stack cannot start or stop     exit with the fix named
``ConfigError``        a settings or mapping file is wrong      exit with file and field
=====================  =======================================  ===========================

Every error says what the operator should do next.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """Where in the pipeline a record failed; it travels in the dead-letter headers."""

    DECODE = "decode"
    MAP = "map"
    PRODUCE = "produce"
    DITTO_REPLY = "ditto-reply"
    SINK_WRITE = "sink-write"
    COMMIT = "commit"
    PHASE = "phase"


# All dead-letter headers share one prefix so a consumer can find them at a glance.
DLQ_HEADER_PREFIX = "streams.dlq."


class DlqHeader(StrEnum):
    ERROR_CLASS = DLQ_HEADER_PREFIX + "error.class"
    ERROR_MESSAGE = DLQ_HEADER_PREFIX + "error.message"
    STAGE = DLQ_HEADER_PREFIX + "stage"
    TOPIC = DLQ_HEADER_PREFIX + "topic"
    PARTITION = DLQ_HEADER_PREFIX + "partition"
    OFFSET = DLQ_HEADER_PREFIX + "offset"
    MAPPING = DLQ_HEADER_PREFIX + "mapping"
    TIMESTAMP = DLQ_HEADER_PREFIX + "timestamp"
    # Ditto's own refusal, on commands Ditto answered with a permanent error.
    DITTO_STATUS = DLQ_HEADER_PREFIX + "ditto.status"
    DITTO_ERROR = DLQ_HEADER_PREFIX + "ditto.error"
    DITTO_MESSAGE = DLQ_HEADER_PREFIX + "ditto.message"
    # The migration phase that held the change back (stage `phase`).
    PHASE = DLQ_HEADER_PREFIX + "phase"
    # Set when the value was too large for the dead-letter topic and was cut: the whole
    # record is still at the source topic, partition and offset above.
    VALUE_BYTES = DLQ_HEADER_PREFIX + "value.bytes"
    VALUE_TRUNCATED = DLQ_HEADER_PREFIX + "value.truncated"


class StreamsError(Exception):
    """Root of every error ditto-streams raises on purpose."""


class ConfigError(StreamsError):
    """A settings value or a mapping file is wrong; the message names file and field."""


class StackError(StreamsError):
    """The local stack cannot start, stop or be reached; the message names the fix."""


class DataError(StreamsError):
    """The record itself is bad: it goes to the dead-letter topic, the worker moves on."""

    stage: Stage = Stage.MAP


class DecodeError(DataError):
    """The bytes are not a Debezium event we can read (JSON, Avro, envelope shape)."""

    stage = Stage.DECODE


class MappingError(DataError):
    """A decoded row cannot become a twin (missing key, bad type, invalid id)."""

    stage = Stage.MAP


class RecordTooLargeError(DataError):
    """A record too large to carry through the sync (or a command too large to send)."""

    stage = Stage.DECODE


class ThingIdError(MappingError):
    """The business key cannot make a valid Ditto thing id, or collides with another key."""


class RejectedByDittoError(DataError):
    """Ditto refused a command for good (4xx other than 408 and 429)."""

    stage = Stage.DITTO_REPLY

    def __init__(
        self,
        message: str,
        status: int,
        ditto_error: str | None = None,
        ditto_message: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.ditto_error = ditto_error
        self.ditto_message = ditto_message


class RejectedByPostgresError(DataError):
    """Postgres refused a row (constraint, type); the rest of its batch is written."""

    stage = Stage.SINK_WRITE


class HeldByPhaseError(DataError):
    """The migration phase does not sync this direction: the change is kept as a dead letter."""

    stage = Stage.PHASE

    def __init__(self, message: str, phase: str) -> None:
        super().__init__(message)
        self.phase = phase


class PhaseError(StreamsError):
    """A phase change that is not one step, or a phase record that cannot be read."""


class RetriableError(StreamsError):
    """A peer is unavailable or overloaded; the record waits and is retried."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class KafkaUnavailableError(RetriableError):
    """The broker cannot be reached or refused to produce or commit."""


class DittoUnavailableError(RetriableError):
    """Ditto did not answer, or answered 408, 429 or 5xx."""


class PostgresUnavailableError(RetriableError):
    """The legacy database cannot be reached or aborted the transaction for a transient cause."""


class RegistryUnavailableError(RetriableError):
    """The schema registry cannot be reached; Avro events wait for it."""


def is_retriable(exc: BaseException) -> bool:
    """One place that decides retry versus dead letter."""
    return isinstance(exc, RetriableError)


__all__ = [
    "DLQ_HEADER_PREFIX",
    "ConfigError",
    "DataError",
    "DecodeError",
    "DittoUnavailableError",
    "DlqHeader",
    "HeldByPhaseError",
    "KafkaUnavailableError",
    "MappingError",
    "PhaseError",
    "PostgresUnavailableError",
    "RecordTooLargeError",
    "RegistryUnavailableError",
    "RejectedByDittoError",
    "RejectedByPostgresError",
    "RetriableError",
    "StackError",
    "Stage",
    "StreamsError",
    "ThingIdError",
    "dead_letter_headers",
    "is_retriable",
]


def dead_letter_headers(
    exc: BaseException,
    *,
    topic: str,
    partition: int,
    offset: int,
    mapping: str | None,
    timestamp_ms: int,
) -> list[tuple[str, bytes]]:
    """The headers a dead letter carries: what failed, where, and where it came from."""
    stage = exc.stage if isinstance(exc, DataError) else Stage.MAP
    values = {
        DlqHeader.ERROR_CLASS: type(exc).__name__,
        DlqHeader.ERROR_MESSAGE: str(exc)[:2000],
        DlqHeader.STAGE: str(stage),
        DlqHeader.TOPIC: topic,
        DlqHeader.PARTITION: str(partition),
        DlqHeader.OFFSET: str(offset),
        DlqHeader.MAPPING: mapping or "",
        DlqHeader.TIMESTAMP: str(timestamp_ms),
    }
    if isinstance(exc, RejectedByDittoError):
        values[DlqHeader.DITTO_STATUS] = str(exc.status)
        values[DlqHeader.DITTO_ERROR] = exc.ditto_error or ""
        values[DlqHeader.DITTO_MESSAGE] = (exc.ditto_message or "")[:2000]
    if isinstance(exc, HeldByPhaseError):
        values[DlqHeader.PHASE] = exc.phase
    return [(str(name), value.encode()) for name, value in values.items()]
