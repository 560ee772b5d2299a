"""Whether the configured database is there, reachable and migrated, before a command uses it."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from notifier import migrate
from notifier.db import create_engine


class NoDatabase(Exception):
    """The database is missing, unreachable or not migrated; the message is one line."""


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names; None for another database, ``:memory:`` or a URI."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or parsed.query.get("uri"):
        return None
    if not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


async def check(url: str, *, migrated: bool = True) -> None:
    """Raises ``NoDatabase`` unless ``url`` is reachable (and, if ``migrated``, at the head).

    With ``migrated`` a missing SQLite file is reported, never created: SQLite
    would create an empty one on connecting.
    """
    path = sqlite_file(url)
    if migrated and path is not None and not path.exists():
        raise NoDatabase(
            f"no database at {path}: run `forewarn migrate` (or `forewarn run`) here first, "
            "or set FOREWARN_DATABASE_URL"
        )
    engine = create_engine(url)
    # Alembic says at INFO which dialect it found: noise before every `api-key list`.
    alembic = logging.getLogger("alembic.runtime.migration")
    level = alembic.level
    alembic.setLevel(logging.WARNING)
    try:
        current = await migrate.is_current(engine)
    except (OSError, DBAPIError) as exc:
        raise NoDatabase(f"cannot open the database: {_reason(exc)}") from None
    finally:
        alembic.setLevel(level)
        await engine.dispose()
    if migrated and not current:
        raise NoDatabase("the database is not migrated; run `forewarn migrate`")


def _reason(exc: BaseException) -> str:
    """The driver's own words, first line only (never the URL: it may hold a password)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = (getattr(cause, "strerror", None) or str(cause) or type(cause).__name__).strip()
    return text.splitlines()[0]
