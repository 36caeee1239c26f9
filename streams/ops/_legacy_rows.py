"""Rows of a mapped legacy table, all or a seeded random sample, of all tenants or one."""

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


def _query(mapping: TableMapping, tenant: str | None, sample: int | None) -> sql.Composed:
    where: sql.Composable = sql.SQL("")
    if tenant is not None and mapping.tenant_column is not None:
        where = sql.SQL(" WHERE {c} = %(tenant)s").format(c=sql.Identifier(mapping.tenant_column))
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
    tenant: str | None = None,
    sample: int | None = None,
    seed: int = 0,
) -> Iterator[list[dict[str, Any]]]:
    """The table's rows in chunks; a fixed-tenant mapping of another tenant has none."""
    if tenant is not None and mapping.tenant is not None and mapping.tenant != tenant:
        return
    params = {"tenant": tenant, "seed": str(seed), "n": sample}
    try:
        with (
            psycopg.connect(settings.pg_dsn, connect_timeout=10, row_factory=dict_row) as conn,
            conn.cursor(name=f"streams_validate_{mapping.table}") as cursor,
        ):
            cursor.execute(_query(mapping, tenant, sample), params)
            while chunk := cursor.fetchmany(CHUNK):
                yield chunk
    except psycopg.Error as exc:
        raise StackError(
            f"cannot read {mapping.table} from Postgres at {settings.pg_host}:{settings.pg_port} "
            f"({exc.__class__.__name__}: {exc}): start it with `streams stack up`, or check "
            "STREAMS_PG_HOST, STREAMS_PG_PORT and STREAMS_PG_PASSWORD"
        ) from exc


__all__ = ["CHUNK", "legacy_rows"]
