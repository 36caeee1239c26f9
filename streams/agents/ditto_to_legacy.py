"""Agent: Ditto twin events -> SinkChanges for the Postgres sink (the way back to legacy).

Thin glue: the work is streams.state.twin_flow. Guarantees defended here:
1. SinkChanges go to the sink topic keyed by thing id, so one thing's changes stay in
   revision order on one partition for the sink agent.
2. The per-thing state (last applied revision, the row's key) lives in the
   changelog-backed table "twin-revision", keyed by thing id like the event topic, so it
   moves with the partition on a rebalance.
3. The state is written after the SinkChange is handed to the producer, and Faust
   flushes the producer before it commits the offset: a crash in between replays the
   event rather than losing it, and the sink's revision guard makes the replay harmless.
4. No exception leaves the agent: a crashed Faust agent stalls its partitions silently.
5. A phase that does not sync Ditto -> legacy (legacy-primary) makes a twin edit a dead
   letter before anything is sent or remembered; echoes and duplicates still move the
   state on as in every phase. The echo of a row edit that won a conflict writes the
   columns it won back into the row (streams.state.phased, streams.state.conflict).
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import faust

from streams.agents import metrics
from streams.agents._cross_partition import CrossPartition
from streams.agents._sending import check_size, send_dead_letter, with_retries
from streams.agents.app import raw_topic
from streams.agents.phase import CROSSINGS_TABLE, WRITTEN_TABLE, FixedPhase, PhaseSource
from streams.config import Settings
from streams.ditto.protocol import SOURCE_HEADER
from streams.errors import DataError, DecodeError
from streams.mapping import load_mappings
from streams.state.phased import TwinConflicts, twin_outcome
from streams.state.twin_flow import Outcome, TwinFlow, Write

log = logging.getLogger(__name__)

AGENT = "ditto-to-legacy"
STATE_TABLE = "twin-revision"
CLAIMS_TABLE = "thing-id-owner"  # kept by the legacy -> Ditto agent


class _Claims(Mapping[str, str]):
    """The legacy agent's claims (thing id -> key), read from any partition held here.

    That agent writes a claim under the partition of the CDC record that made it, and
    while an event is processed Faust's RocksDB store reads only that event's partition.
    A Ditto event sits on another topic, so reads run outside the event's context, where
    the store looks in every partition this worker holds.
    """

    def __init__(self, table: Any) -> None:
        self._table = table

    def __getitem__(self, thing_id: str) -> str:
        return str(contextvars.Context().run(self._table.__getitem__, thing_id))

    def __iter__(self) -> Iterator[str]:
        return iter(contextvars.Context().run(lambda: list(self._table.keys())))

    def __len__(self) -> int:
        return int(contextvars.Context().run(len, self._table))


def _claims(app: faust.App) -> Mapping[str, str]:
    table = app.tables.get(CLAIMS_TABLE)
    if table is None:
        log.warning(
            "table=%s not registered (register legacy_to_ditto first): row keys come "
            "from the events and this agent's own state only",
            CLAIMS_TABLE,
        )
        return {}
    return _Claims(table)


def register(app: faust.App, settings: Settings, phase: PhaseSource | None = None) -> Any:
    flow = TwinFlow(load_mappings(settings.mappings_dir))
    phases = phase or FixedPhase()
    events = raw_topic(
        app,
        settings.event_topic,
        allow_empty=True,  # an empty record is a dead letter, not a crash
    )
    sink = raw_topic(app, settings.sink_topic)
    dead_letters = raw_topic(app, settings.dead_letter_topic)
    revisions = app.Table(STATE_TABLE, partitions=settings.topic_partitions)
    written = app.Table(WRITTEN_TABLE, partitions=settings.topic_partitions)
    conflicts = TwinConflicts(CrossPartition(app, CROSSINGS_TABLE), written)
    owners = _claims(app)

    async def handle(event: Any) -> None:
        message = event.message
        check_size(message)
        if not message.value:
            raise DecodeError("empty record on the event topic; a Ditto event is JSON")
        outcome = twin_outcome(flow, message.value, revisions, owners, phases.timeline, conflicts)
        origin = _origin(event)
        _report(outcome, origin)
        if isinstance(outcome, Write):
            await _send(sink, outcome, origin)
        # Only now: a crash before this line replays the event (guarantee 3).
        flow.remember(revisions, outcome)
        conflicts.remember(outcome)

    @app.agent(events, name=AGENT, concurrency=1)
    async def ditto_to_legacy(stream: Any) -> None:
        async for event in stream.events():
            metrics.EVENTS_IN.labels(AGENT).inc()
            try:
                await handle(event)
            except Exception as exc:  # a bug must not stall the partition: dead-letter it
                if not isinstance(exc, DataError):
                    log.exception("unexpected error origin=%s", _origin(event))
                await _dead_letter(dead_letters, flow, event, exc)

    return ditto_to_legacy


def _report(outcome: Outcome, origin: str) -> None:
    if isinstance(outcome, Write):
        thing_id, table = outcome.change.thing_id, outcome.change.table
        if outcome.missed:
            log.warning(
                "revision gap thing=%s origin=%s revision=%d missed=%d: the row lacks the "
                "missed changes until a later event of the same paths",
                thing_id,
                origin,
                outcome.change.revision,
                outcome.missed,
            )
    else:
        thing_id, table = outcome.thing_id, outcome.table or ""
        metrics.count_skip(AGENT, outcome.kind)
        log.debug(
            "skip kind=%s thing=%s origin=%s reason=%s",
            outcome.kind,
            thing_id,
            origin,
            outcome.reason,
        )
    if outcome.unmapped:
        metrics.UNMAPPED_PATHS.labels(AGENT, table).inc(len(outcome.unmapped))
        log.info(
            "unmapped paths not written thing=%s origin=%s paths=%s",
            thing_id,
            origin,
            ",".join(outcome.unmapped),
        )


async def _send(sink: Any, outcome: Write, origin: str) -> None:
    change = outcome.change
    headers = [(SOURCE_HEADER, origin.encode())]
    if change.correlation_id is not None:
        headers.append(("correlation-id", change.correlation_id.encode()))
    await with_retries(
        AGENT,
        "kafka",
        lambda: sink.send(key=change.thing_id.encode(), value=change.to_json(), headers=headers),
    )
    metrics.EVENTS_OUT.labels(AGENT).inc()
    log.debug(
        "sink change thing=%s origin=%s op=%s revision=%d columns=%d",
        change.thing_id,
        origin,
        change.op,
        change.revision,
        len(change.columns),
    )


async def _dead_letter(topic: Any, flow: TwinFlow, event: Any, exc: BaseException) -> None:
    key = event.message.key
    thing_id = key.decode(errors="replace") if isinstance(key, bytes) else None
    await send_dead_letter(
        topic, AGENT, exc, message=event.message, mapping=flow.mapping_name(thing_id)
    )


def _origin(event: Any) -> str:
    message = event.message
    return f"{message.topic}[{message.partition}]@{message.offset}"


__all__ = ["AGENT", "CLAIMS_TABLE", "STATE_TABLE", "register"]
