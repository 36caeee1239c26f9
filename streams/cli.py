"""The `streams` command: one sub-command per verb, nothing but argument handling."""

from __future__ import annotations

import errno
import socket
import sys
from enum import StrEnum
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from streams import logs
from streams.config import get_settings
from streams.errors import ConfigError, StreamsError
from streams.state.phase import Phase

app = typer.Typer(
    help="ditto-streams: sync a legacy PostgreSQL estate with Eclipse Ditto twins.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Click's own help: it rewraps our docstrings' lines into paragraphs and lists each
    # command by its first sentence; rich would keep every hard line break.
    rich_markup_mode=None,
)
stack_app = typer.Typer(
    help="The local real stack: Postgres, Kafka, Connect, the thing models, Ditto, the schema "
    "registry with the Avro connector.",
    no_args_is_help=True,
)
app.add_typer(stack_app, name="stack")
ditto_app = typer.Typer(
    help="Ditto set up as code: tenant policies and the Kafka connections.",
    no_args_is_help=True,
)
app.add_typer(ditto_app, name="ditto")
phase_app = typer.Typer(
    help="The migration phase every worker obeys: legacy-primary, dual-write, ditto-primary, "
    "cutover (README: Migration phases and the rollback plan).",
    no_args_is_help=True,
)
app.add_typer(phase_app, name="phase")

PartsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--only", help="Limit to these parts: postgres, kafka, connect, models, ditto, avro."
    ),
]


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"
    CRITICAL = "CRITICAL"


@app.callback()
def _root(
    log_level: Annotated[
        LogLevel, typer.Option(case_sensitive=False, help="Log level of the streams loggers.")
    ] = LogLevel.INFO,
    log_json: Annotated[bool, typer.Option(help="Log JSON lines instead of key=value.")] = False,
) -> None:
    logs.setup(log_level.value, log_json)


@stack_app.command("up")
def stack_up(only: PartsOption = None) -> None:
    """Start every part that is not running yet, wait until each is ready, seed the data."""
    from streams.stack import orchestrator

    def report(name: str, seconds: float) -> None:
        typer.echo(f"{name:<9} ready in {seconds:6.1f}s")

    orchestrator.up(get_settings(), tuple(only or ()), on_ready=report)


@stack_app.command("down")
def stack_down(only: PartsOption = None) -> None:
    """Stop the processes `up` started (from their pid files), newest part first."""
    from streams.stack import orchestrator

    stopped = orchestrator.down(get_settings(), tuple(only or ()))
    typer.echo(f"stopped {', '.join(stopped)}" if stopped else "already stopped")


@stack_app.command("status")
def stack_status() -> None:
    """Show each part, whether it answers, and its pids. Exit 1 when a part is down."""
    from streams.stack import orchestrator

    all_ok = True
    for part in orchestrator.status(get_settings()):
        all_ok &= part.healthy
        pids = " ".join(f"{n}={p if p else '-'}" for n, p in part.pids.items())
        typer.echo(f"{part.name:<9} {'up' if part.healthy else 'DOWN':<5} {pids}")
    raise typer.Exit(0 if all_ok else 1)


@stack_app.command("logs")
def stack_logs(
    only: PartsOption = None,
    lines: Annotated[int, typer.Option("-n", min=0, help="Lines per process (0: none).")] = 40,
) -> None:
    """Print the tail of each process log of the stack."""
    from streams.stack import orchestrator

    procs = orchestrator.processes(get_settings(), tuple(only or ()))
    for proc in procs if lines else []:
        typer.echo(f"==> {proc.log_file} <==")
        typer.echo(proc.log_tail(lines))


@stack_app.command("seed")
def stack_seed() -> None:
    """Load the sample estate into the legacy tables (idempotent)."""
    from streams.stack.seed import seed

    result = seed(get_settings())
    typer.echo(
        f"inserted basins={result.basins} wells={result.wells} "
        f"production_days={result.production_days}"
    )


@ditto_app.command("bootstrap")
def ditto_bootstrap(
    tenant: Annotated[
        list[str] | None,
        typer.Option(
            "--tenant",
            help="Tenant to set up (repeatable); default: every tenant in the legacy tables.",
        ),
    ] = None,
) -> None:
    """Create or update each tenant's policy and the command and event connections from
    the templates under deploy/ditto/; entities that match their template stay as they are."""
    from streams.ditto.bootstrap import Applied, bootstrap, policy_ids
    from streams.mapping import load_mappings
    from streams.ops.legacy_tenants import legacy_tenants

    settings = get_settings()
    mappings = load_mappings(settings.mappings_dir)
    tenants = sorted(set(tenant)) if tenant else legacy_tenants(settings, mappings)
    typer.echo(f"tenants: {', '.join(tenants) or 'none'}")

    def report(applied: Applied) -> None:
        entity = applied.desired
        line = f"{entity.kind:<10} {entity.entity_id:<32} {applied.outcome.value}"
        if applied.differences:
            line += f" ({', '.join(applied.differences)})"
        typer.echo(line)

    results = bootstrap(settings, policy_ids(mappings, tenants), on_applied=report)
    changed = sum(1 for r in results if r.outcome.value != "unchanged")
    typer.echo(f"{changed} of {len(results)} Ditto entities created or updated")


@app.command("demo")
def demo() -> None:
    """The main job on the sample estate: rows become twin commands, an edit becomes a merge."""
    from streams.ops.demo import run

    run(get_settings(), typer.echo)


def _known_tables() -> str:
    try:
        folder = get_settings().mappings_dir
    except StreamsError:  # bad settings: `streams map` itself names them
        return "Known tables: unknown until the settings are valid."
    tables = sorted(p.stem for p in folder.glob("*.toml"))
    return f"Known tables (mappings in {folder}): {', '.join(tables) or 'none'}."


class _MapCommand(TyperCommand):
    """`map --help` ends with the tables that have a mapping, read when help is shown."""

    # Any: typer passes its own vendored click types, which it does not export.
    def format_help(self, ctx: Any, formatter: Any) -> None:
        self.epilog = _known_tables()
        super().format_help(ctx, formatter)


@app.command("map", cls=_MapCommand)
def map_rows(
    table: Annotated[str, typer.Option(help="Table whose mapping to use, e.g. wells.")],
    input_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="json (the default, or STREAMS_CDC_FORMAT) or avro: one {key, value} object "
            "a line, the record's bytes in base64, schemas from --registry.",
        ),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(help="Schema registry URL for --format avro; default: the setting."),
    ] = None,
) -> None:
    """Dry-run a mapping: Debezium events or plain row JSON on stdin, one per line;
    prints the Ditto commands (or skip / error lines) as JSON lines. No Kafka needed.
    Exit 1 when any line gave an error line, 0 otherwise."""
    from streams.mapping import mapping_for
    from streams.ops.map_dry_run import DryRun
    from streams.registry.decoders import record_decoder
    from streams.stack.postgres import SYNC_ORIGIN

    settings = get_settings()
    fmt = input_format or settings.cdc_format
    if fmt not in ("json", "avro"):
        raise typer.BadParameter(f"{fmt!r}: give json or avro", param_hint="--format")
    overrides = {"cdc_format": fmt, "schema_registry_url": registry or settings.schema_registry_url}
    settings = settings.model_copy(update=overrides)
    mapping = mapping_for(settings.mappings_dir, table)
    decoder = record_decoder(settings, {table: mapping})
    run = DryRun(
        mapping,
        models_url=settings.thing_models_url,
        sync_origin=SYNC_ORIGIN,
        decoder=decoder,
        avro=fmt == "avro",
    )
    # Bytes, so a line that is not UTF-8 becomes its own error line.
    for line in run.run(sys.stdin.buffer):
        typer.echo(line)
    raise typer.Exit(1 if run.failed else 0)


@app.command("worker")
def worker(
    port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="HTTP port for /metrics and /health.")
    ] = None,
) -> None:
    """Run one worker of the consumer group until SIGTERM (which commits what it did)."""
    settings = get_settings()
    _check_port_free(settings.worker_web_bind, port or settings.worker_web_port)
    from streams.agents.worker import run

    run(settings, web_port=port)


@app.command("lag")
def lag(
    group: Annotated[
        list[str] | None,
        typer.Option("--group", "-g", help="Group to check (repeatable); default: the worker's."),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Check every group of the cluster.")] = False,
    samples: Annotated[
        int, typer.Option(min=1, max=100, help="Samples in the window the status reads.")
    ] = 3,
    interval: Annotated[
        float, typer.Option(min=0.1, max=3600, help="Seconds between two samples.")
    ] = 2.0,
    max_lag_seconds: Annotated[
        float, typer.Option(min=0, help="WARNING when the oldest unconsumed record is older.")
    ] = 60.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    keep_watching: Annotated[
        bool, typer.Option("--watch", help="Keep sampling; print after every sample.")
    ] = False,
) -> None:
    """Lag of consumer groups per topic and partition, in messages and in time (age of the
    oldest unconsumed record), and a status per group: OK, WARNING, ERROR, STALLED or
    STOPPED (rule in the README, "Lag"). Exit 1 when any group is not OK."""
    import json

    from rich.console import Console

    from streams.ops import lag as lag_ops
    from streams.ops._lag_table import lag_view

    settings = get_settings()
    groups = lag_ops.groups_to_check(settings, group or [], every)
    sampling = lag_ops.Sampling(samples, interval, max_lag_seconds)

    def progress(n: int) -> None:
        if n <= samples:
            typer.echo(f"sample {n}/{samples} of {len(groups)} group(s)", err=True)

    reports: list[lag_ops.GroupReport] | None = None  # None: stopped before one window
    try:
        for reports in lag_ops.watch(settings, groups, sampling, progress, listed=every):
            if as_json:
                typer.echo(json.dumps([r.to_json() for r in reports], ensure_ascii=False))
            else:
                Console().print(*lag_view(reports))
            if not keep_watching:
                break
    except KeyboardInterrupt:
        pass
    raise typer.Exit(0 if reports is not None and all(r.verdict.ok for r in reports) else 1)


@app.command("read")
def read(
    thing_id: Annotated[str, typer.Argument(help="Thing id, e.g. nordic:well-15-9-f-12.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object: thingId, source, reason, value.")
    ] = False,
) -> None:
    """Read a twin from Ditto; when Ditto has none (404) or does not answer, the legacy
    row it comes from, mapped. Says which source answered and why. Exit 1 when neither
    has it."""
    from streams.mapping import dumps
    from streams.ops.read import read_twin

    result = read_twin(get_settings(), thing_id)
    if as_json:
        typer.echo(dumps(result.to_json()))
    else:
        typer.echo(f"source: {result.source or 'none'} ({result.reason})", err=True)
        if result.value is not None:
            typer.echo(dumps(result.value))
    raise typer.Exit(0 if result.source else 1)


@app.command("validate")
def validate(
    table: Annotated[
        list[str] | None,
        typer.Option("--table", "-t", help="Table to check (repeatable); default: every mapped."),
    ] = None,
    tenant: Annotated[
        list[str] | None, typer.Option(help="Check only this tenant's rows (repeatable).")
    ] = None,
    # At most Postgres's bigint, the largest LIMIT it takes.
    sample: Annotated[
        int | None,
        typer.Option(min=1, max=2**63 - 1, help="Check N random rows per table, not all."),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option(
            min=0, max=2**63 - 1, help="Seed of --sample: the same seed picks the same rows."
        ),
    ] = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Send the commands that fix the wrong twins.")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=64, help="Ditto requests in flight.")] = 8,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Compare every legacy row with its twin in Ditto, field by field through the
    mappings: counts per table and each differing field. --repair fixes the twins (never
    the rows). Exit 0 when all agree (after --repair: when every wrong twin was fixed), 1 on
    any difference, 2 when Postgres or Ditto cannot be reached or on a usage error."""
    from rich.console import Console

    from streams.mapping import dumps
    from streams.ops import validate as ops
    from streams.ops._validate_view import validate_view

    options = ops.Options(
        tuple(table or ()), tuple(tenant or ()), sample, seed, repair, concurrency=concurrency
    )
    try:
        report = ops.validate(get_settings(), options, lambda line: typer.echo(line, err=True))
    except StreamsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(dumps(report.to_json()))
    else:
        console = Console(width=200)
        for part in validate_view(report):
            console.print(part)
    raise typer.Exit(0 if report.ok else 1)


@app.command("replay")
def replay(
    start: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="earliest: the whole history; committed (the default): resume from the "
            "group's committed offsets, the earliest where it has none.",
        ),
    ] = None,
    from_offset: Annotated[
        int | None, typer.Option(min=0, help="Start at this offset in every partition.")
    ] = None,
    from_time: Annotated[
        str | None, typer.Option(help="Start at the first record at or after this ISO-8601 time.")
    ] = None,
    from_snapshot: Annotated[
        bool,
        typer.Option(
            "--from-snapshot",
            help="Ask Debezium for an incremental snapshot (signal table) and replay it: "
            "for when the topics no longer hold the history.",
        ),
    ] = False,
    group: Annotated[
        str | None,
        typer.Option(
            help="Consumer group; default: <STREAMS_CONSUMER_GROUP>-replay, then "
            "-<tenant> for each --tenant (a run commits past every tenant's records).",
        ),
    ] = None,
    tenant: Annotated[
        list[str] | None, typer.Option(help="Replay only this tenant's twins (repeatable).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be sent; send and commit nothing.")
    ] = False,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Ditto writes in flight.")] = 8,
    snapshot_timeout: Annotated[
        float, typer.Option(min=1, help="Seconds --from-snapshot waits for every row.")
    ] = 600.0,
) -> None:
    """The historical migration: re-read the CDC topics into Ditto, in a consumer group of
    its own (live sync is untouched), up to the end offsets taken at the start. Each twin
    gets one write of its final state with if-equal: skip, so an unchanged twin gets no new
    revision; rows the sink wrote (edits made in Ditto) are applied too.

    Safe to interrupt: offsets are committed only once every twin is answered, so the next
    run (default --from committed) re-reads what was not committed, and twins already
    written are answered as unchanged. Exit 0 when all went well, 1 when a record or a
    twin failed (each is a dead letter, listed on stderr), 2 on a usage or stack error."""
    from streams.ops import replay as ops

    options = ops.ReplayOptions(
        start=ops.start_of(start, from_offset, from_time, from_snapshot),
        group=group,
        dry_run=dry_run,
        concurrency=concurrency,
        tenants=tuple(tenant or ()),
        from_snapshot=from_snapshot,
        snapshot_timeout=snapshot_timeout,
    )
    try:
        report = ops.replay(get_settings(), options, lambda line: typer.echo(line, err=True))
    except KeyboardInterrupt:
        typer.echo("interrupted: nothing committed; run again to resume", err=True)
        raise typer.Exit(130) from None
    for line in ops.report_lines(report):
        typer.echo(line)
    for failure in report.failures:
        typer.echo(f"failed: {failure}", err=True)
    raise typer.Exit(0 if report.ok else 1)


def _check_port_free(host: str, port: int) -> None:
    """Fail before Faust starts, which would only log the bind error and hang on."""
    with socket.socket() as probe:
        # As the worker's HTTP server binds: a port in TIME_WAIT is free to it.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(
                    f"port {port} in use: pass --port or set STREAMS_WORKER_WEB_PORT"
                ) from exc
            raise ConfigError(
                f"cannot bind {host}:{port} ({exc.strerror}): check STREAMS_WORKER_WEB_BIND"
            ) from exc


@phase_app.command("show")
def phase_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """The phase in force, when and by whom it was set, and what each direction does now."""
    from streams.mapping import dumps
    from streams.ops import phase as ops

    status = ops.show(get_settings())
    for line in [dumps(status.to_json())] if as_json else ops.status_lines(status):
        typer.echo(line)


@phase_app.command("set")
def phase_set(
    phase: Annotated[Phase, typer.Argument(help="The phase to move to: one step forward or back.")],
    reason: Annotated[str, typer.Option(help="Why, kept in the phase record.")] = "",
    by: Annotated[
        str | None, typer.Option(help="Who sets it; default: user@host of this shell.")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Allow a jump of more than one step.")
    ] = False,
) -> None:
    """Move every worker to PHASE: one step forward (legacy-primary, dual-write,
    ditto-primary, cutover) or one step back, a rollback; a longer jump needs --force."""
    from streams.ops import phase as ops

    settings = get_settings()
    record = ops.set_phase(
        settings, phase, set_by=by or ops.default_actor(), reason=reason, force=force
    )
    for line in ops.set_lines(record, settings.phase_topic):
        typer.echo(line)


def main() -> None:
    try:
        app()
    except StreamsError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
