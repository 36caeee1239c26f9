"""Ditto Protocol commands we send, and events and replies we read."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from streams.ditto import protocol as p
from streams.errors import DecodeError

THING = {
    "thingId": "acme:well-mor-001",
    "policyId": "acme:default-policy",
    "attributes": {"type": "WELL"},
    "features": {},
}
SOURCE = p.SourcePosition(
    "legacy.public.wells[2]@41", lsn=27561208, tx_id=90877, ts_ms=1714600000000
)


def test_headers_carry_correlation_origin_and_source_position() -> None:
    headers = p.command_headers(SOURCE)
    assert headers == {
        "correlation-id": "streams:legacy.public.wells[2]@41",
        "response-required": True,
        "streams-origin": "legacy",
        "streams-source": "legacy.public.wells[2]@41",
        "streams-source-lsn": "27561208",
        "streams-source-tx": "90877",
        "streams-source-ts-ms": "1714600000000",
    }
    # A tombstone has no source block: no position headers, never a "None" string.
    bare = p.command_headers(p.SourcePosition("t[0]@1"), index=1)
    assert "streams-source-lsn" not in bare and bare["correlation-id"] == "streams:t[0]@1#1"


def test_modify_command_carries_the_whole_thing() -> None:
    command = p.modify_thing(THING, p.command_headers(SOURCE))
    assert command["topic"] == "acme/well-mor-001/things/twin/commands/modify"
    assert command["path"] == "/" and command["value"] == THING
    assert "content-type" not in command["headers"]


def test_merge_command_has_the_content_type_inside_the_envelope() -> None:
    patch = {"features": {"production": {"properties": {"oilRateBopd": Decimal("460.000")}}}}
    command = p.merge_thing("acme:well-mor-001", patch, p.command_headers(SOURCE))
    assert command["topic"] == "acme/well-mor-001/things/twin/commands/merge"
    assert command["headers"]["content-type"] == "application/merge-patch+json"
    # Never let a merge create a twin of only the changed paths (see merge_thing).
    assert command["headers"]["if-match"] == "*"
    encoded = p.encode(command)
    assert b'"oilRateBopd":460}' in encoded
    assert json.loads(encoded)["headers"]["content-type"] == "application/merge-patch+json"


def test_delete_command_has_no_value() -> None:
    command = p.delete_thing("acme:well-15-9-f-1-c", p.command_headers(SOURCE))
    assert command["topic"] == "acme/well-15-9-f-1-c/things/twin/commands/delete"
    assert "value" not in command and command["path"] == "/"
    assert p.thing_id_of(command) == "acme:well-15-9-f-1-c"


def event(action: str, path: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    message = {
        "topic": f"acme/well-mor-001/things/twin/events/{action}",
        "path": path,
        "revision": 18,
        "timestamp": "2026-03-02T10:15:04.123Z",
        "headers": {
            "Correlation-ID": "c-1",
            "Authorization": "Basic c2VjcmV0",
            "streams-origin": "legacy",
        },
        **extra,
    }
    if value is not None:
        message["value"] = value
    return message


@pytest.mark.parametrize(
    ("path", "resource", "feature"),
    [
        ("/", p.Resource.THING, None),
        ("/policyId", p.Resource.POLICY_ID, None),
        ("/definition", p.Resource.DEFINITION, None),
        ("/attributes", p.Resource.ATTRIBUTES, None),
        ("/attributes/location/lat", p.Resource.ATTRIBUTE, None),
        ("/features", p.Resource.FEATURES, None),
        ("/features/production", p.Resource.FEATURE, "production"),
        ("/features/production/definition", p.Resource.FEATURE_DEFINITION, "production"),
        ("/features/production/properties", p.Resource.PROPERTIES, "production"),
        ("/features/production/properties/oilRateBopd", p.Resource.PROPERTY, "production"),
        ("/features/f~1x/desiredProperties/a", p.Resource.DESIRED_PROPERTY, "f/x"),
    ],
)
def test_event_paths_are_classified(path: str, resource: p.Resource, feature: str | None) -> None:
    change = p.parse_event(event("modified", path, 1))
    assert (change.resource, change.feature_id, change.path) == (resource, feature, path)


@pytest.mark.parametrize("action", ["created", "modified", "merged", "deleted"])
def test_event_fields(action: str) -> None:
    value = None if action == "deleted" else {"oilRateBopd": 312.5}
    raw = json.dumps(event(action, "/features/production/properties", value))
    change = p.parse_event(p.decode(raw))
    assert change.thing_id == "acme:well-mor-001"
    assert change.action is p.EventAction(action)
    assert change.revision == 18
    assert change.timestamp == datetime(2026, 3, 2, 10, 15, 4, 123000, tzinfo=UTC)
    assert change.has_value is (action != "deleted")
    if value is not None:
        assert change.value == {"oilRateBopd": Decimal("312.5")}  # exact, not a float
    # Header names are case-insensitive; credentials are never kept.
    assert change.header("correlation-id") == "c-1"
    assert change.header("STREAMS-ORIGIN") == "legacy"
    assert "authorization" not in change.headers


@pytest.mark.parametrize(
    ("message", "words"),
    [
        (event("modified", "/", {}, revision="18"), "revision"),
        (event("modified", "/", {}, revision=None), "revision"),
        (event("modified", "/", {}, revision=10**30), "from 0 to 9223372036854775807"),
        (event("modified", "/", {}, revision=2**63), "a Java long"),
        (event("modified", "/", {}, revision=-1), "revision"),
        (event("modified", "/nowhere", {}), "names no part"),
        (event("modified", "/features/f/junk", {}), "no part of a feature"),
        (event("modified", "attributes", {}), "JSON pointer"),
        ({**event("modified", "/", {}), "topic": "acme/w/things/live/events/modified"}, "live"),
        (
            {**event("modified", "/", {}), "topic": "acme/w/things/twin/events/exploded"},
            "not a twin event",
        ),
        ({"path": "/"}, "without a topic"),
        (
            {**event("modified", "/", {}), "topic": "acme/w/policies/commands/modify"},
            "not a things topic",
        ),
    ],
)
def test_bad_events_say_what_is_wrong(message: dict[str, Any], words: str) -> None:
    with pytest.raises(DecodeError, match=words):
        p.parse_event(message)


def test_the_largest_java_long_is_a_revision() -> None:
    assert p.parse_event(event("modified", "/", {}, revision=2**63 - 1)).revision == 2**63 - 1


def test_decode_rejects_non_objects() -> None:
    with pytest.raises(DecodeError, match="JSON object"):
        p.decode(b"[1]")
    with pytest.raises(DecodeError, match="not a JSON"):
        p.decode(b"{")


def test_success_reply() -> None:
    reply = p.parse_reply(
        {
            "topic": "acme/well-mor-001/things/twin/commands/merge",
            "headers": {"correlation-id": "c-1", "entity-revision": "18"},
            "path": "/",
            "status": 204,
        }
    )
    assert (reply.thing_id, reply.action, reply.status, reply.ok) == (
        "acme:well-mor-001",
        "merge",
        204,
        True,
    )
    assert reply.correlation_id == "c-1" and reply.error is None


def test_error_reply() -> None:
    message = {
        "topic": "acme/well-mor-001/things/twin/errors",
        "headers": {"correlation-id": "c-2"},
        "path": "/",
        "status": 415,
        "value": {
            "status": 415,
            "error": "mediatype.unsupported",
            "message": "The Media-Type is not supported.",
            "description": "Use application/merge-patch+json.",
        },
    }
    reply = p.parse_inbound(message)
    assert isinstance(reply, p.Reply)
    assert (reply.status, reply.ok, reply.error, reply.action) == (
        415,
        False,
        "mediatype.unsupported",
        None,
    )
    assert reply.message == "The Media-Type is not supported."
    assert reply.description == "Use application/merge-patch+json."


def test_a_skipped_conditional_write_counts_as_ok() -> None:
    reply = p.parse_reply(
        {
            "topic": "acme/w/things/twin/errors",
            "headers": {},
            "value": {"status": 412, "error": "things:precondition.failed"},
        }
    )
    assert reply.status == 412 and reply.ok


def test_a_reply_whose_correlation_id_is_not_text_is_rejected() -> None:
    with pytest.raises(DecodeError, match="correlation-id must be text"):
        p.parse_reply(
            {
                "topic": "acme/w/things/twin/commands/modify",
                "headers": {"correlation-id": {"a": 1}},
                "status": 204,
            }
        )


def test_an_error_replys_fields_are_text_whatever_json_they_were() -> None:
    reply = p.parse_reply(
        {
            "topic": "acme/w/things/twin/errors",
            "headers": {"correlation-id": "c-1"},
            "value": {"status": 400, "error": 7, "message": {"m": 1}, "description": None},
        }
    )
    assert (reply.error, reply.message, reply.description) == ("7", "{'m': 1}", None)


def test_reply_without_status_is_rejected() -> None:
    with pytest.raises(DecodeError, match="status"):
        p.parse_reply({"topic": "acme/w/things/twin/commands/modify", "headers": {}})


def test_inbound_dispatch() -> None:
    assert isinstance(p.parse_inbound(event("deleted", "/")), p.TwinChange)


def test_event_timestamp_in_nanoseconds_is_cut_to_microseconds() -> None:
    """Ditto's Java clock stamps events to the nanosecond; the stamp only feeds metrics."""
    change = p.parse_event(event("modified", "/", {}, timestamp="2026-12-04T15:53:15.473690997Z"))
    assert change.timestamp == datetime(2026, 12, 4, 15, 53, 15, 473690, tzinfo=UTC)
