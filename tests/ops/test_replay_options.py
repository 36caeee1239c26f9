"""The replay's start on the command line: one of four, and clear errors."""

from __future__ import annotations

import pytest

from streams.errors import ConfigError
from streams.kafka.replay_source import Start, StartFrom
from streams.ops.replay import start_of


def test_the_default_resumes_from_the_committed_offsets() -> None:
    assert start_of(None, None, None, False) == Start(StartFrom.COMMITTED)


def test_each_start_is_read() -> None:
    assert start_of("earliest", None, None, False) == Start(StartFrom.EARLIEST)
    assert start_of(None, 42, None, False) == Start(StartFrom.OFFSET, 42)
    at = start_of(None, None, "2026-12-04T17:00:00Z", False)
    assert at == Start(StartFrom.TIME, 1_796_403_600_000)
    assert start_of(None, None, "2026-12-04T17:00:00", False) == at  # no zone: UTC


def test_two_starts_are_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="--from-offset and --from-snapshot"):
        start_of(None, 3, None, True)


@pytest.mark.parametrize(
    ("start", "at_time", "message"),
    [("offset", None, "use earliest or committed"), (None, "yesterday", "not ISO-8601")],
)
def test_bad_values_name_the_fix(start: str | None, at_time: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        start_of(start, None, at_time, False)
