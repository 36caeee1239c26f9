"""`streams demo`: the main job on the real sample estate, narrated step by step.

1. count the legacy rows per table and tenant;
2. run a worker of the consumer group until every sample row has its command;
3. edit one real row (a Volve well's oil rate) and show the one merge it becomes;
4. stop the worker with SIGTERM, which commits what it processed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg

from streams.config import Settings
from streams.ditto.protocol import decode
from streams.kafka.reader import end_offsets, read_to_end
from streams.mapping import dumps, identity, load_mappings
from streams.ops.worker_process import WorkerProcess

Say = Callable[[str], None]
DEMO_WELL = ("nordic", "15/9-F-12")


def _legacy_counts(settings: Settings) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = {}
    with psycopg.connect(settings.pg_dsn) as conn:
        for table in ("basins", "wells"):
            rows = conn.execute(f"SELECT tenant, count(*) FROM {table} GROUP BY 1").fetchall()
            counts[table] = Counter({tenant: n for tenant, n in rows})
    return counts


def _commands(settings: Settings, after: dict[int, int] | None = None) -> list[dict[str, Any]]:
    """Commands in the topic, or only those past the `after` end offsets."""
    after = after or {}
    return [
        decode(r.value)
        for r in read_to_end(settings.kafka_bootstrap, settings.command_topic)
        if r.value and r.offset >= after.get(r.partition, 0)
    ]


def _ends(settings: Settings) -> dict[int, int]:
    return {
        p: hi
        for p, (_, hi) in end_offsets(settings.kafka_bootstrap, settings.command_topic).items()
    }


def _sample_thing_ids(settings: Settings) -> set[str]:
    mappings = load_mappings(settings.mappings_dir)
    ids: set[str] = set()
    with psycopg.connect(settings.pg_dsn) as conn:
        for table, mapping in mappings.items():
            keys = ", ".join(mapping.key)
            for row in conn.execute(f"SELECT {keys} FROM {table}").fetchall():
                key = dict(zip(mapping.key, row, strict=True))
                ids.add(identity(mapping, key).thing_id)
    return ids


def _wait_for(check: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"not done after {timeout:.0f}s")
        time.sleep(0.5)
    return time.monotonic() - start


def _quiet(settings: Settings, seconds: float = 3.0) -> list[dict[str, Any]]:
    """The command topic once the worker has caught up (no new command for `seconds`)."""
    commands = _commands(settings)
    while True:
        time.sleep(seconds)
        latest = _commands(settings)
        if len(latest) == len(commands):
            return latest
        commands = latest


def run(settings: Settings, say: Say) -> None:
    counts = _legacy_counts(settings)
    for table, by_tenant in counts.items():
        tenants = ", ".join(f"{t}={n}" for t, n in sorted(by_tenant.items()))
        say(f"legacy {table}: {sum(by_tenant.values())} rows ({tenants})")
    expected = _sample_thing_ids(settings)

    worker = WorkerProcess(settings.stack_dir / "run" / "demo-worker.log")
    worker.start()
    say(f"worker started: group {settings.consumer_group}, log {worker.log_file}")
    try:

        def covered() -> bool:
            return expected <= {
                c["value"]["thingId"] for c in _commands(settings) if c["topic"].endswith("/modify")
            }

        seconds = _wait_for(covered, timeout=300)
        commands = _quiet(settings)
        actions = Counter(c["topic"].rsplit("/", 1)[-1] for c in commands)
        say(
            f"{settings.command_topic}: every one of {len(expected)} rows has its twin command "
            f"(waited {seconds:.1f}s); commands in topic: "
            + ", ".join(f"{a}={n}" for a, n in sorted(actions.items()))
        )
        _edit_one_row(settings, say, _ends(settings))
    finally:
        code = worker.stop()
        say(f"worker stopped with SIGTERM (exit {code}); its offsets are committed")


def _edit_one_row(settings: Settings, say: Say, seen: dict[int, int]) -> None:
    tenant, code = DEMO_WELL
    thing_id = identity(
        load_mappings(settings.mappings_dir)["wells"], {"tenant": tenant, "well_code": code}
    ).thing_id
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT oil_rate_bopd FROM wells WHERE tenant=%s AND well_code=%s", (tenant, code)
        ).fetchone()
        new_rate = (row[0] if row and row[0] is not None else Decimal(0)) + Decimal("1.5")
        conn.execute(
            "UPDATE wells SET oil_rate_bopd=%s WHERE tenant=%s AND well_code=%s",
            (new_rate, tenant, code),
        )
    say(f"row edit: wells {tenant}/{code} oil_rate_bopd -> {new_rate}")
    start = time.monotonic()

    def for_thing() -> list[dict[str, Any]]:
        return [
            c
            for c in _commands(settings, seen)
            if c["topic"].replace("/", ":", 1).startswith(thing_id + "/")
        ]

    _wait_for(lambda: bool(for_thing()), timeout=60)
    for command in for_thing():
        say(
            f"  -> {command['topic']} {dumps(command.get('value'))} "
            f"({time.monotonic() - start:.1f}s after the commit)"
        )
