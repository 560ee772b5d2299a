"""Who is told: consent per channel, withdrawn consent, and each problem's own customers.

Through the ops API and the dev outbox: what the outbox kept is what a provider
would have been asked to send.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from notifier.tables import Consent, Customer, Delivery, InboxMessage, Subscription, Suppression
from tests.conftest import Client
from tests.notifier.delivery.deliveries import fan_out_now, rows
from tests.notifier.delivery.test_sending import add_audience, enqueue, post_incident, run_worker
from tests.status_page.signups import csrf_token, form, link, outbox

Headers = dict[str, str]
Sessions = async_sessionmaker[AsyncSession]


async def put_customer(client: Client, admin: Headers, external_id: str, **body: Any) -> None:
    response = await client.put(f"/api/v1/customers/{external_id}", json=body, headers=admin)
    assert response.status in (200, 201), await response.text()


async def sent_to(client: Client) -> list[tuple[str, str]]:
    return sorted((m["channel"], m["to"]) for m in await outbox(client))


async def skipped(sessions: Sessions) -> list[tuple[str | None, str, str | None]]:
    """(external id, channel, reason) of every delivery not sent, oldest first."""
    async with sessions() as session:
        rows = await session.execute(
            select(Customer.external_id, Delivery.channel, Delivery.last_error)
            .join(Customer, Customer.id == Delivery.customer_id)
            .where(Delivery.status == "suppressed")
            .order_by(Delivery.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def report_problem(
    client: Client, admin: Headers, reference: str, customers: list[str]
) -> str:
    response = await client.post(
        "/api/v1/delivery-problems",
        json={
            "reference": reference,
            "kind": "delayed",
            "body": "Your parcel is running late.",
            "customers": customers,
        },
        headers=admin,
    )
    assert response.status == 201, await response.text()
    problem_id: str = (await response.json())["id"]
    return problem_id


async def test_consent_for_email_does_not_let_texts_through(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    await put_customer(
        client,
        admin,
        "email-only",
        email="mail@example.com",
        phone="+81 90 1234 5678",
        consent={"channels": ["email"], "legal_basis": "contract"},
        follows={"page": True},
    )
    await put_customer(
        client,
        admin,
        "sms-only",
        email="texts@example.com",
        phone="+81 90 8765 4321",
        consent={"channels": ["sms"], "legal_basis": "contract"},
        follows={"page": True},
    )

    await post_incident(client, admin)
    await run_worker(settings)

    assert await sent_to(client) == [("email", "mail@example.com"), ("sms", "+819087654321")]
    assert sorted(await skipped(sessions)) == [
        ("email-only", "sms", "no consent for this channel"),
        ("sms-only", "email", "no consent for this channel"),
    ]


async def test_after_one_click_unsubscribe_no_more_email_but_texts_still_come(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    await put_customer(
        client,
        admin,
        "leaver",
        email="leaver@example.com",
        phone="+81 90 1111 2222",
        consent={"channels": ["email", "sms"], "legal_basis": "contract"},
        follows={"page": True},
    )
    await post_incident(client, admin, "First")
    await run_worker(settings)
    [email] = await outbox(client, "email")
    # RFC 8058 one-click: the mail client POSTs the link of the List-Unsubscribe header.
    response = await client.post(link(email["body"], "/unsubscribe/"))
    assert response.status == 200

    await post_incident(client, admin, "Second")
    await run_worker(settings)

    messages = await outbox(client)
    assert [(m["channel"], m["to"]) for m in messages if "Second" in m["body"]] == [
        ("sms", "+819011112222")
    ]
    assert await skipped(sessions) == [("leaver", "email", "no consent for this channel")]


async def test_unticking_email_on_the_manage_page_stops_email_while_still_following(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    # Consent withdrawn, page still followed: only the consent stands between them and a mail.
    await put_customer(
        client,
        admin,
        "quiet",
        email="quiet@example.com",
        consent={"channels": ["email"], "legal_basis": "contract"},
        follows={"page": True},
    )
    await post_incident(client, admin, "First")
    await run_worker(settings)
    [email] = await outbox(client, "email")
    manage = link(email["body"], "/manage/")
    fields = {
        "channels": [],
        "locale": "en",
        "time_zone": "UTC",
        "quiet_start": "",
        "quiet_end": "",
    }
    response = await client.post(manage, data=form(await csrf_token(client, manage), fields))
    assert response.status == 200
    async with sessions() as session:
        follows = (await session.scalars(select(Subscription.component_id))).all()
    assert follows == [None]  # still following the whole page

    await post_incident(client, admin, "Second")
    await run_worker(settings)

    assert len(await outbox(client)) == 1
    assert await skipped(sessions) == [("quiet", "email", "no consent for this channel")]


async def test_each_delivery_problem_reaches_only_its_own_customers(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    consent = {"channels": ["email"], "legal_basis": "contract"}
    for name in ("ann", "ben", "cy"):
        await put_customer(client, admin, name, email=f"{name}@example.com", consent=consent)
    await put_customer(
        client, admin, "fan", email="fan@example.com", consent=consent, follows={"page": True}
    )
    first = await report_problem(client, admin, "ORD-1", ["ann"])
    await report_problem(client, admin, "ORD-2", ["ben", "cy"])
    await run_worker(settings)

    received = sorted((m["to"], m["subject"]) for m in await outbox(client))
    assert received == [
        ("ann@example.com", "[Test status] About your order ORD-1"),
        ("ben@example.com", "[Test status] About your order ORD-2"),
        ("cy@example.com", "[Test status] About your order ORD-2"),
    ]

    response = await client.post(
        f"/api/v1/delivery-problems/{first}/updates",
        json={"body": "It is on its way again."},
        headers=admin,
    )
    assert response.status == 201, await response.text()
    await run_worker(settings)

    later = [m["to"] for m in await outbox(client)][3:]
    assert later == ["ann@example.com"]
    async with sessions() as session:
        rows = (await session.scalars(select(Delivery.status))).all()
    assert sorted(rows) == ["sent"] * 4


async def test_a_consent_recorded_but_never_confirmed_does_not_count(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    # Consent imported from elsewhere, its confirmation still outstanding.
    await put_customer(client, admin, "unsure", email="unsure@example.com", follows={"page": True})
    async with sessions() as session, session.begin():
        customer = await session.scalar(select(Customer))
        assert customer is not None
        session.add(Consent(customer_id=customer.id, channel="email", method="imported"))

    await post_incident(client, admin)
    await run_worker(settings)

    assert await outbox(client) == []
    assert await skipped(sessions) == [("unsure", "email", "no consent for this channel")]


async def test_a_suppressed_email_address_does_not_block_another_channel(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    # Host applications often use the email address as their user id: a bounce of the
    # mailbox says nothing about the in-app inbox.
    await put_customer(
        client,
        admin,
        "same-id",
        email="sam@example.com",
        inapp_user_id="sam@example.com",
        consent={"channels": ["email"], "legal_basis": "contract"},
        follows={"page": True},
    )
    async with sessions() as session, session.begin():
        session.add(Suppression(channel="email", address="sam@example.com", reason="bounce"))

    await post_incident(client, admin)
    await run_worker(settings)

    async with sessions() as session:
        inbox = (await session.scalars(select(InboxMessage.user_id))).all()
    assert inbox == ["sam@example.com"]
    assert await outbox(client) == []
    assert await skipped(sessions) == [("same-id", "email", "address suppressed: bounce")]


async def test_a_customer_erased_between_fan_out_and_send_gets_nothing(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    consent = {"channels": ["email", "sms"], "legal_basis": "contract"}
    for name, phone in (("stays", "+81 90 1111 2222"), ("erased", "+81 90 3333 4444")):
        await put_customer(
            client,
            admin,
            name,
            email=f"{name}@example.com",
            phone=phone,
            consent=consent,
            follows={"page": True},
        )
    await post_incident(client, admin)
    await fan_out_now(sessions, settings)
    response = await client.delete("/api/v1/customers/erased", headers=admin)
    assert response.status == 204, await response.text()

    fanned_out = await rows(sessions)
    for channel in ("sms", "email"):
        ids = [r.id for r in fanned_out if r.channel == channel]
        await enqueue(settings, "send_batch", channel, ids)
    await run_worker(settings)

    assert await sent_to(client) == [("email", "stays@example.com"), ("sms", "+819011112222")]
    async with sessions() as session:
        found = (
            await session.execute(
                select(Delivery.channel, Delivery.status, Delivery.last_error)
                .join(Customer, Customer.id == Delivery.customer_id)
                .where(Customer.erased_at.is_not(None))
                .order_by(Delivery.channel)
            )
        ).all()
    assert [tuple(row) for row in found] == [
        ("email", "failed", "the address was removed"),
        ("sms", "failed", "the address was removed"),
    ]


async def test_an_empty_address_is_no_address(
    client: Client, admin: Headers, settings: Settings, sessions: Sessions
) -> None:
    # Imported straight into the database by a script that wrote "" for "none".
    [blank] = await add_audience(settings, 1, phone=True)
    async with sessions() as session, session.begin():
        await session.execute(update(Customer).where(Customer.id == blank).values(phone=""))

    await post_incident(client, admin)
    await run_worker(settings)

    assert [m["channel"] for m in await outbox(client)] == ["email"]
    assert [r.channel for r in await rows(sessions)] == ["email"]


async def test_erasing_a_customer_withdraws_every_consent(
    client: Client, admin: Headers, sessions: Sessions
) -> None:
    await put_customer(
        client,
        admin,
        "gone",
        email="gone@example.com",
        phone="+81 90 1111 2222",
        inapp_user_id="user-gone",
        consent={"channels": ["email", "sms"], "legal_basis": "contract"},
        follows={"page": True},
    )

    response = await client.delete("/api/v1/customers/gone", headers=admin)
    assert response.status == 204

    async with sessions() as session:
        consents = (await session.scalars(select(Consent).order_by(Consent.channel))).all()
    assert [(c.channel, c.revoked_at is not None) for c in consents] == [
        ("email", True),
        ("inapp", True),
        ("sms", True),
    ]
