"""Debezium's JDBC sink connector as a bench contestant, on the stack's Kafka Connect.

Registered through Connect's REST API for one run and deleted after it. Its settings are
the ones that give it our sink's guarantees: upsert by the record key (idempotent, so a
replay after a crash converges), deletes on, the table as it is (no schema evolution),
at most 500 records per flush as our agent's batches. With `unnest`, its Postgres fast
path (one INSERT ... SELECT FROM unnest(...) per flush) is on as well.
"""

from __future__ import annotations

from streams.config import Settings
from streams.stack import _connect_rest as rest

CONNECTOR_CLASS = "io.debezium.connector.jdbc.JdbcSinkConnector"
BATCH_SIZE = 500  # our sink agent's BATCH_MAX


def config(settings: Settings, topic: str, table: str, *, unnest: bool) -> dict[str, str]:
    url = f"jdbc:postgresql://{settings.pg_host}:{settings.pg_port}/{settings.pg_database}"
    return {
        "connector.class": CONNECTOR_CLASS,
        "tasks.max": "1",  # one writer, as our sink agent (concurrency 1)
        "topics": topic,
        "connection.url": url,
        "connection.username": settings.pg_user,
        "connection.password": settings.pg_password.get_secret_value(),
        "insert.mode": "upsert",
        "primary.key.mode": "record_key",
        "delete.enabled": "true",
        "schema.evolution": "none",
        "collection.name.format": table,
        "batch.size": str(BATCH_SIZE),
        "use.reduction.buffer": "true",  # as our batches: one write per key per flush
        "use.time.zone": "UTC",
        "dialect.postgres.unnest.insert.enabled": str(unnest).lower(),
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "true",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "true",
    }


def group(name: str) -> str:
    """The consumer group Connect gives a sink connector."""
    return f"connect-{name}"


def start(settings: Settings, name: str, topic: str, table: str, *, unnest: bool) -> None:
    rest.put_connector(settings.connect_url, name, config(settings, topic, table, unnest=unnest))


def failure(settings: Settings, name: str) -> str | None:
    """The first line of the trace when the connector or its task failed."""
    return rest.failure(rest.status(settings.connect_url, name))


def stop(settings: Settings, name: str) -> None:
    rest.delete_connector(settings.connect_url, name)


__all__ = ["config", "failure", "group", "start", "stop"]
