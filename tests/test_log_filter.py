"""A library's repeated log line is dropped within the window and counted after it."""

from __future__ import annotations

import logging

from streams.logs import RepeatFilter


def _record(name: str, msg: str, created: float) -> logging.LogRecord:
    record = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, None, None)
    record.created = created
    return record


def test_repeats_of_a_library_line_are_dropped_then_counted() -> None:
    repeats = RepeatFilter(window=10)
    line = "Unable connect to node with id 1"

    passed = [repeats.filter(_record("aiokafka", line, t)) for t in (0, 1, 2, 9.9)]
    later = _record("aiokafka", line, 10.5)

    assert passed == [True, False, False, False]
    assert repeats.filter(later)
    assert later.getMessage() == f"{line} (and 3 more like it before)"


def test_our_own_lines_and_other_lines_always_pass() -> None:
    repeats = RepeatFilter(window=10)

    ours = [repeats.filter(_record("streams.agents.x", "retry", t)) for t in (0, 1)]
    others = [repeats.filter(_record("aiokafka", f"line {n}", 0)) for n in (1, 2)]

    assert ours == [True, True] and others == [True, True]
