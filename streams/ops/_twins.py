"""Twins read and edited through Ditto's HTTP API, as the demo shows them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import quote

import httpx

from streams.config import Settings
from streams.errors import StackError

MERGE_PATCH = "application/merge-patch+json"


class Twins:
    """Ditto's things API as the API user (the admin subject of every tenant policy)."""

    def __init__(self, settings: Settings) -> None:
        self._url = settings.ditto_url
        auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
        self._http = httpx.Client(base_url=settings.ditto_url, auth=auth, timeout=10.0)

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

    def _request(self, method: str, thing_id: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"/api/2/things/{quote(thing_id, safe=':')}{path}"
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise StackError(
                f"Ditto at {self._url} did not answer ({exc}): `streams stack up`, "
                "or point STREAMS_DITTO_URL at it"
            ) from exc


__all__ = ["MERGE_PATCH", "Twins"]
