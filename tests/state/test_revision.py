"""The revision gate of the Ditto -> legacy direction."""

from __future__ import annotations

from streams.state import Apply, Drop, revision_gate


def test_first_event_of_a_thing_applies() -> None:
    assert revision_gate(None, 1) == Apply(1, 0)


def test_next_revision_applies_without_gap() -> None:
    assert revision_gate(17, 18) == Apply(18, 0)


def test_gap_is_reported_so_the_caller_can_re_read() -> None:
    assert revision_gate(5, 7) == Apply(7, 1)


def test_redelivered_or_late_events_drop() -> None:
    assert isinstance(revision_gate(18, 18), Drop)
    late = revision_gate(18, 6)
    assert isinstance(late, Drop) and "6 <= last applied 18" in late.reason
