"""Twins read and edited through Ditto's HTTP API: the demo's edits, and validate's
batched, decimal-exact reads and its repairs."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from streams.config import Settings
from streams.errors import ConfigError, RejectedByDittoError, StackError
from streams.mapping import dumps

log = logging.getLogger(__name__)

MERGE_PATCH = "application/merge-patch+json"
# A Ditto gateway that does not serve `GET /api/2/things?ids=` (the stand-in) says so.
_NO_BATCH_ERRORS = frozenset({"signals.commands:path.unknown", "gateway:path.unknown"})


class Twins:
    """Ditto's things API as the API user (the admin subject of every tenant policy)."""

    def __init__(self, settings: Settings, timeout: float = 10.0) -> None:
        self._url = settings.ditto_url
        self._user = settings.ditto_user
        auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
        self._http = httpx.Client(base_url=settings.ditto_url, auth=auth, timeout=timeout)
        self._batch: bool | None = None  # None: not asked yet whether `?ids=` is served
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def get(self, thing_id: str, path: str = "", fields: str | None = None) -> Any | None:
        """The twin (or the value at `path` below it); None when Ditto has none."""
        params = {"fields": fields} if fields else None
        response = self._request("GET", thing_id, path, params=params)
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.json()

    def missing(self, thing_ids: Iterable[str]) -> list[str]:
        return [t for t in thing_ids if self.get(t, fields="thingId") is None]

    def merge(self, thing_id: str, path: str, value: Any) -> None:
        """A merge at `path` made by a person, not by the sync: it must reach the row."""
        headers = {"content-type": MERGE_PATCH}
        self._request("PATCH", thing_id, path, json=value, headers=headers).raise_for_status()

    def fetch(self, thing_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The twins Ditto has of `thing_ids`, by id, with numbers as exact Decimals (a
        missing or unreadable twin is absent). One `?ids=` request where Ditto serves it,
        else one request per twin."""
        if self._batch is not False and thing_ids:
            found = self._fetch_batch(thing_ids)
            if found is not None:
                return found
        twins = (self._fetch_one(t) for t in thing_ids)
        return {twin["thingId"]: twin for twin in twins if twin is not None}

    def _fetch_batch(self, thing_ids: list[str]) -> dict[str, dict[str, Any]] | None:
        response = self._send("GET", "/api/2/things", params={"ids": ",".join(thing_ids)})
        if self._batch is not True and _serves_no_batch(response):
            with self._lock:  # threads may find it out at once: say it once
                if self._batch is None:
                    log.info(
                        "ditto url=%s serves no GET /api/2/things?ids=: one GET each", self._url
                    )
                self._batch = False
            return None
        self._check(response, "GET /api/2/things?ids=...")
        self._batch = True
        return {twin["thingId"]: twin for twin in _exact_json(response)}

    def _fetch_one(self, thing_id: str) -> dict[str, Any] | None:
        response = self._request("GET", thing_id, "")
        if response.status_code == 404:
            return None
        self._check(response, f"GET {thing_id}")
        twin: dict[str, Any] = _exact_json(response)
        return twin

    def modify(self, thing: Mapping[str, Any], headers: Mapping[str, str]) -> int:
        """PUT of the whole twin (create or replace); Ditto's status."""
        body = dumps(thing).encode()
        response = self._request(
            "PUT", str(thing["thingId"]), "", content=body, headers=_json_headers(headers)
        )
        self._check(response, f"PUT {thing['thingId']}")
        return response.status_code

    def merge_exact(
        self, thing_id: str, patch: Mapping[str, Any], headers: Mapping[str, str]
    ) -> int:
        """A merge at the root with Decimals written exactly; Ditto's status."""
        all_headers = {**_json_headers(headers), "content-type": MERGE_PATCH}
        response = self._request(
            "PATCH", thing_id, "", content=dumps(patch).encode(), headers=all_headers
        )
        self._check(response, f"PATCH {thing_id}")
        return response.status_code

    def _check(self, response: httpx.Response, what: str) -> None:
        if response.is_success:
            return
        if response.status_code == 401:
            raise ConfigError(
                f"Ditto refused user {self._user!r} (401): check STREAMS_DITTO_USER and "
                "STREAMS_DITTO_PASSWORD"
            )
        status, (error, message) = response.status_code, _error_of(response)
        text = f"Ditto at {self._url} answered {status} to {what}: {error}: {message}"
        if 400 <= status < 500 and status not in (408, 429):
            raise RejectedByDittoError(text, status, error, message)
        raise StackError(text)

    def _request(self, method: str, thing_id: str, path: str, **kwargs: Any) -> httpx.Response:
        return self._send(method, f"/api/2/things/{quote(thing_id, safe=':')}{path}", **kwargs)

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise StackError(
                f"Ditto at {self._url} did not answer ({exc}): `streams stack up`, "
                "or point STREAMS_DITTO_URL at it"
            ) from exc


def _json_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {"content-type": "application/json", **headers}


def _exact_json(response: httpx.Response) -> Any:
    """The body with every JSON fraction as a Decimal: 2.875 stays 2.875, exactly."""
    return json.loads(response.text, parse_float=Decimal)


def _serves_no_batch(response: httpx.Response) -> bool:
    if response.status_code == 405:
        return True
    return response.status_code in (400, 404) and _error_code(response) in _NO_BATCH_ERRORS


def _error_code(response: httpx.Response) -> str:
    return _error_of(response)[0]


def _error_of(response: httpx.Response) -> tuple[str, str]:
    """Ditto's error code and message, or ("", the start of a body that is not Ditto's)."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:300]
    if not isinstance(body, dict):
        return "", response.text[:300]
    return str(body.get("error", "")), str(body.get("message", ""))


__all__ = ["MERGE_PATCH", "Twins"]
