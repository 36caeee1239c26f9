"""Records of the command and reply topics read as commands and answers; bad ones are
DecodeErrors (stage decode) that name the record and what is wrong."""

from __future__ import annotations

import json

import pytest

from streams.errors import DataError, DecodeError, Stage
from streams.state.reply_records import ATTEMPT_HEADER, RawRecord, read_answer, read_command

COMMAND = {
    "topic": "acme/well-1/things/twin/commands/modify",
    "headers": {"correlation-id": "c1"},
    "path": "/",
    "value": {},
}
REPLY = {
    "topic": "acme/well-1/things/twin/commands/modify",
    "headers": {"correlation-id": "c1"},
    "path": "/",
    "status": 204,
}


def _record(
    value: bytes | None, headers: list[tuple[str, bytes]] | None = None, topic: str = "cmds"
) -> RawRecord:
    return RawRecord(topic, 2, 41, b"acme:well-1", value, headers or [])


def _decode_error(exc: pytest.ExceptionInfo[DecodeError]) -> str:
    assert isinstance(exc.value, DataError) and exc.value.stage is Stage.DECODE
    return str(exc.value)


def test_a_command_record_becomes_a_command_with_its_attempt() -> None:
    headers = [("correlation-id", b"c1"), (ATTEMPT_HEADER, b"3")]
    correlation_id, command = read_command(_record(json.dumps(COMMAND).encode(), headers))
    assert correlation_id == "c1"
    assert command.attempt == 3
    assert command.headers == (("correlation-id", "c1"),)
    assert command.origin == "cmds[2]@41"


def test_a_command_that_is_not_utf8_is_a_decode_error_naming_the_record() -> None:
    with pytest.raises(DecodeError) as exc:
        read_command(_record(b'{"topic": "\xff\xfe"}'))
    message = _decode_error(exc)
    assert "cmds[2]@41" in message and "not UTF-8" in message


def test_a_command_header_that_is_not_utf8_is_a_decode_error() -> None:
    with pytest.raises(DecodeError) as exc:
        read_command(_record(json.dumps(COMMAND).encode(), [("correlation-id", b"\xff")]))
    assert "header 'correlation-id'" in _decode_error(exc)


def test_an_attempt_header_that_is_no_number_is_a_decode_error() -> None:
    with pytest.raises(DecodeError) as exc:
        read_command(_record(json.dumps(COMMAND).encode(), [(ATTEMPT_HEADER, b"two")]))
    assert ATTEMPT_HEADER in _decode_error(exc)


def test_a_reply_record_becomes_an_answer() -> None:
    correlation_id, answer = read_answer(_record(json.dumps(REPLY).encode(), topic="replies"))
    assert (correlation_id, answer.status, answer.origin) == ("c1", 204, "replies[2]@41")


def test_a_reply_tombstone_is_a_decode_error_naming_the_record() -> None:
    with pytest.raises(DecodeError) as exc:
        read_answer(_record(None, topic="replies"))
    message = _decode_error(exc)
    assert "replies[2]@41" in message and "tombstone" in message


def test_a_reply_that_is_not_utf8_is_a_decode_error() -> None:
    with pytest.raises(DecodeError) as exc:
        read_answer(_record(b"\xc3\x28", topic="replies"))
    assert "replies[2]@41" in _decode_error(exc)


def test_a_reply_that_is_no_reply_names_the_record() -> None:
    with pytest.raises(DecodeError) as exc:
        read_answer(_record(b"[1]", topic="replies"))
    assert "replies[2]@41" in _decode_error(exc)
