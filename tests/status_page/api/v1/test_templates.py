"""Ops API: message templates listed, overridden, reverted and previewed
(``status_page/api/v1/templates.py``)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.events import Event
from notifier.tables import AuditEntry, Delivery, MessageTemplate, Notification
from tests.conftest import Client, KeyFactory
from tests.notifier.delivery.test_sending import run_worker

Headers = dict[str, str]
SUBJECT = "/api/v1/templates/incident_created/en/email_subject"


async def answer(response: Any, status: int) -> Any:
    assert response.status == status, await response.text()
    return await response.json()


async def test_it_lists_every_event_locale_and_part_with_the_built_in(
    client: Client, admin: Headers
) -> None:
    listed = await answer(await client.get("/api/v1/templates", headers=admin), 200)

    keys = {(t["event"], t["locale"], t["part"]) for t in listed["data"]}
    assert keys == {
        (event, locale, part)
        for event in Event
        for locale in ("en", "ja")
        for part in ("email_subject", "email_text", "email_html", "sms")
    }
    assert len(listed["data"]) == 120  # 15 events, 2 locales, 4 parts
    sms = next(
        t
        for t in listed["data"]
        if (t["event"], t["locale"], t["part"]) == ("problem_opened", "ja", "sms")
    )
    assert not sms["overridden"]
    assert sms["source"] == sms["builtin_source"]
    assert "reference" in sms["source"]
    assert (sms["updated_at"], sms["updated_by"]) == (None, None)


async def test_an_override_is_listed_and_a_delete_reverts_it(
    client: Client, make_key: KeyFactory
) -> None:
    writer = await make_key("read", "templates:write", name="copy desk")
    source = "[{{ page_name }}] {{ title }}: {{ status_label }}"

    put = await answer(await client.put(SUBJECT, json={"source": source}, headers=writer), 201)
    again = await answer(await client.put(SUBJECT, json={"source": source}, headers=writer), 200)
    listed = await answer(await client.get("/api/v1/templates", headers=writer), 200)
    reverted = await answer(await client.delete(SUBJECT, headers=writer), 200)
    after = await answer(await client.get("/api/v1/templates", headers=writer), 200)

    assert (put["source"], put["overridden"], put["updated_by"]) == (source, True, "copy desk")
    assert put["builtin_source"] != source
    assert again["source"] == source
    [shown] = [t for t in listed["data"] if t["overridden"]]
    assert (shown["event"], shown["locale"], shown["part"]) == (
        "incident_created",
        "en",
        "email_subject",
    )
    assert (reverted["overridden"], reverted["source"]) == (False, put["builtin_source"])
    assert not any(t["overridden"] for t in after["data"])


async def test_writes_are_audited_with_the_template_they_changed(
    client: Client, admin: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await answer(await client.put(SUBJECT, json={"source": "{{ title }}"}, headers=admin), 201)
    await answer(await client.delete(SUBJECT, headers=admin), 200)

    async with sessions() as session:
        entries = (await session.scalars(select(AuditEntry).order_by(AuditEntry.at))).all()
    assert [(e.action, e.target_type, e.target_id) for e in entries] == [
        ("template.override", "template", "incident_created/en/email_subject"),
        ("template.revert", "template", "incident_created/en/email_subject"),
    ]
    assert entries[0].changes == {"source": "{{ title }}"}


async def test_an_unknown_variable_is_refused_by_name_and_nothing_is_saved(
    client: Client, admin: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # An ETA belongs to delivery problems, not incidents.
    response = await client.put(
        SUBJECT, json={"source": "{{ title }} by {{ eta }} {{ reference }}"}, headers=admin
    )

    problem = await answer(response, 422)
    assert response.content_type == "application/problem+json"
    [error] = problem["errors"]
    assert (error["field"], error["pointer"]) == ("source", "/source")
    assert "unknown variable 'eta', 'reference'" in error["detail"]
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(MessageTemplate)) == 0


async def test_syntax_errors_unknown_filters_and_tokens_are_refused(
    client: Client, admin: Headers
) -> None:
    for source, detail in [
        ("{{ title ", "line 1"),
        ("{% if title %}open", "line 1"),
        ("{{ title|shout }}", "No filter named 'shout'"),
        ('{{ token("phone") }}', "unknown token 'phone'"),
    ]:
        problem = await answer(
            await client.put(SUBJECT, json={"source": source}, headers=admin), 422
        )
        [error] = problem["errors"]
        assert error["field"] == "source"
        assert detail in error["detail"], (source, error)


async def test_a_rating_prompts_templates_may_use_the_score_links_and_no_other_may(
    client: Client, admin: Headers
) -> None:
    rating = "/api/v1/templates/incident_rating/en/email_text"
    looped = (
        '{{ question }}\n{% for s in scores %}{{ s }}: {{ token("rating_url_" ~ s) }}\n{% endfor %}'
    )
    html = '<p>{{ question }} <a href="{{ token("rating_url_5") }}">5</a></p>'
    for path, source in [
        (rating, looped),
        ("/api/v1/templates/problem_rating/ja/email_html", html),
        ("/api/v1/templates/maintenance_rating/en/sms", 'Rate: {{ token("rating_url_1") }}'),
    ]:
        await answer(await client.put(path, json={"source": source}, headers=admin), 201)

    for path, source, detail in [
        (SUBJECT, '{{ token("rating_url_4") }}', "unknown token 'rating_url_4'"),
        (SUBJECT, '{{ token("rating_url_" ~ 4) }}', "unknown token 'rating_url_4'"),
        (rating, '{{ token("rating_url_11") }}', "unknown token 'rating_url_11'"),
        (rating, '{{ token("rating_url_" ~ 11) }}', "unknown token 'rating_url_11'"),
        (rating, '{% for s in scores %}{{ token("url_" ~ s) }}{% endfor %}', "unknown token ''"),
        (
            rating,
            '{% for s in scores %}{{ token("rating_url_" ~ (s + 10)) }}{% endfor %}',
            "unknown token 'rating_url_11'",
        ),
    ]:
        problem = await answer(await client.put(path, json={"source": source}, headers=admin), 422)
        [error] = problem["errors"]
        assert error["field"] == "source"
        assert detail in error["detail"], (source, error)


async def test_the_sandbox_refuses_reaching_into_python(
    client: Client, admin: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for source in [
        "{{ ''.__class__.__mro__ }}",
        "{{ title.__class__.__mro__[1].__subclasses__() }}",
        "{{ components.append('x') }}",
        "{{ 'x' * 1000000000 }}",
    ]:
        problem = await answer(
            await client.put(SUBJECT, json={"source": source}, headers=admin), 422
        )
        [error] = problem["errors"]
        assert error["field"] == "source"
        assert "fails with sample data" in error["detail"], (source, error)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(MessageTemplate)) == 0


async def test_unknown_event_locale_or_part_are_4xx_naming_it(
    client: Client, admin: Headers
) -> None:
    for path, name in [
        ("/api/v1/templates/incident_exploded/en/sms", "event"),
        ("/api/v1/templates/incident_created/fr/sms", "locale"),
        ("/api/v1/templates/incident_created/en/fax", "part"),
    ]:
        problem = await answer(await client.put(path, json={"source": "x"}, headers=admin), 422)
        assert [e["field"] for e in problem["errors"]] == [name]
        await answer(await client.delete(path, headers=admin), 404)


async def test_scopes(client: Client, make_key: KeyFactory) -> None:
    reader = await make_key("read")
    outsider = await make_key("customers:read")
    body = {"event": "incident_created", "channel": "sms"}

    await answer(await client.get("/api/v1/templates", headers=reader), 200)
    await answer(await client.post("/api/v1/templates/preview", json=body, headers=reader), 200)
    await answer(await client.put(SUBJECT, json={"source": "x"}, headers=reader), 403)
    await answer(await client.delete(SUBJECT, headers=reader), 403)
    await answer(await client.get("/api/v1/templates", headers=outsider), 403)
    # A customer's preview shows their name: personal data.
    await answer(
        await client.post(
            "/api/v1/templates/preview", json={**body, "customer": "aiko"}, headers=reader
        ),
        403,
    )


async def preview(client: Client, headers: Headers, **body: Any) -> Any:
    response = await client.post("/api/v1/templates/preview", json=body, headers=headers)
    return await answer(response, 200)


async def test_a_preview_with_sample_data_fills_every_part(client: Client, admin: Headers) -> None:
    email = await preview(client, admin, event="problem_opened", channel="email", locale="en")
    sms = await preview(client, admin, event="maintenance_scheduled", channel="sms", locale="ja")
    inapp = await preview(client, admin, event="incident_created", channel="inapp")

    assert "ORD-1234" in email["subject"]
    assert "Your order ORD-1234 is delayed." in email["text"]
    assert "New expected delivery: Dec 2, 09:00 UTC" in email["text"]
    assert email["text"].startswith("Hi Ann,")
    assert "ORD-1234" in email["html"]
    assert "%%" not in email["text"] + email["html"] + email["subject"]
    assert "http://status.test/unsubscribe/" in email["text"]
    assert email["sms"] is None
    assert "データベースの更新" in sms["text"]
    assert "12月20日 01:00〜03:00 UTC" in sms["text"]
    assert sms["sms"]["encoding"] == "UCS-2"
    assert sms["sms"]["segments"] >= 2
    assert (sms["subject"], sms["html"], sms["locale"]) == ("", "", "ja")
    assert "Login errors" in inapp["subject"]
    assert "Investigating" in inapp["subject"]
    assert inapp["html"] == ""


async def test_a_rating_prompts_preview_asks_the_real_question_with_working_looking_links(
    client: Client, admin: Headers
) -> None:
    question = "How satisfied were you with how we kept you informed?"
    email = await preview(client, admin, event="incident_rating", channel="email", locale="en")
    inapp = await preview(client, admin, event="problem_rating", channel="inapp", locale="ja")

    assert question in email["text"]
    assert f"<strong>{question}</strong>" in email["html"]
    assert "%%" not in email["text"] + email["html"]
    for score in range(1, 6):
        assert re.search(
            rf"^{score}: http://status\.test/rate/\S+\?score={score}$", email["text"], re.M
        )
        assert re.search(rf'href="http://status\.test/rate/[^"]+\?score={score}"', email["html"])
    assert "[question]" not in email["text"]
    assert "どの程度ご満足いただけましたか" in inapp["text"]
    assert "1〜5からお選びください" in inapp["text"]
    assert "返信" not in inapp["text"]


async def test_a_preview_of_an_unsaved_source_changes_nothing(
    client: Client, admin: Headers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    sms = "{{ page_name }}: {{ title }} ({{ status_label }}) {{ url }}"
    shown = await preview(
        client, admin, event="incident_created", channel="sms", sources={"sms": sms}
    )

    assert shown["text"] == "Test status: Login errors (Investigating) http://status.test/"
    assert shown["sms"] == {"segments": 1, "encoding": "GSM-7"}
    listed = await answer(await client.get("/api/v1/templates", headers=admin), 200)
    assert not any(t["overridden"] for t in listed["data"])


async def test_a_preview_that_fails_is_a_422_naming_the_part(
    client: Client, admin: Headers
) -> None:
    bad = await client.post(
        "/api/v1/templates/preview",
        json={
            "event": "incident_created",
            "channel": "email",
            "sources": {"email_html": "{{ eta }}"},
        },
        headers=admin,
    )
    problem = await answer(bad, 422)
    assert [e["field"] for e in problem["errors"]] == ["sources.email_html"]
    assert "unknown variable 'eta'" in problem["errors"][0]["detail"]

    unknown = await client.post(
        "/api/v1/templates/preview",
        json={"event": "incident_created", "channel": "email", "customer": "nobody"},
        headers=admin,
    )
    assert [e["field"] for e in (await answer(unknown, 404))["errors"]] == ["customer"]
    missing = await client.post(
        "/api/v1/templates/preview",
        json={"event": "incident_created", "channel": "email", "notification_id": "nope"},
        headers=admin,
    )
    assert [e["field"] for e in (await answer(missing, 404))["errors"]] == ["notification_id"]
    wrong = await client.post(
        "/api/v1/templates/preview",
        json={"event": "teatime", "channel": "pigeon"},
        headers=admin,
    )
    assert {e["field"] for e in (await answer(wrong, 422))["errors"]} == {"event", "channel"}


async def counts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int | None, ...]:
    async with sessions() as session:
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(table))
                for table in (Notification, Delivery, AuditEntry, MessageTemplate)
            ]
        )


async def test_a_preview_for_a_real_customer_and_notification_writes_nothing(
    client: Client, admin: Headers, settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    consent = {"channels": ["email", "sms"], "legal_basis": "contract"}
    customer = {
        "given_name": "太郎",
        "family_name": "山田",
        "email": "taro@example.com",
        "locale": "ja",
        "consent": consent,
        "follows": {"page": True},
    }
    await answer(await client.put("/api/v1/customers/taro", json=customer, headers=admin), 201)
    created = await client.post(
        "/api/v1/incidents",
        json={"title": "Checkout errors", "body": "Some payments fail."},
        headers=admin,
    )
    incident = await answer(created, 201)
    await run_worker(settings)
    listed = await client.get(f"/api/v1/subjects/{incident['id']}/notifications", headers=admin)
    [notification] = (await answer(listed, 200))["data"]
    before = await counts(sessions)

    shown = await preview(
        client,
        admin,
        event="incident_created",
        channel="email",
        customer="taro",
        notification_id=notification["id"],
    )

    assert await counts(sessions) == before
    assert shown["locale"] == "ja"
    assert shown["text"].startswith("山田様")
    assert "Checkout errors" in shown["subject"]
    assert "Some payments fail." in shown["text"]
    assert "http://status.test/manage/" in shown["text"]
    wrong = await client.post(
        "/api/v1/templates/preview",
        json={
            "event": "incident_resolved",
            "channel": "email",
            "notification_id": notification["id"],
        },
        headers=admin,
    )
    assert [e["field"] for e in (await answer(wrong, 422))["errors"]] == ["event"]


async def test_a_preview_of_a_real_notification_is_in_the_languages_translation(
    client: Client, admin: Headers
) -> None:
    created = await client.post(
        "/api/v1/incidents",
        json={
            "title": "Checkout errors",
            "body": "Some payments fail.",
            "translations": {
                "ja": {"title": "決済エラー", "body": "一部のお支払いが失敗しております。"}
            },
        },
        headers=admin,
    )
    incident = await answer(created, 201)
    listed = await client.get(f"/api/v1/subjects/{incident['id']}/notifications", headers=admin)
    [notification] = (await answer(listed, 200))["data"]

    shown = {
        locale: await preview(
            client,
            admin,
            event="incident_created",
            channel="email",
            locale=locale,
            notification_id=notification["id"],
        )
        for locale in ("ja", "en")
    }

    assert "決済エラー" in shown["ja"]["subject"]
    assert "一部のお支払いが失敗しております。" in shown["ja"]["text"]
    assert "一部のお支払いが失敗しております。" in shown["ja"]["html"]
    assert "Checkout errors" in shown["en"]["subject"]
    assert "Some payments fail." in shown["en"]["text"]


async def test_a_preview_writes_the_times_in_the_customers_zone(
    client: Client, admin: Headers, settings: Settings
) -> None:
    customer = {
        "given_name": "Ann",
        "email": "ann@example.com",
        "time_zone": "America/New_York",
        "consent": {"channels": ["email"], "legal_basis": "contract"},
        "follows": {"page": True},
    }
    await answer(await client.put("/api/v1/customers/ann", json=customer, headers=admin), 201)
    created = await client.post(
        "/api/v1/incidents",
        json={
            "title": "Checkout errors",
            "body": "Some payments fail.",
            "next_update_by": "2026-12-20T01:30:00Z",
        },
        headers=admin,
    )
    incident = await answer(created, 201)
    await run_worker(settings)
    listed = await client.get(f"/api/v1/subjects/{incident['id']}/notifications", headers=admin)
    [notification] = (await answer(listed, 200))["data"]

    shown = {
        channel: await preview(
            client,
            admin,
            event="incident_created",
            channel=channel,
            customer="ann",
            notification_id=notification["id"],
        )
        for channel in ("email", "sms", "inapp")
    }

    assert "next update by Dec 19, 20:30 EST." in shown["email"]["text"]
    assert "Dec 19, 20:30 EST" in shown["email"]["html"]
    assert "Next update by Dec 19, 20:30 EST." in shown["sms"]["text"]
    assert "Next update by Dec 19, 20:30 EST." in shown["inapp"]["text"]
    assert all("%%" not in s["subject"] + s["text"] + s["html"] for s in shown.values())
    # Sample data too is written in the customer's zone (1 December, 10:30 UTC).
    sample = await preview(client, admin, event="incident_created", channel="sms", customer="ann")
    assert "Dec 1, 05:30 EST" in sample["text"]
