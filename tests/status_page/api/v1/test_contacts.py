"""Contacts a helpdesk records through the ops API (``status_page/api/v1/contacts.py``):
recorded once per external_id (also when sent twice at once), listed by subject;
bad input and unknown records are a problem+json naming the field, and change nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from notifier.tables import Contact
from tests.conftest import Client, KeyFactory
from tests.status_page.api.records import count_rows
from tests.status_page.api.v1.care_helpers import Sessions, add_customer, open_incident

URL = "/api/v1/contacts"


def contact(**fields: Any) -> dict[str, Any]:
    return {
        "customer": "cust-1",
        "subject_type": "incident",
        "channel": "phone",
        "contacted_at": "2030-01-07T18:05:00+09:00",
        **fields,
    }


async def test_a_contact_is_recorded_and_listed_by_its_subject(
    client: Client, admin: dict[str, str], make_key: KeyFactory
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)
    other = await open_incident(client, admin, "Search is slow")
    helpdesk = await make_key("contacts:write")

    response = await client.post(
        URL, json=contact(subject_id=incident, external_id="ZD-1001"), headers=helpdesk
    )
    await client.post(URL, json=contact(subject_id=other, channel="chat"), headers=helpdesk)

    assert response.status == 201, await response.text()
    made = await response.json()
    assert {k: v for k, v in made.items() if k not in ("id", "created_at")} == {
        "customer": "cust-1",
        "subject_type": "incident",
        "subject_id": incident,
        "channel": "phone",
        "contacted_at": "2030-01-07T09:05:00Z",
        "external_id": "ZD-1001",
    }
    page = await client.get(
        f"{URL}?subject_type=incident&subject_id={incident}", headers=await make_key("read")
    )
    assert (await page.json())["data"] == [made]
    everything = await (await client.get(URL, headers=admin)).json()
    assert len(everything["data"]) == 2


async def test_the_same_external_id_is_recorded_once_also_at_the_same_time(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)
    body = contact(subject_id=incident, external_id="ZD-1001")

    first, second = await asyncio.gather(
        client.post(URL, json=body, headers=admin), client.post(URL, json=body, headers=admin)
    )
    third = await client.post(URL, json=body, headers=admin)

    assert sorted([first.status, second.status]) == [200, 201]
    assert third.status == 200
    ids = {(await r.json())["id"] for r in (first, second, third)}
    assert len(ids) == 1
    assert await count_rows(sessions, Contact) == 1
    changed = await client.post(URL, json={**body, "channel": "email"}, headers=admin)
    assert changed.status == 409
    assert [e["field"] for e in (await changed.json())["errors"]] == ["external_id"]


async def test_an_unknown_customer_or_subject_is_a_404_naming_the_field(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)

    for body, field in (
        (contact(subject_id=incident, customer="nobody"), "customer"),
        (contact(subject_id="nosuchthing1"), "subject_id"),
        (contact(subject_id=incident, subject_type="problem"), "subject_id"),
        (contact(subject_id=incident, subject_type="component"), "subject_id"),
    ):
        response = await client.post(URL, json=body, headers=admin)
        assert response.status == 404, body
        assert response.content_type == "application/problem+json"
        assert [e["field"] for e in (await response.json())["errors"]] == [field]
    assert await count_rows(sessions, Contact) == 0


async def test_bad_input_is_a_422_naming_the_field(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)
    good = contact(subject_id=incident)

    for body, field in (
        ({**good, "channel": "pigeon"}, "channel"),
        ({**good, "subject_type": "maintenance"}, "subject_type"),
        ({**good, "contacted_at": "2030-01-07T18:05:00"}, "contacted_at"),
        ({**good, "customer": "someone@example.com"}, "customer"),
        ({**good, "external_id": "two\nlines"}, "external_id"),
        ({k: v for k, v in good.items() if k != "channel"}, "channel"),
    ):
        response = await client.post(URL, json=body, headers=admin)
        assert response.status == 422, body
        assert response.content_type == "application/problem+json"
        assert [e["field"] for e in (await response.json())["errors"]] == [field], body
    bad_query = await client.get(f"{URL}?subject_type=order", headers=admin)
    assert bad_query.status == 422
    assert [e["field"] for e in (await bad_query.json())["errors"]] == ["subject_type"]
    assert await count_rows(sessions, Contact) == 0


async def test_recording_takes_contacts_write(
    client: Client, admin: dict[str, str], make_key: KeyFactory
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)
    reader = await make_key("read", "customers:write")

    response = await client.post(URL, json=contact(subject_id=incident), headers=reader)

    assert response.status == 403
