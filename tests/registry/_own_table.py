"""A table of a test's own, captured by an Avro connector of its own, and their clean-up."""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.stack import _connect_rest as rest
from streams.stack import avro
from streams.stack.postgres import OWNER_GROUP


def admin_dsn(settings: Settings) -> str:
    return (
        f"host={settings.pg_host} port={settings.pg_port} dbname={settings.pg_database} "
        f"user=postgres password={settings.pg_admin_password.get_secret_value()}"
    )


def sql(settings: Settings, *statements: str) -> None:
    with psycopg.connect(admin_dsn(settings), autocommit=True) as conn:
        conn.execute(f"SET ROLE {OWNER_GROUP}")
        for statement in statements:
            conn.execute(statement)


def mapping_dir(folder: Path, table: str) -> Path:
    text = (Path(__file__).parents[2] / "mappings" / "basins.toml").read_text()
    (folder / f"{table}.toml").write_text(text.replace('table = "basins"', f'table = "{table}"'))
    return folder


def avro_connector(settings: Settings, ident: str) -> tuple[str, dict[str, str]]:
    """The stack's Avro connector, for the table `ident` alone, under its own name, slot,
    publication and topic prefix (all `ident`)."""
    _, config = rest.load_connector(avro.CONNECTOR_FILE, settings)
    config |= {
        "topic.prefix": ident,
        "slot.name": ident,
        "publication.name": ident,
        "table.include.list": f"public.{ident}",
    }
    return f"avro-test-{ident}", config


def clean_up(settings: Settings, name: str, ident: str) -> None:
    rest.remove_connector(settings.connect_url, name)
    with psycopg.connect(admin_dsn(settings), autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while conn.execute(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = %s AND active", (ident,)
        ).fetchone():
            assert time.monotonic() < deadline, f"slot {ident} stays active"
            time.sleep(0.5)
        conn.execute(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE slot_name = %s",
            (ident,),
        )
        conn.execute(f"DROP PUBLICATION IF EXISTS {ident}")
        conn.execute(f"DROP TABLE IF EXISTS {ident}")
    admin = AdminClient({"bootstrap.servers": settings.kafka_bootstrap})
    topics = [f"{ident}.public.{ident}", f"__debezium-heartbeat.{ident}"]
    present = [t for t in topics if t in admin.list_topics(timeout=10).topics]
    for done in admin.delete_topics(present).values() if present else ():
        done.result(30)
