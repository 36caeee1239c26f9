"""docker-compose.test.yml parses, names pinned images of the projects we run, and sets
up the local stack's topics and settings (streams/config.py, streams/stack/*)."""

from __future__ import annotations

from typing import Any

import yaml

from streams.config import PROJECT_ROOT, Settings
from streams.stack.kafka import server_properties

COMPOSE = PROJECT_ROOT / "docker-compose.test.yml"
# Official images of each project, at the versions the stack runs (README, "The local stack").
IMAGES = {
    "kafka": "apache/kafka:3.9.",
    "connect": "quay.io/debezium/connect:3.6.1.",
    "postgres": "postgres:15",
    "mongodb": "mongo:7.",
    "policies": "eclipse/ditto-policies:3.6.9",
    "things": "eclipse/ditto-things:3.6.9",
    "connectivity": "eclipse/ditto-connectivity:3.6.9",
    "gateway": "eclipse/ditto-gateway:3.6.9",
    "nginx": "nginx:1.27",
    "models": "python:3.12-slim-bookworm",
    "registry": "apicurio/apicurio-registry-mem:2.4.2.",
}
ONE_SHOT = {"seed", "register-connector", "ditto-bootstrap", "tests"}
# Settings that differ on purpose: the containers reach each other by service name.
ADDRESSES = {"STREAMS_KAFKA_BOOTSTRAP", "STREAMS_CONNECT_URL", "STREAMS_PG_HOST",
             "STREAMS_PG_PORT", "STREAMS_DITTO_URL", "STREAMS_STACK_EXTERNAL",
             "STREAMS_WORKER_WEB_BIND", "STREAMS_THING_MODELS_URL",
             "STREAMS_SCHEMA_REGISTRY_URL"}  # fmt: skip


MACHINE_SPECIFIC = {"log.dirs", "controller.quorum.voters"}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _env(service: str) -> dict[str, str]:
    env = _compose()["services"][service].get("environment", {})
    assert isinstance(env, dict), f"{service}: environment as a map"
    return {k: str(v) for k, v in env.items()}


def test_services_use_pinned_images_of_the_projects() -> None:
    services = _compose()["services"]
    for name, prefix in IMAGES.items():
        assert services[name]["image"].startswith(prefix), name
    for name, service in services.items():
        image = service["image"]
        assert not image.endswith(":latest") and ":" in image, name
        assert "build" in service or name in IMAGES, f"{name}: {image} is neither built here"


def test_dependencies_exist_and_long_running_services_have_health_checks() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} waits for unknown {dependency}"
            if condition["condition"] == "service_completed_successfully":
                assert dependency in ONE_SHOT
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], dependency
        if name not in ONE_SHOT:
            assert "healthcheck" in service, f"{name} has no health check"


def test_streams_settings_match_the_local_stack_defaults() -> None:
    defaults = Settings()
    for service in ("seed", "worker", "ditto-bootstrap", "tests"):
        for key, value in _env(service).items():
            field = key.removeprefix("STREAMS_").lower()
            assert field in Settings.model_fields, f"{service}: {key} is no setting"
            if key in ADDRESSES:
                continue
            default = getattr(defaults, field)
            if hasattr(default, "get_secret_value"):
                default = default.get_secret_value()
            assert value == str(default), f"{service}: {key}={value}, default {default}"


def test_kafka_is_configured_as_the_local_broker() -> None:
    local = dict(
        line.split("=", 1) for line in server_properties(Settings()).splitlines() if "=" in line
    )
    env = _env("kafka")
    for key, value in local.items():
        if "listener" in key or key in MACHINE_SPECIFIC:
            continue  # addresses and paths, which differ in a container by design
        name = "KAFKA_" + key.upper().replace(".", "_")
        assert env.get(name) == value, f"{name}={env.get(name)}, local {key}={value}"
    assert "HOST://127.0.0.1:9092" in env["KAFKA_ADVERTISED_LISTENERS"]


def test_postgres_decodes_logically_and_loads_the_legacy_schema() -> None:
    postgres = _compose()["services"]["postgres"]
    assert "wal_level=logical" in postgres["command"]
    mounts = [v.split(":")[0] for v in postgres["volumes"]]
    for mount in mounts:
        assert (PROJECT_ROOT / mount).is_file(), mount
    assert "./deploy/postgres/legacy_schema.sql" in mounts
    env = _env("postgres")
    defaults = Settings()
    assert env["LEGACY_USER"] == defaults.pg_user
    assert env["CDC_USER"] == defaults.pg_cdc_user
    assert env["POSTGRES_PASSWORD"] == defaults.pg_admin_password.get_secret_value()


def test_connect_uses_the_local_workers_group_and_topics() -> None:
    from streams.stack.connect import GROUP_ID

    env = _env("connect")
    assert env["GROUP_ID"] == GROUP_ID
    assert (env["CONFIG_STORAGE_TOPIC"], env["OFFSET_STORAGE_TOPIC"]) == (
        "connect-configs",
        "connect-offsets",
    )
    assert env["STATUS_STORAGE_TOPIC"] == "connect-status"
