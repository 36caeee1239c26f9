"""Consumer-group lag: committed offset against the log end per partition, in messages and
in time (the age of the oldest record the group has not consumed), and the group's members.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from confluent_kafka import Consumer, KafkaException, TopicPartition

from streams.errors import KafkaUnavailableError
from streams.kafka import _groups
from streams.kafka._quiet import QUIET


@dataclass(frozen=True, slots=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: the group never committed here
    end: int
    start: int = 0  # the log's first offset: older records were deleted
    lag_seconds: float | None = None  # age of the oldest unconsumed record; None: unread

    @property
    def position(self) -> int:
        """Where the group reads next: below the log start it can only resume at the start."""
        if self.committed is None or self.committed < self.start:
            return self.start
        return self.committed

    @property
    def lag(self) -> int:
        return max(0, self.end - self.position)


@dataclass(frozen=True, slots=True)
class GroupLag:
    group: str
    state: str  # Kafka's group state: STABLE, EMPTY, PREPARING_REBALANCING, DEAD ...
    members: int
    partitions: tuple[PartitionLag, ...]
    taken_ms: int  # when the offsets were read, ms since the epoch

    @property
    def known(self) -> bool:
        """Kafka knows the group: it has a member or a committed offset."""
        return self.members > 0 or any(p.committed is not None for p in self.partitions)


def list_groups(bootstrap: str) -> list[str]:
    """Every consumer group the cluster knows, sorted."""
    return _groups.list_groups(_groups.admin(bootstrap), bootstrap)


def read_group(bootstrap: str, group: str) -> GroupLag:
    """Members and lag of `group` on every partition it committed to or is assigned."""
    client = _groups.admin(bootstrap)
    membership = _groups.describe(client, bootstrap, group)
    offsets = _groups.committed(client, bootstrap, group)
    # A Faust worker is also assigned its own internal topics (`<group>-<table>-changelog`,
    # the assignor's leader topic) that it reads without committing: not lag.
    for tp in membership.assigned - offsets.keys():
        if not tp[0].startswith(f"{group}-"):
            offsets[tp] = None
    partitions = _with_ends(bootstrap, offsets)
    return GroupLag(
        group, membership.state, membership.members, partitions, int(time.time() * 1000)
    )


def partitions_lag(
    bootstrap: str, group: str, tps: Iterable[tuple[str, int]]
) -> list[PartitionLag]:
    """Lag of `group` on the given partitions, in messages and time (a worker's own share)."""
    tps = list(tps)
    if not tps:  # an empty request would ask for every partition of the group
        return []
    client = _groups.admin(bootstrap)
    offsets = _groups.committed(client, bootstrap, group, tps)
    return list(_with_ends(bootstrap, offsets))


def _with_ends(
    bootstrap: str, offsets: dict[tuple[str, int], int | None]
) -> tuple[PartitionLag, ...]:
    ends = _groups.watermarks(bootstrap, offsets)
    plain = [
        PartitionLag(t, p, offsets[(t, p)], end, start) for (t, p), (start, end) in ends.items()
    ]
    waiting = {(p.topic, p.partition): p.position for p in plain if p.lag > 0}
    stamps = _groups.first_timestamps(bootstrap, waiting)
    now_ms = time.time() * 1000
    return tuple(
        sorted(
            (_aged(p, stamps.get((p.topic, p.partition)), now_ms) for p in plain),
            key=lambda p: (p.topic, p.partition),
        )
    )


def _aged(lag: PartitionLag, stamp_ms: int | None, now_ms: float) -> PartitionLag:
    if lag.lag == 0:
        seconds: float | None = 0.0
    elif stamp_ms is None or stamp_ms < 0:
        seconds = None
    else:
        seconds = max(0.0, (now_ms - stamp_ms) / 1000)
    return replace(lag, lag_seconds=seconds)


def group_lag(bootstrap: str, group: str, topics: Iterable[str]) -> list[PartitionLag]:
    """Lag of `group` on each partition of `topics` (the group need not be running)."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            **QUIET,
        }
    )
    try:
        tps = []
        for topic in topics:
            meta = consumer.list_topics(topic, timeout=10).topics[topic]
            tps += [TopicPartition(topic, p) for p in sorted(meta.partitions)]
        committed = consumer.committed(tps, timeout=10)
        result = []
        for tp in committed:
            _, high = consumer.get_watermark_offsets(tp, timeout=10)
            offset = tp.offset if tp.offset >= 0 else None
            result.append(PartitionLag(tp.topic, tp.partition, offset, high))
        return result
    except KafkaException as exc:
        raise KafkaUnavailableError(f"lag of group {group} at {bootstrap}: {exc}") from exc
    finally:
        consumer.close()


__all__ = ["GroupLag", "PartitionLag", "group_lag", "list_groups", "partitions_lag", "read_group"]
