"""Writer schemas from Apicurio Registry (or any Confluent-compatible registry).

A content id (Confluent's 4-byte framing) is read from the Confluent-compatible API,
`/apis/ccompat/v6/schemas/ids/<id>`, which Confluent's own registry serves without the
prefix; a global id (Apicurio's header framing) from `/apis/registry/v2/ids/globalIds/<id>`.
A schema under an id never changes, so each is fetched once and kept.

The split that decides what a failure does to the record:
- the registry does not answer, times out, or answers 5xx or 429: RegistryUnavailableError,
  the record waits and is retried (a registry restart must not dead-letter events);
- the registry answers 404 for the id: DecodeError, the record names a schema nobody
  has (a registry that lost its schemas, or a topic written against another registry).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import httpx

from streams.cdc.avro import IdKind, SchemaRef
from streams.errors import DecodeError, RegistryUnavailableError

log = logging.getLogger(__name__)


class RegistryClient:
    """Fetches and caches writer schemas. Each id is fetched once, so a request opens
    its own connection and nothing is left open between fetches.

    `schema(ref)` returns the schema with every schema it references (Apicurio registers
    Debezium's `Source` record as one of its own): the referenced ones first, in an
    order where each follows what it names, the writer schema last.
    """

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 3.0))
        self._cache: dict[SchemaRef, list[Any]] = {}
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self._base

    def schema(self, ref: SchemaRef) -> list[Any]:
        cached = self._cache.get(ref)
        if cached is not None:
            return cached
        with self._lock:
            schemas = self._cache.get(ref) or self._with_references(ref)
            self._cache[ref] = schemas
        log.info("fetched schema kind=%s id=%d references=%d", ref.kind, ref.id, len(schemas) - 1)
        return schemas

    def _with_references(self, ref: SchemaRef) -> list[Any]:
        if ref.kind is IdKind.CONTENT:
            body = self._get(f"/apis/ccompat/v6/schemas/ids/{ref.id}", ref)
            return self._ccompat(body, ref)
        schema = self._get(f"/apis/registry/v2/ids/globalIds/{ref.id}", ref)
        refs = self._get(f"/apis/registry/v2/ids/globalIds/{ref.id}/references", ref)
        return [*self._v2_references(refs, ref), schema]

    def _ccompat(self, body: Any, ref: SchemaRef) -> list[Any]:
        out: list[Any] = []
        for item in _as_list(body.get("references"), ref):
            path = f"/apis/ccompat/v6/subjects/{item['subject']}/versions/{item['version']}"
            out += self._ccompat(self._get(path, ref), ref)
        return [*out, _text_schema(body.get("schema"), ref)]

    def _v2_references(self, refs: Any, ref: SchemaRef) -> list[Any]:
        out: list[Any] = []
        for item in _as_list(refs, ref):
            group = item.get("groupId") or "default"
            path = f"/apis/registry/v2/groups/{group}/artifacts/{item['artifactId']}/versions/"
            path += str(item["version"])
            nested = self._get(path + "/references", ref)
            out += [*self._v2_references(nested, ref), self._get(path, ref)]
        return out

    def _get(self, path: str, ref: SchemaRef) -> Any:
        try:
            response = httpx.get(self._base + path, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise RegistryUnavailableError(
                f"schema registry at {self._base} did not answer ({type(exc).__name__}: "
                f"{exc}); is it up? (streams stack up, or STREAMS_SCHEMA_REGISTRY_URL)"
            ) from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise RegistryUnavailableError(
                f"schema registry at {self._base} answered {response.status_code}",
                retry_after=_retry_after(response),
            )
        if response.status_code == 404:
            raise DecodeError(
                f"the schema registry at {self._base} has no schema {ref.kind} {ref.id} "
                f"({path}): the topic was written against another registry, or this one "
                "lost its schemas (in-memory storage restarted)"
            )
        if response.status_code != 200:
            raise DecodeError(
                f"the schema registry answered {response.status_code} to {path}: "
                f"{response.text[:300]}"
            )
        try:
            return response.json()
        except ValueError as exc:
            raise DecodeError(f"the schema registry sent no JSON for {path}") from exc


def _text_schema(text: Any, ref: SchemaRef) -> Any:
    try:
        return json.loads(text)
    except (TypeError, ValueError) as exc:
        raise DecodeError(f"schema {ref.kind} {ref.id} is not Avro schema JSON: {exc}") from exc


def _as_list(value: Any, ref: SchemaRef) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DecodeError(f"schema {ref.kind} {ref.id}: references are not a list")
    return value


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("retry-after", ""))
    except ValueError:
        return None


__all__ = ["RegistryClient"]
