"""What a notification says: the greeting and times in the recipient's terms, a short
body for texts, and the context the templates get from the records."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier import components, incidents, maintenance
from notifier.db import create_engine, sessionmaker, utcnow
from notifier.delivery.messages import (
    VARIABLES,
    context,
    greeting,
    recipient_zone,
    shorten,
    when,
    window,
)
from notifier.events import Event
from notifier.schemas.components import ComponentCreate
from notifier.schemas.incidents import AffectedComponent, IncidentCreate
from notifier.schemas.maintenance import MaintenanceCreate
from notifier.schemas.translations import (
    NameText,
    NameTranslations,
    TitleBodyText,
    TitleBodyTranslations,
)
from notifier.tables import DeliveryProblem, DeliveryProblemUpdate, Notification
from tests.conftest import make_settings

Sessions = async_sessionmaker[AsyncSession]


def test_the_greeting_is_by_name_in_the_recipients_language() -> None:
    assert greeting("en", "Taro", "Yamada") == "Hi Taro,"
    assert greeting("en", None, "Yamada") == "Hello,"
    assert greeting("en", None, None) == "Hello,"
    assert greeting("ja", "太郎", "山田") == "山田様"
    assert greeting("ja", "太郎", None) == "太郎様"
    assert greeting("ja", " ", "") == "お客様"
    assert greeting("ja", None, None) == "お客様"


def test_a_time_is_written_in_the_locales_way_with_the_zone_named() -> None:
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert when(moment, "Asia/Tokyo", "en") == "Nov 23, 18:30 JST"
    assert when(moment, "Asia/Tokyo", "ja") == "11月23日 18:30 JST"
    assert when(moment, "UTC", "en") == "Nov 23, 09:30 UTC"
    assert when(moment, "America/New_York", "en") == "Nov 23, 04:30 EST"
    assert when(datetime(2026, 7, 1, 14, 0, tzinfo=UTC), "America/New_York") == "Jul 1, 10:00 EDT"
    assert when(None, "Asia/Tokyo") == ""


def test_a_zone_without_an_abbreviation_is_named_by_its_iana_name() -> None:
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert when(moment, "Europe/Istanbul", "en") == "Nov 23, 12:30 (Europe/Istanbul)"
    assert when(moment, "Europe/Istanbul", "ja") == "11月23日 12:30 (Europe/Istanbul)"


def test_an_unknown_locale_writes_times_as_english() -> None:
    moment = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert when(moment, "UTC", "fr") == when(moment, "UTC", "en")


def test_the_recipients_zone_unless_they_have_none() -> None:
    assert recipient_zone("America/New_York", "Asia/Tokyo") == "America/New_York"
    # "UTC" is a zone a customer has (the column's default), not a missing one.
    assert recipient_zone("UTC", "Asia/Tokyo") == "UTC"
    assert recipient_zone("", "Asia/Tokyo") == "Asia/Tokyo"
    assert recipient_zone(None, "Asia/Tokyo") == "Asia/Tokyo"
    assert recipient_zone("Mars/Olympus", "Asia/Tokyo") == "Asia/Tokyo"


def test_a_window_on_one_day_names_the_day_once() -> None:
    starts = datetime(2026, 12, 20, 1, 0, tzinfo=UTC)
    ends = datetime(2026, 12, 20, 3, 0, tzinfo=UTC)
    assert window(starts, ends, "Asia/Tokyo", "en") == "Dec 20, 10:00-12:00 JST"
    assert window(starts, ends, "Asia/Tokyo", "ja") == "12月20日 10:00〜12:00 JST"
    assert window(starts, ends, "UTC") == "Dec 20, 01:00-03:00 UTC"


def test_a_window_over_midnight_in_the_recipients_zone_names_both_days() -> None:
    # One UTC day, but 23:00 to 01:00 in Tokyo.
    starts = datetime(2026, 12, 20, 14, 0, tzinfo=UTC)
    ends = datetime(2026, 12, 20, 16, 0, tzinfo=UTC)
    assert window(starts, ends, "Asia/Tokyo") == "Dec 20, 23:00 JST - Dec 21, 01:00 JST"
    assert window(starts, ends, "Asia/Tokyo", "ja") == "12月20日 23:00 JST〜12月21日 01:00 JST"


def test_a_window_across_a_change_of_offset_names_both_zones() -> None:
    # 2026-03-29 is when Central Europe moves from CET to CEST.
    starts = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
    ends = datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
    said = window(starts, ends, "Europe/Berlin")
    assert said == "Mar 29, 01:30 CET - Mar 29, 04:00 CEST"


def test_a_window_without_an_end_or_a_start() -> None:
    starts = datetime(2026, 12, 20, 1, 0, tzinfo=UTC)
    assert window(starts, None, "Asia/Tokyo") == "Dec 20, 10:00 JST"
    assert window(None, starts, "Asia/Tokyo") == ""
    assert window(None, None, "Asia/Tokyo") == ""


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
        "brand_color": None,
        "brand_logo_url": None,
        "company_url": None,
        "title": "Checkout errors",
        "status": "investigating",
        "status_label": "調査中",
        "body": "Some payments\nfail.",
        "body_short": "Some payments fail.",
        "components": ["API"],
        "next_update_by": "11月23日 18:30 JST",
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


async def test_a_maintenance_context_says_the_window_in_the_recipients_zone(
    database_url: str, redis_url: str
) -> None:
    settings = make_settings(database_url, redis_url, page_time_zone="Asia/Tokyo")
    engine = create_engine(settings.database_url)
    sessions: Sessions = sessionmaker(engine)
    body = MaintenanceCreate(
        title="Database upgrade",
        body="Checkout will be read-only.",
        scheduled_for=datetime(2026, 12, 20, 1, 0, tzinfo=UTC),
        scheduled_until=datetime(2026, 12, 20, 3, 0, tzinfo=UTC),
    )
    async with sessions() as session, session.begin():
        await maintenance.create_maintenance(session, body, posted_by="ops", now=utcnow())
    async with sessions() as session:
        notification = (await session.scalars(select(Notification))).one()
        said = await context(session, notification, settings, "ja")
        in_new_york = await context(session, notification, settings, "en", "America/New_York")
    await engine.dispose()
    # The page's zone where the recipient has none.
    assert said["window"] == "12月20日 10:00〜12:00 JST"
    assert in_new_york["window"] == "Dec 19, 20:00-22:00 EST"
    assert said["status_label"] == "予定"
    assert said["title"] == "Database upgrade"


async def test_an_incident_context_has_no_window(database_url: str, redis_url: str) -> None:
    settings = make_settings(database_url, redis_url)
    engine = create_engine(settings.database_url)
    sessions: Sessions = sessionmaker(engine)
    async with sessions() as session, session.begin():
        create = IncidentCreate(title="Checkout errors", body="Some payments fail.")
        await incidents.create_incident(session, create, posted_by="ops", now=utcnow())
    async with sessions() as session:
        notification = (await session.scalars(select(Notification))).one()
        said = await context(session, notification, settings, "en")
    await engine.dispose()
    assert "window" not in said


async def test_a_problem_context_has_its_kind_the_updates_status_and_the_brand(
    database_url: str, redis_url: str
) -> None:
    settings = make_settings(
        database_url,
        redis_url,
        page_time_zone="Asia/Tokyo",
        brand_color="#7b1fa2",
        brand_logo_url="https://cdn.example.test/logo.png",
        company_url="https://www.example.test/",
    )
    engine = create_engine(settings.database_url)
    sessions: Sessions = sessionmaker(engine)
    async with sessions() as session, session.begin():
        problem = DeliveryProblem(reference="ORD-7", kind="lost", status="resolved", title="")
        session.add(problem)
        await session.flush()
        update = DeliveryProblemUpdate(
            problem_id=problem.id,
            status="resolved",
            body="We **found** it.",
            eta=datetime(2026, 11, 25, 3, 0, tzinfo=UTC),
        )
        session.add(update)
        await session.flush()
        # Only its kind and ids are read: the row itself need not be stored.
        notification = Notification(
            kind="problem_update",
            event="problem_updated",
            subject_id=problem.id,
            update_id=update.id,
        )
    async with sessions() as session:
        said = await context(session, notification, settings, "en")
    await engine.dispose()
    assert said == {
        "page_name": "Test status",
        "url": "http://status.test/",
        "brand_color": "#7b1fa2",
        "brand_logo_url": "https://cdn.example.test/logo.png",
        "company_url": "https://www.example.test/",
        "reference": "ORD-7",
        "title": "",
        "kind": "lost",
        "status": "resolved",
        "status_label": "Resolved",
        "body": "We **found** it.",
        "body_short": "We found it.",
        "eta": "Nov 25, 12:00 JST",
    }


async def test_the_context_of_every_event_has_exactly_its_documented_variables(
    database_url: str, redis_url: str
) -> None:
    settings = make_settings(database_url, redis_url)
    engine = create_engine(settings.database_url)
    sessions: Sessions = sessionmaker(engine)
    async with sessions() as session, session.begin():
        await incidents.create_incident(
            session, IncidentCreate(title="Slow", body="Looking."), posted_by="ops", now=utcnow()
        )
        planned = MaintenanceCreate(
            title="Upgrade",
            body="Read-only.",
            scheduled_for=datetime(2026, 12, 20, 1, 0, tzinfo=UTC),
            scheduled_until=datetime(2026, 12, 20, 3, 0, tzinfo=UTC),
        )
        await maintenance.create_maintenance(session, planned, posted_by="ops", now=utcnow())
        problem = DeliveryProblem(reference="ORD-7", kind="delayed", status="open", title="")
        session.add(problem)
        await session.flush()
        problem_update = DeliveryProblemUpdate(problem_id=problem.id, status="open", body="Late.")
        session.add(problem_update)
    async with sessions() as session:
        written = {n.kind: n for n in await session.scalars(select(Notification))}
        problem_row = Notification(
            kind="problem_update",
            event="problem_opened",
            subject_id=problem.id,
            update_id=problem_update.id,
        )
        subjects = {
            "incident": written["incident_update"],
            "maintenance": written["maintenance_update"],
            "problem": problem_row,
        }
        found = {}
        for event in Event:
            # A reminder is a notification of its own about the maintenance (kind
            # "maintenance_reminder"): its subject and latest update are read the same.
            row = subjects[event.subject]
            kind = "maintenance_reminder" if event == Event.maintenance_reminder else row.kind
            one = Notification(
                kind=kind, event=event, subject_id=row.subject_id, update_id=row.update_id
            )
            found[event] = await context(session, one, settings, "en")
    await engine.dispose()
    for event in Event:
        assert set(found[event]) == VARIABLES[event], event
    assert found[Event.maintenance_reminder]["window"] == "Dec 20, 01:00-03:00 UTC"


async def test_the_context_takes_the_locales_translation_and_falls_back_to_the_own_text(
    database_url: str, redis_url: str
) -> None:
    settings = make_settings(database_url, redis_url)
    engine = create_engine(settings.database_url)
    sessions: Sessions = sessionmaker(engine)
    async with sessions() as session, session.begin():
        translated = await components.create_component(
            session,
            ComponentCreate(
                name="API", translations=NameTranslations(ja=NameText(name="エーピーアイ"))
            ),
            now=utcnow(),
        )
        plain = await components.create_component(
            session, ComponentCreate(name="Web"), now=utcnow()
        )
        body = IncidentCreate(
            title="Checkout errors",
            body="Some payments fail.",
            components=[
                AffectedComponent(component_id=translated.id),
                AffectedComponent(component_id=plain.id),
            ],
            translations=TitleBodyTranslations(ja=TitleBodyText(title="決済エラー")),
        )
        await incidents.create_incident(session, body, posted_by="ops", now=utcnow())
    async with sessions() as session:
        notification = (await session.scalars(select(Notification))).one()
        ja = await context(session, notification, settings, "ja")
        en = await context(session, notification, settings, "en")
    await engine.dispose()

    assert (ja["title"], ja["body"], ja["body_short"]) == (
        "決済エラー",
        "Some payments fail.",  # no Japanese body: the own text
        "Some payments fail.",
    )
    assert sorted(ja["components"]) == ["Web", "エーピーアイ"]
    assert (en["title"], en["body"]) == ("Checkout errors", "Some payments fail.")
    assert sorted(en["components"]) == ["API", "Web"]
