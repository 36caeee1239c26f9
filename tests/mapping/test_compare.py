"""A row against its twin over the mapped paths, and the patch that repairs the twin."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from streams.mapping import dumps, to_thing
from streams.mapping.compare import DiffKind, FieldDiff, compare, repair_patch
from tests.mapping.rows import BASIN_ROW, MODELS_URL, WELL_ROW, mapping

WELLS, BASINS = mapping("wells"), mapping("basins")
WELL = to_thing(WELLS, WELL_ROW, models_url=MODELS_URL)
BASIN = to_thing(BASINS, BASIN_ROW, models_url=MODELS_URL)


def as_ditto_sends_it(thing: dict[str, Any]) -> Any:
    """The twin as Ditto's JSON, read with exact decimals (as `streams validate` reads it)."""
    return json.loads(dumps(thing), parse_float=Decimal)


def edited(thing: dict[str, Any], path: str, value: Any) -> Any:
    twin = as_ditto_sends_it(thing)
    *parents, last = path.split("/")
    node = twin
    for part in parents:
        node = node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return twin


_DELETE = object()
RATE = "features/production/properties/oilRateBopd"
MIN_LAT = "features/location/properties/bounds/minLat"


def well_diffs(twin: Any, row: dict[str, Any] | None = None) -> list[FieldDiff]:
    return compare(WELLS, row or WELL_ROW, WELL, twin)


def test_the_twin_the_mapping_writes_has_no_difference() -> None:
    assert well_diffs(as_ditto_sends_it(WELL)) == []
    assert compare(BASINS, BASIN_ROW, BASIN, as_ditto_sends_it(BASIN)) == []


def test_numbers_compare_as_exact_decimals() -> None:
    # 450.000 in the row is 450 in the twin: the same number.
    assert well_diffs(edited(WELL, RATE, Decimal("450.0"))) == []
    assert well_diffs(edited(WELL, RATE, 450)) == []
    # A float twin value counts by its shortest text, never by binary arithmetic.
    assert well_diffs(edited(WELL, "features/completion/properties/tubingSize", 2.875)) == []


def test_a_decimal_off_in_the_last_digit_is_a_value_difference() -> None:
    twin = edited(BASIN, MIN_LAT, Decimal("7.500001"))

    diffs = compare(BASINS, BASIN_ROW, BASIN, twin)

    assert diffs == [
        FieldDiff(MIN_LAT, DiffKind.VALUE, Decimal("7.500000"), Decimal("7.500001"), "min_lat")
    ]


def test_a_value_of_another_json_type_is_a_type_difference() -> None:
    diffs = well_diffs(edited(WELL, RATE, "450"))

    assert diffs == [FieldDiff(RATE, DiffKind.TYPE, Decimal("450.000"), "450", "oil_rate_bopd")]


def test_timestamps_compare_as_instants() -> None:
    path = "features/status/properties/lastUpdate"
    assert well_diffs(edited(WELL, path, "2026-01-10T12:00:00.000Z")) == []
    later = well_diffs(edited(WELL, path, "2026-01-10T12:00:01Z"))
    assert [(d.path, d.kind) for d in later] == [(path, DiffKind.VALUE)]
    assert [d.kind for d in well_diffs(edited(WELL, path, "yesterday"))] == [DiffKind.TYPE]


def test_a_null_column_is_an_absent_property_and_a_present_one_differs() -> None:
    row = {**WELL_ROW, "api_number": None}
    without = edited(WELL, "attributes/apiNumber", _DELETE)

    assert well_diffs(without, row) == []
    assert well_diffs(as_ditto_sends_it(WELL), row) == [
        FieldDiff("attributes/apiNumber", DiffKind.VALUE, None, "VE-12345", "api_number")
    ]


def test_a_path_missing_in_the_twin_names_its_legacy_value() -> None:
    diffs = well_diffs(edited(WELL, "attributes/name", _DELETE))

    assert diffs == [FieldDiff("attributes/name", DiffKind.PATH_MISSING, "MOR-001", None, "name")]


def test_a_removed_feature_is_one_difference_with_the_whole_feature() -> None:
    diffs = well_diffs(edited(WELL, "features/production", _DELETE))

    assert diffs == [
        FieldDiff(
            "features/production",
            DiffKind.PATH_MISSING,
            WELL["features"]["production"],
            None,
        )
    ]


def test_ids_definition_and_constants_are_mapped_paths_too() -> None:
    twin = edited(WELL, "policyId", "acme:other-policy")
    twin = edited({**twin}, "attributes/type", "BASIN")
    del twin["definition"]

    diffs = {(d.path, d.kind) for d in well_diffs(twin)}

    assert diffs == {
        ("policyId", DiffKind.VALUE),
        ("definition", DiffKind.PATH_MISSING),
        ("attributes/type", DiffKind.VALUE),
    }


def test_paths_no_mapping_names_are_not_compared() -> None:
    twin = as_ditto_sends_it(WELL)
    twin["attributes"]["note"] = "added in Ditto"
    twin["features"]["telemetry"] = {"properties": {"x": 1}}
    twin["_revision"] = 7

    assert well_diffs(twin) == []


def test_a_missing_twin_is_one_difference_repaired_by_a_whole_modify() -> None:
    diffs = well_diffs(None)

    assert diffs == [FieldDiff("/", DiffKind.MISSING_TWIN, WELL["thingId"], None)]
    with pytest.raises(ValueError, match="modify of the whole twin"):
        repair_patch(WELL, diffs)


def test_the_repair_patch_sets_each_differing_path_and_nulls_what_legacy_lacks() -> None:
    row = {**WELL_ROW, "api_number": None}
    twin = edited(WELL, RATE, Decimal("450.001"))
    twin = edited(twin, "features/completion", _DELETE)

    patch = repair_patch(WELL, well_diffs(twin, row))

    assert patch == {
        "attributes": {"apiNumber": None},
        "features": {
            "completion": WELL["features"]["completion"],
            "production": {"properties": {"oilRateBopd": Decimal("450.000")}},
        },
    }
