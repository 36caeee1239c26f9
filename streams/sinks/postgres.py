"""The Postgres sink: SinkChanges into the legacy tables, one transaction per batch.

Guarantees defended here:
1. Loop prevention. Every batch runs in a session set up with the sync's replication
   origin, so Debezium reports `source.origin` on each of its changes and the legacy ->
   Ditto agent drops them as echoes. The origin is taken for the batch and released
   after its commit: Postgres before 17 lets only one session hold an origin at a time,
   and holding it for the connection's life would lock out every other sink session
   (a second worker, a tool, a test) for good.
2. The revision guard. An upsert touches a row only while the row's `twin_revision` is
   NULL (never written by the sink) or older than the change's revision; a delete the
   same. So a replayed or late change can never overwrite a newer one.
3. Only the columns a change touched are written; the key is never updated. A row is
   inserted only where none of its key exists (see _sql for why an upsert is an
   UPDATE and an INSERT, not ON CONFLICT alone).
4. A data error (constraint, type) rolls the batch back and redoes it change by change,
   each under a savepoint: the good changes are written, each bad one comes back as a
   RejectedByPostgresError with Postgres' own message. Transient errors (connection,
   serialization failure, deadlock, timeout) roll back and raise
   PostgresUnavailableError: the caller retries the whole batch, which the guard makes
   safe.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from streams.errors import PostgresUnavailableError, RejectedByPostgresError
from streams.sinks import _sql
from streams.sinks._fast import NeedsRowByRow, TypeCache, write_fast
from streams.state.twin_flow import SinkChange, SinkOp

log = logging.getLogger(__name__)

STATEMENT_TIMEOUT_MS = 30_000  # a lock held elsewhere becomes a retry, never a hang

# What one bad record can cause: dead-letter that record. Anything else is the
# database's state (down, overloaded, a grant missing): wait and retry.
_DATA_ERRORS: tuple[type[psycopg.Error], ...] = (
    pg_errors.IntegrityError,
    pg_errors.DataError,
    pg_errors.UndefinedColumn,
    pg_errors.UndefinedTable,
    pg_errors.DatatypeMismatch,
    pg_errors.InvalidColumnReference,  # the record's key is not the table's primary key
)

_REDO_ROW_BY_ROW: tuple[type[Exception], ...] = (*_DATA_ERRORS, NeedsRowByRow)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A change Postgres refused: `index` is its position in the batch."""

    index: int
    error: RejectedByPostgresError


@dataclass(frozen=True, slots=True)
class BatchStats:
    changes: int = 0
    written: int = 0  # rows inserted, updated or deleted
    skipped: int = 0  # changed nothing: an older revision (the guard), or no row to delete
    rejected: tuple[Rejected, ...] = ()
    row_by_row: bool = False  # the fast path hit a data error


class PostgresSink:
    """Writes batches of SinkChanges through one connection (opened on first use)."""

    def __init__(self, dsn: str, *, origin: str, application: str = "ditto-streams-sink"):
        self._dsn = dsn
        self._origin = origin
        self.application = application
        self._conn: psycopg.Connection[Any] | None = None
        self._types = TypeCache()

    def __enter__(self) -> PostgresSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def write(self, changes: Sequence[SinkChange]) -> BatchStats:
        """Write one batch in one transaction; see the module doc for what may be raised."""
        if not changes:
            return BatchStats()
        try:
            conn = self._connection()
            try:
                return self._fast(conn, changes)
            except _REDO_ROW_BY_ROW as exc:
                self._types.clear()  # the table may have changed under us
                log.info("sink batch refused, writing row by row changes=%d: %s", len(changes), exc)
                return self._row_by_row(conn, changes)
        except psycopg.Error as exc:
            self._drop_if_broken()
            raise _unavailable(exc) from exc

    # -- connection and origin --------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is not None and not self._conn.closed and not self._conn.broken:
            return self._conn
        self.close()
        self._types.clear()
        self._conn = psycopg.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=5,
            application_name=self.application,
            options=f"-c statement_timeout={STATEMENT_TIMEOUT_MS}",
        )
        return self._conn

    def _drop_if_broken(self) -> None:
        if self._conn is not None and (self._conn.broken or self._conn.closed):
            self.close()

    @contextmanager
    def _marked(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        """The origin for one transaction: taken before BEGIN, released after COMMIT."""
        conn.execute("SELECT pg_replication_origin_session_setup(%s)", (self._origin,))
        try:
            with conn.transaction():
                yield
        finally:
            if not conn.broken:
                conn.execute("SELECT pg_replication_origin_session_reset()")

    # -- the two paths ----------------------------------------------------------------

    def _fast(self, conn: psycopg.Connection[Any], changes: Sequence[SinkChange]) -> BatchStats:
        with self._marked(conn), conn.cursor() as cur:
            result = write_fast(cur, changes, self._types)
        return BatchStats(len(changes), result.written, result.skipped)

    def _row_by_row(
        self, conn: psycopg.Connection[Any], changes: Sequence[SinkChange]
    ) -> BatchStats:
        written = skipped = 0
        rejected: list[Rejected] = []
        with self._marked(conn), conn.cursor() as cur:
            for index, change in enumerate(changes):
                try:
                    with conn.transaction():  # a savepoint
                        count = _write_one(cur, change)
                except _DATA_ERRORS as exc:
                    rejected.append(Rejected(index, _rejection(change, exc)))
                    continue
                written += count
                skipped += count == 0
        return BatchStats(len(changes), written, skipped, tuple(rejected), row_by_row=True)


Row = tuple[list[Any], list[Any], int]  # key values, column values, revision


def _upsert(
    cur: psycopg.Cursor[Any],
    table: str,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    row: Row,
) -> int:
    """Rows written: updated under the guard, or inserted where none existed (see _sql)."""
    cur.execute(_sql.update_sql(table, keys, columns), _sql.update_params(*row))
    updated = cur.rowcount
    cur.execute(_sql.insert_sql(table, keys, columns), _sql.insert_params(*row))
    return updated + cur.rowcount


def _write_one(cur: psycopg.Cursor[Any], change: SinkChange) -> int:
    keys, key = tuple(change.key), list(change.key.values())
    if change.op is SinkOp.DELETE:
        cur.execute(_sql.delete_sql(change.table, keys), _sql.delete_params(key, change.revision))
        return cur.rowcount
    row = (key, list(change.columns.values()), change.revision)
    return _upsert(cur, change.table, keys, tuple(change.columns), row)


# -- errors ---------------------------------------------------------------------------


def _rejection(change: SinkChange, exc: psycopg.Error) -> RejectedByPostgresError:
    state = exc.sqlstate or "?"
    detail = " ".join(str(exc).split())
    return RejectedByPostgresError(
        f"Postgres refused {change.op} of {change.table} {dict(change.key)} at revision "
        f"{change.revision} (twin {change.thing_id}): [{state}] {detail}; fix the twin or "
        "the table, then replay this dead letter"
    )


def _unavailable(exc: psycopg.Error) -> PostgresUnavailableError:
    if isinstance(exc, pg_errors.ObjectInUse):
        return PostgresUnavailableError(
            f"the sink's replication origin is held by another session ({exc}); Postgres "
            "before 17 lets one session hold it: the sink waits for that session's batch"
        )
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return PostgresUnavailableError(
            f"Postgres unavailable or aborted the batch: {exc}{_login_hint(exc)}"
        )
    return PostgresUnavailableError(
        f"Postgres refused the sink's statement ({exc.sqlstate}: {exc}); check the sink "
        "role's grants and the table's definition; the sink retries until then"
    )


def _login_hint(exc: psycopg.Error) -> str:
    """A refused login is a setting to fix, not an outage to wait out."""
    text = str(exc)
    if "password authentication failed" in text or ('role "' in text and "does not exist" in text):
        return "; check STREAMS_PG_USER and STREAMS_PG_PASSWORD (the sink retries until then)"
    return ""


__all__ = ["BatchStats", "PostgresSink", "Rejected"]
