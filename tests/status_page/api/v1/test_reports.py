"""Ops API reports (``status_page/api/v1/reports.py``, ``notifier/care/reports.py``):
figures of a seeded scenario computed by hand, the edge cases of each score, the
period summary, the CSV with the same figures, and bad input."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from notifier.audience_rule import AudienceRule
from notifier.db import new_id
from notifier.scales import PromptStatus, Scale, Subject
from notifier.tables import (
    Component,
    Contact,
    Customer,
    Delivery,
    DeliveryProblem,
    DeliveryProblemUpdate,
    Incident,
    IncidentComponent,
    IncidentUpdate,
    Notification,
    Promise,
    Rating,
    RatingPrompt,
)
from status_page.api.models.reports import _flat
from tests.conftest import Client

Sessions = async_sessionmaker[AsyncSession]
Headers = dict[str, str]
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)  # a Monday


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


async def get(client: Client, path: str, headers: Headers, status: int = 200) -> Any:
    response = await client.get(path, headers=headers)
    assert response.status == status, await response.text()
    return await response.json(content_type=None)


def note(session: AsyncSession, subject_id: str, kind: str, created: datetime) -> Notification:
    row = Notification(
        kind=kind,
        event="incident_updated",
        subject_id=subject_id,
        update_id="u",
        audience=AudienceRule.page([]),
        created_at=created,
    )
    session.add(row)
    return row


def deliver(
    session: AsyncSession,
    notification: Notification,
    customer: Customer,
    channel: str,
    status: str,
    sent: datetime | None = None,
    delivered: datetime | None = None,
) -> None:
    session.add(
        Delivery(
            notification_id=notification.id,
            customer_id=customer.id,
            channel=channel,
            status=status,
            sent_at=sent,
            delivered_at=delivered,
        )
    )


async def rate(
    session: AsyncSession,
    customer: Customer,
    subject: Subject,
    subject_id: str,
    scale: Scale,
    score: int | None,
    *,
    status: PromptStatus = PromptStatus.sent,
    comment: str | None = None,
    when: datetime = T0,
) -> RatingPrompt:
    prompt = RatingPrompt(
        id=new_id(),
        customer_id=customer.id,
        subject_type=subject,
        subject_id=subject_id,
        scale=scale,
        channel="email",
        status=status,
        due_at=when,
        sent_at=when,
        expires_at=when + timedelta(days=28),
    )
    session.add(prompt)
    await session.flush()
    if score is not None:
        session.add(
            Rating(
                prompt_id=prompt.id,
                customer_id=customer.id,
                subject_type=subject,
                subject_id=subject_id,
                scale=scale,
                score=score,
                comment=comment,
                channel="email",
                created_at=when,
                updated_at=when,
            )
        )
    return prompt


async def seed_incident(sessions: Sessions) -> str:
    """Ten notified customers and one bystander, contacts, promises and CSAT ratings.

    First deliveries (minutes after the start): c0 12 (delivered), c1 13 (sent), c2..c7
    14..19 (SMS sent), c8 50 (in-app delivered after a failed email), c9 never (suppressed).
    """
    async with sessions() as session, session.begin():
        api, other = Component(name="API"), Component(name="Web")
        session.add_all([api, other])
        await session.flush()
        incident = Incident(
            title="API errors",
            status="resolved",
            started_at=T0,
            resolved_at=at(120),
            created_at=T0,
        )
        session.add(incident)
        await session.flush()
        session.add(
            IncidentComponent(incident_id=incident.id, component_id=api.id, status="major_outage")
        )
        first = IncidentUpdate(
            incident_id=incident.id, status="investigating", body="Looking.", created_at=at(10)
        )
        second = IncidentUpdate(
            incident_id=incident.id, status="identified", body="Found.", created_at=at(40)
        )
        session.add_all([first, second])
        await session.flush()
        c = [Customer(external_id=f"c{i}") for i in range(10)]
        bystander = Customer(external_id="x")
        session.add_all([*c, bystander])
        await session.flush()
        n1 = note(session, incident.id, "incident_update", at(10))
        n2 = note(session, incident.id, "incident_update", at(40))
        prompt_note = note(session, incident.id, "incident_update", at(180))
        await session.flush()
        deliver(session, n1, c[0], "email", "delivered", at(11), at(12))
        deliver(session, n2, c[0], "email", "held")
        deliver(session, n1, c[1], "email", "sent", at(13))
        for i in range(2, 8):
            deliver(session, n1, c[i], "sms", "sent", at(12 + i))
        deliver(session, n1, c[8], "email", "failed")
        deliver(session, n2, c[8], "inapp", "delivered", at(41), at(50))
        deliver(session, n1, c[9], "email", "suppressed")
        # The rating prompt's own notification is no delivery about the incident.
        deliver(session, prompt_note, c[0], "email", "sent", at(181))
        deliver(session, prompt_note, bystander, "sms", "delivered", at(181), at(182))
        session.add_all(
            [
                Promise(incident_id=incident.id, update_id=first.id, due_at=at(30), kept_at=at(25)),
                Promise(
                    incident_id=incident.id, update_id=second.id, due_at=at(70), broken_at=at(70)
                ),
                Promise(incident_id=incident.id, update_id=second.id, due_at=at(200)),
            ]
        )
        contacts = [
            (c[0], "incident", incident.id, at(30)),  # after its first delivery (12)
            (c[1], "component", api.id, at(5)),  # while open, before any delivery
            (c[2], "component", api.id, at(60)),  # after its first delivery (14)
            (c[2], "incident", incident.id, at(20)),  # its first contact, still after
            (c[9], "incident", incident.id, at(60)),  # never reached
            (bystander, "incident", incident.id, at(15)),  # not in the audience
            (c[3], "component", api.id, at(180)),  # after the resolution: not this one's
            (c[4], "component", other.id, at(15)),  # a component it does not list
        ]
        for customer, kind, subject_id, when in contacts:
            session.add(
                Contact(
                    customer_id=customer.id,
                    subject_type=kind,
                    subject_id=subject_id,
                    channel="phone",
                    contacted_at=when,
                )
            )
        answers = [(5, None), (4, None), (2, "Too slow"), (5, "Thanks")]
        for index, (score, comment) in enumerate(answers):
            await rate(
                session,
                c[index],
                Subject.incident,
                incident.id,
                Scale.csat,
                score,
                comment=comment,
                when=at(200 + index),
            )
        prompted = [
            await rate(session, c[i], Subject.incident, incident.id, Scale.csat, None)
            for i in (4, 5, 6, 7)
        ]
        prompted.append(
            await rate(
                session,
                c[8],
                Subject.incident,
                incident.id,
                Scale.csat,
                None,
                status=PromptStatus.pending,
            )
        )
        prompted.append(
            await rate(
                session,
                c[9],
                Subject.incident,
                incident.id,
                Scale.csat,
                None,
                status=PromptStatus.cancelled,
            )
        )
        await session.flush()
        prompted[0].notification_id = prompt_note.id
        return incident.id


EMPTY_CHANNEL = {
    "deliveries": 0,
    "sent": 0,
    "delivered": 0,
    "failed": 0,
    "suppressed": 0,
    "other": 0,
    "delivery_rate": None,
}


async def test_an_incident_s_figures_are_the_hand_computed_ones(
    client: Client, admin: Headers, sessions: Sessions
) -> None:
    incident_id = await seed_incident(sessions)

    report = await get(client, f"/api/v1/reports/subjects/incident/{incident_id}", admin)

    assert report["subject"] == {
        "type": "incident",
        "id": incident_id,
        "title": "API errors",
        "started_at": "2030-01-07T09:00:00Z",
        "first_post_at": "2030-01-07T09:10:00Z",
        "resolved_at": "2030-01-07T11:00:00Z",
    }
    assert (report["audience"], report["reached"]) == (10, 9)
    # First at 12 minutes; the 9th of 10 customers (ceil 90%) at 50 minutes.
    assert report["times"] == {
        "start_to_first_delivery": 720.0,
        "start_to_90_percent": 3000.0,
        "first_post_to_first_delivery": 120.0,
        "first_post_to_90_percent": 2400.0,
    }
    assert report["channels"] == {
        "email": {
            "deliveries": 5,
            "sent": 1,
            "delivered": 1,
            "failed": 1,
            "suppressed": 1,
            "other": 1,
            "delivery_rate": 40.0,
        },
        "sms": {**EMPTY_CHANNEL, "deliveries": 6, "sent": 6, "delivery_rate": 100.0},
        "inapp": {**EMPTY_CHANNEL, "deliveries": 1, "delivered": 1, "delivery_rate": 100.0},
    }
    assert report["promises"] == {
        "made": 3,
        "kept": 1,
        "broken": 1,
        "open": 1,
        "kept_percent": 50.0,
    }
    # Contacted: c0, c1, c2, c9 and the bystander; heard first: c0 and c2.
    assert report["heard_first"] == {"contacted": 5, "heard_first": 2, "percent": 40.0}
    assert report["ratings"] == {"prompts_sent": 8, "responses": 4, "response_rate": 50.0}
    assert report["csat"] == {"count": 4, "percent": 75.0}
    assert report["nps"] == {
        "count": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "score": None,
    }
    assert report["ces"] == {"count": 0, "mean": None, "percent": None}
    assert report["comments_total"] == 2
    assert [(c["score"], c["comment"], c["scale"]) for c in report["comments"]] == [
        (5, "Thanks", "csat"),
        (2, "Too slow", "csat"),
    ]


async def test_the_csv_has_the_json_s_figures(
    client: Client, admin: Headers, sessions: Sessions
) -> None:
    incident_id = await seed_incident(sessions)
    path = f"/api/v1/reports/subjects/incident/{incident_id}"

    report = await get(client, path, admin)
    response = await client.get(path, headers={**admin, "Accept": "text/csv"})

    assert response.status == 200
    assert response.content_type == "text/csv"
    [row] = list(csv.DictReader(io.StringIO(await response.text())))
    assert row.pop("row") == f"incident/{incident_id}"
    assert row == {k: "" if v is None else str(v) for k, v in _flat(report)}
    assert (row["heard_first_percent"], row["csat_percent"], row["nps_score"]) == (
        "40.0",
        "75.0",
        "",
    )


async def test_scores_with_no_responses_all_passives_and_one_response(
    client: Client, admin: Headers, sessions: Sessions
) -> None:
    async with sessions() as session, session.begin():
        people = [Customer(external_id=f"p{i}") for i in range(3)]
        quiet = DeliveryProblem(reference="R1", kind="delayed", created_at=T0)
        passive = Incident(title="Slow", status="resolved", started_at=T0)
        once = Incident(title="Window", kind="maintenance", status="completed", started_at=T0)
        session.add_all([*people, quiet, passive, once])
        await session.flush()
        await rate(session, people[0], Subject.problem, quiet.id, Scale.csat, None)
        for person, score in zip(people, (7, 8, 8), strict=True):
            await rate(session, person, Subject.incident, passive.id, Scale.nps, score)
        await rate(session, people[0], Subject.maintenance, once.id, Scale.ces, 6)
        await rate(session, people[1], Subject.maintenance, once.id, Scale.nps, 10)
        ids = quiet.id, passive.id, once.id

    none = await get(client, f"/api/v1/reports/subjects/problem/{ids[0]}", admin)
    passives = await get(client, f"/api/v1/reports/subjects/incident/{ids[1]}", admin)
    one = await get(client, f"/api/v1/reports/subjects/maintenance/{ids[2]}", admin)

    assert none["ratings"] == {"prompts_sent": 1, "responses": 0, "response_rate": 0.0}
    assert none["csat"] == {"count": 0, "percent": None}
    assert none["times"] == dict.fromkeys(none["times"])
    assert (none["audience"], none["heard_first"]["percent"], none["promises"]["kept_percent"]) == (
        0,
        None,
        None,
    )
    assert passives["nps"] == {
        "count": 3,
        "promoters": 0,
        "passives": 3,
        "detractors": 0,
        "score": 0.0,
    }
    assert one["ces"] == {"count": 1, "mean": 6.0, "percent": 100.0}
    assert one["nps"] == {
        "count": 1,
        "promoters": 1,
        "passives": 0,
        "detractors": 0,
        "score": 100.0,
    }
    assert one["ratings"] == {"prompts_sent": 2, "responses": 2, "response_rate": 100.0}


async def test_the_summary_sums_each_week_s_subjects_and_its_csv_has_the_same_figures(
    client: Client, admin: Headers, sessions: Sessions
) -> None:
    incident_id = await seed_incident(sessions)
    async with sessions() as session, session.begin():
        people = [Customer(external_id=f"q{i}") for i in range(3)]
        problem = DeliveryProblem(reference="R2", kind="lost", created_at=T0 - timedelta(days=5))
        later = DeliveryProblem(reference="R3", kind="lost", created_at=T0 + timedelta(days=30))
        session.add_all([*people, problem, later])
        await session.flush()
        session.add(
            DeliveryProblemUpdate(
                problem_id=problem.id, status="open", body="Lost.", created_at=problem.created_at
            )
        )
        for person, score in zip(people, (2, 5, 7), strict=True):
            await rate(session, person, Subject.problem, problem.id, Scale.ces, score)
    path = "/api/v1/reports/summary?from=2030-01-01&to=2030-01-14&interval=week"
    incident = await get(client, f"/api/v1/reports/subjects/incident/{incident_id}", admin)

    summary = await get(client, path, admin)
    response = await client.get(path, headers={**admin, "Accept": "text/csv"})

    assert (summary["first_day"], summary["last_day"], summary["interval"]) == (
        "2030-01-01",
        "2030-01-14",
        "week",
    )
    spans = [(i["start"], i["end"]) for i in summary["intervals"]]
    assert spans == [
        ("2030-01-01T00:00:00Z", "2030-01-07T00:00:00Z"),
        ("2030-01-07T00:00:00Z", "2030-01-14T00:00:00Z"),
        ("2030-01-14T00:00:00Z", "2030-01-15T00:00:00Z"),
    ]
    first, second, third = summary["intervals"]
    assert first["subjects"] == {"incident": 0, "maintenance": 0, "problem": 1}
    assert first["ces"] == {"count": 3, "mean": 4.67, "percent": 66.67}
    assert second["subjects"] == {"incident": 1, "maintenance": 0, "problem": 0}
    for name in ("audience", "times", "channels", "promises", "heard_first", "csat"):
        assert second[name] == incident[name]
    assert third["subjects"] == {"incident": 0, "maintenance": 0, "problem": 0}
    assert third["ratings"] == {"prompts_sent": 0, "responses": 0, "response_rate": None}
    total = summary["total"]
    assert (total["start"], total["end"]) == ("2030-01-01T00:00:00Z", "2030-01-15T00:00:00Z")
    assert total["subjects"] == {"incident": 1, "maintenance": 0, "problem": 1}
    assert total["ratings"] == {"prompts_sent": 11, "responses": 7, "response_rate": 63.64}
    assert (total["csat"], total["ces"]) == (second["csat"], first["ces"])
    assert total["times"] == incident["times"]  # the mean of the one subject that has them

    assert response.status == 200, await response.text()
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert [r.pop("row") for r in rows] == ["2030-01-01", "2030-01-07", "2030-01-14", "total"]
    for row, item in zip(rows, [*summary["intervals"], total], strict=True):
        assert row == {k: "" if v is None else str(v) for k, v in _flat(item)}


async def test_bad_input_is_a_problem_naming_the_field(client: Client, admin: Headers) -> None:
    base = "/api/v1/reports/summary"
    cases = {
        "/api/v1/reports/subjects/outage/abc": (404, None),
        "/api/v1/reports/subjects/incident/nothere": (404, None),
        f"{base}?from=2030-13-01&to=2030-12-31": (422, "from"),
        f"{base}?from=1700000000&to=2030-12-31": (422, "from"),
        f"{base}?from=2030-01-02&to=2030-01-01": (422, "to"),
        f"{base}?from=2030-01-01&to=2030-01-31&interval=year": (422, "interval"),
        f"{base}?from=2000-01-01&to=2030-01-01&interval=day": (422, "to"),
        f"{base}?to=2030-01-01": (422, "from"),
    }
    for path, (status, field) in cases.items():
        response = await client.get(path, headers=admin)
        assert response.status == status, path
        assert response.content_type == "application/problem+json", path
        problem = await response.json(content_type=None)
        if field is None:
            assert "subject" in problem["detail"] or "incident" in problem["detail"], problem
        else:
            assert [e["field"] for e in problem["errors"]] == [field], problem


async def test_a_period_at_the_ends_of_the_calendar_is_answered(
    client: Client, admin: Headers
) -> None:
    base = "/api/v1/reports/summary"
    for query in (
        "from=9999-12-31&to=9999-12-31",
        "from=9999-12-01&to=9999-12-31&interval=month",
        "from=0001-01-01&to=0001-01-01&interval=week",
    ):
        summary = await get(client, f"{base}?{query}", admin)
        assert summary["total"]["audience"] == 0, query
    response = await client.get(f"{base}?from=0001-01-01&to=9999-12-31", headers=admin)
    assert response.status == 422
    problem = await response.json(content_type=None)
    assert [e["field"] for e in problem["errors"]] == ["to"], problem


async def test_each_score_s_bounds_a_ninety_percent_that_rounds_up_and_a_tie_with_a_contact(
    client: Client, admin: Headers, sessions: Sessions
) -> None:
    """Scores at every band's edge (CSAT 3|4, NPS 6|7 and 8|9, CES 4|5), a score given
    twice (the mean weighs it twice), three reached (90% of 3 is the 3rd) and a contact
    at the very time of the first delivery (not heard first: strictly before)."""
    async with sessions() as session, session.begin():
        incident = Incident(title="Edges", status="resolved", started_at=T0, resolved_at=at(90))
        told = [Customer(external_id=f"t{i}") for i in range(3)]
        raters = [Customer(external_id=f"r{i}") for i in range(18)]
        session.add_all([incident, *told, *raters])
        await session.flush()
        n1 = note(session, incident.id, "incident_update", at(10))
        await session.flush()
        for customer, minute in zip(told, (12, 20, 30), strict=True):
            deliver(session, n1, customer, "email", "sent", at(minute))
        for customer, when in ((told[0], at(12)), (told[1], at(25))):
            session.add(
                Contact(
                    customer_id=customer.id,
                    subject_type="incident",
                    subject_id=incident.id,
                    channel="phone",
                    contacted_at=when,
                )
            )
        scored = [
            *((Scale.csat, s) for s in (3, 4, 4, 1)),
            *((Scale.nps, s) for s in (9, 9, 6, 8, 10, 8)),
            *((Scale.ces, s) for s in (4, 5, 5, 1)),
            *((Scale.csat, None) for _ in range(4)),
        ]
        for customer, (scale, score) in zip(raters, scored, strict=True):
            await rate(session, customer, Subject.incident, incident.id, scale, score)
        incident_id = incident.id

    report = await get(client, f"/api/v1/reports/subjects/incident/{incident_id}", admin)

    assert (report["audience"], report["reached"]) == (3, 3)
    assert report["times"]["start_to_first_delivery"] == 720.0
    assert report["times"]["start_to_90_percent"] == 1800.0  # ceil(2.7) = the 3rd
    assert report["heard_first"] == {"contacted": 2, "heard_first": 1, "percent": 50.0}
    assert report["ratings"] == {"prompts_sent": 18, "responses": 14, "response_rate": 77.78}
    assert report["csat"] == {"count": 4, "percent": 50.0}
    assert report["nps"] == {
        "count": 6,
        "promoters": 3,
        "passives": 2,
        "detractors": 1,
        "score": 33.33,
    }
    assert report["ces"] == {"count": 4, "mean": 3.75, "percent": 50.0}
