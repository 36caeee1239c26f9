"""`streams ditto bootstrap` against Ditto on the real stack.

Each test uses its own tenant, subject, topics and connection ids, and removes its
connections and policies afterwards, so runs do not see each other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from streams.config import Settings, get_settings
from streams.ditto.bootstrap import Outcome, bootstrap, desired_state
from streams.errors import ConfigError, StackError

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def stack() -> Settings:
    from streams.stack import orchestrator

    settings = get_settings()
    orchestrator.up(settings, only=("kafka", "ditto"))
    return settings


def _env(run: str) -> dict[str, str]:
    return {
        "STREAMS_DITTO_SYNC_SUBJECT": f"integration:test-{run}",
        "STREAMS_DITTO_COMMAND_CONNECTION": f"test-commands-{run}",
        "STREAMS_DITTO_EVENT_CONNECTION": f"test-events-{run}",
        "STREAMS_COMMAND_TOPIC": f"test.commands.{run}",
        "STREAMS_REPLY_TOPIC": f"test.replies.{run}",
        "STREAMS_EVENT_TOPIC": f"test.events.{run}",
    }


def _settings(stack: Settings, env: dict[str, str]) -> Settings:
    prefix = "STREAMS_"
    return stack.model_copy(update={k[len(prefix) :].lower(): v for k, v in env.items()})


def _http(settings: Settings, devops: bool = False) -> httpx.Client:
    user, password = (
        (settings.ditto_devops_user, settings.ditto_devops_password)
        if devops
        else (settings.ditto_user, settings.ditto_password)
    )
    auth = (user, password.get_secret_value())
    return httpx.Client(base_url=f"{settings.ditto_url}/api/2", auth=auth, timeout=10)


@pytest.fixture
def isolated(stack: Settings) -> Iterator[tuple[str, dict[str, str], Settings]]:
    run = uuid.uuid4().hex[:8]
    env = _env(run)
    settings = _settings(stack, env)
    tenant = f"bt{run}"
    yield tenant, env, settings
    with _http(settings, devops=True) as devops:
        devops.delete(f"/connections/{settings.ditto_command_connection}")
        devops.delete(f"/connections/{settings.ditto_event_connection}")
    with _http(settings) as api:
        api.delete(f"/policies/{tenant}:default-policy")


def _bootstrap_cli(env: dict[str, str], tenant: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "ditto", "bootstrap", "--tenant", tenant],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _like(actual: Any, template: Any) -> Any:
    """`actual` cut down to the fields the template names (Ditto adds defaults)."""
    if isinstance(template, dict) and isinstance(actual, dict):
        return {k: _like(actual[k], v) for k, v in template.items() if k in actual}
    if isinstance(template, list) and isinstance(actual, list):
        return [_like(a, t) for a, t in zip(actual, template, strict=False)]
    return actual


def test_a_second_run_changes_nothing_and_ditto_holds_the_files(
    isolated: tuple[str, dict[str, str], Settings],
) -> None:
    tenant, env, settings = isolated
    policy_id = f"{tenant}:default-policy"

    first = _bootstrap_cli(env, tenant)
    second = _bootstrap_cli(env, tenant)

    assert f"policy     {policy_id}" in first
    assert [line.split()[-1] for line in first.splitlines()[1:4]] == ["created"] * 3
    assert [line.split()[-1] for line in second.splitlines()[1:4]] == ["unchanged"] * 3
    assert "0 of 3 Ditto entities created or updated" in second
    with _http(settings) as api, _http(settings, devops=True) as devops:
        for entity in desired_state(settings, [policy_id]):
            client = api if entity.kind == "policy" else devops
            held = client.get(entity.path.removeprefix("/api/2"))
            assert held.status_code == 200, held.text
            assert _like(held.json(), entity.body) == entity.body
    # The policy's entries exactly: no extra subject and no extra resource.
    policy = desired_state(settings, [policy_id])[0].body
    with _http(settings) as api:
        entries = api.get(f"/policies/{policy_id}").json()["entries"]
    assert set(entries) == set(policy["entries"]) == {"ADMIN", "SYNC"}
    assert entries["SYNC"]["subjects"].keys() == {settings.ditto_sync_subject}
    assert entries["SYNC"]["resources"] == {
        "thing:/": {"grant": ["READ", "WRITE"], "revoke": []},
        "policy:/": {"grant": ["READ"], "revoke": []},
    }


def test_a_changed_setting_updates_only_the_entity_that_uses_it(
    isolated: tuple[str, dict[str, str], Settings],
) -> None:
    tenant, _, settings = isolated
    policies = [f"{tenant}:default-policy"]
    bootstrap(settings, policies)
    moved = settings.model_copy(update={"reply_topic": f"{settings.reply_topic}.moved"})

    results = bootstrap(moved, policies)

    outcomes = {r.desired.entity_id: (r.outcome, r.differences) for r in results}
    assert outcomes == {
        policies[0]: (Outcome.UNCHANGED, ()),
        settings.ditto_command_connection: (
            Outcome.UPDATED,
            ("/sources/0/replyTarget/address",),
        ),
        settings.ditto_event_connection: (Outcome.UNCHANGED, ()),
    }
    with _http(settings, devops=True) as devops:
        held = devops.get(f"/connections/{settings.ditto_command_connection}").json()
    address = held["sources"][0]["replyTarget"]["address"]
    assert address == f"{moved.reply_topic}/{{{{ thing:id }}}}"


def test_errors_name_the_fix(isolated: tuple[str, dict[str, str], Settings]) -> None:
    tenant, _, settings = isolated
    policies = [f"{tenant}:default-policy"]
    away = settings.model_copy(update={"ditto_url": "http://127.0.0.1:9"})
    wrong_devops = settings.model_copy(update={"ditto_devops_user": "nobody"})

    with pytest.raises(StackError, match="streams stack up"):
        bootstrap(away, policies)
    with pytest.raises(ConfigError, match=r"STREAMS_DITTO_DEVOPS_USER.*DEVOPS_PASSWORD"):
        bootstrap(wrong_devops, policies)
