"""Engine, sessions and the column types every table shares."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import BigInteger, ColumnElement, DateTime, MetaData, any_, bindparam, event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect, ExceptionContext
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

# Named constraints keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_ID_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


class Base(DeclarativeBase):
    """The declarative base of every table, with constraint names fixed by ``NAMING``."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite hands back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """An aware datetime converted to UTC (naive on SQLite); ValueError for a naive one."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """The stored value as an aware UTC datetime."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


def new_id() -> str:
    """A 12-character public id (Statuspage style), 62 bits from the OS's CSPRNG."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """The engine for ``url`` (SQLite or PostgreSQL). Whoever logs what it does or
    the errors it raises never sees a query's values or rows (addresses, numbers):
    SQLAlchemy's ``hide_parameters``; its DEBUG lines (result rows) and aiosqlite's
    (every call with its values) dropped whatever the logging configuration; and
    the values asyncpg quotes in its errors taken out (``_without_values``)."""
    kwargs["hide_parameters"] = True
    for name in ("sqlalchemy.engine.Engine", "aiosqlite"):
        logging.getLogger(name).addFilter(_info_and_above)  # the same filter once only
    if url.startswith("sqlite"):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine.sync_engine, "handle_error", _without_values)
    return engine


def _info_and_above(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.INFO


# asyncpg, when it cannot encode a value: "invalid input for query argument $2: 'x@y.z'
# (expected ...)"; the reason may quote the value again.
_ARGUMENT = re.compile(r"(invalid input for query argument \$\d+[^:]*): .*", re.DOTALL)


def _without_values(context: ExceptionContext) -> None:
    """Take the values out of a failed statement's errors before anything logs them.

    PostgreSQL puts the failing row or key in an error's DETAIL ("Failing row
    contains (..., x@y.z, +8190...)"), which asyncpg's ``str()`` appends; asyncpg
    quotes a value it could not encode in its message. Both go, in every exception
    of the chain a traceback prints and in SQLAlchemy's own message."""
    error: BaseException | None = context.original_exception
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if getattr(error, "detail", None):
            error.detail = None  # type: ignore[attr-defined]
        error.args = _unquoted(error.args)
        error = error.__cause__ or error.__context__
    if context.sqlalchemy_exception is not None:  # its message was made from the above
        context.sqlalchemy_exception.args = _unquoted(context.sqlalchemy_exception.args)


def _unquoted(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(_ARGUMENT.sub(r"\1", a) if isinstance(a, str) else a for a in args)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # WAL lets the page read while the worker writes; foreign keys are off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


_T = TypeVar("_T")


async def uncancelled(work: Awaitable[_T]) -> _T:
    """Await ``work`` (a transaction, with what must go with its commit) to its end and
    return its result; a cancellation meanwhile reaches the caller at its next wait.

    A statement cancelled half-way is not undone: SQLAlchemy throws its connection away
    while aiosqlite's thread still runs the statement, and with it SQLite's write lock
    may stay taken, every other write then waiting out the busy timeout (a stopping
    worker cancels its jobs). Use for short work only: nothing cuts it short.
    """
    task = asyncio.ensure_future(work)
    cancelled = False
    while True:
        try:
            result = await asyncio.shield(task)
            break
        except asyncio.CancelledError:
            if task.done():  # the work itself was cancelled
                raise
            cancelled = True
    current = asyncio.current_task()
    if cancelled and current is not None:
        # Handed on: the caller's next wait raises it, after what the work did is in hand.
        current.uncancel()
        current.cancel()
    return result


def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions on ``engine`` that keep their rows readable after a commit."""
    return async_sessionmaker(engine, expire_on_commit=False)


def among(column: Any, ids: Sequence[int], *, postgres: bool) -> ColumnElement[bool]:
    """``column IN ids``. On PostgreSQL as ``= ANY($1)`` with one array parameter: one
    prepared statement whatever the count, and no thousand binds to render each time."""
    if postgres:
        return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))  # type: ignore[no-any-return]
    return column.in_(ids)  # type: ignore[no-any-return]
