"""Typing by declared column type: what events without a schema rely on."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from streams.cdc import ColumnSpec, ColumnType, coerce, loads
from streams.errors import DecodeError, Stage

NUMERIC = ColumnSpec(ColumnType.NUMERIC)
NUMERIC_3 = ColumnSpec(ColumnType.NUMERIC, scale=3)


@pytest.mark.parametrize(
    ("raw", "spec", "expected"),
    [
        ("AeI6", ColumnSpec(ColumnType.NUMERIC, scale=2), Decimal("1234.50")),  # precise
        ("AJY=", ColumnSpec(ColumnType.NUMERIC, scale=2), Decimal("1.50")),  # leading 00
        ("+y4=", ColumnSpec(ColumnType.NUMERIC, scale=2), Decimal("-12.34")),  # negative
        ("EtZE", NUMERIC_3, Decimal("1234.500")),  # captured row 1, precise, no schema
        ({"scale": 3, "value": "K971"}, NUMERIC, Decimal("2875.125")),  # VariableScale
        ("1234.500", NUMERIC, Decimal("1234.500")),  # decimal.handling.mode=string
        ("1234.500", NUMERIC_3, Decimal("1234.500")),  # a point is never base64
        (Decimal("1234.5"), NUMERIC, Decimal("1234.5")),  # double mode, parsed exactly
        (450, NUMERIC, Decimal(450)),
    ],
)
def test_numeric(raw: Any, spec: ColumnSpec, expected: Decimal) -> None:
    value = coerce(raw, spec, "t.c")
    assert isinstance(value, Decimal)
    assert value == expected and str(value) == str(expected)


def test_nan_from_string_mode_stays_a_decimal() -> None:
    assert coerce("NAN", NUMERIC, "t.c").is_nan()


def test_base64_without_a_declared_scale_says_how_to_fix() -> None:
    with pytest.raises(DecodeError) as caught:
        coerce("AeI6", NUMERIC, "wells.oil_rate_bopd (row)")
    text = str(caught.value)
    assert "wells.oil_rate_bopd" in text and "schemas.enable" in text and "scale" in text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-01T10:34:56.789012Z", datetime(2024, 5, 1, 10, 34, 56, 789012, tzinfo=UTC)),
        ("2019-03-14T12:34:56.789012+01:00", datetime(2019, 3, 14, 11, 34, 56, 789012, tzinfo=UTC)),
        ("2024-05-01T10:34:56Z", datetime(2024, 5, 1, 10, 34, 56, tzinfo=UTC)),
        ("2024-05-01T10:34:56.5Z", datetime(2024, 5, 1, 10, 34, 56, 500000, tzinfo=UTC)),
        ("2024-05-01T10:34:56.123456000Z", datetime(2024, 5, 1, 10, 34, 56, 123456, tzinfo=UTC)),
    ],
)
def test_timestamptz_text(raw: str, expected: datetime) -> None:
    value = coerce(raw, ColumnSpec(ColumnType.TIMESTAMPTZ), "t.c")
    assert value == expected and value.utcoffset().total_seconds() == 0


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (1714566896789012, "no unit"),
        ("2024-05-01T10:34:56.123456789Z", "below a microsecond"),
        ("yesterday", "not an ISO-8601 timestamp"),
    ],
)
def test_timestamptz_errors(raw: Any, words: str) -> None:
    with pytest.raises(DecodeError, match=words):
        coerce(raw, ColumnSpec(ColumnType.TIMESTAMPTZ), "t.c")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (17969, date(2019, 3, 14)),
        (-1, date(1969, 12, 31)),
        ("2017-09-15Z", date(2017, 9, 15)),
        ("2017-09-15", date(2017, 9, 15)),
    ],
)
def test_date(raw: Any, expected: date) -> None:
    assert coerce(raw, ColumnSpec(ColumnType.DATE), "t.c") == expected


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        (1, ColumnType.TEXT),
        (True, ColumnType.INTEGER),
        ("yes", ColumnType.BOOLEAN),
        (datetime(2020, 1, 1, tzinfo=UTC), ColumnType.DATE),
        (True, ColumnType.NUMERIC),
    ],
)
def test_type_mismatch_is_a_decode_error(raw: Any, kind: ColumnType) -> None:
    with pytest.raises(DecodeError, match=r"t\.c"):
        coerce(raw, ColumnSpec(kind), "t.c")


def test_null_is_null_for_every_type() -> None:
    assert all(coerce(None, ColumnSpec(kind), "t.c") is None for kind in ColumnType)


def test_naive_datetime_for_timestamptz_is_taken_as_utc() -> None:
    naive = datetime(2024, 5, 1, 10, 34, 56)
    assert coerce(naive, ColumnSpec(ColumnType.TIMESTAMPTZ), "t.c") == naive.replace(tzinfo=UTC)


def test_precise_decimal_beyond_28_digits_is_not_rounded() -> None:
    unscaled = 123456789012345678901234567890123
    raw = base64.b64encode(unscaled.to_bytes(14, "big", signed=True)).decode()
    value = coerce(raw, NUMERIC_3, "t.c")
    assert str(value) == "123456789012345678901234567890.123"


@pytest.mark.parametrize("depth", [65, 5000, 100_000])
@pytest.mark.parametrize("opening", ["[", '{"a":'])
def test_json_nested_too_deep_is_a_decode_error(depth: int, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    text = opening * depth + "1" + closing * depth
    for data in (text, text.encode()):
        with pytest.raises(DecodeError, match="nests too deep") as caught:
            loads(data)
        assert caught.value.stage is Stage.DECODE


def test_json_nested_to_the_limit_still_parses() -> None:
    brackets_in_text = '"' + "[{" * 100 + '"'
    deep = loads("[" * 63 + brackets_in_text + "]" * 63)
    for _ in range(63):
        [deep] = deep
    assert deep == "[{" * 100
