"""Bring the whole local stack up or down, in dependency order, and report on it.

Parts (each a module of this package with processes/up/down/healthy):
postgres -> kafka -> connect (registers Debezium) -> models (WoT thing models) -> ditto.
`up` is idempotent: a part that is already healthy is left alone. With
STREAMS_STACK_EXTERNAL the parts run elsewhere (docker-compose.test.yml) and `up` only
waits until each one is healthy.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from streams.config import Settings
from streams.errors import StackError
from streams.stack._process import ServiceProcess, wait_until
from streams.stack.seed import seed

log = logging.getLogger(__name__)

PART_NAMES = ("postgres", "kafka", "connect", "models", "ditto", "avro")
EXTERNAL_READY_TIMEOUT = 300.0


@dataclass(frozen=True)
class PartStatus:
    name: str
    healthy: bool
    pids: dict[str, int | None]


def _part(name: str) -> ModuleType:
    return importlib.import_module(f"streams.stack.{name}")


def selected(only: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The parts `only` names, in start order (all when empty); an unknown name is an error."""
    unknown = sorted(set(only) - set(PART_NAMES))
    if unknown:
        raise StackError(f"unknown part {', '.join(unknown)}: --only takes {', '.join(PART_NAMES)}")
    return tuple(n for n in PART_NAMES if not only or n in only)


def up(
    settings: Settings,
    only: tuple[str, ...] = (),
    on_ready: Callable[[str, float], None] = lambda name, seconds: None,
) -> dict[str, float]:
    """Start each part that is not healthy yet; returns the seconds each took."""
    timings: dict[str, float] = {}
    for name in selected(only):
        start = time.monotonic()
        if settings.stack_external:
            _wait_external(settings, name)
        else:
            _part(name).up(settings)
        if name == "postgres":
            # Seed before Connect starts, so Debezium's initial snapshot holds the estate.
            seed(settings)
        timings[name] = time.monotonic() - start
        on_ready(name, timings[name])
    return timings


def _wait_external(settings: Settings, name: str) -> None:
    """A part we did not start: wait until it answers, never start or stop it."""
    wait_until(
        lambda: bool(_part(name).healthy(settings)),
        what=name,
        timeout=EXTERNAL_READY_TIMEOUT,
        fix="the stack is external (STREAMS_STACK_EXTERNAL=true): "
        "see `docker compose -f docker-compose.test.yml ps` and its logs",
    )


def down(settings: Settings, only: tuple[str, ...] = ()) -> list[str]:
    """Stop parts in reverse order; only processes recorded in our pid files are signalled.
    Returns the parts that were running and are stopped now."""
    stopped = []
    for name in reversed(selected(only)):
        part = _part(name)
        running = any(proc.running() for proc in part.processes(settings))
        part.down(settings)
        if running:
            stopped.append(name)
    return stopped


def status(settings: Settings) -> list[PartStatus]:
    result = []
    for name in PART_NAMES:
        part = _part(name)
        procs: list[ServiceProcess] = part.processes(settings)
        result.append(
            PartStatus(
                name=name,
                healthy=bool(part.healthy(settings)),
                pids={p.name: p.pid() for p in procs},
            )
        )
    return result


def processes(settings: Settings, only: tuple[str, ...] = ()) -> list[ServiceProcess]:
    procs: list[ServiceProcess] = []
    for name in selected(only):
        procs.extend(_part(name).processes(settings))
    return procs
