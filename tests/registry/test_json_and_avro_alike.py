"""The same row changes, captured by the JSON connector and by the Avro one on the real
stack, give the same Ditto commands through the worker's flow."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from streams.cdc import CdcRecord, Decoder, RecordDecoder, RowChange, Tombstone
from streams.config import Settings
from streams.errors import DecodeError
from streams.mapping import dumps, load_mappings
from streams.registry.decoders import record_decoder
from streams.stack.postgres import SYNC_ORIGIN
from streams.state.legacy_flow import Commands, LegacyFlow
from tests.registry._kafka import read_records

pytestmark = pytest.mark.stack

# Headers that name the Kafka record a command came from: they differ by topic.
_ORIGIN_HEADERS = ("correlation-id", "streams-source")


@pytest.fixture
def tenant(avro_stack: Settings) -> Iterator[str]:
    name = f"av{uuid.uuid4().hex[:8]}"
    yield name
    with psycopg.connect(avro_stack.pg_dsn, autocommit=True) as conn:
        conn.execute("DELETE FROM wells WHERE tenant = %s", (name,))
        conn.execute("DELETE FROM basins WHERE tenant = %s", (name,))


def _change_rows(settings: Settings, tenant: str) -> None:
    """Insert, update and delete: every kind of row change, with exact decimals."""
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO basins (tenant, code, name, area_km2, min_lat) "
            "VALUES (%s, 'B-1', 'Basin', 1234.567, -12.345678)",
            (tenant,),
        )
        conn.execute(
            "INSERT INTO wells (tenant, well_code, name, basin_code, oil_rate_bopd, status) "
            "VALUES (%s, 'W-1', 'Well', 'B-1', 450.25, 'PRODUCING')",
            (tenant,),
        )
        conn.execute(
            "UPDATE basins SET name = 'Renamed', area_km2 = 0.001 WHERE tenant = %s", (tenant,)
        )
        conn.execute("DELETE FROM wells WHERE tenant = %s", (tenant,))


def _of_tenant(decoder: RecordDecoder, records: list[CdcRecord], tenant: str) -> list[Any]:
    return [(r, d) for r in records if _is_of(d := _decoded(decoder, r), tenant)]


def _decoded(decoder: RecordDecoder, record: CdcRecord) -> Any:
    # The CDC topics also hold the bad records other tests produce on purpose.
    try:
        return decoder.decode(record)
    except DecodeError:
        return None


def _is_of(change: Any, tenant: str) -> bool:
    return isinstance(change, RowChange | Tombstone) and change.key.get("tenant") == tenant


def _commands(
    settings: Settings, decoder: RecordDecoder, prefix: str, tenant: str, expect: dict[str, int]
) -> list[dict[str, Any]]:
    """The commands the flow makes of `tenant`'s records, table by table in offset order."""
    mappings = load_mappings(settings.mappings_dir)
    flow = LegacyFlow(
        mappings, models_url=settings.thing_models_url, sync_origin=SYNC_ORIGIN, decoder=decoder
    )
    states: dict[str, Any] = {}
    owners: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for table, count in expect.items():

        def enough(got: list[CdcRecord], n: int = count) -> bool:
            return len(_of_tenant(decoder, got, tenant)) >= n

        records = read_records(settings.kafka_bootstrap, f"{prefix}.public.{table}", enough)
        mine = sorted(_of_tenant(decoder, records, tenant), key=lambda p: p[0].offset)
        for record, _ in mine:
            outcome = flow.process(record, states, owners)
            if isinstance(outcome, Commands):
                out += [_without_origin(c) for c in outcome.commands]
    return out


def _without_origin(command: dict[str, Any]) -> dict[str, Any]:
    headers = {k: v for k, v in command["headers"].items() if not k.startswith(_ORIGIN_HEADERS)}
    return {**command, "headers": headers}


def test_the_same_row_changes_give_the_same_ditto_commands(
    avro_stack: Settings, tenant: str
) -> None:
    _change_rows(avro_stack, tenant)
    # basins: insert + update; wells: insert + delete + tombstone (one key per table).
    expect = {"basins": 2, "wells": 3}
    mappings = load_mappings(avro_stack.mappings_dir)
    json_decoder = Decoder({t: m.column_types for t, m in mappings.items()})
    avro_settings = avro_stack.model_copy(update={"cdc_format": "avro"})
    avro_decoder = record_decoder(avro_settings, mappings)

    from_json = _commands(avro_stack, json_decoder, avro_stack.topic_prefix, tenant, expect)
    from_avro = _commands(avro_stack, avro_decoder, avro_stack.avro_topic_prefix, tenant, expect)

    actions = [str(c["topic"]).rsplit("/", 1)[-1] for c in from_json]
    assert actions == ["modify", "merge", "modify", "delete"]
    assert from_avro == from_json
    # The NUMERIC keeps its exact value (no float detour) on both paths.
    assert '"areaKm2":0.001' in dumps(from_avro[1])
    assert '"minLat":-12.345678' in dumps(from_avro[0])
