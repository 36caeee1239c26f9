"""Both flows under the phase (pure, over dicts): what a phase holds back, and who wins
when a row edit and a twin edit cross (streams.state.conflict)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from streams.cdc import CdcRecord
from streams.errors import HeldByPhaseError
from streams.state.legacy_flow import Commands, LegacyFlow, Skipped
from streams.state.phase import Phase, PhaseRecord, Side, Timeline
from streams.state.phased import LegacyConflicts, TwinConflicts, legacy_outcome, twin_outcome
from streams.state.twin_flow import Skipped as TwinSkipped
from streams.state.twin_flow import TwinFlow, Write
from tests.mapping.rows import MAPPINGS, MODELS_URL, WELL_ROW
from tests.state.test_twin_flow import WELL, event, known

SYNC_ORIGIN = "ditto_streams_sink"
KEY = json.dumps({"tenant": "acme", "well_code": "MOR-001"}).encode()
TOPIC = "legacy.public.wells"
RATE_PATH = ("features", "production", "properties", "oilRateBopd")


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _row(
    offset: int, origin: str | None = None, ts_ms: int | None = None, **changes: Any
) -> CdcRecord:
    """A flattened row (an upsert) of the well, at `offset` of partition 0."""
    row = {**WELL_ROW, **changes}
    if origin is not None:
        row["__source_origin"] = origin
    if ts_ms is not None:
        row["__source_ts_ms"] = ts_ms
    value = json.dumps(row, default=_json).encode()
    return CdcRecord(key=KEY, value=value, topic=TOPIC, partition=0, offset=offset)


class Legacy:
    """The legacy side of one worker: the flow, its stores, and the other side's writes."""

    def __init__(self) -> None:
        self.flow = LegacyFlow(MAPPINGS, models_url=MODELS_URL, sync_origin=SYNC_ORIGIN)
        self.states: dict[str, Any] = {}
        self.owners: dict[str, str] = {}
        self.written: dict[str, Any] = {}
        self.marks: dict[str, Any] = {}
        self.conflicts = LegacyConflicts(MAPPINGS, self.written, self.marks)
        self.run(_row(0), Phase.DUAL_WRITE)  # the twin exists

    def run(self, record: CdcRecord, phase: Phase | Timeline) -> Any:
        outcome, found = legacy_outcome(
            self.flow, record, self.states, self.owners, phase, self.conflicts
        )
        self.found = found
        return outcome


def _patch(outcome: Any) -> dict[str, Any]:
    assert isinstance(outcome, Commands)
    (command,) = outcome.commands
    assert command["topic"].endswith("/commands/merge")
    patch: dict[str, Any] = command["value"]
    return patch


def _rate(patch: dict[str, Any]) -> Any:
    return patch.get("features", {}).get("production", {}).get("properties", {}).get("oilRateBopd")


# -- direction ---------------------------------------------------------------------------


def test_a_row_change_in_cutover_is_held_and_leaves_the_keys_state() -> None:
    legacy = Legacy()
    before = json.loads(json.dumps(legacy.states))

    with pytest.raises(HeldByPhaseError) as caught:
        legacy.run(_row(1, oil_rate_bopd=Decimal("500.000")), Phase.CUTOVER)

    assert caught.value.phase == "cutover"
    assert legacy.states == before


def test_after_a_rollback_the_next_change_carries_the_held_columns() -> None:
    legacy = Legacy()
    with pytest.raises(HeldByPhaseError):
        legacy.run(_row(1, oil_rate_bopd=Decimal("500.000")), Phase.CUTOVER)

    outcome = legacy.run(
        _row(2, oil_rate_bopd=Decimal("500.000"), status="SHUT-IN"), Phase.DITTO_PRIMARY
    )

    patch = _patch(outcome)
    assert _rate(patch) == Decimal("500.000")
    assert patch["features"]["status"]["properties"]["current"] == "SHUT-IN"


# Cutover from 2026-01-01T10:00:00Z on.
CUTOVER_AT = Timeline(
    (PhaseRecord(Phase.CUTOVER, Phase.DITTO_PRIMARY, "2026-01-01T10:00:00.000Z", "ops"),)
)
TEN = 1767261600000


def test_a_row_change_committed_before_cutover_is_still_sent() -> None:
    outcome = Legacy().run(_row(1, ts_ms=TEN - 1, oil_rate_bopd=Decimal("500.000")), CUTOVER_AT)
    assert _rate(_patch(outcome)) == Decimal("500.000")


def test_a_row_change_committed_in_cutover_is_held() -> None:
    with pytest.raises(HeldByPhaseError, match="phase cutover"):
        Legacy().run(_row(1, ts_ms=TEN, oil_rate_bopd=Decimal("500.000")), CUTOVER_AT)


def test_the_sinks_own_write_passes_in_cutover_as_an_echo() -> None:
    legacy = Legacy()
    outcome = legacy.run(_row(1, SYNC_ORIGIN, oil_rate_bopd=Decimal("501.000")), Phase.CUTOVER)
    assert isinstance(outcome, Skipped)
    assert outcome.kind == "echo"


@pytest.mark.parametrize("phase", [Phase.LEGACY_PRIMARY, Phase.DUAL_WRITE, Phase.DITTO_PRIMARY])
def test_a_row_change_is_sent_in_every_phase_but_cutover(phase: Phase) -> None:
    outcome = Legacy().run(_row(1, oil_rate_bopd=Decimal("500.000")), phase)
    assert _rate(_patch(outcome)) == Decimal("500.000")


def _twin_edit(revision: int = 4, **headers: Any) -> bytes:
    path = "/features/production/properties/oilRateBopd"
    return event(WELL, "merged", path, 612.5, revision=revision, headers=headers)


def test_a_twin_edit_in_legacy_primary_is_held_and_not_remembered() -> None:
    revisions = known(3)
    with pytest.raises(HeldByPhaseError) as caught:
        twin_outcome(TwinFlow(MAPPINGS), _twin_edit(), revisions, {}, Phase.LEGACY_PRIMARY)
    assert caught.value.phase == "legacy-primary"
    assert revisions == known(3)


def _rolled_back_at(set_at: str) -> Timeline:
    return Timeline((PhaseRecord(Phase.LEGACY_PRIMARY, Phase.DUAL_WRITE, set_at, "ops"),))


def test_a_twin_edit_made_before_a_rollback_to_legacy_primary_is_written() -> None:
    edit = _twin_edit()  # Ditto's timestamp: 2026-03-02T10:15:04.123Z
    flow = TwinFlow(MAPPINGS)

    later = twin_outcome(flow, edit, known(3), {}, _rolled_back_at("2026-03-02T10:15:05.000Z"))
    assert isinstance(later, Write)
    with pytest.raises(HeldByPhaseError):
        twin_outcome(flow, edit, known(3), {}, _rolled_back_at("2026-03-02T10:15:04.000Z"))


def test_an_echo_passes_in_legacy_primary() -> None:
    echo = _twin_edit(**{"streams-origin": "legacy"})
    outcome = twin_outcome(TwinFlow(MAPPINGS), echo, known(3), {}, Phase.LEGACY_PRIMARY)
    assert isinstance(outcome, TwinSkipped)
    assert outcome.kind == "echo"


@pytest.mark.parametrize("phase", [Phase.DUAL_WRITE, Phase.DITTO_PRIMARY, Phase.CUTOVER])
def test_a_twin_edit_is_written_in_every_phase_but_legacy_primary(phase: Phase) -> None:
    outcome = twin_outcome(TwinFlow(MAPPINGS), _twin_edit(), known(3), {}, phase)
    assert isinstance(outcome, Write)
    assert outcome.change.columns == {"oil_rate_bopd": Decimal("612.5")}


# -- conflicts ---------------------------------------------------------------------------


def test_ditto_wins_a_crossing_column_and_the_rest_of_the_row_edit_is_sent() -> None:
    legacy = Legacy()
    # The twin's edit of the rate at revision 3 went to the sink; the row does not hold it.
    legacy.written[WELL] = {"oil_rate_bopd": 3}

    outcome = legacy.run(
        _row(1, oil_rate_bopd=Decimal("500.000"), status="SHUT-IN", twin_revision=2),
        Phase.DITTO_PRIMARY,
    )

    patch = _patch(outcome)
    assert _rate(patch) is None
    assert patch["features"]["status"]["properties"]["current"] == "SHUT-IN"
    (found,) = legacy.found
    assert (found.columns, found.winner) == (("oil_rate_bopd",), Side.DITTO)


def test_a_row_edit_that_lost_every_column_sends_nothing() -> None:
    legacy = Legacy()
    legacy.written[WELL] = {"oil_rate_bopd": 3}

    outcome = legacy.run(_row(1, oil_rate_bopd=Decimal("500.000")), Phase.DITTO_PRIMARY)

    assert isinstance(outcome, Skipped)
    assert outcome.kind == "conflict"


def test_a_row_that_holds_the_twins_write_crosses_nothing() -> None:
    legacy = Legacy()
    legacy.written[WELL] = {"oil_rate_bopd": 3}

    outcome = legacy.run(
        _row(1, oil_rate_bopd=Decimal("500.000"), twin_revision=3), Phase.DITTO_PRIMARY
    )

    assert _rate(_patch(outcome)) == Decimal("500.000")
    assert legacy.found == []


def test_a_column_the_twin_did_not_write_crosses_nothing() -> None:
    legacy = Legacy()
    legacy.written[WELL] = {"status": 3}

    outcome = legacy.run(_row(1, oil_rate_bopd=Decimal("500.000")), Phase.DITTO_PRIMARY)

    assert _rate(_patch(outcome)) == Decimal("500.000")
    assert legacy.found == []


def test_legacy_wins_a_crossing_column_and_its_echo_writes_it_back_into_the_row() -> None:
    legacy = Legacy()
    legacy.written[WELL] = {"oil_rate_bopd": 3}

    outcome = legacy.run(_row(1, oil_rate_bopd=Decimal("500.000")), Phase.DUAL_WRITE)

    assert _rate(_patch(outcome)) == Decimal("500.000")  # sent whole
    assert isinstance(outcome, Commands)
    correlation = outcome.commands[0]["headers"]["correlation-id"]
    assert legacy.marks == {WELL: {"oil_rate_bopd": correlation}}
    # Ditto applied the row edit after the twin edit (revision 3): its echo is revision 4.
    twin = TwinConflicts(legacy.marks, {})
    echo = event(
        WELL,
        "merged",
        "/",
        {"features": {"production": {"properties": {"oilRateBopd": 500}}}},
        revision=4,
        headers={"streams-origin": "legacy", "correlation-id": correlation},
    )
    restored = twin_outcome(TwinFlow(MAPPINGS), echo, known(3), {}, Phase.DUAL_WRITE, twin)
    assert isinstance(restored, Write)
    assert restored.change.columns == {"oil_rate_bopd": Decimal("500")}
    assert restored.change.revision == 4


def test_an_echo_without_a_mark_stays_an_echo() -> None:
    twin = TwinConflicts({WELL: {"oil_rate_bopd": "streams:other"}}, {})
    echo = _twin_edit(**{"streams-origin": "legacy", "correlation-id": "streams:x"})
    outcome = twin_outcome(TwinFlow(MAPPINGS), echo, known(3), {}, Phase.DUAL_WRITE, twin)
    assert isinstance(outcome, TwinSkipped)
    assert outcome.kind == "echo"


def test_a_later_row_edit_of_a_marked_column_removes_the_mark() -> None:
    legacy = Legacy()
    legacy.written[WELL] = {"oil_rate_bopd": 3}
    legacy.run(_row(1, oil_rate_bopd=Decimal("500.000")), Phase.DUAL_WRITE)

    legacy.run(_row(2, oil_rate_bopd=Decimal("510.000"), twin_revision=3), Phase.DUAL_WRITE)

    assert legacy.marks == {WELL: {}}


def test_the_way_back_remembers_the_columns_it_sent_by_revision() -> None:
    twin = TwinConflicts({}, {})
    outcome = twin_outcome(TwinFlow(MAPPINGS), _twin_edit(7), known(3), {}, Phase.DUAL_WRITE)
    twin.remember(outcome)
    assert twin.written == {WELL: {"oil_rate_bopd": 7}}
