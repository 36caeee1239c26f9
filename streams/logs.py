"""Logging set-up: stdlib logging under the `streams` root, key=value or JSON lines.

Lines name the thing id and `topic[partition]@offset` where there is one; the
formatters never print settings, so a credential cannot reach a log line.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time

ROOT = "streams"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class RepeatFilter(logging.Filter):
    """One line per notable event: a library's line repeated within `window` seconds is
    dropped and counted, and its next line after the window says how many were dropped.

    With Kafka away, aiokafka logs the same failed connect thousands of times a second.
    Our own loggers (under ROOT) pass untouched: each of their lines names its record.
    """

    def __init__(self, window: float = 10.0, limit: int = 1000) -> None:
        super().__init__()
        self._window = window
        self._limit = limit
        self._seen: dict[tuple[str, int, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == ROOT or record.name.startswith(ROOT + "."):
            return True
        key = (record.name, record.levelno, record.getMessage())
        first, dropped = self._seen.get(key, (-self._window, 0))
        if record.created - first < self._window:
            self._seen[key] = (first, dropped + 1)
            return False
        if len(self._seen) >= self._limit:
            self._seen.clear()
        self._seen[key] = (record.created, 0)
        if dropped:
            record.msg = f"{record.getMessage()} (and {dropped} more like it before)"
            record.args = None
        return True


KV_FORMAT = "ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"


def _thread_exception(args: threading.ExceptHookArgs) -> None:
    """A thread's uncaught exception as one log line (a client library's I/O thread
    dying with Kafka away), not a bare traceback between the structured lines."""
    name = args.thread.name if args.thread is not None else "?"
    logging.getLogger(ROOT).error(
        "uncaught exception in thread=%s: %s", name, args.exc_type.__name__, exc_info=args.exc_value
    )


def setup(level: str = "INFO", json_lines: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter = (
        JsonFormatter() if json_lines else logging.Formatter(KV_FORMAT, "%Y-%m-%dT%H:%M:%S")
    )
    handler.setFormatter(formatter)
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger(ROOT).setLevel(level.upper())
    threading.excepthook = _thread_exception
