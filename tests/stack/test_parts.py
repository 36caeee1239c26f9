"""Kafka and Connect parts of the stack: errors that name the fix, idempotent `up`."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.config import Settings
from streams.errors import StackError
from streams.stack import _connect_rest as rest
from streams.stack import connect, kafka
from tests.stack._topics import consumer, end_offsets


def _settings(**values: object) -> Settings:
    return Settings.model_validate(values)


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port some other process listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_busy_kafka_port_is_named_with_its_setting(tmp_path: Path, busy_port: int) -> None:
    settings = _settings(stack_dir=tmp_path, kafka_bootstrap=f"127.0.0.1:{busy_port}")
    with pytest.raises(StackError, match=f"port {busy_port} in use.*STREAMS_KAFKA_BOOTSTRAP"):
        kafka.up(settings)


def test_a_missing_java_names_the_package(tmp_path: Path) -> None:
    settings = _settings(stack_dir=tmp_path, java_home=tmp_path / "no-jdk")
    with pytest.raises(StackError, match="apt-get install openjdk-17-jre-headless"):
        kafka.up(settings)


def test_the_connector_file_is_filled_from_settings() -> None:
    settings = _settings(pg_port=6543, topic_prefix="estate", topic_partitions=3)
    name, config = rest.load_connector(connect.CONNECTOR_FILE, settings)
    assert name == "legacy-postgres"
    assert not [value for value in config.values() if "${" in value]
    assert config["database.port"] == "6543"
    assert config["topic.prefix"] == "estate"
    assert config["topic.creation.default.partitions"] == "3"
    assert config["plugin.name"] == "pgoutput"
    assert config["value.converter.replace.null.with.default"] == "false"


def test_an_unknown_placeholder_is_an_error(tmp_path: Path) -> None:
    spec = tmp_path / "c.json"
    spec.write_text(json.dumps({"name": "c", "config": {"a": "${no_such_setting}"}}))
    with pytest.raises(StackError, match="no_such_setting"):
        rest.load_connector(spec, _settings())


@pytest.mark.stack
def test_a_second_up_changes_nothing(cdc_stack: Settings) -> None:
    pids = [p.pid() for p in kafka.processes(cdc_stack) + connect.processes(cdc_stack)]
    reader = consumer(cdc_stack.kafka_bootstrap)
    try:
        configs_before = end_offsets(reader, "connect-configs")
        kafka.up(cdc_stack)
        connect.up(cdc_stack)
        # A connector PUT, even with the same config, would add a record here.
        assert end_offsets(reader, "connect-configs") == configs_before
    finally:
        reader.close()
    assert [p.pid() for p in kafka.processes(cdc_stack) + connect.processes(cdc_stack)] == pids
    assert None not in pids
