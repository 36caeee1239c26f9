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
3. Only the columns a change touched are in its SET list; the key is never updated.
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
from psycopg import sql

from streams.errors import PostgresUnavailableError, RejectedByPostgresError
from streams.sinks._batch import RowPlan, reduce_batch
from streams.state.twin_flow import SinkChange, SinkOp

log = logging.getLogger(__name__)

REVISION_COLUMN = "twin_revision"
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
        self._application = application
        self._conn: psycopg.Connection[Any] | None = None

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
            except _DATA_ERRORS as exc:
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
        self._conn = psycopg.connect(
            self._dsn,
            autocommit=True,
            connect_timeout=5,
            application_name=self._application,
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
        reduced = reduce_batch(changes)
        written = 0
        with self._marked(conn), conn.cursor() as cur:
            # Deletes first: a fresh row (upsert after delete) must lose its old columns.
            for (table, keys, fresh), plans in _groups(reduced.plans, _delete_group).items():
                cur.executemany(_delete_sql(table, keys), [_delete_params(p) for p in plans])
                written += 0 if fresh else cur.rowcount
            for (table, keys, columns), plans in _groups(reduced.plans, _upsert_group).items():
                cur.executemany(
                    _upsert_sql(table, keys, columns), [_upsert_params(p, columns) for p in plans]
                )
                written += cur.rowcount
        # Each plan counts once: by its upsert, or by its delete when it has no upsert.
        unchanged = len(reduced.plans) - written
        return BatchStats(len(changes), written, unchanged + len(reduced.stale))

    def _row_by_row(
        self, conn: psycopg.Connection[Any], changes: Sequence[SinkChange]
    ) -> BatchStats:
        written = skipped = 0
        rejected: list[Rejected] = []
        with self._marked(conn), conn.cursor() as cur:
            for index, change in enumerate(changes):
                try:
                    with conn.transaction():  # a savepoint
                        _execute_one(cur, change)
                except _DATA_ERRORS as exc:
                    rejected.append(Rejected(index, _rejection(change, exc)))
                    continue
                written += cur.rowcount
                skipped += cur.rowcount == 0
        return BatchStats(len(changes), written, skipped, tuple(rejected), row_by_row=True)


# -- SQL ------------------------------------------------------------------------------

GroupKey = tuple[str, tuple[str, ...], Any]


def _groups(plans: Sequence[RowPlan], group_of: Any) -> dict[GroupKey, list[RowPlan]]:
    groups: dict[GroupKey, list[RowPlan]] = {}
    for plan in plans:
        key = group_of(plan)
        if key is not None:
            groups.setdefault(key, []).append(plan)
    return groups


def _delete_group(plan: RowPlan) -> GroupKey | None:
    if plan.delete_revision is None:
        return None
    return plan.table, tuple(plan.key), plan.fresh


def _upsert_group(plan: RowPlan) -> GroupKey | None:
    if plan.columns is None:
        return None
    return plan.table, tuple(plan.key), tuple(plan.columns)


def _delete_params(plan: RowPlan) -> list[Any]:
    return [*plan.key.values(), plan.delete_revision]


def _upsert_params(plan: RowPlan, columns: Sequence[str]) -> list[Any]:
    assert plan.columns is not None
    return [*plan.key.values(), *(plan.columns[c] for c in columns), plan.revision]


def _guard(table: str, value: sql.Composable) -> sql.Composed:
    """Only a row the sink never wrote, or wrote at an older revision."""
    revision = sql.Identifier(table, REVISION_COLUMN)
    return sql.SQL("({rev} IS NULL OR {rev} < {value})").format(rev=revision, value=value)


def _delete_sql(table: str, keys: Sequence[str]) -> sql.Composed:
    matches = sql.SQL(" AND ").join(sql.SQL("{} = %s").format(sql.Identifier(k)) for k in keys)
    return sql.SQL("DELETE FROM {table} WHERE {matches} AND {guard}").format(
        table=sql.Identifier(table), matches=matches, guard=_guard(table, sql.Placeholder())
    )


def _upsert_sql(table: str, keys: Sequence[str], columns: Sequence[str]) -> sql.Composed:
    names = [*keys, *columns, REVISION_COLUMN]
    sets = [*columns, REVISION_COLUMN]
    return sql.SQL(
        "INSERT INTO {table} ({names}) VALUES ({values}) ON CONFLICT ({keys}) "
        "DO UPDATE SET {sets} WHERE {guard}"
    ).format(
        table=sql.Identifier(table),
        names=sql.SQL(", ").join(map(sql.Identifier, names)),
        values=sql.SQL(", ").join(sql.Placeholder() * len(names)),
        keys=sql.SQL(", ").join(map(sql.Identifier, keys)),
        sets=sql.SQL(", ").join(
            sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c)) for c in sets
        ),
        guard=_guard(table, sql.SQL("EXCLUDED.{}").format(sql.Identifier(REVISION_COLUMN))),
    )


def _execute_one(cur: psycopg.Cursor[Any], change: SinkChange) -> None:
    keys = tuple(change.key)
    if change.op is SinkOp.DELETE:
        cur.execute(_delete_sql(change.table, keys), [*change.key.values(), change.revision])
        return
    columns = tuple(change.columns)
    params = [*change.key.values(), *change.columns.values(), change.revision]
    cur.execute(_upsert_sql(change.table, keys, columns), params)


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
        return PostgresUnavailableError(f"Postgres unavailable or aborted the batch: {exc}")
    return PostgresUnavailableError(
        f"Postgres refused the sink's statement ({exc.sqlstate}: {exc}); check the sink "
        "role's grants and the table's definition; the sink retries until then"
    )


__all__ = ["REVISION_COLUMN", "BatchStats", "PostgresSink", "Rejected"]
