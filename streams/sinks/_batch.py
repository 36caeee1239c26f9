"""A batch of SinkChanges reduced to one plan per row: the fast path writes the plans.

The reduction must give the row the state that writing the changes one by one, in
order, under the revision guard would give it. Merging two changes is only safe when
the guard would let both through, so the caller passes each row's revision as the
database holds it (the floor). Per key, in batch order:

1. a change whose revision is not above the floor, nor above the highest one already
   seen for its key in this batch, is stale: the guard would refuse it, so it is
   dropped here (and counted as skipped). Without the floor, a replayed change older
   than the row could ride along in a merge with a newer one and regress a column;
2. an upsert after upserts merges into them: later columns override, the revision is
   the newest;
3. a delete wins over the upserts before it: they are forgotten;
4. an upsert after a delete is a fresh row: the plan deletes the old row first (guarded
   by the delete's revision), then inserts, so no column of the old row survives.

Pure: no I/O, so the rules are tested without a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from streams.state.twin_flow import SinkChange, SinkOp


@dataclass(slots=True)
class RowPlan:
    """What one row of the batch ends up as."""

    table: str
    key: dict[str, Any]
    revision: int  # the newest revision the batch holds for this row
    delete_revision: int | None = None  # delete the row first, guarded by this revision
    columns: dict[str, Any] | None = None  # then upsert these (None: no upsert)
    sources: list[int] = field(default_factory=list)  # positions in the batch

    @property
    def fresh(self) -> bool:
        """A delete followed by an upsert: the delete only clears the way."""
        return self.delete_revision is not None and self.columns is not None


@dataclass(frozen=True, slots=True)
class Reduced:
    plans: list[RowPlan]
    stale: list[int]  # positions of changes dropped by rule 1


RowId = tuple[str, tuple[tuple[str, Any], ...]]


def row_id(table: str, key: Mapping[str, Any]) -> RowId:
    """Identity of a row: its table and key values (equal values, equal ids: 7 == 7.0)."""
    return table, tuple(sorted(key.items()))


def reduce_batch(
    changes: Sequence[SinkChange], floors: Mapping[RowId, int] | None = None
) -> Reduced:
    """One plan per row, in the order each row first appears in the batch.

    `floors`: the revision each existing row holds (rows absent or never written by the
    sink have none).
    """
    plans: dict[RowId, RowPlan] = {}
    stale: list[int] = []
    for index, change in enumerate(changes):
        ident = row_id(change.table, change.key)
        plan = plans.get(ident)
        floor = plan.revision if plan is not None else (floors or {}).get(ident)
        if floor is not None and change.revision <= floor:
            stale.append(index)
            continue
        if plan is None:
            plan = plans[ident] = RowPlan(change.table, dict(change.key), change.revision)
        _apply(plan, change)
        plan.sources.append(index)
    return Reduced(list(plans.values()), stale)


def _apply(plan: RowPlan, change: SinkChange) -> None:
    plan.revision = change.revision
    if change.op is SinkOp.DELETE:
        plan.delete_revision, plan.columns = change.revision, None
    elif plan.columns is None:
        plan.columns = dict(change.columns)
    else:
        plan.columns.update(change.columns)


__all__ = ["Reduced", "RowId", "RowPlan", "reduce_batch", "row_id"]
