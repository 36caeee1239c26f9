"""Reducing a sink batch to one plan per row: the same end state as writing one by one."""

from __future__ import annotations

from typing import Any

from streams.sinks._batch import reduce_batch, row_id
from streams.state.twin_flow import SinkChange, SinkOp


def up(code: str, revision: int, **columns: Any) -> SinkChange:
    key = {"tenant": "t", "well_code": code}
    return SinkChange("wells", SinkOp.UPSERT, key, revision, f"t:well-{code}", columns)


def delete(code: str, revision: int) -> SinkChange:
    key = {"tenant": "t", "well_code": code}
    return SinkChange("wells", SinkOp.DELETE, key, revision, f"t:well-{code}")


def test_upserts_of_one_key_merge_later_columns_win() -> None:
    reduced = reduce_batch(
        [up("a", 1, name="x", status="P"), up("b", 1, name="b"), up("a", 2, status="S")]
    )
    first, second = reduced.plans
    assert (first.key["well_code"], first.columns, first.revision) == (
        "a",
        {"name": "x", "status": "S"},
        2,
    )
    assert first.sources == [0, 2] and second.sources == [1]
    assert first.delete_revision is None and not first.fresh


def test_delete_wins_over_earlier_upserts() -> None:
    (plan,) = reduce_batch([up("a", 1, name="x"), delete("a", 2)]).plans
    assert (plan.columns, plan.delete_revision, plan.revision) == (None, 2, 2)


def test_upsert_after_delete_is_a_fresh_row() -> None:
    (plan,) = reduce_batch(
        [up("a", 1, name="x", status="P"), delete("a", 2), up("a", 3, name="y")]
    ).plans
    assert plan.fresh
    assert (plan.delete_revision, plan.columns, plan.revision) == (2, {"name": "y"}, 3)


def test_stale_and_repeated_revisions_in_a_batch_are_dropped() -> None:
    reduced = reduce_batch([up("a", 5, name="new"), up("a", 4, name="old"), up("a", 5, name="dup")])
    (plan,) = reduced.plans
    assert plan.columns == {"name": "new"}
    assert reduced.stale == [1, 2]


def test_equal_keys_in_other_tables_are_other_rows() -> None:
    basin = SinkChange(
        "basins", SinkOp.UPSERT, {"tenant": "t", "code": "a"}, 1, "t:basin-a", {"name": "b"}
    )
    assert len(reduce_batch([up("a", 1, name="w"), basin]).plans) == 2


def test_changes_at_or_below_the_rows_revision_are_stale() -> None:
    floors = {row_id("wells", {"tenant": "t", "well_code": "a"}): 4}
    reduced = reduce_batch(
        [
            up("a", 3, name="old"),
            up("a", 4, name="same"),
            up("a", 5, status="S"),
            up("b", 1, name="b"),
        ],
        floors,
    )
    assert reduced.stale == [0, 1]
    assert [p.columns for p in reduced.plans] == [{"status": "S"}, {"name": "b"}]
