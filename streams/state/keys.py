"""The per-key decision of the legacy -> Ditto direction, over plain state values.

The agent keeps one KeyState per (table, key) in a changelog-backed Faust table and asks
`decide` what a change means. There is deliberately no global LSN watermark: LSNs do not
rise across transactions, all rows of an initial snapshot share one LSN, and incremental
snapshot rows have none (debezium.md §5). The rules, in order:

0. A record at or before the key's last processed record (same topic and partition) is
   a redelivery by Kafka itself, e.g. after a worker restart that had not committed its
   offsets: Duplicate. This also covers snapshot reads, which the LSN cannot order.
1. A tombstone (any "delete by key" encoding) deletes the twin unless the key is
   already deleted; it never moves the LSN.
2. A truncate is table-wide: it cannot be decided per key (a MappingError, so a dead
   letter that says to re-snapshot), never a silent skip.
3. Reads (snapshot rows) and upserts (flat rows that carry no op) are compared by image,
   never gated by LSN, and never move the stored LSN: a snapshot LSN is the snapshot's
   start, and a change committed after it may carry a smaller one. A read that differs
   replaces the whole twin; an upsert of a key whose image is known merges the
   difference, like an update (rule 6).
4. Any other change whose LSN is <= the key's stored LSN is a redelivery: Duplicate.
5. c (and r/upsert): the whole twin (modify), unless the stored image is equal.
6. u: a merge of the mapped columns that differ from the stored image (all present ones
   when no image is known); TOAST-unavailable columns keep the stored value and are never
   in the patch; no difference is NoChange.
7. d: delete, unless the key is already deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from streams.cdc import Op, RecordOrigin, RowChange, Tombstone
from streams.ditto.protocol import (
    Message,
    SourcePosition,
    command_headers,
    delete_thing,
    merge_thing,
    modify_thing,
)
from streams.errors import MappingError
from streams.mapping import (
    TableMapping,
    canonical_image,
    identity,
    key_of,
    merge_patch,
    render_columns,
    to_thing,
)


@dataclass(frozen=True, slots=True)
class KeyState:
    """What the agent remembers per key: plain values, JSON-serialisable via to_dict."""

    lsn: int | None = None
    tx_id: int | None = None
    # column -> canonical JSON text of its twin value (mapped columns only)
    image: Mapping[str, str] | None = None
    deleted: bool = False
    # The last record processed for this key: Kafka's own order, for rule 0.
    record: RecordOrigin | None = None

    def to_dict(self) -> dict[str, Any]:
        image = None if self.image is None else dict(self.image)
        record = self.record
        where = None if record is None else [record.topic, record.partition, record.offset]
        return {
            "lsn": self.lsn,
            "tx_id": self.tx_id,
            "image": image,
            "deleted": self.deleted,
            "record": where,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> KeyState:
        image, where = data.get("image"), data.get("record")
        return cls(
            lsn=data.get("lsn"),
            tx_id=data.get("tx_id"),
            image=None if image is None else {str(k): str(v) for k, v in image.items()},
            deleted=bool(data.get("deleted", False)),
            record=None if where is None else RecordOrigin(str(where[0]), *map(int, where[1:])),
        )

    def has_processed(self, record: RecordOrigin) -> bool:
        """True when `record` is this key's last record or an earlier one."""
        last = self.record
        return (
            last is not None
            and (last.topic, last.partition) == (record.topic, record.partition)
            and record.offset <= last.offset
        )


@dataclass(frozen=True, slots=True)
class Emit:
    """Send these commands, then store `state`."""

    commands: tuple[Message, ...]
    state: KeyState
    thing_id: str


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A redelivery: send nothing, keep the stored state."""

    reason: str


@dataclass(frozen=True, slots=True)
class NoChange:
    """Nothing to send, but store `state` (its LSN may have moved)."""

    reason: str
    state: KeyState = field(default_factory=KeyState)


Decision = Emit | Duplicate | NoChange


@dataclass(frozen=True, slots=True)
class _Context:
    mapping: TableMapping
    thing_id: str
    headers: dict[str, Any]
    models_url: str


def decide(
    previous: KeyState | None,
    change: RowChange | Tombstone,
    mapping: TableMapping,
    *,
    models_url: str,
) -> Decision:
    """What `change` means for its key, given what the key's state remembers."""
    if isinstance(change, RowChange) and change.op is Op.TRUNCATE:
        raise MappingError(
            f"truncate of {change.table} is table-wide and cannot be mapped per key; "
            "delete the twins and re-snapshot the table (streams replay)"
        )
    ctx = _context(change, mapping, models_url)
    if previous is not None and previous.has_processed(change.origin):
        return Duplicate(f"{change.origin} was already processed for {ctx.thing_id}")
    decision = _decide(previous, change, ctx)
    if isinstance(decision, Duplicate):
        return decision
    # Every stored state remembers the record it came from (rule 0).
    return replace(decision, state=replace(decision.state, record=change.origin))


def _decide(previous: KeyState | None, change: RowChange | Tombstone, ctx: _Context) -> Decision:
    if isinstance(change, Tombstone):
        return _tombstone(previous, ctx)
    if change.op in (Op.READ, Op.UPSERT):
        return _read(previous, change, ctx)
    lsn, stored = change.source.lsn, previous.lsn if previous else None
    if lsn is not None and stored is not None and lsn <= stored:
        return Duplicate(f"lsn {lsn} <= stored lsn {stored} for {ctx.thing_id}")
    if change.op is Op.DELETE:
        return _delete(previous, change, ctx)
    if change.op is Op.CREATE:
        return _whole_or_merge(previous, change, ctx, _advanced(previous, change))
    return _update(previous, change, ctx, _advanced(previous, change))


def _context(change: RowChange | Tombstone, mapping: TableMapping, models_url: str) -> _Context:
    if isinstance(change, Tombstone):
        key = key_of(mapping, change.key)
        position = SourcePosition(str(change.origin))
    else:
        key = key_of(mapping, change.key, change.row, change.before)
        source = change.source
        position = SourcePosition(str(change.origin), source.lsn, source.tx_id, source.ts_ms)
    who = identity(mapping, key)
    return _Context(mapping, who.thing_id, command_headers(position), models_url)


def _advanced(previous: KeyState | None, change: RowChange) -> KeyState:
    """The stored position after a streamed change (its LSN, if it has one)."""
    base = previous or KeyState()
    lsn = change.source.lsn if change.source.lsn is not None else base.lsn
    tx_id = change.source.tx_id if change.source.tx_id is not None else base.tx_id
    return replace(base, lsn=lsn, tx_id=tx_id)


def _tombstone(previous: KeyState | None, ctx: _Context) -> Decision:
    if previous is not None and previous.deleted:
        return Duplicate(f"{ctx.thing_id} is already deleted")
    state = replace(previous or KeyState(), image=None, deleted=True)
    return Emit((delete_thing(ctx.thing_id, ctx.headers),), state, ctx.thing_id)


def _delete(previous: KeyState | None, change: RowChange, ctx: _Context) -> Decision:
    state = replace(_advanced(previous, change), image=None, deleted=True)
    if previous is not None and previous.deleted:
        return NoChange(f"{ctx.thing_id} is already deleted", state)
    return Emit((delete_thing(ctx.thing_id, ctx.headers),), state, ctx.thing_id)


def _read(previous: KeyState | None, change: RowChange, ctx: _Context) -> Decision:
    # Neither a read nor an upsert moves the LSN (rule 3).
    position = previous or KeyState()
    known = previous is not None and previous.image is not None and not previous.deleted
    if change.op is Op.UPSERT and known:
        return _update(previous, change, ctx, position)
    return _whole_or_merge(previous, change, ctx, position)


def _whole_or_merge(
    previous: KeyState | None, change: RowChange, ctx: _Context, position: KeyState
) -> Decision:
    if change.unavailable:
        # A row with unknown columns cannot replace the whole twin: merge what is known.
        return _update(previous, change, ctx, position)
    image = canonical_image(render_columns(ctx.mapping, change.row or {}))
    state = replace(position, image=image, deleted=False)
    if previous is not None and not previous.deleted and previous.image == image:
        return NoChange(f"{ctx.thing_id} already has this image", state)
    thing = to_thing(ctx.mapping, change.row or {}, models_url=ctx.models_url, key=change.key)
    return Emit((modify_thing(thing, ctx.headers),), state, ctx.thing_id)


def _update(
    previous: KeyState | None, change: RowChange, ctx: _Context, position: KeyState
) -> Decision:
    rendered = render_columns(ctx.mapping, change.row or {})
    texts = canonical_image(rendered)
    known = previous.image if previous is not None and not previous.deleted else None
    if known is None and previous is not None and previous.deleted and not change.unavailable:
        # The twin was deleted and the row is back whole: recreate it, policy included.
        return _whole_or_merge(None, change, ctx, position)
    if known is None:
        changed, image = rendered, texts  # no stored image: every present column
    else:
        changed = {c: v for c, v in rendered.items() if known.get(c) != texts[c]}
        image = {**known, **texts}  # unavailable columns keep the stored text
    state = replace(position, image=image, deleted=False)
    if not changed:
        return NoChange(f"no mapped column of {ctx.thing_id} changed", state)
    patch = merge_patch(ctx.mapping, changed)
    return Emit((merge_thing(ctx.thing_id, patch, ctx.headers),), state, ctx.thing_id)


__all__ = ["Decision", "Duplicate", "Emit", "KeyState", "NoChange", "decide"]
