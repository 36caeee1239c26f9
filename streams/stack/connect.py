"""Kafka Connect 4.3 in distributed mode with Debezium's Postgres connector, on loopback.

The worker keeps its configs, offsets and statuses in topics on the stack's broker
(one replica each). Each Debezium plugin (the Postgres connector; the JDBC sink, which
bench/sink_to_postgres.py runs beside our sink) lives in its own folder on plugin.path,
apart from the worker's class path. Connect reads plugin.path only when it starts, so
`up` restarts a running worker when a plugin folder is new or its pom changed. `up`
registers deploy/connect/legacy-postgres.json through the REST API and waits until the
connector runs and its initial snapshot is in Kafka.

The connector file is a Connect connector document (`name`, `config`) whose values
may hold `${field}` placeholders naming Settings fields (`${pg_port}`,
`${topic_prefix}`); they are filled in here, so one file serves every environment.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

from streams.config import PROJECT_ROOT, Settings
from streams.errors import StackError
from streams.stack import _connect_rest as rest
from streams.stack import kafka
from streams.stack._jvm import (
    MAVEN_DIR,
    classpath,
    declare_service,
    java,
    java_process,
    plugin_folder,
)
from streams.stack._process import ServiceProcess, port_in_use, require_free_port, wait_until
from streams.stack._snapshot import LastLsn, SnapshotWatch

log = logging.getLogger(__name__)

CONNECTOR_FILE = PROJECT_ROOT / "deploy" / "connect" / "legacy-postgres.json"
GROUP_ID = "ditto-streams-connect"
WORKER_TIMEOUT = 180.0
SNAPSHOT_TIMEOUT = 600.0
HEAP = ("-Xms128m", "-Xmx768m")
# Each plugin's pom folder under deploy/maven/connect/ -> its folder on plugin.path.
PLUGINS = {
    "debezium-postgres": "debezium-connector-postgres",
    "debezium-jdbc": "debezium-connector-jdbc",
    "apicurio-avro": "apicurio-avro-converter",
}
# Plugins whose jars do not declare a class the connectors name (service_load discovery
# finds only declared ones): plugin folder -> (service interface, class).
UNDECLARED = {
    "apicurio-avro-converter": (
        "org.apache.kafka.connect.storage.Converter",
        "io.apicurio.registry.utils.converter.AvroConverter",
    ),
}

_LOG4J2 = """\
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %X{connector.context}%m (%c{1})%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
logger.clients.name = org.apache.kafka.clients
logger.clients.level = WARN
logger.jetty.name = org.eclipse.jetty
logger.jetty.level = WARN
logger.access.name = org.apache.kafka.connect.runtime.rest.RestServer
logger.access.level = WARN
"""


def home(settings: Settings) -> Path:
    return settings.stack_dir.resolve() / "connect"


def rest_address(settings: Settings) -> tuple[str, int]:
    parts = urlsplit(settings.connect_url)
    if parts.scheme != "http" or not parts.hostname or not parts.port:
        raise StackError(f"STREAMS_CONNECT_URL={settings.connect_url!r} is not http://host:port")
    return parts.hostname, parts.port


def _worker(settings: Settings) -> ServiceProcess:
    folder = home(settings)
    main = "org.apache.kafka.connect.cli.ConnectDistributed"
    return java_process(settings, "connect", folder, main, str(folder / "worker.properties"))


def processes(settings: Settings) -> list[ServiceProcess]:
    return [_worker(settings)]


def worker_properties(settings: Settings) -> str:
    host, port = rest_address(settings)
    props = {
        "bootstrap.servers": settings.kafka_bootstrap,
        "group.id": GROUP_ID,
        "config.storage.topic": "connect-configs",
        "offset.storage.topic": "connect-offsets",
        "status.storage.topic": "connect-status",
        "config.storage.replication.factor": "1",
        "offset.storage.replication.factor": "1",
        "status.storage.replication.factor": "1",
        "key.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "key.converter.schemas.enable": "true",
        "value.converter.schemas.enable": "true",
        # Debezium confirms an LSN to Postgres only after Connect commits its offset.
        # Connect's default minute: a crash replays at most that much, which the
        # per-key gate of the legacy -> Ditto agent turns into no extra command.
        "offset.flush.interval.ms": "60000",
        "listeners": f"http://{host}:{port}",
        "rest.advertised.host.name": host,
        "rest.advertised.port": str(port),
        "plugin.path": str(home(settings) / "plugins"),
        # Every plugin we use declares itself in META-INF/services: no class scan needed.
        "plugin.discovery": "service_load",
        "topic.creation.enable": "true",
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _prepare(settings: Settings) -> None:
    folder = home(settings)
    cp = classpath(settings, MAVEN_DIR / "connect", folder / "classpath.txt")
    _plugins(settings)
    (folder / "worker.properties").write_text(worker_properties(settings))
    (folder / "log4j2.properties").write_text(_LOG4J2)
    jvm_args = [
        *HEAP,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={folder / 'log4j2.properties'}",
        "-cp",
        cp,
    ]
    (folder / "jvm.args").write_text("\n".join(jvm_args) + "\n")


def _plugins(settings: Settings) -> bool:
    """Resolve every plugin folder; True when one of them is new or was re-resolved."""
    changed = False
    for pom, name in PLUGINS.items():
        out = home(settings) / "plugins" / name
        before = _stamp_of(out)
        plugin_folder(settings, MAVEN_DIR / "connect" / pom, out)
        if name in UNDECLARED:
            declare_service(out / "streams-services.jar", *UNDECLARED[name])
        changed |= _stamp_of(out) != before
    return changed


def _stamp_of(plugin: Path) -> str | None:
    try:
        return (plugin / ".stamp").read_text()
    except FileNotFoundError:
        return None


def healthy(settings: Settings) -> bool:
    """True when the worker serves requests and the legacy connector and its task run."""
    host, port = rest_address(settings)
    if not port_in_use(port, host) or not rest.worker_ready(settings.connect_url):
        return False
    return rest.connector_running(CONNECTOR_FILE, settings)


def up(settings: Settings) -> None:
    worker = _worker(settings)
    if worker.running() and _plugins(settings):
        # The worker found its plugins when it started: a new one needs a restart. Its
        # connectors resume from their committed offsets.
        log.info("plugins changed: restarting service=connect")
        worker.stop(timeout=60)
    if not worker.running():
        java(settings)  # fails with the package to install
        if not kafka.healthy(settings):
            raise StackError(f"kafka at {settings.kafka_bootstrap} is not up: streams stack up")
        host, port = rest_address(settings)
        require_free_port(port, "STREAMS_CONNECT_URL", host)
        home(settings).mkdir(parents=True, exist_ok=True)
        _prepare(settings)
        worker.start()
    ready = lambda: rest.worker_ready(settings.connect_url)  # noqa: E731
    seconds = worker.wait_ready(ready, "kafka connect", WORKER_TIMEOUT)
    log.info("ready service=connect url=%s seconds=%.1f", settings.connect_url, seconds)
    register(settings, CONNECTOR_FILE, alive=worker.running, log_file=worker.log_file)


def register(
    settings: Settings,
    path: Path,
    *,
    alive: rest.Alive,
    log_file: Path,
    last_lsn: LastLsn | None = None,
) -> None:
    """Register the connector of `path` (unless unchanged) and wait for its snapshot
    (`last_lsn` reads a record of another converter than JSON; see SnapshotWatch)."""
    name, config = rest.load_connector(path, settings)
    rest.put_connector(settings.connect_url, name, config)
    start = time.monotonic()
    rest.wait_running(settings.connect_url, name, alive=alive, log_file=log_file)
    watch = SnapshotWatch(
        settings.connect_url, settings.kafka_bootstrap, name, config["topic.prefix"], last_lsn
    )
    try:
        wait_until(
            watch.done,
            what=f"initial snapshot of {name}",
            timeout=SNAPSHOT_TIMEOUT,
            alive=alive,
            fix=f"see {log_file}",
            interval=1.0,
        )
    finally:
        watch.close()
    log.info("ready connector=%s seconds=%.1f", name, time.monotonic() - start)


def down(settings: Settings) -> None:
    # The worker stops its tasks and commits their offsets before it exits.
    _worker(settings).stop(timeout=60)


__all__ = [
    "CONNECTOR_FILE",
    "down",
    "healthy",
    "home",
    "processes",
    "register",
    "rest_address",
    "up",
    "worker_properties",
]
