"""Bench: our Postgres sink agent beside Debezium's JDBC sink connector, same row changes.

`python -m bench.sink_to_postgres --rows N` writes N row changes of N/2 wells (the
inserts, then an update of each) twice: as SinkChange JSON into a topic our sink agent
reads, and as Debezium change events (JsonConverter with schemas) into a topic the JDBC
sink connector reads (see bench/_row_changes.py). In each round, each contestant writes
them into its own fresh copy of `wells`:

- ours: a real `streams worker` (own group, topics and data dir) whose sink agent reads
  the SinkChange topic;
- jdbc: Debezium's JDBC sink connector on the stack's Connect, upsert by record key;
- jdbc-unnest: the same with its Postgres UNNEST fast path on.

Each is timed by Postgres: a row trigger stamps every write, and changes/s is the changes
over the time from the first row written to the last (bench/_tables.py). Rounds rotate
who goes first; the medians give the ratios. After each round the tables must hold the
same rows and values. Everything the bench created (connectors, topics, groups, tables,
the trigger function, worker data dirs) is deleted at the end.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from bench import _contestants, _input, _jdbc_sink, _row_changes, _sink_alone, _tables, _topics
from bench._report import console, say
from streams.agents.postgres_sink import BATCH_MAX
from streams.config import PROJECT_ROOT, Settings, get_settings
from streams.kafka.topics import TopicSpec
from streams.stack import connect, kafka

RESULTS = PROJECT_ROOT / "bench" / "results"
CONTESTANTS = ("ours", "jdbc", "jdbc-unnest")
GOAL = 2.0  # ours / jdbc
FIRST_ROW_TIMEOUT = 180.0  # worker start-up on a busy 2-core machine included
STALL_TIMEOUT = 60.0
POLL = 0.25
PROGRESS_EVERY = 3.0


@dataclass(frozen=True)
class Plan:
    settings: Settings
    rows: int
    prefix: str  # topics, groups, connectors: bench-<hex>
    logs: Path

    @property
    def wells(self) -> int:
        return self.rows // 2

    @property
    def changes(self) -> int:
        return 2 * self.wells

    @property
    def ours_topic(self) -> str:
        return f"{self.prefix}-sink"

    @property
    def debezium_topic(self) -> str:
        return f"{self.prefix}-dbz.public.wells"

    @property
    def table_prefix(self) -> str:
        return self.prefix.replace("-", "_")

    def table(self, contestant: str) -> str:
        return f"{self.table_prefix}_{contestant.replace('-', '_')}"

    @property
    def stamp_function(self) -> str:
        return f"{self.table_prefix}_stamp"


@dataclass(frozen=True)
class Run:
    contestant: str
    round: int
    changes: int
    seconds: float
    changes_per_s: float
    client_cpu_ms_per_change: float | None


def main(
    rows: Annotated[
        int, typer.Option(min=200, help="Row changes: inserts of rows/2 wells, then updates.")
    ] = 60_000,
    rounds: Annotated[int, typer.Option(min=1, help="Rounds; who goes first rotates.")] = 3,
    alone: Annotated[
        bool, typer.Option(help="Also time our sink in-process, without Kafka and Faust.")
    ] = True,
) -> None:
    """Changes/s of our Postgres sink agent and of Debezium's JDBC sink connector writing
    the same row changes into the same Postgres, their ratio (goal: ours >= 2x), and a
    check that the tables end equal."""
    settings = get_settings()
    if not kafka.healthy(settings) or not connect.healthy(settings):
        raise SystemExit("Kafka or Connect is not up: start the local stack: streams stack up")
    _check_plugin(settings)
    plan = _plan(settings, rows)
    try:
        report = _bench(plan, rounds)
        if alone:
            report["ours_sink_alone"] = _alone(plan)
    finally:
        _cleanup(plan, rounds)
    path = RESULTS / f"sink_to_postgres-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    console.print(f"results: {path.relative_to(PROJECT_ROOT)}")


def _check_plugin(settings: Settings) -> None:
    plugins = httpx.get(f"{settings.connect_url}/connector-plugins", timeout=10).json()
    if not any(p["class"] == _jdbc_sink.CONNECTOR_CLASS for p in plugins):
        raise SystemExit(
            "Connect lacks Debezium's JDBC sink connector: run `streams stack up` (it puts "
            "deploy/maven/connect/debezium-jdbc on the plugin path and restarts Connect)"
        )


def _plan(settings: Settings, rows: int) -> Plan:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    logs = RESULTS / f"logs-{prefix}"
    logs.mkdir(parents=True, exist_ok=True)
    return Plan(settings, rows, prefix, logs)


def _bench(plan: Plan, rounds: int) -> dict[str, Any]:
    _prepare_input(plan)
    runs: list[Run] = []
    equal: list[dict[str, Any]] = []
    for number in range(1, rounds + 1):
        shift = (number - 1) % len(CONTESTANTS)
        for name in CONTESTANTS[shift:] + CONTESTANTS[:shift]:
            runs.append(_run(plan, name, number))
        equal.append(_compare(plan, number))
    return _summary(plan, runs, equal)


def _prepare_input(plan: Plan) -> None:
    settings = plan.settings
    n = settings.topic_partitions
    empty = f"{plan.prefix}-empty.public"  # the worker's CDC agent reads these: kept empty
    specs = [TopicSpec(plan.ours_topic, n), TopicSpec(plan.debezium_topic, n)]
    specs += [TopicSpec(f"{empty}.{table}", n) for table in ("wells", "basins")]
    _topics.create(settings.kafka_bootstrap, specs)
    templates = _input.load_templates(settings)
    say(f"building {plan.changes} row changes of {plan.wells} wells in both forms")
    built = list(
        _row_changes.changes(templates, plan.changes, plan.table("ours"), plan.debezium_topic)
    )
    _input.write_records(settings, plan.debezium_topic, (c.debezium for c in built))
    _input.write_records(settings, plan.ours_topic, (c.ours for c in built))
    sizes = [
        sum(len(c.debezium[1]) for c in built) // len(built),
        sum(len(c.ours[1]) for c in built) // len(built),
    ]
    say(
        f"input: {plan.changes} changes -> {plan.debezium_topic} (Debezium JSON with schema, "
        f"~{sizes[0]} B each) and {plan.ours_topic} (SinkChange JSON, ~{sizes[1]} B each)"
    )


def _run(plan: Plan, name: str, number: int) -> Run:
    table = plan.table(name)
    _tables.create(plan.settings.pg_dsn, table, plan.stamp_function)
    label = f"round {number} {name:11}"
    if name == "ours":
        cpu = _run_ours(plan, number, table, label)
    else:
        cpu = _run_jdbc(plan, name, number, table, label)
    seconds = _tables.span(plan.settings.pg_dsn, table).seconds
    rate = (plan.changes - 1) / seconds if seconds > 0 else 0.0
    per_change = None if cpu is None else round(1000 * cpu / plan.changes, 3)
    run = Run(name, number, plan.changes, round(seconds, 3), round(rate, 1), per_change)
    cpu_text = "" if per_change is None else f", client {per_change:.3f} CPU ms/change"
    say(f"{label}: {plan.changes} changes in {seconds:.3f}s = {rate:,.1f} changes/s{cpu_text}")
    return run


def _run_ours(plan: Plan, number: int, table: str, label: str) -> float | None:
    contestant = _contestants.start_ours(
        plan.settings,
        f"{plan.prefix}-ours-{number}",
        f"{plan.prefix}-empty",
        plan.logs / f"ours-{number}.log",
        sink_topic=plan.ours_topic,
    )

    def check() -> None:
        if contestant.proc.poll() is not None:
            raise SystemExit(f"our worker exited: see {contestant.log}")

    try:
        return _wait(plan, table, label, check, contestant.proc.pid)
    finally:
        _contestants.stop(contestant)


def _run_jdbc(plan: Plan, name: str, number: int, table: str, label: str) -> float | None:
    connector = f"{plan.prefix}-{name}-{number}"
    settings = plan.settings
    unnest = name == "jdbc-unnest"
    _jdbc_sink.start(settings, connector, plan.debezium_topic, table, unnest=unnest)

    def check() -> None:
        reason = _jdbc_sink.failure(settings, connector)
        if reason is not None:
            raise SystemExit(f"{connector} failed: {reason} (see .stack/run/connect.log)")

    try:
        return _wait(plan, table, label, check, connect.processes(settings)[0].pid())
    finally:
        _jdbc_sink.stop(settings, connector)


def _wait(
    plan: Plan, table: str, label: str, check: Callable[[], None], pid: int | None
) -> float | None:
    """Poll the table until every well holds its update; returns the client's CPU seconds
    from the first row seen to the last (None without a pid)."""
    dsn = plan.settings.pg_dsn
    started = last_change = last_said = time.monotonic()
    seen = (0, 0)
    cpu_first: float | None = None
    while True:
        now = _tables.progress(dsn, table)
        if (now.rows, now.updated) != seen:
            if cpu_first is None and pid is not None:
                cpu_first = _contestants.cpu_seconds(pid)
            seen, last_change = (now.rows, now.updated), time.monotonic()
        if now.updated >= plan.wells:
            if cpu_first is None or pid is None:
                return None
            return _contestants.cpu_seconds(pid) - cpu_first
        if time.monotonic() - last_said >= PROGRESS_EVERY:
            say(f"{label}: {now.rows} wells inserted, {now.updated} updated of {plan.wells}")
            last_said = time.monotonic()
        check()
        _timeouts(label, now.rows, started, last_change)
        time.sleep(POLL)


def _timeouts(label: str, rows: int, started: float, last_change: float) -> None:
    now = time.monotonic()
    if rows == 0 and now - started > FIRST_ROW_TIMEOUT:
        raise SystemExit(f"{label}: no row written in {FIRST_ROW_TIMEOUT:.0f}s")
    if rows > 0 and now - last_change > STALL_TIMEOUT:
        raise SystemExit(f"{label}: no progress for {STALL_TIMEOUT:.0f}s")


def _compare(plan: Plan, number: int) -> dict[str, Any]:
    """Each JDBC table against ours: the same rows with the same values, every column."""
    result: dict[str, Any] = {"round": number}
    for name in CONTESTANTS[1:]:
        only_ours, only_theirs = _tables.differences(
            plan.settings.pg_dsn, plan.table("ours"), plan.table(name)
        )
        result[name] = {"only_in_ours": only_ours, "only_in_theirs": only_theirs}
        verdict = "equal" if only_ours == only_theirs == 0 else "[red]DIFFERENT[/red]"
        say(
            f"round {number}: ours vs {name}: {verdict} ({only_ours} rows only in ours, "
            f"{only_theirs} only in {name}; {plan.wells} wells, every column of wells)"
        )
    return result


def _summary(plan: Plan, runs: list[Run], equal: list[dict[str, Any]]) -> dict[str, Any]:
    medians = {
        name: statistics.median(r.changes_per_s for r in runs if r.contestant == name)
        for name in CONTESTANTS
    }
    ratios = {
        f"ours/{name}": round(medians["ours"] / medians[name], 3) if medians[name] else 0.0
        for name in CONTESTANTS[1:]
    }
    all_equal = all(
        part["only_in_ours"] == part["only_in_theirs"] == 0
        for check in equal
        for key, part in check.items()
        if key != "round"
    )
    _print_summary(plan, medians, ratios, all_equal, len(equal))
    return {
        "bench": "sink_to_postgres",
        "changes": plan.changes,
        "wells": plan.wells,
        "runs": [asdict(r) for r in runs],
        "median_changes_per_s": medians,
        "ratios": ratios,
        "goal_ours_to_jdbc": GOAL,
        "tables_equal": all_equal,
        "comparisons": equal,
        "jdbc_config": _jdbc_sink.config(
            plan.settings, plan.debezium_topic, plan.table("jdbc"), unnest=False
        )
        | {"connection.password": "***"},
    }


def _print_summary(
    plan: Plan, medians: dict[str, float], ratios: dict[str, float], equal: bool, rounds: int
) -> None:
    console.print(
        f"\n[bold]median of {rounds} rounds over {plan.changes} changes of {plan.wells} "
        "wells[/bold] (changes/s from the first row written to the last, Postgres' clock)"
    )
    for name, rate in medians.items():
        console.print(f"  {name:12} {rate:>10,.1f} changes/s")
    for pair, ratio in ratios.items():
        verdict = "met" if ratio >= GOAL else "missed"
        console.print(f"  {pair:17} = {ratio:.2f}x (goal >= {GOAL:.0f}x: {verdict})")
    console.print(f"  tables equal in every round: {'yes' if equal else '[red]NO[/red]'}")


def _alone(plan: Plan) -> dict[str, Any]:
    records = _input.read_records(plan.settings.kafka_bootstrap, plan.ours_topic)
    values = [r.value for r in records if r.value is not None]
    with console.status("timing our sink alone, in-process"):
        result = _sink_alone.measure(
            plan.settings.pg_dsn, values, plan.table("ours"), plan.stamp_function
        )
    cpu_ms = 1000 * result.write_cpu_seconds / result.changes
    console.print(
        f"\n[bold]our sink alone[/bold] (SinkChange.from_json + PostgresSink.write in batches "
        f"of {BATCH_MAX}, one thread, no Kafka, no Faust): {result.changes_per_s:,.1f} "
        f"changes/s; decode {result.decode_seconds:.3f}s, write {result.write_seconds:.3f}s "
        f"({result.write_changes_per_s:,.1f} changes/s, {cpu_ms:.3f} CPU ms/change in "
        f"Python, first to last row {result.span_seconds:.3f}s)"
    )
    return asdict(result) | {"changes_per_s": round(result.changes_per_s, 1)}


def _cleanup(plan: Plan, rounds: int) -> None:
    settings = plan.settings
    for number in range(1, rounds + 1):
        for name in CONTESTANTS[1:]:
            _jdbc_sink.stop(settings, f"{plan.prefix}-{name}-{number}")
    groups = [f"{plan.prefix}-ours-{n}" for n in range(1, rounds + 1)]
    groups += [
        _jdbc_sink.group(f"{plan.prefix}-{name}-{n}")
        for name in CONTESTANTS[1:]
        for n in range(1, rounds + 1)
    ]
    bootstrap = settings.kafka_bootstrap
    _topics.delete(bootstrap, _topics.topics_with_prefix(bootstrap, plan.prefix), groups)
    dropped = _tables.drop(settings.pg_dsn, plan.table_prefix, plan.stamp_function)
    say(f"cleaned up: topics and groups of {plan.prefix}, tables {', '.join(dropped) or 'none'}")


if __name__ == "__main__":
    typer.run(main)
