"""The replay fold: one final write per twin, never a walk through old images."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from streams.cdc import CdcRecord
from streams.state.legacy_flow import Commands, LegacyFlow
from streams.state.replay_fold import (
    ReplayFold,
    TwinOp,
    apply_merge_patch,
    compose_merge_patches,
)
from tests.mapping.rows import MAPPINGS, MODELS_URL, WELL_ROW

SINK_ORIGIN = "ditto_streams_sink"
KEY = {"tenant": "acme", "well_code": "MOR-001"}
THING = "acme:well-mor-001"


def _json(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value.isoformat()


def envelope(op: str, row: dict[str, Any] | None, lsn: int, origin: str | None = None) -> bytes:
    """A Debezium envelope as the JsonConverter writes it without schemas."""
    source = {"lsn": lsn, "txId": lsn, "ts_ms": 1_700_000_000_000, "origin": origin}
    before = None if op != "d" else dict(KEY)
    value = {"before": before, "after": row, "source": source, "op": op}
    return json.dumps(value, default=_json).encode()


class History:
    """Records of one well, in topic order, run through the flow the replay runs."""

    def __init__(self, *, apply_echoes: bool = True) -> None:
        self.flow = LegacyFlow(
            MAPPINGS, models_url=MODELS_URL, sync_origin=SINK_ORIGIN, apply_echoes=apply_echoes
        )
        self.fold = ReplayFold(MAPPINGS, models_url=MODELS_URL)
        self.states: dict[str, Any] = {}
        self.owners: dict[str, str] = {}
        self.offset = 0

    def add(self, value: bytes | None) -> Any:
        self.offset += 1
        record = CdcRecord(
            key=json.dumps(KEY).encode(),
            value=value,
            topic="legacy.public.wells",
            offset=self.offset,
        )
        outcome = self.flow.process(record, self.states, self.owners)
        if isinstance(outcome, Commands):
            self.fold.add(outcome)
        return outcome


def rate(value: str) -> dict[str, Any]:
    return {**WELL_ROW, "oil_rate_bopd": Decimal(value)}


def test_create_then_updates_fold_to_one_modify_of_the_last_image() -> None:
    history = History()
    history.add(envelope("c", rate("450.000"), 100))
    history.add(envelope("u", rate("455.000"), 200))
    history.add(envelope("u", rate("460.000"), 300))
    [twin] = history.fold.twins()
    assert (twin.thing_id, twin.op) == (THING, TwinOp.MODIFY)
    assert twin.value is not None
    assert twin.value["policyId"] == "acme:default-policy"
    assert twin.value["features"]["production"]["properties"]["oilRateBopd"] == Decimal("460")
    assert twin.headers["streams-source-lsn"] == "300"
    assert twin.origin.offset == 3
    assert history.fold.counts() == {"wells": {"modify": 1}}


def test_an_update_without_its_create_still_folds_to_the_whole_twin() -> None:
    history = History()
    history.add(envelope("u", rate("455.000"), 200))
    [twin] = history.fold.twins()
    assert twin.op is TwinOp.MODIFY and twin.value is not None
    assert twin.value["thingId"] == THING and "policyId" in twin.value


def test_a_delete_after_updates_folds_to_delete_and_its_tombstone_adds_nothing() -> None:
    history = History()
    history.add(envelope("c", rate("450.000"), 100))
    history.add(envelope("d", None, 200))
    history.add(None)  # the tombstone
    [twin] = history.fold.twins()
    assert (twin.op, twin.value) == (TwinOp.DELETE, None)


def test_a_row_back_after_its_delete_folds_to_modify() -> None:
    history = History()
    history.add(envelope("c", rate("450.000"), 100))
    history.add(envelope("d", None, 200))
    history.add(envelope("c", rate("470.000"), 300))
    [twin] = history.fold.twins()
    assert twin.op is TwinOp.MODIFY


def test_a_row_the_sink_wrote_is_folded_by_replay_and_skipped_live() -> None:
    replayed, live = History(), History(apply_echoes=False)
    for history in (replayed, live):
        history.add(envelope("c", rate("450.000"), 100))
        outcome = history.add(envelope("u", rate("663.170"), 200, origin=SINK_ORIGIN))
    assert getattr(outcome, "kind", None) == "echo"  # the live worker: an echo, no command
    [twin] = replayed.fold.twins()
    assert twin.value is not None
    assert twin.value["features"]["production"]["properties"]["oilRateBopd"] == Decimal("663.17")
    [live_twin] = live.fold.twins()
    assert live_twin.value is not None
    assert live_twin.value["features"]["production"]["properties"]["oilRateBopd"] == 450


def test_a_redelivered_record_is_not_folded_twice() -> None:
    history = History()
    history.add(envelope("c", rate("450.000"), 100))
    history.add(envelope("u", rate("455.000"), 200))
    outcome = history.add(envelope("u", rate("455.000"), 200))  # same LSN again
    assert getattr(outcome, "kind", None) == "duplicate"
    assert len(history.fold) == 1


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [
        ({"a": 1, "b": {"c": 2}}, {"b": {"c": None, "d": 3}}, {"a": 1, "b": {"d": 3}}),
        ({"a": 1}, {"a": {"x": 1}}, {"a": {"x": 1}}),
        ({"a": {"x": 1}}, {"a": 2}, {"a": 2}),
        ({"a": 1}, {"b": None}, {"a": 1}),
    ],
)
def test_merge_patch_follows_rfc_7396(
    target: dict[str, Any], patch: dict[str, Any], result: dict[str, Any]
) -> None:
    assert apply_merge_patch(target, patch) == result


def test_composed_patches_do_what_both_do_in_order() -> None:
    target = {"a": 1, "b": {"c": 2, "e": 5}}
    first, then = {"b": {"c": None}, "a": 7}, {"b": {"d": 3}, "a": None}
    composed = compose_merge_patches(first, then)
    assert apply_merge_patch(target, composed) == apply_merge_patch(
        apply_merge_patch(target, first), then
    )
    assert composed == {"a": None, "b": {"c": None, "d": 3}}
