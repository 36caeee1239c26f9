"""Final twins of a replay written through Ditto's HTTP API, conditionally and concurrently.

Each write carries `if-equal: skip`: a twin that already holds the value is answered 412
and Ditto persists nothing, so a repeated write costs no revision and no event. Each
also carries our origin header (`streams-origin: legacy`): Ditto copies it into the
event the write causes, and the way back drops that event as an echo instead of writing
the row the twin came from.

Answers: 408, 429, 5xx and no answer are retried with capped backoff, then raise
DittoUnavailableError; 401 is a ConfigError; any other refusal is a RejectedByDittoError
in the result (a dead letter for the caller), and the other writes go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import httpx

from streams.config import Settings
from streams.ditto.protocol import (
    MERGE_PATCH,
    ORIGIN_HEADER,
    SOURCE_HEADER,
    SOURCE_LSN_HEADER,
    SOURCE_TS_HEADER,
    SOURCE_TX_HEADER,
    delete_thing,
    merge_thing,
    modify_thing,
)
from streams.errors import ConfigError, DittoUnavailableError, RejectedByDittoError
from streams.mapping import dumps
from streams.state.replay_fold import FinalTwin, TwinOp

log = logging.getLogger(__name__)

# The command headers that travel with a write (Ditto copies them into its event).
_PASSED_HEADERS = (
    "correlation-id",
    ORIGIN_HEADER,
    SOURCE_HEADER,
    SOURCE_LSN_HEADER,
    SOURCE_TX_HEADER,
    SOURCE_TS_HEADER,
)
TIMEOUT = 30.0
ATTEMPTS = 6
BACKOFF_START = 0.5
BACKOFF_CAP = 8.0


class Written(StrEnum):
    CREATED = "created"
    MODIFIED = "modified"
    UNCHANGED = "unchanged"
    DELETED = "deleted"
    ABSENT = "already-absent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class WriteResult:
    twin: FinalTwin
    outcome: Written
    error: RejectedByDittoError | None = None


def request_of(twin: FinalTwin) -> tuple[str, dict[str, str], bytes | None]:
    """Method, headers and body of one final twin's write."""
    headers = {h: str(twin.headers[h]) for h in _PASSED_HEADERS if h in twin.headers}
    if twin.op is TwinOp.DELETE:
        return "DELETE", headers, None
    headers["if-equal"] = "skip"
    body = dumps(twin.value or {}).encode()
    if twin.op is TwinOp.MERGE:
        # if-match: * keeps a merge from creating a twin of only its paths (see protocol).
        return "PATCH", {**headers, "content-type": MERGE_PATCH, "if-match": "*"}, body
    return "PUT", {**headers, "content-type": "application/json"}, body


def outcome_of(twin: FinalTwin, response: httpx.Response) -> Written:
    """What Ditto's answer means; raises for a refusal and for what is worth a retry."""
    status = response.status_code
    if twin.op is TwinOp.DELETE and status == 404:
        return Written.ABSENT
    if status in (200, 201, 204):
        if twin.op is TwinOp.DELETE:
            return Written.DELETED
        return Written.CREATED if status == 201 else Written.MODIFIED
    error, message = _ditto_error(response)
    if status == 412 and "if-equal" in message:
        return Written.UNCHANGED
    if status in (408, 429) or status >= 500:
        raise DittoUnavailableError(f"Ditto answered {status} for {twin.thing_id}: {message}")
    if status == 401:
        raise ConfigError(
            "Ditto refused the credentials (401): check STREAMS_DITTO_USER and "
            "STREAMS_DITTO_PASSWORD"
        )
    raise RejectedByDittoError(
        f"Ditto refused the {twin.op.value} of {twin.thing_id} ({status} {error}): {message}",
        status,
        error,
        message,
    )


def _ditto_error(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:500]
    if not isinstance(body, dict):
        return "", str(body)[:500]
    return str(body.get("error") or ""), str(body.get("message") or "")


class TwinWriter:
    """Writes final twins with at most `concurrency` requests in flight."""

    def __init__(self, settings: Settings, concurrency: int) -> None:
        self._settings = settings
        self._concurrency = concurrency

    def write_all(
        self, twins: Iterable[FinalTwin], on_result: Callable[[WriteResult], None]
    ) -> list[WriteResult]:
        return asyncio.run(self._write_all(list(twins), on_result))

    async def _write_all(
        self, twins: list[FinalTwin], on_result: Callable[[WriteResult], None]
    ) -> list[WriteResult]:
        settings = self._settings
        auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
        limits = httpx.Limits(max_connections=self._concurrency)
        gate = asyncio.Semaphore(self._concurrency)
        async with httpx.AsyncClient(
            base_url=settings.ditto_url, auth=auth, timeout=TIMEOUT, limits=limits
        ) as client:

            async def one(twin: FinalTwin) -> WriteResult:
                async with gate:
                    result = await self._write(client, twin)
                on_result(result)
                return result

            return list(await asyncio.gather(*(one(twin) for twin in twins)))

    async def _write(self, client: httpx.AsyncClient, twin: FinalTwin) -> WriteResult:
        method, headers, body = request_of(twin)
        url = f"/api/2/things/{quote(twin.thing_id, safe=':')}"
        delay, attempt = BACKOFF_START, 1
        while True:
            try:
                response = await self._send(client, method, url, headers, body)
                return WriteResult(twin, outcome_of(twin, response))
            except RejectedByDittoError as exc:
                return WriteResult(twin, Written.FAILED, exc)
            except DittoUnavailableError as exc:
                if attempt == ATTEMPTS:
                    raise DittoUnavailableError(
                        f"{exc}; gave up after {ATTEMPTS} attempts. Nothing was committed: "
                        "once Ditto answers, run `streams replay --from committed`"
                    ) from exc
                log.warning("ditto retry thing=%s in=%.1fs error=%s", twin.thing_id, delay, exc)
                await asyncio.sleep(delay)
                delay, attempt = min(delay * 2, BACKOFF_CAP), attempt + 1

    async def _send(
        self,
        client: httpx.AsyncClient,
        method: str,
        url: str,
        headers: dict[str, str],
        body: bytes | None,
    ) -> httpx.Response:
        try:
            return await client.request(method, url, headers=headers, content=body)
        except httpx.TransportError as exc:
            raise DittoUnavailableError(
                f"Ditto at {self._settings.ditto_url} did not answer ({exc.__class__.__name__}: "
                f"{exc}): `streams stack status`, or point STREAMS_DITTO_URL at it"
            ) from exc


def command_of(twin: FinalTwin) -> dict[str, Any]:
    """The Ditto Protocol command a final twin stands for (a dead letter's value)."""
    if twin.op is TwinOp.DELETE:
        return delete_thing(twin.thing_id, twin.headers)
    if twin.op is TwinOp.MERGE:
        return merge_thing(twin.thing_id, twin.value or {}, twin.headers)
    return modify_thing(twin.value or {}, twin.headers)


__all__ = ["TwinWriter", "WriteResult", "Written", "command_of", "outcome_of", "request_of"]
