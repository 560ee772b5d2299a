"""Follow-ups of low ratings through the ops API (``status_page/api/v1/follow_ups.py``):
a low score, recorded as every answer path records it, is a follow-up ops can list
(open ones first) and read with the customer, subject, score, comment and channel,
and close with a note; bad input is a problem+json naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from notifier.scales import Scale
from tests.conftest import Client, KeyFactory
from tests.status_page.api.v1.care_helpers import Sessions, add_customer, answer, open_incident

URL = "/api/v1/follow-ups"
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)


async def listed(client: Client, headers: dict[str, str], query: str = "") -> dict[str, Any]:
    response = await client.get(URL + query, headers=headers)
    assert response.status == 200, await response.text()
    page: dict[str, Any] = await response.json()
    return page


async def test_a_low_score_is_a_follow_up_with_who_what_and_how(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customer(client, admin, "cust-1", phone="+819012345678", locale="ja")
    incident = await open_incident(client, admin)
    await answer(sessions, "cust-1", incident, 2, channel="sms", comment="Heard it from X first")

    page = await listed(client, admin)

    [item] = page["data"]
    assert page["next_cursor"] is None
    assert item["status"] == "open"
    assert item["customer"] == {
        "external_id": "cust-1",
        "given_name": "Hanako",
        "family_name": "Sato",
        "email": "cust-1@example.com",
        "phone": "+819012345678",
        "locale": "ja",
    }
    assert item["subject"] == {"type": "incident", "id": incident, "title": "Checkout is failing"}
    assert (item["scale"], item["score"], item["channel"]) == ("csat", 2, "sms")
    assert item["comment"] == "Heard it from X first"
    assert (item["done_at"], item["done_note"], item["done_by"], item["alerted_at"]) == (
        None,
        None,
        None,
        None,
    )
    one = await client.get(f"{URL}/{item['id']}", headers=admin)
    assert await one.json() == item


async def test_a_good_score_and_a_passive_are_not_followed_up(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customer(client, admin, "cust-1")
    await add_customer(client, admin, "cust-2")
    incident = await open_incident(client, admin)
    await answer(sessions, "cust-1", incident, 3)
    await answer(sessions, "cust-2", incident, 7, scale=Scale.nps)

    assert (await listed(client, admin))["data"] == []


async def test_done_with_a_note_closes_it_by_the_key_s_name(
    client: Client, admin: dict[str, str], sessions: Sessions, make_key: KeyFactory
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)
    recorded = await answer(sessions, "cust-1", incident, 1)
    assert recorded.follow_up is not None
    ident = recorded.follow_up.id
    care = await make_key("follow_ups:write", "customers:read", name="Care desk")

    response = await client.post(
        f"{URL}/{ident}/done", json={"note": "  Called her; all fine now.\n"}, headers=care
    )

    assert response.status == 200, await response.text()
    done = await response.json()
    assert (done["status"], done["done_note"], done["done_by"]) == (
        "done",
        "Called her; all fine now.",
        "Care desk",
    )
    assert done["done_at"] is not None
    assert (await listed(client, admin, "?status=open"))["data"] == []
    assert [f["id"] for f in (await listed(client, admin, "?status=done"))["data"]] == [ident]
    again = await client.post(f"{URL}/{ident}/done", json={"note": "Again"}, headers=care)
    assert again.status == 409
    assert (await client.get(f"{URL}/{ident}", headers=admin)).status == 200
    assert (await (await client.get(f"{URL}/{ident}", headers=admin)).json())[
        "done_note"
    ] == "Called her; all fine now."


async def test_a_blank_or_missing_note_is_a_422_naming_it(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)
    recorded = await answer(sessions, "cust-1", incident, 1)
    assert recorded.follow_up is not None
    ident = recorded.follow_up.id

    for body in ({"note": "  "}, {}, {"note": 5}, {"note": "ok", "by": "x"}):
        response = await client.post(f"{URL}/{ident}/done", json=body, headers=admin)
        assert response.status == 422, body
        assert response.content_type == "application/problem+json"
        fields = [e["field"] for e in (await response.json())["errors"]]
        assert fields == ["by" if "by" in body else "note"], body
    assert (await listed(client, admin, "?status=open"))["data"][0]["id"] == ident


async def test_an_unknown_follow_up_is_a_404(client: Client, admin: dict[str, str]) -> None:
    for response in (
        await client.get(f"{URL}/nosuchthing1", headers=admin),
        await client.post(f"{URL}/nosuchthing1/done", json={"note": "x"}, headers=admin),
    ):
        assert response.status == 404
        assert response.content_type == "application/problem+json"


async def test_reading_takes_customers_read_and_closing_follow_ups_write(
    client: Client, admin: dict[str, str], sessions: Sessions, make_key: KeyFactory
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)
    recorded = await answer(sessions, "cust-1", incident, 1)
    assert recorded.follow_up is not None
    reader = await make_key("read")

    assert (await client.get(URL, headers=reader)).status == 403
    done = await client.post(
        f"{URL}/{recorded.follow_up.id}/done", json={"note": "x"}, headers=reader
    )
    assert done.status == 403


async def test_open_ones_come_first_then_done_ones_each_newest_first_a_page_at_a_time(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await open_incident(client, admin)
    ids = []
    for n in range(5):
        await add_customer(client, admin, f"cust-{n}")
        recorded = await answer(sessions, f"cust-{n}", incident, 1, now=T0 + timedelta(minutes=n))
        assert recorded.follow_up is not None
        ids.append(recorded.follow_up.id)
    for ident in (ids[1], ids[3]):
        response = await client.post(f"{URL}/{ident}/done", json={"note": "ok"}, headers=admin)
        assert response.status == 200

    expected = [ids[4], ids[2], ids[0], ids[3], ids[1]]
    for limit in (1, 2, 3, 5, 6):
        seen, cursor = [], ""
        while True:
            page = await listed(client, admin, f"?limit={limit}&cursor={cursor}")
            assert len(page["data"]) <= limit
            seen += [f["id"] for f in page["data"]]
            if page["next_cursor"] is None:
                break
            cursor = page["next_cursor"]
        assert seen == expected, limit
    first = await listed(client, admin, "?status=open&limit=2")
    assert [f["id"] for f in first["data"]] == [ids[4], ids[2]]
    rest = await listed(client, admin, f"?status=open&cursor={first['next_cursor']}")
    assert ([f["id"] for f in rest["data"]], rest["next_cursor"]) == ([ids[0]], None)


async def test_a_bad_query_is_a_422_naming_it(client: Client, admin: dict[str, str]) -> None:
    for query, field in (
        ("?status=closed", "status"),
        ("?cursor=x1.abc", "cursor"),
        ("?limit=0", "limit"),
    ):
        response = await client.get(URL + query, headers=admin)
        assert response.status == 422, query
        assert [e["field"] for e in (await response.json())["errors"]] == [field]


async def test_the_export_has_ratings_follow_ups_and_contacts_and_erasure_keeps_no_text(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    await add_customer(client, admin, "cust-1")
    incident = await open_incident(client, admin)
    recorded = await answer(sessions, "cust-1", incident, 1, comment="Nobody told me a thing")
    assert recorded.follow_up is not None
    ident = recorded.follow_up.id
    done_key = {**admin, "Idempotency-Key": "done-1"}
    note = {"note": "Called Hanako; she wants texts"}
    assert (await client.post(f"{URL}/{ident}/done", json=note, headers=done_key)).status == 200
    contact = {
        "customer": "cust-1",
        "subject_type": "incident",
        "subject_id": incident,
        "channel": "phone",
        "contacted_at": "2030-01-07T09:05:00Z",
        "external_id": "ZD-1001",
    }
    assert (await client.post("/api/v1/contacts", json=contact, headers=admin)).status == 201

    export = await (await client.get("/api/v1/customers/cust-1/export", headers=admin)).json()

    [prompt] = export["rating_prompts"]
    assert (prompt["subject_id"], prompt["scale"], prompt["channel"]) == (incident, "csat", "email")
    [rating] = export["ratings"]
    assert (rating["prompt_id"], rating["score"], rating["comment"]) == (
        prompt["id"],
        1,
        "Nobody told me a thing",
    )
    [follow_up] = export["follow_ups"]
    assert (follow_up["id"], follow_up["rating_prompt_id"], follow_up["done_note"]) == (
        ident,
        prompt["id"],
        "Called Hanako; she wants texts",
    )
    [recorded_contact] = export["contacts"]
    assert (recorded_contact["subject_id"], recorded_contact["external_id"]) == (
        incident,
        "ZD-1001",
    )

    assert (await client.delete("/api/v1/customers/cust-1", headers=admin)).status == 204

    shown = await (await client.get(f"{URL}/{ident}", headers=admin)).json()
    assert (shown["score"], shown["comment"], shown["done_note"]) == (1, None, None)
    assert shown["customer"] == dict.fromkeys(
        ("external_id", "given_name", "family_name", "email", "phone"), None
    ) | {"locale": "en"}
    [kept] = (await (await client.get("/api/v1/contacts", headers=admin)).json())["data"]
    assert (kept["customer"], kept["external_id"], kept["channel"]) == (None, None, "phone")
    replay = await client.post(f"{URL}/{ident}/done", json=note, headers=done_key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    text = await replay.text()
    for personal in ("Nobody told me", "Hanako", "cust-1"):
        assert personal not in text
