"""The migration phases: which direction syncs and which side wins a conflict (pure).

Every worker reads the same phase from one compacted topic (streams.kafka.phase_log);
this module only says what a phase means and which changes of phase are allowed.

| phase          | legacy -> Ditto | Ditto -> legacy | a conflict is won by |
|----------------|-----------------|-----------------|----------------------|
| legacy-primary | yes             | dead letter     | legacy               |
| dual-write     | yes             | yes             | legacy               |
| ditto-primary  | yes             | yes             | Ditto                |
| cutover        | dead letter     | yes             | Ditto                |

A phase moves one step forward or one step back (a rollback); any other change needs
`force`, because skipping a phase skips the checks its runbook step asks for.

A change is judged by the phase in force when it was made (its commit time in Postgres,
its timestamp in Ditto), not when a worker reads it (`Timeline.at`): a change still on
its way when the phase moves keeps the rule it was made under, so a rollback loses no
write made in the later phase, and a step forward holds back nothing made before it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from streams.errors import HeldByPhaseError, PhaseError

RECORD_KEY = b"phase"


class Phase(StrEnum):
    LEGACY_PRIMARY = "legacy-primary"
    DUAL_WRITE = "dual-write"
    DITTO_PRIMARY = "ditto-primary"
    CUTOVER = "cutover"


class Side(StrEnum):
    LEGACY = "legacy"
    DITTO = "ditto"


# An empty phase topic means nobody chose a phase yet: the sync keeps doing what it did
# before phases existed (both directions), so an upgrade changes no running behaviour.
DEFAULT_PHASE = Phase.DUAL_WRITE
ORDER: tuple[Phase, ...] = tuple(Phase)


@dataclass(frozen=True, slots=True)
class Rules:
    legacy_to_ditto: bool
    ditto_to_legacy: bool
    winner: Side


RULES: Mapping[Phase, Rules] = {
    Phase.LEGACY_PRIMARY: Rules(legacy_to_ditto=True, ditto_to_legacy=False, winner=Side.LEGACY),
    Phase.DUAL_WRITE: Rules(legacy_to_ditto=True, ditto_to_legacy=True, winner=Side.LEGACY),
    Phase.DITTO_PRIMARY: Rules(legacy_to_ditto=True, ditto_to_legacy=True, winner=Side.DITTO),
    Phase.CUTOVER: Rules(legacy_to_ditto=False, ditto_to_legacy=True, winner=Side.DITTO),
}


def rules(phase: Phase) -> Rules:
    return RULES[phase]


class Direction(StrEnum):
    LEGACY_TO_DITTO = "legacy -> Ditto"
    DITTO_TO_LEGACY = "Ditto -> legacy"


def syncs(phase: Phase, direction: Direction) -> bool:
    rule = rules(phase)
    return rule.legacy_to_ditto if direction is Direction.LEGACY_TO_DITTO else rule.ditto_to_legacy


_HOW_TO_PASS = {
    Direction.LEGACY_TO_DITTO: (
        "in cutover Ditto is the master and legacy its copy: make the change in Ditto, or "
        "roll back (`streams phase set ditto-primary`) and change the row again"
    ),
    Direction.DITTO_TO_LEGACY: (
        "in legacy-primary legacy is the master: make the change in legacy, or move on "
        "(`streams phase set dual-write`) and edit the twin again"
    ),
}


def check_direction(phase: Phase, direction: Direction, what: str) -> None:
    """Raise HeldByPhaseError (a dead letter) when `phase` does not sync `direction`."""
    if not syncs(phase, direction):
        raise HeldByPhaseError(
            f"phase {phase} does not sync {direction}: {what} is held back; "
            f"{_HOW_TO_PASS[direction]}",
            str(phase),
        )


def parse_phase(text: str) -> Phase:
    try:
        return Phase(text)
    except ValueError:
        names = ", ".join(ORDER)
        raise PhaseError(f"{text!r} is not a phase; the phases are {names}") from None


def allowed_steps(current: Phase) -> tuple[Phase, ...]:
    """One step forward and one step back (a rollback), in that order, where they exist."""
    at = ORDER.index(current)
    forward = ORDER[at + 1 : at + 2]
    back = ORDER[max(at - 1, 0) : at]
    return (*forward, *back)


def check_step(current: Phase, target: Phase, *, force: bool = False) -> None:
    """Refuse anything but one step forward or back, unless forced."""
    if force or target in allowed_steps(current):
        return
    if target is current:
        raise PhaseError(f"the phase is already {current}; nothing to change")
    steps = " or ".join(allowed_steps(current))
    raise PhaseError(
        f"{current} -> {target} is not one step: from {current} go to {steps}, one step "
        "at a time (each step has its runbook checks), or pass --force"
    )


def describe(phase: Phase) -> tuple[str, str, str]:
    """What each direction does now, and who wins a conflict, for people."""
    rule = rules(phase)
    held = "held: each change is a dead letter (stage phase)"
    return (
        f"legacy -> Ditto: {'row changes become twin commands' if rule.legacy_to_ditto else held}",
        f"Ditto -> legacy: {'twin edits are written to rows' if rule.ditto_to_legacy else held}",
        f"conflict: {rule.winner} wins",
    )


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    """One record of the phase topic: the phase set, what it replaced, when, who, why."""

    phase: Phase
    previous: Phase | None
    set_at: str  # ISO 8601, UTC
    set_by: str
    reason: str = ""
    forced: bool = False

    @property
    def since_ms(self) -> int:
        """set_at as epoch milliseconds; 0 (in force for every change) when unreadable."""
        try:
            return int(datetime.fromisoformat(self.set_at).timestamp() * 1000)
        except ValueError:
            return 0

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "phase": str(self.phase),
                "previous": None if self.previous is None else str(self.previous),
                "set_at": self.set_at,
                "set_by": self.set_by,
                "reason": self.reason,
                "forced": self.forced,
            },
            ensure_ascii=False,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> PhaseRecord:
        try:
            fields: Any = json.loads(data)
            previous = fields.get("previous")
            return cls(
                phase=parse_phase(_typed(fields, "phase", str)),
                previous=None if previous is None else parse_phase(str(previous)),
                set_at=_set_at(_typed(fields, "set_at", str)),
                set_by=_typed(fields, "set_by", str, ""),
                reason=_typed(fields, "reason", str, ""),
                forced=_typed(fields, "forced", bool, False),
            )
        except (ValueError, TypeError, KeyError, AttributeError, PhaseError) as exc:
            raise PhaseError(
                f"not a phase record ({exc}): write phases with `streams phase set` only"
            ) from exc


# A record dated further ahead than clocks drift apart was not written by `phase set`: it
# would put changes made now under the phase before it.
MAX_CLOCK_SKEW = timedelta(minutes=5)


def _typed(fields: Any, name: str, kind: type, default: Any = KeyError) -> Any:
    if name not in fields:
        if default is KeyError:
            raise KeyError(f"field {name!r} is missing")
        return default
    value = fields[name]
    if not isinstance(value, kind):
        raise TypeError(f"field {name!r} must be a {kind.__name__}, not {value!r}")
    return value


def _set_at(text: str) -> str:
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"set_at {text!r} has no time zone")
    if when > datetime.now(UTC) + MAX_CLOCK_SKEW:
        raise ValueError(f"set_at {text!r} lies in the future")
    return text


def latest(records: Iterable[PhaseRecord]) -> PhaseRecord | None:
    """The record in force: the last one of the topic."""
    last = None
    for record in records:
        last = record
    return last


def current_phase(record: PhaseRecord | None) -> Phase:
    return DEFAULT_PHASE if record is None else record.phase


@dataclass(frozen=True, slots=True)
class Timeline:
    """The phase records read so far, in topic order: which phase was in force when."""

    records: tuple[PhaseRecord, ...] = ()
    default: Phase = DEFAULT_PHASE  # in force before any record

    def now(self) -> Phase:
        return self.records[-1].phase if self.records else self.default

    def at(self, ts_ms: int | None) -> Phase:
        """The phase in force at `ts_ms`; the phase now for a change without a time."""
        if ts_ms is None or not self.records:
            return self.now()
        for record in reversed(self.records):
            if record.since_ms <= ts_ms:
                return record.phase
        # Older than every record kept (compaction keeps the last): the one it replaced.
        return self.records[0].previous or self.default

    def add(self, record: PhaseRecord) -> Timeline:
        return Timeline((*self.records, record), self.default)


__all__ = [
    "DEFAULT_PHASE",
    "ORDER",
    "RECORD_KEY",
    "RULES",
    "Direction",
    "Phase",
    "PhaseRecord",
    "Rules",
    "Side",
    "Timeline",
    "allowed_steps",
    "check_direction",
    "check_step",
    "current_phase",
    "describe",
    "latest",
    "parse_phase",
    "rules",
    "syncs",
]
