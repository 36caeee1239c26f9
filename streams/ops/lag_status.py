"""A consumer group's status from a short window of lag samples, in the spirit of Burrow.

One call of `streams lag` sees a few instants only, so the rule reads a window of samples
of one group (oldest first) and looks at the last one and at how the numbers moved. The
first rule that holds wins:

=========  ===================================================================
status     when
=========  ===================================================================
OK         the last sample has no lag on any partition
STOPPED    the group has no member and lag > 0: nobody will ever read it
STALLED    members are present, but a partition that lagged in every sample
           kept its committed offset over the whole window (2+ samples)
ERROR      the group's total lag grew from each sample to the next (2+ samples)
WARNING    the total lag grew between some two samples, or the oldest unconsumed
           record is older than the time-lag threshold
OK         otherwise: lag that is shrinking or steady, and young
=========  ===================================================================

Pure over plain numbers: the Kafka reads are in streams.kafka.lag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Protocol

DEFAULT_MAX_LAG_SECONDS = 60.0


class Status(StrEnum):
    OK = "OK"
    WARNING = "WARNING"
    ERROR = "ERROR"
    STALLED = "STALLED"
    STOPPED = "STOPPED"


class PartitionSample(Protocol):
    """What the rule reads of one partition (streams.kafka.lag.PartitionLag fits)."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...
    @property
    def committed(self) -> int | None: ...
    @property
    def lag(self) -> int: ...
    @property
    def lag_seconds(self) -> float | None: ...


class GroupSample(Protocol):
    """One instant of one group (streams.kafka.lag.GroupLag fits)."""

    @property
    def members(self) -> int: ...
    @property
    def partitions(self) -> Sequence[PartitionSample]: ...


@dataclass(frozen=True, slots=True)
class Verdict:
    status: Status
    reason: str

    @property
    def ok(self) -> bool:
        return self.status is Status.OK


def total_lag(sample: GroupSample) -> int:
    return sum(p.lag for p in sample.partitions)


def max_lag_seconds(sample: GroupSample) -> float:
    return max((p.lag_seconds or 0.0 for p in sample.partitions), default=0.0)


def evaluate(window: Sequence[GroupSample], max_lag_s: float = DEFAULT_MAX_LAG_SECONDS) -> Verdict:
    """The status of a group over `window`, oldest sample first (at least one)."""
    if not window:
        raise ValueError("evaluate needs at least one sample")
    last = window[-1]
    lag = total_lag(last)
    if lag == 0:
        return Verdict(Status.OK, "no lag")
    if last.members == 0:
        return Verdict(Status.STOPPED, f"no member and lag {lag}: start a worker")
    stalled = _stalled(window)
    if stalled:
        return Verdict(
            Status.STALLED,
            f"members present, committed offsets did not move on {', '.join(stalled)} "
            f"over {len(window)} samples while lag > 0",
        )
    return _trend(window, max_lag_s)


def _stalled(window: Sequence[GroupSample]) -> list[str]:
    """topic[partition] of each partition that lagged throughout with a still offset."""
    if len(window) < 2:
        return []
    seen: dict[tuple[str, int], list[PartitionSample]] = {}
    for sample in window:
        for p in sample.partitions:
            seen.setdefault((p.topic, p.partition), []).append(p)
    return [
        f"{topic}[{partition}]"
        for (topic, partition), history in sorted(seen.items())
        if len(history) == len(window)
        and all(p.lag > 0 for p in history)
        and len({p.committed for p in history}) == 1
    ]


def _trend(window: Sequence[GroupSample], max_lag_s: float) -> Verdict:
    lags = [total_lag(s) for s in window]
    steps = list(pairwise(lags))
    grew = sum(1 for before, after in steps if after > before)
    shown = " -> ".join(str(n) for n in lags)
    if steps and grew == len(steps):
        return Verdict(Status.ERROR, f"lag grew on every sample: {shown}")
    if grew:
        return Verdict(Status.WARNING, f"lag grew on {grew} of {len(steps)} samples: {shown}")
    age = max_lag_seconds(window[-1])
    if age > max_lag_s:
        return Verdict(
            Status.WARNING,
            f"oldest unconsumed record is {age:.0f}s old (threshold {max_lag_s:.0f}s)",
        )
    return Verdict(Status.OK, f"lag {shown}, not growing")


__all__ = [
    "DEFAULT_MAX_LAG_SECONDS",
    "GroupSample",
    "PartitionSample",
    "Status",
    "Verdict",
    "evaluate",
    "max_lag_seconds",
    "total_lag",
]
