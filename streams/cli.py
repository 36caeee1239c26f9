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

app = typer.Typer(
    help="ditto-streams: sync a legacy PostgreSQL estate with Eclipse Ditto twins.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
stack_app = typer.Typer(
    help="The local real stack: Postgres, Kafka, Connect, Ditto.", no_args_is_help=True
)
app.add_typer(stack_app, name="stack")
ditto_app = typer.Typer(
    help="Ditto set up as code: tenant policies and the Kafka connections.",
    no_args_is_help=True,
)
app.add_typer(ditto_app, name="ditto")

PartsOption = Annotated[
    list[str] | None,
    typer.Option("--only", help="Limit to these parts: postgres, kafka, connect, models, ditto."),
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
) -> None:
    """Dry-run a mapping: Debezium events or plain row JSON on stdin, one per line;
    prints the Ditto commands (or skip / error lines) as JSON lines. No Kafka needed.
    Exit 1 when any line gave an error line, 0 otherwise."""
    from streams.mapping import mapping_for
    from streams.ops.map_dry_run import DryRun
    from streams.stack.postgres import SYNC_ORIGIN

    settings = get_settings()
    mapping = mapping_for(settings.mappings_dir, table)
    run = DryRun(mapping, models_url=settings.thing_models_url, sync_origin=SYNC_ORIGIN)
    # Bytes, so a line that is not UTF-8 becomes its own error line.
    for line in run.run(sys.stdin.buffer):
        typer.echo(line)
    raise typer.Exit(1 if run.failed else 0)


@app.command("worker")
def worker(
    port: Annotated[int | None, typer.Option(help="HTTP port for /metrics and /health.")] = None,
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
        for reports in lag_ops.watch(settings, groups, sampling, progress):
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


def main() -> None:
    try:
        app()
    except StreamsError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
