"""The Faust floor: our Faust app's settings, one agent that copies each record unchanged.

No decoding, no mapping, no tables: what a record costs in Faust itself on this
machine, the ceiling for any agent of ours. Run as its own process:
`python -m bench._faust_copy SOURCE TARGET GROUP DATA_DIR`.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any

import faust

from streams.agents.app import create_app
from streams.config import get_settings


def build(source: str, target: str, group: str, data_dir: Path) -> faust.App:
    settings = get_settings().model_copy(update={"worker_data_dir": data_dir})
    app = create_app(settings, web_port=_free_port(), group=group)
    inbound = app.topic(
        source,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        allow_empty=True,
    )
    outbound = app.topic(target, key_serializer="raw", value_serializer="raw")

    @app.agent(inbound, name="copy", concurrency=1)
    async def copy(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            await outbound.send(
                key=message.key, value=message.value, headers=list(message.headers or ())
            )

    return app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


if __name__ == "__main__":
    source_topic, target_topic, group_id, folder = sys.argv[1:5]
    app = build(source_topic, target_topic, group_id, Path(folder))
    faust.Worker(app, loglevel="info").execute_from_commandline()
