"""The group status rule over synthetic windows of samples."""

from __future__ import annotations

import pytest

from streams.kafka.lag import GroupLag, PartitionLag
from streams.ops.lag_status import Status, evaluate

Offsets = list[tuple[int | None, int]]  # (committed, end) per partition of one topic


def sample(offsets: Offsets, members: int = 1, age: float | None = 1.0) -> GroupLag:
    partitions = tuple(
        PartitionLag("t", n, committed, end, lag_seconds=age if end != committed else 0.0)
        for n, (committed, end) in enumerate(offsets)
    )
    return GroupLag("g", "STABLE" if members else "EMPTY", members, partitions, 0)


def test_no_lag_is_ok_even_without_members() -> None:
    verdict = evaluate([sample([(5, 5)], members=0)])
    assert verdict.status is Status.OK


def test_lag_without_members_is_stopped() -> None:
    verdict = evaluate([sample([(5, 5), (3, 9)], members=0)])
    assert verdict.status is Status.STOPPED
    assert "lag 6" in verdict.reason


def test_never_committed_partition_counts_from_the_log_start() -> None:
    lag = PartitionLag("t", 0, None, 10, start=4)
    assert (lag.position, lag.lag) == (4, 6)
    assert PartitionLag("t", 0, 2, 10, start=4).lag == 6


def test_still_offset_while_lagging_with_members_is_stalled() -> None:
    window = [sample([(3, 10), (7, 7)]), sample([(3, 10), (8, 8)]), sample([(3, 11), (9, 9)])]
    verdict = evaluate(window)
    assert verdict.status is Status.STALLED
    assert "t[0]" in verdict.reason and "t[1]" not in verdict.reason


def test_one_sample_cannot_stall_nor_trend() -> None:
    assert evaluate([sample([(3, 10)])]).status is Status.OK


def test_lag_growing_on_every_sample_is_error() -> None:
    window = [sample([(3, 10)]), sample([(5, 14)]), sample([(8, 20)])]
    verdict = evaluate(window)
    assert verdict.status is Status.ERROR
    assert "7 -> 9 -> 12" in verdict.reason


def test_lag_growing_on_some_samples_is_warning() -> None:
    window = [sample([(3, 10)]), sample([(5, 14)]), sample([(12, 15)])]
    assert evaluate(window).status is Status.WARNING


@pytest.mark.parametrize(("age", "status"), [(61.0, Status.WARNING), (59.0, Status.OK)])
def test_old_unconsumed_record_is_warning(age: float, status: Status) -> None:
    window = [sample([(3, 10)], age=age), sample([(6, 10)], age=age)]
    assert evaluate(window, max_lag_s=60).status is status


def test_shrinking_lag_is_ok() -> None:
    window = [sample([(3, 10)]), sample([(6, 10)]), sample([(9, 10)])]
    assert evaluate(window).status is Status.OK


def test_an_unread_age_does_not_warn() -> None:
    assert evaluate([sample([(3, 10)], age=None)]).status is Status.OK


def test_empty_window_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        evaluate([])
