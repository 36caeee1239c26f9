"""Rows of a mapped legacy table, all or a seeded random sample, of all tenants or some."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from streams.config import Settings
from streams.errors import StackError
from streams.mapping import TableMapping

CHUNK = 500
PG_BIGINT_MAX = 2**63 - 1  # the largest LIMIT Postgres accepts


def _where(mapping: TableMapping, tenants: tuple[str, ...]) -> sql.Composable:
    if not tenants or mapping.tenant_column is None:
        return sql.SQL("")
    return sql.SQL(" WHERE {c} = ANY(%(tenants)s)").format(c=sql.Identifier(mapping.tenant_column))


def _query(mapping: TableMapping, tenants: tuple[str, ...], sample: int | None) -> sql.Composed:
    where = _where(mapping, tenants)
    key = sql.SQL(", ").join(sql.Identifier(c) for c in mapping.key)
    # By key, so that reports list rows in one order run after run.
    order: sql.Composable = sql.SQL(" ORDER BY {k}").format(k=key)
    if sample is not None:
        # A hash of key and seed orders the rows: the same seed picks the same sample,
        # and Postgres does the picking, so a large table never travels whole.
        order = sql.SQL(" ORDER BY md5(concat_ws('/', {k}) || %(seed)s) LIMIT %(n)s").format(k=key)
    return sql.SQL("SELECT * FROM {t}{w}{o}").format(
        t=sql.Identifier(mapping.table), w=where, o=order
    )


def legacy_rows(
    settings: Settings,
    mapping: TableMapping,
    *,
    tenants: tuple[str, ...] = (),
    sample: int | None = None,
    seed: int = 0,
) -> Iterator[list[dict[str, Any]]]:
    """The table's rows in chunks (of `tenants` only, when given); a fixed-tenant mapping
    of another tenant has none."""
    if tenants and mapping.tenant is not None and mapping.tenant not in tenants:
        return
    params = {"tenants": list(tenants), "seed": str(seed), "n": sample}
    try:
        with (
            psycopg.connect(settings.pg_dsn, connect_timeout=10, row_factory=dict_row) as conn,
            conn.cursor(name=f"streams_validate_{mapping.table}") as cursor,
        ):
            cursor.execute(_query(mapping, tenants, sample), params)
            while chunk := cursor.fetchmany(CHUNK):
                yield chunk
    except psycopg.Error as exc:
        raise _unreadable(settings, mapping, exc) from exc


def tenants_with_rows(
    settings: Settings, mapping: TableMapping, tenants: tuple[str, ...]
) -> set[str]:
    """Which of `tenants` have at least one row in the table."""
    table = sql.Identifier(mapping.table)
    if mapping.tenant is not None:  # one tenant for the whole table
        query = sql.SQL("SELECT {t} FROM {n} LIMIT 1").format(t=mapping.tenant, n=table)
    else:
        query = sql.SQL("SELECT DISTINCT {c} FROM {n}{w}").format(
            c=sql.Identifier(str(mapping.tenant_column)), n=table, w=_where(mapping, tenants)
        )
    try:
        with psycopg.connect(settings.pg_dsn, connect_timeout=10) as conn:
            found = conn.execute(query, {"tenants": list(tenants)}).fetchall()
    except psycopg.Error as exc:
        raise _unreadable(settings, mapping, exc) from exc
    return {str(row[0]) for row in found} & set(tenants)


def _unreadable(settings: Settings, mapping: TableMapping, exc: psycopg.Error) -> StackError:
    return StackError(
        f"cannot read {mapping.table} from Postgres at {settings.pg_host}:{settings.pg_port} "
        f"({exc.__class__.__name__}: {exc}): start it with `streams stack up`, or check "
        "STREAMS_PG_HOST, STREAMS_PG_PORT and STREAMS_PG_PASSWORD"
    )


__all__ = ["CHUNK", "PG_BIGINT_MAX", "legacy_rows", "tenants_with_rows"]
