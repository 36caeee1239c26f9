"""deploy/k8s renders with kustomize, fits the Kubernetes and CRD schemas, and says what
the worker needs: its settings, its port, no credentials in plain text, one autoscaler."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from streams.config import PROJECT_ROOT, Settings
from tests.deploy._manifests import K8S_DIR, TREES, Doc, named, render, validate

WORKER = "ditto-streams-worker"
OVERLAYS = ("overlays/dev", "overlays/prod")


def _settings_of(docs: tuple[Doc, ...]) -> dict[str, str]:
    maps = [d for d in named(docs, "ConfigMap") if "STREAMS_CONSUMER_GROUP" in d.get("data", {})]
    assert len(maps) == 1, "one settings ConfigMap per overlay"
    data: dict[str, str] = maps[0]["data"]
    return data


def _containers(docs: tuple[Doc, ...]) -> list[tuple[str, dict[str, Any]]]:
    pods = [
        (d["metadata"]["name"], d["spec"]["template"]["spec"])
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    ]
    return [(name, c) for name, spec in pods for c in spec["containers"]]


@pytest.mark.parametrize("tree", TREES)
def test_every_rendered_resource_fits_its_schema(tree: str) -> None:
    docs = render(tree)
    assert docs, f"{tree} rendered nothing"
    for doc in docs:
        validate(doc)


def test_the_validators_refuse_an_unknown_field() -> None:
    """The schema checks above can fail: a misspelt field in each kind is refused."""
    prod, connect = render("overlays/prod"), render("connect")
    cases = [
        (named(prod, "Deployment", WORKER)[0], ("spec", "template", "spec"), "terminationGrace"),
        (named(prod, "ScaledObject")[0], ("spec",), "lagTreshold"),
        (named(prod, "ServiceMonitor")[0], ("spec", "endpoints", 0), "intervall"),
        (named(connect, "KafkaConnector")[0], ("spec",), "taskMax"),
    ]
    for doc, path, field in cases:
        broken = copy.deepcopy(doc)
        target: Any = broken
        for step in path:
            target = target[step]
        target[field] = 1
        with pytest.raises((jsonschema.ValidationError, kubernetes_validate.ValidationError)):
            validate(broken)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_are_real_settings_and_credentials_come_from_secrets(overlay: str) -> None:
    docs = render(overlay)
    fields = {f"STREAMS_{name.upper()}" for name in Settings.model_fields}
    assert set(_settings_of(docs)) <= fields
    assert not named(docs, "Secret"), "credentials are created out of band, never rendered"
    for name, container in _containers(docs):
        for env in container.get("env", []):
            assert env["name"] in fields, f"{name}: {env['name']} is no setting"
            secret = "PASSWORD" in env["name"]
            assert secret == ("secretKeyRef" in env.get("valueFrom", {})), env
            assert "value" not in env or not secret, f"{name}: {env['name']} in plain text"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_worker_never_outnumbers_the_partitions(overlay: str) -> None:
    docs = render(overlay)
    partitions = int(_settings_of(docs)["STREAMS_TOPIC_PARTITIONS"])
    assert named(docs, "Deployment", WORKER)[0]["spec"]["replicas"] <= partitions
    scalers = named(docs, "ScaledObject") + named(docs, "HorizontalPodAutoscaler")
    assert len(scalers) == 1, "exactly one autoscaler: KEDA or the HPA fallback"
    spec = scalers[0]["spec"]
    ceiling = spec.get("maxReplicaCount", spec.get("maxReplicas"))
    assert spec["scaleTargetRef"]["name"] == WORKER
    assert 1 <= ceiling <= partitions


def test_keda_scales_on_the_lag_of_every_topic_the_group_reads() -> None:
    docs = render("overlays/prod")
    settings = _settings_of(docs)
    triggers = named(docs, "ScaledObject")[0]["spec"]["triggers"]
    prefix = settings["STREAMS_TOPIC_PREFIX"]
    wanted = {
        f"{prefix}.public.basins",
        f"{prefix}.public.wells",
        settings["STREAMS_EVENT_TOPIC"],
        settings["STREAMS_SINK_TOPIC"],
    }
    assert {t["metadata"]["topic"] for t in triggers} == wanted
    for trigger in triggers:
        meta = trigger["metadata"]
        assert trigger["type"] == "kafka"
        assert meta["consumerGroup"] == settings["STREAMS_CONSUMER_GROUP"]
        assert meta["bootstrapServers"] == settings["STREAMS_KAFKA_BOOTSTRAP"]
        assert meta["version"].startswith("3.9."), "Sarama's protocol version of our broker"
        assert int(meta["lagThreshold"]) > 0


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_and_scrapes_reach_the_worker_port(overlay: str) -> None:
    docs = render(overlay)
    settings = _settings_of(docs)
    assert settings["STREAMS_WORKER_WEB_BIND"] == "0.0.0.0"
    port = int(settings["STREAMS_WORKER_WEB_PORT"])
    pod = named(docs, "Deployment", WORKER)[0]["spec"]["template"]["spec"]
    worker = pod["containers"][0]
    assert worker["args"] == ["worker"]
    assert {"name": "http", "containerPort": port, "protocol": "TCP"} in worker["ports"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert worker[probe]["httpGet"] == {"path": "/health", "port": "http"}
    assert pod["terminationGracePeriodSeconds"] >= 30, "room for Faust to commit on SIGTERM"
    assert worker["resources"]["requests"]["memory"]
    service = named(docs, "Service", WORKER)[0]
    assert service["spec"]["ports"][0]["port"] == port
    mounts = {m["mountPath"] for m in worker["volumeMounts"]}
    assert {settings["STREAMS_MAPPINGS_DIR"]} <= mounts
    assert any(settings["STREAMS_WORKER_DATA_DIR"].startswith(m) for m in mounts)


def test_the_mappings_configmap_is_a_true_copy_of_mappings() -> None:
    copies = sorted((K8S_DIR / "base" / "mappings").glob("*.toml"))
    originals = sorted((PROJECT_ROOT / "mappings").glob("*.toml"))
    assert [p.name for p in copies] == [p.name for p in originals]
    for copy_, original in zip(copies, originals, strict=True):
        assert copy_.read_text() == original.read_text(), (
            f"{copy_} differs from {original}; fix: cp mappings/*.toml deploy/k8s/base/mappings/"
        )
    mapping_maps = [
        d for d in named(render("overlays/prod"), "ConfigMap") if "wells.toml" in d["data"]
    ]
    assert set(mapping_maps[0]["data"]) == {p.name for p in originals}


def test_the_pdb_and_service_select_the_worker_pods() -> None:
    docs = render("overlays/prod")
    labels = named(docs, "Deployment", WORKER)[0]["spec"]["template"]["metadata"]["labels"]
    for doc in named(docs, "PodDisruptionBudget") + named(docs, "Service"):
        selector = doc["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= labels.items(), doc["kind"]
