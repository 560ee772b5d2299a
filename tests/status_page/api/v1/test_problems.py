from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.db import Base
from notifier.tables import (
    AuditEntry,
    DeliveryProblem,
    DeliveryProblemCustomer,
    DeliveryProblemUpdate,
)
from tests.conftest import Client, KeyFactory

Sessions = async_sessionmaker[AsyncSession]
URL = "/api/v1/delivery-problems"


def days(n: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=n)).replace(microsecond=0)


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def add_customers(client: Client, headers: dict[str, str], *external_ids: str) -> None:
    for external_id in external_ids:
        response = await client.put(
            f"/api/v1/customers/{external_id}",
            json={"given_name": f"Customer {external_id}", "email": f"{external_id}@example.com"},
            headers=headers,
        )
        assert response.status == 201, await response.text()


async def report(client: Client, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {
        "reference": "ORD-1001",
        "kind": "delayed",
        "body": "Your parcel is running late; we are sorry for the wait.",
        "customers": ["cust-1"],
        **fields,
    }
    response = await client.post(URL, json=body, headers=headers)
    assert response.status == 201, await response.text()
    problem: dict[str, Any] = await response.json()
    return problem


async def counts(sessions: Sessions) -> dict[str, int]:
    tables: list[type[Base]] = [
        DeliveryProblem,
        DeliveryProblemUpdate,
        DeliveryProblemCustomer,
        AuditEntry,
    ]
    result = {}
    async with sessions() as session:
        for table in tables:
            result[table.__tablename__] = (
                await session.scalar(select(func.count()).select_from(table)) or 0
            )
    return result


def problem_fields(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem["errors"]]


# Creating and reading


async def test_it_reports_a_problem_for_customers_named_by_external_id(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customers(client, admin, "zoe-9", "amy-3", "bystander")
    eta = days(2)

    created = await client.post(
        URL,
        json={
            "reference": "SHP-77",
            "kind": "failed_attempt",
            "title": "Missed delivery",
            "body": "Our driver could not reach you; we will try again.",
            "eta": eta.isoformat(),
            "customers": ["zoe-9", "amy-3"],
        },
        headers=admin,
    )

    assert created.status == 201
    problem = await created.json()
    assert (problem["reference"], problem["kind"], problem["status"], problem["title"]) == (
        "SHP-77",
        "failed_attempt",
        "open",
        "Missed delivery",
    )
    assert at(problem["eta"]) == eta
    assert problem["resolved_at"] is None
    assert problem["customers"] == ["amy-3", "zoe-9"]
    [update] = problem["updates"]
    assert (update["status"], update["body"], update["posted_by"]) == (
        "open",
        "Our driver could not reach you; we will try again.",
        "ops admin",
    )
    assert at(update["eta"]) == eta

    got = await client.get(f"{URL}/{problem['id']}", headers=admin)
    assert got.status == 200
    assert await got.json() == problem
    assert await counts(sessions) == {
        "delivery_problems": 1,
        "delivery_problem_updates": 1,
        "delivery_problem_customers": 2,
        # three customer upserts and the report
        "audit_log": 4,
    }


async def test_it_keeps_delivery_problems_off_the_public_page(
    client: Client, admin: dict[str, str]
) -> None:
    await add_customers(client, admin, "cust-1")
    await report(client, admin, reference="SECRET-ORDER-42", title="Lost parcel", kind="lost")

    html = await (await client.get("/")).text()

    assert "SECRET-ORDER-42" not in html
    assert "Lost parcel" not in html


async def test_it_refuses_an_unknown_customer_and_creates_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customers(client, admin, "cust-1", "cust-2")
    before = await counts(sessions)

    response = await client.post(
        URL,
        json={
            "reference": "ORD-1",
            "kind": "delayed",
            "body": "Late.",
            "customers": ["cust-1", "cust-2", "nobody"],
        },
        headers=admin,
    )

    # A reference to nothing is a 404 naming the field (Stripe's resource_missing).
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    problem = await response.json()
    assert problem_fields(problem) == ["customers[2]"]
    assert "nobody" in problem["errors"][0]["detail"]
    assert await counts(sessions) == before
    listed = await (await client.get(URL, headers=admin)).json()
    assert listed["data"] == []


async def test_it_does_not_accept_an_erased_customer(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customers(client, admin, "cust-1", "gone")
    erased = await client.delete("/api/v1/customers/gone", headers=admin)
    assert erased.status == 204
    before = await counts(sessions)

    response = await client.post(
        URL,
        json={"reference": "R", "kind": "lost", "body": "x", "customers": ["gone"]},
        headers=admin,
    )

    assert response.status == 404
    assert problem_fields(await response.json()) == ["customers[0]"]
    assert await counts(sessions) == before


async def test_it_hides_the_external_id_of_a_customer_erased_later(
    client: Client, admin: dict[str, str]
) -> None:
    await add_customers(client, admin, "cust-1", "cust-2")
    problem = await report(client, admin, customers=["cust-1", "cust-2"])

    await client.delete("/api/v1/customers/cust-2", headers=admin)

    fetched = await (await client.get(f"{URL}/{problem['id']}", headers=admin)).json()
    assert "cust-2" not in fetched["customers"]
    assert sorted(fetched["customers"]) == ["(erased)", "cust-1"]


async def test_it_names_the_failing_field_and_creates_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customers(client, admin, "cust-1")
    good = {"reference": "ORD-1", "kind": "delayed", "body": "Late.", "customers": ["cust-1"]}
    before = await counts(sessions)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({**good, "reference": ""}, ["reference"]),
        ({**good, "kind": "stolen"}, ["kind"]),
        ({**good, "customers": []}, ["customers"]),
        ({k: v for k, v in good.items() if k != "customers"}, ["customers"]),
        ({**good, "customers": [7]}, ["customers[0]"]),
        ({**good, "eta": "2030-01-01T10:00:00"}, ["eta"]),
        ({**good, "status": "resolved"}, ["status"]),
    ]

    for body, fields in cases:
        response = await client.post(URL, json=body, headers=admin)
        assert response.status == 422, body
        assert problem_fields(await response.json()) == fields, body

    assert await counts(sessions) == before


async def test_it_answers_404_for_an_unknown_problem(client: Client, admin: dict[str, str]) -> None:
    for response in [
        await client.get(f"{URL}/nosuchproblem", headers=admin),
        await client.post(f"{URL}/nosuchproblem/updates", json={"body": "x"}, headers=admin),
        await client.post(f"{URL}/nosuchproblem/resolve", json={}, headers=admin),
    ]:
        assert response.status == 404
        assert response.content_type == "application/problem+json"
        assert "nosuchproblem" in (await response.json())["detail"]


# Listing


async def test_it_lists_problems_newest_first_and_filters_them(
    client: Client, admin: dict[str, str]
) -> None:
    await add_customers(client, admin, "cust-1")
    late = await report(client, admin, reference="ORD-1", kind="delayed")
    lost = await report(client, admin, reference="ORD-2", kind="lost")
    again = await report(client, admin, reference="ORD-1", kind="failed_attempt")
    await client.post(f"{URL}/{lost['id']}/resolve", json={}, headers=admin)
    await client.post(f"{URL}/{again['id']}/updates", json={"body": "On it."}, headers=admin)

    async def ids(query: str) -> list[str]:
        response = await client.get(f"{URL}?{query}", headers=admin)
        assert response.status == 200, await response.text()
        page = await response.json()
        assert page["next_cursor"] is None
        return [p["id"] for p in page["data"]]

    assert await ids("") == [again["id"], lost["id"], late["id"]]
    assert await ids("status=open") == [late["id"]]
    assert await ids("status=in_progress") == [again["id"]]
    assert await ids("status=resolved") == [lost["id"]]
    assert await ids("kind=lost") == [lost["id"]]
    assert await ids("reference=ORD-1") == [again["id"], late["id"]]
    assert await ids("reference=ORD-1&kind=delayed") == [late["id"]]
    assert await ids("reference=ORD-404") == []
    for query, field in [("kind=stolen", "kind"), ("status=gone", "status"), ("limit=0", "limit")]:
        bad = await client.get(f"{URL}?{query}", headers=admin)
        assert bad.status == 422
        assert problem_fields(await bad.json()) == [field]


async def test_it_pages_through_every_problem_with_a_cursor(
    client: Client, admin: dict[str, str]
) -> None:
    await add_customers(client, admin, "cust-1")
    created = [(await report(client, admin, reference=f"ORD-{n}"))["id"] for n in range(12)]

    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    for _ in range(10):
        query = "limit=5" + (f"&cursor={cursor}" if cursor else "")
        page = await (await client.get(f"{URL}?{query}", headers=admin)).json()
        sizes.append(len(page["data"]))
        seen += [p["id"] for p in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert sizes == [5, 5, 2]
    assert seen == list(reversed(created))
    bad = await client.get(f"{URL}?cursor=garbage", headers=admin)
    assert bad.status == 422
    assert problem_fields(await bad.json()) == ["cursor"]


# Updating and resolving


async def test_an_update_gives_a_new_eta(client: Client, admin: dict[str, str]) -> None:
    await add_customers(client, admin, "cust-1")
    first_eta, new_eta = days(1), days(3)
    problem = await report(client, admin, eta=first_eta.isoformat())

    posted = await client.post(
        f"{URL}/{problem['id']}/updates",
        json={"body": "The parcel is held at customs.", "eta": new_eta.isoformat()},
        headers=admin,
    )

    assert posted.status == 201
    changed = await posted.json()
    assert changed["status"] == "in_progress"
    assert at(changed["eta"]) == new_eta
    assert [(u["status"], u["body"]) for u in changed["updates"]] == [
        ("in_progress", "The parcel is held at customs."),
        ("open", "Your parcel is running late; we are sorry for the wait."),
    ]
    assert at(changed["updates"][0]["eta"]) == new_eta
    assert at(changed["updates"][1]["eta"]) == first_eta
    fetched = await (await client.get(f"{URL}/{problem['id']}", headers=admin)).json()
    assert fetched == changed


async def test_an_update_without_an_eta_keeps_the_last_one(
    client: Client, admin: dict[str, str]
) -> None:
    await add_customers(client, admin, "cust-1")
    eta = days(1)
    problem = await report(client, admin, eta=eta.isoformat())

    posted = await client.post(
        f"{URL}/{problem['id']}/updates",
        json={"status": "open", "body": "Still waiting for the carrier.", "notify": False},
        headers=admin,
    )

    changed = await posted.json()
    assert changed["status"] == "open"
    assert at(changed["eta"]) == eta
    assert changed["updates"][0]["notify"] is False


async def test_it_resolves_a_problem(client: Client, admin: dict[str, str]) -> None:
    await add_customers(client, admin, "cust-1")
    problem = await report(client, admin)

    resolved = await client.post(
        f"{URL}/{problem['id']}/resolve", json={"body": "Delivered today."}, headers=admin
    )

    assert resolved.status == 200
    closed = await resolved.json()
    assert closed["status"] == "resolved"
    assert closed["resolved_at"] is not None
    assert (closed["updates"][0]["status"], closed["updates"][0]["body"]) == (
        "resolved",
        "Delivered today.",
    )
    default = await report(client, admin)
    resolved_default = await client.post(f"{URL}/{default['id']}/resolve", json={}, headers=admin)
    assert (await resolved_default.json())["updates"][0]["body"] == "This has been resolved."


async def test_it_refuses_to_change_a_resolved_problem(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customers(client, admin, "cust-1")
    problem = await report(client, admin)
    await client.post(f"{URL}/{problem['id']}/resolve", json={}, headers=admin)
    shown = await (await client.get(f"{URL}/{problem['id']}", headers=admin)).json()
    before = await counts(sessions)

    for response in [
        await client.post(f"{URL}/{problem['id']}/resolve", json={}, headers=admin),
        await client.post(
            f"{URL}/{problem['id']}/updates",
            json={"status": "open", "body": "Reopening.", "eta": days(1).isoformat()},
            headers=admin,
        ),
        await client.post(
            f"{URL}/{problem['id']}/updates",
            json={"status": "resolved", "body": "Again."},
            headers=admin,
        ),
    ]:
        assert response.status == 409
        assert response.content_type == "application/problem+json"

    assert await counts(sessions) == before
    assert await (await client.get(f"{URL}/{problem['id']}", headers=admin)).json() == shown


async def test_an_invalid_update_changes_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customers(client, admin, "cust-1")
    problem = await report(client, admin)
    before = await counts(sessions)

    for body, field in [
        ({"body": ""}, "body"),
        ({"body": "x", "status": "lost"}, "status"),
        ({"body": "x", "eta": "tomorrow"}, "eta"),
    ]:
        response = await client.post(f"{URL}/{problem['id']}/updates", json=body, headers=admin)
        assert response.status == 422
        assert problem_fields(await response.json()) == [field]

    assert await counts(sessions) == before
    assert await (await client.get(f"{URL}/{problem['id']}", headers=admin)).json() == problem


# Scopes


async def test_a_read_key_reads_but_cannot_report(
    client: Client, admin: dict[str, str], make_key: KeyFactory, sessions: Sessions
) -> None:
    await add_customers(client, admin, "cust-1")
    problem = await report(client, admin)
    reader = await make_key("read")
    customers_key = await make_key("customers:write")
    before = await counts(sessions)

    listed = await client.get(URL, headers=reader)
    got = await client.get(f"{URL}/{problem['id']}", headers=reader)
    refused = [
        await client.post(
            URL,
            json={"reference": "R", "kind": "lost", "body": "x", "customers": ["cust-1"]},
            headers=key,
        )
        for key in [reader, customers_key]
    ]
    refused += [
        await client.post(f"{URL}/{problem['id']}/updates", json={"body": "x"}, headers=reader),
        await client.post(f"{URL}/{problem['id']}/resolve", json={}, headers=reader),
    ]

    assert listed.status == 200
    assert got.status == 200
    for response in refused:
        assert response.status == 403
        assert response.content_type == "application/problem+json"
    assert await counts(sessions) == before


async def test_customers_and_incidents_keys_together_report_a_problem(
    client: Client, make_key: KeyFactory
) -> None:
    crm = await make_key("customers:write", name="crm sync")
    shop = await make_key("incidents:write", name="shop backend")
    await add_customers(client, crm, "cust-1")

    problem = await report(client, shop)

    assert problem["customers"] == ["cust-1"]
    assert problem["updates"][0]["posted_by"] == "shop backend"
