"""`streams demo`: the main job on the real sample estate, narrated step by step.

1. count the legacy rows per table and tenant;
2. set Ditto up as code (`streams ditto bootstrap`: tenant policies, Kafka connections);
3. run a worker of the consumer group until every sample row has its command and Ditto
   holds every twin;
4. edit one real row (a Volve well's oil rate): one merge command, and the twin follows;
5. edit that twin in Ditto: the row follows, and the sink's write does not come back
   as a command (no loop);
6. stop the worker with SIGTERM, which commits what it processed.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import psycopg

from streams.config import Settings
from streams.ditto.bootstrap import bootstrap, policy_ids
from streams.ditto.protocol import decode
from streams.errors import StackError, ThingIdError
from streams.kafka.reader import end_offsets, read_to_end
from streams.mapping import dumps, identity, load_mappings
from streams.ops._twins import Twins
from streams.ops.legacy_tenants import legacy_tenants
from streams.ops.worker_process import WorkerProcess

Say = Callable[[str], None]
DEMO_WELL = ("nordic", "15/9-F-12")
RATE_PATH = "/features/production/properties/oilRateBopd"
NO_LOOP_WAIT = 8.0  # seconds in which an echo of the sink's write would have come back


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


def _sample_thing_ids(settings: Settings, say: Say) -> set[str]:
    """The thing id of every row; a row whose key makes no valid id is a dead letter."""
    mappings = load_mappings(settings.mappings_dir)
    ids: set[str] = set()
    with psycopg.connect(settings.pg_dsn) as conn:
        for table, mapping in mappings.items():
            keys = ", ".join(mapping.key)
            for row in conn.execute(f"SELECT {keys} FROM {table}").fetchall():
                key = dict(zip(mapping.key, row, strict=True))
                try:
                    ids.add(identity(mapping, key).thing_id)
                except ThingIdError as exc:
                    say(f"legacy {table} row {key}: no twin, a dead letter ({exc})")
    return ids


def _wait_for(check: Callable[[], bool], timeout: float) -> float:
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise StackError(
                f"the demo waited {timeout:.0f}s in vain: see the worker log "
                "(.stack/run/demo-worker.log) and `streams stack status`"
            )
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
    expected = _sample_thing_ids(settings, say)
    _set_up_ditto(settings, say)

    worker = WorkerProcess(settings.stack_dir / "run" / "demo-worker.log")
    worker.start()
    say(f"worker started: group {settings.consumer_group}, log {worker.log_file}")
    twins = Twins(settings)
    try:
        _wait_for_commands(settings, say, expected)
        _wait_for_twins(twins, say, expected)
        thing_id, rate = _edit_row(settings, twins, say)
        _edit_twin(settings, twins, say, thing_id, rate)
    finally:
        twins.close()
        code = worker.stop()
        say(f"worker stopped with SIGTERM (exit {code}); its offsets are committed")


def _set_up_ditto(settings: Settings, say: Say) -> None:
    mappings = load_mappings(settings.mappings_dir)
    tenants = legacy_tenants(settings, mappings)
    applied = bootstrap(settings, policy_ids(mappings, tenants))
    outcomes = Counter(a.outcome.value for a in applied)
    kinds = Counter(a.desired.kind for a in applied)
    say(
        f"ditto bootstrap: {kinds['policy']} tenant policies, {kinds['connection']} "
        "Kafka connections (" + ", ".join(f"{o}={n}" for o, n in sorted(outcomes.items())) + ")"
    )


def _wait_for_commands(settings: Settings, say: Say, expected: set[str]) -> None:
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


def _wait_for_twins(twins: Twins, say: Say, expected: set[str]) -> None:
    missing = sorted(expected)
    start = told = time.monotonic()

    def all_there() -> bool:
        nonlocal missing, told
        missing = twins.missing(missing)
        if missing and time.monotonic() - told > 10:
            say(f"  ditto: {len(expected) - len(missing)} of {len(expected)} twins so far")
            told = time.monotonic()
        return not missing

    try:
        _wait_for(all_there, timeout=120)
    except StackError:
        raise StackError(
            f"Ditto lacks {len(missing)} of {len(expected)} twins (first: {missing[0]}). "
            "If the Ditto stand-in was restarted, it lost every twin (it keeps nothing) while "
            "its connection's Kafka offsets stayed: start afresh with `make down`, "
            "`rm -rf .stack`, `make demo`. Otherwise see the worker log and the "
            "dead-letter topic (stage ditto-reply)"
        ) from None
    say(f"ditto: all {len(expected)} twins present ({time.monotonic() - start:.1f}s)")


def _demo_thing_id(settings: Settings) -> str:
    tenant, code = DEMO_WELL
    wells = load_mappings(settings.mappings_dir)["wells"]
    return identity(wells, {"tenant": tenant, "well_code": code}).thing_id


def _row_rate(settings: Settings) -> Decimal | None:
    with psycopg.connect(settings.pg_dsn) as conn:
        row = conn.execute(
            "SELECT oil_rate_bopd FROM wells WHERE tenant=%s AND well_code=%s", DEMO_WELL
        ).fetchone()
    return row[0] if row else None


def _edit_row(settings: Settings, twins: Twins, say: Say) -> tuple[str, Decimal]:
    """Legacy -> Ditto: one row edit, its one merge command, the twin's new value."""
    tenant, code = DEMO_WELL
    thing_id = _demo_thing_id(settings)
    seen = _ends(settings)
    new_rate = (_row_rate(settings) or Decimal(0)) + Decimal("1.5")
    with psycopg.connect(settings.pg_dsn, autocommit=True) as conn:
        conn.execute(
            "UPDATE wells SET oil_rate_bopd=%s WHERE tenant=%s AND well_code=%s",
            (new_rate, tenant, code),
        )
    say(f"row edit: wells {tenant}/{code} oil_rate_bopd -> {new_rate}")
    start = time.monotonic()
    _wait_for(lambda: bool(_commands_for(settings, thing_id, seen)), timeout=60)
    for command in _commands_for(settings, thing_id, seen):
        say(
            f"  -> {command['topic']} {dumps(command.get('value'))} "
            f"({time.monotonic() - start:.1f}s after the commit)"
        )
    _wait_for(lambda: _twin_rate(twins, thing_id) == new_rate, timeout=60)
    say(f"  -> twin {thing_id} oilRateBopd = {new_rate} in Ditto")
    return thing_id, new_rate


def _edit_twin(settings: Settings, twins: Twins, say: Say, thing_id: str, rate: Decimal) -> None:
    """Ditto -> legacy: a person edits the twin; the row follows and nothing loops."""
    new_rate = rate + Decimal("2.25")
    seen = _ends(settings)
    twins.merge(thing_id, RATE_PATH, float(new_rate))
    say(f"twin edit in Ditto: {thing_id} oilRateBopd -> {new_rate}")
    start = time.monotonic()
    _wait_for(lambda: _row_rate(settings) == new_rate, timeout=60)
    say(
        f"  -> row wells {'/'.join(DEMO_WELL)} oil_rate_bopd = {new_rate} "
        f"({time.monotonic() - start:.1f}s after the edit)"
    )
    time.sleep(NO_LOOP_WAIT)
    echoes = _commands_for(settings, thing_id, seen)
    if echoes:
        raise RuntimeError(f"the sink's write came back as {len(echoes)} command(s): a loop")
    say(f"  -> no command for {thing_id} in {NO_LOOP_WAIT:.0f}s: the sink's write was an echo")


def _twin_rate(twins: Twins, thing_id: str) -> Decimal | None:
    value = twins.get(thing_id, RATE_PATH)
    return None if value is None else Decimal(str(value))


def _commands_for(settings: Settings, thing_id: str, seen: dict[int, int]) -> list[dict[str, Any]]:
    """Commands for `thing_id` past the `seen` end offsets."""
    prefix = thing_id.replace(":", "/", 1) + "/"
    return [c for c in _commands(settings, seen) if c["topic"].startswith(prefix)]
