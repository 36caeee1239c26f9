"""Ditto Protocol topics: `{namespace}/{name}/things/twin/{criterion}[/{action}]`."""

from __future__ import annotations

from dataclasses import dataclass

from streams.errors import DecodeError


@dataclass(frozen=True, slots=True)
class Topic:
    namespace: str
    name: str
    channel: str
    criterion: str
    action: str | None

    @property
    def thing_id(self) -> str:
        return f"{self.namespace}:{self.name}"


def thing_topic(thing_id: str, criterion: str, action: str) -> str:
    namespace, sep, name = thing_id.partition(":")
    if not sep or not name:
        raise ValueError(f"thing id {thing_id!r} is not namespace:name")
    return f"{namespace}/{name}/things/twin/{criterion}/{action}"


def parse_topic(topic: object) -> Topic:
    if not isinstance(topic, str):
        raise DecodeError(f"Ditto Protocol message without a topic string: {topic!r}")
    parts = topic.split("/")
    if len(parts) not in (5, 6) or parts[2] != "things":
        raise DecodeError(f"topic {topic!r} is not a things topic of the Ditto Protocol")
    namespace, name, _, channel, criterion = parts[:5]
    if channel != "twin":
        raise DecodeError(f"topic {topic!r} is on channel {channel!r}; only twin is persisted")
    return Topic(namespace, name, channel, criterion, parts[5] if len(parts) == 6 else None)


__all__ = ["Topic", "parse_topic", "thing_topic"]
