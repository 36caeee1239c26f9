"""JSON text with exact NUMERIC values."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from streams.errors import MappingError
from streams.mapping import dumps, number_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2.875", "2.875"),
        ("450.000", "450"),
        ("7.0", "7"),
        ("-65.000000", "-65"),
        ("153000.000", "153000"),
        ("0.000001", "0.000001"),
        ("1E-7", "0.0000001"),
        ("-0.000", "0"),
        ("12345678901234567890.123456789", "12345678901234567890.123456789"),
    ],
)
def test_number_text(value: str, text: str) -> None:
    assert number_text(Decimal(value)) == text
    assert dumps([Decimal(value)]) == f"[{text}]"


def test_fast_and_exact_paths_write_the_same_document() -> None:
    doc = {"a": Decimal("0.1"), "b": "Anzoátegui", "c": [True, None, 3]}
    exact = {**doc, "z": Decimal("0.12345678901234567890")}
    assert dumps(doc) == '{"a":0.1,"b":"Anzoátegui","c":[true,null,3]}'
    assert dumps(exact) == '{"a":0.1,"b":"Anzoátegui","c":[true,null,3],"z":0.1234567890123456789}'
    assert json.loads(dumps(exact), parse_float=Decimal)["z"] == Decimal("0.1234567890123456789")


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), float("nan")])
def test_no_nan_in_json(bad: object) -> None:
    with pytest.raises(MappingError):
        dumps({"x": bad})
