"""`streams worker` plus the Ditto -> legacy agents, for the tests of those agents.

Run as `python -m tests.agents._twin_worker PORT`. Once streams.agents.worker registers
the two agents itself, this adds nothing and runs the same worker.
"""

from __future__ import annotations

import sys

import faust

from streams.agents import ditto_to_legacy, postgres_sink
from streams.agents.worker import build
from streams.config import get_settings


def main() -> None:
    settings = get_settings()
    app = build(settings, int(sys.argv[1]))
    if ditto_to_legacy.STATE_TABLE not in app.tables:
        ditto_to_legacy.register(app, settings)
        postgres_sink.register(app, settings)
    faust.Worker(app, loglevel="info").execute_from_commandline()


if __name__ == "__main__":
    main()
