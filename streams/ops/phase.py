"""`streams phase show | set`: the migration phase every worker obeys, as library calls."""

from __future__ import annotations

import getpass
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from streams.config import Settings
from streams.kafka.admin import ensure_topics
from streams.kafka.phase_log import read_phase, write_phase
from streams.kafka.topics import phase_topic
from streams.state.phase import (
    ORDER,
    Phase,
    PhaseRecord,
    allowed_steps,
    check_step,
    current_phase,
    describe,
)


@dataclass(frozen=True, slots=True)
class PhaseStatus:
    topic: str
    record: PhaseRecord | None  # None: never set, the default is in force

    @property
    def phase(self) -> Phase:
        return current_phase(self.record)

    def to_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "phase": str(self.phase),
            "default": record is None,
            "previous": None if record is None or record.previous is None else record.previous,
            "set_at": None if record is None else record.set_at,
            "set_by": None if record is None else record.set_by,
            "reason": None if record is None else record.reason,
            "forced": False if record is None else record.forced,
            "rules": list(describe(self.phase)),
            "steps": list(allowed_steps(self.phase)),
        }


def default_actor() -> str:
    """Who sets a phase when --by is not given: the user at this host."""
    return f"{getpass.getuser()}@{socket.gethostname()}"


def show(settings: Settings) -> PhaseStatus:
    return PhaseStatus(
        settings.phase_topic, read_phase(settings.kafka_bootstrap, settings.phase_topic)
    )


def set_phase(
    settings: Settings, target: Phase, *, set_by: str, reason: str = "", force: bool = False
) -> PhaseRecord:
    """Write `target` as the phase in force: one step forward or back, or any with force."""
    ensure_topics(settings.kafka_bootstrap, [phase_topic(settings)])
    now = show(settings)
    check_step(now.phase, target, force=force)
    record = PhaseRecord(
        phase=target,
        previous=now.phase,
        # Milliseconds: a change made after this instant is judged by the new phase.
        set_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        set_by=set_by,
        reason=reason,
        forced=target not in allowed_steps(now.phase),
    )
    write_phase(settings.kafka_bootstrap, settings.phase_topic, record)
    return record


def status_lines(status: PhaseStatus) -> list[str]:
    """`phase show` for people."""
    record = status.record
    if record is None:
        head = (
            f"phase: {status.phase} (the default: {status.topic} holds no phase record; "
            "if a phase was set, check STREAMS_PHASE_TOPIC)"
        )
    else:
        head = (
            f"phase: {record.phase} (set {record.set_at} by {record.set_by}, "
            f"previous {record.previous}{', forced' if record.forced else ''})"
        )
    lines = [head]
    if record is not None and record.reason:
        lines.append(f"reason: {record.reason}")
    lines += describe(status.phase)
    return [*lines, _steps(status.phase)]


def set_lines(record: PhaseRecord, topic: str) -> list[str]:
    """`phase set` for people."""
    forced = " (forced)" if record.forced else ""
    return [
        f"phase: {record.previous} -> {record.phase}{forced}, set {record.set_at} "
        f"by {record.set_by}",
        *describe(record.phase),
        f"written to {topic}: every worker obeys it from its next record",
    ]


def _steps(phase: Phase) -> str:
    at = ORDER.index(phase)
    forward = ORDER[at + 1] if at + 1 < len(ORDER) else None
    back = ORDER[at - 1] if at > 0 else None
    return f"next: {forward or 'none (last phase)'}; rollback: {back or 'none (first phase)'}"


__all__ = ["PhaseStatus", "default_actor", "set_lines", "set_phase", "show", "status_lines"]
