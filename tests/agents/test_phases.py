"""Each phase change alters the sync direction as documented, on the real stack, and a
rollback loses no write made in the later phase.

The module runs one real worker on its own group, topics, Ditto connections and phase
topic, and sets phases with `streams.ops.phase.set_phase` (what `streams phase set`
calls). A phase counts as obeyed once the worker's `streams_phase` gauge shows it.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from streams.config import Settings
from streams.kafka.reader import read_to_end
from streams.mapping import dumps, identity, load_mappings, to_thing
from streams.ops.phase import set_phase, show
from streams.state.phase import Phase
from tests.agents._loop import Loop, delete_rows, running_loop, twin
from tests.agents._records import Record, collect

pytestmark = pytest.mark.stack

WAIT = 90.0
SUFFIX = uuid.uuid4().hex[:8]
WALKED = f"pw{SUFFIX}"  # the direction test's tenant
ROLLED = f"pr{SUFFIX}"  # the rollback test's tenant
LEGACY_WINS = f"pl{SUFFIX}"  # a crossing in dual-write
DITTO_WINS = f"pd{SUFFIX}"  # a crossing in ditto-primary
TENANTS = (WALKED, ROLLED, LEGACY_WINS, DITTO_WINS)
CODE = "P-1"
RATE = "/features/production/properties/oilRateBopd"


@pytest.fixture(scope="module")
def loop(cdc_stack: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    policies = [f"{tenant}:default-policy" for tenant in TENANTS]
    try:
        with running_loop(cdc_stack, tmp_path_factory, policies) as running:
            # Both wells and their twins, while the default phase (dual-write) syncs both ways.
            for tenant in TENANTS:
                _insert_well(running.settings, tenant)
            for tenant in TENANTS:
                twin(running.api, _thing(running.settings, tenant))
            yield running
    finally:
        delete_rows(cdc_stack, TENANTS)


def _thing(settings: Settings, tenant: str) -> str:
    wells = load_mappings(settings.mappings_dir)["wells"]
    return identity(wells, {"tenant": tenant, "well_code": CODE}).thing_id


def _insert_well(settings: Settings, tenant: str) -> None:
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wells (tenant, well_code, name, oil_rate_bopd, status) "
            "VALUES (%s, %s, %s, 450, 'PRODUCING')",
            (tenant, CODE, CODE),
        )


def _row(settings: Settings, tenant: str) -> dict[str, Any]:
    with psycopg.connect(settings.pg_dsn) as conn:
        cursor = conn.execute("SELECT * FROM wells WHERE tenant = %s", (tenant,))
        columns = [c.name for c in cursor.description or ()]
        (values,) = cursor.fetchall()
    return dict(zip(columns, values, strict=True))


def _wait(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.3)


def _enter(loop: Loop, phase: Phase, *, force: bool = False) -> None:
    """Set the phase and wait until the worker obeys it."""
    set_phase(loop.settings, phase, set_by="test", reason="test", force=force)
    assert show(loop.settings).phase is phase
    _wait(lambda: loop.metric(f'streams_phase{{phase="{phase}"}}') == 1.0, f"worker in {phase}")


def _edit_row(loop: Loop, tenant: str, **columns: Any) -> None:
    sets = ", ".join(f"{name} = %s" for name in columns)
    with psycopg.connect(loop.settings.pg_dsn, autocommit=True) as conn:
        conn.execute(f"UPDATE wells SET {sets} WHERE tenant = %s", (*columns.values(), tenant))


def _edit_twin(loop: Loop, tenant: str, rate: str) -> None:
    """A person's edit in Ditto (no origin header)."""
    response = loop.api.patch(
        f"/things/{_thing(loop.settings, tenant)}{RATE}",
        content=rate.encode(),
        headers={"content-type": "application/merge-patch+json"},
    )
    assert response.status_code == 204, response.text


def _twin_rate(loop: Loop, tenant: str) -> Decimal:
    found = twin(loop.api, _thing(loop.settings, tenant))
    return Decimal(str(found["features"]["production"]["properties"]["oilRateBopd"]))


def _row_rate(loop: Loop, tenant: str) -> Decimal:
    return Decimal(_row(loop.settings, tenant)["oil_rate_bopd"])


def _reaches_twin(loop: Loop, tenant: str, rate: str) -> None:
    _edit_row(loop, tenant, oil_rate_bopd=Decimal(rate))
    _wait(lambda: _twin_rate(loop, tenant) == Decimal(rate), f"row edit {rate} in the twin")


def _reaches_row(loop: Loop, tenant: str, rate: str) -> None:
    _edit_twin(loop, tenant, rate)
    _wait(lambda: _row_rate(loop, tenant) == Decimal(rate), f"twin edit {rate} in the row")


def _held(loop: Loop, phase: Phase, mark: str) -> Record:
    """The dead letter of a change `phase` held back, whose key holds `mark`."""

    def letters(records: list[Record]) -> list[Record]:
        return [
            r
            for r in records
            if mark in (r.key or "") and r.headers.get("streams.dlq.phase") == phase
        ]

    settings = loop.settings
    records = collect(settings.kafka_bootstrap, settings.dead_letter_topic, letters, WAIT)
    (letter,) = letters(records)
    assert letter.headers["streams.dlq.stage"] == "phase"
    assert letter.headers["streams.dlq.error.class"] == "HeldByPhaseError"
    return letter


def _both_sides_equal(loop: Loop, tenant: str) -> None:
    """The twin in Ditto is exactly what the mapping makes of the row."""
    settings = loop.settings
    wells = load_mappings(settings.mappings_dir)["wells"]
    row = _row(settings, tenant)
    expected = json.loads(dumps(to_thing(wells, row, models_url=settings.thing_models_url)))
    assert twin(loop.api, _thing(settings, tenant)) == expected


def test_each_phase_change_alters_the_sync_direction_as_documented(loop: Loop) -> None:
    thing_id = _thing(loop.settings, WALKED)

    _enter(loop, Phase.LEGACY_PRIMARY)  # one step back from the default, dual-write
    _reaches_twin(loop, WALKED, "501")
    _edit_twin(loop, WALKED, "601")
    letter = _held(loop, Phase.LEGACY_PRIMARY, thing_id)
    assert letter.headers["streams.dlq.topic"] == loop.settings.event_topic
    assert _row_rate(loop, WALKED) == Decimal("501")  # the dead letter is the twin edit's end

    _enter(loop, Phase.DUAL_WRITE)
    _reaches_twin(loop, WALKED, "502")
    _reaches_row(loop, WALKED, "602")

    _enter(loop, Phase.DITTO_PRIMARY)
    _reaches_twin(loop, WALKED, "503")
    _reaches_row(loop, WALKED, "603")

    _enter(loop, Phase.CUTOVER)
    _reaches_row(loop, WALKED, "604")
    _edit_row(loop, WALKED, oil_rate_bopd=Decimal("504"))
    letter = _held(loop, Phase.CUTOVER, WALKED)
    assert letter.headers["streams.dlq.topic"] == "legacy.public.wells"
    assert _twin_rate(loop, WALKED) == Decimal("604")


def test_a_rollback_loses_no_write_made_in_the_later_phase(loop: Loop) -> None:
    _enter(loop, Phase.CUTOVER, force=True)
    _reaches_row(loop, ROLLED, "701")
    _edit_twin(loop, ROLLED, "702")  # the last cutover edit, made just before the rollback

    _enter(loop, Phase.DITTO_PRIMARY)
    _wait(lambda: _row_rate(loop, ROLLED) == Decimal("702"), "the cutover edit in the row")
    _both_sides_equal(loop, ROLLED)
    _reaches_twin(loop, ROLLED, "711")  # legacy -> Ditto syncs again
    _reaches_row(loop, ROLLED, "712")

    _enter(loop, Phase.DUAL_WRITE)
    _both_sides_equal(loop, ROLLED)
    _reaches_row(loop, ROLLED, "722")
    _reaches_twin(loop, ROLLED, "721")
    _both_sides_equal(loop, ROLLED)


def _blocked_by(settings: Settings, pid: int) -> bool:
    with psycopg.connect(settings.pg_dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))",
            (pid,),
        ).fetchone()
    return row is not None and row[0] > 0


def _cross(loop: Loop, tenant: str, row_rate: str, twin_rate: str) -> None:
    """A row edit and a twin edit of the rate that cross: the row edit commits while the
    sink's write of the twin edit waits for the row's lock, so Postgres orders the row
    edit first and Ditto the twin edit first."""
    with psycopg.connect(loop.settings.pg_dsn) as conn:
        conn.execute(
            "UPDATE wells SET oil_rate_bopd = %s WHERE tenant = %s", (Decimal(row_rate), tenant)
        )
        _edit_twin(loop, tenant, twin_rate)
        pid = conn.info.backend_pid
        _wait(lambda: _blocked_by(loop.settings, pid), "the sink's write waiting for the row")
        conn.commit()


def _both_hold(loop: Loop, tenant: str, rate: str) -> Callable[[], bool]:
    value = Decimal(rate)
    return lambda: _row_rate(loop, tenant) == value and _twin_rate(loop, tenant) == value


def _rates(settings: Settings, topic: str, tenant: str) -> list[Decimal]:
    """The rates the records for the tenant's well on the command or sink topic carry."""
    key = _thing(settings, tenant).encode()
    found = []
    for record in read_to_end(settings.kafka_bootstrap, topic):
        if record.key != key or record.value is None:
            continue
        document = json.loads(record.value)
        if topic == settings.sink_topic:
            rate = document["columns"].get("oil_rate_bopd")
        else:
            rate = _patch_rate(document.get("value") or {})
        if rate is not None:
            found.append(Decimal(str(rate)))
    return found


def _patch_rate(value: dict[str, Any]) -> Any:
    features = value.get("features") or {}
    return ((features.get("production") or {}).get("properties") or {}).get("oilRateBopd")


def _sent(settings: Settings, topic: str, tenant: str, rate: str) -> bool:
    return Decimal(rate) in _rates(settings, topic, tenant)


def test_a_crossing_in_dual_write_ends_with_the_row_edit_on_both_sides(loop: Loop) -> None:
    _enter(loop, Phase.DUAL_WRITE, force=True)
    won = loop.metric('streams_conflicts_total{winner="legacy"}')

    _cross(loop, LEGACY_WINS, row_rate="801", twin_rate="901")

    # The row edit's echo from Ditto writes it back into the row, over the twin edit.
    sink = loop.settings.sink_topic
    _wait(lambda: _sent(loop.settings, sink, LEGACY_WINS, "801"), "the row edit restored")
    _wait(_both_hold(loop, LEGACY_WINS, "801"), "legacy's value on both sides")
    assert loop.metric('streams_conflicts_total{winner="legacy"}') > won
    _both_sides_equal(loop, LEGACY_WINS)


def test_a_crossing_in_ditto_primary_ends_with_the_twin_edit_on_both_sides(loop: Loop) -> None:
    _enter(loop, Phase.DITTO_PRIMARY, force=True)
    won = loop.metric('streams_conflicts_total{winner="ditto"}')

    _cross(loop, DITTO_WINS, row_rate="802", twin_rate="902")

    # Once the row edit is decided, it sent no command with its rate.
    _wait(lambda: loop.metric('streams_conflicts_total{winner="ditto"}') > won, "counted")
    assert not _sent(loop.settings, loop.settings.command_topic, DITTO_WINS, "802")
    _wait(_both_hold(loop, DITTO_WINS, "902"), "Ditto's value on both sides")
    _both_sides_equal(loop, DITTO_WINS)
