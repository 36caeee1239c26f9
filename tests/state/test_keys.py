"""The per-key rules one by one, on the wells mapping."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from streams.cdc import Op, RecordOrigin, RowChange, SnapshotMarker, SourceInfo, Tombstone
from streams.mapping import dumps
from streams.state import Duplicate, Emit, KeyState, NoChange, decide
from tests.mapping.rows import MODELS_URL, WELL_ROW, mapping

WELLS = mapping("wells")
KEY = {"tenant": "acme", "well_code": "MOR-001"}
_offsets = iter(range(1, 10_000))


def change(
    op: Op,
    row: dict[str, Any] | None = None,
    *,
    lsn: int | None = None,
    snapshot: SnapshotMarker | None = None,
    unavailable: frozenset[str] = frozenset(),
    tx_id: int | None = None,
) -> RowChange:
    return RowChange(
        op=op,
        table="wells",
        key=KEY,
        row=row,
        before=None,
        source=SourceInfo(lsn=lsn, tx_id=tx_id, ts_ms=1_700_000_000_000, snapshot=snapshot),
        origin=RecordOrigin("legacy.public.wells", 0, next(_offsets)),
        unavailable=unavailable,
    )


def tombstone() -> Tombstone:
    return Tombstone("wells", KEY, RecordOrigin("legacy.public.wells", 0, next(_offsets)))


def step(state: KeyState | None, event: RowChange | Tombstone) -> tuple[Any, KeyState | None]:
    decision = decide(state, event, WELLS, models_url=MODELS_URL)
    if isinstance(decision, Duplicate):
        return decision, state
    return decision, decision.state


def only_command(decision: Any) -> dict[str, Any]:
    assert isinstance(decision, Emit) and len(decision.commands) == 1
    command: dict[str, Any] = json.loads(dumps(decision.commands[0]))
    return command


def kind(command: dict[str, Any]) -> str:
    return str(command["topic"]).rsplit("/", 1)[1]


def test_create_is_a_whole_thing_with_source_headers() -> None:
    decision, state = step(None, change(Op.CREATE, WELL_ROW, lsn=100, tx_id=7))
    command = only_command(decision)
    assert kind(command) == "modify"
    assert command["value"]["policyId"] == "acme:default-policy"
    assert command["headers"]["streams-source-lsn"] == "100"
    assert command["headers"]["streams-source-tx"] == "7"
    assert state is not None and (state.lsn, state.tx_id, state.deleted) == (100, 7, False)


def test_update_sends_only_the_changed_path() -> None:
    _, state = step(None, change(Op.CREATE, WELL_ROW, lsn=100))
    new = {**WELL_ROW, "oil_rate_bopd": Decimal("455.000")}
    command = only_command(step(state, change(Op.UPDATE, new, lsn=200))[0])
    assert kind(command) == "merge"
    assert command["value"] == {"features": {"production": {"properties": {"oilRateBopd": 455}}}}


def test_update_of_unmapped_columns_only_is_no_change_but_moves_the_lsn() -> None:
    _, state = step(None, change(Op.CREATE, WELL_ROW, lsn=100))
    decision, state = step(state, change(Op.UPDATE, {**WELL_ROW, "field": "VOLVE"}, lsn=200))
    assert isinstance(decision, NoChange)
    assert state is not None and state.lsn == 200
    assert isinstance(step(state, change(Op.UPDATE, WELL_ROW, lsn=150))[0], Duplicate)


@pytest.mark.parametrize("lsn", [99, 100])
def test_lsn_at_or_below_the_stored_one_is_a_redelivery(lsn: int) -> None:
    _, state = step(None, change(Op.UPDATE, WELL_ROW, lsn=100))
    decision, after = step(state, change(Op.UPDATE, {**WELL_ROW, "name": "X"}, lsn=lsn))
    assert isinstance(decision, Duplicate) and after == state


def test_update_without_a_known_image_carries_every_present_mapped_column() -> None:
    row = {
        "tenant": "acme",
        "well_code": "MOR-001",
        "status": "SHUT_IN",
        "api_number": None,
        "updated_at": None,
    }
    command = only_command(step(None, change(Op.UPDATE, row, lsn=5))[0])
    assert command["value"] == {
        "attributes": {"wellCode": "MOR-001", "apiNumber": None},
        "features": {"status": {"properties": {"current": "SHUT_IN"}}},
    }


def test_toast_unavailable_column_keeps_the_stored_value_and_is_never_sent() -> None:
    _, state = step(None, change(Op.CREATE, WELL_ROW, lsn=100))
    partial = {k: v for k, v in WELL_ROW.items() if k != "name"}
    partial["status"] = "SHUT_IN"
    decision, state = step(
        state, change(Op.UPDATE, partial, lsn=200, unavailable=frozenset({"name"}))
    )
    assert only_command(decision)["value"] == {
        "features": {"status": {"properties": {"current": "SHUT_IN"}}}
    }
    assert state is not None and state.image is not None
    assert state.image["name"] == '"MOR-001"'


def test_snapshot_reads_share_an_lsn_and_compare_by_image() -> None:
    read = change(Op.READ, WELL_ROW, lsn=500, snapshot=SnapshotMarker.FIRST)
    decision, state = step(None, read)
    assert kind(only_command(decision)) == "modify"
    assert state is not None and state.lsn is None  # a read is no watermark
    same = change(Op.READ, WELL_ROW, lsn=500, snapshot=SnapshotMarker.TRUE)
    assert isinstance(step(state, same)[0], NoChange)
    other = change(
        Op.READ, {**WELL_ROW, "status": "SHUT_IN"}, lsn=500, snapshot=SnapshotMarker.LAST
    )
    assert kind(only_command(step(state, other)[0])) == "modify"


def test_change_committed_after_the_snapshot_with_a_smaller_lsn_is_kept() -> None:
    # debezium.md §5: a transaction that began before the snapshot but committed after
    # it streams with an LSN below the snapshot's: it must not be dropped.
    _, state = step(None, change(Op.READ, WELL_ROW, lsn=500, snapshot=SnapshotMarker.TRUE))
    decision, _ = step(state, change(Op.UPDATE, {**WELL_ROW, "status": "SHUT_IN"}, lsn=480))
    assert kind(only_command(decision)) == "merge"


def test_incremental_snapshot_reads_have_no_lsn() -> None:
    _, state = step(None, change(Op.UPDATE, WELL_ROW, lsn=900))
    same = change(Op.READ, WELL_ROW, snapshot=SnapshotMarker.INCREMENTAL)
    assert isinstance(step(state, same)[0], NoChange)
    newer = change(
        Op.READ, {**WELL_ROW, "lift_method": "GAS_LIFT"}, snapshot=SnapshotMarker.INCREMENTAL
    )
    decision, after = step(state, newer)
    assert kind(only_command(decision)) == "modify"
    assert after is not None and after.lsn == 900


def test_upsert_merges_when_the_image_is_known() -> None:
    decision, state = step(None, change(Op.UPSERT, WELL_ROW))
    assert kind(only_command(decision)) == "modify"
    decision, _ = step(state, change(Op.UPSERT, {**WELL_ROW, "api_number": "VE-9"}))
    assert only_command(decision)["value"] == {"attributes": {"apiNumber": "VE-9"}}


def test_delete_then_tombstone_then_redelivered_delete() -> None:
    _, state = step(None, change(Op.CREATE, WELL_ROW, lsn=100))
    decision, state = step(state, change(Op.DELETE, None, lsn=200))
    assert kind(only_command(decision)) == "delete"
    assert state is not None and state.deleted and state.image is None
    assert isinstance(step(state, tombstone())[0], Duplicate)
    assert isinstance(step(state, change(Op.DELETE, None, lsn=300))[0], NoChange)


def test_tombstone_alone_deletes_and_keeps_the_lsn() -> None:
    # ExtractNewRecordState in tombstone mode: the null value is the only delete.
    _, state = step(None, change(Op.UPDATE, WELL_ROW, lsn=100))
    decision, state = step(state, tombstone())
    command = only_command(decision)
    assert kind(command) == "delete" and "streams-source-lsn" not in command["headers"]
    assert state is not None and state.deleted and state.lsn == 100


def test_row_back_after_delete_is_recreated_whole() -> None:
    _, state = step(None, change(Op.CREATE, WELL_ROW, lsn=100))
    _, state = step(state, change(Op.DELETE, None, lsn=200))
    decision, state = step(state, change(Op.UPDATE, WELL_ROW, lsn=300))
    assert kind(only_command(decision)) == "modify"  # a merge would create it policy-less
    assert state is not None and not state.deleted


def test_create_with_an_unavailable_column_merges_what_is_known() -> None:
    row = {k: v for k, v in WELL_ROW.items() if k != "api_number"}
    decision, _ = step(None, change(Op.UPSERT, row, unavailable=frozenset({"api_number"})))
    command = only_command(decision)
    assert kind(command) == "merge" and "apiNumber" not in command["value"]["attributes"]


def test_same_record_twice_is_a_kafka_redelivery() -> None:
    read = change(Op.READ, WELL_ROW, lsn=5, snapshot=SnapshotMarker.TRUE)
    _, state = step(None, read)
    decision, _ = step(state, read)
    assert isinstance(decision, Duplicate) and "already processed" in decision.reason


def test_state_survives_a_json_round_trip() -> None:
    _, state = step(None, change(Op.CREATE, WELL_ROW, lsn=100, tx_id=3))
    assert state is not None
    stored = json.loads(json.dumps(state.to_dict()))
    assert KeyState.from_dict(stored) == state
