"""Columns a schema change adds and no mapping names are reported once each."""

from __future__ import annotations

from pathlib import Path

from streams.cdc.avro import IdKind, SchemaRef, WriterSchema, parse_writer
from streams.mapping import load_mappings
from streams.state.unmapped_columns import UnmappedColumns

MAPPINGS = load_mappings(Path(__file__).parents[2] / "mappings")


def _value_schema(schema_id: int, *extra: str) -> WriterSchema:
    columns = ["tenant", "code", "name", "updated_at", *extra]
    row = {
        "type": "record",
        "name": "Value",
        "fields": [{"name": c, "type": ["null", "string"], "default": None} for c in columns],
    }
    envelope = {
        "type": "record",
        "name": "Envelope",
        "namespace": "legacy_avro.public.basins",
        "fields": [
            {"name": "before", "type": ["null", row], "default": None},
            {"name": "after", "type": ["null", "Value"], "default": None},
            {"name": "op", "type": "string"},
        ],
    }
    ref = SchemaRef(IdKind.CONTENT, schema_id)
    return parse_writer(ref, [envelope])


def test_only_columns_added_after_the_first_schema_and_unmapped_are_reported_once() -> None:
    reported: list[tuple[str, str]] = []
    watch = UnmappedColumns(MAPPINGS, lambda table, column: reported.append((table, column)))
    watch("basins", _value_schema(1))  # updated_at: unmapped on purpose, there from the start
    watch("basins", _value_schema(2, "note"))
    watch("basins", _value_schema(3, "note", "remark"))
    watch("basins", _value_schema(4, "remark", "region"))  # region is mapped
    watch("no_mapping", _value_schema(5, "x"))
    assert reported == [("basins", "note"), ("basins", "remark")]
