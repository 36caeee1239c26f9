"""Debezium's incremental snapshot, asked for through the signal table.

The connector reads `signal.data.collection` (public.debezium_signal, see
deploy/connect/legacy-postgres.json); a row of type `execute-snapshot` there makes it
re-read the named tables in chunks and send each row as a `r` record, interleaved with
the live changes, on the tables' own topics. The rows present when the signal is
written are what a replay then waits for: each needs its snapshot record, or a delete.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping

import psycopg
from psycopg import sql

from streams.config import Settings
from streams.errors import StackError, ThingIdError
from streams.mapping import TableMapping, identity

SIGNAL_TABLE = "debezium_signal"
SCHEMA = "public"


class SnapshotSignal:
    def __init__(self, settings: Settings, mappings: Mapping[str, TableMapping]) -> None:
        self._settings = settings
        self._mappings = dict(mappings)
        self.signal_id = f"streams-replay-{uuid.uuid4().hex[:12]}"

    def send(self) -> dict[str, set[str]]:
        """Write the signal; table -> thing ids of the rows present just before it."""
        data = {
            "data-collections": [f"{SCHEMA}.{table}" for table in sorted(self._mappings)],
            "type": "incremental",
        }
        insert = sql.SQL("INSERT INTO {} (id, type, data) VALUES (%s, %s, %s)").format(
            sql.Identifier(SIGNAL_TABLE)
        )
        try:
            with psycopg.connect(self._settings.pg_dsn, autocommit=True) as conn:
                waiting = {t: self._thing_ids(conn, m) for t, m in self._mappings.items()}
                conn.execute(insert, (self.signal_id, "execute-snapshot", json.dumps(data)))
        except psycopg.Error as exc:
            raise StackError(
                f"--from-snapshot: Postgres at {self._settings.pg_host}:{self._settings.pg_port} "
                f"failed ({exc.__class__.__name__}: {exc}); the signal table "
                f"{SCHEMA}.{SIGNAL_TABLE} must exist (deploy/postgres/legacy_schema.sql) and "
                f"be writable by {self._settings.pg_user}"
            ) from exc
        return waiting

    def check_time(self, deadline: float, waiting: Mapping[str, set[str]]) -> None:
        """Raise, naming the fix, once the snapshot has taken longer than allowed."""
        if time.monotonic() <= deadline:
            return
        missing = {t: len(ids) for t, ids in waiting.items() if ids}
        example = next((sorted(ids)[0] for ids in waiting.values() if ids), "")
        raise StackError(
            f"--from-snapshot: signal {self.signal_id} sent, but rows have no snapshot record "
            f"yet {missing} (e.g. {example}). Check that the connector has "
            f"signal.data.collection={SCHEMA}.{SIGNAL_TABLE} and the table in "
            "table.include.list (deploy/connect/legacy-postgres.json; `streams stack up` "
            "registers it), and Connect's log (`streams stack logs --only connect`); a large "
            "table needs a longer --snapshot-timeout. Nothing was committed."
        )

    def _thing_ids(self, conn: psycopg.Connection[tuple[object, ...]], m: TableMapping) -> set[str]:
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in m.key)
        query = sql.SQL("SELECT {} FROM {}").format(columns, sql.Identifier(m.table))
        ids: set[str] = set()
        for row in conn.execute(query):
            try:
                ids.add(identity(m, dict(zip(m.key, row, strict=True))).thing_id)
            except ThingIdError:
                continue  # its snapshot record is a dead letter, counted as a failure
        return ids


__all__ = ["SIGNAL_TABLE", "SnapshotSignal"]
