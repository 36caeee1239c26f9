"""`streams map --table wells` as a library call: lines in, command lines out."""

from __future__ import annotations

import json
from typing import Any

from streams.ops.map_dry_run import DryRun, dry_run
from tests.cdc.captured import FIXTURES
from tests.mapping.rows import MODELS_URL, mapping

SYNC = "ditto_streams_sink"

ROW = {
    "tenant": "acme",
    "well_code": "MOR-001",
    "name": "MOR-001",
    "api_number": "VE-12345",
    "well_type": "PRODUCER",
    "lift_method": "ESP",
    "tubing_size": 2.875,
    "casing_size": 7.0,
    "oil_rate_bopd": 450,
    "gas_rate_mscfd": 850,
    "water_rate_bwpd": 120,
    "status": "PRODUCING",
    "last_update": "2026-01-10T12:00:00Z",
}


def run(*lines: str) -> list[dict[str, Any]]:
    out = dry_run(lines, mapping("wells"), models_url=MODELS_URL, sync_origin=SYNC)
    return [json.loads(line) for line in out]


def envelope(
    op: str, after: dict[str, Any] | None, lsn: int, before: dict[str, Any] | None = None
) -> str:
    return json.dumps(
        {
            "before": before,
            "after": after,
            "op": op,
            "ts_ms": 1,
            "source": {"lsn": lsn, "txId": 4, "ts_ms": 1, "table": "wells"},
        }
    )


def test_plain_row_gives_the_whole_twin() -> None:
    [command] = run(json.dumps(ROW))
    assert command["topic"] == "acme/well-mor-001/things/twin/commands/modify"
    assert command["value"]["features"]["completion"]["properties"]["tubingSize"] == 2.875


def test_events_keep_state_between_lines() -> None:
    updated = {**ROW, "oil_rate_bopd": 460}
    key = {"tenant": "acme", "well_code": "MOR-001"}
    out = run(
        envelope("c", ROW, 10),
        envelope("u", updated, 20),
        envelope("u", updated, 20),
        envelope("d", None, 30, before=key),
    )
    assert [o.get("topic", "").rsplit("/", 1)[-1] for o in out] == ["modify", "merge", "", "delete"]
    assert out[1]["value"] == {"features": {"production": {"properties": {"oilRateBopd": 460}}}}
    assert out[2]["line"] == 3 and out[2]["skipped"] == "duplicate"
    assert "lsn 20 <= stored lsn 20" in out[2]["reason"]


def test_delete_needs_the_key_from_somewhere() -> None:
    keyed = json.dumps(
        {"key": {"tenant": "acme", "well_code": "MOR-001"}, "value": envelope("d", None, 30)}
    )
    assert run(keyed)[0]["topic"].endswith("/commands/delete")
    [error] = run(envelope("d", None, 30))
    assert error["error"] == "MappingError" and "well_code" in error["message"]


def test_bad_lines_are_error_lines_and_the_run_goes_on() -> None:
    out = run("not json", "", json.dumps({**ROW, "well_code": "Привет"}), json.dumps(ROW))
    assert out[0] == {
        "line": 1,
        "error": "DecodeError",
        "stage": "decode",
        "message": out[0]["message"],
    }
    assert out[1]["line"] == 3 and out[1]["error"] == "ThingIdError"
    assert out[2]["topic"].endswith("/modify")


def test_a_line_nested_too_deep_is_an_error_line_and_the_run_goes_on() -> None:
    deep_record = json.dumps({"key": None, "value": "[" * 3000 + "]" * 3000})
    out = run("[" * 100_000 + "]" * 100_000, deep_record, json.dumps(ROW))
    assert [(e["line"], e["stage"]) for e in out[:2]] == [(1, "decode"), (2, "decode")]
    assert all("nests too deep" in e["message"] for e in out[:2])
    assert out[2]["topic"].endswith("/modify")


def test_a_line_not_utf8_is_an_error_line_and_the_run_goes_on() -> None:
    bad = json.dumps(ROW).encode().replace(b"MOR-001", b"MOR-\xff01", 1)
    runner = DryRun(mapping("wells"), models_url=MODELS_URL, sync_origin=SYNC)
    # As bytes (what `streams map` reads) and as text decoded with surrogateescape.
    out = [
        json.loads(line)
        for line in runner.run(
            [bad, bad.decode(errors="surrogateescape"), json.dumps(ROW).encode()]
        )
    ]
    assert [(e["line"], e["stage"]) for e in out[:2]] == [(1, "decode"), (2, "decode")]
    assert all("line" in e["message"] and "not UTF-8" in e["message"] for e in out[:2])
    assert out[2]["topic"].endswith("/modify")
    assert runner.failed == 2


def test_other_table_is_refused() -> None:
    other = json.dumps(
        {"before": None, "after": {"code": "X"}, "op": "c", "source": {"table": "basins", "lsn": 1}}
    )
    [error] = run(other)
    assert "no mapping for table 'basins'" in error["message"]


def test_a_captured_record_file_can_be_fed_as_is() -> None:
    record = json.loads((FIXTURES / "envelope-schemas" / "heartbeat.json").read_text())
    [skip] = run(json.dumps(record))
    assert skip == {"line": 1, "skipped": "not-a-row", "reason": "Heartbeat"}


def test_an_echo_of_the_sinks_own_write_sends_nothing() -> None:
    echo = json.loads(envelope("c", ROW, 10))
    echo["source"]["origin"] = SYNC
    [skip] = run(json.dumps(echo))
    assert skip["skipped"] == "echo"


def test_bad_record_fields_are_error_lines_and_the_run_goes_on() -> None:
    value = json.dumps(ROW)
    out = run(
        json.dumps({"key": None, "value": value, "headers": "notadict"}),
        json.dumps({"key": None, "value": value, "headers": [["only-a-name"]]}),
        json.dumps({"key": None, "value": value, "partition": "p"}),
        json.dumps({"key": None, "value": value, "offset": -1}),
        json.dumps({"key": None, "value": value, "headers": {"h": "v"}, "offset": "7"}),
    )
    assert [(e["line"], e["stage"]) for e in out[:4]] == [(n, "decode") for n in range(1, 5)]
    named = [e["message"].split(" must be ")[0] for e in out[:4]]
    assert named == ["line 1: headers", "line 2: headers", "line 3: partition", "line 4: offset"]
    assert out[4]["headers"]["streams-source"] == "dry-run.public.wells[0]@7"


def test_bad_avro_lines_are_error_lines_each_and_the_run_goes_on() -> None:
    runner = DryRun(mapping("wells"), models_url=MODELS_URL, sync_origin=SYNC, avro=True)
    lines = [
        json.dumps({"key": None, "value": "AA==", "headers": "notadict"}),
        json.dumps({"key": None, "value": "AA==", "offset": "x"}),
        json.dumps({"key": None, "value": "AA==", "partition": 1.5}),
    ]
    out = [json.loads(line) for line in runner.run(lines)]
    assert [(e["line"], e["error"], e["stage"]) for e in out] == [
        (n, "DecodeError", "decode") for n in (1, 2, 3)
    ]
    assert "headers must be an object" in out[0]["message"]
    assert runner.failed == 3


def test_a_plain_row_with_text_for_a_number_says_it_is_not_a_number() -> None:
    [error] = run(json.dumps({**ROW, "oil_rate_bopd": "abc"}))
    assert error["stage"] == "decode"
    assert "oil_rate_bopd" in error["message"] and "'abc' is not a number" in error["message"]
