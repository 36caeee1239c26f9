"""The rebalance log line's partition list: one word per topic, partitions sorted."""

from __future__ import annotations

from faust.types import TP

from streams.agents.rebalance import tps


def test_partitions_are_grouped_by_topic_and_sorted() -> None:
    given = {TP("b", 2), TP("a", 5), TP("b", 0), TP("a", 1)}

    assert tps(given) == "a[1,5] b[0,2]"
    assert tps(set()) == ""
