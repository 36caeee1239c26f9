"""Shapes the captures do not hold yet, written from debezium.md. Each says why it is
hand-written; those that Debezium can emit on our stack name the setting to capture."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from streams.cdc import (
    CdcRecord,
    ColumnSpec,
    ColumnType,
    Decoder,
    LogicalMessage,
    Op,
    RowChange,
    SnapshotMarker,
    Tombstone,
    TransactionMarker,
)
from streams.errors import DecodeError

TOPIC = "legacy.public.wells"
KEY = json.dumps({"tenant": "acme", "well_code": "MOR-001"}).encode()
TYPES = {
    "wells": {
        "tenant": ColumnSpec(ColumnType.TEXT),
        "well_code": ColumnSpec(ColumnType.TEXT),
        "oil_rate_bopd": ColumnSpec(ColumnType.NUMERIC, scale=3),
        "gas_rate_mscfd": ColumnSpec(ColumnType.NUMERIC),
        "last_update": ColumnSpec(ColumnType.TIMESTAMPTZ),
        "notes": ColumnSpec(ColumnType.TEXT),
    }
}
decoder = Decoder(TYPES)


def record(value: Any, key: bytes | None = KEY, **extra: Any) -> CdcRecord:
    raw = value if isinstance(value, bytes) or value is None else json.dumps(value).encode()
    return CdcRecord(key=key, value=raw, topic=extra.pop("topic", TOPIC), offset=7, **extra)


def change_of(value: Any, **extra: Any) -> RowChange:
    decoded = decoder.decode(record(value, **extra))
    assert isinstance(decoded, RowChange)
    return decoded


def envelope(op: str, after: dict[str, Any] | None, **source: Any) -> dict[str, Any]:
    base = {"ts_ms": 1714559696789, "snapshot": "false", "table": "wells", "lsn": 100, "txId": 9}
    return {
        "before": None,
        "after": after,
        "op": op,
        "ts_ms": 1714559697012,
        "source": {**base, **source},
    }


# -- deletes by key (ExtractNewRecordState, delete.tombstone.handling.mode=tombstone) --


def test_json_null_value_is_a_tombstone() -> None:
    # Not captured yet: the SMT's default `tombstone` mode with schemas.enable=false.
    tombstone = decoder.decode(record(b"null"))
    assert isinstance(tombstone, Tombstone)
    assert tombstone.encoding == "json-null"
    assert tombstone.key == {"tenant": "acme", "well_code": "MOR-001"}


def test_a_value_nested_too_deep_is_a_decode_error() -> None:
    deep = b'{"before": null, "after": ' + b"[" * 50_000 + b"]" * 50_000 + b', "op": "c"}'
    with pytest.raises(DecodeError, match="nests too deep"):
        decoder.decode(record(deep))


def test_delete_without_key_says_what_to_do() -> None:
    with pytest.raises(DecodeError, match="primary key"):
        decoder.decode(record(None, key=None))


# -- flattened metadata -----------------------------------------------------------


def test_flattened_metadata_fields_fill_the_source() -> None:
    # Not captured yet: add.fields=op,table,lsn,source.ts_ms,txId (debezium.md §6).
    flat = {
        "tenant": "acme",
        "well_code": "MOR-001",
        "oil_rate_bopd": 450.5,
        "__op": "u",
        "__deleted": "false",
        "__table": "wells",
        "__lsn": 27561208,
        "__source_ts_ms": 1714600000000,
        "__txId": 90877,
    }
    change = change_of(flat)
    assert change.op is Op.UPDATE and change.flattened
    assert change.row == {
        "tenant": "acme",
        "well_code": "MOR-001",
        "oil_rate_bopd": Decimal("450.5"),
    }
    assert (change.source.lsn, change.source.tx_id, change.source.ts_ms) == (
        27561208,
        90877,
        1714600000000,
    )


def test_flat_row_without_metadata_is_an_upsert() -> None:
    # A plain row JSON object (also what the dry run reads) has no op and no LSN.
    change = change_of({"tenant": "acme", "well_code": "MOR-001", "last_update": None})
    assert change.op is Op.UPSERT
    assert change.source.lsn is None and change.source.snapshot is None
    assert change.row == {"tenant": "acme", "well_code": "MOR-001", "last_update": None}


def test_flattened_delete_flag_alone_means_delete() -> None:
    change = change_of({"tenant": "acme", "well_code": "MOR-001", "__deleted": "true"})
    assert change.op is Op.DELETE and change.row is None
    assert change.before == {"tenant": "acme", "well_code": "MOR-001"}


# -- source block -----------------------------------------------------------------


def test_incremental_snapshot_read_has_no_lsn() -> None:
    # Not captured yet: an `execute-snapshot` signal of type incremental.
    change = change_of(
        envelope("r", {"well_code": "MOR-001"}, snapshot="incremental", lsn=None, txId=None)
    )
    assert change.op is Op.READ
    assert change.source.snapshot is SnapshotMarker.INCREMENTAL
    assert not change.source.snapshot.is_initial_snapshot
    assert change.source.lsn is None and change.source.tx_id is None


def test_replication_origin_is_kept() -> None:
    # Not captured yet: a writer session with pg_replication_origin_session_setup.
    change = change_of(
        envelope("u", {"well_code": "MOR-001"}, origin="ditto_sink", origin_lsn=4242)
    )
    assert change.source.origin == "ditto_sink" and change.source.origin_lsn == 4242


def test_lsn_text_form() -> None:
    change = change_of(envelope("c", {"well_code": "X"}, lsn=27440072))
    assert change.source.lsn_text == "0/1A2B3C8"


def test_boolean_snapshot_of_old_docs_is_understood() -> None:
    # Impossible on 3.6 (a string enum); an old docs example shows a boolean.
    change = change_of(envelope("r", {"well_code": "X"}, snapshot=True))
    assert change.source.snapshot is SnapshotMarker.TRUE


def test_unknown_snapshot_value_is_named() -> None:
    with pytest.raises(DecodeError, match="newer Debezium"):
        decoder.decode(record(envelope("r", {"well_code": "X"}, snapshot="sometimes")))


# -- non-row kinds ------------------------------------------------------------------


def test_transaction_markers() -> None:
    # Not captured yet: provide.transaction.metadata=true.
    end = {
        "status": "END",
        "id": "571:53195832",
        "event_count": 2,
        "ts_ms": 1714600000000,
        "data_collections": [{"data_collection": "public.wells", "event_count": 2}],
    }
    key = json.dumps({"id": "571:53195832"}).encode()
    marker = decoder.decode(record(end, key=key, topic="legacy.transaction"))
    assert isinstance(marker, TransactionMarker)
    assert (marker.status, marker.tx_id, marker.event_count) == ("END", "571:53195832", 2)
    assert marker.data_collections == (("public.wells", 2),)


def test_logical_decoding_message() -> None:
    # Not captured yet: pg_logical_emit_message(true, 'ditto-sync', '...').
    message = {
        "op": "m",
        "ts_ms": 1,
        "source": {"txId": 12, "lsn": 5, "table": "", "schema": ""},
        "message": {"prefix": "ditto-sync", "content": base64.b64encode(b"cid-1").decode()},
    }
    decoded = decoder.decode(
        record(message, key=b'{"prefix":"ditto-sync"}', topic="legacy.message")
    )
    assert isinstance(decoded, LogicalMessage)
    assert (decoded.prefix, decoded.content, decoded.transactional) == (
        "ditto-sync",
        b"cid-1",
        True,
    )


def test_heartbeat_under_a_custom_topic_name() -> None:
    # topic.heartbeat.name moves heartbeats off __debezium-heartbeat.<prefix>.
    beat = decoder.decode(record({"ts_ms": 5}, key=b'{"serverName":"legacy"}', topic="beats"))
    assert type(beat).__name__ == "Heartbeat"


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (b"\x00\x00\x00\x00\x07\x02", "UTF-8"),  # Confluent Avro framing
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
    ],
)
def test_undecodable_values_name_origin_and_fix(value: bytes, words: str) -> None:
    with pytest.raises(DecodeError) as caught:
        decoder.decode(record(value))
    assert words in str(caught.value)
    assert "legacy.public.wells[0]@7" in str(caught.value)


def test_unknown_op() -> None:
    with pytest.raises(DecodeError, match="unknown op 'x'"):
        decoder.decode(record(envelope("x", None)))


def test_header_key_that_is_not_json_is_ignored_not_fatal() -> None:
    change = change_of(
        envelope("c", {"well_code": "X"}), headers=[("__debezium.oldkey", b"Struct{id=3}")]
    )
    assert change.old_key is None and change.op is Op.CREATE


# -- TOAST stand-ins per column type (UnchangedToastedPlaceholder) --------------------

PLACEHOLDER = "__debezium_unavailable_value"
STAND_INS = {
    "text": PLACEHOLDER,
    "bytea": base64.b64encode(PLACEHOLDER.encode()).decode(),
    "text_array": [PLACEHOLDER],
    "int_array": list(PLACEHOLDER.encode()),
    "uuid_array": ["b68a35a7-17ad-35b3-af2a-ae46edb4545a"],
    "hstore_map": {PLACEHOLDER: PLACEHOLDER},
    "hstore_json": json.dumps({PLACEHOLDER: PLACEHOLDER}, separators=(",", ":")),
}


def test_every_type_specific_placeholder_is_unavailable() -> None:
    # Captured only for text; the other shapes come from UnchangedToastedPlaceholder.
    after = {"well_code": "MOR-001", "status": "SHUT_IN", **STAND_INS}
    change = change_of(envelope("u", after))
    assert change.unavailable == frozenset(STAND_INS)
    assert change.row == {"well_code": "MOR-001", "status": "SHUT_IN"}


def test_placeholder_in_a_jsonb_column_is_checked_before_parsing() -> None:
    schema = {
        "type": "struct",
        "fields": [
            {
                "field": "after",
                "type": "struct",
                "fields": [{"field": "attrs", "type": "string", "name": "io.debezium.data.Json"}],
            }
        ],
    }
    wrapped = {"schema": schema, "payload": envelope("u", {"attrs": PLACEHOLDER})}
    assert change_of(wrapped).unavailable == frozenset({"attrs"})


def test_configured_placeholder() -> None:
    custom = Decoder(TYPES, placeholder="<toasted>")
    change = custom.decode(record(envelope("u", {"well_code": "X", "notes": "<toasted>"})))
    assert isinstance(change, RowChange) and change.unavailable == frozenset({"notes"})


# -- decimals and times the captures do not hold --------------------------------------


def _wrapped_after(fields: list[dict[str, Any]], after: dict[str, Any]) -> dict[str, Any]:
    schema = {"type": "struct", "fields": [{"field": "after", "type": "struct", "fields": fields}]}
    return {"schema": schema, "payload": envelope("c", after)}


def test_decimal_format_numeric_writes_a_json_number() -> None:
    # Not captured yet: value.converter.decimal.format=NUMERIC (KIP-481).
    field = {
        "field": "oil_rate_bopd",
        "type": "bytes",
        "name": "org.apache.kafka.connect.data.Decimal",
        "parameters": {"scale": "3"},
    }
    row = change_of(_wrapped_after([field], {"oil_rate_bopd": 1234.505})).row
    assert row == {"oil_rate_bopd": Decimal("1234.505")}


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        (
            "io.debezium.time.NanoTimestamp",
            1552566896789012000,
            datetime(2019, 3, 14, 12, 34, 56, 789012, tzinfo=UTC),
        ),
        (
            "io.debezium.time.ZonedTimestamp",
            "2024-05-01T10:34:56.789012000Z",
            datetime(2024, 5, 1, 10, 34, 56, 789012, tzinfo=UTC),
        ),
        (
            "io.debezium.time.IsoTimestamp",
            "2019-07-09T02:28:57.123456Z",
            datetime(2019, 7, 9, 2, 28, 57, 123456, tzinfo=UTC),
        ),
    ],
)
def test_other_time_precisions(name: str, raw: Any, expected: datetime) -> None:
    # time.precision.mode=nanoseconds / isostring were not captured.
    field = {"field": "ts", "type": "int64", "name": name}
    assert change_of(_wrapped_after([field], {"ts": raw})).row == {"ts": expected}


def test_infinity_sentinel_is_a_clear_error() -> None:
    field = {"field": "ts", "type": "int64", "name": "io.debezium.time.MicroTimestamp"}
    with pytest.raises(DecodeError, match="infinity"):
        decoder.decode(record(_wrapped_after([field], {"ts": 9223372036825200000})))
