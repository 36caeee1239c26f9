"""`streams map --table T`: run a mapping over text lines without Kafka or Ditto.

Each input line is one of:

- a Debezium record value (an envelope, a flattened row, with or without the JsonConverter
  `{schema, payload}` wrapper), as captured from a topic;
- a `{"key": ..., "value": ...}` object (optionally with topic, partition, offset,
  headers), key and value either JSON or the record's exact text;
- a plain row JSON object (`{"tenant": "acme", "well_code": "MOR-001", ...}`), which is an
  upsert of that row.

Lines run through the same decoder and per-key decisions as the agent, with the state
kept in memory, so a create followed by an update yields a modify and then a merge of
only the changed paths. Output, one JSON line per input line (or per command):
the Ditto Protocol command; `{"line": n, "skipped": reason}` for redeliveries, unchanged
rows and non-row records; `{"line": n, "error": class, "stage": ..., "message": ...}` for
a line that would be a dead letter. Blank lines are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from streams.cdc import CdcRecord, Decoder, RowChange, Tombstone, loads
from streams.errors import DataError, DecodeError, MappingError
from streams.mapping import TableMapping, dumps, identity, key_of
from streams.state import Duplicate, Emit, KeyState, NoChange, decide

_RECORD_FIELDS = frozenset({"key", "value", "headers", "topic", "partition", "offset"})


def _text(part: Any) -> bytes | None:
    if part is None:
        return None
    return part.encode() if isinstance(part, str) else dumps(part).encode()


def _headers(raw: Any) -> list[tuple[str, bytes | None]]:
    pairs = raw.items() if isinstance(raw, dict) else (raw or [])
    return [(str(name), _text(value)) for name, value in pairs]


def to_record(line: str, number: int, table: str) -> CdcRecord:
    """One input line as the Kafka record it stands for."""
    try:
        doc = loads(line)
    except ValueError as exc:
        raise DecodeError(f"line {number} is not JSON: {exc}") from exc
    topic = f"dry-run.public.{table}"
    if isinstance(doc, dict) and "value" in doc and set(doc) <= _RECORD_FIELDS:
        offset = doc.get("offset")
        return CdcRecord(
            key=_text(doc.get("key")),
            value=_text(doc["value"]),
            topic=str(doc.get("topic") or topic),
            partition=int(doc.get("partition") or 0),
            offset=number if offset is None else int(offset),
            headers=_headers(doc.get("headers")),
        )
    return CdcRecord(key=None, value=line.encode(), topic=topic, offset=number)


def _thing_id(mapping: TableMapping, change: RowChange | Tombstone) -> str:
    if isinstance(change, Tombstone):
        return identity(mapping, key_of(mapping, change.key)).thing_id
    return identity(mapping, key_of(mapping, change.key, change.row, change.before)).thing_id


class DryRun:
    """The mapping's pipeline on text lines, with in-memory per-key state."""

    def __init__(self, mapping: TableMapping, *, models_url: str) -> None:
        self._mapping = mapping
        self._models_url = models_url
        self._decoder = Decoder({mapping.table: mapping.column_types})
        self._states: dict[str, KeyState] = {}

    def run(self, lines: Iterable[str]) -> Iterator[str]:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield from self._line(line, number)
            except DataError as exc:
                yield dumps(
                    {
                        "line": number,
                        "error": type(exc).__name__,
                        "stage": str(exc.stage),
                        "message": str(exc),
                    }
                )

    def _line(self, line: str, number: int) -> Iterator[str]:
        decoded = self._decoder.decode(to_record(line, number, self._mapping.table))
        if not isinstance(decoded, RowChange | Tombstone):
            yield dumps({"line": number, "skipped": f"{type(decoded).__name__}, not a row"})
            return
        if decoded.table != self._mapping.table:
            raise MappingError(
                f"line {number} is an event of table {decoded.table!r}; this mapping is "
                f"for {self._mapping.table!r}: pick the mapping with --table"
            )
        thing_id = _thing_id(self._mapping, decoded)
        decision = decide(
            self._states.get(thing_id), decoded, self._mapping, models_url=self._models_url
        )
        yield from self._apply(thing_id, decision, number)

    def _apply(
        self, thing_id: str, decision: Emit | Duplicate | NoChange, number: int
    ) -> Iterator[str]:
        if isinstance(decision, Duplicate):
            yield dumps({"line": number, "skipped": decision.reason})
            return
        self._states[thing_id] = decision.state
        if isinstance(decision, NoChange):
            yield dumps({"line": number, "skipped": decision.reason})
            return
        for command in decision.commands:
            yield dumps(command)


def dry_run(lines: Iterable[str], mapping: TableMapping, *, models_url: str) -> Iterator[str]:
    """Command JSON lines (or skip / error lines) for input lines; see the module doc."""
    return DryRun(mapping, models_url=models_url).run(lines)


__all__ = ["DryRun", "dry_run", "to_record"]
