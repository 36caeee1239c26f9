"""The records the replies agent reads, as commands and answers, or a DecodeError.

Both topics carry UTF-8 JSON from Ditto or from us; anything else (a tombstone on the
reply topic, bytes that are not UTF-8, an attempt header that is no number) is a bad
record: a DecodeError naming the record's topic[partition]@offset and what is wrong, so
it becomes a dead letter at stage decode, never an unexpected error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from streams.ditto.protocol import decode, parse_reply
from streams.errors import DecodeError
from streams.state.replies import Answer, SentCommand

ATTEMPT_HEADER = "streams-attempt"


@dataclass(frozen=True)
class RawRecord:
    """The parts of a Kafka record the agent reads and a dead letter copies."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]

    @property
    def origin(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


def read_command(record: RawRecord) -> tuple[str | None, SentCommand]:
    """The command a command-topic record holds, and its correlation id (None: unknown).

    A tombstone is kept as an empty command: Ditto answers it by the record header's id.
    """
    headers = [(k, _text(record, v, f"header {k!r}")) for k, v in record.headers]
    by_name = {k.lower(): v for k, v in headers}
    text = "" if record.value is None else _text(record, record.value, "value")
    command = SentCommand(
        key=(record.key or b"").decode(errors="replace"),
        value=text,
        headers=tuple((k, v) for k, v in headers if k != ATTEMPT_HEADER),
        origin=record.origin,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        attempt=_attempt(record, by_name),
    )
    return _envelope_correlation_id(text) or by_name.get("correlation-id"), command


def read_answer(record: RawRecord) -> tuple[str | None, Answer]:
    """Ditto's answer a reply-topic record holds, and its correlation id (None: unknown)."""
    if record.value is None:
        raise DecodeError(
            f"reply {record.origin} is a tombstone (no value): Ditto answers with a Ditto "
            "Protocol message; find what wrote an empty record to the reply topic"
        )
    text = _text(record, record.value, "value")
    try:
        reply = parse_reply(decode(text))
    except DecodeError as exc:
        raise DecodeError(f"reply {record.origin}: {exc}") from exc
    answer = Answer(reply.status, reply.error, reply.message, reply.description, record.origin)
    # Only the correlation id is read from the headers here, so other odd bytes may stay.
    by_header = {k.lower(): v.decode(errors="replace") for k, v in record.headers}
    return reply.correlation_id or by_header.get("correlation-id"), answer


def _text(record: RawRecord, data: bytes, what: str) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError as exc:
        raise DecodeError(
            f"record {record.origin}: its {what} is not UTF-8 text ({exc.reason} at byte "
            f"{exc.start}); Ditto Protocol messages are UTF-8 JSON: find what wrote it"
        ) from exc


def _envelope_correlation_id(text: str) -> str | None:
    """Ditto answers with the envelope's correlation id; a record that is no envelope
    gets the record header's (Ditto's fallback too)."""
    try:
        headers = decode(text).get("headers")
    except DecodeError:
        return None
    found = headers.get("correlation-id") if isinstance(headers, dict) else None
    return str(found) if found is not None else None


def _attempt(record: RawRecord, headers: dict[str, str]) -> int:
    raw = headers.get(ATTEMPT_HEADER, "1")
    if raw.isdecimal() and int(raw) >= 1:
        return int(raw)
    raise DecodeError(
        f"command {record.origin}: header {ATTEMPT_HEADER} must be a whole number from 1, "
        f"got {raw!r}; only the replies agent sets it"
    )


__all__ = ["ATTEMPT_HEADER", "RawRecord", "read_answer", "read_command"]
