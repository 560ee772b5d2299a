"""What a notification says: the greeting and times in the recipient's terms, a short
body for texts, and the context the templates get from the records."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import components, incidents
from notifier.db import create_engine, sessionmaker, utcnow
from notifier.delivery.messages import context, greeting, shorten, when
from notifier.schemas.components import ComponentCreate
from notifier.schemas.incidents import AffectedComponent, IncidentCreate
from notifier.tables import Notification
from tests.conftest import make_settings

Sessions = async_sessionmaker[AsyncSession]


def test_the_greeting_is_by_name_in_the_recipients_language() -> None:
    assert greeting("en", "Ann") == "Hi Ann,"
    assert greeting("en", None) == "Hello,"
    assert greeting("ja", "山田") == "山田 様"
    assert greeting("ja", None) == "お客様"


def test_a_time_is_written_in_the_pages_time_zone() -> None:
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert when(moment, "Asia/Tokyo") == "2026-11-23 18:30 JST"
    assert when(moment, "UTC") == "2026-11-23 09:30 UTC"
    assert when(None, "Asia/Tokyo") == ""


def test_a_short_body_is_one_line_and_ends_in_an_ellipsis_when_cut() -> None:
    assert shorten("Some payments\n\n  fail.") == "Some payments fail."
    cut = shorten("word " * 100)
    assert (len(cut), cut[-1]) == (200, "…")
    assert shorten("abcdef", limit=4) == "abc…"


async def test_an_incident_updates_context_in_japanese(database_url: str, redis_url: str) -> None:
    settings = make_settings(database_url, redis_url, page_time_zone="Asia/Tokyo")
    engine = create_engine(settings.database_url)
    sessions: Sessions = sessionmaker(engine)
    promised = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    async with sessions() as session, session.begin():
        api = await components.create_component(session, ComponentCreate(name="API"), now=utcnow())
        body = IncidentCreate(
            title="Checkout errors",
            body="Some payments\nfail.",
            components=[AffectedComponent(component_id=api.id)],
            next_update_by=promised,
        )
        await incidents.create_incident(session, body, posted_by="ops", now=utcnow())
    async with sessions() as session:
        notification = (await session.scalars(select(Notification))).one()
        said = await context(session, notification, settings, "ja")
    await engine.dispose()
    assert said == {
        "page_name": "Test status",
        "url": "http://status.test/",
        "title": "Checkout errors",
        "status_label": "調査中",
        "body": "Some payments\nfail.",
        "body_short": "Some payments fail.",
        "components": ["API"],
        "next_update_by": "2026-11-23 18:30 JST",
    }


async def test_a_texts_short_body_is_cut_after_the_markdown_is_gone(
    database_url: str, redis_url: str
) -> None:
    settings = make_settings(database_url, redis_url)
    engine = create_engine(settings.database_url)
    sessions: Sessions = sessionmaker(engine)
    # The cut at 200 characters falls inside the bold text and the link.
    body = "Payments " * 20 + "**fail for " + "some users " * 5 + "now** [status](https://s.test/x)"
    async with sessions() as session, session.begin():
        api = await components.create_component(session, ComponentCreate(name="API"), now=utcnow())
        create = IncidentCreate(
            title="Checkout errors", body=body, components=[AffectedComponent(component_id=api.id)]
        )
        await incidents.create_incident(session, create, posted_by="ops", now=utcnow())
    async with sessions() as session:
        notification = (await session.scalars(select(Notification))).one()
        said = await context(session, notification, settings, "en")
    await engine.dispose()
    assert said["body"] == body
    assert "*" not in said["body_short"]
    assert "](" not in said["body_short"]
    assert said["body_short"].startswith("Payments Payments")
    assert (len(said["body_short"]), said["body_short"][-1]) == (200, "…")
