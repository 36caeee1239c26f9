"""`streams validate`: every legacy row against its twin in Ditto, through the mappings.

1. read the rows of each mapped table from Postgres (all, some tenants', or a seeded
   random sample per table), in chunks;
2. map each row to the twin the sync would write (`to_thing`, the sync's own code); a row
   that maps to no twin is reported as unmappable, as the sync dead-letters it;
3. fetch the twins of a chunk from Ditto in batches, a few requests at a time, numbers read
   as exact decimals;
4. compare path by path over the mapped paths only (`streams.mapping.compare`);
5. with `repair`, send each wrong twin the command that fixes it, marked with the sync's
   own origin header (`streams-origin: legacy`) so that the way back drops the change as an
   echo and never writes it to Postgres again; then read those twins again and compare.
   The legacy side is only ever read.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from streams.config import Settings
from streams.ditto.protocol import ORIGIN_HEADER, ORIGIN_LEGACY
from streams.ditto.refusals import known_fix
from streams.errors import ConfigError, MappingError, RejectedByDittoError, StackError
from streams.mapping import TableMapping, load_mappings, to_thing
from streams.mapping.compare import DiffKind, FieldDiff, compare, repair_patch
from streams.ops._legacy_rows import PG_BIGINT_MAX, legacy_rows, tenants_with_rows
from streams.ops._twins import Twins

Progress = Callable[[str], None]
PROGRESS_EVERY_S = 2.0


@dataclass(frozen=True, slots=True)
class Options:
    tables: tuple[str, ...] = ()  # empty: every mapped table
    tenants: tuple[str, ...] = ()  # empty: every tenant
    sample: int | None = None  # rows per table, picked at random by `seed`
    seed: int | None = None  # None with a sample: a random seed, reported
    repair: bool = False
    batch: int = 50  # thing ids per Ditto request
    concurrency: int = 8  # Ditto requests in flight
    timeout: float = 10.0  # seconds per Ditto request


@dataclass
class Tally:
    checked: int = 0
    equal: int = 0
    differing: int = 0
    missing: int = 0
    unmappable: int = 0


@dataclass(frozen=True, slots=True)
class RowResult:
    """A row whose twin is missing or differs, with what its repair needs."""

    table: str
    key: str
    thing_id: str
    diffs: tuple[FieldDiff, ...]
    row: dict[str, Any] = field(repr=False)
    expected: dict[str, Any] = field(repr=False)

    @property
    def missing(self) -> bool:
        return self.diffs[0].kind is DiffKind.MISSING_TWIN

    def to_json(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "key": self.key,
            "thingId": self.thing_id,
            "missing": self.missing,
            "diffs": [d.to_json() for d in self.diffs],
        }


@dataclass(frozen=True, slots=True)
class Unmappable:
    table: str
    key: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"table": self.table, "key": self.key, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class Repaired:
    thing_id: str
    command: str  # "modify" (whole twin) or "merge" (the differing paths)
    status: int | None  # Ditto's answer; None when the command failed
    remaining: tuple[FieldDiff, ...]  # differences after the repair
    error: str = ""

    @property
    def fixed(self) -> bool:
        return not self.error and not self.remaining

    def to_json(self) -> dict[str, Any]:
        return {
            "thingId": self.thing_id,
            "command": self.command,
            "status": self.status,
            "fixed": self.fixed,
            "error": self.error or None,
            "remaining": [d.to_json() for d in self.remaining],
        }


@dataclass
class Report:
    tallies: dict[str, Tally]
    wrong: list[RowResult] = field(default_factory=list)
    unmappable: list[Unmappable] = field(default_factory=list)
    repairs: list[Repaired] | None = None  # None: no repair asked
    seconds: float = 0.0
    seed: int | None = None

    @property
    def checked(self) -> int:
        return sum(t.checked for t in self.tallies.values())

    @property
    def differences(self) -> int:
        return sum(len(r.diffs) for r in self.wrong)

    @property
    def ok(self) -> bool:
        """Legacy and Ditto agree now: nothing differed, or every repair fixed its twin."""
        if self.repairs is None:
            return not self.wrong
        return all(r.fixed for r in self.repairs)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "differences": self.differences,
            "seconds": round(self.seconds, 3),
            "seed": self.seed,
            "tables": {name: vars(t) for name, t in self.tallies.items()},
            "wrong": [r.to_json() for r in self.wrong],
            "unmappable": [u.to_json() for u in self.unmappable],
            "repairs": None if self.repairs is None else [r.to_json() for r in self.repairs],
        }


def validate(
    settings: Settings, options: Options, progress: Progress = lambda line: None
) -> Report:
    """Compare every selected row with its twin; repair the wrong twins when asked."""
    mappings = _selected(load_mappings(settings.mappings_dir), options.tables)
    _check_options(settings, options, mappings)
    seed = options.seed
    if options.sample is not None and seed is None:
        seed = random.SystemRandom().randrange(2**31)
    report = Report({m.table: Tally() for m in mappings}, seed=seed)
    start = time.monotonic()
    twins = Twins(settings, timeout=options.timeout)
    try:
        with ThreadPoolExecutor(options.concurrency, "streams-validate") as pool:
            checker = _Checker(settings, options, twins, pool, progress)
            for mapping in mappings:
                checker.table(mapping, report, seed or 0)
            if options.repair:
                report.repairs = checker.repair(report.wrong, mappings)
    finally:
        twins.close()
    report.seconds = time.monotonic() - start
    return report


def _check_options(settings: Settings, options: Options, mappings: list[TableMapping]) -> None:
    """Usage errors before any work: a sample Postgres cannot take, a seed without a
    sample, a tenant without rows."""
    if options.sample is not None and not 1 <= options.sample <= PG_BIGINT_MAX:
        raise ConfigError(f"--sample takes 1 to {PG_BIGINT_MAX} rows, not {options.sample}")
    if options.seed is not None and options.sample is None:
        raise ConfigError("--seed picks the rows of a sample: give --sample N with it")
    tenants = tuple(dict.fromkeys(options.tenants))
    if not tenants:
        return
    found: set[str] = set()
    for mapping in mappings:
        found |= tenants_with_rows(settings, mapping, tenants)
    absent = [t for t in tenants if t not in found]
    if absent:
        tables = ", ".join(m.table for m in mappings)
        names = ", ".join(repr(t) for t in absent)
        raise ConfigError(f"no rows of tenant(s) {names} in {tables}: check --tenant")


def _selected(mappings: dict[str, TableMapping], tables: Iterable[str]) -> list[TableMapping]:
    # A table named twice is checked once (its rows would otherwise count twice).
    wanted = list(dict.fromkeys(tables)) or sorted(mappings)
    unknown = [t for t in wanted if t not in mappings]
    if unknown:
        raise ConfigError(
            f"no mapping for table(s) {', '.join(unknown)}; mapped: {', '.join(sorted(mappings))}"
        )
    return [mappings[t] for t in wanted]


def _key(mapping: TableMapping, row: dict[str, Any]) -> str:
    return "/".join(str(row.get(c)) for c in mapping.key)


class _Checker:
    """One run's Ditto client, worker threads and progress."""

    def __init__(
        self,
        settings: Settings,
        options: Options,
        twins: Twins,
        pool: ThreadPoolExecutor,
        progress: Progress,
    ) -> None:
        self._settings = settings
        self._options = options
        self._twins = twins
        self._pool = pool
        self._progress = progress
        self._told = time.monotonic()

    def table(self, mapping: TableMapping, report: Report, seed: int) -> None:
        tally = report.tallies[mapping.table]
        seen: dict[str, str] = {}  # thing id -> key of the row that made it
        opts = self._options
        chunks = legacy_rows(
            self._settings, mapping, tenants=opts.tenants, sample=opts.sample, seed=seed
        )
        for chunk in chunks:
            mapped = list(self._mapped(mapping, chunk, seen, report))
            found = self.fetch([thing["thingId"] for _, thing in mapped])
            for row, thing in mapped:
                self._judge(mapping, row, thing, found.get(thing["thingId"]), report)
            self._tell(f"{mapping.table}: {tally.checked} rows checked, {_wrong(tally)} wrong")
        self._progress(f"{mapping.table}: {tally.checked} rows checked, {_wrong(tally)} wrong")

    def _mapped(
        self,
        mapping: TableMapping,
        chunk: list[dict[str, Any]],
        seen: dict[str, str],
        report: Report,
    ) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """(row, its twin) for each row that maps to one; the others are reported."""
        for row in chunk:
            key = _key(mapping, row)
            try:
                thing = to_thing(mapping, row, models_url=self._settings.thing_models_url)
            except MappingError as exc:
                self._unmappable(report, mapping.table, key, str(exc))
                continue
            other = seen.setdefault(thing["thingId"], key)
            if other != key:
                reason = f"row {other} makes the same thing id {thing['thingId']}"
                self._unmappable(report, mapping.table, key, reason)
                continue
            yield row, thing

    @staticmethod
    def _unmappable(report: Report, table: str, key: str, reason: str) -> None:
        report.tallies[table].unmappable += 1
        report.unmappable.append(Unmappable(table, key, reason))

    @staticmethod
    def _judge(
        mapping: TableMapping,
        row: dict[str, Any],
        thing: dict[str, Any],
        twin: dict[str, Any] | None,
        report: Report,
    ) -> None:
        tally = report.tallies[mapping.table]
        tally.checked += 1
        diffs = compare(mapping, row, thing, twin)
        if not diffs:
            tally.equal += 1
            return
        result = RowResult(
            mapping.table, _key(mapping, row), thing["thingId"], tuple(diffs), row, thing
        )
        if result.missing:
            tally.missing += 1
        else:
            tally.differing += 1
        report.wrong.append(result)

    def fetch(self, thing_ids: list[str]) -> dict[str, dict[str, Any]]:
        size = self._options.batch
        batches = [thing_ids[i : i + size] for i in range(0, len(thing_ids), size)]
        found: dict[str, dict[str, Any]] = {}
        for part in self._pool.map(self._twins.fetch, batches):
            found.update(part)
        return found

    def _tell(self, line: str) -> None:
        if time.monotonic() - self._told >= PROGRESS_EVERY_S:
            self._progress(line)
            self._told = time.monotonic()

    # -- repair ---------------------------------------------------------------------------

    def repair(self, wrong: list[RowResult], mappings: list[TableMapping]) -> list[Repaired]:
        """Send each wrong twin its fix, then read the twins again and compare."""
        if not wrong:
            return []
        headers = {ORIGIN_HEADER: ORIGIN_LEGACY, "correlation-id": _correlation_id()}
        sent = list(self._pool.map(lambda r: self._send_fix(r, headers), wrong))
        self._progress(f"repair: {len(sent)} command(s) sent; reading the twins again")
        found = self.fetch([r.thing_id for r in wrong])
        by_table = {m.table: m for m in mappings}
        return [
            _after(by_table[result.table], result, command, found.get(result.thing_id))
            for result, command in zip(wrong, sent, strict=True)
        ]

    def _send_fix(self, result: RowResult, headers: dict[str, str]) -> tuple[str, int | str]:
        """(command, Ditto's status or the error that stopped it)."""
        try:
            if result.missing:
                return "modify", self._twins.modify(result.expected, headers)
            # if-match: * keeps a merge from creating a twin deleted meanwhile with only
            # these paths (as the sync's own merges do).
            patch = repair_patch(result.expected, list(result.diffs))
            status = self._twins.merge_exact(result.thing_id, patch, {**headers, "if-match": "*"})
            return "merge", status
        except RejectedByDittoError as exc:
            return ("modify" if result.missing else "merge"), _refusal(exc, result.thing_id)
        except (StackError, ConfigError) as exc:
            return ("modify" if result.missing else "merge"), str(exc)


def _refusal(exc: RejectedByDittoError, thing_id: str) -> str:
    """Ditto's refusal in a line, with the fix where we know it."""
    text = f"Ditto refused ({exc.status} {exc.ditto_error})"
    return f"{text}: {known_fix(exc.ditto_error, thing_id) or exc.ditto_message}"


def _after(
    mapping: TableMapping,
    result: RowResult,
    command: tuple[str, int | str],
    twin: dict[str, Any] | None,
) -> Repaired:
    name, outcome = command
    remaining = tuple(compare(mapping, result.row, result.expected, twin))
    if isinstance(outcome, str):
        return Repaired(result.thing_id, name, None, remaining, outcome)
    return Repaired(result.thing_id, name, outcome, remaining)


def _correlation_id() -> str:
    return f"streams:validate@{uuid.uuid4().hex[:12]}"


def _wrong(tally: Tally) -> int:
    return tally.differing + tally.missing


__all__ = ["Options", "Repaired", "Report", "RowResult", "Tally", "Unmappable", "validate"]
