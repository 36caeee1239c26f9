"""Schema changes on a live table, read through Debezium's Avro connector by a running
Avro worker: it keeps running, mapped fields keep flowing, a new unmapped column is
reported once, and an incompatible change of a mapped column is a dead letter.

The DDL runs on a table of the test's own (a copy of basins, with a copy of its mapping)
captured by a connector of its own (own slot, publication and topic prefix): altering
the shared basins table would change every other worker's events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from streams.cdc import CdcRecord, loads
from streams.config import Settings
from streams.mapping import identity, load_mappings
from streams.ops.worker_process import WorkerProcess
from streams.stack import _connect_rest as rest
from tests._own_worker import as_env, own_topics
from tests.registry._kafka import read_records
from tests.registry._own_table import avro_connector, clean_up, mapping_dir, sql

pytestmark = pytest.mark.stack

TENANT = "evolution"


@dataclass
class Evolution:
    settings: Settings  # the worker's settings (own topics, Avro, own mapping folder)
    table: str
    thing_id: str
    worker: WorkerProcess


@pytest.fixture(scope="module")
def evolution(
    avro_stack: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Evolution]:
    ident = f"evo_{uuid.uuid4().hex[:8]}"
    sql(
        avro_stack,
        f"CREATE TABLE {ident} (LIKE basins INCLUDING ALL)",
        f"INSERT INTO {ident} (tenant, code, name, area_km2) VALUES "
        f"('{TENANT}', 'E-1', 'one', 1.5)",
    )
    name, config = avro_connector(avro_stack, ident)
    folder = mapping_dir(tmp_path_factory.mktemp("mappings"), ident)
    fields = {
        **own_topics("avro", ident),
        "cdc_format": "avro",
        "avro_topic_prefix": ident,
        "mappings_dir": str(folder),
    }
    settings = avro_stack.model_copy(update={**fields, "mappings_dir": folder})
    worker = WorkerProcess(
        tmp_path_factory.mktemp("logs") / "worker.log",
        {**as_env(fields), "STREAMS_WORKER_DATA_DIR": str(tmp_path_factory.mktemp("data"))},
    )
    try:
        rest.put_connector(avro_stack.connect_url, name, config)
        # The worker subscribes to the table's topic, which the snapshot creates.
        read_records(avro_stack.kafka_bootstrap, f"{ident}.public.{ident}", bool)
        worker.start()
        mapping = load_mappings(folder)[ident]
        thing = identity(mapping, {"tenant": TENANT, "code": "E-1"}).thing_id
        yield Evolution(settings, ident, thing, worker)
    finally:
        worker.stop()
        clean_up(avro_stack, name, ident)


def _commands(evo: Evolution, count: int) -> list[dict[str, Any]]:
    """The first `count` commands for the test's thing on the worker's command topic."""

    def mine(records: list[CdcRecord]) -> list[CdcRecord]:
        return [r for r in records if r.key == evo.thing_id.encode()]

    records = read_records(
        evo.settings.kafka_bootstrap,
        evo.settings.command_topic,
        lambda got: len(mine(got)) >= count,
    )
    return [loads(r.value or b"null") for r in mine(records)][:count]


def _metric(evo: Evolution, name: str, **labels: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{evo.worker.port}/metrics", timeout=5.0).text
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{wanted}}} in the worker's /metrics")


def _name_of(command: dict[str, Any]) -> Any:
    return command["value"].get("attributes", {}).get("name")


def test_a_nullable_column_added_keeps_mapped_fields_flowing_and_is_reported_once(
    evolution: Evolution,
) -> None:
    table = evolution.table
    assert _name_of(_commands(evolution, 1)[0]) == "one"
    sql(
        evolution.settings,
        f"ALTER TABLE {table} ADD COLUMN note text",
        f"UPDATE {table} SET name = 'two', note = 'n1'",
        f"UPDATE {table} SET name = 'three', note = 'n2'",
    )
    commands = _commands(evolution, 3)
    assert [_name_of(c) for c in commands] == ["one", "two", "three"]
    assert all("note" not in str(c["value"]) for c in commands)
    log = evolution.worker.log_file.read_text()
    assert log.count(f"unmapped column table={table} column=note") == 1
    assert _metric(evolution, "streams_unmapped_columns_total", table=table, column="note") == 1


def test_a_widened_numeric_keeps_its_exact_value(evolution: Evolution) -> None:
    table = evolution.table
    sql(
        evolution.settings,
        # Precision 14 -> 20 at the mapping's scale of 3 (more decimals than the mapping's
        # scale would be a mapping error: the way back could not write them).
        f"ALTER TABLE {table} ALTER COLUMN area_km2 TYPE numeric(20, 3)",
        f"UPDATE {table} SET area_km2 = 12345678901234567.125",
    )
    command = _commands(evolution, 4)[3]
    area = command["value"]["features"]["location"]["properties"]["areaKm2"]
    assert str(area) == "12345678901234567.125"


def test_a_rename_through_add_and_drop_keeps_flowing_and_reports_the_new_column(
    evolution: Evolution,
) -> None:
    table = evolution.table
    sql(
        evolution.settings,
        f"ALTER TABLE {table} ADD COLUMN remark text",
        f"UPDATE {table} SET remark = note",
        f"ALTER TABLE {table} DROP COLUMN note",
        f"UPDATE {table} SET name = 'five', remark = 'r2'",
    )
    # Copying into the unmapped column changes no mapped field: no command for it.
    commands = _commands(evolution, 5)
    assert _name_of(commands[4]) == "five"
    log = evolution.worker.log_file.read_text()
    assert log.count(f"unmapped column table={table} column=remark") == 1
    assert log.count(f"unmapped column table={table} column=note") == 1


def test_an_incompatible_change_of_a_mapped_column_is_a_dead_letter_with_the_reason(
    evolution: Evolution,
) -> None:
    table = evolution.table
    sql(
        evolution.settings,
        f"ALTER TABLE {table} ALTER COLUMN name TYPE integer USING length(name)",
        f"UPDATE {table} SET name = 7",
    )
    letters = read_records(
        evolution.settings.kafka_bootstrap, evolution.settings.dead_letter_topic, bool
    )
    headers = {k: (v or b"").decode() for k, v in letters[0].headers}
    assert headers["streams.dlq.stage"] == "decode"
    assert f"{table}.name (row): expected text, got int" in headers["streams.dlq.error.message"]
    assert evolution.worker.alive()
