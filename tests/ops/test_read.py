"""`streams read` on the real stack: Ditto answers, or the legacy row does, mapped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from streams.cli import app
from streams.config import Settings, get_settings
from streams.ops.read import read_twin
from streams.ops.worker_process import free_port

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack(cdc_stack: Settings) -> Settings:
    from streams.stack import orchestrator

    orchestrator.up(cdc_stack, only=("ditto",))
    return cdc_stack


@dataclass(frozen=True)
class LegacyWell:
    thing_id: str
    well_code: str


@pytest.fixture(scope="module")
def legacy_well(stack: Settings) -> Iterator[LegacyWell]:
    """A row of its own tenant, which has no policy in Ditto, so it never gets a twin."""
    tenant = f"tread{uuid.uuid4().hex[:8]}"
    code = "R-1 Ø"
    with psycopg.connect(stack.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO wells (tenant, well_code, name, status) VALUES (%s, %s, 'Read', 'A')",
            (tenant, code),
        )
        yield LegacyWell(f"{tenant}:well-r-1-o", code)
        conn.execute("DELETE FROM wells WHERE tenant = %s", (tenant,))


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def _twin_in_ditto(settings: Settings) -> str:
    namespace = f"org.streams.read{uuid.uuid4().hex[:8]}"
    auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
    with httpx.Client(base_url=f"{settings.ditto_url}/api/2", auth=auth, timeout=10) as api:
        owner = {
            "subjects": {settings.ditto_admin_subject: {"type": "test"}},
            "resources": {
                "thing:/": {"grant": ["READ", "WRITE"], "revoke": []},
                "policy:/": {"grant": ["READ", "WRITE"], "revoke": []},
            },
        }
        policy = f"{namespace}:policy"
        assert api.put(f"/policies/{policy}", json={"entries": {"OWNER": owner}}).is_success
        thing = f"{namespace}:well-d-1"
        body = {"policyId": policy, "attributes": {"wellCode": "D-1"}}
        assert api.put(f"/things/{thing}", json=body).status_code == 201
    return thing


def test_a_twin_in_ditto_is_read_from_ditto(stack: Settings) -> None:
    thing_id = _twin_in_ditto(stack)

    result = read_twin(stack, thing_id)

    assert result.source == "ditto", result.reason
    assert result.value is not None and result.value["attributes"] == {"wellCode": "D-1"}


def test_a_row_only_in_legacy_is_read_mapped_with_the_reason(
    stack: Settings, legacy_well: LegacyWell
) -> None:
    result = read_twin(stack, legacy_well.thing_id)

    assert result.source == "legacy"
    assert "404" in result.reason and "wells" in result.reason
    assert result.value is not None
    assert result.value["thingId"] == legacy_well.thing_id
    assert result.value["policyId"] == f"{legacy_well.thing_id.split(':')[0]}:default-policy"
    assert result.value["attributes"] == {
        "type": "WELL",
        "name": "Read",
        "wellCode": legacy_well.well_code,
    }


def test_ditto_unreachable_falls_back_to_legacy(
    stack: Settings, legacy_well: LegacyWell, closed_port: int
) -> None:
    get_settings.cache_clear()
    env = {"STREAMS_DITTO_URL": f"http://127.0.0.1:{closed_port}"}

    result = CliRunner().invoke(app, ["read", "--json", legacy_well.thing_id], env=env)
    get_settings.cache_clear()

    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["source"] == "legacy"
    assert "did not answer" in answer["reason"]
    assert answer["value"]["attributes"]["wellCode"] == legacy_well.well_code


def test_neither_source_has_it_exits_1(stack: Settings, legacy_well: LegacyWell) -> None:
    get_settings.cache_clear()
    missing = legacy_well.thing_id + "-x"

    result = CliRunner().invoke(app, ["read", missing])

    assert result.exit_code == 1, result.output
    assert "no row of wells" in result.stderr


# -- a Ditto that stops: the same twin read from Ditto, then from the legacy row ------------


@pytest.fixture
def own_ditto(stack: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A Ditto stand-in of this test's own on a free loopback port (stopped by the test)."""
    from streams.stack import ditto

    settings = stack.model_copy(
        update={"stack_dir": tmp_path / "stack", "ditto_url": f"http://127.0.0.1:{free_port()}"}
    )
    ditto.up(settings)
    try:
        yield settings
    finally:
        ditto.down(settings)


def _put_twin(settings: Settings, thing_id: str, name: str) -> None:
    auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
    policy = f"{thing_id.split(':')[0]}:default-policy"
    owner = {
        "subjects": {settings.ditto_admin_subject: {"type": "test"}},
        "resources": {
            "thing:/": {"grant": ["READ", "WRITE"], "revoke": []},
            "policy:/": {"grant": ["READ", "WRITE"], "revoke": []},
        },
    }
    with httpx.Client(base_url=f"{settings.ditto_url}/api/2", auth=auth, timeout=10) as api:
        assert api.put(f"/policies/{policy}", json={"entries": {"OWNER": owner}}).is_success
        body = {"policyId": policy, "attributes": {"name": name}}
        assert api.put(f"/things/{thing_id}", json=body).status_code == 201


def _read_command(settings: Settings, thing_id: str) -> dict[str, Any]:
    env = {**os.environ, "STREAMS_DITTO_URL": settings.ditto_url}
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "read", "--json", thing_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def test_ditto_stopped_falls_back_to_the_legacy_row_and_says_so(
    own_ditto: Settings, legacy_well: LegacyWell
) -> None:
    from streams.stack import ditto

    _put_twin(own_ditto, legacy_well.thing_id, "in Ditto")
    running = _read_command(own_ditto, legacy_well.thing_id)
    ditto.down(own_ditto)

    stopped = _read_command(own_ditto, legacy_well.thing_id)

    assert (running["source"], running["value"]["attributes"]) == ("ditto", {"name": "in Ditto"})
    assert stopped["source"] == "legacy"
    assert f"Ditto at {own_ditto.ditto_url} did not answer" in stopped["reason"]
    assert stopped["value"]["attributes"]["name"] == "Read"
    assert stopped["value"]["attributes"]["wellCode"] == legacy_well.well_code
