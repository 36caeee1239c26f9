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
    """Debezium's topic for a table: <topic.prefix>.<schema>.<table>, of the Avro
    connector's prefix when the worker reads Avro (cdc_format)."""
    prefix = settings.avro_topic_prefix if settings.cdc_format == "avro" else settings.topic_prefix
    return f"{prefix}.{schema}.{table}"


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
        phase_topic(settings),
    ]


def phase_topic(settings: Settings) -> TopicSpec:
    """One partition, so every record is in one order; compacted, so the phase in force
    (the last record of key "phase") is kept forever and a worker reads little at start."""
    return TopicSpec(settings.phase_topic, 1, {"cleanup.policy": "compact"})
