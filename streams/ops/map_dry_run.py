"""`streams map --table T`: run a mapping over text lines without Kafka or Ditto.

Each input line is one of:

- a Debezium record value (an envelope, a flattened row, with or without the JsonConverter
  `{schema, payload}` wrapper), as captured from a topic;
- a `{"key": ..., "value": ...}` object (optionally with topic, partition, offset,
  headers), key and value either JSON or the record's exact text;
- a plain row JSON object (`{"tenant": "acme", "well_code": "MOR-001", ...}`), which is an
  upsert of that row; mapped columns it leaves out are NULL. (The worker refuses a row
  without its mapped columns, since Debezium always sends them all; a flattened record
  with no `__` fields reads here as a plain row.)

Lines run through the worker's own flow (streams.state.legacy_flow: decode, id claim,
per-key decision), with its stores kept in memory, so a create followed by an update
yields a modify and then a merge of only the changed paths. Output, one JSON line per
input line (or per command): the Ditto Protocol command; `{"line": n, "skipped": kind,
"reason": ...}` for redeliveries, unchanged rows, echoes and non-row records;
`{"line": n, "error": class, "stage": ..., "message": ...}` for a line the worker would
dead-letter, or that is not UTF-8 text. Blank lines are ignored; `DryRun.failed` counts the
error lines.

With Avro input (`--format avro`, records of the Avro connector's topics) each line is a
`{"key": ..., "value": ...}` object whose key and value are the record's bytes in base64
(headers too, for Apicurio's id headers); the writer schemas come from the registry.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from typing import Any

from streams.cdc import CdcRecord, RecordDecoder, loads
from streams.errors import DataError, DecodeError
from streams.mapping import TableMapping, dumps
from streams.state.legacy_flow import Commands, LegacyFlow

_RECORD_FIELDS = frozenset({"key", "value", "headers", "topic", "partition", "offset"})
_DEBEZIUM_FIELDS = frozenset({"schema", "payload", "op", "before", "after", "source"})


def _is_plain_row(doc: Any) -> bool:
    return (
        isinstance(doc, dict)
        and not doc.keys() & _DEBEZIUM_FIELDS
        and not any(str(name).startswith("__") for name in doc)
    )


def _text(part: Any) -> bytes | None:
    if part is None:
        return None
    return part.encode() if isinstance(part, str) else dumps(part).encode()


def _header_pairs(raw: Any, number: int) -> list[tuple[str, Any]]:
    """A line's headers: an object of name: value, or a list of [name, value] pairs."""
    if raw is None:
        return []
    if isinstance(raw, dict):
        return [(str(name), value) for name, value in raw.items()]
    if isinstance(raw, list) and all(isinstance(p, list) and len(p) == 2 for p in raw):
        return [(str(name), value) for name, value in raw]
    raise DecodeError(
        f"line {number}: headers must be an object of name: value, or a list of "
        f"[name, value] pairs, got {raw!r}"
    )


def _position(doc: dict[str, Any], name: str, number: int, default: int) -> int:
    """The line's partition or offset: a whole number, as a JSON number or digits."""
    raw = doc.get(name)
    if raw is None:
        return default
    if isinstance(raw, str) and raw.isdecimal():
        return int(raw)
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return raw
    raise DecodeError(f"line {number}: {name} must be a whole number from 0, got {raw!r}")


def _utf8(line: str | bytes, number: int) -> tuple[str, bytes]:
    """The line as text and as the bytes a record carries."""
    try:
        return (line.decode(), line) if isinstance(line, bytes) else (line, line.encode())
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:
        raise DecodeError(
            f"line {number} is not UTF-8 text ({exc.reason} at position {exc.start}); "
            "convert the input to UTF-8 (iconv -t UTF-8)"
        ) from exc


def to_record(line: str | bytes, number: int, table: str, columns: Iterable[str] = ()) -> CdcRecord:
    """One input line as the Kafka record it stands for; `columns` pad a plain row."""
    text, raw = _utf8(line, number)
    try:
        doc = loads(text)
    except ValueError as exc:
        raise DecodeError(f"line {number} is not JSON: {exc}") from exc
    topic = f"dry-run.public.{table}"
    if isinstance(doc, dict) and "value" in doc and set(doc) <= _RECORD_FIELDS:
        return CdcRecord(
            key=_text(doc.get("key")),
            value=_text(doc["value"]),
            topic=str(doc.get("topic") or topic),
            partition=_position(doc, "partition", number, 0),
            offset=_position(doc, "offset", number, number),
            headers=[(k, _text(v)) for k, v in _header_pairs(doc.get("headers"), number)],
        )
    if _is_plain_row(doc):
        raw = dumps({name: None for name in columns} | doc).encode()
    return CdcRecord(key=None, value=raw, topic=topic, offset=number)


def to_avro_record(line: str | bytes, number: int, table: str) -> CdcRecord:
    """One input line of Avro input: key, value (and header values) in base64."""
    text, _ = _utf8(line, number)
    try:
        doc = loads(text)
    except ValueError as exc:
        raise DecodeError(f"line {number} is not JSON: {exc}") from exc
    if not isinstance(doc, dict) or "value" not in doc or not set(doc) <= _RECORD_FIELDS:
        raise DecodeError(
            f"line {number}: Avro input is one {{key, value}} object a line, the record's "
            "bytes in base64 (optionally headers, topic, partition, offset)"
        )
    headers = _header_pairs(doc.get("headers"), number)
    return CdcRecord(
        key=_base64(doc.get("key"), number, "key"),
        value=_base64(doc["value"], number, "value"),
        topic=str(doc.get("topic") or f"dry-run.public.{table}"),
        partition=_position(doc, "partition", number, 0),
        offset=_position(doc, "offset", number, number),
        headers=[(k, _base64(v, number, f"header {k}")) for k, v in headers],
    )


def _base64(value: Any, number: int, what: str) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(str(value), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DecodeError(f"line {number}: the {what} is not base64 ({exc})") from exc


class DryRun:
    """The worker's flow for one mapping on text lines, with in-memory stores.

    `decoder` (streams.registry.decoders.record_decoder) reads Avro lines instead of JSON.
    """

    def __init__(
        self,
        mapping: TableMapping,
        *,
        models_url: str,
        sync_origin: str,
        decoder: RecordDecoder | None = None,
        avro: bool = False,
    ) -> None:
        self._table = mapping.table
        self._columns = [*mapping.key, *mapping.columns]
        self._avro = avro
        self._flow = LegacyFlow(
            {mapping.table: mapping},
            models_url=models_url,
            sync_origin=sync_origin,
            decoder=decoder,
        )
        self._states: dict[str, Any] = {}
        self._owners: dict[str, str] = {}
        self.failed = 0

    def run(self, lines: Iterable[str | bytes]) -> Iterator[str]:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                yield from self._line(line, number)
            except DataError as exc:
                self.failed += 1
                yield dumps(
                    {
                        "line": number,
                        "error": type(exc).__name__,
                        "stage": str(exc.stage),
                        "message": str(exc),
                    }
                )

    def _line(self, line: str | bytes, number: int) -> Iterator[str]:
        if self._avro:
            record = to_avro_record(line, number, self._table)
        else:
            record = to_record(line, number, self._table, self._columns)
        outcome = self._flow.process(record, self._states, self._owners)
        if isinstance(outcome, Commands):
            yield from (dumps(command) for command in outcome.commands)
        else:
            yield dumps({"line": number, "skipped": outcome.kind, "reason": outcome.reason})


def dry_run(
    lines: Iterable[str | bytes], mapping: TableMapping, *, models_url: str, sync_origin: str
) -> Iterator[str]:
    """Command JSON lines (or skip / error lines) for input lines; see the module doc."""
    return DryRun(mapping, models_url=models_url, sync_origin=sync_origin).run(lines)


__all__ = ["DryRun", "dry_run", "to_avro_record", "to_record"]
