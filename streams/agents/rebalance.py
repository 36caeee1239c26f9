"""One log line per rebalance step: the partitions this worker took, and those it gave up.

Faust logs these at its own info level, which the streams log set-up leaves out; an
operator following a rebalance (a worker killed, one added) reads them here instead.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, cast

import faust

log = logging.getLogger(__name__)


def tps(partitions: Iterable[Any]) -> str:
    """`topic[0,2,5] other[1]`, sorted: one word per topic, short enough for one line."""
    by_topic: dict[str, list[int]] = defaultdict(list)
    for tp in partitions:
        by_topic[tp.topic].append(tp.partition)
    return " ".join(
        f"{topic}[{','.join(map(str, sorted(numbers)))}]"
        for topic, numbers in sorted(by_topic.items())
    )


def register(app: faust.App) -> None:
    # Faust calls a receiver with the sender, the signal's arguments and `signal=`.
    # The signals are typed as Any: mode's handler type (mypy_extensions NamedArg of a
    # forward reference) matches no function mypy can be shown.
    def revoked(sender: Any, *args: Any, **kwargs: Any) -> None:
        _log("revoked", args[0] if args else ())

    def assigned(sender: Any, *args: Any, **kwargs: Any) -> None:
        _log("assigned", args[0] if args else ())

    cast(Any, app.on_partitions_revoked).connect(revoked)
    cast(Any, app.on_partitions_assigned).connect(assigned)


def _log(what: str, partitions: Iterable[Any]) -> None:
    partitions = list(partitions)
    log.info("partitions %s count=%d tps=%s", what, len(partitions), tps(partitions) or "-")


__all__ = ["register", "tps"]
