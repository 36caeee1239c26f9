"""Producing from agents: retries for a broker that is away, dead letters for bad records.

A transient failure never turns into a dead letter: the agent waits (with capped
exponential backoff) and keeps its partition where it is, so nothing is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka.errors import KafkaError

from streams.agents import metrics
from streams.errors import KafkaUnavailableError, RetriableError, dead_letter_headers

log = logging.getLogger(__name__)
T = TypeVar("T")

BACKOFF_START = 0.5
BACKOFF_CAP = 30.0


async def with_retries(agent: str, peer: str, action: Callable[[], Awaitable[T]]) -> T:
    """Run `action` until it succeeds; RetriableError and Kafka errors are retried."""
    delay = BACKOFF_START
    while True:
        try:
            try:
                return await action()
            except KafkaError as exc:
                raise KafkaUnavailableError(f"Kafka refused: {exc}") from exc
        except RetriableError as exc:
            metrics.RETRIES.labels(agent, peer).inc()
            wait = exc.retry_after or delay
            log.warning("agent=%s peer=%s retry_in=%.1fs error=%s", agent, peer, wait, exc)
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
    stage = dict(headers).get("streams.dlq.stage", b"").decode()
    await with_retries(
        agent,
        "kafka",
        lambda: topic.send(
            key=message.key,
            value=message.value,
            headers=original + headers,
        ),
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
