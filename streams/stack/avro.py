"""The Avro path of the local stack: Apicurio Registry and Debezium's Avro connector.

The registry is Apicurio Registry 2.4.2, built from Maven Central by
deploy/maven/registry/pom.xml into a Quarkus runner jar; it serves its own API under
/apis/registry/v2 and the Confluent-compatible one under /apis/ccompat/v6. Its storage
is the embedded H2 database it ships for in-memory use, kept in a file under the stack
folder instead of memory: a record names its schema by id, and a registry that forgot
its schemas on a restart would hand out the same ids again for other schemas.

The connector (deploy/connect/legacy-postgres-avro.json) reads the same tables as the
JSON one through its own replication slot and publication, under avro_topic_prefix,
with Apicurio's AvroConverter for keys and values in Confluent's wire format.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
from confluent_kafka import Message

from streams.cdc import CdcRecord, RowChange, SnapshotMarker
from streams.cdc.avro import AvroDecoder
from streams.config import PROJECT_ROOT, Settings
from streams.errors import DecodeError, StackError
from streams.registry import RegistryClient
from streams.stack import _connect_rest as rest
from streams.stack import connect
from streams.stack._jvm import _mvn, java
from streams.stack._process import ServiceProcess, port_in_use, require_free_port
from streams.stack._snapshot import LastLsn

log = logging.getLogger(__name__)

REGISTRY_DIR = PROJECT_ROOT / "deploy" / "maven" / "registry"
CONNECTOR_FILE = PROJECT_ROOT / "deploy" / "connect" / "legacy-postgres-avro.json"
READY_TIMEOUT = 120.0
HEAP = ("-Xms64m", "-Xmx256m")
_PROBE = "/apis/ccompat/v6/subjects"


def home(settings: Settings) -> Path:
    return settings.stack_dir.resolve() / "registry"


def address(settings: Settings) -> tuple[str, int]:
    parts = urlsplit(settings.schema_registry_url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise StackError(
            f"STREAMS_SCHEMA_REGISTRY_URL={settings.schema_registry_url!r} is not http://host:port"
        )
    return parts.hostname, parts.port


def _server(settings: Settings) -> ServiceProcess:
    host, port = address(settings)
    return ServiceProcess(
        name="registry",
        argv=[
            str(settings.java_home / "bin" / "java"),
            *HEAP,
            "-XX:+UseSerialGC",
            f"-Dquarkus.http.host={host}",
            f"-Dquarkus.http.port={port}",
            "-jar",
            str(_runner()),
        ],
        run_dir=settings.stack_dir / "run",
        cwd=REGISTRY_DIR / "target",
        env={"REGISTRY_DATASOURCE_URL": f"jdbc:h2:file:{home(settings) / 'schemas'}"},
    )


def processes(settings: Settings) -> list[ServiceProcess]:
    return [_server(settings)]


def _runner() -> Path:
    return REGISTRY_DIR / "target" / "registry-runner.jar"


def _stamp() -> Path:
    return REGISTRY_DIR / "target" / "built.stamp"


def _stale() -> bool:
    """True when the runner is missing or older than the pom or a source file."""
    if not (_runner().is_file() and _stamp().is_file()):
        return True
    built = _stamp().stat().st_mtime
    sources = [REGISTRY_DIR / "pom.xml", *(REGISTRY_DIR / "src" / "main").rglob("*")]
    if any(p.is_file() and p.stat().st_mtime > built for p in sources):
        return True
    lib = REGISTRY_DIR / "target" / "lib"
    return not lib.is_dir() or not any(lib.iterdir())


def build(settings: Settings) -> Path:
    """Build the registry's runner jar when stale (the first build downloads ~130 MB)."""
    if _stale():
        log.info("building the schema registry dir=%s", REGISTRY_DIR)
        _mvn(settings, REGISTRY_DIR, "package", "-DskipTests")
        _stamp().touch()
    return _runner()


def registry_ready(settings: Settings) -> bool:
    host, port = address(settings)
    if not port_in_use(port, host):
        return False
    try:
        response = httpx.get(settings.schema_registry_url + _PROBE, timeout=5.0)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def healthy(settings: Settings) -> bool:
    """True when the registry answers and the Avro connector and its task run."""
    if not registry_ready(settings) or not rest.worker_ready(settings.connect_url):
        return False
    return rest.connector_running(CONNECTOR_FILE, settings)


def _start_registry(settings: Settings) -> None:
    server = _server(settings)
    if not server.running():
        java(settings)  # fails with the package to install
        host, port = address(settings)
        require_free_port(port, "STREAMS_SCHEMA_REGISTRY_URL", host)
        build(settings)
        home(settings).mkdir(parents=True, exist_ok=True)
        server.start()
    seconds = server.wait_ready(lambda: registry_ready(settings), "schema registry", READY_TIMEOUT)
    log.info("ready service=registry url=%s seconds=%.1f", settings.schema_registry_url, seconds)


def up(settings: Settings) -> None:
    _start_registry(settings)
    worker = connect.processes(settings)[0]
    if not rest.worker_ready(settings.connect_url):
        raise StackError(f"kafka connect at {settings.connect_url} is not up: streams stack up")
    # A task that met a record while the registry was down has failed (its converter
    # could not register the schema); it resumes from its committed offset.
    name, _ = rest.load_connector(CONNECTOR_FILE, settings)
    if rest.restart_failed_tasks(settings.connect_url, name):
        log.info("restarted failed tasks connector=%s (the registry was down)", name)
    connect.register(
        settings,
        CONNECTOR_FILE,
        alive=worker.running,
        log_file=worker.log_file,
        last_lsn=_avro_last_lsn(settings),
    )


def _avro_last_lsn(settings: Settings) -> LastLsn:
    """The snapshot's `last` record of an Avro topic, decoded with the registry's schema."""
    decoder = AvroDecoder(RegistryClient(settings.schema_registry_url))

    def last_lsn(message: Message) -> int | Literal[False] | None:
        if message.value() is None:
            return False
        try:
            change = decoder.decode(_record(message))
        except DecodeError:
            return False  # not a row event of this connector: it cannot end a snapshot
        if not isinstance(change, RowChange) or change.source.snapshot is not SnapshotMarker.LAST:
            return False
        return change.source.lsn

    return last_lsn


def _record(message: Message) -> CdcRecord:
    headers = message.headers() or []
    pairs = headers.items() if isinstance(headers, dict) else headers
    return CdcRecord(
        _bytes(message.key()),
        _bytes(message.value()),
        str(message.topic()),
        int(message.partition() or 0),
        int(message.offset() or 0),
        tuple((name, _bytes(value)) for name, value in pairs),
    )


def _bytes(value: str | bytes | None) -> bytes | None:
    return value.encode() if isinstance(value, str) else value


def down(settings: Settings) -> None:
    # The connector stays registered in Connect; it fails until the registry is back.
    _server(settings).stop(timeout=20)


__all__ = ["CONNECTOR_FILE", "address", "build", "down", "healthy", "home", "processes", "up"]
