"""End to end in development mode: API call -> outbox row -> fan-out -> dev outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.delivery.sms_segments import segments
from notifier.tables import Customer, Delivery, Incident, Suppression
from tests.conftest import Client
from workers import create_worker


async def run_worker(settings: Settings) -> None:
    worker = create_worker(settings, settings.redis_url, burst=True, cron_jobs=[], poll_delay=0.01)
    try:
        await worker.async_run()
    finally:
        await worker.close()


async def put_customer(
    client: Client, admin: dict[str, str], external_id: str, **body: Any
) -> None:
    response = await client.put(f"/api/v1/customers/{external_id}", json=body, headers=admin)
    assert response.status == 201, await response.text()


async def test_an_incident_update_reaches_exactly_the_affected_consenting_customers(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    api = await (
        await client.post("/api/v1/components", json={"name": "API"}, headers=admin)
    ).json()
    web = await (
        await client.post("/api/v1/components", json={"name": "Web"}, headers=admin)
    ).json()
    consent = {"channels": ["email", "sms"], "legal_basis": "contract"}
    await put_customer(
        client,
        admin,
        "aiko",
        given_name="愛子",
        family_name="田中",
        email="aiko@example.com",
        phone="+81 90 1234 5678",
        inapp_user_id="user-1",
        locale="ja",
        consent=consent,
        follows={"page": True},
    )
    await put_customer(
        client,
        admin,
        "sam",
        given_name="Sam",
        email="sam@example.com",
        consent=consent,
        follows={"components": [api["id"]]},
    )
    await put_customer(
        client,
        admin,
        "web-only",
        email="web@example.com",
        consent=consent,
        follows={"components": [web["id"]]},
    )
    await put_customer(client, admin, "no-consent", email="nc@example.com", follows={"page": True})

    created = await client.post(
        "/api/v1/incidents",
        json={
            "title": "Checkout errors",
            "body": "Some payments fail. We are investigating.",
            "components": [{"component_id": api["id"], "status": "partial_outage"}],
        },
        headers=admin,
    )
    assert created.status == 201
    incident = await created.json()
    await run_worker(settings)

    outbox = (await (await client.get("/dev/outbox.json")).json())["data"]
    sent = sorted((m["channel"], m["to"]) for m in outbox)
    assert sent == [
        ("email", "aiko@example.com"),
        ("email", "sam@example.com"),
        ("sms", "+819012345678"),
    ]
    japanese = next(m for m in outbox if m["to"] == "aiko@example.com")
    assert japanese["body"].startswith("田中様")
    assert "調査中" in japanese["subject"]
    english = next(m for m in outbox if m["to"] == "sam@example.com")
    assert english["body"].startswith("Hi Sam,")
    assert "/unsubscribe/" in english["body"]

    listed = await (
        await client.get(f"/api/v1/subjects/{incident['id']}/notifications", headers=admin)
    ).json()
    [notification] = listed["data"]
    assert notification["status"] == "done"
    assert notification["deliveries"] == {
        "email": {"sent": 2, "suppressed": 1},
        "sms": {"sent": 1},
        "inapp": {"delivered": 1},
    }


async def test_a_delivery_problem_reaches_only_its_named_customers(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    consent = {"channels": ["email"], "legal_basis": "contract"}
    await put_customer(
        client,
        admin,
        "buyer",
        given_name="Aiko",
        email="buyer@example.com",
        locale="ja",
        consent=consent,
    )
    await put_customer(
        client,
        admin,
        "bystander",
        email="other@example.com",
        consent=consent,
        follows={"page": True},
    )
    created = await client.post(
        "/api/v1/delivery-problems",
        json={
            "reference": "ORD-1",
            "kind": "delayed",
            "body": "お届けが1日遅れます。",
            "customers": ["buyer"],
            "eta": "2026-11-25T10:00:00+09:00",
        },
        headers=admin,
    )
    assert created.status == 201
    await run_worker(settings)

    outbox = (await (await client.get("/dev/outbox.json")).json())["data"]
    assert [(m["to"], m["subject"]) for m in outbox] == [
        ("buyer@example.com", "【Test status】ご注文（ORD-1）に関するお知らせ")  # noqa: RUF001
    ]
    assert outbox[0]["body"].startswith("Aiko様")
    # The customer's zone (UTC, the default) in their language.
    assert "新しいお届け予定: 11月25日 01:00 UTC" in outbox[0]["body"]


async def test_a_customers_delivery_timeline_pages_newest_first(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    consent = {"channels": ["email"], "legal_basis": "contract"}
    await put_customer(
        client, admin, "reader", email="reader@example.com", consent=consent, follows={"page": True}
    )
    for title in ("One", "Two", "Three"):
        response = await client.post(
            "/api/v1/incidents", json={"title": title, "body": "Looking into it."}, headers=admin
        )
        assert response.status == 201
    await run_worker(settings)

    first = await (
        await client.get("/api/v1/customers/reader/deliveries?limit=2", headers=admin)
    ).json()
    second = await (
        await client.get(
            f"/api/v1/customers/reader/deliveries?limit=2&cursor={first['next_cursor']}",
            headers=admin,
        )
    ).json()
    rows = first["data"] + second["data"]
    assert len({d["id"] for d in rows}) == 3
    created = [datetime.fromisoformat(d["created_at"]) for d in rows]
    assert created == sorted(created, reverse=True)
    assert second["next_cursor"] is None
    assert {d["status"] for d in first["data"] + second["data"]} == {"sent"}


async def test_each_skipped_channel_is_recorded_with_its_reason(
    client: Client,
    admin: dict[str, str],
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await put_customer(
        client,
        admin,
        "bounced",
        email="gone@example.com",
        phone="+81 90 1111 2222",
        consent={"channels": ["email", "sms"], "legal_basis": "contract"},
        follows={"page": True},
    )
    await put_customer(client, admin, "silent", email="quiet@example.com", follows={"page": True})
    async with sessions() as session, session.begin():
        session.add(Suppression(channel="email", address="gone@example.com", reason="bounce"))

    created = await client.post(
        "/api/v1/incidents", json={"title": "Slow", "body": "Pages load slowly."}, headers=admin
    )
    assert created.status == 201
    await run_worker(settings)

    outbox = (await (await client.get("/dev/outbox.json")).json())["data"]
    assert [(m["channel"], m["to"]) for m in outbox] == [("sms", "+819011112222")]
    async with sessions() as session:
        skipped = (
            await session.execute(
                select(Customer.external_id, Delivery.channel, Delivery.status, Delivery.last_error)
                .join(Customer, Customer.id == Delivery.customer_id)
                .where(Delivery.status == "suppressed")
                .order_by(Customer.external_id)
            )
        ).all()
    assert [tuple(row) for row in skipped] == [
        ("bounced", "email", "suppressed", "address suppressed: bounce"),
        ("silent", "email", "suppressed", "no consent for this channel"),
    ]


async def test_an_email_subject_in_the_dev_outbox_is_one_line_whatever_the_title(
    client: Client,
    admin: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
) -> None:
    consent = {"channels": ["email"], "legal_basis": "contract"}
    await put_customer(
        client, admin, "sam", email="sam@example.com", consent=consent, follows={"page": True}
    )
    created = await client.post(
        "/api/v1/incidents", json={"title": "Login errors", "body": "Investigating."}, headers=admin
    )
    assert created.status == 201
    # Written directly: a stored row may hold what the API refuses.
    async with sessions() as session, session.begin():
        await session.execute(
            update(Incident)
            .where(Incident.id == (await created.json())["id"])
            .values(title="x\r\nBcc: someone@example.test\u0085")
        )
    await run_worker(settings)

    [message] = (await (await client.get("/dev/outbox.json")).json())["data"]
    assert message["to"] == "sam@example.com"
    # Each run of control characters (here CR LF, and a NEL) is one space.
    assert message["subject"] == "[Test status] x Bcc: someone@example.test : Investigating"


async def test_each_recipient_reads_their_name_their_language_and_their_time(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    consent = {"channels": ["email", "sms"], "legal_basis": "contract"}
    await put_customer(
        client,
        admin,
        "yamada",
        given_name="太郎",
        family_name="山田",
        phone="+81 90 1234 5678",
        locale="ja",
        time_zone="Asia/Tokyo",
        consent=consent,
        follows={"page": True},
    )
    await put_customer(
        client,
        admin,
        "nyc",
        given_name="Ann",
        family_name="Lee",
        email="ann@example.com",
        phone="+1 650 253 0000",
        time_zone="America/New_York",
        consent=consent,
        follows={"page": True},
    )
    created = await client.post(
        "/api/v1/incidents",
        json={
            "title": "決済エラー",
            "body": "一部のお客様で決済が完了しない事象が発生しています。" * 6,
            "next_update_by": "2026-12-20T01:30:00Z",
        },
        headers=admin,
    )
    assert created.status == 201
    await run_worker(settings)

    outbox = {(m["channel"], m["to"]): m for m in await get_outbox(client)}
    japanese = outbox["sms", "+819012345678"]["body"]
    assert japanese.startswith("山田様【Test status】決済エラー（調査中）")  # noqa: RUF001
    assert "12月20日 10:30 JST" in japanese
    assert japanese.endswith(" http://status.test/")
    assert segments(japanese) <= settings.delivery.sms_max_segments
    english = outbox["sms", "+16502530000"]["body"]
    assert english.startswith("Hi Ann, Test status: we are working on a problem")
    assert "Next update by Dec 19, 20:30 EST." in english
    assert segments(english) <= settings.delivery.sms_max_segments
    email = outbox["email", "ann@example.com"]
    assert email["body"].startswith("Hi Ann,")
    assert "We will send you the next update by Dec 19, 20:30 EST." in email["body"]


async def test_a_maintenance_notice_carries_its_window_in_the_recipients_zone(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    consent = {"channels": ["email"], "legal_basis": "contract"}
    for external_id, zone, locale in (
        ("tokyo", "Asia/Tokyo", "ja"),
        ("nyc", "America/New_York", "en"),
    ):
        await put_customer(
            client,
            admin,
            external_id,
            email=f"{external_id}@example.com",
            locale=locale,
            time_zone=zone,
            consent=consent,
            follows={"page": True},
        )
    created = await client.post(
        "/api/v1/maintenance",
        json={
            "title": "Database upgrade",
            "body": "Checkout will be read-only.",
            "scheduled_for": "2026-12-20T01:00:00Z",
            "scheduled_until": "2026-12-20T03:00:00Z",
        },
        headers=admin,
    )
    assert created.status == 201, await created.text()
    await run_worker(settings)

    outbox = {m["to"]: m for m in await get_outbox(client)}
    tokyo, nyc = outbox["tokyo@example.com"], outbox["nyc@example.com"]
    assert "12月20日 10:00〜12:00 JST" in tokyo["subject"]
    assert "作業予定時間: 12月20日 10:00〜12:00 JST" in tokyo["body"]
    assert "Dec 19, 20:00-22:00 EST" in nyc["subject"]
    assert "Maintenance window: Dec 19, 20:00-22:00 EST" in nyc["body"]


async def get_outbox(client: Client) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = (await (await client.get("/dev/outbox.json")).json())["data"]
    return data
