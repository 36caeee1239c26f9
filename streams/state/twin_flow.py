"""One Ditto event record through decode -> revision gate -> echo check -> the row it means.

The Ditto -> legacy agent runs exactly this code over its Faust tables; tests run it over
dicts. Nothing here writes a store: `process` says what to do and what to remember, and
the agent calls `remember` only after the SinkChange is handed to Kafka, so a crash in
between replays the event instead of losing it (the sink's revision guard makes the
replay harmless).

Steps, each naming its stage in the DataError it may raise:
1. decode the envelope (DecodeError) and find the mapping whose thing id template the
   thing id fits (MappingError when none does);
2. revision gate: an event whose revision is not above the thing's last applied one is
   a redelivery or arrived late: Skipped("duplicate"), the state stays;
3. echo: Ditto copies our command headers into the events they cause, so
   `streams-origin: legacy` marks a change that came from the legacy row itself. The row
   already holds it: Skipped("echo"), but the revision moves on and the key is learned;
4. map the change at its path back to columns (the exact inverse of the mapping);
   unmapped paths are reported, never written;
5. find the row's key (see `_resolve_key`), and refuse an event that would change it:
   the key names the row, so a new key is a new twin, never an update.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from string import Formatter
from typing import Any

from streams.cdc import loads
from streams.ditto.protocol import (
    MAX_REVISION,
    ORIGIN_HEADER,
    ORIGIN_LEGACY,
    EventAction,
    Resource,
    TwinChange,
    decode,
    parse_event,
)
from streams.errors import DecodeError, MappingError
from streams.mapping import (
    RowValues,
    TableMapping,
    canonical,
    change_to_row,
    dumps,
    identity,
)
from streams.state._sink_change import SinkChange, SinkOp
from streams.state.revision import Drop, revision_gate

# Ditto namespaces (ditto.md §6.5) and the slug alphabet of streams.mapping.thing_id.
_NAMESPACE = r"[a-zA-Z]\w*(?:[.-][a-zA-Z]\w*)*"
_SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"


@dataclass(frozen=True, slots=True)
class TwinState:
    """What the agent remembers per thing: plain values, JSON-serialisable via to_dict."""

    revision: int
    key: str | None = None  # canonical JSON of the row's key, once an event showed it

    def to_dict(self) -> dict[str, Any]:
        return {"revision": self.revision, "key": self.key}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TwinState:
        key = data.get("key")
        return cls(int(data["revision"]), None if key is None else str(key))


@dataclass(frozen=True, slots=True)
class Write:
    """Send `change` to the sink topic, then remember `state`."""

    change: SinkChange
    state: TwinState
    missed: int = 0  # revisions between the last applied one and this one
    unmapped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Skipped:
    """Nothing to write. `kind` is a metric label: duplicate, echo, not-mapped."""

    kind: str
    reason: str
    thing_id: str
    state: TwinState | None = None  # None: keep the stored state
    table: str | None = None
    unmapped: tuple[str, ...] = ()


Outcome = Write | Skipped


class TwinFlow:
    """Turns Ditto twin events into SinkChanges for the mapped tables."""

    def __init__(self, mappings: Mapping[str, TableMapping]) -> None:
        self._patterns = [(m, _id_pattern(m)) for m in mappings.values()]

    def mapping_of(self, thing_id: str) -> TableMapping:
        """The one mapping whose thing id template `thing_id` fits."""
        found = [m for m, pattern in self._patterns if pattern.fullmatch(thing_id)]
        if len(found) == 1:
            return found[0]
        if not found:
            raise MappingError(
                f"twin {thing_id!r} fits no mapping's thing_id template; add a mapping for "
                "its kind, or keep such twins out of the Ditto target's topic"
            )
        tables = ", ".join(sorted(m.table for m in found))
        raise MappingError(
            f"twin {thing_id!r} fits the thing_id templates of {tables}; make the "
            "templates distinct (e.g. by kind)"
        )

    def mapping_name(self, thing_id: str | None) -> str | None:
        """The mapping file a dead letter names, if one fits."""
        fits = [m for m, p in self._patterns if thing_id and p.fullmatch(thing_id)]
        return f"{fits[0].table}.toml" if len(fits) == 1 else None

    def process(
        self,
        data: bytes | str,
        revisions: Mapping[str, Any],
        owners: Mapping[str, str],
    ) -> Outcome:
        """What one event record means; reads the stores, writes none (see `remember`)."""
        message = decode(data)
        change = parse_event(message)
        mapping = self.mapping_of(change.thing_id)
        stored = revisions.get(change.thing_id)
        previous = None if stored is None else TwinState.from_dict(stored)
        gate = revision_gate(_last_applied(previous), change.revision)
        if isinstance(gate, Drop):
            return Skipped("duplicate", gate.reason, change.thing_id)
        context = _Context(mapping, change, previous, owners, message.get("extra"))
        if change.header(ORIGIN_HEADER) == ORIGIN_LEGACY:
            state = TwinState(change.revision, context.learned_key())
            reason = f"caused by our own command ({ORIGIN_HEADER}: {ORIGIN_LEGACY})"
            return Skipped("echo", reason, change.thing_id, state, mapping.table)
        return context.outcome(gate.missed)

    @staticmethod
    def remember(revisions: MutableMapping[str, Any], outcome: Outcome) -> None:
        """Store what `outcome` leaves behind; call it once the change is sent."""
        state = outcome.state
        if state is None:
            return
        thing_id = outcome.change.thing_id if isinstance(outcome, Write) else outcome.thing_id
        revisions[thing_id] = state.to_dict()


@dataclass(frozen=True, slots=True)
class _Context:
    mapping: TableMapping
    change: TwinChange
    previous: TwinState | None
    owners: Mapping[str, str]
    extra: Any

    @property
    def thing_id(self) -> str:
        return self.change.thing_id

    def outcome(self, missed: int) -> Outcome:
        change, mapping = self.change, self.mapping
        if change.action is EventAction.DELETED and change.resource is Resource.THING:
            key = self.resolve_key({})
            return Write(self.sink_change(SinkOp.DELETE, key, {}), self.state(key), missed)
        row = self.row()
        key = self.resolve_key(row.values)
        columns = {c: v for c, v in row.values.items() if c not in mapping.key}
        if not columns:
            where = f"{change.action} {change.path}"
            return Skipped(
                "not-mapped",
                f"{where} touches no mapped column of {mapping.table}",
                self.thing_id,
                self.state(key),
                mapping.table,
                row.unmapped,
            )
        sink = self.sink_change(SinkOp.UPSERT, key, columns)
        return Write(sink, self.state(key), missed, row.unmapped)

    def row(self) -> RowValues:
        change = self.change
        if change.action is not EventAction.DELETED and not change.has_value:
            raise DecodeError(
                f"{change.action} event of {self.thing_id} at {change.path} has no value"
            )
        replace = change.action is not EventAction.MERGED
        return change_to_row(
            self.mapping, change.path, change.value, replace=replace, thing_id=self.thing_id
        )

    def state(self, key: Mapping[str, Any]) -> TwinState:
        return TwinState(self.change.revision, dumps(dict(key)))

    def sink_change(
        self, op: SinkOp, key: Mapping[str, Any], columns: Mapping[str, Any]
    ) -> SinkChange:
        change = self.change
        return SinkChange(
            table=self.mapping.table,
            op=op,
            key=dict(key),
            revision=change.revision,
            thing_id=self.thing_id,
            columns=dict(columns),
            correlation_id=_text_or_none(change.header("correlation-id")),
            source_ts=change.timestamp,
        )

    # -- the row's key ------------------------------------------------------------------

    def resolve_key(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The row's key, from the first source that knows it:

        1. what this agent learned from an earlier event of the thing (its own state);
        2. the legacy agent's claim (thing id -> key of the row that made the twin);
        3. the key attribute(s) this event carries (a created or whole-thing event);
        4. the event's `extra` fields (Ditto's enrichment, `extraFields=attributes/...`).

        A known key is checked against the key attribute(s) the event carries.
        """
        known = self.known_key()
        shown = self.shown_key(values)
        if known is not None:
            self.check_unchanged(known, shown)
            return known
        business = {**self.shown_key(self.extra_values()), **shown}
        if any(business.get(c) is None for c in self.mapping.business_key):
            paths = [self.mapping.columns[c].path for c in self.mapping.business_key]
            raise MappingError(
                f"no key for the row of twin {self.thing_id}: the event does not carry "
                f"{paths} and no earlier event or legacy claim names the row; give the "
                f"Ditto target extraFields={','.join(paths)}, or let the twin be created "
                "from its row first"
            )
        return self.checked_new_key(business)

    def known_key(self) -> dict[str, Any] | None:
        text = self.previous.key if self.previous is not None else None
        if text is None:
            text = self.owners.get(self.thing_id)
        if text is None:
            return None
        key = loads(text)
        if not isinstance(key, dict) or set(key) != set(self.mapping.key):
            raise MappingError(
                f"the stored key {text} of {self.thing_id} does not hold the key columns "
                f"{self.mapping.key} of {self.mapping.table}; replay the legacy topic"
            )
        return key

    def shown_key(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The business key columns an event (or its extra fields) sets, None = removed."""
        return {c: values[c] for c in self.mapping.business_key if c in values}

    def extra_values(self) -> Mapping[str, Any]:
        if not isinstance(self.extra, Mapping):
            return {}
        return change_to_row(
            self.mapping, "/", self.extra, replace=False, thing_id=self.thing_id
        ).values

    def check_unchanged(self, known: Mapping[str, Any], shown: Mapping[str, Any]) -> None:
        for column, value in shown.items():
            if value is None or canonical(value) != canonical(known[column]):
                path = self.mapping.columns[column].path
                raise MappingError(
                    f"twin {self.thing_id} sets its key attribute {path} to {value!r}, but "
                    f"its row's key is {known[column]!r}: a key names the row and cannot "
                    "change through the twin; put the attribute back, or change the key "
                    "in legacy (a delete of one twin and a create of another)"
                )

    def checked_new_key(self, business: Mapping[str, Any]) -> dict[str, Any]:
        mapping = self.mapping
        key = dict(business)
        if mapping.tenant_column is not None:
            key[mapping.tenant_column] = self.thing_id.partition(":")[0]
        expected = identity(mapping, key).thing_id
        if expected != self.thing_id:
            raise MappingError(
                f"twin {self.thing_id} carries the key {dict(business)}, whose twin is "
                f"{expected}: the thing id must be the slug of its key attribute(s); "
                "create the twin under that id"
            )
        return {c: key[c] for c in mapping.key}

    def learned_key(self) -> str | None:
        """For an echo: the key the event shows, if complete and consistent; else the old."""
        old = self.previous.key if self.previous is not None else None
        if self.change.action is EventAction.DELETED:
            return old
        shown = self.shown_key(self.row().values)
        if any(shown.get(c) is None for c in self.mapping.business_key):
            return old
        return dumps(self.checked_new_key(shown))


def _id_pattern(mapping: TableMapping) -> re.Pattern[str]:
    """A regex that a thing id made from this mapping's template always matches."""
    fields = {
        "tenant": re.escape(mapping.tenant) if mapping.tenant is not None else _NAMESPACE,
        "kind": re.escape(mapping.kind),
        "key": _SLUG,
    }
    parts = []
    for literal, name, _, _ in Formatter().parse(mapping.thing_id):
        parts.append(re.escape(literal))
        if name is not None:
            parts.append(fields[name])
    return re.compile("".join(parts))


def _last_applied(previous: TwinState | None) -> int | None:
    """The revision the gate compares with. One beyond a Java long was stored from an event
    decoded before such revisions were refused; the sink never wrote it (a bigint cannot
    hold it), so the guard of twin_revision in Postgres is the floor instead."""
    if previous is None or previous.revision > MAX_REVISION:
        return None
    return previous.revision


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


__all__ = ["Outcome", "SinkChange", "SinkOp", "Skipped", "TwinFlow", "TwinState", "Write"]
