"""A Staged store: writes reach the store only on commit."""

from __future__ import annotations

import pytest

from streams.state.staged import Staged


def test_writes_wait_for_commit_and_reads_see_them() -> None:
    store = {"a": 1, "b": 2}
    staged = Staged(store)
    staged["a"] = 10
    staged["c"] = 3
    del staged["b"]

    assert (staged.get("a"), staged.get("b"), staged.get("c")) == (10, None, 3)
    assert sorted(staged) == ["a", "c"]
    assert store == {"a": 1, "b": 2}
    staged.commit()
    assert store == {"a": 10, "c": 3}


def test_dropping_a_staged_view_changes_nothing() -> None:
    store = {"a": 1}
    Staged(store)["a"] = 2
    assert store == {"a": 1}


def test_deleting_a_missing_key_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        del Staged({})["x"]
