"""A few calls of Kafka Connect's REST API, its HTTP errors translated into StackError."""

from __future__ import annotations

import json
import logging
import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from streams.config import Settings
from streams.errors import StackError

log = logging.getLogger(__name__)

_TIMEOUT = httpx.Timeout(30.0, connect=3.0)
Alive = Callable[[], bool]


def load_connector(path: Path, settings: Settings, **extra: str) -> tuple[str, dict[str, str]]:
    """Name and config of a connector file, its `${field}` placeholders filled in.

    A placeholder names a Settings field (`${pg_port}`) or a keyword of `extra`;
    `$$` stands for a literal dollar. An unknown name is an error, never left as is.
    """
    spec = json.loads(path.read_text())
    values = {name: _text(getattr(settings, name)) for name in type(settings).model_fields}
    values.update(extra)
    try:
        config = {
            key: string.Template(str(value)).substitute(values)
            for key, value in spec["config"].items()
        }
    except KeyError as exc:
        raise StackError(f"{path}: placeholder ${{{exc.args[0]}}} is no setting") from exc
    return str(spec["name"]), config


def _text(value: object) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


def _call(method: str, url: str, body: Any = None) -> httpx.Response:
    try:
        return httpx.request(method, url, json=body, timeout=_TIMEOUT)
    except httpx.HTTPError as exc:
        raise StackError(f"Kafka Connect at {url} did not answer: {exc}") from exc


def _check(response: httpx.Response, what: str) -> Any:
    if response.status_code >= 400:
        raise StackError(f"{what}: Connect answered {response.status_code} {response.text[:500]}")
    return response.json() if response.content else None


def worker_ready(base_url: str) -> bool:
    """True once the worker has joined its group and serves requests (GET /health)."""
    try:
        return httpx.get(f"{base_url}/health", timeout=_TIMEOUT).status_code == 200
    except httpx.HTTPError:
        return False


def put_connector(base_url: str, name: str, config: dict[str, str]) -> bool:
    """Create or update a connector; False (and no write) when the config is unchanged.

    Connect restarts a connector on every PUT, even an identical one, so compare first.
    """
    current = _call("GET", f"{base_url}/connectors/{name}/config")
    if current.status_code == 200 and _without_name(current.json()) == _without_name(config):
        return False
    _check(_call("PUT", f"{base_url}/connectors/{name}/config", config), f"register {name}")
    log.info("registered connector=%s", name)
    return True


def _without_name(config: dict[str, str]) -> dict[str, str]:
    # Connect adds the connector's name to the config it stores.
    return {key: value for key, value in config.items() if key != "name"}


def status(base_url: str, name: str) -> dict[str, Any] | None:
    """The connector's status document, or None when it is not registered."""
    response = _call("GET", f"{base_url}/connectors/{name}/status")
    if response.status_code == 404:
        return None
    result: dict[str, Any] = _check(response, f"status of {name}")
    return result


def connector_running(path: Path, settings: Settings) -> bool:
    """True when the connector of `path` and its task run (False when Connect is away)."""
    name, _ = load_connector(path, settings)
    try:
        return running(status(settings.connect_url, name))
    except StackError:
        return False


def restart_failed_tasks(base_url: str, name: str) -> bool:
    """Restart the connector's failed tasks; False when none failed (or it is absent)."""
    doc = status(base_url, name)
    if doc is None or all(t["state"] != "FAILED" for t in doc["tasks"]):
        return False
    url = f"{base_url}/connectors/{name}/restart?includeTasks=true&onlyFailed=true"
    _check(_call("POST", url), f"restart the failed tasks of {name}")
    return True


def running(doc: dict[str, Any] | None) -> bool:
    if doc is None or doc["connector"]["state"] != "RUNNING":
        return False
    return bool(doc["tasks"]) and all(t["state"] == "RUNNING" for t in doc["tasks"])


def failure(doc: dict[str, Any] | None) -> str | None:
    """The first line of a failed connector's or task's trace, if any failed."""
    if doc is None:
        return None
    for part in (doc["connector"], *doc["tasks"]):
        if part["state"] == "FAILED":
            return str(part.get("trace", "no trace")).splitlines()[0]
    return None


def wait_running(
    base_url: str, name: str, *, alive: Alive, log_file: Path, timeout: float = 120.0
) -> None:
    """Wait until the connector and all its tasks run; fail at once when one failed."""
    deadline = time.monotonic() + timeout
    while True:
        doc = status(base_url, name)
        if running(doc):
            return
        reason = failure(doc)
        if reason is not None:
            raise StackError(
                f"connector {name} failed: {reason} (full trace: "
                f"GET {base_url}/connectors/{name}/status; log {log_file})"
            )
        if not alive():
            raise StackError(f"kafka connect exited while starting {name}: see {log_file}")
        if time.monotonic() > deadline:
            raise StackError(f"connector {name} not running after {timeout:.0f}s: see {log_file}")
        time.sleep(0.5)


def offsets(base_url: str, name: str) -> list[dict[str, Any]]:
    """The source offsets Connect has committed for a connector (GET .../offsets)."""
    doc = _check(_call("GET", f"{base_url}/connectors/{name}/offsets"), f"offsets of {name}")
    return list(doc["offsets"])


def remove_connector(base_url: str, name: str, timeout: float = 60.0) -> bool:
    """Stop a connector, forget its source offsets, then delete it; False if absent.

    Deleting alone would keep its offsets, and a connector of the same name created
    later would resume from them instead of taking a fresh snapshot.
    """
    if status(base_url, name) is None:
        return False
    _check(_call("PUT", f"{base_url}/connectors/{name}/stop"), f"stop {name}")
    deadline = time.monotonic() + timeout
    while (doc := status(base_url, name)) is not None and doc["connector"]["state"] != "STOPPED":
        if time.monotonic() > deadline:
            raise StackError(f"connector {name} did not stop within {timeout:.0f}s")
        time.sleep(0.5)
    _check(_call("DELETE", f"{base_url}/connectors/{name}/offsets"), f"reset offsets of {name}")
    return delete_connector(base_url, name)


def delete_connector(base_url: str, name: str) -> bool:
    response = _call("DELETE", f"{base_url}/connectors/{name}")
    if response.status_code == 404:
        return False
    _check(response, f"delete {name}")
    log.info("deleted connector=%s", name)
    return True


__all__ = [
    "Alive",
    "connector_running",
    "delete_connector",
    "failure",
    "load_connector",
    "offsets",
    "put_connector",
    "remove_connector",
    "restart_failed_tasks",
    "running",
    "status",
    "wait_running",
    "worker_ready",
]
