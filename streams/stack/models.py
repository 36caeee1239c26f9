"""The WoT thing models of schemas/, served at STREAMS_THING_MODELS_URL.

Every twin's `definition` (and each feature's) is a URL under that base, so a Ditto with
its WoT support on, or a person following the link, must find the model there. Python's
own http.server serves a folder whose single entry links the URL's path to schemas/.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from streams.config import PROJECT_ROOT, Settings
from streams.errors import StackError
from streams.stack._process import ServiceProcess, port_in_use, require_free_port

log = logging.getLogger(__name__)

SCHEMAS_DIR = PROJECT_ROOT / "schemas"
READY_TIMEOUT = 30.0
PROBE_MODEL = "well-1.0.0.tm.jsonld"


def address(settings: Settings) -> tuple[str, int, str]:
    """Host, port and path of settings.thing_models_url."""
    parts = urlsplit(settings.thing_models_url)
    if parts.scheme != "http" or parts.hostname is None or parts.port is None:
        raise StackError(
            f"STREAMS_THING_MODELS_URL={settings.thing_models_url!r} is not http://host:port/path"
        )
    path = parts.path.strip("/")
    if not path:
        raise StackError(
            "STREAMS_THING_MODELS_URL needs a path below the host (e.g. /models) to serve at"
        )
    return parts.hostname, parts.port, path


def home(settings: Settings) -> Path:
    return settings.stack_dir.resolve() / "models"


def _server(settings: Settings) -> ServiceProcess:
    host, port, _ = address(settings)
    return ServiceProcess(
        name="models",
        argv=[sys.executable, "-m", "http.server", "--bind", host, str(port)],
        run_dir=settings.stack_dir / "run",
        cwd=home(settings),
    )


def processes(settings: Settings) -> list[ServiceProcess]:
    return [_server(settings)]


def _prepare(settings: Settings) -> None:
    """home/<path of the URL> -> schemas/, so the URL's path maps onto the folder."""
    _, _, path = address(settings)
    link = home(settings) / path
    link.parent.mkdir(parents=True, exist_ok=True)
    if link.is_symlink():
        link.unlink()
    link.symlink_to(SCHEMAS_DIR, target_is_directory=True)


def healthy(settings: Settings) -> bool:
    host, port, _ = address(settings)
    if not port_in_use(port, host):
        return False
    url = f"{settings.thing_models_url.rstrip('/')}/{PROBE_MODEL}"
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def up(settings: Settings) -> None:
    address(settings)  # a bad URL fails here, before any process is looked at
    server = _server(settings)
    if server.running() and healthy(settings):
        return
    if not server.running():
        host, port, _ = address(settings)
        require_free_port(port, "STREAMS_THING_MODELS_URL", host)
        _prepare(settings)
        server.start()
    seconds = server.wait_ready(lambda: healthy(settings), "thing models", READY_TIMEOUT)
    log.info("ready service=models url=%s seconds=%.1f", settings.thing_models_url, seconds)


def down(settings: Settings) -> None:
    _server(settings).stop(timeout=10)


__all__ = ["address", "down", "healthy", "home", "processes", "up"]
