"""The sample estate in Ditto: every row of the sample tenants is its twin, shaped as the
migration plan prints it (../shared/reference/mapping.md).

The module bootstraps the sample tenants' policies and its own connections and topics,
then runs a real worker, which replays the whole CDC history into Ditto. Its connections
act as the shared sync subject on purpose: the policies bootstrap writes are then the very
ones `streams ditto bootstrap` and the demo write, so the shared Ditto keeps serving them
unchanged (an own subject would replace the shared one in those policies).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from streams.config import Settings
from streams.ditto.bootstrap import policy_ids
from streams.kafka.reader import read_to_end
from streams.mapping import dumps, identity, load_mappings, to_thing
from streams.stack.seed import basin_rows, well_rows
from tests.agents._loop import Loop, running_loop

pytestmark = pytest.mark.stack

SAMPLE_TENANTS = ("acme", "nordic")
WAIT = 240.0  # 886 twins through one worker and Ditto


@pytest.fixture(scope="module")
def loop(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    policies = policy_ids(load_mappings(cdc_stack.mappings_dir), SAMPLE_TENANTS)
    with running_loop(cdc_stack, tmp_path_factory, policies, own_subject=False) as running:
        yield running


def _sink_written(settings: Settings) -> set[str]:
    """Thing ids of sample rows the Postgres sink wrote (twin_revision set): a twin edit
    made in Ditto, e.g. by `streams demo`. This module's fresh consumer group replays
    the legacy history into Ditto and drops the sink's writes as echoes, so those twins
    end at the last legacy-side value: replay semantics, not the live loop checked here."""
    mappings = load_mappings(settings.mappings_dir)
    written: set[str] = set()
    with psycopg.connect(settings.pg_dsn) as conn:
        for table in ("basins", "wells"):
            cursor = conn.execute(
                f"SELECT * FROM {table} WHERE tenant = ANY(%s) AND twin_revision IS NOT NULL",
                (list(SAMPLE_TENANTS),),
            )
            columns = [c.name for c in cursor.description or ()]
            for values in cursor.fetchall():
                row = dict(zip(columns, values, strict=True))
                written.add(identity(mappings[table], row).thing_id)
    return written


def _expected_twins(settings: Settings) -> dict[str, dict[str, Any]]:
    """Thing id -> the JSON the project's mapping makes of each sample row, read now."""
    mappings = load_mappings(settings.mappings_dir)
    twins: dict[str, dict[str, Any]] = {}
    with psycopg.connect(settings.pg_dsn) as conn:
        for table in ("basins", "wells"):
            cursor = conn.execute(
                f"SELECT * FROM {table} WHERE tenant = ANY(%s)", (list(SAMPLE_TENANTS),)
            )
            columns = [c.name for c in cursor.description or ()]
            for values in cursor.fetchall():
                row = dict(zip(columns, values, strict=True))
                thing = to_thing(mappings[table], row, models_url=settings.thing_models_url)
                twins[thing["thingId"]] = json.loads(dumps(thing))
    return twins


def _sample_keys(settings: Settings, topic: str) -> int:
    tenants = tuple(f"{t}:".encode() for t in SAMPLE_TENANTS)
    return sum(
        1
        for r in read_to_end(settings.kafka_bootstrap, topic)
        if (r.key or b"").startswith(tenants)
    )


def _answered(settings: Settings) -> bool:
    """Ditto answered every command sent for the sample tenants, so it applied them all."""
    sent = _sample_keys(settings, settings.command_topic)
    return sent > 0 and _sample_keys(settings, settings.reply_topic) >= sent


def _refusals(settings: Settings, thing_id: str) -> list[str]:
    """Ditto's error answers to the commands sent for `thing_id`, as status and error."""
    return [
        f"{answer['status']} {answer['value'].get('error')}"
        for r in read_to_end(settings.kafka_bootstrap, settings.reply_topic)
        if r.key == thing_id.encode()
        and (answer := json.loads(r.value or b"{}")).get("topic", "").endswith("/errors")
    ]


@pytest.fixture(scope="module")
def in_ditto(loop: Loop) -> dict[str, dict[str, Any] | None]:
    """Every sample twin as Ditto holds it (None: none the API user may read), once
    Ditto answered every command the worker sent for the sample tenants."""
    deadline = time.monotonic() + WAIT
    while not _answered(loop.settings):
        assert time.monotonic() < deadline, "Ditto answered not every sample command"
        time.sleep(2)
    found: dict[str, dict[str, Any] | None] = {}
    for thing_id in sorted(_expected_twins(loop.settings)):
        # A fresh connection each: a kept-alive one waits ~40 ms per answer on the
        # stand-in (delayed ACK), 35 s for the estate instead of 1 s.
        response = loop.api.get(f"/things/{thing_id}", headers={"connection": "close"})
        assert response.status_code in (200, 404), f"{thing_id}: {response.text}"
        found[thing_id] = response.json() if response.status_code == 200 else None
    return found


def _problems(missing: dict[str, list[str]], differing: dict[str, Any]) -> str:
    text = (
        f"{len(missing)} rows have no twin the API user may read (Ditto's answers to their "
        f"commands: {missing}); {len(differing)} twins differ from their row's mapping"
    )
    if differing:
        text += f", e.g. {json.dumps(next(iter(differing.items())), ensure_ascii=False)}"
    return text


def test_every_sample_row_is_its_twin_in_ditto(
    loop: Loop, in_ditto: dict[str, dict[str, Any] | None]
) -> None:
    expected = _expected_twins(loop.settings)
    assert len(expected) == len(basin_rows()) + len(well_rows())  # 886: the whole estate
    edited_in_ditto = _sink_written(loop.settings)
    assert len(edited_in_ditto) < 10  # the demo edits one twin; tests use own tenants
    assert in_ditto.keys() == expected.keys()
    missing = {t: _refusals(loop.settings, t) for t, found in in_ditto.items() if found is None}
    differing = {
        t: {"ditto": found, "row": expected[t]}
        for t, found in in_ditto.items()
        if found is not None and found != expected[t] and t not in edited_in_ditto
    }
    # Both lists in one failure: a twin Ditto refused says nothing of the others' shapes.
    assert (missing, differing) == ({}, {}), _problems(missing, differing)


def test_a_sample_basin_has_the_plans_shape(
    loop: Loop, in_ditto: dict[str, dict[str, Any] | None]
) -> None:
    """mapping.md's basin with the values of the sample's Conasauga basin (USGS)."""
    assert in_ditto["acme:basin-con001"] == {
        "thingId": "acme:basin-con001",
        "policyId": "acme:default-policy",
        "definition": f"{loop.settings.thing_models_url}/basin-1.0.0.tm.jsonld",
        "attributes": {
            "type": "BASIN",
            "name": "Conasauga",
            "code": "CON001",
            "country": "United States",
        },
        "features": {
            "geology": {"properties": {"age": "Cambrian"}},
            "location": {
                "properties": {
                    "areaKm2": 5758.972,
                    "bounds": {
                        "minLat": 33.014572,
                        "maxLat": 35.051002,
                        "minLon": -87.404159,
                        "maxLon": -84.885226,
                    },
                }
            },
        },
    }


def test_a_sample_well_has_the_plans_shape(loop: Loop, in_ditto: dict[str, dict[str, Any]]) -> None:
    """mapping.md's well with the values of Volve's 15/9-F-1 C: a slash and a space in the
    key, slugged in the id, kept in the attribute."""
    assert in_ditto["nordic:well-15-9-f-1-c"] == {
        "thingId": "nordic:well-15-9-f-1-c",
        "policyId": "nordic:default-policy",
        "definition": f"{loop.settings.thing_models_url}/well-1.0.0.tm.jsonld",
        "attributes": {"type": "WELL", "name": "15/9-F-1 C", "wellCode": "15/9-F-1 C"},
        "features": {
            "completion": {"properties": {"wellType": "PRODUCTION"}},
            "production": {
                "properties": {
                    "oilRateBopd": 1308.28,
                    "gasRateMscfd": 1235.95,
                    "waterRateBwpd": 3411.53,
                }
            },
            "status": {"properties": {"current": "P&A", "lastUpdate": "2021-02-23T00:00:00Z"}},
        },
    }
