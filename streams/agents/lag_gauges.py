"""A timer that refreshes the worker's lag gauges from Kafka, off the event loop.

Kafka's answers take up to seconds when the broker is away, so the reads run in a thread
(asyncio.to_thread); a failed refresh keeps the last values and logs why, and never stops
the worker: the gauges serve operators, the sync does not depend on them.
"""

from __future__ import annotations

import asyncio
import logging

import faust

from streams.agents import metrics
from streams.config import Settings
from streams.errors import StreamsError
from streams.kafka.lag import partitions_lag

log = logging.getLogger(__name__)


def owned_partitions(app: faust.App) -> list[tuple[str, int]]:
    """The partitions this worker consumes and commits (tables' changelogs excluded)."""
    committing = app.topics.acking_topics
    return sorted(
        (tp.topic, tp.partition) for tp in app.consumer.assignment() if tp.topic in committing
    )


async def refresh(app: faust.App, settings: Settings) -> None:
    group = app.conf.id
    owned = owned_partitions(app)
    try:
        lags = await asyncio.to_thread(partitions_lag, settings.kafka_bootstrap, group, owned)
    except StreamsError as exc:
        log.warning("lag gauges not refreshed, the last values stay: %s", exc)
        return
    except Exception:  # a bug here must not stop the sync
        log.exception("lag gauges not refreshed, the last values stay")
        return
    metrics.publish_lag(group, lags)
    log.debug("lag gauges refreshed partitions=%d", len(lags))


def register(app: faust.App, settings: Settings) -> None:
    async def refresh_lag() -> None:
        await refresh(app, settings)

    app.timer(interval=settings.worker_lag_interval, name="lag-gauges")(refresh_lag)
