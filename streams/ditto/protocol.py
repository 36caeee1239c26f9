"""Ditto Protocol messages as plain dicts: the commands we send, the events and replies
we read. No I/O here; `encode` gives the bytes a Kafka record carries.

Commands (all at path "/" of one thing):

- c and r rows: `things/twin/commands/modify` with the whole thing (incl. policyId and
  definition) -- a create when the twin does not exist yet;
- u rows: `things/twin/commands/merge` with a JSON merge patch of the changed paths; the
  `content-type: application/merge-patch+json` header sits inside the Ditto Protocol
  headers, because Ditto ignores it on the Kafka record;
- d rows: `things/twin/commands/delete`.

Every command carries a correlation id, our origin marker and the source position (LSN,
transaction id, commit time), so an event that comes back can be recognised as ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.cdc import loads
from streams.ditto._inbound import (
    MAX_REVISION,
    EventAction,
    Reply,
    Resource,
    TwinChange,
    classify,
    parse_event,
    parse_inbound,
    parse_reply,
    revision_of,
)
from streams.ditto._topic import parse_topic, thing_topic
from streams.errors import DecodeError
from streams.mapping import dumps

Message = dict[str, Any]

# Our headers: one place for their names. Ditto copies unknown headers into the events a
# command causes, which is how an echo of our own write is recognised (ditto.md §1.3).
ORIGIN_HEADER = "streams-origin"
ORIGIN_LEGACY = "legacy"
SOURCE_HEADER = "streams-source"  # topic[partition]@offset of the CDC record
SOURCE_LSN_HEADER = "streams-source-lsn"
SOURCE_TX_HEADER = "streams-source-tx"
SOURCE_TS_HEADER = "streams-source-ts-ms"  # commit time in Postgres, for end-to-end latency
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where a change came from in the legacy database."""

    record: str
    lsn: int | None = None
    tx_id: int | None = None
    ts_ms: int | None = None


def correlation_id(record: str, index: int = 0) -> str:
    """Deterministic: a replayed record gets the same id, so its traces line up."""
    return f"streams:{record}" if index == 0 else f"streams:{record}#{index}"


def command_headers(
    source: SourcePosition, *, origin: str = ORIGIN_LEGACY, index: int = 0
) -> dict[str, Any]:
    headers: dict[str, Any] = {
        "correlation-id": correlation_id(source.record, index),
        "response-required": True,
        ORIGIN_HEADER: origin,
        SOURCE_HEADER: source.record,
    }
    for name, value in (
        (SOURCE_LSN_HEADER, source.lsn),
        (SOURCE_TX_HEADER, source.tx_id),
        (SOURCE_TS_HEADER, source.ts_ms),
    ):
        if value is not None:
            headers[name] = str(value)
    return headers


def modify_thing(thing: Mapping[str, Any], headers: Mapping[str, Any]) -> Message:
    """Create or replace the whole thing (path "/")."""
    return {
        "topic": thing_topic(str(thing["thingId"]), "commands", "modify"),
        "headers": dict(headers),
        "path": "/",
        "value": dict(thing),
    }


def merge_thing(thing_id: str, patch: Mapping[str, Any], headers: Mapping[str, Any]) -> Message:
    """Merge a patch into the thing (path "/"), content type inside the envelope.

    `if-match: *` because Ditto turns a merge at "/" of a missing thing into a create
    with an implicit policy that grants only the sender: a twin holding just the changed
    paths, under the wrong policy. With it Ditto answers 412 instead, a dead letter.
    """
    return {
        "topic": thing_topic(thing_id, "commands", "merge"),
        "headers": {**headers, "content-type": MERGE_PATCH, "if-match": "*"},
        "path": "/",
        "value": dict(patch),
    }


def delete_thing(thing_id: str, headers: Mapping[str, Any]) -> Message:
    return {
        "topic": thing_topic(thing_id, "commands", "delete"),
        "headers": dict(headers),
        "path": "/",
    }


def thing_id_of(message: Mapping[str, Any]) -> str:
    """The thing a message is about (from its topic): the Kafka key of a command."""
    return parse_topic(message.get("topic")).thing_id


def encode(message: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON; NUMERIC values exact (see streams.mapping.dumps)."""
    return dumps(message).encode()


def decode(data: bytes | str) -> Message:
    """A Ditto Protocol message from bytes (fractions as exact Decimals)."""
    try:
        message = loads(data)
    except ValueError as exc:
        raise DecodeError(f"not a JSON Ditto Protocol message: {exc}") from exc
    if not isinstance(message, dict):
        raise DecodeError("a Ditto Protocol message must be a JSON object")
    return message


__all__ = [
    "MAX_REVISION",
    "MERGE_PATCH",
    "ORIGIN_HEADER",
    "ORIGIN_LEGACY",
    "SOURCE_HEADER",
    "SOURCE_LSN_HEADER",
    "SOURCE_TS_HEADER",
    "SOURCE_TX_HEADER",
    "EventAction",
    "Message",
    "Reply",
    "Resource",
    "SourcePosition",
    "TwinChange",
    "classify",
    "command_headers",
    "correlation_id",
    "decode",
    "delete_thing",
    "encode",
    "merge_thing",
    "modify_thing",
    "parse_event",
    "parse_inbound",
    "parse_reply",
    "revision_of",
    "thing_id_of",
]
