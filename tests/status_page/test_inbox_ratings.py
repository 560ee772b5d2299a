"""A rating prompt in the in-app inbox (``status_page/inbox.py``,
``notifier/care/inbox_prompts.py``): listed with its scale, range and question, and
answered through ``POST /api/v1/inbox/{id}/rating``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from config import Settings
from tests.conftest import Client
from tests.inapp import deliver
from tests.rating_prompts import follow_ups, make_prompt, rating_of
from tests.status_page.test_inbox import as_user

Sessions = async_sessionmaker[AsyncSession]
USER = "user-42"


async def rate(
    client: Client, settings: Settings, message_id: int, body: Any, user: str = USER
) -> tuple[int, dict[str, Any]]:
    response = await client.post(
        f"/api/v1/inbox/{message_id}/rating", json=body, headers=as_user(settings, user)
    )
    return response.status, await response.json(content_type=None)


async def test_the_inbox_lists_a_prompt_with_its_scale_range_and_question(
    client: Client, settings: Settings, sessions: Sessions, redis_url: str
) -> None:
    made = await make_prompt(sessions, channel="inapp", inapp_user_id=USER, locale="ja")
    redis = Redis.from_url(redis_url)
    try:
        [plain] = await deliver(sessions, redis, USER, "Payments are slow")
    finally:
        await redis.aclose()
    response = await client.get("/api/v1/inbox", headers=as_user(settings, USER))
    assert response.status == 200
    messages = {m["id"]: m for m in (await response.json())["data"]}
    assert messages[plain]["rating"] is None
    rating = messages[made.message_id]["rating"]
    assert rating["scale"] == "csat"
    assert (rating["min_score"], rating["max_score"]) == (1, 5)
    assert rating["question"].startswith("私たちからのお知らせの内容やタイミングに")
    assert rating["labels"] == {"1": "とても不満", "5": "とても満足"}
    assert rating["score"] is None


async def test_an_in_app_score_is_recorded_and_shown(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, channel="inapp", inapp_user_id=USER)
    assert made.message_id is not None
    status, body = await rate(client, settings, made.message_id, {"score": 4})
    assert status == 200, body
    assert body["data"]["rating"]["score"] == 4
    assert body["data"]["read_at"] is not None
    assert body["unread_count"] == 0
    rating = await rating_of(sessions, made.prompt_id)
    assert rating is not None
    assert (rating.score, rating.channel, rating.comment) == (4, "inapp", None)

    status, body = await rate(
        client, settings, made.message_id, {"score": 1, "comment": " Nobody told us. "}
    )
    assert status == 200
    assert (body["data"]["rating"]["score"], body["data"]["rating"]["comment"]) == (
        1,
        "Nobody told us.",
    )
    assert len(await follow_ups(sessions)) == 1
    listed = await client.get("/api/v1/inbox", headers=as_user(settings, USER))
    [message] = (await listed.json())["data"]
    assert message["rating"]["score"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"score": 6}, "score"),
        ({"score": 0}, "score"),
        ({"score": 11}, "score"),
        ({"score": "4"}, "score"),
        ({"score": 4.5}, "score"),
        ({"score": True}, "score"),
        ({}, "score"),
        ({"score": 4, "comment": "x" * 2001}, "comment"),
        ({"score": 4, "comment": "a\x00b"}, "comment"),
        ({"score": 4, "stars": 5}, "stars"),
    ],
)
async def test_a_bad_answer_is_a_422_naming_the_field(
    client: Client, settings: Settings, sessions: Sessions, body: Any, field: str
) -> None:
    made = await make_prompt(sessions, channel="inapp", inapp_user_id=USER)
    assert made.message_id is not None
    response = await client.post(
        f"/api/v1/inbox/{made.message_id}/rating", json=body, headers=as_user(settings, USER)
    )
    assert response.status == 422
    assert response.content_type == "application/problem+json"
    problem = await response.json(content_type=None)
    assert [e["field"] for e in problem["errors"]] == [field]
    assert await rating_of(sessions, made.prompt_id) is None


async def test_a_body_that_is_not_json_is_a_400(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, channel="inapp", inapp_user_id=USER)
    response = await client.post(
        f"/api/v1/inbox/{made.message_id}/rating",
        data=b"{score: 4",
        headers={**as_user(settings, USER), "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert response.content_type == "application/problem+json"


async def test_another_users_message_or_one_without_a_prompt_is_404(
    client: Client, settings: Settings, sessions: Sessions, redis_url: str
) -> None:
    made = await make_prompt(sessions, channel="inapp", inapp_user_id=USER)
    assert made.message_id is not None
    redis = Redis.from_url(redis_url)
    try:
        [plain] = await deliver(sessions, redis, USER, "Payments are slow")
    finally:
        await redis.aclose()
    for message_id, user in ((made.message_id, "someone-else"), (plain, USER), (99999, USER)):
        status, problem = await rate(client, settings, message_id, {"score": 5}, user=user)
        assert status == 404
        assert problem["status"] == 404
    assert await rating_of(sessions, made.prompt_id) is None


async def test_an_expired_prompt_is_409(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(
        sessions, channel="inapp", inapp_user_id=USER, expires_in=timedelta(minutes=-1)
    )
    assert made.message_id is not None
    status, problem = await rate(client, settings, made.message_id, {"score": 5})
    assert status == 409
    assert "expired" in problem["detail"]


async def test_without_the_user_hash_it_is_401(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    made = await make_prompt(sessions, channel="inapp", inapp_user_id=USER)
    response = await client.post(f"/api/v1/inbox/{made.message_id}/rating", json={"score": 5})
    assert response.status == 401
    assert await rating_of(sessions, made.prompt_id) is None


async def test_a_cors_preflight_allows_a_json_answer(client: Client) -> None:
    response = await client.options(
        "/api/v1/inbox/1/rating",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-forewarn-user, x-forewarn-user-hash",
        },
    )
    assert response.status == 204
    allowed = {
        h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")
    }
    assert {"content-type", "x-forewarn-user", "x-forewarn-user-hash"} <= allowed
