"""A bounded stop: SIGTERM or SIGINT gives the worker STREAMS_WORKER_STOP_TIMEOUT seconds.

Faust stops by letting the agents finish their events and committing the offsets they
acknowledged. With Kafka away that commit retries for ever and the process never
exits, so a pod waits out its grace period and is killed without a word. The watch
below runs on a thread of its own, because the event loop is the thing that hangs:
past the timeout it logs every partition whose records were read and not committed,
and exits 1. Those records are read again by the partition's next owner; the per-key
and per-revision gates drop what was already applied.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping
from typing import Any

import faust

log = logging.getLogger(__name__)

EXIT_NOT_COMMITTED = 1


def uncommitted(consumer: Any) -> dict[str, tuple[int | None, int]]:
    """`topic[partition]` -> (committed offset, last record read) where records from the
    committed offset on were read and not committed.

    Reads Faust's own bookkeeping from another thread: a copy, and nothing at all if
    the loop changes it under our feet. The last read record, not the acknowledged ones:
    Faust takes acknowledged offsets off its list when a commit starts, not when it ends.
    """
    read: Mapping[Any, int | None] = getattr(consumer, "_read_offset", {})
    acked: Mapping[Any, list[int]] = getattr(consumer, "_acked", {})
    committed: Mapping[Any, int | None] = getattr(consumer, "_committed_offset", {})
    try:
        last = {tp: offset for tp, offset in list(read.items()) if offset is not None}
        with_acks = {tp for tp, offsets in list(acked.items()) if offsets}
        for tp in with_acks:
            last[tp] = max(last.get(tp, acked[tp][-1]), *acked[tp])
        pending: dict[str, tuple[int | None, int]] = {}
        for tp, offset in sorted(last.items()):
            done = committed.get(tp)
            # Faust's read offset starts at the committed one (the next to read) after a
            # seek, so equal means read only when an acknowledgement says so.
            if done is None or done < offset or (done == offset and tp in with_acks):
                pending[f"{tp.topic}[{tp.partition}]"] = (done, offset)
        return pending
    except RuntimeError:  # changed size during the copy: the loop is still moving
        return {}


def describe(pending: Mapping[str, tuple[int | None, int]]) -> str:
    if not pending:
        return "every record read is committed"
    return ", ".join(
        f"{tp}@{'start' if done is None else done}..{last}" for tp, (done, last) in pending.items()
    )


class StopWatch:
    """Armed by the first stop signal; exits the process once the timeout has passed."""

    def __init__(self, app: faust.App, timeout: float, bootstrap: str) -> None:
        self._app = app
        self._timeout = timeout
        self._bootstrap = bootstrap
        self._timer: threading.Timer | None = None
        self._at_signal: dict[str, tuple[int | None, int]] = {}

    def arm(self) -> None:
        if self._timer is not None:
            return
        # On the loop's thread, before the stop revokes the partitions and Faust forgets
        # what it read: the expiry reports this when nothing newer is known.
        self._at_signal = uncommitted(self._app.consumer)
        log.info("stopping timeout=%gs: finishing events, committing offsets", self._timeout)
        self._timer = threading.Timer(self._timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def _expire(self) -> None:
        pending = uncommitted(self._app.consumer) or self._at_signal
        log.error(
            "stop timed out after %gs (STREAMS_WORKER_STOP_TIMEOUT): is Kafka at %s "
            "reachable, and Postgres, Ditto and the registry (a batch in hand waits for "
            "them)? not committed: %s; exiting %d, the next owner of these partitions "
            "reads them again",
            self._timeout,
            self._bootstrap,
            describe(pending),
            EXIT_NOT_COMMITTED,
        )
        for handler in logging.getLogger().handlers:
            handler.flush()
        sys.stderr.flush()
        os._exit(EXIT_NOT_COMMITTED)  # the loop is stuck: no clean exit can run


class BoundedWorker(faust.Worker):
    """faust.Worker whose stop on SIGTERM or SIGINT ends within `stop_timeout` seconds."""

    def __init__(
        self, app: faust.App, *, stop_timeout: float, bootstrap: str, **kwargs: Any
    ) -> None:
        # Our own log set-up (streams.logs: key=value or JSON) stays in place; Faust's
        # would turn every line, ours too, into its own unstructured format. Quiet: no
        # banner or spinner on stdout, the ready line below says the same in one line.
        super().__init__(app, override_logging=False, quiet=True, **kwargs)
        self.spinner = None  # Faust draws it on stdout with terminal escapes
        self._watch = StopWatch(app, stop_timeout, bootstrap)
        self._bootstrap = bootstrap

    async def on_startup_finished(self) -> None:
        await super().on_startup_finished()
        conf = self.app.conf
        log.info(
            "worker ready group=%s kafka=%s web=%s data_dir=%s",
            conf.id,
            self._bootstrap,
            conf.web_port,
            conf.datadir,
        )

    async def on_shutdown(self) -> None:
        await super().on_shutdown()
        # Runs once the app and its consumer have stopped, within the bound.
        log.info("worker stopped group=%s", self.app.conf.id)

    def _on_sigterm(self) -> None:
        self._watch.arm()
        super()._on_sigterm()

    def _on_sigint(self) -> None:
        self._watch.arm()
        super()._on_sigint()


__all__ = ["EXIT_NOT_COMMITTED", "BoundedWorker", "StopWatch", "describe", "uncommitted"]
