# syntax=docker/dockerfile:1
# Forewarn: `docker build -t forewarn .` then
#   docker run -p 8080:8080 forewarn                       (SQLite + embedded Redis in /data)
#   docker run -p 8080:8080 -e FOREWARN_MODE=production -e FOREWARN_DATABASE_URL=... forewarn
# Every setting is a FOREWARN_ environment variable (see README); `forewarn --help` lists
# the commands, e.g. `docker run forewarn worker` or `docker run forewarn migrate`.

# --- builder: a wheel of Forewarn, installed with its dependencies into /opt/forewarn ---
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY config ./config
COPY notifier ./notifier
COPY status_page ./status_page
COPY workers ./workers
COPY forewarn ./forewarn

RUN python -m venv /opt/forewarn \
 && python -m pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/forewarn/bin/pip install /wheels/forewarn-*.whl

# --- final: only the virtual environment, run as an unprivileged user ---
FROM python:3.11-slim

ENV PATH=/opt/forewarn/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# /srv/forewarn: where the worker publishes the static page (compose.yaml's `page`
# volume, which nginx serves); a new named volume takes this folder's owner.
RUN groupadd --system --gid 10001 forewarn \
 && useradd --system --uid 10001 --gid forewarn --home-dir /data --create-home \
        --shell /usr/sbin/nologin forewarn \
 && install -d --owner=10001 --group=10001 /srv/forewarn

COPY --from=builder /opt/forewarn /opt/forewarn

# The default SQLite file and the embedded Redis live in the working directory.
WORKDIR /data
VOLUME ["/data"]
USER 10001:10001

EXPOSE 8080
# `worker` containers serve no HTTP: give them --health-cmd 'forewarn worker --check'
# (compose.yaml does), which reads the liveness each worker writes to Redis.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]

ENTRYPOINT ["forewarn"]
CMD ["run", "--host", "0.0.0.0"]
