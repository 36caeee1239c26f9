"""Rows to twins and back, by the mapping files we ship."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from streams.errors import MappingError, ThingIdError
from streams.mapping import (
    change_to_row,
    diff_patch,
    dumps,
    identity,
    thing_to_row,
    to_thing,
)
from tests.mapping.rows import (
    BASIN_ROW,
    MODELS_URL,
    PLAN_BASIN,
    PLAN_WELL,
    WELL_ROW,
    mapping,
    with_additions,
)

WELLS, BASINS = mapping("wells"), mapping("basins")


def as_json(thing: dict[str, Any]) -> Any:
    return json.loads(dumps(thing))


def test_basin_row_gives_the_plans_shape_plus_definition_and_code() -> None:
    thing = to_thing(BASINS, BASIN_ROW, models_url=MODELS_URL)
    expected = with_additions(PLAN_BASIN, "basin-1.0.0.tm.jsonld", code="CUENCA-ORIENTAL")
    assert as_json(thing) == expected


def test_well_row_gives_the_plans_shape_plus_definition() -> None:
    thing = to_thing(WELLS, WELL_ROW, models_url=MODELS_URL)
    assert as_json(thing) == with_additions(PLAN_WELL, "well-1.0.0.tm.jsonld")


def test_numbers_are_exact_json_numbers() -> None:
    text = dumps(to_thing(WELLS, WELL_ROW, models_url=MODELS_URL))
    assert '"tubingSize":2.875' in text
    assert '"casingSize":7}' in text  # 7.000 -> 7: trailing zeros are not data in JSON
    assert '"oilRateBopd":450,' in text
    assert '"lastUpdate":"2026-01-10T12:00:00Z"' in text


def test_numeric_beyond_float_precision_stays_exact() -> None:
    row = {**WELL_ROW, "oil_rate_bopd": Decimal("123456789012.345")}
    text = dumps(to_thing(WELLS, row, models_url=MODELS_URL))
    assert '"oilRateBopd":123456789012.345' in text


def test_null_column_is_an_absent_property_but_every_feature_stays() -> None:
    row = {
        **WELL_ROW,
        "api_number": None,
        "well_type": None,
        "lift_method": None,
        "tubing_size": None,
        "casing_size": None,
    }
    thing = to_thing(WELLS, row, models_url=MODELS_URL)
    assert "apiNumber" not in thing["attributes"]
    # The WoT model declares the feature, and Ditto rejects a twin that lacks it.
    assert thing["features"]["completion"] == {"properties": {}}


def test_microseconds_and_offsets_become_utc_z() -> None:
    moment = datetime(2026, 1, 10, 13, 0, 0, 250000).astimezone(UTC)
    row = {**WELL_ROW, "last_update": moment}
    thing = to_thing(WELLS, row, models_url=MODELS_URL)
    assert thing["features"]["status"]["properties"]["lastUpdate"].endswith(".250000Z")


def test_nan_cannot_become_a_twin_value() -> None:
    with pytest.raises(MappingError, match="NaN"):
        to_thing(WELLS, {**WELL_ROW, "oil_rate_bopd": Decimal("NaN")}, models_url=MODELS_URL)


def test_wrong_python_type_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match=r"wells\.name"):
        to_thing(WELLS, {**WELL_ROW, "name": 42}, models_url=MODELS_URL)


def test_messy_keys_make_valid_ids() -> None:
    who = identity(WELLS, {"tenant": "acme", "well_code": "15/9-F-1 C"})
    assert who.thing_id == "acme:well-15-9-f-1-c"
    assert who.policy_id == "acme:default-policy"
    assert who.business_key == "15/9-F-1 C"
    assert identity(WELLS, {"tenant": "acme", "well_code": "Åsgard Ø-2"}).thing_id == (
        "acme:well-asgard-o-2"
    )


def test_missing_key_and_bad_tenant() -> None:
    with pytest.raises(MappingError, match="well_code"):
        identity(WELLS, {"tenant": "acme"})
    with pytest.raises(ThingIdError, match="namespace"):
        identity(WELLS, {"tenant": "9acme", "well_code": "X"})


# -- the way back -------------------------------------------------------------------


def test_thing_to_row_is_the_exact_inverse_on_mapped_columns() -> None:
    thing = json.loads(dumps(to_thing(WELLS, WELL_ROW, models_url=MODELS_URL)), parse_float=Decimal)
    back = thing_to_row(WELLS, thing)
    mapped = {c: WELL_ROW[c] for c in [*WELLS.columns, "tenant"]}
    assert back.values == mapped
    assert back.unmapped == ()


def test_basin_round_trip_with_nested_bounds() -> None:
    thing = json.loads(
        dumps(to_thing(BASINS, BASIN_ROW, models_url=MODELS_URL)), parse_float=Decimal
    )
    back = thing_to_row(BASINS, thing)
    assert back.values == {c: BASIN_ROW[c] for c in [*BASINS.columns, "tenant"]}


def test_absent_property_maps_back_to_null_and_unmapped_paths_are_reported() -> None:
    thing = json.loads(dumps(to_thing(WELLS, WELL_ROW, models_url=MODELS_URL)))
    del thing["attributes"]["apiNumber"]
    thing["attributes"]["owner"] = "someone"
    thing["features"]["telemetry"] = {"properties": {"temp": 21}}
    thing["features"]["status"]["definition"] = ["http://x/status.tm.jsonld"]
    back = thing_to_row(WELLS, thing)
    assert back.values["api_number"] is None
    assert back.unmapped == ("attributes/owner", "features/telemetry/properties/temp")


def test_twin_without_its_key_attribute_cannot_find_its_row() -> None:
    thing = json.loads(dumps(to_thing(WELLS, WELL_ROW, models_url=MODELS_URL)))
    del thing["attributes"]["wellCode"]
    with pytest.raises(MappingError, match="attributes/wellCode"):
        thing_to_row(WELLS, thing)


def test_merge_event_sets_only_the_named_columns() -> None:
    patch = {
        "features": {"production": {"properties": {"oilRateBopd": 300, "waterRateBwpd": None}}}
    }
    row = change_to_row(WELLS, "/", patch, replace=False)
    assert row.values == {"oil_rate_bopd": Decimal(300), "water_rate_bwpd": None}


def test_merge_at_a_sub_path() -> None:
    row = change_to_row(
        BASINS, "/features/location/properties/bounds", {"minLat": 1.25}, replace=False
    )
    assert row.values == {"min_lat": Decimal("1.25")}


def test_modify_of_an_object_replaces_it_absent_means_null() -> None:
    row = change_to_row(BASINS, "/features/location/properties", {"areaKm2": 10}, replace=True)
    assert row.values == {
        "area_km2": Decimal(10),
        "min_lat": None,
        "max_lat": None,
        "min_lon": None,
        "max_lon": None,
    }


def test_deleted_feature_nulls_its_columns() -> None:
    row = change_to_row(WELLS, "/features/status", None, replace=True)
    assert row.values == {"status": None, "last_update": None}


def test_null_object_in_a_merge_nulls_everything_below() -> None:
    patch = {"features": {"location": {"properties": {"bounds": None}}}}
    row = change_to_row(BASINS, "/", patch, replace=False)
    assert row.values == {"min_lat": None, "max_lat": None, "min_lon": None, "max_lon": None}


def test_regex_deletion_key_of_ditto_merges() -> None:
    patch = {"features": {"location": {"properties": {"bounds": {"{{ ~max.*~ }}": None}}}}}
    row = change_to_row(BASINS, "/", patch, replace=False)
    assert row.values == {"max_lat": None, "max_lon": None}
    assert row.unmapped == ()


def test_single_property_event_and_type_errors() -> None:
    row = change_to_row(
        WELLS, "/features/status/properties/lastUpdate", "2026-02-01T00:00:00.5+01:00", replace=True
    )
    assert row.values == {"last_update": datetime(2026, 1, 31, 23, 0, 0, 500000, tzinfo=UTC)}
    with pytest.raises(MappingError, match="expected a number"):
        change_to_row(WELLS, "/features/production/properties/oilRateBopd", "lots", replace=True)
    with pytest.raises(MappingError, match="inside column"):
        change_to_row(WELLS, "/attributes/name/first", "x", replace=True)


# -- row diff -> merge patch ----------------------------------------------------------


def test_diff_holds_only_changed_paths_and_null_for_null() -> None:
    new = {
        **WELL_ROW,
        "oil_rate_bopd": Decimal("460.000"),
        "api_number": None,
        "casing_size": Decimal("7"),
    }
    patch = diff_patch(WELLS, WELL_ROW, new)
    assert as_json(patch) == {
        "attributes": {"apiNumber": None},
        "features": {"production": {"properties": {"oilRateBopd": 460}}},
    }


def test_diff_without_old_row_carries_every_present_column() -> None:
    patch = diff_patch(WELLS, None, {"well_code": "MOR-001", "status": "SHUT_IN"})
    assert patch == {
        "attributes": {"wellCode": "MOR-001"},
        "features": {"status": {"properties": {"current": "SHUT_IN"}}},
    }


def test_unchanged_row_diffs_to_nothing() -> None:
    assert diff_patch(WELLS, WELL_ROW, dict(WELL_ROW)) == {}


@pytest.mark.parametrize("rate", [Decimal("12.34567"), 12.3456])
def test_a_twin_value_with_more_decimals_than_its_column_is_refused(rate: Any) -> None:
    """numeric(12,3) would round it: the row and the twin would differ for good."""
    patch = {"features": {"production": {"properties": {"oilRateBopd": rate}}}}
    with pytest.raises(MappingError, match="more than the 3 decimals"):
        change_to_row(WELLS, "/", patch, replace=False)


def test_trailing_zeros_past_the_scale_are_not_extra_decimals() -> None:
    patch = {"features": {"production": {"properties": {"oilRateBopd": Decimal("12.340000")}}}}
    row = change_to_row(WELLS, "/", patch, replace=False)
    assert row.values == {"oil_rate_bopd": Decimal("12.34")}
