"""The Ditto stand-in on the real stack: Ditto's HTTP API, policies and Kafka connections.

Each test names its own things, policies, connections and topics, so tests do not see
each other's data. Waits are bounded polls of Kafka or of the connection status.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from streams.config import Settings, get_settings
from streams.errors import StackError
from streams.stack import ditto

pytestmark = pytest.mark.stack

NS = "org.standin.test"
WAIT = 30.0


@pytest.fixture(scope="module")
def stack() -> Settings:
    from streams.stack import orchestrator

    settings = get_settings()
    orchestrator.up(settings, only=("kafka", "ditto"))
    return settings


@pytest.fixture
def api(stack: Settings) -> Iterator[httpx.Client]:
    auth = (stack.ditto_user, stack.ditto_password.get_secret_value())
    with httpx.Client(base_url=f"{stack.ditto_url}/api/2", auth=auth, timeout=10) as client:
        yield client


@pytest.fixture
def devops(stack: Settings) -> Iterator[httpx.Client]:
    auth = (stack.ditto_devops_user, stack.ditto_devops_password.get_secret_value())
    with httpx.Client(base_url=f"{stack.ditto_url}/api/2", auth=auth, timeout=10) as client:
        yield client


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _entry(subject: str, thing: list[str], policy: list[str] | None = None) -> dict[str, Any]:
    resources = {"thing:/": {"grant": thing, "revoke": []}}
    if policy:
        resources["policy:/"] = {"grant": policy, "revoke": []}
    return {"subjects": {subject: {"type": "test"}}, "resources": resources}


def _policy(api: httpx.Client, **entries: dict[str, Any]) -> str:
    policy_id = f"{NS}:{_unique('policy')}"
    owner = _entry("nginx:ditto", ["READ", "WRITE"], ["READ", "WRITE"])
    response = api.put(f"/policies/{policy_id}", json={"entries": {"OWNER": owner, **entries}})
    assert response.status_code == 201, response.text
    return policy_id


def _revision(api: httpx.Client, thing_id: str) -> int:
    response = api.get(f"/things/{thing_id}", params={"fields": "_revision"})
    assert response.status_code == 200, response.text
    return int(response.json()["_revision"])


def test_a_busy_ditto_port_is_named_with_its_setting(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        settings = Settings.model_validate(
            {"stack_dir": tmp_path, "ditto_url": f"http://127.0.0.1:{port}"}
        )
        with pytest.raises(StackError, match=f"port {port} in use.*STREAMS_DITTO_URL"):
            ditto.up(settings)


# -- HTTP API ---------------------------------------------------------------------------


def test_a_thing_is_created_under_its_policy_with_revision_one(api: httpx.Client) -> None:
    policy_id = _policy(api)
    thing_id = f"{NS}:{_unique('well')}"
    body = {"policyId": policy_id, "attributes": {"uwi": "100/04-12", "status": "producing"}}

    created = api.put(f"/things/{thing_id}", json=body)

    assert created.status_code == 201
    assert created.json() == {"thingId": thing_id, **body}
    assert created.headers["etag"] == '"rev:1"'
    fields = "thingId,attributes/status,_revision,_created,_modified"
    got = api.get(f"/things/{thing_id}", params={"fields": fields}).json()
    assert got["attributes"] == {"status": "producing"}
    assert got["_revision"] == 1
    assert got["_created"] == got["_modified"]


def test_each_persisted_change_adds_one_to_the_revision(api: httpx.Client) -> None:
    policy_id = _policy(api)
    thing_id = f"{NS}:{_unique('well')}"
    api.put(f"/things/{thing_id}", json={"policyId": policy_id})

    assert api.put(f"/things/{thing_id}/attributes/status", json="shut-in").status_code == 201
    assert api.put(f"/things/{thing_id}/attributes/status", json="shut-in").status_code == 204
    patch = {"features": {"production": {"properties": {"oilBblPerDay": 312.5}}}}
    merged = api.patch(
        f"/things/{thing_id}",
        content=json.dumps(patch),
        headers={"content-type": "application/merge-patch+json"},
    )
    assert merged.status_code == 204
    assert _revision(api, thing_id) == 4
    # A delete is an event too, and a re-created thing counts on from there.
    assert api.delete(f"/things/{thing_id}").status_code == 204
    assert api.put(f"/things/{thing_id}", json={"policyId": policy_id}).status_code == 201
    assert _revision(api, thing_id) == 6


def test_a_subject_without_write_gets_403_and_changes_nothing(api: httpx.Client) -> None:
    policy_id = f"{NS}:{_unique('policy')}"
    read_only = _entry("nginx:ditto", ["READ"], ["READ", "WRITE"])
    api.put(f"/policies/{policy_id}", json={"entries": {"OWNER": read_only}})
    thing_id = f"{NS}:{_unique('well')}"

    refused = api.put(f"/things/{thing_id}", json={"policyId": policy_id})

    assert refused.status_code == 403
    assert refused.json()["error"] == "things:thing.notmodifiable"
    assert api.get(f"/things/{thing_id}").status_code == 404


def test_preconditions_answer_412_and_persist_nothing(api: httpx.Client) -> None:
    policy_id = _policy(api)
    thing_id = f"{NS}:{_unique('well')}"
    api.put(f"/things/{thing_id}", json={"policyId": policy_id, "attributes": {"a": 1}})

    stale = api.put(
        f"/things/{thing_id}", json={"attributes": {"a": 2}}, headers={"if-match": '"rev:7"'}
    )
    same = api.put(f"/things/{thing_id}/attributes/a", json=1, headers={"if-equal": "skip"})
    unmet = api.put(
        f"/things/{thing_id}/attributes/a", json=3, headers={"condition": "gt(attributes/a,5)"}
    )

    assert [stale.status_code, same.status_code, unmet.status_code] == [412, 412, 412]
    assert unmet.json()["error"] == "things:condition.failed"
    assert _revision(api, thing_id) == 1


def test_a_merge_without_the_merge_patch_type_is_415(api: httpx.Client) -> None:
    policy_id = _policy(api)
    thing_id = f"{NS}:{_unique('well')}"
    api.put(f"/things/{thing_id}", json={"policyId": policy_id})

    refused = api.patch(f"/things/{thing_id}", json={"attributes": {"a": 1}})

    assert refused.status_code == 415
    assert set(refused.json()) >= {"status", "error", "message", "description"}


def test_connections_need_the_devops_user_and_valid_json(
    stack: Settings, api: httpx.Client, devops: httpx.Client
) -> None:
    name = _unique("conn")
    assert api.get(f"/connections/{name}").status_code == 401
    # A source without its authorizationContext, which Ditto's connection model requires.
    invalid: dict[str, Any] = {
        "connectionType": "kafka",
        "connectionStatus": "open",
        "uri": f"tcp://{stack.kafka_bootstrap}",
        "sources": [{"addresses": ["t"]}],
    }

    refused = devops.put(f"/connections/{name}", json=invalid)

    assert refused.status_code == 400
    assert devops.get(f"/connections/{name}").status_code == 404


# -- Kafka connections ---------------------------------------------------------------------


@dataclass
class Topics:
    commands: str
    replies: str
    events_writer: str
    events_reader: str


@pytest.fixture
def topics(stack: Settings) -> Topics:
    names = Topics(*(_unique(f"standin.{n}") for n in ("cmd", "reply", "ev-w", "ev-r")))
    admin = AdminClient({"bootstrap.servers": stack.kafka_bootstrap})
    created = admin.create_topics([NewTopic(t, 1, 1) for t in vars(names).values()])
    for future in created.values():
        future.result(timeout=30)
    return names


def _target(address: str, subject: str) -> dict[str, Any]:
    return {
        "address": f"{address}/{{{{ thing:id }}}}",
        "topics": ["_/_/things/twin/events"],
        "authorizationContext": [subject],
        "headerMapping": {
            "correlation-id": "{{ header:correlation-id }}",
            "streams-origin": "{{ header:streams-origin }}",
        },
    }


def _connection(stack: Settings, subject: str, **parts: Any) -> dict[str, Any]:
    return {
        "connectionType": "kafka",
        "connectionStatus": "open",
        "uri": f"tcp://{stack.kafka_bootstrap}",
        "specificConfig": {"bootstrapServers": stack.kafka_bootstrap},
        "sources": [],
        "targets": [],
        **parts,
    }


def _source(topic: str, replies: str, subject: str) -> dict[str, Any]:
    return {
        "addresses": [topic],
        "authorizationContext": [subject],
        "qos": 1,
        "replyTarget": {
            "enabled": True,
            "address": f"{replies}/{{{{ thing:id }}}}",
            "headerMapping": {"correlation-id": "{{ header:correlation-id }}"},
            "expectedResponseTypes": ["response", "error"],
        },
    }


def _open(devops: httpx.Client, name: str, connection: dict[str, Any]) -> None:
    response = devops.put(f"/connections/{name}", json=connection)
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + WAIT
    # A new group starts at the end of the topic: wait until it owns its partitions.
    while devops.get(f"/connections/{name}/status").json()["liveStatus"] != "ready":
        assert time.monotonic() < deadline, "connection consumers never got partitions"
        time.sleep(0.2)


def _send(stack: Settings, topic: str, thing_id: str, message: dict[str, Any]) -> None:
    producer = Producer({"bootstrap.servers": stack.kafka_bootstrap})
    producer.produce(topic, json.dumps(message).encode(), key=thing_id.encode())
    assert producer.flush(10) == 0


@dataclass(frozen=True)
class Record:
    key: str | None
    headers: dict[str, str]
    value: dict[str, Any]


def _read_until(stack: Settings, topic: str, done: Callable[[list[Record]], bool]) -> list[Record]:
    """Records of a one-partition topic from its start until `done` holds (bounded)."""
    reader = Consumer({"bootstrap.servers": stack.kafka_bootstrap, "group.id": _unique("t")})
    reader.assign([TopicPartition(topic, 0, 0)])
    records: list[Record] = []
    deadline = time.monotonic() + WAIT
    try:
        while not done(records):
            assert time.monotonic() < deadline, f"{topic} has only {records}"
            message = reader.poll(0.5)
            if message is None or message.error():
                continue
            records.append(_record(message))
    finally:
        reader.close()
    return records


def _text(raw: str | bytes | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


def _record(message: Message) -> Record:
    headers = {str(h[0]): _text(h[1]) or "" for h in message.headers() or []}
    return Record(_text(message.key()), headers, json.loads(_text(message.value()) or "null"))


def _has_revision(revision: int) -> Callable[[list[Record]], bool]:
    return lambda records: any(r.value.get("revision") == revision for r in records)


def test_a_kafka_command_is_applied_answered_and_published_without_echo(
    stack: Settings, api: httpx.Client, devops: httpx.Client, topics: Topics
) -> None:
    writer, reader = _unique("writer"), _unique("reader")
    policy_id = _policy(
        api,
        WRITER=_entry(f"integration:{writer}", ["READ", "WRITE"]),
        READER=_entry(f"integration:{reader}", ["READ"]),
    )
    _open(
        devops,
        writer,
        _connection(
            stack,
            f"integration:{writer}",
            sources=[_source(topics.commands, topics.replies, f"integration:{writer}")],
            targets=[_target(topics.events_writer, f"integration:{writer}")],
        ),
    )
    _open(
        devops,
        reader,
        _connection(
            stack,
            f"integration:{reader}",
            targets=[_target(topics.events_reader, f"integration:{reader}")],
        ),
    )
    name = _unique("well")
    thing_id = f"{NS}:{name}"
    assert api.put(f"/things/{thing_id}", json={"policyId": policy_id}).status_code == 201

    command = {
        "topic": f"{NS}/{name}/things/twin/commands/modify",
        "headers": {"correlation-id": "cmd-1", "streams-origin": "postgres"},
        "path": "/attributes/status",
        "value": "producing",
    }
    _send(stack, topics.commands, thing_id, command)

    replies = _read_until(stack, topics.replies, lambda records: len(records) >= 1)
    assert replies[0].key == thing_id
    assert replies[0].headers["correlation-id"] == "cmd-1"
    assert replies[0].value["status"] == 201
    assert replies[0].value["headers"]["correlation-id"] == "cmd-1"

    published = _read_until(stack, topics.events_reader, _has_revision(2))
    event = published[-1]
    assert event.key == thing_id
    assert event.value["topic"] == f"{NS}/{name}/things/twin/events/created"
    assert event.value["path"] == "/attributes/status"
    assert event.value["value"] == "producing"
    assert event.headers["correlation-id"] == "cmd-1"
    assert event.headers["streams-origin"] == "postgres"
    assert event.headers["content-type"] == "application/vnd.eclipse.ditto+json"

    # An HTTP change reaches both targets; the writer's own command never came back to it.
    api.put(f"/things/{thing_id}/attributes/status", json="shut-in")
    own = _read_until(stack, topics.events_writer, _has_revision(3))
    assert [r.value["revision"] for r in own] == [1, 3]
    assert own[-1].value["topic"].endswith("/things/twin/events/modified")


def test_tenant_b_connection_cannot_write_tenant_a_twins(
    stack: Settings, api: httpx.Client, devops: httpx.Client, topics: Topics
) -> None:
    tenant_a, tenant_b = _unique("tenant-a"), _unique("tenant-b")
    policy_a = _policy(api, SYNC=_entry(f"integration:{tenant_a}", ["READ", "WRITE"]))
    _open(
        devops,
        tenant_b,
        _connection(
            stack,
            f"integration:{tenant_b}",
            sources=[_source(topics.commands, topics.replies, f"integration:{tenant_b}")],
            targets=[_target(topics.events_reader, f"integration:{tenant_b}")],
        ),
    )
    name = _unique("well")
    thing_id = f"{NS}:{name}"
    api.put(f"/things/{thing_id}", json={"policyId": policy_a, "attributes": {"a": 1}})

    command = {
        "topic": f"{NS}/{name}/things/twin/commands/merge",
        "headers": {"correlation-id": "b-1", "content-type": "application/merge-patch+json"},
        "path": "/attributes",
        "value": {"a": 2},
    }
    _send(stack, topics.commands, thing_id, command)

    reply = _read_until(stack, topics.replies, lambda records: len(records) >= 1)[0]
    assert reply.value["topic"] == f"{NS}/{name}/things/twin/errors"
    assert reply.value["status"] == 403
    assert reply.value["headers"]["correlation-id"] == "b-1"
    assert api.get(f"/things/{thing_id}/attributes/a").json() == 1
    # Tenant B may not read A's twin either, so A's changes are not published to it.
    api.put(f"/things/{thing_id}/attributes/a", json=3)
    probe_id = f"{NS}:{_unique('probe')}"
    policy_b = _policy(api, SYNC=_entry(f"integration:{tenant_b}", ["READ"]))
    api.put(f"/things/{probe_id}", json={"policyId": policy_b})
    seen = _read_until(stack, topics.events_reader, lambda rs: any(r.key == probe_id for r in rs))
    assert [r.key for r in seen] == [probe_id]
