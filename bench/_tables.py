"""The sink bench's tables: copies of `wells` that stamp every row write, compared at the end.

Each contestant writes its own copy (`CREATE TABLE ... (LIKE wells INCLUDING ALL)`: the
same columns, types, defaults, primary key; no foreign key, so no basin rows are
needed). A row trigger stamps each write with the database clock: `bench_first_write`
when the row is inserted, `bench_last_write` on every insert and update. So both sinks
are timed by one clock at the same point (the row written, inside its transaction),
from the first row to the last, whatever their client does; process start-up and
consumer-group joins are not counted. Both pay the same trigger per row.

The bench tables are in `public` but not in the connector's table.include.list, so
Debezium captures none of their writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

SOURCE_TABLE = "wells"
STAMPS = ("bench_first_write", "bench_last_write")

_STAMP_FUNCTION = """
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.bench_first_write := clock_timestamp();
    ELSE
        NEW.bench_first_write := OLD.bench_first_write;
    END IF;
    NEW.bench_last_write := clock_timestamp();
    RETURN NEW;
END
$$
"""


@dataclass(frozen=True)
class Progress:
    rows: int  # rows that exist
    updated: int  # rows at their last change (twin_revision 2)


@dataclass(frozen=True)
class Span:
    first: datetime | None
    last: datetime | None

    @property
    def seconds(self) -> float:
        if self.first is None or self.last is None:
            return 0.0
        return (self.last - self.first).total_seconds()


def _connect(dsn: str) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True, application_name="ditto-streams-bench")


def create(dsn: str, table: str, function: str) -> None:
    """A fresh copy of wells named `table` (replacing one of that name), with the stamp
    trigger of `function`."""
    with _connect(dsn) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))
        conn.execute(sql.SQL(_STAMP_FUNCTION).format(function=sql.Identifier(function)))
        conn.execute(
            sql.SQL("CREATE TABLE {t} (LIKE {src} INCLUDING ALL)").format(
                t=sql.Identifier(table), src=sql.Identifier(SOURCE_TABLE)
            )
        )
        stamps = sql.SQL(", ").join(
            sql.SQL("ADD COLUMN {} timestamptz").format(sql.Identifier(name)) for name in STAMPS
        )
        conn.execute(sql.SQL("ALTER TABLE {t} {s}").format(t=sql.Identifier(table), s=stamps))
        conn.execute(
            sql.SQL(
                "CREATE TRIGGER bench_stamp BEFORE INSERT OR UPDATE ON {t} "
                "FOR EACH ROW EXECUTE FUNCTION {f}()"
            ).format(t=sql.Identifier(table), f=sql.Identifier(function))
        )


def progress(dsn: str, table: str) -> Progress:
    query = sql.SQL("SELECT count(*), count(*) FILTER (WHERE twin_revision = 2) FROM {}")
    with _connect(dsn) as conn:
        row = conn.execute(query.format(sql.Identifier(table))).fetchone()
    assert row is not None
    return Progress(int(row[0]), int(row[1]))


def span(dsn: str, table: str) -> Span:
    query = sql.SQL("SELECT min({a}), max({b}) FROM {t}").format(
        a=sql.Identifier(STAMPS[0]), b=sql.Identifier(STAMPS[1]), t=sql.Identifier(table)
    )
    with _connect(dsn) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return Span(row[0], row[1])


def differences(dsn: str, left: str, right: str) -> tuple[int, int]:
    """Rows of `left` not in `right` and rows of `right` not in `left`, every wells column."""
    with _connect(dsn) as conn:
        columns = _columns(conn)
        return _except(conn, left, right, columns), _except(conn, right, left, columns)


def _columns(conn: psycopg.Connection[Any]) -> sql.Composed:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (SOURCE_TABLE,),
    ).fetchall()
    return sql.SQL(", ").join(sql.Identifier(str(name)) for (name,) in rows)


def _except(conn: psycopg.Connection[Any], a: str, b: str, columns: sql.Composed) -> int:
    query = sql.SQL("SELECT count(*) FROM (SELECT {c} FROM {a} EXCEPT ALL SELECT {c} FROM {b}) d")
    row = conn.execute(query.format(c=columns, a=sql.Identifier(a), b=sql.Identifier(b))).fetchone()
    assert row is not None
    return int(row[0])


def drop(dsn: str, prefix: str, function: str) -> list[str]:
    """Drop every table whose name starts with `prefix`, then the trigger function."""
    with _connect(dsn) as conn:
        names = [
            str(name)
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND starts_with(tablename, %s)",
                (prefix,),
            ).fetchall()
        ]
        for name in names:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("DROP FUNCTION IF EXISTS {}()").format(sql.Identifier(function)))
    return names


__all__ = ["STAMPS", "Progress", "Span", "create", "differences", "drop", "progress", "span"]
