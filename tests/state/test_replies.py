"""Ditto's answers paired with our commands: verdicts, backoff, either arrival order."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from streams.state.replies import (
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    Answer,
    Barrier,
    Decision,
    SentCommand,
    Verdict,
    backoff,
    on_answer,
    on_command,
    ordered,
    verdict_for,
    widened,
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


def test_a_transient_refusal_on_the_last_attempt_is_a_dead_letter_that_says_so() -> None:
    entry, _ = on_command(None, _command(attempt=MAX_ATTEMPTS - 1))
    _, before_last = on_answer(entry, _answer(503, "gateway:service.unavailable"))
    entry, _ = on_command(None, _command(attempt=MAX_ATTEMPTS))
    _, last = on_answer(entry, _answer(503, "gateway:service.unavailable"))

    assert before_last[0].verdict is Verdict.RETRY
    assert last[0].verdict is Verdict.DEAD_LETTER
    assert last[0].gave_up


def test_a_permanent_refusal_is_not_counted_as_giving_up() -> None:
    entry, _ = on_command(None, _command())
    _, decisions = on_answer(entry, _answer(400, "things:attribute.invalid"))

    assert decisions[0].verdict is Verdict.DEAD_LETTER
    assert not decisions[0].gave_up


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


def _decided(status: int, offset: int) -> Decision:
    _, decisions = on_answer(on_command(None, _command(offset=offset))[0], _answer(status))
    return decisions[0]


def test_a_retry_keeps_order_by_replaying_what_ditto_applied_before_it() -> None:
    """Commands 10 (refused with 429), 11 (applied) and 13 (sent after the retry at 12)."""
    refused, decision_barrier = ordered(_decided(429, 10), None)
    assert refused.verdict is Verdict.RETRY
    barrier = widened(decision_barrier, refused, resent_offset=12)
    assert barrier == Barrier(10, 12)

    applied_meanwhile, barrier_after = ordered(_decided(204, 11), barrier)
    assert applied_meanwhile.verdict is Verdict.REPLAY
    assert barrier_after is not None
    barrier = widened(barrier_after, applied_meanwhile, resent_offset=14)
    assert barrier == Barrier(10, 14)

    # 13 came after the retry but before the replay of 11: it is replayed as well.
    between, barrier_after = ordered(_decided(204, 13), barrier)
    assert between.verdict is Verdict.REPLAY

    # The replay's own answer (14) and anything later: order is whole again.
    last, barrier_after = ordered(_decided(204, 14), Barrier(10, 14))
    assert last.verdict is Verdict.DONE
    assert barrier_after is None


def test_inside_a_barrier_refusals_keep_their_own_verdict() -> None:
    barrier = Barrier(10, 20)

    refused, kept = ordered(_decided(403, 15), barrier)
    busy, _ = ordered(_decided(503, 16), barrier)

    assert (refused.verdict, kept) == (Verdict.DEAD_LETTER, barrier)
    assert busy.verdict is Verdict.RETRY
    assert widened(barrier, busy, resent_offset=25) == Barrier(10, 25)


def test_a_412_to_a_merge_that_needs_its_twin_is_a_dead_letter() -> None:
    merge = replace(
        _command(),
        value=json.dumps(
            {"topic": "acme/well-1/things/twin/commands/merge", "headers": {"if-match": "*"}}
        ),
    )
    _, decisions = on_answer(on_command(None, merge)[0], _answer(412, "things:precondition.failed"))
    assert [d.verdict for d in decisions] == [Verdict.DEAD_LETTER]
    _, decisions = on_answer(on_command(None, _command())[0], _answer(412))
    assert [d.verdict for d in decisions] == [Verdict.DONE]
