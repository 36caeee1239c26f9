"""Thing-id claims that hold across partitions, confirmed in Postgres.

Why: the claim table `thing-id-owner` is a Faust table, so it lives per partition of the
CDC topic, and Debezium spreads keys over partitions. Two keys with one slug (`A-1` and
`a 1`) on two partitions would each see no earlier claim and both write the one twin. So
the first claim of each thing id is also made in one table of the legacy database, where
an insert decides atomically which key owns the id; the loser is a ThingIdError, the dead
letter a same-partition collision already was. Known claims never leave the worker: only
a thing id its partition has not claimed before costs a round trip.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

import psycopg

from streams.errors import PostgresUnavailableError
from streams.mapping import claim

TABLE = "streams_thing_claims"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "thing_id text PRIMARY KEY, business_key text NOT NULL, "
    "claimed_at timestamptz NOT NULL DEFAULT now())"
)
_CLAIM = f"INSERT INTO {TABLE} (thing_id, business_key) VALUES (%s, %s) ON CONFLICT DO NOTHING"
_OWNER = f"SELECT business_key FROM {TABLE} WHERE thing_id = %s"


class PostgresClaims:
    """One connection, opened on first use and again after a failure."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: psycopg.Connection | None = None

    def owner_after_claim(self, thing_id: str, key: str) -> str:
        """Claim `thing_id` for `key` unless another key holds it; return the owner."""
        try:
            conn = self._connection()
            conn.execute(_CLAIM, (thing_id, key))
            row = conn.execute(_OWNER, (thing_id,)).fetchone()
        except psycopg.Error as exc:
            self.close()
            raise PostgresUnavailableError(
                f"cannot claim thing id {thing_id!r} in {TABLE} ({exc.__class__.__name__}: "
                f"{exc}); the record waits. The sink's role needs CREATE on the schema, or "
                "a table made beforehand (README, Legacy -> Ditto)"
            ) from exc
        if row is None:  # a claim is never deleted, so this is a table someone emptied
            raise PostgresUnavailableError(f"{TABLE} lost the claim of {thing_id!r}; retrying")
        return str(row[0])

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=5)
            self._conn.execute(_CREATE)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None


class GlobalOwners(MutableMapping[str, str]):
    """The partition's claim table, each new claim first won in Postgres."""

    def __init__(self, local: MutableMapping[str, str], claims: PostgresClaims) -> None:
        self._local = local
        self._claims = claims

    def __getitem__(self, thing_id: str) -> str:
        return self._local[thing_id]

    def __setitem__(self, thing_id: str, key: str) -> None:
        owner = self._claims.owner_after_claim(thing_id, key)
        claim({thing_id: owner}, thing_id, key)  # ThingIdError when another key owns it
        self._local[thing_id] = key

    def __delitem__(self, thing_id: str) -> None:
        del self._local[thing_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._local)

    def __len__(self) -> int:
        return len(self._local)


__all__ = ["TABLE", "GlobalOwners", "PostgresClaims"]
