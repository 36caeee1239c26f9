"""The sink's row-by-row statements (the fast path's set-wise ones are in _set_sql).

Identifiers are quoted by psycopg.sql, values are always parameters.

An upsert is two statements, not `INSERT ... ON CONFLICT DO UPDATE`: Postgres checks
NOT NULL on the proposed row before it looks for a conflict, so a change of a few
columns of an existing row (a merge) would fail on every NOT NULL column it does not
name. Hence:
1. UPDATE the touched columns of the row, under the revision guard;
2. INSERT the row only where no row of that key exists (a new row must be complete, and
   Postgres says so if it is not); ON CONFLICT covers a row inserted concurrently.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from psycopg import sql

REVISION_COLUMN = "twin_revision"


def _guard(table: str, value: sql.Composable) -> sql.Composed:
    """Only a row the sink never wrote, or wrote at an older revision."""
    revision = sql.Identifier(table, REVISION_COLUMN)
    return sql.SQL("({rev} IS NULL OR {rev} < {value})").format(rev=revision, value=value)


def _match(table: str, keys: Sequence[str]) -> sql.Composed:
    return sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(table, k)) for k in keys)


def _names(names: Sequence[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _placeholders(count: int) -> sql.Composed:
    return sql.SQL(", ").join(sql.Placeholder() * count)


@lru_cache(maxsize=256)
def delete_sql(table: str, keys: tuple[str, ...]) -> sql.Composed:
    """Params: key values, revision."""
    return sql.SQL("DELETE FROM {t} WHERE {match} AND {guard}").format(
        t=sql.Identifier(table), match=_match(table, keys), guard=_guard(table, sql.Placeholder())
    )


@lru_cache(maxsize=256)
def update_sql(table: str, keys: tuple[str, ...], columns: tuple[str, ...]) -> sql.Composed:
    """Params: column values, revision, key values, revision."""
    sets = sql.SQL(", ").join(
        sql.SQL("{} = %s").format(sql.Identifier(c)) for c in (*columns, REVISION_COLUMN)
    )
    return sql.SQL("UPDATE {t} SET {sets} WHERE {match} AND {guard}").format(
        t=sql.Identifier(table),
        sets=sets,
        match=_match(table, keys),
        guard=_guard(table, sql.Placeholder()),
    )


@lru_cache(maxsize=256)
def insert_sql(table: str, keys: tuple[str, ...], columns: tuple[str, ...]) -> sql.Composed:
    """Params: key values, column values, revision, key values."""
    names = (*keys, *columns, REVISION_COLUMN)
    sets = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
        for c in (*columns, REVISION_COLUMN)
    )
    excluded = sql.SQL("EXCLUDED.{}").format(sql.Identifier(REVISION_COLUMN))
    return sql.SQL(
        "INSERT INTO {t} ({names}) SELECT {values} "
        "WHERE NOT EXISTS (SELECT 1 FROM {t} WHERE {match}) "
        "ON CONFLICT ({keys}) DO UPDATE SET {sets} WHERE {guard}"
    ).format(
        t=sql.Identifier(table),
        names=_names(names),
        values=_placeholders(len(names)),
        match=_match(table, keys),
        keys=_names(keys),
        sets=sets,
        guard=_guard(table, excluded),
    )


def delete_params(key: Sequence[Any], revision: int) -> list[Any]:
    return [*key, revision]


def update_params(key: Sequence[Any], values: Sequence[Any], revision: int) -> list[Any]:
    return [*values, revision, *key, revision]


def insert_params(key: Sequence[Any], values: Sequence[Any], revision: int) -> list[Any]:
    return [*key, *values, revision, *key]


__all__ = [
    "REVISION_COLUMN",
    "delete_params",
    "delete_sql",
    "insert_params",
    "insert_sql",
    "update_params",
    "update_sql",
]
