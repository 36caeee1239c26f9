"""`streams read`: a twin from Ditto, or, when Ditto has none or does not answer, the
legacy row it comes from, mapped to the twin it makes; the result names its source.

The legacy row is found through the mappings: the one thing id template the id fits names
the table, the id's namespace the tenant, and the row is the one of that tenant whose key
makes this very thing id (a slug cannot be turned back into its key).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote

import httpx
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from streams.config import Settings
from streams.errors import ConfigError, MappingError, StackError
from streams.mapping import TableMapping, identity, load_mappings, to_thing, validate_entity_id
from streams.state.twin_flow import TwinFlow

DITTO_TIMEOUT_S = 5.0
Source = Literal["ditto", "legacy"]


@dataclass(frozen=True, slots=True)
class ReadResult:
    """The twin and who answered; `source` None: neither Ditto nor legacy has it."""

    thing_id: str
    source: Source | None
    value: dict[str, Any] | None
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "thingId": self.thing_id,
            "source": self.source,
            "reason": self.reason,
            "value": self.value,
        }


def read_twin(settings: Settings, thing_id: str) -> ReadResult:
    """The twin from Ditto; else the legacy row mapped, with the reason Ditto did not serve."""
    validate_entity_id(thing_id)
    twin, why_not = _from_ditto(settings, thing_id)
    if twin is not None:
        return ReadResult(thing_id, "ditto", twin, "Ditto has the twin")
    flow = TwinFlow(load_mappings(settings.mappings_dir))
    try:
        mapping = flow.mapping_of(thing_id)
    except MappingError:
        # The flow's own message advises the event topic; here only the templates matter.
        reason = (
            f"{why_not}; no mapping's thing_id template fits {thing_id!r} "
            f"(mappings/*.toml){_case_hint(flow, thing_id)}"
        )
        return ReadResult(thing_id, None, None, reason)
    row = _legacy_row(settings, mapping, thing_id, why_not)
    if row is None:
        return ReadResult(
            thing_id, None, None, f"{why_not}; no row of {mapping.table} makes this thing id"
        )
    value = to_thing(mapping, row, models_url=settings.thing_models_url)
    return ReadResult(thing_id, "legacy", value, f"{why_not}; mapped from {mapping.table}")


def _case_hint(flow: TwinFlow, thing_id: str) -> str:
    """Ditto ids are case-sensitive and the sync's names are lower-case slugs: a pasted
    id in another case is the usual reason an id fits no template."""
    namespace, _, name = thing_id.partition(":")
    lowered = f"{namespace}:{name.lower()}"
    if lowered == thing_id:
        return ""
    try:
        flow.mapping_of(lowered)
    except MappingError:
        return ""
    return f"; the sync's thing ids have lower-case names: try {lowered!r}"


# -- Ditto ------------------------------------------------------------------------------


def _from_ditto(settings: Settings, thing_id: str) -> tuple[dict[str, Any] | None, str]:
    """(the twin, "") or (None, why Ditto did not give it)."""
    auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
    url = f"{settings.ditto_url.rstrip('/')}/api/2/things/{quote(thing_id, safe=':')}"
    try:
        response = httpx.get(url, auth=auth, timeout=DITTO_TIMEOUT_S)
    except httpx.TransportError as exc:
        return None, f"Ditto at {settings.ditto_url} did not answer ({exc.__class__.__name__})"
    if response.status_code == 404:
        return None, "Ditto has no such twin (404)"
    if response.status_code >= 500 or response.status_code in (408, 429):
        return None, f"Ditto answered {response.status_code}"
    if response.status_code == 401:
        raise ConfigError(
            f"Ditto refused user {settings.ditto_user!r} (401): check STREAMS_DITTO_USER "
            "and STREAMS_DITTO_PASSWORD"
        )
    if response.status_code != 200:
        raise StackError(f"Ditto answered {response.status_code} for {thing_id}: {response.text}")
    twin: dict[str, Any] = response.json()
    return twin, ""


# -- legacy ------------------------------------------------------------------------------


def _query(mapping: TableMapping) -> sql.Composed:
    table = sql.Identifier(mapping.table)
    if mapping.tenant_column is None:
        return sql.SQL("SELECT * FROM {t}").format(t=table)
    column = sql.Identifier(mapping.tenant_column)
    return sql.SQL("SELECT * FROM {t} WHERE {c} = %s").format(t=table, c=column)


def _legacy_row(
    settings: Settings, mapping: TableMapping, thing_id: str, why_not: str
) -> dict[str, Any] | None:
    tenant = thing_id.partition(":")[0]
    params = () if mapping.tenant_column is None else (tenant,)
    try:
        # The tenant's rows, read in batches: only the row whose key makes the id fits.
        with (
            psycopg.connect(settings.pg_dsn, connect_timeout=10, row_factory=dict_row) as conn,
            conn.cursor(name="streams_read") as cursor,
        ):
            cursor.execute(_query(mapping), params)
            return next((row for row in cursor if _makes(mapping, row, thing_id)), None)
    except psycopg.Error as exc:
        raise StackError(
            f"{why_not}, and Postgres at {settings.pg_host}:{settings.pg_port} failed "
            f"({exc.__class__.__name__}: {exc}): {_pg_fix(exc)}"
        ) from exc


def _pg_fix(exc: psycopg.Error) -> str:
    if "password authentication failed" in str(exc):
        return "check STREAMS_PG_USER and STREAMS_PG_PASSWORD"
    return "start the stack with `streams stack up`, or point STREAMS_PG_HOST/PORT at it"


def _makes(mapping: TableMapping, row: Mapping[str, Any], thing_id: str) -> bool:
    try:
        return identity(mapping, row).thing_id == thing_id
    except MappingError:  # a row whose key makes no id (or has none) is no answer here
        return False


__all__ = ["ReadResult", "read_twin"]
