# The ditto-streams image: `streams` is the entrypoint, so the arguments pick the command
# (worker, ditto bootstrap, stack seed, ...). The `test` target adds the test suite and its
# tools, for docker-compose.test.yml's `tests` service.
FROM python:3.12-slim-bookworm AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/ditto-streams
# Editable install: the mappings, thing models, templates and sample data are found
# beside the package, as in a clone.
COPY pyproject.toml README.md ./
COPY streams ./streams
COPY mappings ./mappings
COPY schemas ./schemas
COPY deploy/ditto ./deploy/ditto
COPY deploy/connect ./deploy/connect
COPY deploy/postgres ./deploy/postgres
COPY data ./data
RUN pip install -e . \
    && groupadd --gid 10001 streams \
    && useradd --uid 10001 --gid streams --no-create-home --home-dir /nonexistent streams \
    && mkdir -p /var/lib/streams \
    && chown streams:streams /var/lib/streams
ENV STREAMS_WORKER_DATA_DIR=/var/lib/streams/workers \
    STREAMS_WORKER_WEB_BIND=0.0.0.0
USER 10001:10001
EXPOSE 6066
ENTRYPOINT ["streams"]
CMD ["worker"]

FROM runtime AS test
USER root
COPY tests ./tests
COPY bench ./bench
RUN pip install -e '.[dev]' && chown -R streams:streams /opt/ditto-streams
USER 10001:10001
ENTRYPOINT []
CMD ["pytest"]
