"""Whether a worker is alive and can work, for a container's health check.

Each worker writes ``forewarn:worker:<host name>`` to Redis every third of the claim
lease, for one lease: ``ok`` when the database answered ``SELECT 1`` just before, else
what failed. ``forewarn worker --check`` reads it on the same host (a container's
host name is its own). It runs beside arq's loop, not in it: arq's own health key
(``health_check_key``) is written between polls, which wait while every job slot is
busy, so a worker deep in a long fan-out would look dead.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger(__name__)

PREFIX = "forewarn:worker:"
# Each beat's database check gets this long (seconds).
DATABASE_TIMEOUT = 5.0


def key(host: str | None = None) -> str:
    """The Redis key of the worker(s) on ``host`` (default: this one)."""
    return PREFIX + (host or socket.gethostname())


class Liveness:
    """Writes this worker's liveness key until cancelled (see the module)."""

    def __init__(self, redis: ArqRedis, engine: AsyncEngine, lease_seconds: float) -> None:
        self._redis = redis
        self._engine = engine
        self._lease_ms = max(1, round(lease_seconds * 1000))
        self._every = lease_seconds / 3

    async def run(self) -> None:
        """Beat every third of the lease until cancelled; a failed beat is logged."""
        while True:
            try:
                await self._redis.psetex(key(), self._lease_ms, await self._database())
            except Exception as exc:  # Redis is away: the key lapses, and the check says so
                log.warning("could not record this worker's liveness: %s", type(exc).__name__)
            await asyncio.sleep(self._every)

    async def _database(self) -> str:
        try:
            async with asyncio.timeout(DATABASE_TIMEOUT):
                async with self._engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
        except TimeoutError:
            return f"database did not answer within {DATABASE_TIMEOUT:g} s"
        except Exception as exc:
            # The class only: a driver's message may carry the host and user.
            return f"database did not answer ({type(exc).__name__})"
        return "ok"


async def check(redis: ArqRedis, host: str | None = None) -> str:
    """``ok`` when the worker on ``host`` (default: this one) beat within the lease and
    its database answered; otherwise why not. Redis errors propagate."""
    value = await redis.get(key(host))
    if value is None:
        return "no worker on this host has written its liveness within the lease"
    return bytes(value).decode()
