"""The fast path's statements: one statement per group of rows, not one per row.

Each column of a group travels as one text[] parameter, cast in SQL to the column's own
type, and `unnest` turns the arrays back into rows. So a batch costs a handful of
statements whatever its size, and every value keeps its exact text (a NUMERIC is never
a float, a timestamp keeps its offset). The column types come from the catalog
(`format_type`), so the casts are Postgres' own type names, never text from a record.

The statements keep the guarantees of the row-by-row ones in _sql: the revision guard,
only the touched columns, UPDATE then INSERT-if-absent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from psycopg import sql

from streams.sinks._sql import REVISION_COLUMN

Types = Mapping[str, str]  # column -> its type as format_type() writes it

COLUMN_TYPES_SQL = sql.SQL(
    "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
    "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped"
)

_ROW = "_row"  # the table's alias
_NEW = "_new"  # the alias of the unnested batch


def as_text(value: Any) -> str | None:
    """A column value as the exact text Postgres parses back into it."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"no column value: {value!r}")


def _unnest(names: Sequence[str], types: Types) -> sql.Composed:
    arrays = sql.SQL(", ").join(
        sql.SQL("%s::text[]::{}[]").format(sql.SQL(types[name])) for name in names
    )
    return sql.SQL("unnest({arrays}) AS {new}({names})").format(
        arrays=arrays,
        new=sql.Identifier(_NEW),
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
    )


def _match(keys: Sequence[str]) -> sql.Composed:
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier(_ROW, k), sql.Identifier(_NEW, k)) for k in keys
    )


def _guard(value: sql.Composable) -> sql.Composed:
    rev = sql.Identifier(_ROW, REVISION_COLUMN)
    return sql.SQL("({rev} IS NULL OR {rev} < {value})").format(rev=rev, value=value)


def _new_revision() -> sql.Composed:
    return sql.SQL("{}").format(sql.Identifier(_NEW, REVISION_COLUMN))


def floors_sql(table: str, keys: Sequence[str], types: Types) -> sql.Composed:
    """Key values and revision of each existing row. Params: one array per key column."""
    return sql.SQL("SELECT {keys}, {rev} FROM {t} AS {row} JOIN {new} ON {match}").format(
        keys=sql.SQL(", ").join(sql.Identifier(_ROW, k) for k in keys),
        rev=sql.Identifier(_ROW, REVISION_COLUMN),
        t=sql.Identifier(table),
        row=sql.Identifier(_ROW),
        new=_unnest(keys, types),
        match=_match(keys),
    )


def delete_sql(table: str, keys: Sequence[str], types: Types) -> sql.Composed:
    """Params: one array per key column, then the revisions."""
    return sql.SQL("DELETE FROM {t} AS {row} USING {new} WHERE {match} AND {guard}").format(
        t=sql.Identifier(table),
        row=sql.Identifier(_ROW),
        new=_unnest([*keys, REVISION_COLUMN], types),
        match=_match(keys),
        guard=_guard(_new_revision()),
    )


def update_sql(
    table: str, keys: Sequence[str], columns: Sequence[str], types: Types
) -> sql.Composed:
    """Params: one array per key column, per column, then the revisions."""
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Identifier(_NEW, c))
        for c in (*columns, REVISION_COLUMN)
    )
    return sql.SQL("UPDATE {t} AS {row} SET {sets} FROM {new} WHERE {match} AND {guard}").format(
        t=sql.Identifier(table),
        row=sql.Identifier(_ROW),
        sets=sets,
        new=_unnest([*keys, *columns, REVISION_COLUMN], types),
        match=_match(keys),
        guard=_guard(_new_revision()),
    )


def insert_sql(
    table: str, keys: Sequence[str], columns: Sequence[str], types: Types
) -> sql.Composed:
    """Params: as update_sql. Inserts only keys without a row (see _sql for why)."""
    names = [*keys, *columns, REVISION_COLUMN]
    sets = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
        for c in (*columns, REVISION_COLUMN)
    )
    return sql.SQL(
        "INSERT INTO {t} AS {row} ({names}) SELECT {values} FROM {new} "
        "WHERE NOT EXISTS (SELECT 1 FROM {t} AS {row} WHERE {match}) "
        "ON CONFLICT ({keys}) DO UPDATE SET {sets} WHERE {guard}"
    ).format(
        t=sql.Identifier(table),
        row=sql.Identifier(_ROW),
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
        values=sql.SQL(", ").join(sql.Identifier(_NEW, n) for n in names),
        new=_unnest(names, types),
        match=_match(keys),
        keys=sql.SQL(", ").join(map(sql.Identifier, keys)),
        sets=sets,
        guard=_guard(sql.SQL("EXCLUDED.{}").format(sql.Identifier(REVISION_COLUMN))),
    )


def _element(value: Any) -> str:
    text = value if type(value) is str else as_text(value)
    if text is None:
        return "NULL"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_literal(values: Sequence[Any]) -> str:
    """Postgres' array input syntax for text elements: every element quoted, NULL bare.

    Written here rather than by psycopg's generic list adapter, which costs as much
    Python time per batch as the statements cost Postgres.
    """
    return "{" + ",".join(map(_element, values)) + "}"


def arrays(rows: Sequence[Sequence[Any]]) -> list[str]:
    """Rows of values -> one text array literal per column (the statements' parameters)."""
    return [array_literal(column) for column in zip(*rows, strict=True)]


__all__ = [
    "COLUMN_TYPES_SQL",
    "Types",
    "array_literal",
    "arrays",
    "as_text",
    "delete_sql",
    "floors_sql",
    "insert_sql",
    "update_sql",
]
