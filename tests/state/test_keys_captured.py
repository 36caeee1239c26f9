"""The per-key decisions over the real connector's record stream, then its replay."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from streams.cdc import Decoder, RowChange, Tombstone
from streams.errors import MappingError
from streams.mapping import dumps, parse_mapping
from streams.state import Emit, KeyState, NoChange, decide
from tests.cdc.captured import captured

GAUGES = parse_mapping(
    """
table = "gauges"
kind = "gauge"
key = ["id"]
tenant = "acme"
definition = "{models_url}/gauge-1.0.0.tm.jsonld"

[columns.id]
path = "attributes/id"
type = "integer"
[columns.label]
path = "attributes/label"
type = "text"
[columns.notes]
path = "attributes/notes"
type = "text"
[columns.status]
path = "features/state/properties/status"
type = "text"
[columns.fixed_num]
path = "features/readings/properties/fixed"
type = "numeric"
scale = 3
[columns.free_num]
path = "features/readings/properties/free"
type = "numeric"
[columns.tstz]
path = "features/readings/properties/at"
type = "timestamptz"
[columns.day]
path = "features/readings/properties/day"
type = "date"
""",
    "gauges.toml",
)
STREAM = [
    "r-first",
    "r",
    "r-last-toasted-row",
    "c",
    "u",
    "u-toast",
    "pk-change-d",
    "pk-change-tombstone",
    "pk-change-c",
    "d",
    "tombstone",
]
decoder = Decoder({"gauges": GAUGES.column_types})


def run(
    case: str, states: dict[str, KeyState], labels: list[str] = STREAM, shift: int = 0
) -> list[tuple[str, str, Any]]:
    """(label, outcome, command or reason) for every record; `shift` moves the offsets
    as a connector that re-sends its events after a restart would."""
    seen = []
    for label in labels:
        record = captured(case, label)
        change = decoder.decode(replace(record, offset=record.offset + shift))
        assert isinstance(change, RowChange | Tombstone)
        key = str(change.key["id"])
        decision = decide(states.get(key), change, GAUGES, models_url="http://m")
        if isinstance(decision, Emit):
            states[key] = decision.state
            seen.append((label, "emit", json.loads(dumps(decision.commands[0]))))
        elif isinstance(decision, NoChange):
            states[key] = decision.state
            seen.append((label, "nochange", decision.reason))
        else:
            seen.append((label, "duplicate", decision.reason))
    return seen


def action(command: dict[str, Any]) -> str:
    topic: str = command["topic"]
    return topic.split("/")[0] + ":" + topic.split("/")[1] + " " + topic.rsplit("/", 1)[1]


@pytest.mark.parametrize("case", ["envelope-schemas", "envelope-plain"])
def test_stream_gives_one_command_per_change_and_its_replay_none(case: str) -> None:
    states: dict[str, KeyState] = {}
    first = run(case, states)
    emitted = [(label, action(cmd)) for label, kind, cmd in first if kind == "emit"]
    assert emitted == [
        ("r-first", "acme:gauge-1 modify"),
        ("r", "acme:gauge-5 modify"),
        ("r-last-toasted-row", "acme:gauge-2 modify"),
        ("c", "acme:gauge-3 modify"),
        ("u", "acme:gauge-3 merge"),
        ("u-toast", "acme:gauge-2 merge"),
        ("pk-change-d", "acme:gauge-3 delete"),
        ("pk-change-c", "acme:gauge-4 modify"),  # same LSN as the delete, other key
        ("d", "acme:gauge-4 delete"),
    ]
    skipped = {label: kind for label, kind, _ in first if kind != "emit"}
    assert skipped == {"pk-change-tombstone": "duplicate", "tombstone": "duplicate"}
    commands = {label: cmd for label, kind, cmd in first if kind == "emit"}
    assert commands["u"]["value"] == {
        "attributes": {"label": "Gauge 3 renamed"},
        "features": {"readings": {"properties": {"fixed": 99.999}}},
    }
    # The TOASTed note is not in the patch, and the stored image keeps it.
    assert commands["u-toast"]["value"] == {"attributes": {"label": "Long note untouched"}}
    image = states["2"].image
    assert image is not None and len(json.loads(image["notes"])) == 4000
    # A worker restart before its offsets were committed: Kafka sends it all again.
    assert {kind for _, kind, _ in run(case, states)} == {"duplicate"}
    # A connector restart re-sends the streamed events as new records (same LSNs).
    again = run(case, states, STREAM[3:], shift=1000)
    assert [label for label, kind, _ in again if kind == "emit"] == []


def test_truncate_is_a_dead_letter_that_says_what_to_do() -> None:
    change = decoder.decode(captured("envelope-schemas", "t"))
    assert isinstance(change, RowChange)
    with pytest.raises(MappingError, match="re-snapshot"):
        decide(None, change, GAUGES, models_url="http://m")


def test_flattened_stream_without_lsn_still_diffs_updates() -> None:
    states: dict[str, KeyState] = {}
    labels = ["r-first", "c", "u", "u-toast"]
    outcomes = []
    for label in labels:
        change = decoder.decode(captured("flattened-schemas", label))
        assert isinstance(change, RowChange)
        key = str(change.key["id"])
        decision = decide(states.get(key), change, GAUGES, models_url="http://m")
        assert isinstance(decision, Emit)
        states[key] = decision.state
        outcomes.append(json.loads(dumps(decision.commands[0])))
    assert outcomes[2]["value"] == {
        "attributes": {"label": "Gauge 3 renamed"},
        "features": {"readings": {"properties": {"fixed": 99.999}}},
    }
    # u-toast is the first event of key 2 here: no image, so every known column goes.
    assert "notes" not in outcomes[3]["value"]["attributes"]


def test_flattened_default_mode_deletes_through_the_null_payload() -> None:
    states: dict[str, KeyState] = {}
    labels = ["r-first", "c", "u", "pk-change-d", "pk-change-c", "d"]
    seen = run("flattened-delete-default", states, labels)
    assert [(label, action(cmd)) for label, kind, cmd in seen if kind == "emit"] == [
        ("r-first", "acme:gauge-1 modify"),
        ("c", "acme:gauge-3 modify"),
        ("u", "acme:gauge-3 merge"),
        ("pk-change-d", "acme:gauge-3 delete"),
        ("pk-change-c", "acme:gauge-4 modify"),
        ("d", "acme:gauge-4 delete"),
    ]
    assert {kind for _, kind, _ in run("flattened-delete-default", states, labels)} == {"duplicate"}
