"""Ditto's answers paired with our commands: verdicts, backoff, either arrival order."""

from __future__ import annotations

import json

import pytest

from streams.state.replies import (
    BACKOFF_CAP,
    Answer,
    SentCommand,
    Verdict,
    backoff,
    on_answer,
    on_command,
    verdict_for,
)


def _command(attempt: int = 1, offset: int = 7) -> SentCommand:
    return SentCommand(
        key="acme:well-1",
        value='{"topic": "acme/well-1/things/twin/commands/modify"}',
        headers=(("correlation-id", "c1"),),
        origin=f"cmds[0]@{offset}",
        topic="cmds",
        partition=0,
        offset=offset,
        attempt=attempt,
    )


def _answer(status: int, error: str | None = None) -> Answer:
    return Answer(status, error, "why" if error else None, None, "replies[0]@3")


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.DONE),
        (201, Verdict.DONE),
        (204, Verdict.DONE),
        (412, Verdict.DONE),
        (408, Verdict.RETRY),
        (424, Verdict.RETRY),
        (429, Verdict.RETRY),
        (500, Verdict.RETRY),
        (503, Verdict.RETRY),
        (400, Verdict.DEAD_LETTER),
        (403, Verdict.DEAD_LETTER),
        (404, Verdict.DEAD_LETTER),
        (409, Verdict.DEAD_LETTER),
        (413, Verdict.DEAD_LETTER),
        (415, Verdict.DEAD_LETTER),
        (302, Verdict.DEAD_LETTER),
    ],
)
def test_each_status_has_one_verdict(status: int, verdict: Verdict) -> None:
    assert verdict_for(status) is verdict


def test_backoff_doubles_per_attempt_up_to_the_cap() -> None:
    assert [backoff(a) for a in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff(50) == BACKOFF_CAP


def test_an_answer_after_its_command_decides_and_clears_the_entry() -> None:
    entry, decisions = on_command(None, _command())
    assert decisions == []
    assert entry is not None

    entry, decisions = on_answer(entry, _answer(204))

    assert entry is None
    assert [(d.verdict, d.command) for d in decisions] == [(Verdict.DONE, _command())]


def test_an_answer_read_before_its_command_waits_for_it() -> None:
    entry, decisions = on_answer(None, _answer(403, "things:thing.notmodifiable"))
    assert decisions == []

    entry, decisions = on_command(entry, _command())

    assert entry is None
    assert decisions[0].verdict is Verdict.DEAD_LETTER
    assert decisions[0].answer.error == "things:thing.notmodifiable"


def test_a_transient_refusal_retries_the_same_record_one_attempt_further() -> None:
    entry, _ = on_command(None, _command(attempt=3))

    _, decisions = on_answer(entry, _answer(429, "things:thing.toomanymodifyingrequests"))

    decision = decisions[0]
    assert decision.verdict is Verdict.RETRY
    assert decision.delay == backoff(3)
    assert decision.retry.attempt == 4
    assert (decision.retry.key, decision.retry.value) == (_command().key, _command().value)


def test_an_entry_survives_its_json_changelog_and_pairs_first_in_first_out() -> None:
    entry, _ = on_command(None, _command(offset=7))
    entry, _ = on_command(entry, _command(offset=9))  # the same record read again
    stored = json.loads(json.dumps(entry))

    entry, first = on_answer(stored, _answer(500))
    entry, second = on_answer(entry, _answer(201))

    assert [d.command.offset for d in first + second] == [7, 9]
    assert [d.verdict for d in first + second] == [Verdict.RETRY, Verdict.DONE]
    assert first[0].command.headers == (("correlation-id", "c1"),)
    assert entry is None
