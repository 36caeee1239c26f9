"""Apache Kafka 3.9, one node in KRaft combined mode (broker and controller), on loopback.

Everything lives under <stack_dir>/kafka: the config we write, the resolved class path
and the log directory, formatted once with a fresh cluster id. One replica for every
topic, internal ones included, and topics are created on first use, as a one-node
cluster needs. Topics are kept until deleted (no retention by time), so a replay can
always go back to the initial snapshot of the estate.
"""

from __future__ import annotations

import base64
import logging
import subprocess
import uuid
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from streams.config import Settings
from streams.errors import StackError
from streams.stack._jvm import MAVEN_DIR, classpath, java, java_process
from streams.stack._process import ServiceProcess, port_in_use, require_free_port

log = logging.getLogger(__name__)

READY_TIMEOUT = 180.0
HEAP = ("-Xms128m", "-Xmx512m")

_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.coordinator.group.GroupMetadataManager=WARN
log4j.logger.org.apache.kafka.clients=WARN
"""


def home(settings: Settings) -> Path:
    return settings.stack_dir.resolve() / "kafka"


def listener(settings: Settings) -> tuple[str, int]:
    """Host and port of the client listener: the first entry of settings.kafka_bootstrap."""
    first = settings.kafka_bootstrap.split(",")[0].strip()
    host, _, port = first.rpartition(":")
    if not host or not port.isdigit():
        raise StackError(f"STREAMS_KAFKA_BOOTSTRAP={settings.kafka_bootstrap!r} is not host:port")
    return host, int(port)


def _server(settings: Settings) -> ServiceProcess:
    folder = home(settings)
    return java_process(settings, "kafka", folder, "kafka.Kafka", str(folder / "server.properties"))


def processes(settings: Settings) -> list[ServiceProcess]:
    return [_server(settings)]


def server_properties(settings: Settings) -> str:
    host, port = listener(settings)
    ctl = settings.kafka_controller_port
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{host}:{ctl}",
        "listeners": f"PLAINTEXT://{host}:{port},CONTROLLER://{host}:{ctl}",
        "advertised.listeners": f"PLAINTEXT://{host}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "log.dirs": str(home(settings) / "data"),
        "auto.create.topics.enable": "true",
        # A topic a consumer asks for before its producer created it gets the same
        # partition count as ours: Faust tables need source and changelog to match.
        "num.partitions": str(settings.topic_partitions),
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        # A one-node group has nobody to wait for.
        "group.initial.rebalance.delay.ms": "0",
        "log.retention.ms": "-1",
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def _write_config(settings: Settings, cp: str) -> None:
    folder = home(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "server.properties").write_text(server_properties(settings))
    (folder / "log4j.properties").write_text(_LOG4J)
    jvm_args = [
        *HEAP,
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=20",
        "-Djava.awt.headless=true",
        f"-Dlog4j.configuration=file:{folder / 'log4j.properties'}",
        f"-Dkafka.logs.dir={folder / 'logs'}",
        "-cp",
        cp,
    ]
    (folder / "jvm.args").write_text("\n".join(jvm_args) + "\n")


def _cluster_id() -> str:
    """A random Kafka cluster id: 16 random bytes, URL-safe base64 without padding."""
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):  # Kafka's own generator avoids a leading dash too
            return cid


def _format_storage(settings: Settings) -> None:
    """Format the log directory once; a formatted directory is never touched again."""
    folder = home(settings)
    if (folder / "data" / "meta.properties").is_file():
        return
    argv = [
        str(java(settings)),
        f"@{folder / 'jvm.args'}",
        "kafka.tools.StorageTool",
        "format",
        "-t",
        _cluster_id(),
        "-c",
        str(folder / "server.properties"),
        "--ignore-formatted",
    ]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=folder)
    if done.returncode != 0:
        raise StackError(
            f"kafka storage format failed in {folder / 'data'}: "
            f"{(done.stdout + done.stderr).strip()[-800:]}"
        )
    log.info("formatted kafka storage dir=%s", folder / "data")


def healthy(settings: Settings) -> bool:
    """True when the broker answers a metadata request and lists itself."""
    host, port = listener(settings)
    if not port_in_use(port, host):
        return False
    # log_level 0: a probe that fails is an answer, not something to print.
    admin = AdminClient(
        {"bootstrap.servers": f"{host}:{port}", "log_level": 0, "socket.timeout.ms": 5000}
    )
    try:
        metadata = admin.list_topics(timeout=5)
    except KafkaException:
        return False
    return bool(metadata.brokers)


def up(settings: Settings) -> None:
    server = _server(settings)
    if server.running() and healthy(settings):
        return
    if not server.running():
        java(settings)  # fails with the package to install
        _check_ports(settings)
        cp = classpath(settings, MAVEN_DIR / "kafka", home(settings) / "classpath.txt")
        _write_config(settings, cp)
        _format_storage(settings)
        server.start()
    seconds = server.wait_ready(lambda: healthy(settings), "kafka", READY_TIMEOUT)
    log.info("ready service=kafka bootstrap=%s seconds=%.1f", settings.kafka_bootstrap, seconds)


def _check_ports(settings: Settings) -> None:
    host, port = listener(settings)
    for number, knob in (
        (port, "STREAMS_KAFKA_BOOTSTRAP"),
        (settings.kafka_controller_port, "STREAMS_KAFKA_CONTROLLER_PORT"),
    ):
        require_free_port(number, knob, host)


def down(settings: Settings) -> None:
    # Controlled shutdown of a combined node takes a few seconds; give it time.
    _server(settings).stop(timeout=60)


__all__ = ["down", "healthy", "home", "listener", "processes", "server_properties", "up"]
