"""Read a Faust table of another agent from every partition this worker holds.

While an event is processed, Faust's RocksDB store reads only that event's partition. A
table written from another topic's partitions is read outside the event's context,
where the store looks in every partition this worker holds. The table is looked up by
name at the first read, so the agent that owns it may register after the reader.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from typing import Any

import faust


class CrossPartition(Mapping[str, Any]):
    def __init__(self, app: faust.App, name: str) -> None:
        self._app = app
        self._name = name

    def _table(self) -> Any:
        return self._app.tables.get(self._name)

    def __getitem__(self, key: str) -> Any:
        table = self._table()
        if table is None:
            raise KeyError(key)
        return contextvars.Context().run(table.__getitem__, key)

    def __iter__(self) -> Iterator[str]:
        table = self._table()
        keys = [] if table is None else contextvars.Context().run(lambda: list(table.keys()))
        return iter(keys)

    def __len__(self) -> int:
        return sum(1 for _ in self)


__all__ = ["CrossPartition"]
