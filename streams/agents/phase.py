"""The worker's migration phase: followed from the phase topic, shown as a gauge and in logs.

The agents ask `PhaseFollower.phase` for every record they decide, so a phase change
takes effect at the next record of every agent of every worker (each follows the whole
topic itself, see streams.kafka.phase_log).
"""

from __future__ import annotations

import logging
from typing import Protocol

from streams.agents import metrics
from streams.config import Settings
from streams.kafka.phase_log import PhaseFollower
from streams.state.phase import DEFAULT_PHASE, ORDER, Phase, PhaseRecord, Timeline, describe
from streams.state.phased import Conflict

log = logging.getLogger(__name__)

# Conflict state (streams.state.conflict): each table is written by one agent from its
# own partitions and read by the other one across partitions.
CROSSINGS_TABLE = "phase-crossings"  # legacy -> Ditto: columns an echo must restore
WRITTEN_TABLE = "phase-twin-written"  # Ditto -> legacy: columns sent to the sink, by revision


class PhaseSource(Protocol):
    """What the agents read the phases from: a PhaseFollower in the worker."""

    @property
    def timeline(self) -> Timeline: ...


class FixedPhase:
    """A phase that never changes: for an app built without the phase topic."""

    def __init__(self, phase: Phase = DEFAULT_PHASE) -> None:
        self.timeline = Timeline(default=phase)


def _changed(previous: PhaseRecord | None, record: PhaseRecord) -> None:
    metrics.publish_phase(record.phase, ORDER)
    was = DEFAULT_PHASE if previous is None else previous.phase
    log.info(
        "phase=%s previous=%s set_at=%s set_by=%s reason=%r: %s",
        record.phase,
        was,
        record.set_at,
        record.set_by,
        record.reason,
        "; ".join(describe(record.phase)),
    )


def report_conflicts(agent: str, found: list[Conflict], origin: str) -> None:
    for crossed in found:
        metrics.CONFLICTS.labels(crossed.winner).inc(len(crossed.columns))
        log.warning(
            "conflict thing=%s origin=%s columns=%s phase=%s winner=%s agent=%s: a row edit "
            "and a twin edit crossed; %s",
            crossed.thing_id,
            origin,
            ",".join(crossed.columns),
            crossed.phase,
            crossed.winner,
            agent,
            "the row edit's columns are not sent, the twin's values go to the row"
            if crossed.winner == "ditto"
            else "the row edit is sent, and its echo puts its values back into the row",
        )


def follow(settings: Settings) -> PhaseFollower:
    """Start following the phase topic; returns once the phase in force is known."""
    follower = PhaseFollower(settings.kafka_bootstrap, settings.phase_topic, _changed)
    metrics.publish_phase(DEFAULT_PHASE, ORDER)
    follower.start()
    if follower.record is None:
        log.info(
            "phase=%s (topic %s is empty: the default) %s",
            DEFAULT_PHASE,
            settings.phase_topic,
            "; ".join(describe(DEFAULT_PHASE)),
        )
    return follower


__all__ = [
    "CROSSINGS_TABLE",
    "WRITTEN_TABLE",
    "FixedPhase",
    "PhaseSource",
    "follow",
    "report_conflicts",
]
