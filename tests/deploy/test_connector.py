"""The Debezium connector for a cluster, as a Strimzi KafkaConnector and as Connect REST
JSON, says what the local stack's connector says, with cluster addresses and no password."""

from __future__ import annotations

import json
import re

from streams.config import PROJECT_ROOT
from tests.deploy._manifests import K8S_DIR, named, render

LOCAL = PROJECT_ROOT / "deploy" / "connect" / "legacy-postgres.json"
REST = K8S_DIR / "connect" / "legacy-postgres.rest.json"
PLACEHOLDER = re.compile(r"^\$\{\w+\}$")
# A Connect config provider reference: ${provider:path:key}.
PROVIDER_REFERENCE = re.compile(r"^\$\{\w+:[^:}]+:[^:}]+\}$")
CLUSTER_ONLY = {"topic.creation.default.replication.factor"}


def _strimzi_config() -> dict[str, str]:
    connector = named(render("connect"), "KafkaConnector")[0]
    spec = connector["spec"]
    return {
        "connector.class": spec["class"],
        "tasks.max": str(spec["tasksMax"]),
        **{k: str(v) for k, v in spec["config"].items()},
    }


def test_rest_json_and_kafkaconnector_agree_but_for_the_secret_reference() -> None:
    rest = json.loads(REST.read_text())
    strimzi = _strimzi_config()
    assert rest["name"] == named(render("connect"), "KafkaConnector")[0]["metadata"]["name"]
    assert set(rest["config"]) == set(strimzi)
    differing = {k for k in strimzi if strimzi[k] != rest["config"][k]}
    assert differing == {"database.password"}


def test_cluster_connector_keeps_every_setting_of_the_local_stack() -> None:
    local = json.loads(LOCAL.read_text())["config"]
    rest = json.loads(REST.read_text())["config"]
    assert set(rest) == set(local)
    for key, value in local.items():
        if PLACEHOLDER.match(value) or key in CLUSTER_ONLY:
            continue
        assert rest[key] == value, f"{key}: {rest[key]!r} on a cluster, {value!r} locally"


def test_passwords_are_config_provider_references() -> None:
    rest = json.loads(REST.read_text())["config"]
    for config in (rest, _strimzi_config()):
        assert PROVIDER_REFERENCE.match(config["database.password"])
        assert not any("${" in v and not PROVIDER_REFERENCE.match(v) for v in config.values())
