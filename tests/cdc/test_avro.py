"""The Avro decoder on bodies fastavro writes: framing, named types, exact logical types,
and the same RowChange as the JSON decoder for the same Connect record."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import fastavro
import pytest

from streams.cdc import CdcRecord, Decoder, RowChange, Tombstone
from streams.cdc.avro import AvroDecoder, IdKind, SchemaRef, frame, row_columns
from streams.errors import DecodeError

# Debezium's Source record, registered apart and referenced by name (as Apicurio does).
SOURCE = {
    "type": "record",
    "name": "Source",
    "namespace": "io.debezium.connector.postgresql",
    "fields": [
        {"name": "version", "type": "string"},
        {"name": "connector", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "ts_ms", "type": "long"},
        {"name": "db", "type": "string"},
        {"name": "schema", "type": "string"},
        {"name": "table", "type": "string"},
        {"name": "lsn", "type": ["null", "long"], "default": None},
    ],
}
DECIMAL = {
    "type": "bytes",
    "scale": 4,
    "precision": 18,
    "connect.version": 1,
    "connect.parameters": {"scale": "4", "connect.decimal.precision": "18"},
    "connect.name": "org.apache.kafka.connect.data.Decimal",
    "logicalType": "decimal",
}
MICROS = {"type": "long", "connect.version": 1, "connect.name": "io.debezium.time.MicroTimestamp"}
DAYS = {"type": "int", "connect.version": 1, "connect.name": "io.debezium.time.Date"}
VALUE = {
    "type": "record",
    "name": "Value",
    "fields": [
        {"name": "code", "type": "string"},
        {"name": "area", "type": ["null", DECIMAL], "default": None},
        {"name": "seen_at", "type": ["null", MICROS], "default": None},
        {"name": "spud", "type": ["null", DAYS], "default": None},
        {"name": "raw", "type": ["null", "bytes"], "default": None},
    ],
}
ENVELOPE = {
    "type": "record",
    "name": "Envelope",
    "namespace": "legacy_avro.public.basins",
    "fields": [
        {"name": "before", "type": ["null", VALUE], "default": None},
        {"name": "after", "type": ["null", "Value"], "default": None},
        {"name": "source", "type": "io.debezium.connector.postgresql.Source"},
        {"name": "op", "type": "string"},
        {"name": "ts_ms", "type": ["null", "long"], "default": None},
    ],
}
KEY = {
    "type": "record",
    "name": "Key",
    "namespace": "legacy_avro.public.basins",
    "fields": [{"name": "code", "type": "string"}],
}
ROW: dict[str, Any] = {
    "code": "B-1",
    "area": Decimal("12345.6789"),
    "seen_at": 1_700_000_000_123_456,
    "spud": 19_000,
    "raw": b"\x00\xff",
}
SOURCE_VALUE = {
    "version": "3.6.1.Final",
    "connector": "postgresql",
    "name": "legacy_avro",
    "ts_ms": 1,
    "db": "legacy",
    "schema": "public",
    "table": "basins",
    "lsn": 42,
}


class Schemas:
    """Writer schemas by id, as the registry would serve them (references first)."""

    def __init__(self) -> None:
        self.by_ref: dict[SchemaRef, Sequence[Any]] = {
            SchemaRef(IdKind.CONTENT, 1): [KEY],
            SchemaRef(IdKind.CONTENT, 3): [SOURCE, ENVELOPE],
            SchemaRef(IdKind.GLOBAL, 7): [SOURCE, ENVELOPE],
        }

    def schema(self, ref: SchemaRef) -> Sequence[Any]:
        return self.by_ref[ref]


def _body(schemas: Sequence[Any], datum: dict[str, Any]) -> bytes:
    named: dict[str, Any] = {}
    for doc in schemas:
        parsed = fastavro.parse_schema(doc, named_schemas=named)
    out = io.BytesIO()
    fastavro.schemaless_writer(out, parsed, datum)
    return out.getvalue()


def _confluent(schema_id: int, body: bytes) -> bytes:
    return b"\x00" + schema_id.to_bytes(4, "big") + body


def _avro_record(value: bytes | None, headers: tuple[tuple[str, bytes | None], ...] = ()) -> Any:
    key = _confluent(1, _body([KEY], {"code": "B-1"}))
    return CdcRecord(key, value, "legacy_avro.public.basins", 0, 5, headers)


def _envelope(op: str = "c") -> dict[str, Any]:
    return {"before": None, "after": ROW, "source": SOURCE_VALUE, "op": op, "ts_ms": 9}


def test_confluent_framing_names_the_content_id() -> None:
    ref, body = frame(b"\x00\x00\x00\x01\x02rest", (), "value")
    assert ref == SchemaRef(IdKind.CONTENT, 258)
    assert body == b"rest"


def test_apicurio_default_framing_names_an_8_byte_global_id() -> None:
    ref, body = frame(b"\x00" + (7).to_bytes(8, "big") + b"rest", (), "value", id_bytes=8)
    assert ref == SchemaRef(IdKind.GLOBAL, 7)
    assert body == b"rest"


def test_apicurio_header_names_the_global_id_and_the_body_is_bare() -> None:
    headers = (("apicurio.value.globalId", (7).to_bytes(8, "big")),)
    ref, body = frame(b"\x02abc", headers, "value")
    assert ref == SchemaRef(IdKind.GLOBAL, 7)
    assert body == b"\x02abc"


def test_json_bytes_on_an_avro_topic_name_the_setting_to_fix() -> None:
    with pytest.raises(DecodeError, match="STREAMS_CDC_FORMAT=json"):
        frame(b'{"op":"c"}', (), "value")


def test_logical_types_decode_exactly() -> None:
    decoder = AvroDecoder(Schemas())
    value = _confluent(3, _body([SOURCE, ENVELOPE], _envelope()))
    change = decoder.decode(_avro_record(value))
    assert isinstance(change, RowChange)
    assert change.row == {
        "code": "B-1",
        "area": Decimal("12345.6789"),
        "seen_at": datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC),
        "spud": date(2022, 1, 8),
        "raw": b"\x00\xff",
    }
    assert change.row is not None and str(change.row["area"]) == "12345.6789"
    assert change.key == {"code": "B-1"}
    assert change.source.lsn == 42


def test_both_framings_give_the_same_row_change() -> None:
    decoder = AvroDecoder(Schemas())
    body = _body([SOURCE, ENVELOPE], _envelope())
    confluent = decoder.decode(_avro_record(_confluent(3, body)))
    headers = (("apicurio.value.globalId", (7).to_bytes(8, "big")),)
    apicurio = decoder.decode(_avro_record(body, headers))
    assert confluent == apicurio


def _json_value() -> bytes:
    """The same change as JsonConverter writes it (schema + payload)."""

    def field(column: str, kind: str, **extra: Any) -> dict[str, Any]:
        return {"field": column, "type": kind, "optional": True, **extra}

    row_schema = {
        "type": "struct",
        "optional": True,
        "fields": [
            field("code", "string"),
            field(
                "area",
                "bytes",
                name="org.apache.kafka.connect.data.Decimal",
                parameters={"scale": "4"},
            ),
            field("seen_at", "int64", name="io.debezium.time.MicroTimestamp"),
            field("spud", "int32", name="io.debezium.time.Date"),
            field("raw", "bytes"),
        ],
    }
    unscaled = int(ROW["area"] * 10_000).to_bytes(8, "big", signed=True).lstrip(b"\x00")
    payload = {
        "before": None,
        "after": {
            **ROW,
            "area": base64.b64encode(unscaled).decode(),
            "raw": base64.b64encode(b"\x00\xff").decode(),
        },
        "source": SOURCE_VALUE,
        "op": "c",
        "ts_ms": 9,
    }
    schema = {
        "type": "struct",
        "fields": [{**row_schema, "field": "before"}, {**row_schema, "field": "after"}],
    }
    return json.dumps({"schema": schema, "payload": payload}).encode()


def test_the_same_change_decodes_alike_from_json_and_avro() -> None:
    avro = AvroDecoder(Schemas()).decode(
        _avro_record(_confluent(3, _body([SOURCE, ENVELOPE], _envelope())))
    )
    json_key = json.dumps({"code": "B-1"}).encode()
    from_json = Decoder().decode(CdcRecord(json_key, _json_value(), "legacy.public.basins", 0, 5))
    assert isinstance(avro, RowChange) and isinstance(from_json, RowChange)
    assert (avro.op, avro.table, avro.key, avro.row, avro.source.lsn) == (
        from_json.op,
        from_json.table,
        from_json.key,
        from_json.row,
        from_json.source.lsn,
    )


def test_a_kafka_null_value_is_a_tombstone_of_the_avro_key() -> None:
    change = AvroDecoder(Schemas()).decode(_avro_record(None))
    assert isinstance(change, Tombstone)
    assert change.key == {"code": "B-1"}


def test_a_body_that_does_not_match_its_schema_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match=r"legacy_avro.public.basins\[0\]@5: .*writer schema"):
        AvroDecoder(Schemas()).decode(_avro_record(_confluent(3, b"\x02")))


def test_each_new_value_schema_is_announced_once_with_its_columns() -> None:
    seen: list[tuple[str, tuple[str, ...]]] = []
    decoder = AvroDecoder(Schemas(), on_new_schema=lambda t, w: seen.append((t, row_columns(w))))
    value = _confluent(3, _body([SOURCE, ENVELOPE], _envelope()))
    decoder.decode(_avro_record(value))
    decoder.decode(_avro_record(value))
    assert seen == [("basins", ("code", "area", "seen_at", "spud", "raw"))]
