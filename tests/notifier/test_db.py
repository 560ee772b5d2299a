"""The engine: no log line, and no error that gets logged, carries a query's values."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import customers
from notifier.db import utcnow
from notifier.schemas.customers import CustomerPut
from notifier.tables import Customer

SECRET = "test-secret-key-not-for-production"  # what tests.conftest.make_settings sets

Sessions = async_sessionmaker[AsyncSession]
EMAIL = "aiko.tanaka@example.com"
PHONE = "+819012345678"


def leaks(records: list[logging.LogRecord], *values: str) -> list[str]:
    """Each (logger, value) where a record's message, arguments or traceback holds a value."""
    formatter = logging.Formatter()
    found = []
    for record in records:
        texts = [record.getMessage(), repr(record.args), record.exc_text or ""]
        if record.exc_info:
            texts.append(formatter.formatException(record.exc_info))
        found += [f"{record.name}: {value}" for value in values if value in "\n".join(texts)]
    return found


async def nul_in_the_name(session: AsyncSession) -> None:
    """Through the domain function, as if the API had let a NUL through: PostgreSQL
    refuses it (SQLite stores it)."""
    body = CustomerPut.model_construct(given_name="Aiko\x00", email=EMAIL, phone=PHONE)
    await customers.upsert_customer(session, "aiko", body, secret=SECRET, now=utcnow())


async def a_missing_column(session: AsyncSession) -> None:
    """A NOT NULL violation: PostgreSQL's DETAIL quotes the whole failing row."""
    customer = Customer(external_id="aiko-2", email=EMAIL, phone=PHONE)
    session.add(customer)
    await session.flush()
    customer.locale = None  # type: ignore[assignment]
    await session.flush()


async def a_value_of_the_wrong_type(session: AsyncSession) -> None:
    """asyncpg cannot encode it as the integer asked for, and quotes it in its message
    (SQLite casts it to 0)."""
    await session.execute(text("SELECT CAST(:phone AS integer)"), {"phone": PHONE})


async def test_a_failed_customer_write_logs_neither_the_address_nor_the_number(
    sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every logger at DEBUG,
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")  # even those that set WARNING
    errors = logging.getLogger("status_page.api.errors")
    attempts: list[Callable[[AsyncSession], Awaitable[None]]] = [
        nul_in_the_name,
        a_missing_column,
        a_value_of_the_wrong_type,
    ]
    failed = []
    for attempt in attempts:
        try:
            async with sessions() as session, session.begin():
                await attempt(session)
        except DBAPIError:
            # What the web's error middleware does with an error it did not expect.
            errors.exception("unhandled error on PUT /api/v1/customers/aiko")
            failed.append(attempt.__name__)

    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    assert failed == ([a.__name__ for a in attempts] if postgres else ["a_missing_column"])
    # The statements were logged (and looked at), only never with their values.
    assert any(r.name == "sqlalchemy.engine.Engine" for r in caplog.records)
    assert leaks(caplog.records, EMAIL, PHONE) == []
