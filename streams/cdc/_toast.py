"""Debezium's stand-ins for an unchanged TOASTed value, in every shape it writes them.

Postgres leaves an unchanged out-of-line value out of the WAL, so Debezium cannot know
it and writes `unavailable.value.placeholder` instead, shaped after the column type. Such a
column is unknown, never a value: the decoder drops it from the row and names it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any

DEFAULT_PLACEHOLDER = "__debezium_unavailable_value"


def _name_uuid(raw: bytes) -> str:
    # Java's UUID.nameUUIDFromBytes: MD5 of the bytes, version 3, IETF variant.
    digest = bytearray(hashlib.md5(raw).digest())  # an id, not security
    digest[6] = (digest[6] & 0x0F) | 0x30
    digest[8] = (digest[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(digest)))


@dataclass(frozen=True, slots=True)
class Placeholder:
    """All shapes of one configured placeholder, precomputed for fast comparison."""

    text: str
    raw: bytes
    base64_text: str
    byte_list: tuple[int, ...]
    uuid_text: str
    hstore_text: str

    @classmethod
    def of(cls, configured: str = DEFAULT_PLACEHOLDER) -> Placeholder:
        # `hex:` lets the connector config give a binary placeholder.
        if configured.startswith("hex:"):
            raw = bytes.fromhex(configured[4:])
            text = raw.decode("utf-8", errors="replace")
        else:
            raw, text = configured.encode(), configured
        return cls(
            text=text,
            raw=raw,
            base64_text=base64.b64encode(raw).decode(),
            byte_list=tuple(raw),
            uuid_text=_name_uuid(raw),
            hstore_text=json.dumps({text: text}, separators=(",", ":")),
        )

    def matches(self, value: Any) -> bool:
        """True when `value` is this placeholder in any of Debezium's shapes."""
        if isinstance(value, str):
            return value in (self.text, self.base64_text, self.hstore_text)
        if isinstance(value, list) and value:
            return self._matches_list(value)
        if isinstance(value, dict) and len(value) == 1:
            return value.get(self.text) == self.text
        return False

    def _matches_list(self, value: list[Any]) -> bool:
        if len(value) == 1:
            return value[0] in (self.text, self.uuid_text, self.base64_text)
        return tuple(value) == self.byte_list


__all__ = ["DEFAULT_PLACEHOLDER", "Placeholder"]
