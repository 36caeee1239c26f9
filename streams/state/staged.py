"""A store whose writes wait until `commit`: a decision can be taken and then withdrawn.

The legacy flow writes a key's state while it decides; when the phase then holds the
change back, the state must stay what the twin holds, so the agent gives the flow a
Staged view and commits it only for a change it sends.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

_DELETED = object()


class Staged(MutableMapping[str, Any]):
    """Reads see the staged writes; the store sees them only after `commit`."""

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self._store = store
        self._staged: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        value = self._staged.get(key, self._store.get(key, _DELETED))
        if value is _DELETED:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._staged[key] = value

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._staged[key] = _DELETED

    def __iter__(self) -> Iterator[str]:
        keys = dict.fromkeys([*self._store, *self._staged])
        return (k for k in keys if k in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        if key in self._staged:
            return self._staged[key] is not _DELETED
        return key in self._store

    def commit(self) -> None:
        for key, value in self._staged.items():
            if value is _DELETED:
                self._store.pop(key, None)
            else:
                self._store[key] = value
        self._staged.clear()


__all__ = ["Staged"]
