"""Settings validation: a wrong value is refused with the field named, before any work."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import ValidationError

from streams.config import Settings


@pytest.mark.parametrize(
    "bad",
    [
        {"pg_port": 0},
        {"pg_port": 65536},
        {"kafka_controller_port": -1},
        {"worker_web_port": 70000},
        {"topic_partitions": 0},
        {"topic_partitions": 1_000_000},
    ],
)
def test_ports_and_partitions_out_of_range_are_refused(bad: dict[str, Any]) -> None:
    [field] = bad
    with pytest.raises(ValidationError, match=field):
        Settings(**bad)


@pytest.mark.parametrize(
    "bootstrap", ["kafka", "127.0.0.1", "127.0.0.1:", ":9092", "a:1,,b:2", "k:99999", "a b:1"]
)
def test_a_bootstrap_that_is_not_a_host_port_list_names_the_form(bootstrap: str) -> None:
    with pytest.raises(ValidationError, match=r"is not host:port.*e\.g\. 127\.0\.0\.1:9092"):
        Settings(kafka_bootstrap=bootstrap)


@pytest.mark.parametrize(
    ("bootstrap", "kept"),
    [
        ("127.0.0.1:9092", "127.0.0.1:9092"),
        ("kafka:19092, broker-2.kafka.svc:9092", "kafka:19092,broker-2.kafka.svc:9092"),
        ("[::1]:9092", "[::1]:9092"),
        ("PLAINTEXT://127.0.0.1:9092", "PLAINTEXT://127.0.0.1:9092"),
    ],
)
def test_host_port_lists_are_accepted(bootstrap: str, kept: str) -> None:
    assert Settings(kafka_bootstrap=bootstrap).kafka_bootstrap == kept


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("notaurl", "is not an http(s) URL"),
        ("ftp://127.0.0.1:21", "is not an http(s) URL"),
        ("http://", "is not an http(s) URL"),
        ("http://user:secret@127.0.0.1:8080", "must not carry credentials"),
        ("http://127.0.0.1:99999", "out of range"),
    ],
)
def test_a_url_setting_that_cannot_work_is_refused_at_start(url: str, says: str) -> None:
    for field in ("connect_url", "ditto_url", "schema_registry_url", "thing_models_url"):
        with pytest.raises(ValidationError, match=re.escape(says)):
            Settings(**{field: url})


def test_a_url_keeps_its_path_and_loses_a_bare_trailing_slash() -> None:
    settings = Settings(ditto_url="http://ditto:8080/", thing_models_url="http://m:1/models")
    assert (settings.ditto_url, settings.thing_models_url) == (
        "http://ditto:8080",
        "http://m:1/models",
    )


def test_an_empty_consumer_group_is_refused() -> None:
    with pytest.raises(ValidationError, match="consumer_group"):
        Settings(consumer_group="")


@pytest.mark.parametrize("name", ["", "bad topic!", "a/b", "..", "x" * 250])
def test_a_topic_setting_kafka_would_refuse_is_refused_at_start(name: str) -> None:
    for field in ("phase_topic", "command_topic", "topic_prefix", "dead_letter_topic"):
        with pytest.raises(ValidationError, match="is not a Kafka topic name"):
            Settings(**{field: name})


def test_a_mistyped_variable_is_named_with_the_setting_it_was_meant_for() -> None:
    from streams.config import unknown_variables

    found = unknown_variables(
        {"STREAMS_DITTO_ULR": "x", "STREAMS_FOO": "1", "STREAMS_PG_PORT": "1", "PATH": "/"}
    )

    assert found == ["STREAMS_DITTO_ULR (did you mean STREAMS_DITTO_URL?)", "STREAMS_FOO"]
    assert unknown_variables({"STREAMS_CONFIG_FILE": "x.toml"}) == []
