"""Agent: the sink topic -> the legacy Postgres tables, in batches.

Thin glue: the writing is streams.sinks.postgres. Guarantees defended here:
1. A batch is acknowledged only after its transaction committed and its rejected
   changes are on the dead-letter topic (Faust's take_events acks a batch when the
   next one is requested, and flushes the producer before it commits offsets).
2. A transient Postgres failure never turns into a dead letter: the batch waits and is
   retried whole (with_retries), the partition stays where it is, and the revision
   guard in the SQL makes a retried batch change nothing it already changed.
3. A change Postgres refuses goes to the dead-letter topic as the original sink record
   with Postgres' message; the rest of its batch is written.
4. No exception leaves the agent: a crashed Faust agent stalls its partitions silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import faust

from streams.agents import metrics
from streams.agents._sending import send_dead_letter, with_retries
from streams.agents.app import raw_topic
from streams.config import Settings
from streams.errors import DataError
from streams.mapping import load_mappings
from streams.sinks.postgres import BatchStats, PostgresSink
from streams.stack.postgres import SYNC_ORIGIN
from streams.state.twin_flow import SinkChange

log = logging.getLogger(__name__)

AGENT = "postgres-sink"
BATCH_MAX = 500  # changes per transaction at most
BATCH_WITHIN = 0.2  # seconds a partial batch waits for more changes


def register(app: faust.App, settings: Settings) -> Any:
    tables = set(load_mappings(settings.mappings_dir))
    writer = PostgresSink(settings.pg_dsn, origin=SYNC_ORIGIN)
    rows = raw_topic(
        app,
        settings.sink_topic,
        allow_empty=True,  # an empty record is a dead letter, not a crash
    )
    dead_letters = raw_topic(app, settings.dead_letter_topic)

    async def dead_letter(event: Any, exc: BaseException, table: str | None) -> None:
        mapping = f"{table}.toml" if table in tables else None
        await send_dead_letter(dead_letters, AGENT, exc, message=event.message, mapping=mapping)

    async def handle(events: Sequence[Any]) -> None:
        batch: list[tuple[Any, SinkChange]] = []
        for event in events:
            try:
                batch.append((event, SinkChange.from_json(event.message.value or b"")))
            except DataError as exc:
                await dead_letter(event, exc, None)
        if not batch:
            return
        stats = await with_retries(
            AGENT,
            "postgres",
            lambda: asyncio.to_thread(_timed_write, writer, batch),
            origin=_origins([event for event, _ in batch]),
        )
        rejected = {r.index: r.error for r in stats.rejected}
        now = datetime.now(UTC)
        for index, (event, change) in enumerate(batch):
            if index in rejected:
                await dead_letter(event, rejected[index], change.table)
            elif change.source_ts is not None:
                metrics.END_TO_END.observe((now - change.source_ts).total_seconds())
        metrics.EVENTS_OUT.labels(AGENT).inc(stats.written)

    @app.agent(rows, name=AGENT, concurrency=1)
    async def postgres_sink(stream: Any) -> None:
        try:
            async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
                metrics.EVENTS_IN.labels(AGENT).inc(len(events))
                try:
                    await handle(events)
                except Exception as exc:  # a bug must not stall the partitions
                    log.exception(
                        "unexpected error in a sink batch of %d origins=%s",
                        len(events),
                        _origins(events),
                    )
                    for event in events:
                        await dead_letter(event, exc, None)
        finally:
            writer.close()

    return postgres_sink


def _origins(events: Sequence[Any]) -> str:
    """The batch's records as `topic[partition]@first..last`, one word per partition."""
    spans: dict[tuple[str, int], list[int]] = {}
    for event in events:
        message = event.message
        spans.setdefault((message.topic, message.partition), []).append(message.offset)
    return " ".join(
        f"{topic}[{partition}]@{min(offsets)}..{max(offsets)}"
        for (topic, partition), offsets in sorted(spans.items())
    )


def _timed_write(writer: PostgresSink, batch: Sequence[tuple[Any, SinkChange]]) -> BatchStats:
    """Runs in a thread: psycopg's blocking calls must not stall the event loop."""
    started = time.perf_counter()
    stats = writer.write([change for _, change in batch])
    metrics.SINK_LATENCY.observe(time.perf_counter() - started)
    metrics.SINK_BATCH_SIZE.observe(stats.changes)
    log.debug(
        "sink batch changes=%d written=%d skipped=%d rejected=%d row_by_row=%s",
        stats.changes,
        stats.written,
        stats.skipped,
        len(stats.rejected),
        stats.row_by_row,
    )
    return stats


__all__ = ["AGENT", "BATCH_MAX", "BATCH_WITHIN", "register"]
