"""Decoding of records captured from the real connector (see fixtures/debezium/README.md)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from streams.cdc import Decoder, Heartbeat, Op, RowChange, SnapshotMarker, Tombstone
from streams.errors import DecodeError
from tests.cdc.captured import GAUGE_TYPES, captured

typed = Decoder({"gauges": GAUGE_TYPES})
untyped = Decoder()

ENVELOPES = ["envelope-schemas", "envelope-plain"]
FLATTENED = ["flattened-schemas", "flattened-plain"]
ROW_ONE = {
    "id": 1,
    "label": "Gauge Ø-1",
    "fixed_num": Decimal("1234.500"),
    "free_num": Decimal("2875.125"),
    "tstz": datetime(2019, 3, 14, 11, 34, 56, 789012, tzinfo=UTC),
    "day": date(2019, 3, 14),
    "notes": "short note",
}


def row_change(case: str, label: str, decoder: Decoder = typed) -> RowChange:
    change = decoder.decode(captured(case, label))
    assert isinstance(change, RowChange)
    return change


@pytest.mark.parametrize("case", ENVELOPES + FLATTENED)
def test_snapshot_row_is_typed_exactly_with_or_without_schema(case: str) -> None:
    change = row_change(case, "r-first")
    assert change.op is Op.READ
    assert change.table == "gauges"
    assert change.key == {"id": 1}
    assert change.row is not None
    assert {k: change.row[k] for k in ROW_ONE} == ROW_ONE
    assert change.before is None
    assert change.unavailable == frozenset()


@pytest.mark.parametrize("case", ["envelope-schemas", "flattened-schemas"])
def test_schema_names_type_the_columns_no_mapping_declares(case: str) -> None:
    row = row_change(case, "r-first", untyped).row
    assert row is not None
    assert row["ts"] == datetime(2019, 3, 14, 12, 34, 56, 789012, tzinfo=UTC)  # MicroTimestamp
    assert row["ts_ms"] == datetime(2019, 3, 14, 12, 34, 56, 789000, tzinfo=UTC)  # Timestamp
    assert row["tod"] == time(12, 34, 56, 789012)  # MicroTime
    assert row["fixed_num"] == Decimal("1234.500")  # Connect Decimal, scale from schema
    assert row["free_num"] == Decimal("2875.125")  # VariableScaleDecimal


def test_without_schema_undeclared_columns_stay_raw() -> None:
    row = row_change("envelope-plain", "r-first", untyped).row
    assert row is not None
    # Base64 bytes whose scale only the schema knew, and epoch integers with no unit.
    assert row["fixed_num"] == "EtZE"
    assert row["free_num"] == {"scale": 3, "value": "K971"}
    assert row["ts"] == 1552566896789012
    assert row["day"] == 17969


def test_snapshot_source_block() -> None:
    first = row_change("envelope-schemas", "r-first")
    middle = row_change("envelope-schemas", "r")
    last = row_change("envelope-schemas", "r-last-toasted-row")
    assert [c.source.snapshot for c in (first, middle, last)] == [
        SnapshotMarker.FIRST,
        SnapshotMarker.TRUE,
        SnapshotMarker.LAST,
    ]
    assert all(c.source.snapshot and c.source.snapshot.is_initial_snapshot for c in (first, last))
    # Every row of an initial snapshot carries the same LSN and transaction.
    assert first.source.lsn == middle.source.lsn == last.source.lsn is not None
    assert first.source.tx_id == last.source.tx_id is not None
    assert first.source.db == "legacy" and first.source.schema == "dbz_capture"


@pytest.mark.parametrize("case", ENVELOPES)
def test_create_and_update_with_null_before(case: str) -> None:
    create, update = row_change(case, "c"), row_change(case, "u")
    assert create.op is Op.CREATE and update.op is Op.UPDATE
    assert create.row is not None and update.row is not None
    assert create.row["fixed_num"] == Decimal("42.000")
    assert create.row["free_num"] == Decimal("-12.5")
    assert create.row["tstz"] == datetime(2024, 2, 29, 11, 0, tzinfo=UTC)  # -05 -> UTC
    assert create.row["status"] == "planned"  # the column default, set by Postgres
    assert update.row["label"] == "Gauge 3 renamed"
    assert update.row["fixed_num"] == Decimal("99.999")
    # REPLICA IDENTITY DEFAULT: pgoutput sends no old tuple for an ordinary update.
    assert update.before is None
    assert update.source.snapshot is None  # streamed events say null, not "false"
    assert update.source.lsn is not None and create.source.lsn is not None
    assert update.source.lsn > create.source.lsn
    assert update.source.ts_ms is not None and update.ts_ms is not None


@pytest.mark.parametrize("case", ENVELOPES + FLATTENED)
def test_unchanged_toasted_value_is_unavailable_never_a_value(case: str) -> None:
    change = row_change(case, "u-toast")
    assert change.unavailable == frozenset({"notes"})
    assert change.row is not None
    assert "notes" not in change.row
    assert change.row["label"] == "Long note untouched"
    assert change.row["free_num"] == Decimal("0.000001")


@pytest.mark.parametrize("case", ENVELOPES)
def test_primary_key_change_is_delete_tombstone_create(case: str) -> None:
    delete = row_change(case, "pk-change-d")
    tombstone = typed.decode(captured(case, "pk-change-tombstone"))
    create = row_change(case, "pk-change-c")
    assert delete.op is Op.DELETE and delete.key == {"id": 3} and delete.row is None
    assert delete.new_key == {"id": 4} and delete.old_key is None
    assert isinstance(tombstone, Tombstone) and tombstone.key == {"id": 3}
    assert create.op is Op.CREATE and create.key == {"id": 4}
    assert create.old_key == {"id": 3} and create.new_key is None
    # All three share one source position: a dedupe on LSN alone would drop the create.
    assert delete.source.lsn == create.source.lsn is not None


@pytest.mark.parametrize("case", ENVELOPES)
def test_delete_before_holds_the_key_and_fallbacks(case: str) -> None:
    change = row_change(case, "d")
    assert change.op is Op.DELETE and change.row is None and change.key == {"id": 4}
    assert change.before is not None
    assert change.before["id"] == 4
    # NOT NULL columns of a DEFAULT-identity before carry a fallback, not data.
    assert change.before["label"] == ""


@pytest.mark.parametrize("case", ENVELOPES)
def test_tombstone_is_a_delete_by_key(case: str) -> None:
    tombstone = typed.decode(captured(case, "tombstone"))
    assert isinstance(tombstone, Tombstone)
    assert tombstone.key == {"id": 4} and tombstone.table == "gauges"
    assert tombstone.encoding == "kafka-null"
    assert str(tombstone.origin).endswith("[0]@10")


@pytest.mark.parametrize("case", ENVELOPES)
def test_truncate_has_no_key(case: str) -> None:
    change = row_change(case, "t")
    assert change.op is Op.TRUNCATE
    assert change.key == {} and change.row is None and change.before is None
    assert change.table == "gauges"


@pytest.mark.parametrize("case", ENVELOPES)
def test_heartbeat(case: str) -> None:
    beat = typed.decode(captured(case, "heartbeat"))
    assert isinstance(beat, Heartbeat)
    assert beat.server_name == f"cap_{case.replace('-', '_')}"
    assert beat.ts_ms is not None and beat.ts_ms > 1_700_000_000_000


@pytest.mark.parametrize("case", FLATTENED)
def test_flattened_ops_and_rewritten_delete(case: str) -> None:
    ops = {label: row_change(case, label).op for label in ("r", "c", "u", "d", "pk-change-c")}
    assert ops == {
        "r": Op.READ,
        "c": Op.CREATE,
        "u": Op.UPDATE,
        "d": Op.DELETE,
        "pk-change-c": Op.CREATE,
    }
    delete = row_change(case, "d")
    assert delete.flattened and delete.row is None
    assert delete.before is not None and delete.before["id"] == 4
    assert "__deleted" not in delete.before and "__op" not in delete.before
    # add.fields=op only: no LSN in a flattened row.
    assert delete.source.lsn is None


@pytest.mark.parametrize("label", ["d", "pk-change-d"])
def test_flattened_default_delete_is_a_null_payload_under_a_schema(label: str) -> None:
    # ExtractNewRecordState's default `tombstone` mode keeps the value schema.
    tombstone = typed.decode(captured("flattened-delete-default", label))
    assert isinstance(tombstone, Tombstone)
    assert tombstone.encoding == "payload-null"
    assert tombstone.key == {"id": 4 if label == "d" else 3}


def test_flattened_default_mode_rows() -> None:
    update = row_change("flattened-delete-default", "u")
    assert update.op is Op.UPDATE and update.row is not None
    assert update.row["fixed_num"] == Decimal("99.999")
    assert row_change("flattened-delete-default", "u-toast").unavailable == frozenset({"notes"})


@pytest.mark.parametrize("case", FLATTENED)
def test_flattening_turns_a_null_into_the_column_default(case: str) -> None:
    # ExtractNewRecordState's own replace.null.with.default (default true) writes the
    # default 'planned' for row 1's NULL status; the full envelope keeps the NULL.
    # (debezium.md pitfall 21: set transforms.<name>.replace.null.with.default=false.)
    flat = row_change(case, "r-first").row
    envelope = row_change("envelope-schemas", "r-first").row
    assert flat is not None and envelope is not None
    assert envelope["status"] is None
    assert flat["status"] == "planned"


def test_decimal_string_mode() -> None:
    raw = row_change("decimal-string", "r-first", untyped).row
    row = row_change("decimal-string", "r-first").row
    assert raw is not None and row is not None
    assert raw["fixed_num"] == "1234.500"  # a plain string in the schema: the mapping types it
    assert row["fixed_num"] == Decimal("1234.500")
    assert row["free_num"] == Decimal("2875.125")
    last = row_change("decimal-string", "r-last-toasted-row").row
    assert last is not None and last["free_num"] == Decimal("0.000001")


def test_decimal_double_mode_keeps_the_text_exactly() -> None:
    row = row_change("decimal-double", "r-first").row
    last = row_change("decimal-double", "r-last-toasted-row").row
    assert row is not None and last is not None
    assert isinstance(row["fixed_num"], Decimal)
    assert row["fixed_num"] == Decimal("1234.5")
    assert last["fixed_num"] == Decimal("-0.125")
    assert last["free_num"] == Decimal("0.000001")


def test_time_precision_connect_mode() -> None:
    row = row_change("time-connect", "r-first", untyped).row
    create = row_change("time-connect", "c", untyped).row
    assert row is not None and create is not None
    # org.apache.kafka.connect.data.Timestamp/Time are milliseconds: microseconds are lost.
    assert row["ts"] == datetime(2019, 3, 14, 12, 34, 56, 789000, tzinfo=UTC)
    assert create["tod"] == time(23, 59, 59, 999000)
    assert row["day"] == date(2019, 3, 14)  # org.apache.kafka.connect.data.Date
    assert row["fixed_num"] == Decimal("1234.500")  # org.apache.kafka.connect.data.Decimal
    assert row["tstz"] == datetime(2019, 3, 14, 11, 34, 56, 789012, tzinfo=UTC)


def test_pre_epoch_values() -> None:
    row = row_change("envelope-schemas", "r-last-toasted-row", untyped).row
    assert row is not None
    assert row["ts"] == datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)
    assert row["ts_ms"] == datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)
    assert row["day"] == date(1969, 12, 31)
    assert row["fixed_num"] == Decimal("-0.125")
    assert len(row["notes"]) == 4000


def test_declared_type_that_contradicts_the_data_names_column_and_fix() -> None:
    wrong = Decoder({"gauges": {**GAUGE_TYPES, "ts": GAUGE_TYPES["tstz"]}})
    with pytest.raises(DecodeError) as caught:
        wrong.decode(captured("envelope-plain", "r-first"))
    message = str(caught.value)
    assert "cap_envelope_plain.dbz_capture.gauges[0]@0" in message
    assert "gauges.ts" in message and "no unit" in message
