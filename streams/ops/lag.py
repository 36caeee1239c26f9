"""`streams lag` as a library call: sample the groups' lag a few times, judge each group.

Each round reads every group once (streams.kafka.lag); a group's status comes from the
window of its last `samples` rounds (streams.ops.lag_status states the rule).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from streams.config import Settings
from streams.errors import ConfigError
from streams.kafka.lag import GroupLag, list_groups, read_group
from streams.ops.lag_status import (
    DEFAULT_MAX_LAG_SECONDS,
    Verdict,
    evaluate,
    max_lag_seconds,
    total_lag,
)

IDLE = "no member and no committed offset: nothing to read"


@dataclass(frozen=True, slots=True)
class GroupReport:
    """A group's verdict over the window and its last sample."""

    verdict: Verdict
    last: GroupLag
    samples: int

    def to_json(self) -> dict[str, Any]:
        last = self.last
        return {
            "group": last.group,
            "status": str(self.verdict.status),
            "reason": self.verdict.reason,
            "state": last.state,
            "members": last.members,
            "samples": self.samples,
            "lag": total_lag(last),
            "lag_seconds": round(max_lag_seconds(last), 3),
            "partitions": [
                {
                    "topic": p.topic,
                    "partition": p.partition,
                    "committed": p.committed,
                    "end": p.end,
                    "lag": p.lag,
                    "lag_seconds": None if p.lag_seconds is None else round(p.lag_seconds, 3),
                }
                for p in last.partitions
            ],
        }


@dataclass(frozen=True, slots=True)
class Sampling:
    samples: int = 3
    interval: float = 2.0
    max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS


def groups_to_check(settings: Settings, groups: Sequence[str], every: bool) -> list[str]:
    """--all: every group of the cluster; else the named ones, or the worker's group."""
    if every:
        return list_groups(settings.kafka_bootstrap)
    if any(not g.strip() for g in groups):
        raise ConfigError("--group needs a consumer group name; `streams lag --all` lists them")
    return list(dict.fromkeys(groups)) or [settings.consumer_group]


def watch(
    settings: Settings,
    groups: Sequence[str],
    sampling: Sampling,
    on_sample: Callable[[int], None] = lambda n: None,
    listed: bool = False,
) -> Iterator[list[GroupReport]]:
    """Reports after the first full window, then after every further round (--watch).
    `listed`: the groups come from Kafka's own list (--all), so one without a member or a
    committed offset is reported, not refused as a mistyped name."""
    windows: dict[str, deque[GroupLag]] = {g: deque(maxlen=sampling.samples) for g in groups}
    taken = 0
    while True:
        if taken:
            time.sleep(sampling.interval)
        for group in groups:
            lag = read_group(settings.kafka_bootstrap, group)
            windows[group].append(lag if listed else _known(lag))
        taken += 1
        on_sample(taken)
        if taken >= sampling.samples:
            yield [_report(windows[g], sampling) for g in groups]


def check(
    settings: Settings,
    groups: Sequence[str],
    sampling: Sampling,
    on_sample: Callable[[int], None] = lambda n: None,
    listed: bool = False,
) -> list[GroupReport]:
    """One window of `sampling.samples` rounds, then each group's report."""
    return next(watch(settings, groups, sampling, on_sample, listed))


def _known(lag: GroupLag) -> GroupLag:
    if not lag.known:
        raise ConfigError(
            f"Kafka knows no consumer group {lag.group!r} (no member, no committed offset): "
            "check the name (`streams lag --all` lists every group), or start a worker"
        )
    return lag


def _report(window: deque[GroupLag], sampling: Sampling) -> GroupReport:
    verdict = evaluate(list(window), sampling.max_lag_seconds)
    if not window[-1].known:
        # No partition, so no lag and OK by the rule; say why there is nothing to read.
        verdict = replace(verdict, reason=IDLE)
    return GroupReport(verdict, window[-1], len(window))


__all__ = ["IDLE", "GroupReport", "Sampling", "check", "groups_to_check", "watch"]
