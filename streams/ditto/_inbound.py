"""What Ditto sends back: twin events (for the reverse direction) and command replies."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from streams.cdc import parse_timestamp
from streams.ditto._topic import Topic, parse_topic
from streams.errors import DecodeError

# Never kept, so never logged (Ditto < 3.9 copied it into events, ditto.md §1.3).
_DROPPED_HEADERS = frozenset({"authorization", "cookie"})


class EventAction(StrEnum):
    CREATED = "created"
    MODIFIED = "modified"
    MERGED = "merged"
    DELETED = "deleted"


class Resource(StrEnum):
    """What part of a thing an event path names."""

    THING = "thing"
    POLICY_ID = "policyId"
    DEFINITION = "definition"
    ATTRIBUTES = "attributes"
    ATTRIBUTE = "attribute"
    FEATURES = "features"
    FEATURE = "feature"
    FEATURE_DEFINITION = "featureDefinition"
    PROPERTIES = "properties"
    PROPERTY = "property"
    DESIRED_PROPERTIES = "desiredProperties"
    DESIRED_PROPERTY = "desiredProperty"


def headers_of(raw: Any) -> dict[str, Any]:
    """Envelope headers with lower-cased names (Ditto's are case-insensitive)."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise DecodeError("Ditto Protocol headers must be a JSON object")
    return {str(k).lower(): v for k, v in raw.items() if str(k).lower() not in _DROPPED_HEADERS}


def _segments(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.strip("/").split("/") if p]


def classify(path: str) -> tuple[Resource, str | None]:
    """A thing-relative JSON pointer -> (resource, feature id or None)."""
    parts = _segments(path)
    if not parts:
        return Resource.THING, None
    head, depth = parts[0], len(parts)
    if head in ("policyId", "definition") and depth == 1:
        return Resource(head), None
    if head == "attributes":
        return (Resource.ATTRIBUTES if depth == 1 else Resource.ATTRIBUTE), None
    if head == "features":
        return _feature_resource(parts)
    raise DecodeError(f"event path {path!r} names no part of a thing")


_FEATURE_PARTS = {
    "definition": (Resource.FEATURE_DEFINITION, Resource.FEATURE_DEFINITION),
    "properties": (Resource.PROPERTIES, Resource.PROPERTY),
    "desiredProperties": (Resource.DESIRED_PROPERTIES, Resource.DESIRED_PROPERTY),
}


def _feature_resource(parts: list[str]) -> tuple[Resource, str | None]:
    if len(parts) == 1:
        return Resource.FEATURES, None
    if len(parts) == 2:
        return Resource.FEATURE, parts[1]
    if parts[2] not in _FEATURE_PARTS:
        raise DecodeError(f"event path /{'/'.join(parts)} names no part of a feature")
    whole, inner = _FEATURE_PARTS[parts[2]]
    return (whole if len(parts) == 3 else inner), parts[1]


@dataclass(frozen=True, slots=True)
class TwinChange:
    """One persisted twin event: what changed, where, at which revision."""

    thing_id: str
    action: EventAction
    path: str
    resource: Resource
    feature_id: str | None
    value: Any  # the new value (created/modified), the patch (merged), None (deleted)
    has_value: bool
    revision: int
    timestamp: datetime | None
    headers: Mapping[str, Any]

    def header(self, name: str) -> Any:
        return self.headers.get(name.lower())


# Ditto counts revisions in a Java long, and the sink stores them in a bigint: a number
# beyond it is no revision Ditto made, and letting it through would move the revision
# gate past every real event of the thing.
MAX_REVISION = 2**63 - 1


def revision_of(raw: Any, what: str) -> int:
    """`raw` as a revision (0 .. MAX_REVISION), or a DecodeError naming `what`."""
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= MAX_REVISION:
        return raw
    raise DecodeError(
        f"{what} must be an integer from 0 to {MAX_REVISION} (a Java long), got {raw!r}"
    )


def _path(raw: Any) -> str:
    if isinstance(raw, str) and raw.startswith("/"):
        return raw
    raise DecodeError(f"Ditto Protocol path must be a JSON pointer, got {raw!r}")


def _event_action(topic: Topic) -> EventAction:
    known = {a.value for a in EventAction}
    if topic.criterion == "events" and topic.action in known:
        return EventAction(topic.action)
    raise DecodeError(
        f"topic {topic.thing_id} {topic.criterion}/{topic.action} is not a twin event"
    )


def parse_event(message: Mapping[str, Any]) -> TwinChange:
    """A twin event envelope -> TwinChange, or a DecodeError saying what is wrong."""
    topic = parse_topic(message.get("topic"))
    action = _event_action(topic)
    path = _path(message.get("path"))
    resource, feature_id = classify(path)
    stamp = message.get("timestamp")
    return TwinChange(
        thing_id=topic.thing_id,
        action=action,
        path=path,
        resource=resource,
        feature_id=feature_id,
        value=message.get("value"),
        has_value="value" in message,
        revision=revision_of(message.get("revision"), "event revision"),
        timestamp=None
        if stamp is None
        else parse_timestamp(stamp, "event timestamp", truncate=True),
        headers=headers_of(message.get("headers")),
    )


@dataclass(frozen=True, slots=True)
class Reply:
    """A command response or error from the reply topic."""

    thing_id: str
    action: str | None  # the command's action (modify, merge, delete); None for errors
    status: int
    correlation_id: str | None
    error: str | None
    message: str | None
    description: str | None
    headers: Mapping[str, Any]

    @property
    def ok(self) -> bool:
        """2xx, and 412 (a skipped conditional write), as Ditto itself counts them."""
        return 200 <= self.status < 300 or self.status == 412


def _status(message: Mapping[str, Any]) -> int:
    value = message.get("value")
    raw = message.get("status", value.get("status") if isinstance(value, Mapping) else None)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise DecodeError(f"a Ditto reply without an integer status: {raw!r}")


def parse_reply(message: Mapping[str, Any]) -> Reply:
    """A response (`…/commands/<action>` with status) or error (`…/errors`)."""
    topic = parse_topic(message.get("topic"))
    if topic.criterion not in ("commands", "errors"):
        raise DecodeError(f"topic {message.get('topic')!r} is not a reply")
    headers = headers_of(message.get("headers"))
    value = message.get("value")
    body: Mapping[str, Any] = (
        value if topic.criterion == "errors" and isinstance(value, Mapping) else {}
    )
    return Reply(
        thing_id=topic.thing_id,
        action=topic.action if topic.criterion == "commands" else None,
        status=_status(message),
        correlation_id=_correlation_id(headers),
        error=_text_or_none(body.get("error")),
        message=_text_or_none(body.get("message")),
        description=_text_or_none(body.get("description")),
        headers=headers,
    )


def _correlation_id(headers: Mapping[str, Any]) -> str | None:
    """Ours are text; any other value can pair with no command we sent."""
    found = headers.get("correlation-id")
    if found is None or isinstance(found, str):
        return found
    raise DecodeError(f"a Ditto reply's correlation-id must be text, got {found!r}")


def _text_or_none(value: Any) -> str | None:
    # Ditto's error fields are text; other JSON is kept readable rather than lost.
    return None if value is None else str(value)


def parse_inbound(message: Mapping[str, Any]) -> TwinChange | Reply:
    """Dispatch on the topic's criterion."""
    topic = parse_topic(message.get("topic"))
    return parse_event(message) if topic.criterion == "events" else parse_reply(message)


__all__ = [
    "MAX_REVISION",
    "EventAction",
    "Reply",
    "Resource",
    "TwinChange",
    "classify",
    "headers_of",
    "parse_event",
    "parse_inbound",
    "parse_reply",
    "revision_of",
]
