"""Settings: one frozen model, read from STREAMS_* environment variables and an
optional TOML file (STREAMS_CONFIG_FILE, default ./streams.toml if present).

Every default matches the local stack that `streams stack up` starts, so a
fresh clone works without any configuration.
"""

from __future__ import annotations

import difflib
import logging
import os
import re
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from streams.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

Port = Annotated[int, Field(ge=1, le=65535)]

# host:port, the host a name, an IPv4 address or a bracketed IPv6 one; an optional
# listener name (PLAINTEXT://) as librdkafka accepts it.
_TOPIC = re.compile(r"[a-zA-Z0-9._-]{1,249}")
_BROKER = re.compile(r"(?:[A-Za-z_]+://)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})")


def _config_file() -> Path:
    return Path(os.environ.get("STREAMS_CONFIG_FILE", "streams.toml"))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STREAMS_", frozen=True, extra="forbid")

    # -- local stack -----------------------------------------------------------------
    stack_dir: Path = Field(Path(".stack"), description="Folder holding all local stack state")
    stack_external: bool = Field(
        False,
        description="The stack runs elsewhere (docker-compose.test.yml): `stack up` and the "
        "test fixtures wait for each part to be healthy instead of starting it",
    )
    maven_repo: Path | None = Field(
        None, description="Maven local repository; None uses Maven's default (~/.m2)"
    )
    java_home: Path = Field(
        Path("/usr/lib/jvm/java-17-openjdk-amd64"), description="JDK for Kafka and Connect"
    )
    ditto_java_home: Path = Field(
        Path("/usr/lib/jvm/temurin-25-jdk-amd64"), description="JDK for the Ditto services"
    )

    # -- Kafka ------------------------------------------------------------------------
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="Kafka bootstrap servers")
    kafka_controller_port: Port = Field(9093, description="KRaft controller listener port")
    connect_url: str = Field("http://127.0.0.1:8083", description="Kafka Connect REST API")
    topic_prefix: str = Field("legacy", description="Debezium topic.prefix (Avro-safe)")
    command_topic: str = Field("ditto.commands", description="Ditto inbound connection reads it")
    reply_topic: str = Field("ditto.replies", description="Ditto answers every command here")
    event_topic: str = Field("ditto.events", description="Ditto outbound connection writes it")
    sink_topic: str = Field("legacy.sink", description="Rows bound for the Postgres sink")
    dead_letter_topic: str = Field("streams.dead-letters", description="Dead-letter topic")
    phase_topic: str = Field(
        "streams.phase",
        description="Compacted one-partition topic holding the migration phase every worker obeys",
    )
    topic_partitions: int = Field(
        6, ge=1, le=1000, description="Partitions of the topics we create (1 to 1000)"
    )
    consumer_group: str = Field(
        "ditto-streams", min_length=1, description="Faust app id = consumer group"
    )
    worker_data_dir: Path = Field(
        Path(".stack/workers"), description="Where each worker keeps its RocksDB table stores"
    )
    worker_web_port: Port = Field(6066, description="Worker HTTP port (/metrics, health)")
    worker_web_bind: str = Field(
        "127.0.0.1",
        description="Address the worker HTTP port binds to; 0.0.0.0 in a pod (probes, scrapes)",
    )
    worker_lag_interval: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="Seconds between two refreshes of the lag gauges the worker's /metrics serves",
    )
    worker_stop_timeout: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Seconds a worker may take to stop on SIGTERM (finish, commit); past "
        "them it logs what is not committed and exits 1. Keep it below the pod's grace period",
    )

    # -- PostgreSQL (the legacy estate) -------------------------------------------------
    pg_host: str = Field("127.0.0.1", description="Legacy PostgreSQL host")
    pg_port: Port = Field(55432, description="Legacy PostgreSQL port")
    pg_database: str = Field("legacy", description="Legacy database name")
    pg_user: str = Field("streams", description="Owner of the legacy tables; the sink writes as it")
    pg_password: SecretStr = Field(SecretStr("streams"), description="Password of pg_user")
    pg_admin_password: SecretStr = Field(
        SecretStr("postgres"), description="Password of the local stack's superuser 'postgres'"
    )
    pg_cdc_user: str = Field("debezium", description="Role Debezium replicates as")
    pg_cdc_password: SecretStr = Field(SecretStr("debezium"), description="Password of pg_cdc_user")

    # -- Ditto ------------------------------------------------------------------------
    ditto_url: str = Field("http://127.0.0.1:8080", description="Ditto gateway base URL")
    ditto_user: str = Field("ditto", description="Ditto HTTP user")
    ditto_password: SecretStr = Field(SecretStr("ditto"), description="Ditto HTTP password")
    ditto_devops_user: str = Field("devops", description="Ditto user that manages connections")
    ditto_devops_password: SecretStr = Field(SecretStr("foobar"), description="Its password")
    ditto_sync_subject: str = Field(
        "integration:ditto-streams",
        description="Subject of our Kafka connections; tenant policies let it write twins",
    )
    ditto_admin_subject: str = Field(
        "nginx:ditto",
        description="Subject that administers tenant policies (nginx:<user> behind nginx)",
    )
    ditto_command_connection: str = Field(
        "streams-commands", description="Ditto connection: command topic in, replies out"
    )
    ditto_event_connection: str = Field(
        "streams-events", description="Ditto connection: twin events out to the event topic"
    )
    ditto_deploy_dir: Path = Field(
        PROJECT_ROOT / "deploy" / "ditto",
        description="Policy and connection JSON templates that `streams ditto bootstrap` sends",
    )

    # -- mappings -----------------------------------------------------------------------
    # -- Avro (Debezium's Avro connector and the schema registry) ------------------------
    cdc_format: Literal["json", "avro"] = Field(
        "json",
        description="What the worker reads: the JSON connector's topics, or the Avro "
        "connector's (avro_topic_prefix) with schemas from schema_registry_url",
    )
    avro_topic_prefix: str = Field(
        "legacy_avro", description="topic.prefix of the Avro connector (Avro-safe name)"
    )
    schema_registry_url: str = Field(
        "http://127.0.0.1:8081", description="Apicurio Registry base URL (no /apis path)"
    )
    schema_id_bytes: Literal[4, 8] = Field(
        4,
        description="Width of the schema id after an Avro record's magic byte: 4 (Confluent's "
        "framing, what the stack's Avro connector writes) or 8 (Apicurio's default, a global id)",
    )
    schema_registry_timeout: float = Field(
        5.0, gt=0, le=300, description="Seconds one schema fetch from the registry may take"
    )

    mappings_dir: Path = Field(
        PROJECT_ROOT / "mappings", description="Folder of mapping files, one per table"
    )
    thing_models_url: str = Field("http://127.0.0.1:8099/models", description="WoT models base URL")

    @field_validator("kafka_bootstrap")
    @classmethod
    def _host_port_list(cls, value: str) -> str:
        brokers = [b.strip() for b in value.split(",")]
        for broker in brokers:
            match = _BROKER.fullmatch(broker)
            if match is None or not 1 <= int(match[1]) <= 65535:
                raise ValueError(
                    f"{broker!r} is not host:port; give one or more host:port separated by "
                    "commas, e.g. 127.0.0.1:9092,10.0.0.2:9092"
                )
        return ",".join(brokers)

    @field_validator(
        "topic_prefix",
        "avro_topic_prefix",
        "command_topic",
        "reply_topic",
        "event_topic",
        "sink_topic",
        "dead_letter_topic",
        "phase_topic",
    )
    @classmethod
    def _topic_name(cls, value: str) -> str:
        """Kafka's own rule for a topic name, so a typo fails here and not as a topic that
        silently never fills."""
        if not _TOPIC.fullmatch(value) or value in (".", ".."):
            raise ValueError(
                f"{value!r} is not a Kafka topic name: 1 to 249 of a-z, A-Z, 0-9, '.', '_', '-'"
            )
        return value

    @field_validator("connect_url", "ditto_url", "schema_registry_url", "thing_models_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        """A typo here must fail at start, not look like the peer being down later."""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{value!r} is not an http(s) URL; give one such as http://127.0.0.1:8080"
            )
        if parts.username or parts.password:
            raise ValueError(
                "a URL must not carry credentials (they would end up in messages); set the "
                "user and password settings instead"
            )
        try:
            parts.port  # noqa: B018 - raises on a port out of range
        except ValueError as exc:
            raise ValueError(f"{value!r}: {exc}") from None
        return value.rstrip("/") if parts.path in ("", "/") else value

    @property
    def pg_dsn(self) -> str:
        """libpq DSN for the sink and the tools (the password is never logged)."""
        return (
            f"host={self.pg_host} port={self.pg_port} dbname={self.pg_database} "
            f"user={self.pg_user} password={self.pg_password.get_secret_value()}"
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then environment, then the optional file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if "STREAMS_CONFIG_FILE" in os.environ and not _config_file().is_file():
            raise ConfigError(
                f"STREAMS_CONFIG_FILE={_config_file()}: no such file; fix the path or unset it"
            )
        if _config_file().is_file():
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=_config_file()))
        return tuple(sources)


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """STREAMS_ variables no setting reads, each with the setting it was likely meant for:
    pydantic ignores them, so a typo would silently leave the default in force."""
    known = {f"STREAMS_{name.upper()}" for name in Settings.model_fields}
    known.add("STREAMS_CONFIG_FILE")
    found = []
    for name in sorted(n for n in environ if n.startswith("STREAMS_") and n not in known):
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.85)
        found.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return found


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings, or a ConfigError naming each bad STREAMS_ variable or file key."""
    unknown = unknown_variables(os.environ)
    if unknown:
        logging.getLogger(__name__).warning(
            "ignored: no setting reads %s; the names are in streams/config.py",
            ", ".join(unknown),
        )
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(_explain(exc)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{_config_file()}: not valid TOML: {exc}") from exc


def _explain(exc: ValidationError) -> str:
    """One line per bad setting, named as the user wrote it (never a secret's value)."""
    file = _config_file() if _config_file().is_file() else None
    lines = ["the settings are not valid:"]
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden":
            lines.append(
                f"  {file}: unknown key {name!r}; a key is a STREAMS_ variable's name "
                "without the prefix, in lower case"
            )
            continue
        where = f"STREAMS_{name.upper()}" + (f" (or {name} in {file})" if file else "")
        message = str(error["msg"]).removeprefix("Value error, ")
        # A value error names the value itself; a secret's value is never shown.
        hidden = "password" in name or error["type"] == "value_error"
        shown = "" if hidden else f" (got {error['input']!r})"
        lines.append(f"  {where}: {message}{shown}")
    return "\n".join(lines)
