"""One CDC record through decode -> map -> per-key decision, over injected stores.

The agent passes its Faust tables as the stores, `streams map` passes dicts: both run
exactly this code, so a dry run shows what the worker would send.

Steps, each naming its stage in the DataError it may raise:
1. decode the record (DecodeError); heartbeats, markers and messages are not rows;
2. an echo of our own sink write (Postgres replication origin) updates the key's image
   but sends nothing: the twin already holds that change. A replay passes
   `apply_echoes=True`: it rebuilds twins from the topics' history, and the sink's rows
   are edits made in Ditto; skipping them would roll those twins back;
3. map the key to its thing id and claim the id for the key (ThingIdError on collision);
4. decide against the key's stored state (streams.state.keys) and return the commands.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from streams.cdc import CdcRecord, Decoder, Op, RecordDecoder, RowChange, Tombstone
from streams.errors import MappingError
from streams.mapping import TableMapping, claim, dumps, identity, key_of
from streams.mapping.thing_id import Claim
from streams.state.keys import Duplicate, Emit, KeyState, NoChange, decide


@dataclass(frozen=True, slots=True)
class Commands:
    thing_id: str
    table: str
    commands: tuple[dict[str, Any], ...]
    change: RowChange | Tombstone | None = None  # the decoded record they came from


@dataclass(frozen=True, slots=True)
class Skipped:
    """Nothing to send. `kind` is a metric label: not-a-row, duplicate, no-change, echo."""

    kind: str
    reason: str
    thing_id: str | None = None
    change: RowChange | Tombstone | None = None  # the decoded row, when it was one


Outcome = Commands | Skipped


class LegacyFlow:
    """Turns CDC records of the mapped tables into Ditto commands."""

    def __init__(
        self,
        mappings: Mapping[str, TableMapping],
        *,
        models_url: str,
        sync_origin: str,
        apply_echoes: bool = False,
        decoder: RecordDecoder | None = None,
    ) -> None:
        self._mappings = dict(mappings)
        self._models_url = models_url
        self._sync_origin = sync_origin
        self._apply_echoes = apply_echoes
        # JSON by default; the Avro decoder (streams.registry.decoders) yields the same events.
        self._decoder = decoder or Decoder({t: m.column_types for t, m in self._mappings.items()})

    def mapping_name(self, table: str | None) -> str | None:
        return f"{table}.toml" if table in self._mappings else None

    def process(
        self,
        record: CdcRecord,
        states: MutableMapping[str, Any],
        owners: MutableMapping[str, str],
    ) -> Outcome:
        decoded = self._decoder.decode(record)
        if not isinstance(decoded, RowChange | Tombstone):
            return Skipped("not-a-row", type(decoded).__name__)
        if isinstance(decoded, RowChange) and decoded.op is Op.TRUNCATE:
            raise MappingError(
                f"{record.origin}: truncate of {decoded.table} is table-wide and cannot be "
                "mapped per key; delete the twins and re-snapshot the table (streams replay)"
            )
        mapping = self._mappings.get(decoded.table)
        if mapping is None:
            raise MappingError(
                f"{record.origin}: no mapping for table {decoded.table!r}; add "
                f"mappings/{decoded.table}.toml or drop the table from the connector"
            )
        _require_columns(mapping, decoded, record.origin)
        key = _business_key(mapping, decoded)
        thing_id = identity(mapping, key).thing_id
        if claim(owners, thing_id, dumps(key)) is Claim.NEW:
            owners[thing_id] = dumps(key)
        stored = states.get(thing_id)
        previous = KeyState.from_dict(stored) if stored is not None else None
        decision = decide(previous, decoded, mapping, models_url=self._models_url)
        return self._settle(thing_id, mapping.table, decoded, decision, states)

    def _settle(
        self,
        thing_id: str,
        table: str,
        change: RowChange | Tombstone,
        decision: Emit | Duplicate | NoChange,
        states: MutableMapping[str, Any],
    ) -> Outcome:
        if isinstance(decision, Duplicate):
            return Skipped("duplicate", decision.reason, thing_id, change)
        # The state moves on for NoChange and for echoes too: the next update of this
        # key must be diffed against what the twin now holds.
        states[thing_id] = decision.state.to_dict()
        if isinstance(decision, NoChange):
            return Skipped("no-change", decision.reason, thing_id, change)
        if self._is_echo(change):
            reason = f"written by the sink (origin {self._sync_origin})"
            return Skipped("echo", reason, thing_id, change)
        return Commands(thing_id, table, decision.commands, change)

    def _is_echo(self, change: RowChange | Tombstone) -> bool:
        if self._apply_echoes:
            return False
        return isinstance(change, RowChange) and change.source.origin == self._sync_origin


def _require_columns(mapping: TableMapping, change: RowChange | Tombstone, origin: object) -> None:
    """A row image must carry every mapped column, or it is not a row of this table.

    Debezium's `after` (and the flattened row) holds every column of the table, a
    TOASTed one as a placeholder, so a missing column means a foreign or damaged record:
    mapping it would send a whole-twin modify without those paths and wipe them in Ditto.
    """
    if not isinstance(change, RowChange) or change.row is None:
        return
    present = change.row.keys() | change.unavailable
    missing = sorted((set(mapping.key) | set(mapping.columns)) - present)
    if missing:
        raise MappingError(
            f"{origin}: the {mapping.table} row lacks mapped columns {', '.join(missing)}: "
            "not a Debezium row of this table (was a column left out of the connector "
            "with column.exclude.list? then drop it from the mapping too)"
        )


def _business_key(mapping: TableMapping, change: RowChange | Tombstone) -> dict[str, Any]:
    if isinstance(change, Tombstone):
        return key_of(mapping, change.key)
    return key_of(mapping, change.key, change.row, change.before)


__all__ = ["Commands", "LegacyFlow", "Outcome", "Skipped"]
