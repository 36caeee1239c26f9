"""PostgreSQL 15 from Debian's packages, in its own data directory under the stack folder.

wal_level=logical so Debezium can decode; roles as Debezium documents them: the
tables belong to a group role that both the application role (`streams`, which
the sink writes as) and the replication role (`debezium`) are members of, so the
connector may create its own filtered publication without being superuser.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from streams.config import PROJECT_ROOT, Settings
from streams.errors import StackError
from streams.stack._process import ServiceProcess, require_free_port

log = logging.getLogger(__name__)

SCHEMA_SQL = PROJECT_ROOT / "deploy" / "postgres" / "legacy_schema.sql"
OWNER_GROUP = "legacy_owners"
SYNC_ORIGIN = "ditto_streams_sink"
_PG_USER = "postgres"  # the Debian package's OS user; Postgres refuses to run as root


def _bindir() -> Path:
    for candidate in (
        Path("/usr/lib/postgresql/15/bin"),
        *sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True),
    ):
        if (candidate / "postgres").is_file():
            return candidate
    raise StackError("PostgreSQL 15 not found: apt-get install postgresql-15")


def _run_as() -> str | None:
    """Root must hand the server to the `postgres` OS user; anyone else runs it as themselves."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_PG_USER)
    except KeyError as exc:
        raise StackError("OS user 'postgres' missing: apt-get install postgresql-15") from exc
    return _PG_USER


def data_dir(settings: Settings) -> Path:
    """<stack_dir>/postgres/data, or a link to a folder the postgres user can reach.

    A clone under /root is not traversable by the `postgres` user; then the data lives
    in /var/tmp and the stack folder holds a symlink to it, so it stays one folder to
    inspect and `down --purge` still finds it.
    """
    link = settings.stack_dir.resolve() / "postgres"
    user = _run_as()
    if link.is_symlink() or user is None or _reachable_by(user, link.parent):
        return link / "data"
    digest = hashlib.sha256(str(link).encode()).hexdigest()[:12]
    target = Path("/var/tmp") / f"ditto-streams-pg-{digest}"
    target.mkdir(mode=0o755, exist_ok=True)
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)
    log.warning("stack dir not reachable by user=postgres: data in %s", target)
    return link / "data"


def _reachable_by(user: str, folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(folder)], check=False)
    return probe.returncode == 0


def _server(settings: Settings) -> ServiceProcess:
    return ServiceProcess(
        name="postgres",
        argv=[str(_bindir() / "postgres"), "-D", str(data_dir(settings))],
        run_dir=settings.stack_dir / "run",
        user=_run_as(),
        # SIGINT is Postgres' fast shutdown; the postmaster stops its own backends.
        stop_signal=signal.SIGINT,
        signal_group=False,
    )


def processes(settings: Settings) -> list[ServiceProcess]:
    return [_server(settings)]


def _initdb(settings: Settings, pgdata: Path) -> None:
    pgdata.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    pwfile = pgdata.parent / "pwfile"
    pwfile.write_text(settings.pg_admin_password.get_secret_value() + "\n")
    if user:
        shutil.chown(pgdata, user, user)
        shutil.chown(pwfile, user, user)
    pgdata.chmod(0o700)
    argv = [
        str(_bindir() / "initdb"),
        "-D",
        str(pgdata),
        "-U",
        "postgres",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
        "--auth=scram-sha-256",
        f"--pwfile={pwfile}",
    ]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    pwfile.unlink()
    if done.returncode != 0:
        raise StackError(f"initdb failed: {done.stderr.strip()[-400:]}")
    _write_config(settings, pgdata)


def _write_config(settings: Settings, pgdata: Path) -> None:
    with (pgdata / "postgresql.conf").open("a") as conf:
        conf.write(
            "\n# ditto-streams local stack\n"
            f"listen_addresses = '127.0.0.1'\nport = {settings.pg_port}\n"
            "unix_socket_directories = ''\nwal_level = logical\n"
            "max_wal_senders = 10\nmax_replication_slots = 10\n"
            "shared_buffers = 128MB\nlog_min_messages = warning\n"
        )
    (pgdata / "pg_hba.conf").write_text(
        "host all all 127.0.0.1/32 scram-sha-256\n"
        f"host replication {settings.pg_cdc_user} 127.0.0.1/32 scram-sha-256\n"
    )


def _admin_dsn(settings: Settings, dbname: str = "postgres") -> str:
    return (
        f"host={settings.pg_host} port={settings.pg_port} dbname={dbname} user=postgres "
        f"password={settings.pg_admin_password.get_secret_value()} connect_timeout=3"
    )


def healthy(settings: Settings) -> bool:
    try:
        with psycopg.connect(_admin_dsn(settings)) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def up(settings: Settings) -> None:
    server = _server(settings)
    if server.running() and healthy(settings):
        return
    pgdata = data_dir(settings)
    if not (pgdata / "PG_VERSION").is_file():
        _initdb(settings, pgdata)
    if not server.running():
        require_free_port(settings.pg_port, "STREAMS_PG_PORT")
    server.start()
    seconds = server.wait_ready(lambda: healthy(settings), "postgres", 60)
    log.info("ready service=postgres seconds=%.1f", seconds)
    _provision(settings)


def down(settings: Settings) -> None:
    _server(settings).stop()


def _provision(settings: Settings) -> None:
    """Roles, database, schema and grants; every statement is safe to repeat."""
    with psycopg.connect(_admin_dsn(settings), autocommit=True) as conn:
        _ensure_role(conn, settings.pg_user, settings.pg_password.get_secret_value(), "LOGIN")
        _ensure_role(
            conn,
            settings.pg_cdc_user,
            settings.pg_cdc_password.get_secret_value(),
            "LOGIN REPLICATION",
        )
        _ensure_role(conn, OWNER_GROUP, None, "NOLOGIN")
        for member in (settings.pg_user, settings.pg_cdc_user):
            conn.execute(
                sql.SQL("GRANT {} TO {}").format(
                    sql.Identifier(OWNER_GROUP), sql.Identifier(member)
                )
            )
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (settings.pg_database,)
        ).fetchone()
        if not exists:
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(settings.pg_database), sql.Identifier(settings.pg_user)
                )
            )
    with psycopg.connect(_admin_dsn(settings, settings.pg_database), autocommit=True) as conn:
        _create_schema(conn, settings)


def _ensure_role(conn: psycopg.Connection, name: str, password: str | None, attrs: str) -> None:
    found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone()
    verb = "ALTER" if found else "CREATE"
    stmt = sql.SQL(f"{verb} ROLE {{}} WITH {attrs}").format(sql.Identifier(name))
    if password is not None:
        stmt = stmt + sql.SQL(" PASSWORD {}").format(sql.Literal(password))
    conn.execute(stmt)


def _create_schema(conn: psycopg.Connection, settings: Settings) -> None:
    conn.execute(
        sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(
            sql.Identifier(settings.pg_database), sql.Identifier(settings.pg_cdc_user)
        )
    )
    # Since PG 15 nobody may create in schema public unless granted.
    conn.execute(
        sql.SQL("GRANT USAGE, CREATE ON SCHEMA public TO {}").format(sql.Identifier(OWNER_GROUP))
    )
    conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(OWNER_GROUP)))
    conn.execute(SCHEMA_SQL.read_text())
    conn.execute("RESET ROLE")
    # The sink marks its own transactions with a replication origin so that Debezium
    # reports them (source.origin) and the legacy -> Ditto agent can drop the echo.
    if not conn.execute(
        "SELECT 1 FROM pg_replication_origin WHERE roname = %s", (SYNC_ORIGIN,)
    ).fetchone():
        conn.execute("SELECT pg_replication_origin_create(%s)", (SYNC_ORIGIN,))
    for func in (
        "pg_replication_origin_session_setup(text)",
        "pg_replication_origin_session_reset()",
        "pg_replication_origin_xact_setup(pg_lsn, timestamptz)",
    ):
        conn.execute(
            sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                sql.SQL(func), sql.Identifier(settings.pg_user)
            )
        )
