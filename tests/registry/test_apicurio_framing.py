"""Apicurio's own framing from the real converter: magic byte 0 and an 8-byte global id.

The stack's connector writes Confluent's framing (`as-confluent`); this one, on a table
of the test's own, runs the same converter with Apicurio's defaults, and the decoder told
so (STREAMS_SCHEMA_ID_BYTES=8) reads its records into the row.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from streams.cdc import RowChange
from streams.config import Settings
from streams.errors import DecodeError
from streams.registry.decoders import record_decoder
from streams.stack import _connect_rest as rest
from tests.registry._kafka import read_records
from tests.registry._own_table import avro_connector, clean_up, sql

pytestmark = pytest.mark.stack


def test_records_framed_by_an_8_byte_global_id_decode_to_the_row(avro_stack: Settings) -> None:
    ident = f"gid_{uuid.uuid4().hex[:8]}"
    sql(
        avro_stack,
        f"CREATE TABLE {ident} (LIKE basins INCLUDING ALL)",
        f"INSERT INTO {ident} (tenant, code, name, area_km2) VALUES ('g', 'G-1', 'one', 12.345)",
    )
    name, config = avro_connector(avro_stack, ident)
    for part in ("key", "value"):
        del config[f"{part}.converter.apicurio.registry.as-confluent"]
        del config[f"{part}.converter.apicurio.registry.use-id"]
    try:
        rest.put_connector(avro_stack.connect_url, name, config)
        records = read_records(avro_stack.kafka_bootstrap, f"{ident}.public.{ident}", bool)
    finally:
        clean_up(avro_stack, name, ident)

    settings = avro_stack.model_copy(update={"cdc_format": "avro", "schema_id_bytes": 8})
    change = record_decoder(settings, {}).decode(records[0])
    assert isinstance(change, RowChange)
    assert change.key == {"tenant": "g", "code": "G-1"}
    assert change.row is not None
    assert (change.row["name"], change.row["area_km2"]) == ("one", Decimal("12.345"))
    # Read as Confluent's framing, the same bytes name no schema of this record.
    confluent = avro_stack.model_copy(update={"cdc_format": "avro"})
    with pytest.raises(DecodeError):
        record_decoder(confluent, {}).decode(records[0])
