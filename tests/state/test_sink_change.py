"""SinkChange on the sink topic: exact numbers, UTC timestamps, dates, and clear errors."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from streams.errors import DecodeError
from streams.state.twin_flow import SinkChange, SinkOp

KEY = {"tenant": "acme", "well_code": "MOR-001"}


def test_wide_decimal_survives_exactly() -> None:
    wide = Decimal("12345678901234567890.123456789012345")
    change = SinkChange("wells", SinkOp.UPSERT, KEY, 3, "acme:well-mor-001", {"x": wide})
    text = change.to_json()
    assert b"12345678901234567890.123456789012345" in text
    assert SinkChange.from_json(text).columns["x"] == wide


def test_timestamps_become_utc_with_z_and_come_back_as_datetimes() -> None:
    plus_two = timezone(timedelta(hours=2))
    stamp = datetime(2026, 3, 2, 12, 0, 0, 500000, tzinfo=plus_two)
    change = SinkChange(
        "wells",
        SinkOp.UPSERT,
        KEY,
        3,
        "acme:well-mor-001",
        {"last_update": stamp, "spud": date(2020, 5, 1), "gone": None, "note": "2026-01-01"},
        correlation_id="c-1",
        source_ts=stamp,
    )
    doc = json.loads(change.to_json())
    assert doc["columns"]["last_update"] == "2026-03-02T10:00:00.500000Z"
    assert doc["sourceTs"] == "2026-03-02T10:00:00.500000Z"
    back = SinkChange.from_json(change.to_json())
    assert back == change
    assert back.columns["last_update"].tzinfo is not None
    assert back.columns["note"] == "2026-01-01"  # a text that looks like a date stays text
    assert back.source_ts == datetime(2026, 3, 2, 10, 0, 0, 500000, tzinfo=UTC)


def test_delete_has_no_columns() -> None:
    change = SinkChange("wells", SinkOp.DELETE, KEY, 9, "acme:well-mor-001")
    assert SinkChange.from_json(change.to_json()) == change


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ("[]", "must be a JSON object"),
        ("{", "not JSON"),
        ('{"table":"wells","op":"merge","key":{"a":1},"revision":1,"thingId":"a:b"}', "op"),
        ('{"table":"wells","op":"upsert","key":{},"revision":1,"thingId":"a:b"}', "is empty"),
        ('{"table":"wells","op":"upsert","key":{"a":1},"revision":-2,"thingId":"a:b"}', "revision"),
        (
            '{"table":"wells","op":"upsert","key":{"a":1},"revision":9223372036854775808,'
            '"thingId":"a:b"}',
            "a Java long",
        ),
        ('{"table":"","op":"upsert","key":{"a":1},"revision":1,"thingId":"a:b"}', "'table'"),
        (
            '{"table":"w","op":"upsert","key":{"a":1},"revision":1,"thingId":"a:b",'
            '"columns":{"t":"x"},"types":{"t":"interval"}}',
            "unknown type",
        ),
    ],
)
def test_bad_sink_records_are_decode_errors(doc: str, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        SinkChange.from_json(doc)


def test_a_value_that_is_no_column_value_is_a_decode_error() -> None:
    doc = (
        '{"table":"w","op":"upsert","key":{"a":1},"revision":1,"thingId":"a:b","columns":{"c":[1]}}'
    )
    with pytest.raises(DecodeError, match="scalar"):
        SinkChange.from_json(doc)
