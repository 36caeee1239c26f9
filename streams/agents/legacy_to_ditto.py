"""Agent: Debezium topics of the mapped tables -> Ditto Protocol commands.

Thin glue: the work is streams.state.legacy_flow. Guarantees defended here:
1. Commands go to the command topic keyed by thing id, so one thing's commands stay
   in order on one partition, which Ditto's source connection reads in order.
2. The key state and the id claims live in changelog-backed tables, written from the
   record's own partition, so they move with the partition on a rebalance.
3. Faust flushes the producer before it commits an offset, so a record's commands (or
   its dead letter) are in Kafka before the record counts as done: at-least-once, and
   the per-key state makes a redelivery a no-op.
4. No exception leaves the agent: a crashed Faust agent stalls its partitions silently.
5. A phase that does not sync legacy -> Ditto (cutover) makes a row's change a dead
   letter, and the key's state is not stored; a row edit that crossed a twin edit is
   settled by the phase's winner (streams.state.phased, streams.state.conflict).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import faust

from streams.agents import metrics
from streams.agents._cross_partition import CrossPartition
from streams.agents._global_claims import GlobalOwners, PostgresClaims
from streams.agents._sending import check_size, send_dead_letter, with_retries
from streams.agents.app import raw_topic
from streams.agents.phase import (
    CROSSINGS_TABLE,
    WRITTEN_TABLE,
    FixedPhase,
    PhaseSource,
    report_conflicts,
)
from streams.cdc import CdcRecord
from streams.config import Settings
from streams.ditto.protocol import encode
from streams.errors import DataError
from streams.kafka.admin import source_partitions
from streams.kafka.topics import cdc_topic
from streams.mapping import load_mappings
from streams.registry.decoders import log_unmapped, record_decoder
from streams.stack.postgres import SYNC_ORIGIN
from streams.state.legacy_flow import Commands, LegacyFlow
from streams.state.phased import LegacyConflicts, legacy_outcome
from streams.state.staged import Staged

log = logging.getLogger(__name__)

AGENT = "legacy-to-ditto"
DITTO_CONTENT_TYPE = b"application/vnd.eclipse.ditto+json"


def register(app: faust.App, settings: Settings, phase: PhaseSource | None = None) -> Any:
    phases = phase or FixedPhase()
    mappings = load_mappings(settings.mappings_dir)
    flow = LegacyFlow(
        mappings,
        models_url=settings.thing_models_url,
        sync_origin=SYNC_ORIGIN,
        decoder=record_decoder(settings, mappings, report_unmapped=_report_unmapped),
    )
    sources = raw_topic(
        app,
        *(cdc_topic(settings, table) for table in sorted(mappings)),
        allow_empty=True,  # tombstones have a null value
    )
    commands = raw_topic(app, settings.command_topic)
    dead_letters = raw_topic(app, settings.dead_letter_topic)
    # A table's changelog must have as many partitions as the topics it is written from.
    partitions = source_partitions(settings.kafka_bootstrap, sources.topics)
    states = app.Table("cdc-key-state", partitions=partitions)
    owners = GlobalOwners(
        app.Table("thing-id-owner", partitions=partitions), PostgresClaims(settings.pg_dsn)
    )
    crossings = app.Table(CROSSINGS_TABLE, partitions=partitions)
    conflicts = LegacyConflicts(mappings, CrossPartition(app, WRITTEN_TABLE), crossings)

    async def handle(event: Any) -> None:
        message = event.message
        check_size(message)
        record = CdcRecord(
            key=message.key,
            value=message.value,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            headers=tuple(message.headers or ()),
        )
        # The key's new state reaches its changelog only after the commands are queued
        # in the producer: a crash in between then costs a duplicate, which the gates
        # absorb, rather than a restored state that drops the redelivery as already sent.
        after_send = Staged(states)
        outcome, found = legacy_outcome(
            flow, record, after_send, owners, phases.timeline, conflicts
        )
        report_conflicts(AGENT, found, str(record.origin))
        if not isinstance(outcome, Commands):
            after_send.commit()
            metrics.count_skip(AGENT, outcome.kind)
            log.debug(
                "skip kind=%s thing=%s origin=%s reason=%s",
                outcome.kind,
                outcome.thing_id,
                record.origin,
                outcome.reason,
            )
            return
        for command in outcome.commands:
            await _send_command(commands, outcome.thing_id, command)
        after_send.commit()
        log.debug(
            "sent thing=%s origin=%s commands=%d",
            outcome.thing_id,
            record.origin,
            len(outcome.commands),
        )

    @app.agent(sources, name=AGENT, concurrency=1)
    async def legacy_to_ditto(stream: Any) -> None:
        async for event in stream.events():
            metrics.EVENTS_IN.labels(AGENT).inc()
            try:
                # A registry (Avro) or a claims table that is away leaves the record
                # waiting, never dead.
                await with_retries(AGENT, "registry-or-postgres", functools.partial(handle, event))
            except Exception as exc:  # a bug must not stall the partition: dead-letter it
                if not isinstance(exc, DataError):
                    log.exception(
                        "unexpected error origin=%s[%d]@%d",
                        event.message.topic,
                        event.message.partition,
                        event.message.offset,
                    )
                await send_dead_letter(
                    dead_letters,
                    AGENT,
                    exc,
                    message=event.message,
                    mapping=flow.mapping_name(_table_of(event.message.topic)),
                )

    return legacy_to_ditto


def _report_unmapped(table: str, column: str) -> None:
    log_unmapped(table, column)
    metrics.UNMAPPED_COLUMNS.labels(table, column).inc()


async def _send_command(topic: Any, thing_id: str, command: dict[str, Any]) -> None:
    headers = [
        ("content-type", DITTO_CONTENT_TYPE),
        ("correlation-id", str(command["headers"]["correlation-id"]).encode()),
    ]
    await with_retries(
        AGENT,
        "kafka",
        lambda: topic.send(
            key=thing_id.encode(),
            value=encode(command),
            headers=headers,
        ),
    )
    metrics.EVENTS_OUT.labels(AGENT).inc()


def _table_of(topic: str) -> str:
    return topic.rsplit(".", 1)[-1]
