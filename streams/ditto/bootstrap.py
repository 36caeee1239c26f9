"""`streams ditto bootstrap`: the tenant policies and the two Kafka connections, set up
through Ditto's HTTP API from the templates under deploy/ditto/.

Idempotent: each entity is read first and written only when it is missing or differs
from its filled template (see `drift`), so a second run changes nothing.

Two connections, on purpose: Ditto sends no event back to the connection whose command
caused it, so with one connection the revision of a twin would jump past our own writes
unseen. With a separate event connection our writes come back as echoes, which the way
back recognises by their origin header and uses to move its revision on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from streams.config import Settings
from streams.ditto._templates import drift, load_template
from streams.errors import ConfigError, StackError
from streams.mapping import TableMapping
from streams.mapping.thing_id import validate_entity_id, validate_namespace

log = logging.getLogger(__name__)

POLICY_TEMPLATE = "policy.json"
COMMAND_CONNECTION_TEMPLATE = "connection-commands.json"
EVENT_CONNECTION_TEMPLATE = "connection-events.json"
TIMEOUT = 10.0


class Outcome(StrEnum):
    CREATED = "created"
    UNCHANGED = "unchanged"
    UPDATED = "updated"


@dataclass(frozen=True)
class Desired:
    """One Ditto entity as its template asks for it."""

    kind: str  # "policy" or "connection"
    entity_id: str
    body: dict[str, Any]
    template: Path

    @property
    def path(self) -> str:
        collection = "policies" if self.kind == "policy" else "connections"
        return f"/api/2/{collection}/{quote(self.entity_id, safe=':')}"


@dataclass(frozen=True)
class Applied:
    desired: Desired
    outcome: Outcome
    differences: tuple[str, ...] = ()


def policy_ids(mappings: Mapping[str, TableMapping], tenants: Iterable[str]) -> list[str]:
    """The policy every mapping names for each tenant (`<tenant>:default-policy`)."""
    # The tenant is checked on its own first, so its error names the tenant and not the
    # policy id it was built into.
    ids = {
        validate_entity_id(
            m.policy_id.format(tenant=validate_namespace(t), kind=m.kind),
            what="policy id",
            fix=f"use a shorter tenant than {t[:20]!r}...",
        )
        for m in mappings.values()
        for t in tenants
    }
    return sorted(ids)


def placeholders(settings: Settings) -> dict[str, str]:
    """What the templates may name: `${sync_subject}`, `${command_topic}`, ..."""
    first_server = settings.kafka_bootstrap.split(",")[0].strip()
    return {
        "sync_subject": settings.ditto_sync_subject,
        "admin_subject": settings.ditto_admin_subject,
        "kafka_bootstrap": settings.kafka_bootstrap,
        "kafka_uri": f"tcp://{first_server}",
        "command_topic": settings.command_topic,
        "reply_topic": settings.reply_topic,
        "event_topic": settings.event_topic,
    }


def desired_state(settings: Settings, policies: Iterable[str]) -> list[Desired]:
    """Every entity bootstrap manages, filled from the settings, policies first."""
    folder = settings.ditto_deploy_dir
    values = placeholders(settings)
    policy = folder / POLICY_TEMPLATE
    wanted = [Desired("policy", pid, load_template(policy, values), policy) for pid in policies]
    for name, file in (
        (settings.ditto_command_connection, COMMAND_CONNECTION_TEMPLATE),
        (settings.ditto_event_connection, EVENT_CONNECTION_TEMPLATE),
    ):
        body = load_template(folder / file, {**values, "connection_id": name})
        wanted.append(Desired("connection", name, body, folder / file))
    return wanted


class _DittoHttp:
    """Ditto's HTTP API with its failures turned into errors that name the fix."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        user = (settings.ditto_user, settings.ditto_password.get_secret_value())
        devops = (settings.ditto_devops_user, settings.ditto_devops_password.get_secret_value())
        self._clients = {
            "policy": httpx.Client(base_url=settings.ditto_url, auth=user, timeout=TIMEOUT),
            "connection": httpx.Client(base_url=settings.ditto_url, auth=devops, timeout=TIMEOUT),
        }

    def close(self) -> None:
        for client in self._clients.values():
            client.close()

    def get(self, entity: Desired) -> dict[str, Any] | None:
        response = self._call(entity, "GET")
        if response.status_code == 404:
            return None
        self._check(entity, response)
        found: dict[str, Any] = response.json()
        return found

    def put(self, entity: Desired) -> None:
        self._check(entity, self._call(entity, "PUT", entity.body))

    def _call(self, entity: Desired, method: str, body: Any = None) -> httpx.Response:
        try:
            return self._clients[entity.kind].request(method, entity.path, json=body)
        except httpx.TransportError as exc:
            raise StackError(
                f"Ditto at {self._settings.ditto_url} did not answer ({exc}): start it with "
                "`streams stack up`, or point STREAMS_DITTO_URL at it"
            ) from exc

    def _check(self, entity: Desired, response: httpx.Response) -> None:
        if response.is_success:
            return
        if response.status_code == 401:
            raise ConfigError(f"Ditto refused the credentials: {self._credential_hint(entity)}")
        raise ConfigError(
            f"Ditto answered {response.status_code} to {entity.kind} {entity.entity_id} "
            f"from {entity.template}: {_ditto_message(response)}{_hint(entity, response)}"
        )

    def _credential_hint(self, entity: Desired) -> str:
        if entity.kind == "connection":
            who = self._settings.ditto_devops_user
            return f"check STREAMS_DITTO_DEVOPS_USER ({who}) and STREAMS_DITTO_DEVOPS_PASSWORD"
        who = self._settings.ditto_user
        return f"check STREAMS_DITTO_USER ({who}) and STREAMS_DITTO_PASSWORD"


def _ditto_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        return f"{body.get('error')}: {body.get('message')} {body.get('description') or ''}"
    return str(body)[:500]


def _hint(entity: Desired, response: httpx.Response) -> str:
    if entity.kind == "policy" and response.status_code in (403, 404):
        return (
            " (the policy exists and our user may not write it: STREAMS_DITTO_ADMIN_SUBJECT "
            "must be the subject of STREAMS_DITTO_USER, e.g. nginx:<user>)"
        )
    return ""


def _apply(http: _DittoHttp, entity: Desired) -> Applied:
    current = http.get(entity)
    if current is None:
        http.put(entity)
        return Applied(entity, Outcome.CREATED)
    differences = tuple(drift(entity.body, current))
    if not differences:
        return Applied(entity, Outcome.UNCHANGED)
    http.put(entity)
    return Applied(entity, Outcome.UPDATED, differences)


def bootstrap(
    settings: Settings,
    policies: Iterable[str],
    on_applied: Callable[[Applied], None] = lambda applied: None,
    kinds: Iterable[str] = ("policy", "connection"),
) -> list[Applied]:
    """Create or update every entity that differs from its template; report each one.
    `kinds` limits the run, e.g. to the policies of a Ditto without Kafka connections."""
    chosen = set(kinds)
    wanted = [e for e in desired_state(settings, policies) if e.kind in chosen]
    http = _DittoHttp(settings)
    results: list[Applied] = []
    try:
        for entity in wanted:
            applied = _apply(http, entity)
            log.debug("ditto %s=%s %s", entity.kind, entity.entity_id, applied.outcome.value)
            on_applied(applied)
            results.append(applied)
    finally:
        http.close()
    return results


__all__ = [
    "Applied",
    "Desired",
    "Outcome",
    "bootstrap",
    "desired_state",
    "placeholders",
    "policy_ids",
]
