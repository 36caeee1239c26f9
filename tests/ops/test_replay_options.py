"""The replay's options on the command line: one start of four, the consumer group, and
clear errors."""

from __future__ import annotations

import pytest

from streams.config import Settings
from streams.errors import ConfigError
from streams.kafka.replay_source import Start, StartFrom
from streams.ops.replay import ReplayOptions, group_of, start_of


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


@pytest.mark.parametrize("at_time", ["1900-01-01", "1969-12-31T23:59:59Z"])
def test_a_time_before_the_epoch_is_a_usage_error(at_time: str) -> None:
    with pytest.raises(ConfigError, match="before 1970-01-01: use --from earliest"):
        start_of(None, None, at_time, False)


def test_the_epoch_itself_is_a_start() -> None:
    assert start_of(None, None, "1970-01-01T00:00:00Z", False) == Start(StartFrom.TIME, 0)


def test_the_default_group_is_one_per_set_of_tenants() -> None:
    settings = Settings(consumer_group="sync")
    assert group_of(settings, ReplayOptions()) == "sync-replay"
    tenants = ReplayOptions(tenants=("nordic", "acme", "nordic"))
    assert group_of(settings, tenants) == "sync-replay-acme-nordic"
    assert group_of(settings, ReplayOptions(group="mine", tenants=("acme",))) == "mine"


@pytest.mark.parametrize("group", ["", "  "])
def test_an_empty_group_is_a_usage_error(group: str) -> None:
    with pytest.raises(ConfigError, match="--group needs a consumer group name"):
        group_of(Settings(), ReplayOptions(group=group))
