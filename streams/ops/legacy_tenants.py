"""The tenants the legacy estate holds: the distinct tenant values of every mapped table."""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg import sql

from streams.config import Settings
from streams.errors import StackError
from streams.mapping import TableMapping


def _query(mapping: TableMapping) -> sql.Composed:
    column = sql.Identifier(str(mapping.tenant_column))
    return sql.SQL("SELECT DISTINCT {c} FROM {t} WHERE {c} IS NOT NULL").format(
        c=column, t=sql.Identifier(mapping.table)
    )


def legacy_tenants(settings: Settings, mappings: Mapping[str, TableMapping]) -> list[str]:
    """Fixed tenants of mappings, plus the values of each mapping's tenant column."""
    tenants = {m.tenant for m in mappings.values() if m.tenant is not None}
    from_tables = [m for m in mappings.values() if m.tenant_column is not None]
    if not from_tables:
        return sorted(tenants)
    try:
        with psycopg.connect(settings.pg_dsn, connect_timeout=10) as conn:
            for mapping in from_tables:
                tenants.update(str(row[0]) for row in conn.execute(_query(mapping)))
    except psycopg.Error as exc:
        raise StackError(
            f"cannot read the tenants from Postgres at {settings.pg_host}:{settings.pg_port} "
            f"({exc.__class__.__name__}: {exc}): start it with `streams stack up`, or name "
            "the tenants with --tenant"
        ) from exc
    return sorted(tenants)
