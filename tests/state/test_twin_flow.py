"""The Ditto -> legacy flow: twin events (shaped as Ditto publishes them) -> SinkChanges.

Events are built the way a Kafka target with the Ditto mapper writes them: the envelope
with topic, headers (Ditto's own plus those copied from the causing command), path,
value, revision and timestamp (ditto.md §1, §2).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from streams.errors import DecodeError, MappingError
from streams.mapping import dumps
from streams.state.twin_flow import SinkChange, SinkOp, Skipped, TwinFlow, TwinState, Write
from tests.mapping.rows import MAPPINGS, PLAN_BASIN, PLAN_WELL, with_additions

WELL = "acme:well-mor-001"
WELL_KEY = {"tenant": "acme", "well_code": "MOR-001"}
BASIN = "acme:basin-cuenca-oriental"
FLOW = TwinFlow(MAPPINGS)
_ABSENT = object()


def event(
    thing_id: str,
    action: str,
    path: str,
    value: Any = _ABSENT,
    *,
    revision: int,
    headers: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> bytes:
    namespace, name = thing_id.split(":", 1)
    envelope: dict[str, Any] = {
        "topic": f"{namespace}/{name}/things/twin/events/{action}",
        "headers": {
            "correlation-id": f"http-{revision}",
            "version": 2,
            "ditto-originator": "nginx:ditto",
            "response-required": False,
            "requested-acks": [],
            "entity-revision": str(revision),
            **({"content-type": "application/merge-patch+json"} if action == "merged" else {}),
            **(headers or {}),
        },
        "path": path,
        "revision": revision,
        "timestamp": "2026-03-02T10:15:04.123Z",
    }
    if value is not _ABSENT:
        envelope["value"] = value
    if extra is not None:
        envelope["extra"] = extra
    return json.dumps(envelope).encode()


def well_thing() -> dict[str, Any]:
    return copy.deepcopy(with_additions(PLAN_WELL, "well-1.0.0.tm.jsonld"))


def known(revision: int = 1, key: dict[str, Any] | None = None) -> dict[str, Any]:
    """A twin-revision table after an event of `revision` showed the well's key."""
    return {WELL: TwinState(revision, dumps(key or WELL_KEY)).to_dict()}


def write(
    data: bytes, revisions: dict[str, Any] | None = None, owners: dict[str, str] | None = None
) -> Write:
    outcome = FLOW.process(data, revisions or {}, owners or {})
    assert isinstance(outcome, Write), outcome
    return outcome


# -- whole thing ------------------------------------------------------------------------


def test_created_thing_is_an_upsert_of_every_mapped_column() -> None:
    out = write(event(WELL, "created", "/", well_thing(), revision=1))
    change = out.change
    assert (change.table, change.op, change.key) == ("wells", SinkOp.UPSERT, WELL_KEY)
    assert change.columns == {
        "name": "MOR-001",
        "api_number": "VE-12345",
        "well_type": "PRODUCER",
        "lift_method": "ESP",
        "tubing_size": Decimal("2.875"),
        "casing_size": Decimal("7.0"),
        "oil_rate_bopd": Decimal(450),
        "gas_rate_mscfd": Decimal(850),
        "water_rate_bwpd": Decimal(120),
        "status": "PRODUCING",
        "last_update": datetime(2026, 1, 10, 12, 0, tzinfo=UTC),
    }
    assert "well_code" not in change.columns  # the key is never a SET column
    assert (change.revision, change.thing_id, change.correlation_id) == (1, WELL, "http-1")
    assert change.source_ts == datetime(2026, 3, 2, 10, 15, 4, 123000, tzinfo=UTC)
    assert (out.missed, out.unmapped) == (0, ())
    assert out.state == TwinState(1, dumps(WELL_KEY))


def test_modified_thing_absent_property_is_null_and_unmapped_paths_are_reported() -> None:
    thing = well_thing()
    del thing["attributes"]["apiNumber"]
    thing["attributes"]["owner"] = "ops"
    thing["features"]["telemetry"] = {"properties": {"tempC": 81}}
    out = write(event(WELL, "modified", "/", thing, revision=4), known(3))
    assert out.change.columns["api_number"] is None
    assert out.unmapped == ("attributes/owner", "features/telemetry/properties/tempC")


def test_created_from_a_merge_on_a_missing_thing_with_nulls_kept_by_old_ditto() -> None:
    thing = well_thing()
    thing["attributes"]["apiNumber"] = None  # Ditto < 3.6.4 kept nulls (#2074)
    out = write(event(WELL, "created", "/", thing, revision=1))
    assert out.change.columns["api_number"] is None


def test_basin_created_with_nested_bounds() -> None:
    thing = with_additions(PLAN_BASIN, "basin-1.0.0.tm.jsonld", code="CUENCA-ORIENTAL")
    out = write(event(BASIN, "created", "/", thing, revision=1))
    assert out.change.table == "basins"
    assert out.change.key == {"tenant": "acme", "code": "CUENCA-ORIENTAL"}
    assert out.change.columns["min_lon"] == Decimal("-65.0")
    assert out.change.columns["area_km2"] == 153000


def test_deleted_thing_deletes_the_row() -> None:
    out = write(event(WELL, "deleted", "/", revision=9), known(8))
    assert out.change.op is SinkOp.DELETE
    assert (out.change.key, out.change.columns, out.change.revision) == (WELL_KEY, {}, 9)
    assert out.state == TwinState(9, dumps(WELL_KEY))  # revisions go on after a re-create


# -- attributes -------------------------------------------------------------------------


def test_modified_attribute_sets_one_column() -> None:
    out = write(event(WELL, "modified", "/attributes/apiNumber", "VE-9", revision=2), known())
    assert (out.change.key, out.change.columns) == (WELL_KEY, {"api_number": "VE-9"})


def test_created_attribute_sets_one_column() -> None:
    out = write(event(WELL, "created", "/attributes/apiNumber", "VE-1", revision=2), known())
    assert out.change.columns == {"api_number": "VE-1"}


def test_deleted_attribute_is_null() -> None:
    out = write(event(WELL, "deleted", "/attributes/apiNumber", revision=2), known())
    assert out.change.columns == {"api_number": None}


def test_modified_attributes_replace_all_attribute_columns() -> None:
    attrs = {"type": "WELL", "name": "Morichal 1", "wellCode": "MOR-001"}
    out = write(event(WELL, "modified", "/attributes", attrs, revision=2), known())
    assert out.change.columns == {"name": "Morichal 1", "api_number": None}


def test_merged_attribute_null_deletes_it() -> None:
    out = write(event(WELL, "merged", "/attributes/apiNumber", None, revision=2), known())
    assert out.change.columns == {"api_number": None}


# -- features and properties --------------------------------------------------------------


def test_merged_patch_at_root_sets_only_named_columns() -> None:
    patch = {
        "features": {"production": {"properties": {"oilRateBopd": 300, "waterRateBwpd": None}}}
    }
    out = write(event(WELL, "merged", "/", patch, revision=2), known())
    assert out.change.columns == {"oil_rate_bopd": Decimal(300), "water_rate_bwpd": None}


def test_merged_properties() -> None:
    patch = {"oilRateBopd": 312.5, "gasRateMscfd": None}
    out = write(
        event(WELL, "merged", "/features/production/properties", patch, revision=3), known(2)
    )
    assert out.change.columns == {"oil_rate_bopd": Decimal("312.5"), "gas_rate_mscfd": None}


def test_modified_property_keeps_the_exact_number() -> None:
    path = "/features/completion/properties/tubingSize"
    out = write(event(WELL, "modified", path, 2.875, revision=2), known())
    assert out.change.columns == {"tubing_size": Decimal("2.875")}


def test_modified_timestamp_property_is_a_utc_datetime() -> None:
    path = "/features/status/properties/lastUpdate"
    out = write(event(WELL, "modified", path, "2026-02-01T01:00:00+01:00", revision=2), known())
    assert out.change.columns == {"last_update": datetime(2026, 2, 1, 0, 0, tzinfo=UTC)}


def test_deleted_property_is_null() -> None:
    path = "/features/production/properties/waterRateBwpd"
    out = write(event(WELL, "deleted", path, revision=2), known())
    assert out.change.columns == {"water_rate_bwpd": None}


def test_modified_properties_replace_the_feature_columns() -> None:
    value = {"wellType": "INJECTOR"}
    out = write(
        event(WELL, "modified", "/features/completion/properties", value, revision=2), known()
    )
    assert out.change.columns == {
        "well_type": "INJECTOR",
        "lift_method": None,
        "tubing_size": None,
        "casing_size": None,
    }


def test_created_feature() -> None:
    value = {"properties": {"current": "SHUT-IN"}}
    out = write(event(WELL, "created", "/features/status", value, revision=2), known())
    assert out.change.columns == {"status": "SHUT-IN", "last_update": None}


def test_deleted_feature_nulls_its_columns() -> None:
    out = write(event(WELL, "deleted", "/features/production", revision=2), known())
    assert out.change.columns == {
        "oil_rate_bopd": None,
        "gas_rate_mscfd": None,
        "water_rate_bwpd": None,
    }


def test_modified_features_replace_every_feature_column() -> None:
    value = {"status": {"properties": {"current": "PRODUCING"}}}
    out = write(event(WELL, "modified", "/features", value, revision=2), known())
    assert out.change.columns["status"] == "PRODUCING"
    assert out.change.columns["oil_rate_bopd"] is None
    assert len(out.change.columns) == 9  # every feature-mapped column of wells


def test_merged_basin_bounds_with_a_regex_deletion_key() -> None:
    basin_key = {"tenant": "acme", "code": "CUENCA-ORIENTAL"}
    state = {BASIN: TwinState(1, dumps(basin_key)).to_dict()}
    patch = {"bounds": {"{{ ~max.*~ }}": None, "minLat": 7.25}}
    out = write(event(BASIN, "merged", "/features/location/properties", patch, revision=2), state)
    assert out.change.columns == {"min_lat": Decimal("7.25"), "max_lat": None, "max_lon": None}


# -- revisions --------------------------------------------------------------------------


def test_redelivered_event_is_a_duplicate_and_keeps_the_state() -> None:
    data = event(WELL, "modified", "/attributes/apiNumber", "VE-9", revision=2)
    revisions: dict[str, Any] = known(1)
    first = FLOW.process(data, revisions, {})
    FLOW.remember(revisions, first)
    again = FLOW.process(data, revisions, {})
    assert isinstance(again, Skipped) and again.kind == "duplicate"
    assert again.state is None
    before = dict(revisions)
    FLOW.remember(revisions, again)
    assert revisions == before == known(2)


def test_out_of_order_older_revision_is_dropped() -> None:
    late = FLOW.process(event(WELL, "merged", "/", {}, revision=6), known(7), {})
    assert isinstance(late, Skipped) and late.kind == "duplicate"
    assert "6 <= last applied 7" in late.reason


def test_a_revision_beyond_a_java_long_is_refused_before_the_gate_moves() -> None:
    revisions: dict[str, Any] = known(3)
    huge = event(WELL, "modified", "/attributes/name", "N", revision=10**30)
    with pytest.raises(DecodeError, match="Java long"):
        FLOW.process(huge, revisions, {})
    assert revisions == known(3)
    later = write(event(WELL, "modified", "/attributes/name", "M", revision=4), revisions)
    assert later.change.revision == 4


def test_a_twin_stuck_on_a_revision_beyond_a_java_long_moves_on() -> None:
    """Stored before such events were refused: the next real event is written again."""
    revisions: dict[str, Any] = known(10**30)
    outcome = write(event(WELL, "modified", "/attributes/name", "M", revision=4), revisions)
    FLOW.remember(revisions, outcome)
    assert revisions == known(4)


def test_gap_is_reported() -> None:
    out = write(event(WELL, "modified", "/attributes/name", "N", revision=6), known(3))
    assert out.missed == 2


def test_replayed_sequence_changes_nothing_twice() -> None:
    sequence = [
        event(WELL, "created", "/", well_thing(), revision=1),
        event(WELL, "modified", "/attributes/apiNumber", "VE-2", revision=2),
        event(WELL, "merged", "/features/production/properties", {"oilRateBopd": 1}, revision=3),
        event(WELL, "deleted", "/", revision=4),
    ]
    revisions: dict[str, Any] = {}
    kinds = []
    for data in [*sequence, *sequence[1:3], sequence[0]]:  # a replay of earlier offsets
        outcome = FLOW.process(data, revisions, {})
        FLOW.remember(revisions, outcome)
        kinds.append("write" if isinstance(outcome, Write) else outcome.kind)
    assert kinds == ["write"] * 4 + ["duplicate"] * 3
    assert revisions[WELL]["revision"] == 4


# -- echoes -----------------------------------------------------------------------------


def test_echo_of_our_own_command_is_skipped_but_moves_the_revision_and_learns_the_key() -> None:
    headers = {"Streams-Origin": "legacy", "streams-source": "legacy.public.wells[0]@7"}
    outcome = FLOW.process(
        event(WELL, "created", "/", well_thing(), revision=1, headers=headers), {}, {}
    )
    assert isinstance(outcome, Skipped) and outcome.kind == "echo"
    assert outcome.state == TwinState(1, dumps(WELL_KEY))
    revisions: dict[str, Any] = {}
    FLOW.remember(revisions, outcome)
    # A later twin edit of one property finds the row through the learned key.
    out = write(event(WELL, "modified", "/attributes/apiNumber", "VE-7", revision=2), revisions)
    assert out.change.key == WELL_KEY


def test_echo_of_a_merge_keeps_the_known_key() -> None:
    headers = {"streams-origin": "legacy"}
    patch = {"attributes": {"apiNumber": "VE-3"}}
    outcome = FLOW.process(
        event(WELL, "merged", "/", patch, revision=5, headers=headers), known(4), {}
    )
    assert isinstance(outcome, Skipped) and outcome.kind == "echo"
    assert outcome.state == TwinState(5, dumps(WELL_KEY))


def test_other_origin_header_values_are_not_echoes() -> None:
    headers = {"streams-origin": "somebody-else"}
    write(event(WELL, "modified", "/attributes/name", "N", revision=2, headers=headers), known())


# -- the row's key ----------------------------------------------------------------------


def test_key_from_the_legacy_agents_claim() -> None:
    owners = {WELL: dumps(WELL_KEY)}
    out = write(event(WELL, "merged", "/", {"attributes": {"name": "N"}}, revision=3), {}, owners)
    assert out.change.key == WELL_KEY
    assert out.state.key == dumps(WELL_KEY)


def test_key_from_the_events_extra_fields() -> None:
    extra = {"attributes": {"wellCode": "MOR-001"}}
    data = event(WELL, "merged", "/", {"attributes": {"name": "N"}}, revision=3, extra=extra)
    assert write(data).change.key == WELL_KEY


def test_no_key_anywhere_names_the_fix() -> None:
    data = event(WELL, "merged", "/", {"attributes": {"name": "N"}}, revision=3)
    with pytest.raises(MappingError, match="extraFields=attributes/wellCode"):
        FLOW.process(data, {}, {})


def test_twin_edit_of_its_key_attribute_is_refused() -> None:
    data = event(WELL, "modified", "/attributes/wellCode", "MOR-002", revision=2)
    with pytest.raises(MappingError, match="cannot change through the twin"):
        FLOW.process(data, known(), {})


def test_removing_the_key_attribute_is_refused() -> None:
    data = event(WELL, "deleted", "/attributes/wellCode", revision=2)
    with pytest.raises(MappingError, match="key attribute attributes/wellCode"):
        FLOW.process(data, known(), {})


def test_key_attribute_that_does_not_make_the_thing_id_is_refused() -> None:
    thing = well_thing()
    thing["attributes"]["wellCode"] = "MOR-009"
    with pytest.raises(MappingError, match="acme:well-mor-009"):
        FLOW.process(event(WELL, "created", "/", thing, revision=1), {}, {})


def test_thing_of_no_mapping_is_a_mapping_error() -> None:
    data = event("acme:pump-7", "modified", "/attributes/name", "P", revision=1)
    with pytest.raises(MappingError, match="fits no mapping"):
        FLOW.process(data, {}, {})
    assert FLOW.mapping_name("acme:pump-7") is None
    assert FLOW.mapping_name(WELL) == "wells.toml"


# -- nothing to write --------------------------------------------------------------------


def test_change_of_unmapped_paths_only_is_reported_not_written() -> None:
    data = event(WELL, "merged", "/attributes", {"owner": "ops"}, revision=2)
    outcome = FLOW.process(data, known(), {})
    assert isinstance(outcome, Skipped) and outcome.kind == "not-mapped"
    assert outcome.unmapped == ("attributes/owner",)
    assert outcome.state == TwinState(2, dumps(WELL_KEY))


def test_policy_change_is_not_a_row_change_and_not_reported() -> None:
    data = event(WELL, "modified", "/policyId", "acme:other-policy", revision=2)
    outcome = FLOW.process(data, known(), {})
    assert isinstance(outcome, Skipped) and outcome.kind == "not-mapped"
    assert outcome.unmapped == ()


# -- bad records ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"not json", "not a JSON Ditto Protocol message"),
        (b"[1]", "must be a JSON object"),
        (
            json.dumps(
                {
                    "topic": "acme/well-mor-001/things/twin/commands/modify",
                    "path": "/",
                    "headers": {},
                    "value": {},
                }
            ).encode(),
            "not a twin event",
        ),
        (event(WELL, "modified", "/attributes/name", revision=2), "has no value"),
        (event(WELL, "merged", "/", {}, revision=-1), "integer from 0 to"),
    ],
)
def test_bad_records_are_decode_errors(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        FLOW.process(data, known(), {})


def test_wrong_type_is_a_mapping_error() -> None:
    path = "/features/production/properties/oilRateBopd"
    with pytest.raises(MappingError, match="expected a number"):
        FLOW.process(event(WELL, "modified", path, "lots", revision=2), known(), {})


# -- the record on the sink topic ---------------------------------------------------------


def test_sink_change_json_round_trip_is_exact() -> None:
    out = write(event(WELL, "created", "/", well_thing(), revision=1))
    text = out.change.to_json()
    assert b'"tubing_size":2.875' in text
    assert b'"last_update":"2026-01-10T12:00:00Z"' in text
    assert SinkChange.from_json(text) == out.change
