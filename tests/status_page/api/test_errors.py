"""Errors of the ops API as RFC 9457 problem details, and plain pages elsewhere
(``status_page/api/errors.py``): bodies that are not (I-)JSON, failing fields with their
JSON Pointers, unknown paths and methods, and an unexpected error logged by route; outside
``/api/`` the page's own 404, 405 and 500 in the visitor's language."""

from __future__ import annotations

import pytest
from aiohttp import web
from pytest_aiohttp import AiohttpClient

from config import Settings
from notifier.tables import Component, Incident
from status_page import create_app
from tests.conftest import Client
from tests.status_page.api.records import Sessions, count_rows, rows_by_table

PROBLEM = "application/problem+json"


@pytest.mark.parametrize("raw", [b"{not json", b"name=Checkout", b"\xff\xfe", b"{'name': 'x'}"])
async def test_a_body_that_is_not_json_is_a_400(
    client: Client, admin: dict[str, str], sessions: Sessions, raw: bytes
) -> None:
    response = await client.post(
        "/api/v1/components",
        data=raw,
        headers={**admin, "Content-Type": "application/json"},
    )

    assert response.status == 400
    assert response.content_type == PROBLEM
    assert "JSON" in (await response.json())["detail"]
    assert await count_rows(sessions, Component) == 0


async def test_invalid_fields_are_a_422_listing_each_with_its_place(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    response = await client.post(
        "/api/v1/incidents",
        json={
            "title": "",
            "impact": "apocalyptic",
            "components": [{"component_id": "x", "status": "fine"}],
        },
        headers=admin,
    )

    assert response.status == 422
    assert response.content_type == PROBLEM
    problem = await response.json()
    assert (problem["status"], problem["title"]) == (422, "Unprocessable Entity")
    assert problem["instance"] == "/api/v1/incidents"
    errors = {e["field"]: e for e in problem["errors"]}
    assert sorted(errors) == ["body", "components[0].status", "impact", "title"]
    assert errors["components[0].status"]["pointer"] == "/components/0/status"
    assert errors["body"]["pointer"] == "/body"
    assert {e["location"] for e in problem["errors"]} == {"body"}
    assert all(e["detail"] for e in problem["errors"])
    assert "at least 1 character" in errors["title"]["detail"]
    assert await count_rows(sessions, Incident) == 0


async def test_a_field_name_is_escaped_in_its_json_pointer(
    client: Client, admin: dict[str, str]
) -> None:
    response = await client.post(
        "/api/v1/components", json={"name": "API", "a/b~c": 1}, headers=admin
    )

    assert response.status == 422
    errors = (await response.json())["errors"]
    assert [(e["field"], e["pointer"]) for e in errors] == [("a/b~c", "/a~1b~0c")]


async def test_an_unknown_api_path_is_a_404_problem(client: Client, admin: dict[str, str]) -> None:
    response = await client.get("/api/v1/no-such-thing", headers=admin)

    assert response.status == 404
    assert response.content_type == PROBLEM
    assert (await response.json())["status"] == 404


async def test_a_method_the_path_lacks_is_a_405_problem_with_allow(
    client: Client, admin: dict[str, str]
) -> None:
    response = await client.put("/api/v1/components", json={}, headers=admin)

    assert response.status == 405
    assert response.content_type == PROBLEM
    assert set(response.headers["Allow"].split(",")) == {"GET", "POST"}


async def test_an_unknown_page_outside_the_api_is_the_pages_own_404_in_its_language(
    client: Client,
) -> None:
    english = await client.get("/no-such-page")
    japanese = await client.get("/no/such/page", headers={"Accept-Language": "ja"})

    assert english.status == japanese.status == 404
    assert english.content_type == "text/html"
    page = await english.text()
    assert "<title>Not found · Test status</title>" in page
    assert '<p><a href="/">Test status</a></p>' in page
    assert "/* Brand and shared controls" in page  # base.html's style, not a bare page
    assert "There is nothing public at this address." in page
    assert japanese.headers["Content-Language"] == "ja"
    assert "ページが見つかりません" in await japanese.text()


async def test_an_unexpected_error_is_a_500_logged_by_route_never_by_path(
    aiohttp_client: AiohttpClient, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = create_app(settings)
    app.router.add_get("/broken/{token}", broken)
    client = await aiohttp_client(app)
    secret = "aiko@example.com"  # a token, or a business's customer id that is an address

    response = await client.get(f"/broken/{secret}")

    assert response.status == 500
    assert "Something went wrong on our side and it has been logged." in await response.text()
    [record] = [r for r in caplog.records if r.name == "status_page.api.errors"]
    assert record.getMessage() == "unhandled error on GET /broken/{token}"
    assert secret not in caplog.text


async def test_a_method_a_page_lacks_is_the_pages_own_405_in_its_language(
    client: Client,
) -> None:
    english = await client.post("/history", data={"x": "1"})
    japanese = await client.delete("/", headers={"Accept-Language": "ja"})

    assert english.status == japanese.status == 405
    assert english.content_type == japanese.content_type == "text/html"
    assert set(english.headers["Allow"].split(",")) == {"GET", "HEAD"}
    page = await english.text()
    assert "<title>This address does not take that request · Test status</title>" in page
    assert '<p><a href="/">Test status</a></p>' in page
    assert "/* Brand and shared controls" in page  # base.html's style, not a bare page
    assert japanese.headers["Content-Language"] == "ja"
    assert "このアドレスではその操作を受け付けていません" in await japanese.text()


async def test_an_unexpected_error_on_a_page_is_the_pages_own_500_in_its_language(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = create_app(settings)
    app.router.add_get("/broken", broken)
    client = await aiohttp_client(app)

    english = await client.get("/broken")
    japanese = await client.get("/broken?lang=ja")

    assert english.status == japanese.status == 500
    assert english.content_type == "text/html"
    assert english.headers["Cache-Control"] == "no-store"
    page = await english.text()
    assert "<title>Something went wrong · Test status</title>" in page
    assert "/* Brand and shared controls" in page
    assert "エラーが発生しました" in await japanese.text()
    assert japanese.headers["Content-Language"] == "ja"


async def test_api_paths_keep_problem_json_for_a_405_and_a_500(
    aiohttp_client: AiohttpClient, settings: Settings
) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("a bug")

    app = create_app(settings)
    app.router.add_get("/api/v1/broken", broken)
    client = await aiohttp_client(app)

    failed = await client.get("/api/v1/broken")
    refused = await client.delete("/api/v2/status.json")

    assert (failed.status, failed.content_type) == (500, PROBLEM)
    assert (refused.status, refused.content_type) == (405, PROBLEM)


# Found by schemathesis (issue 10), as the inputs of test_hostile_input.py were.
@pytest.mark.parametrize(
    "raw", [b'{"name": "\\ud800"}', b'{"name": "API", "position": NaN}', b'{"name": "\xff"}']
)
async def test_a_body_that_is_not_i_json_is_a_400(
    client: Client, admin: dict[str, str], sessions: Sessions, raw: bytes
) -> None:
    before = await rows_by_table(sessions)

    response = await client.post(
        "/api/v1/components", data=raw, headers={**admin, "Content-Type": "application/json"}
    )

    assert response.status == 400
    assert response.content_type == PROBLEM
    assert await rows_by_table(sessions) == before
