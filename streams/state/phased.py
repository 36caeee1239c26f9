"""Both flows under the migration phase: what a phase holds back and who wins a conflict.

The agents call these instead of the flows themselves; tests call them over dicts. The
rules are streams.state.phase (direction) and streams.state.conflict (winner).
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, replace
from typing import Any

from streams.cdc import CdcRecord, RowChange, Tombstone
from streams.ditto.protocol import ORIGIN_HEADER, decode, encode, parse_event
from streams.mapping import TableMapping
from streams.state import conflict, legacy_flow, twin_flow
from streams.state.phase import Direction, Phase, Side, Timeline, check_direction, rules
from streams.state.staged import Staged


@dataclass(frozen=True, slots=True)
class Conflict:
    """A row edit and a twin edit crossed on `columns`; `winner`'s values stay."""

    thing_id: str
    columns: tuple[str, ...]
    winner: Side
    phase: Phase
    correlation_id: str


@dataclass(frozen=True, slots=True)
class LegacyConflicts:
    """The legacy side's view: `written` is the other agent's, `marks` its own store."""

    mappings: Mapping[str, TableMapping]
    written: Mapping[str, Any]  # thing id -> conflict.Written
    marks: MutableMapping[str, Any]  # thing id -> conflict.Marks

    def settle(
        self, outcome: legacy_flow.Commands, phase: Phase
    ) -> tuple[legacy_flow.Outcome, list[Conflict]]:
        mapping = self.mappings[outcome.table]
        sent: list[dict[str, Any]] = []
        found: list[Conflict] = []
        for command in outcome.commands:
            kept, crossed = self._one(outcome.change, outcome.thing_id, mapping, command, phase)
            if kept is not None:
                sent.append(kept)
            if crossed is not None:
                found.append(crossed)
        if not sent:
            reason = f"every changed column lost a conflict to Ditto in phase {phase}"
            return legacy_flow.Skipped("conflict", reason, outcome.thing_id), found
        return replace(outcome, commands=tuple(sent)), found

    def _one(
        self,
        change: RowChange | Tombstone | None,
        thing_id: str,
        mapping: TableMapping,
        command: dict[str, Any],
        phase: Phase,
    ) -> tuple[dict[str, Any] | None, Conflict | None]:
        changed = conflict.changed_columns(mapping, command)
        if not changed:
            return command, None
        written = self.written.get(thing_id)
        crossed = conflict.crossing(changed, _row_revision(change), written)
        winner = rules(phase).winner
        correlation_id = str(command["headers"]["correlation-id"])
        restore = crossed if winner is Side.LEGACY else []
        previous = self.marks.get(thing_id)
        marks = conflict.marks_after(previous, changed, restore, correlation_id)
        if marks != (previous or {}):
            self.marks[thing_id] = marks
        if not crossed:
            return command, None
        found = Conflict(thing_id, tuple(crossed), winner, phase, correlation_id)
        if winner is Side.DITTO:
            return conflict.without(mapping, command, crossed), found
        return command, found


def _row_revision(change: RowChange | Tombstone | None) -> int | None:
    # The change the flow decoded (JSON or Avro alike), never the record decoded again.
    row = change.row if isinstance(change, RowChange) else None
    revision = None if row is None else row.get("twin_revision")
    return None if revision is None else int(revision)


@dataclass(frozen=True, slots=True)
class TwinConflicts:
    """The Ditto side's view: `marks` is the other agent's, `written` its own store."""

    marks: Mapping[str, Any]  # thing id -> conflict.Marks
    written: MutableMapping[str, Any]  # thing id -> conflict.Written

    def restore(
        self,
        flow: twin_flow.TwinFlow,
        data: bytes | str,
        revisions: Mapping[str, Any],
        owners: Mapping[str, str],
    ) -> twin_flow.Write | None:
        """For the echo of a command that won a conflict: its marked columns, as a row write."""
        message = decode(data)
        headers = message.get("headers") or {}
        thing_id = parse_event(message).thing_id
        columns = conflict.marked(self.marks.get(thing_id), headers.get("correlation-id"))
        if not columns:
            return None
        # The same event as if a person had made it: the flow maps it to the row's columns.
        plain = {**message, "headers": {k: v for k, v in headers.items() if k != ORIGIN_HEADER}}
        outcome = flow.process(encode(plain), revisions, owners)
        if not isinstance(outcome, twin_flow.Write):
            return None
        change = outcome.change
        kept = {c: v for c, v in change.columns.items() if c in columns}
        if not kept:
            return None
        return replace(outcome, change=replace(change, columns=kept), unmapped=())

    def remember(self, outcome: twin_flow.Outcome) -> None:
        """Once a row change is sent: its columns now wait for the sink at its revision."""
        if not isinstance(outcome, twin_flow.Write) or not outcome.change.columns:
            return
        change = outcome.change
        previous = self.written.get(change.thing_id)
        self.written[change.thing_id] = conflict.written_after(
            previous, change.columns, change.revision
        )


def legacy_outcome(
    flow: legacy_flow.LegacyFlow,
    record: CdcRecord,
    states: MutableMapping[str, Any],
    owners: MutableMapping[str, str],
    phases: Phase | Timeline,
    conflicts: LegacyConflicts | None = None,
) -> tuple[legacy_flow.Outcome, list[Conflict]]:
    """A CDC record's commands, or HeldByPhaseError when the phase in force at the row's
    commit does not send them.

    A held change leaves the key's state as it was (the flow writes into a Staged view):
    the state must stay what the twin holds, so that the next change sent after a
    rollback is diffed against the twin and carries the held columns too.
    """
    staged = Staged(states)
    outcome = flow.process(record, staged, owners)
    found: list[Conflict] = []
    if isinstance(outcome, legacy_flow.Commands):
        change = outcome.change
        phase = _at(phases, change.source.ts_ms if isinstance(change, RowChange) else None)
        what = f"the change of the {outcome.table} row of {outcome.thing_id}"
        check_direction(phase, Direction.LEGACY_TO_DITTO, what)
        if conflicts is not None:
            outcome, found = conflicts.settle(outcome, phase)
    staged.commit()
    return outcome, found


def twin_outcome(
    flow: twin_flow.TwinFlow,
    data: bytes | str,
    revisions: Mapping[str, Any],
    owners: Mapping[str, str],
    phases: Phase | Timeline,
    conflicts: TwinConflicts | None = None,
) -> twin_flow.Outcome:
    """A twin event's row change, or HeldByPhaseError when the phase in force at the
    event's timestamp does not write it.

    Echoes and duplicates pass in every phase: they write no row, and the revision they
    move on is what keeps the next event's gate right. A held edit is not remembered.
    The echo of a command that won a conflict writes its marked columns in every phase:
    it puts legacy's own value back into its row, it carries no twin edit.
    """
    outcome = flow.process(data, revisions, owners)
    if conflicts is not None and isinstance(outcome, twin_flow.Skipped):
        if outcome.kind == "echo":
            restored = conflicts.restore(flow, data, revisions, owners)
            if restored is not None:
                return restored
        return outcome
    if isinstance(outcome, twin_flow.Write):
        change = outcome.change
        what = f"the twin edit of {change.thing_id} at revision {change.revision}"
        made = None if change.source_ts is None else int(change.source_ts.timestamp() * 1000)
        check_direction(_at(phases, made), Direction.DITTO_TO_LEGACY, what)
    return outcome


def _at(phases: Phase | Timeline, ts_ms: int | None) -> Phase:
    return phases if isinstance(phases, Phase) else phases.at(ts_ms)


__all__ = ["Conflict", "LegacyConflicts", "TwinConflicts", "legacy_outcome", "twin_outcome"]
