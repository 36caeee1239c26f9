"""`streams worker`: one member of the consumer group, with its HTTP endpoints."""

from __future__ import annotations

import logging
from typing import Any

import faust
from prometheus_client import generate_latest

from streams.agents import (
    ditto_replies,
    ditto_to_legacy,
    lag_gauges,
    legacy_to_ditto,
    metrics,
    phase,
    postgres_sink,
    rebalance,
)
from streams.agents.app import create_app
from streams.agents.stop import BoundedWorker
from streams.config import Settings
from streams.kafka.admin import ensure_topics
from streams.kafka.topics import owned_topics

log = logging.getLogger(__name__)

# aiohttp refuses a charset inside content_type; Prometheus reads this as UTF-8 anyway.
PROMETHEUS_TEXT = "text/plain; version=0.0.4"


def build(settings: Settings, web_port: int | None = None) -> faust.App:
    ensure_topics(settings.kafka_bootstrap, owned_topics(settings))
    app = create_app(settings, web_port=web_port)
    # Known before any agent runs; the agents read it for every record.
    phases = phase.follow(settings)
    # The legacy agent first: the way back reads the thing-id claims it keeps.
    legacy_to_ditto.register(app, settings, phases)
    ditto_to_legacy.register(app, settings, phases)
    postgres_sink.register(app, settings)
    ditto_replies.register(app, settings)
    lag_gauges.register(app, settings)
    rebalance.register(app)
    _pages(app)
    return app


def _pages(app: faust.App) -> None:
    @app.page("/metrics")
    async def prometheus(web: Any, request: Any) -> Any:
        return web.bytes(generate_latest(metrics.REGISTRY), content_type=PROMETHEUS_TEXT)

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok"})


def run(settings: Settings, web_port: int | None = None, loglevel: str = "info") -> None:
    """Run until SIGTERM/SIGINT; Faust then stops the agents and commits what they did,
    within settings.worker_stop_timeout (streams.agents.stop)."""
    app = build(settings, web_port)
    worker = BoundedWorker(
        app,
        stop_timeout=settings.worker_stop_timeout,
        bootstrap=settings.kafka_bootstrap,
        loglevel=loglevel,
    )
    worker.execute_from_commandline()
