"""A replay's fold: the commands of a stretch of CDC history reduced to one final write
per twin.

A replay must never walk a twin back through old images (each intermediate write would
be a revision, and an event the way back reads), so it keeps, per thing, only what the
last change leaves:

1. a delete (a `d` row or a tombstone) leaves DELETE;
2. a whole row image (no TOAST-unavailable column) leaves MODIFY of the whole twin,
   mapped from that row exactly as a create would be, whatever came before;
3. a row with unavailable columns can only say what changed: its commands are applied
   to what the fold holds (a merge patch onto a whole twin stays a whole twin; onto
   nothing it stays a MERGE patch, composed with later patches, which Ditto can apply
   only to a twin that exists).

Headers of a final write are those of the last command of its thing, so Ditto's events
carry the correlation id and source position of the change that set the twin's state.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from streams.cdc import Op, RecordOrigin, RowChange, Tombstone
from streams.mapping import TableMapping, to_thing
from streams.state.legacy_flow import Commands


class TwinOp(StrEnum):
    MODIFY = "modify"
    MERGE = "merge"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class FinalTwin:
    """One write: the whole twin (MODIFY), a merge patch (MERGE) or nothing (DELETE)."""

    thing_id: str
    table: str
    op: TwinOp
    value: dict[str, Any] | None
    headers: dict[str, Any]
    origin: RecordOrigin  # the last record that changed this twin


class ReplayFold:
    """Collects the Commands outcomes of a replay; `twins()` gives one write per thing."""

    def __init__(self, mappings: Mapping[str, TableMapping], *, models_url: str) -> None:
        self._mappings = dict(mappings)
        self._models_url = models_url
        self._twins: dict[str, FinalTwin] = {}

    def __len__(self) -> int:
        return len(self._twins)

    def add(self, outcome: Commands) -> None:
        change = outcome.change
        if change is None or not outcome.commands:
            raise ValueError(f"{outcome.thing_id}: a replay folds commands with their change")
        headers = dict(outcome.commands[-1].get("headers") or {})
        op, value = self._final(outcome, change)
        self._twins[outcome.thing_id] = FinalTwin(
            outcome.thing_id, outcome.table, op, value, headers, change.origin
        )

    def twins(self) -> list[FinalTwin]:
        return [self._twins[thing_id] for thing_id in sorted(self._twins)]

    def counts(self) -> dict[str, Counter[str]]:
        """table -> operation -> number of twins."""
        counts: dict[str, Counter[str]] = {}
        for twin in self._twins.values():
            counts.setdefault(twin.table, Counter())[twin.op.value] += 1
        return counts

    def _final(
        self, outcome: Commands, change: RowChange | Tombstone
    ) -> tuple[TwinOp, dict[str, Any] | None]:
        if isinstance(change, Tombstone) or change.op is Op.DELETE:
            return TwinOp.DELETE, None
        if change.row is not None and not change.unavailable:
            mapping = self._mappings[outcome.table]
            thing = to_thing(mapping, change.row, models_url=self._models_url, key=change.key)
            return TwinOp.MODIFY, dict(thing)
        held = self._twins.get(outcome.thing_id)
        op, value = (held.op, held.value) if held is not None else (TwinOp.DELETE, None)
        for command in outcome.commands:
            op, value = _apply(op, value, command)
        return op, value


def _apply(
    op: TwinOp, value: dict[str, Any] | None, command: Mapping[str, Any]
) -> tuple[TwinOp, dict[str, Any] | None]:
    """What the fold holds after one more command (rule 3)."""
    action = str(command["topic"]).rsplit("/", 1)[-1]
    if action == "delete":
        return TwinOp.DELETE, None
    if action == "modify":
        return TwinOp.MODIFY, dict(command["value"])
    patch = dict(command["value"])
    if op is TwinOp.MODIFY and value is not None:
        return TwinOp.MODIFY, apply_merge_patch(value, patch)
    if op is TwinOp.MERGE and value is not None:
        return TwinOp.MERGE, compose_merge_patches(value, patch)
    return TwinOp.MERGE, patch


def apply_merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7396: `patch` applied to `target` (a null removes the member)."""
    result = dict(target)
    for name, change in patch.items():
        if change is None:
            result.pop(name, None)
        elif isinstance(change, Mapping):
            below = result.get(name)
            result[name] = apply_merge_patch(below if isinstance(below, Mapping) else {}, change)
        else:
            result[name] = change
    return result


def compose_merge_patches(first: Mapping[str, Any], then: Mapping[str, Any]) -> dict[str, Any]:
    """One patch that does what applying `first`, then `then`, does (nulls kept)."""
    result = dict(first)
    for name, change in then.items():
        below = result.get(name)
        if isinstance(change, Mapping) and isinstance(below, Mapping):
            result[name] = compose_merge_patches(below, change)
        else:
            result[name] = change
    return result


__all__ = [
    "FinalTwin",
    "ReplayFold",
    "TwinOp",
    "apply_merge_patch",
    "compose_merge_patches",
]
