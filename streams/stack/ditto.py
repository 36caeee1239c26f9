"""Eclipse Ditto's public edges on loopback: the stand-in built on Ditto's own libraries.

Ditto's service jars are not served by the Maven repository this project can reach, so
the stack runs deploy/ditto-standin instead: one JVM whose HTTP API (things, policies,
connections) and Kafka connections follow Ditto 3.x, with every Ditto decision (signal
types, JSON, errors, policy evaluation, placeholders, RQL) made by Ditto's published
libraries. Its README lists what it reproduces, reimplements and lacks.

`up` builds the stand-in with Maven when its jar is missing or older than its sources,
starts it, and calls it ready once an authenticated PUT, GET and DELETE of a probe thing
work. State lives in the JVM's memory, as in Ditto's in-memory journal: a restart forgets
every twin, policy and connection.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from streams.config import PROJECT_ROOT, Settings
from streams.errors import StackError
from streams.stack._jvm import _mvn, java, java_process
from streams.stack._process import ServiceProcess, port_in_use, require_free_port

log = logging.getLogger(__name__)

STANDIN_DIR = PROJECT_ROOT / "deploy" / "ditto-standin"
MAIN_CLASS = "io.dittostreams.standin.Main"
READY_TIMEOUT = 90.0
HEAP = ("-Xms32m", "-Xmx256m")
PROBE_POLICY = "streams.stack:ditto-probe"
PROBE_THING = "streams.stack:ditto-probe"


def home(settings: Settings) -> Path:
    return settings.stack_dir.resolve() / "ditto"


def address(settings: Settings) -> tuple[str, int]:
    """Host and port of settings.ditto_url (loopback only)."""
    parts = urlsplit(settings.ditto_url)
    if parts.hostname is None or parts.port is None:
        raise StackError(f"STREAMS_DITTO_URL={settings.ditto_url!r} needs a host and a port")
    return parts.hostname, parts.port


def _server(settings: Settings) -> ServiceProcess:
    host, port = address(settings)
    # Credentials go through the environment, never the recorded command line.
    return java_process(
        settings,
        "ditto",
        home(settings),
        env={
            "DITTO_HTTP_HOST": host,
            "DITTO_HTTP_PORT": str(port),
            "DITTO_USER": settings.ditto_user,
            "DITTO_PASSWORD": settings.ditto_password.get_secret_value(),
            "DITTO_DEVOPS_USER": settings.ditto_devops_user,
            "DITTO_DEVOPS_PASSWORD": settings.ditto_devops_password.get_secret_value(),
        },
    )


def processes(settings: Settings) -> list[ServiceProcess]:
    return [_server(settings)]


def _jar() -> Path:
    return STANDIN_DIR / "target" / "ditto-standin.jar"


def _classpath_file() -> Path:
    return STANDIN_DIR / "target" / "classpath.txt"


def _stamp() -> Path:
    return STANDIN_DIR / "target" / "built.stamp"


def _stale() -> bool:
    """True when the jar is missing, older than a source, or its dependencies are gone."""
    jar, cp_file, stamp = _jar(), _classpath_file(), _stamp()
    if not (jar.is_file() and cp_file.is_file() and stamp.is_file()):
        return True
    # Maven leaves an unchanged jar untouched, so the stamp, not the jar, dates the build.
    built = stamp.stat().st_mtime
    sources = [STANDIN_DIR / "pom.xml", *(STANDIN_DIR / "src" / "main").rglob("*")]
    if any(p.is_file() and p.stat().st_mtime > built for p in sources):
        return True
    entries = cp_file.read_text().strip().split(":")
    return not all(Path(e).is_file() for e in entries)


def build(settings: Settings) -> Path:
    """Build the stand-in when stale; returns the folder holding jar and class path."""
    if _stale():
        log.info("building the Ditto stand-in dir=%s (the first build downloads jars)", STANDIN_DIR)
        _mvn(settings, STANDIN_DIR, "package", "-DskipTests")
        _stamp().touch()
    return _jar().parent


def _write_args(settings: Settings) -> None:
    folder = home(settings)
    folder.mkdir(parents=True, exist_ok=True)
    classpath = f"{_jar()}:{_classpath_file().read_text().strip()}"
    # The JDK's HTTP server leaves Nagle on: without nodelay each answer on a kept-alive
    # connection waits out the client's delayed ACK (about 40 ms a request).
    nodelay = "-Dsun.net.httpserver.nodelay=true"
    args = [*HEAP, "-XX:+UseSerialGC", "-Xss512k", nodelay, "-cp", classpath, MAIN_CLASS]
    (folder / "jvm.args").write_text("\n".join(args) + "\n")


def _probe(settings: Settings) -> bool:
    """An authenticated PUT, GET and DELETE of a probe thing under a probe policy."""
    auth = (settings.ditto_user, settings.ditto_password.get_secret_value())
    policy = {
        "entries": {
            "PROBE": {
                "subjects": {f"nginx:{settings.ditto_user}": {"type": "stack probe"}},
                "resources": {
                    "policy:/": {"grant": ["READ", "WRITE"], "revoke": []},
                    "thing:/": {"grant": ["READ", "WRITE"], "revoke": []},
                },
            }
        }
    }
    with httpx.Client(base_url=settings.ditto_url, auth=auth, timeout=5.0) as client:
        steps = [
            client.put(f"/api/2/policies/{PROBE_POLICY}", json=policy),
            client.put(f"/api/2/things/{PROBE_THING}", json={"policyId": PROBE_POLICY}),
            client.get(f"/api/2/things/{PROBE_THING}"),
            client.delete(f"/api/2/things/{PROBE_THING}"),
            client.delete(f"/api/2/policies/{PROBE_POLICY}"),
        ]
    return all(response.status_code in (200, 201, 204) for response in steps)


def healthy(settings: Settings) -> bool:
    host, port = address(settings)
    if not port_in_use(port, host):
        return False
    try:
        return _probe(settings)
    except httpx.HTTPError:
        return False


def up(settings: Settings) -> None:
    server = _server(settings)
    if server.running() and healthy(settings):
        return
    if not server.running():
        java(settings)  # fails with the package to install
        host, port = address(settings)
        require_free_port(port, "STREAMS_DITTO_URL", host)
        build(settings)
        _write_args(settings)
        server.start()
    seconds = server.wait_ready(lambda: healthy(settings), "ditto", READY_TIMEOUT)
    log.info("ready service=ditto url=%s seconds=%.1f", settings.ditto_url, seconds)


def down(settings: Settings) -> None:
    _server(settings).stop(timeout=20)


__all__ = ["address", "build", "down", "healthy", "home", "processes", "up"]
