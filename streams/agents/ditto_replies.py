"""Agent: Ditto's answers on the reply topic -> done, sent again, or dead-lettered.

Thin glue: the pairing and the verdicts are streams.state.replies. Guarantees defended:
1. Nothing is lost on the edge to Ditto: Ditto's Kafka source commits a command it
   refused, so every command it answered with a transient refusal is sent again here,
   and every permanent refusal becomes a dead letter with Ditto's error in its headers.
2. The agent reads the command topic and the reply topic, both keyed by thing id with
   one partition count, and keeps unanswered commands in the changelog-backed table
   "ditto-pending" under their correlation id: the entry moves with its partition.
3. A retry waits its backoff, then is produced before the answer's offset can be
   committed (Faust flushes the producer first): a crash re-reads the answer, and the
   command at worst goes twice, which the twin's if-equal and revision gates absorb.
4. Order per thing: a retry raises a barrier (table "ditto-retry-barrier"), and commands
   of that thing which Ditto applied before the retry are replayed after it.
5. No exception leaves the agent: a crashed Faust agent stalls its partitions silently.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import Any

import faust

from streams.agents import metrics
from streams.agents._sending import send_dead_letter, with_retries
from streams.agents.app import raw_topic
from streams.config import Settings
from streams.ditto.refusals import known_fix
from streams.errors import DataError, RejectedByDittoError
from streams.kafka.admin import source_partitions
from streams.state.replies import (
    Decision,
    Entry,
    Verdict,
    barrier_from,
    on_answer,
    on_command,
    ordered,
    widened,
)
from streams.state.reply_records import ATTEMPT_HEADER, RawRecord, read_answer, read_command

log = logging.getLogger(__name__)

AGENT = "ditto-replies"
PENDING_TABLE = "ditto-pending"
BARRIER_TABLE = "ditto-retry-barrier"  # per thing: keeps its commands in order on retries


def _origin(message: Any) -> str:
    return f"{message.topic}[{message.partition}]@{message.offset}"


def _raw(message: Any) -> RawRecord:
    return RawRecord(
        message.topic,
        message.partition,
        message.offset,
        message.key,
        message.value,
        list(message.headers or ()),
    )


def register(app: faust.App, settings: Settings) -> Any:
    both = (settings.command_topic, settings.reply_topic)
    topics = raw_topic(app, *both)
    commands = raw_topic(app, settings.command_topic)
    dead_letters = raw_topic(app, settings.dead_letter_topic)
    partitions = source_partitions(settings.kafka_bootstrap, both)
    pending = app.Table(PENDING_TABLE, partitions=partitions)
    barriers = app.Table(BARRIER_TABLE, partitions=partitions)

    async def act(decision: Decision) -> None:
        thing = decision.command.key
        decision, barrier = ordered(decision, barrier_from(barriers.get(thing)))
        metrics.DITTO_ANSWERS.labels(decision.verdict.value, str(decision.answer.status)).inc()
        if decision.verdict in (Verdict.RETRY, Verdict.REPLAY):
            resent_at = await _send_again(commands, decision)
            barrier = widened(barrier, decision, resent_at)
        elif decision.verdict is Verdict.DEAD_LETTER:
            await _dead_letter(dead_letters, decision)
        if barrier is None:
            barriers.pop(thing, None)
        else:
            barriers[thing] = asdict(barrier)

    def pair(message: Any) -> tuple[str | None, Entry | None, list[Decision]]:
        if message.topic == settings.command_topic:
            correlation_id, command = read_command(_raw(message))
            if correlation_id is None:
                return None, None, []
            return correlation_id, *on_command(pending.get(correlation_id), command)
        correlation_id, answer = read_answer(_raw(message))
        if correlation_id is None:
            return None, None, []
        return correlation_id, *on_answer(pending.get(correlation_id), answer)

    async def handle(message: Any) -> None:
        correlation_id, entry, decisions = pair(message)
        if correlation_id is None:
            metrics.count_skip(AGENT, "no-correlation-id")
            log.warning(
                "no correlation id, cannot pair thing=%s origin=%s",
                (message.key or b"").decode(errors="replace"),
                _origin(message),
            )
            return
        for decision in decisions:
            await act(decision)
        if entry is None:
            pending.pop(correlation_id, None)
        else:
            pending[correlation_id] = entry

    @app.agent(topics, name=AGENT, concurrency=1)
    async def ditto_replies(stream: Any) -> None:
        async for event in stream.events():
            metrics.EVENTS_IN.labels(AGENT).inc()
            try:
                await handle(event.message)
            except Exception as exc:  # a bad record must not stall the partition
                if not isinstance(exc, DataError):
                    log.exception(
                        "unexpected error thing=%s origin=%s",
                        (event.message.key or b"").decode(errors="replace"),
                        _origin(event.message),
                    )
                await send_dead_letter(
                    dead_letters, AGENT, exc, message=event.message, mapping=None
                )

    return ditto_replies


async def _send_again(topic: Any, decision: Decision) -> int:
    """Send the command again after its delay; the offset it got (a barrier needs it)."""
    retry = decision.retry
    log.warning(
        "ditto answered thing=%s status=%d error=%s verdict=%s: sending attempt %d in %.1fs "
        "origin=%s",
        retry.key,
        decision.answer.status,
        decision.answer.error,
        decision.verdict.value,
        retry.attempt,
        decision.delay,
        retry.origin,
    )
    metrics.RETRIES.labels(AGENT, "ditto").inc()
    await asyncio.sleep(decision.delay)
    headers = [(k, v.encode()) for k, v in retry.headers]
    headers.append((ATTEMPT_HEADER, str(retry.attempt).encode()))

    async def send() -> int:
        sent = await topic.send(key=retry.key.encode(), value=retry.value.encode(), headers=headers)
        # Wait for the broker's ack: the barrier is drawn at the record's offset.
        return int((await sent).offset)

    offset = await with_retries(AGENT, "kafka", send)
    metrics.EVENTS_OUT.labels(AGENT).inc()
    return offset


async def _dead_letter(topic: Any, decision: Decision) -> None:
    command, answer = decision.command, decision.answer
    verdict = (
        f"Ditto still answered after {command.attempt} attempts (re-drive the command "
        "from here once Ditto is healthy)"
        if decision.gave_up
        else "Ditto refused the command for good"
    )
    fix = known_fix(answer.error, command.key)
    refusal = RejectedByDittoError(
        f"{verdict}: {answer.status} {answer.error}: {answer.message} (answer {answer.origin})"
        + (f"; {fix}" if fix else ""),
        answer.status,
        answer.error,
        answer.message,
    )
    record = RawRecord(
        command.topic,
        command.partition,
        command.offset,
        command.key.encode(),
        command.value.encode(),
        [(k, v.encode()) for k, v in command.headers],
    )
    await send_dead_letter(topic, AGENT, refusal, message=record, mapping=None)
