"""Every topic ditto-streams creates, named from the settings in one place."""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.config import Settings


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    config: dict[str, str] = field(default_factory=dict)


def cdc_topic(settings: Settings, table: str, schema: str = "public") -> str:
    """Debezium's topic for a table: <topic.prefix>.<schema>.<table>."""
    return f"{settings.topic_prefix}.{schema}.{table}"


def owned_topics(settings: Settings) -> list[TopicSpec]:
    """Topics our agents write; the CDC topics belong to Debezium and Connect creates them."""
    n = settings.topic_partitions
    return [
        TopicSpec(settings.command_topic, n),
        TopicSpec(settings.reply_topic, n),
        TopicSpec(settings.event_topic, n),
        TopicSpec(settings.sink_topic, n),
        # Dead letters are evidence: never delete them by time.
        TopicSpec(settings.dead_letter_topic, 1, {"retention.ms": "-1"}),
    ]
