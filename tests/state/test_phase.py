"""The migration phases: direction, winner, allowed steps and the phase record (pure)."""

from __future__ import annotations

import pytest

from streams.errors import HeldByPhaseError, PhaseError, dead_letter_headers
from streams.state.phase import (
    DEFAULT_PHASE,
    Direction,
    Phase,
    PhaseRecord,
    Side,
    Timeline,
    allowed_steps,
    check_direction,
    check_step,
    current_phase,
    describe,
    latest,
    parse_phase,
    rules,
)

L2D, D2L = Direction.LEGACY_TO_DITTO, Direction.DITTO_TO_LEGACY


@pytest.mark.parametrize(
    ("phase", "legacy_to_ditto", "ditto_to_legacy", "winner"),
    [
        (Phase.LEGACY_PRIMARY, True, False, Side.LEGACY),
        (Phase.DUAL_WRITE, True, True, Side.LEGACY),
        (Phase.DITTO_PRIMARY, True, True, Side.DITTO),
        (Phase.CUTOVER, False, True, Side.DITTO),
    ],
)
def test_each_phase_syncs_its_directions_and_names_its_winner(
    phase: Phase, legacy_to_ditto: bool, ditto_to_legacy: bool, winner: Side
) -> None:
    rule = rules(phase)
    assert (rule.legacy_to_ditto, rule.ditto_to_legacy, rule.winner) == (
        legacy_to_ditto,
        ditto_to_legacy,
        winner,
    )


def test_a_held_direction_is_a_dead_letter_that_names_the_phase() -> None:
    with pytest.raises(HeldByPhaseError) as caught:
        check_direction(Phase.CUTOVER, L2D, "the change of the wells row of acme:well-a")
    assert caught.value.phase == "cutover"
    assert "ditto-primary" in str(caught.value)  # names the way back
    headers = dict(
        dead_letter_headers(
            caught.value, topic="t", partition=0, offset=1, mapping=None, timestamp_ms=0
        )
    )
    assert headers["streams.dlq.stage"] == b"phase"
    assert headers["streams.dlq.phase"] == b"cutover"
    assert headers["streams.dlq.error.class"] == b"HeldByPhaseError"


def test_a_twin_edit_in_legacy_primary_is_held() -> None:
    with pytest.raises(HeldByPhaseError, match="legacy-primary does not sync Ditto -> legacy"):
        check_direction(Phase.LEGACY_PRIMARY, D2L, "the twin edit of acme:well-a")
    check_direction(Phase.LEGACY_PRIMARY, L2D, "a row change")  # passes


@pytest.mark.parametrize(
    ("current", "steps"),
    [
        (Phase.LEGACY_PRIMARY, (Phase.DUAL_WRITE,)),
        (Phase.DUAL_WRITE, (Phase.DITTO_PRIMARY, Phase.LEGACY_PRIMARY)),
        (Phase.DITTO_PRIMARY, (Phase.CUTOVER, Phase.DUAL_WRITE)),
        (Phase.CUTOVER, (Phase.DITTO_PRIMARY,)),
    ],
)
def test_a_phase_moves_one_step_forward_or_back(current: Phase, steps: tuple[Phase]) -> None:
    assert allowed_steps(current) == steps
    for step in steps:
        check_step(current, step)


def test_a_jump_is_refused_naming_the_allowed_steps_unless_forced() -> None:
    with pytest.raises(PhaseError) as caught:
        check_step(Phase.LEGACY_PRIMARY, Phase.CUTOVER)
    assert "go to dual-write" in str(caught.value)
    assert "--force" in str(caught.value)
    check_step(Phase.LEGACY_PRIMARY, Phase.CUTOVER, force=True)


def test_setting_the_phase_in_force_again_is_refused() -> None:
    with pytest.raises(PhaseError, match="already dual-write"):
        check_step(Phase.DUAL_WRITE, Phase.DUAL_WRITE)


def test_an_unknown_phase_names_the_phases() -> None:
    with pytest.raises(PhaseError, match="legacy-primary, dual-write, ditto-primary, cutover"):
        parse_phase("migrated")


def test_a_record_round_trips_and_the_last_one_is_in_force() -> None:
    first = PhaseRecord(Phase.DITTO_PRIMARY, Phase.DUAL_WRITE, "2026-01-01T00:00:00Z", "ops@a")
    second = PhaseRecord(
        Phase.DUAL_WRITE, Phase.DITTO_PRIMARY, "2026-01-02T00:00:00Z", "ops@b", "sink dead letters"
    )
    assert PhaseRecord.from_json(second.to_json()) == second
    assert latest([first, second]) == second
    assert current_phase(latest([])) is DEFAULT_PHASE is Phase.DUAL_WRITE


@pytest.mark.parametrize(
    "data", [b"not json", b"[]", b'{"phase": "done", "set_at": "x"}', b'{"phase": "cutover"}']
)
def test_a_bad_record_is_a_phase_error(data: bytes) -> None:
    with pytest.raises(PhaseError, match="not a phase record"):
        PhaseRecord.from_json(data)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b'{"phase": "cutover", "previous": "ditto-primary"}', "field 'set_at' is missing"),
        (b'{"phase": "cutover", "set_at": "yesterday"}', "yesterday"),
        (b'{"phase": "cutover", "set_at": "2026-01-01T00:00:00"}', "has no time zone"),
        (b'{"phase": "cutover", "set_at": "2099-01-01T00:00:00Z"}', "lies in the future"),
        (b'{"phase": "cutover", "set_at": "2026-01-01T00:00:00Z", "forced": "yes"}', "bool"),
        (b'{"phase": "cutover", "set_at": "2026-01-01T00:00:00Z", "reason": {}}', "str"),
    ],
)
def test_a_record_not_written_by_phase_set_is_refused_with_its_fault(
    data: bytes, says: str
) -> None:
    with pytest.raises(PhaseError, match=says):
        PhaseRecord.from_json(data)


def test_describe_says_what_each_direction_does() -> None:
    assert describe(Phase.CUTOVER) == (
        "legacy -> Ditto: held: each change is a dead letter (stage phase)",
        "Ditto -> legacy: twin edits are written to rows",
        "conflict: ditto wins",
    )


def _set(phase: Phase, previous: Phase, at: str) -> PhaseRecord:
    return PhaseRecord(phase, previous, at, "ops")


def test_a_timeline_says_which_phase_was_in_force_when() -> None:
    timeline = Timeline(
        (
            _set(Phase.DITTO_PRIMARY, Phase.DUAL_WRITE, "2026-01-01T10:00:00.000Z"),
            _set(Phase.CUTOVER, Phase.DITTO_PRIMARY, "2026-01-01T11:00:00.000Z"),
        )
    )
    ten, half_past_ten = 1767261600000, 1767263400000
    assert timeline.at(ten - 1) is Phase.DUAL_WRITE  # before every record: the first's previous
    assert timeline.at(ten) is Phase.DITTO_PRIMARY
    assert timeline.at(half_past_ten) is Phase.DITTO_PRIMARY
    assert timeline.at(half_past_ten + 3_600_000) is Phase.CUTOVER
    assert timeline.at(None) is timeline.now() is Phase.CUTOVER
    assert Timeline(default=Phase.LEGACY_PRIMARY).at(ten) is Phase.LEGACY_PRIMARY
