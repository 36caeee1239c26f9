"""Ditto's answers to our commands: pair each answer with the command it answers, and
decide what the pair means. Pure; the agent stores the entries and acts on the verdicts.

Why the commands are kept, and where: an answer names its command only by correlation
id; Ditto's reply carries the status and error but not the command. To re-send, the
command must be recoverable, so the replies agent reads the command topic too and keeps
each command in a changelog-backed table under its correlation id until its answer came.
Commands and answers are both keyed by thing id on topics with the same partition
count, so a command and its answer share a partition number: the entry lives in one
table partition, which moves with both on a rebalance. (Carrying the command inside
its own headers would double every command and every event Ditto copies them into.)

The two topics are read side by side, so an answer may be read before its command. An
entry therefore holds both halves, commands and answers in arrival order, and pairs
them first in, first out; Ditto answers each command record once.

Status -> verdict, as Ditto's own Kafka source treats them (ditto.md §3.4):

=====================  ===========  ==========================================
status                 verdict      why
=====================  ===========  ==========================================
2xx, 412               done         applied, or a conditional write skipped
412 to `if-match: *`   dead letter  a merge found no twin to merge into
408, 424, 429, 5xx     retry        Ditto or a dependency was busy or away
any other              dead letter  the command can never succeed as it is
=====================  ===========  ==========================================

Order: a retry lands behind commands for the same thing that Ditto applied meanwhile, and
re-applying an old command after newer ones would leave old values in the twin. So a
retry raises a barrier for its thing over the command topic's offsets from the refused
command to the retry: a later command of that thing answered as done inside the barrier
is replayed after the retry (verdict replay), and each re-sent record widens the barrier
to itself. Replaying the suffix of a thing's merges, modifies and deletes in their order
ends in the same twin as applying them once in order. The barrier falls once an answer
for a command beyond it arrives. Answers reach us in the order Ditto applied the
commands (one partition per thing), and the agent sends before it reads on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

BACKOFF_START = 0.5
BACKOFF_CAP = 30.0
# A transient answer is retried this many times in all (about four minutes of backoff),
# then dead-lettered: a Ditto that stays away must not hold the thing's barrier forever.
MAX_ATTEMPTS = 14
_TRANSIENT = frozenset({408, 424, 429})


class Verdict(StrEnum):
    DONE = "done"
    RETRY = "retry"
    DEAD_LETTER = "dead-letter"
    REPLAY = "replay"  # done, but before a retry of an older command: send again after it


def verdict_for(status: int, requires_twin: bool = False) -> Verdict:
    """One place that splits Ditto's answers into done, retry and dead letter.

    `requires_twin`: the command carried `if-match: *`, so its 412 means the twin is
    missing, not that a conditional write was skipped on purpose.
    """
    if status == 412 and requires_twin:
        return Verdict.DEAD_LETTER
    if 200 <= status < 300 or status == 412:
        return Verdict.DONE
    if status in _TRANSIENT or 500 <= status < 600:
        return Verdict.RETRY
    return Verdict.DEAD_LETTER


def backoff(attempt: int) -> float:
    """Seconds to wait before sending attempt `attempt + 1` (doubling, capped)."""
    return float(min(BACKOFF_START * 2 ** max(attempt - 1, 0), BACKOFF_CAP))


@dataclass(frozen=True, slots=True)
class SentCommand:
    """A command record as read from the command topic: enough to send it again."""

    key: str
    value: str
    headers: tuple[tuple[str, str], ...]
    origin: str  # topic[partition]@offset of the record
    topic: str
    partition: int
    offset: int
    attempt: int = 1


@dataclass(frozen=True, slots=True)
class Answer:
    """Ditto's reply to one command, reduced to what a decision and a dead letter need."""

    status: int
    error: str | None
    message: str | None
    description: str | None
    origin: str  # topic[partition]@offset of the reply record


@dataclass(frozen=True, slots=True)
class Decision:
    verdict: Verdict
    command: SentCommand
    answer: Answer
    delay: float = 0.0  # before a retry is sent

    @property
    def gave_up(self) -> bool:
        """Dead-lettered although Ditto's answer was transient: out of attempts."""
        return self.verdict is Verdict.DEAD_LETTER and (
            verdict_for(self.answer.status) is Verdict.RETRY
        )

    @property
    def retry(self) -> SentCommand:
        """The command to send again: the same record, one attempt further."""
        return replace(self.command, attempt=self.command.attempt + 1)


@dataclass(frozen=True, slots=True)
class Barrier:
    """Offsets strictly between after and until of one thing's commands that Ditto applied before a
    retry of an older command: done answers inside it are replayed."""

    after: int
    until: int

    def holds(self, offset: int) -> bool:
        return self.after < offset < self.until


def barrier_from(raw: dict[str, int] | None) -> Barrier | None:
    return None if raw is None else Barrier(raw["after"], raw["until"])


def ordered(decision: Decision, barrier: Barrier | None) -> tuple[Decision, Barrier | None]:
    """The decision with order kept (a done answer inside the barrier becomes a replay),
    and the barrier that stays: None once an answer lies beyond it."""
    if barrier is None:
        return decision, None
    offset = decision.command.offset
    if decision.verdict is Verdict.DONE and barrier.holds(offset):
        decision = replace(decision, verdict=Verdict.REPLAY)
    return decision, (None if offset >= barrier.until else barrier)


def widened(barrier: Barrier | None, decision: Decision, resent_offset: int) -> Barrier:
    """The barrier after `decision`'s command was sent again at `resent_offset`."""
    after = decision.command.offset
    if barrier is not None:
        after = min(after, barrier.after)
    return Barrier(after, resent_offset)


# -- the table entry: plain JSON, so the changelog needs no custom codec ------------------

Entry = dict[str, list[dict[str, Any]]]


def _empty() -> Entry:
    return {"commands": [], "answers": []}


def _command_from(raw: dict[str, Any]) -> SentCommand:
    return SentCommand(**{**raw, "headers": tuple(tuple(h) for h in raw["headers"])})


def _pair(entry: Entry) -> tuple[Entry | None, list[Decision]]:
    commands, answers = list(entry["commands"]), list(entry["answers"])
    decisions = []
    while commands and answers:
        command, answer = _command_from(commands.pop(0)), Answer(**answers.pop(0))
        verdict = verdict_for(answer.status, answer.status == 412 and _requires_twin(command))
        if verdict is Verdict.RETRY and command.attempt >= MAX_ATTEMPTS:
            verdict = Verdict.DEAD_LETTER
        delay = backoff(command.attempt) if verdict is Verdict.RETRY else 0.0
        decisions.append(Decision(verdict, command, answer, delay))
    rest = {"commands": commands, "answers": answers}
    return (rest if commands or answers else None), decisions


def _requires_twin(command: SentCommand) -> bool:
    try:
        headers = json.loads(command.value).get("headers") or {}
    except (ValueError, AttributeError):
        return False
    return any(k.lower() == "if-match" and v == "*" for k, v in headers.items())


def on_command(entry: Entry | None, command: SentCommand) -> tuple[Entry | None, list[Decision]]:
    """A command was read: keep it, and decide if its answer came first."""
    current = entry or _empty()
    return _pair({**current, "commands": [*current["commands"], asdict(command)]})


def on_answer(entry: Entry | None, answer: Answer) -> tuple[Entry | None, list[Decision]]:
    """An answer was read: decide with its command, or keep it until the command comes."""
    current = entry or _empty()
    return _pair({**current, "answers": [*current["answers"], asdict(answer)]})


__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_START",
    "MAX_ATTEMPTS",
    "Answer",
    "Barrier",
    "Decision",
    "Entry",
    "SentCommand",
    "Verdict",
    "backoff",
    "barrier_from",
    "on_answer",
    "on_command",
    "ordered",
    "verdict_for",
    "widened",
]
