"""Producing from agents: retries for a broker that is away, dead letters for bad records.

A transient failure never turns into a dead letter: the agent waits (with capped
exponential backoff) and keeps its partition where it is, so nothing is skipped.

Size is the one produce failure no retry can mend. A record larger than MAX_RECORD_BYTES
is refused before any table write: the per-key state keeps the last record, and a
changelog record over the producer's 1 MiB limit fails in Faust's background buffer,
where it crashes the worker and the record's offset is committed unseen. A dead letter
larger than DEAD_LETTER_VALUE_BYTES carries the head of its value and says so.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import faust
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from faust.exceptions import ProducerSendError

from streams.agents import metrics
from streams.errors import (
    DlqHeader,
    KafkaUnavailableError,
    RecordTooLargeError,
    RetriableError,
    dead_letter_headers,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_START = 0.5
BACKOFF_CAP = 30.0
MAX_RECORD_BYTES = 512 * 1024
DEAD_LETTER_VALUE_BYTES = 256 * 1024


def check_size(message: Any) -> None:
    """Refuse a record the sync cannot carry (see the module's note on size)."""
    size = len(message.key or b"") + len(message.value or b"")
    if size > MAX_RECORD_BYTES:
        raise RecordTooLargeError(
            f"record of {size} bytes is over the {MAX_RECORD_BYTES} bytes the sync carries "
            "(Ditto refuses a thing over 100 kB by default): shorten the row, or leave the "
            "large column out of the connector (column.exclude.list)"
        )


def current_origin() -> str:
    """`topic[partition]@offset` of the record the calling agent is processing (Faust
    keeps it in a context variable), or `-` outside an agent's event."""
    event = faust.current_event()
    if event is None:
        return "-"
    message = event.message
    return f"{message.topic}[{message.partition}]@{message.offset}"


def _too_large(exc: BaseException) -> bool:
    cause = exc.__cause__ if isinstance(exc, ProducerSendError) else exc
    return isinstance(cause, MessageSizeTooLargeError)


async def with_retries(
    agent: str, peer: str, action: Callable[[], Awaitable[T]], *, origin: str | None = None
) -> T:
    """Run `action` until it succeeds; RetriableError and Kafka errors are retried.
    `origin` names the records it is for (default: the agent's current record)."""
    delay = BACKOFF_START
    while True:
        try:
            try:
                return await action()
            except (KafkaError, ProducerSendError) as exc:
                if _too_large(exc):
                    raise RecordTooLargeError(f"Kafka refused the record's size: {exc}") from exc
                raise KafkaUnavailableError(f"Kafka refused: {exc}") from exc
        except RetriableError as exc:
            metrics.RETRIES.labels(agent, peer).inc()
            wait = exc.retry_after or delay
            log.warning(
                "retry agent=%s peer=%s origin=%s retry_in=%.1fs error=%s",
                agent,
                peer,
                origin or current_origin(),
                wait,
                exc,
            )
            await asyncio.sleep(wait)
            delay = min(delay * 2, BACKOFF_CAP)


async def send_dead_letter(
    topic: Any,
    agent: str,
    exc: BaseException,
    *,
    message: Any,
    mapping: str | None,
) -> None:
    """Copy the original record to the dead-letter topic with the reason in its headers."""
    headers = dead_letter_headers(
        exc,
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        mapping=mapping,
        timestamp_ms=int(time.time() * 1000),
    )
    original = [(k, v) for k, v in (message.headers or [])]
    stage = dict(headers).get(DlqHeader.STAGE, b"").decode()
    value = message.value
    if value is not None and len(value) > DEAD_LETTER_VALUE_BYTES:
        headers += [
            (str(DlqHeader.VALUE_BYTES), str(len(value)).encode()),
            (str(DlqHeader.VALUE_TRUNCATED), b"true"),
        ]
        value = value[:DEAD_LETTER_VALUE_BYTES]
    await with_retries(
        agent,
        "kafka",
        lambda: topic.send(key=message.key, value=value, headers=original + headers),
    )
    metrics.DEAD_LETTERS.labels(agent, stage).inc()
    log.warning(
        "dead letter agent=%s origin=%s[%d]@%d stage=%s error=%s: %s",
        agent,
        message.topic,
        message.partition,
        message.offset,
        stage,
        type(exc).__name__,
        exc,
    )
