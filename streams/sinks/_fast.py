"""The fast path of a batch: reduce it to one plan per row, write the plans set-wise.

Runs inside the batch's transaction. Steps:
1. the column types of every table in the batch (from the catalog, cached per
   connection); a column the table lacks sends the batch row by row, where Postgres
   names the bad change;
2. each row's current revision (one statement per table), the floor of the reduction;
3. the reduction (see _batch): stale changes drop out, the rest merge per row;
4. deletes (fresh rows' deletes included) before upserts, one statement per group of
   rows that share table, key columns and touched columns; an upsert group is an UPDATE
   under the guard and an INSERT of the keys that have no row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from streams.sinks import _set_sql
from streams.sinks._batch import RowId, RowPlan, reduce_batch, row_id
from streams.sinks._sql import REVISION_COLUMN
from streams.state.twin_flow import SinkChange

GroupKey = tuple[str, tuple[str, ...], Any]


class NeedsRowByRow(Exception):
    """The batch names a table or column Postgres lacks: only row by row can say which."""


@dataclass(frozen=True, slots=True)
class FastResult:
    written: int
    skipped: int


class TypeCache:
    """Column types per table, as the connection's catalog has them."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, str]] = {}

    def clear(self) -> None:
        self._tables.clear()

    def of(self, cur: psycopg.Cursor[Any], table: str) -> dict[str, str]:
        if table not in self._tables:
            name = sql.Identifier(table).as_string(cur.connection)
            cur.execute(_set_sql.COLUMN_TYPES_SQL, (name,))
            self._tables[table] = {str(n): str(t) for n, t in cur.fetchall()}
        return self._tables[table]


def write_fast(
    cur: psycopg.Cursor[Any], changes: Sequence[SinkChange], cache: TypeCache
) -> FastResult:
    types = {t: _checked_types(cur, cache, t, changes) for t in {c.table for c in changes}}
    reduced = reduce_batch(changes, _floors(cur, changes, types))
    written = 0
    for (table, keys, fresh), plans in _groups(reduced.plans, _delete_group).items():
        rows = [[*(p.key[k] for k in keys), p.delete_revision] for p in plans]
        cur.execute(_set_sql.delete_sql(table, keys, types[table]), _set_sql.arrays(rows))
        written += 0 if fresh else cur.rowcount
    for (table, keys, columns), plans in _groups(reduced.plans, _upsert_group).items():
        rows = [[*(p.key[k] for k in keys), *_columns(p, columns), p.revision] for p in plans]
        params = _set_sql.arrays(rows)
        cur.execute(_set_sql.update_sql(table, keys, columns, types[table]), params)
        written += cur.rowcount
        cur.execute(_set_sql.insert_sql(table, keys, columns, types[table]), params)
        written += cur.rowcount
    # Each plan counts once: by its upsert, or by its delete when it has no upsert.
    return FastResult(written, len(reduced.plans) - written + len(reduced.stale))


def _checked_types(
    cur: psycopg.Cursor[Any], cache: TypeCache, table: str, changes: Sequence[SinkChange]
) -> dict[str, str]:
    types = cache.of(cur, table)
    named = {REVISION_COLUMN}
    for change in changes:
        if change.table == table:
            named.update(change.key, change.columns)
    if not named <= types.keys():
        raise NeedsRowByRow(f"{table} lacks {sorted(named - types.keys())}")
    return types


def _floors(
    cur: psycopg.Cursor[Any], changes: Sequence[SinkChange], types: Mapping[str, Mapping[str, str]]
) -> dict[RowId, int]:
    """The revision each row of the batch holds now.

    No lock is needed: only the sink writes `twin_revision`, and sink transactions
    follow one another because each holds the replication origin.
    """
    wanted: dict[tuple[str, tuple[str, ...]], dict[RowId, list[Any]]] = {}
    for change in changes:
        shape = wanted.setdefault((change.table, tuple(change.key)), {})
        shape[row_id(change.table, change.key)] = list(change.key.values())
    floors: dict[RowId, int] = {}
    for (table, names), rows in wanted.items():
        query = _set_sql.floors_sql(table, names, types[table])
        cur.execute(query, _set_sql.arrays(list(rows.values())))
        for *key, revision in cur.fetchall():
            if revision is not None:
                floors[row_id(table, dict(zip(names, key, strict=True)))] = revision
    return floors


def _groups(
    plans: Sequence[RowPlan], group_of: Callable[[RowPlan], GroupKey | None]
) -> dict[GroupKey, list[RowPlan]]:
    groups: dict[GroupKey, list[RowPlan]] = {}
    for plan in plans:
        key = group_of(plan)
        if key is not None:
            groups.setdefault(key, []).append(plan)
    return groups


def _delete_group(plan: RowPlan) -> GroupKey | None:
    if plan.delete_revision is None:
        return None
    return plan.table, tuple(sorted(plan.key)), plan.fresh


def _upsert_group(plan: RowPlan) -> GroupKey | None:
    if plan.columns is None:
        return None
    return plan.table, tuple(sorted(plan.key)), tuple(sorted(plan.columns))


def _columns(plan: RowPlan, names: Sequence[str]) -> list[Any]:
    assert plan.columns is not None
    return [plan.columns[n] for n in names]


__all__ = ["FastResult", "NeedsRowByRow", "TypeCache", "write_fast"]
