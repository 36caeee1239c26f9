"""A row image without the mapped columns is not a row of the table: never a whole-twin modify."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from streams.cdc import CdcRecord
from streams.errors import MappingError
from streams.state.legacy_flow import Commands, LegacyFlow
from tests.mapping.rows import MAPPINGS, MODELS_URL, WELL_ROW

KEY = json.dumps({"tenant": "acme", "well_code": "MOR-001"}).encode()


def _flow() -> LegacyFlow:
    return LegacyFlow(MAPPINGS, models_url=MODELS_URL, sync_origin="ditto_streams_sink")


def _json(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _record(value: Any) -> CdcRecord:
    """A flattened row as Debezium's string modes write it (JsonConverter, no schema)."""
    return CdcRecord(
        key=KEY, value=json.dumps(value, default=_json).encode(), topic="legacy.public.wells"
    )


@pytest.mark.parametrize(
    "value",
    [
        {"hello": "world"},
        {"schema": {"type": "struct", "fields": []}},
        {k: v for k, v in WELL_ROW.items() if k != "oil_rate_bopd"},
    ],
    ids=["foreign-json", "schema-without-payload", "one-column-missing"],
)
def test_a_row_without_its_mapped_columns_is_a_mapping_error(value: Any) -> None:
    with pytest.raises(MappingError, match="lacks mapped columns") as caught:
        _flow().process(_record(value), {}, {})
    assert "column.exclude.list" in str(caught.value)


def test_a_whole_row_still_maps() -> None:
    outcome = _flow().process(_record(WELL_ROW), {}, {})
    assert isinstance(outcome, Commands)
    assert outcome.thing_id == "acme:well-mor-001"
