"""`streams replay`: the historical migration, from the CDC topics into Ditto.

1. Read the mapped tables' CDC topics in a consumer group of the replay's own
   (`<consumer_group>-replay`, `-replay-<tenants>` with --tenant: the commit moves past
   every tenant's records), so the live worker's offsets never move, from the chosen
   start up to the end offsets taken when the run starts (or, with a snapshot, until
   Debezium's incremental snapshot has sent every row).
2. Run each record through the worker's own flow (streams.state.legacy_flow), with
   in-memory stores and `apply_echoes`: rows the Postgres sink wrote are edits made in
   Ditto, and a replay that skipped them would roll those twins back.
3. Fold to one final write per twin (streams.state.replay_fold): no twin walks back
   through old images.
4. Write each twin with `if-equal: skip` and our origin header: an unchanged twin costs
   no revision, and the way back knows the events as ours.
5. Commit the group's offsets only when every twin is answered (and every dead letter is
   in Kafka). An interrupt before that commits nothing: the next run re-reads the same
   records, which is cheap, and re-sends twins that Ditto now answers as unchanged.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.cdc import CdcRecord, Op, RowChange, Tombstone, loads
from streams.config import Settings
from streams.ditto.protocol import encode
from streams.errors import DataError, dead_letter_headers
from streams.kafka.reader import TopicRecord
from streams.kafka.replay_source import DeadLetterProducer, ReplaySource, Start, StartFrom, Tp
from streams.kafka.topics import cdc_topic
from streams.mapping import load_mappings
from streams.ops._ditto_writes import TwinWriter, WriteResult, Written, command_of
from streams.ops._progress import Meter
from streams.ops._replay_options import (
    ReplayOptions,
    Say,
    check_options,
    group_of,
    iso,
    start_of,
)
from streams.ops._snapshot_signal import SnapshotSignal
from streams.stack.postgres import SYNC_ORIGIN
from streams.state.legacy_flow import Commands, LegacyFlow, Outcome
from streams.state.replay_fold import FinalTwin, ReplayFold

log = logging.getLogger(__name__)


@dataclass
class TableCounts:
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    read_failed: int = 0
    planned: Counter[str] = field(default_factory=Counter)
    written: Counter[str] = field(default_factory=Counter)


@dataclass
class ReplayReport:
    group: str
    dry_run: bool
    tables: dict[str, TableCounts]
    failures: list[str] = field(default_factory=list)
    committed: dict[Tp, int] = field(default_factory=dict)
    read_seconds: float = 0.0
    write_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def twins(self) -> int:
        return sum(sum(t.planned.values()) for t in self.tables.values())


class _Run:
    """One replay: the flow, the fold and the counts, over records as they are read."""

    def __init__(self, settings: Settings, options: ReplayOptions, say: Say) -> None:
        self.settings, self.options, self.say = settings, options, say
        self.mappings = load_mappings(settings.mappings_dir)
        self.flow = LegacyFlow(
            self.mappings,
            models_url=settings.thing_models_url,
            sync_origin=SYNC_ORIGIN,
            apply_echoes=True,
        )
        self.fold = ReplayFold(self.mappings, models_url=settings.thing_models_url)
        self.states: dict[str, Any] = {}
        self.owners: dict[str, str] = {}
        self.tables = {t: TableCounts() for t in sorted(self.mappings)}
        self.table_of = {cdc_topic(settings, t): t for t in self.mappings}
        self.group = group_of(settings, options)
        self.report = ReplayReport(self.group, options.dry_run, self.tables)
        self.record_errors = 0  # of every tenant: a snapshot waits for none of them
        self.dead_letters: DeadLetterProducer | None = None
        if not options.dry_run:
            self.dead_letters = DeadLetterProducer(
                settings.kafka_bootstrap, settings.dead_letter_topic
            )

    def take(self, record: TopicRecord) -> Outcome | None:
        """Run one record through the flow into the fold; None when it failed."""
        table = self.table_of[record.topic]
        counts = self.tables[table]
        counts.records += 1
        cdc = CdcRecord(
            key=record.key,
            value=record.value,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            headers=record.headers,
        )
        try:
            outcome = self.flow.process(cdc, self.states, self.owners)
        except DataError as exc:
            self.record_errors += 1
            if not self._wanted_key(record, table):
                # Another tenant's bad record: its own replay (or the worker) reports it.
                counts.skipped["other-tenant"] += 1
                return None
            counts.read_failed += 1
            self._dead_letter_record(record, table, exc)
            return None
        if not self.wanted(outcome.thing_id):
            counts.skipped["other-tenant"] += 1
        elif isinstance(outcome, Commands):
            self.fold.add(outcome)
        else:
            counts.skipped[outcome.kind] += 1
        return outcome

    def wanted(self, thing_id: str | None) -> bool:
        tenants = self.options.tenants
        return not tenants or thing_id is None or thing_id.partition(":")[0] in tenants

    def _wanted_key(self, record: TopicRecord, table: str) -> bool:
        """False only when the record's key names a tenant outside the filter."""
        column = self.mappings[table].tenant_column
        if not self.options.tenants or column is None:
            return True
        try:
            key = loads(record.key or b"null")
        except ValueError:
            return True
        if isinstance(key, dict) and isinstance(key.get("payload"), dict):
            key = key["payload"]  # the JsonConverter's schema wrapper
        tenant = key.get(column) if isinstance(key, dict) else None
        return not isinstance(tenant, str) or tenant in self.options.tenants

    def final_twins(self) -> list[FinalTwin]:
        twins = self.fold.twins()
        for twin in twins:
            self.tables[twin.table].planned[twin.op.value] += 1
        return twins

    def _dead_letter_record(self, record: TopicRecord, table: str, exc: DataError) -> None:
        where = f"{record.topic}[{record.partition}]@{record.offset}"
        self.report.failures.append(f"{where} ({exc.stage}): {exc}")
        log.warning("replay record failed origin=%s stage=%s error=%s", where, exc.stage, exc)
        if self.dead_letters is None:
            return
        headers = dead_letter_headers(
            exc,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            mapping=f"{table}.toml",
            timestamp_ms=int(time.time() * 1000),
        )
        self.dead_letters.send(record.key, record.value, [*record.headers, *headers])

    def written(self, result: WriteResult) -> None:
        twin = result.twin
        self.tables[twin.table].written[result.outcome.value] += 1
        if result.error is None:
            return
        self.report.failures.append(f"{twin.thing_id}: {result.error}")
        log.warning("replay write failed thing=%s error=%s", twin.thing_id, result.error)
        if self.dead_letters is not None:
            headers = dead_letter_headers(
                result.error,
                topic=twin.origin.topic,
                partition=twin.origin.partition,
                offset=twin.origin.offset,
                mapping=f"{twin.table}.toml",
                timestamp_ms=int(time.time() * 1000),
            )
            value = encode(command_of(twin))
            self.dead_letters.send(twin.thing_id.encode(), value, list(headers))


def replay(settings: Settings, options: ReplayOptions, say: Say) -> ReplayReport:
    """Replay the CDC history into Ditto (or count it, with dry_run); see the module doc."""
    check_options(settings, options, say)
    run = _Run(settings, options, say)
    source = ReplaySource(settings.kafka_bootstrap, run.group, run.table_of)
    try:
        read = _read_snapshot if options.from_snapshot else _read_history
        ends = read(run, source)
        twins = run.final_twins()
        if options.dry_run:
            return run.report
        _write(run, twins)
        if run.dead_letters is not None:
            run.dead_letters.flush()
        # Every twin is answered and every dead letter is in Kafka: only now may the
        # group move on (module doc, step 5).
        source.commit(ends)
        run.report.committed = dict(ends)
        return run.report
    finally:
        source.close()


def _read_history(run: _Run, source: ReplaySource) -> dict[Tp, int]:
    marks = source.watermarks()
    starts = source.starts(run.options.start, marks)
    ends = {tp: high for tp, (_, high) in marks.items()}
    total = sum(ends[tp] - starts[tp] for tp in ends)
    run.say(
        f"replay group {run.group} from {_describe(run.options.start)}: {total:,} records "
        f"in {len(ends)} partitions of {', '.join(source.topics)}"
    )
    with Meter("reading", total, "records") as meter:
        for record in source.read(starts, ends):
            run.take(record)
            meter.advance()
    run.report.read_seconds = meter.seconds
    return ends


def _read_snapshot(run: _Run, source: ReplaySource) -> dict[Tp, int]:
    """Signal an incremental snapshot, then read from the ends noted before it until
    every row that existed at the signal has its snapshot record (or its delete)."""
    position = {tp: high for tp, (_, high) in source.watermarks().items()}
    signal = SnapshotSignal(run.settings, run.mappings)
    waiting = {t: {i for i in ids if run.wanted(i)} for t, ids in signal.send().items()}
    total = sum(len(ids) for ids in waiting.values())
    run.say(
        f"replay group {run.group}: incremental snapshot {signal.signal_id} of "
        f"{', '.join(sorted(waiting))} ({total:,} rows), reading from the current ends"
    )
    deadline = time.monotonic() + run.options.snapshot_timeout
    errors_before = run.record_errors
    with Meter("snapshot rows", total, "rows") as meter:
        # A row whose snapshot record fails (a dead letter) never arrives: those count.
        while sum(len(ids) for ids in waiting.values()) > run.record_errors - errors_before:
            signal.check_time(deadline, waiting)
            ends = {tp: high for tp, (_, high) in source.watermarks().items()}
            for record in source.read(position, ends):
                meter.advance(_arrived(run.take(record), waiting))
            if ends == position:
                time.sleep(0.5)
            position = ends
    run.report.read_seconds = meter.seconds
    return position


def _arrived(outcome: Outcome | None, waiting: Mapping[str, set[str]]) -> int:
    """1 when `outcome` is the snapshot record (or delete) of a row still waited for."""
    change = None if outcome is None else outcome.change
    if outcome is None or change is None or outcome.thing_id is None:
        return 0
    snapshot = isinstance(change, RowChange) and change.op is Op.READ
    deleted = isinstance(change, Tombstone) or change.op is Op.DELETE
    ids = waiting.get(change.table)
    if (snapshot or deleted) and ids is not None and outcome.thing_id in ids:
        ids.discard(outcome.thing_id)
        return 1
    return 0


def _write(run: _Run, twins: list[FinalTwin]) -> None:
    writer = TwinWriter(run.settings, run.options.concurrency)
    with Meter("writing", len(twins), "twins") as meter:

        def done(result: WriteResult) -> None:
            run.written(result)
            meter.advance()

        writer.write_all(twins, done)
    run.report.write_seconds = meter.seconds


def _describe(start: Start) -> str:
    if start.kind is StartFrom.OFFSET:
        return f"offset {start.value}"
    if start.kind is StartFrom.TIME:
        return f"time {iso(start.value)}"
    if start.kind is StartFrom.COMMITTED:
        return "its committed offsets (earliest where none)"
    return "the earliest offsets"


# -- the report ---------------------------------------------------------------------------

PLANNED = ("modify", "merge", "delete")
WRITTEN = tuple(w.value for w in Written)


def report_lines(report: ReplayReport) -> Iterable[str]:
    """The report as aligned text lines (stdout of the command)."""
    if report.dry_run:
        head = ["table", "records", *PLANNED, "skipped", "failed"]
        rows = [
            [
                name,
                t.records,
                *(t.planned[p] for p in PLANNED),
                sum(t.skipped.values()),
                t.read_failed,
            ]
            for name, t in report.tables.items()
        ]
    else:
        head = ["table", "records", "twins", *WRITTEN]
        rows = [
            [
                name,
                t.records,
                sum(t.planned.values()),
                *(t.written[w] + (t.read_failed if w == "failed" else 0) for w in WRITTEN),
            ]
            for name, t in report.tables.items()
        ]
    yield from _aligned([head, *rows])
    for name, t in report.tables.items():
        if t.skipped:
            kinds = ", ".join(f"{k}={n}" for k, n in sorted(t.skipped.items()))
            yield f"{name}: records without a write of their own: {kinds}"
    yield _closing(report)


def _closing(report: ReplayReport) -> str:
    if report.dry_run:
        return "dry run: nothing sent, nothing committed"
    where = (
        f"group {report.group} committed at the end offsets of {len(report.committed)} partitions"
    )
    if report.failures:
        return f"{len(report.failures)} failed (dead letters, listed on stderr); {where}"
    return where


def _aligned(rows: list[list[Any]]) -> Iterable[str]:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [str(row[0]).ljust(widths[0])]
        cells += [str(v).rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)]
        yield "  ".join(cells)


__all__ = [
    "ReplayOptions",
    "ReplayReport",
    "TableCounts",
    "group_of",
    "replay",
    "report_lines",
    "start_of",
]
