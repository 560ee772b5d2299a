"""The in-app inbox API's own OpenAPI document (``status_page/inbox_openapi.py``):
valid, every inbox route in it, and real answers matching it."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS31Validator, validate
from openapi_spec_validator import validate as validate_spec
from pytest_aiohttp import AiohttpServer

from config import Settings
from notifier.schemas.inbox import InboxRatingIn
from status_page import create_app, inbox
from tests.conftest import Client
from tests.rating_prompts import make_prompt
from tests.status_page.api.test_fuzz import EXAMPLES, ROOT, SEED
from tests.status_page.test_inbox import as_user
from tests.status_page.test_inbox_ratings import Sessions


async def _document(client: Client) -> dict[str, Any]:
    response = await client.get("/api/v1/inbox/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    document: dict[str, Any] = await response.json()
    return document


def _conforms(document: dict[str, Any], instance: Any, path: str, method: str, status: str) -> None:
    content = document["paths"][path][method]["responses"][status]["content"]
    [schema] = [media["schema"] for media in content.values()]
    validate(instance, {**schema, "components": document["components"]}, cls=OAS31Validator)


async def test_it_is_a_valid_openapi_3_1_document_with_every_inbox_operation(
    client: Client,
) -> None:
    document = await _document(client)
    validate_spec(document)
    operations = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    routes = {
        (route.method, route.resource.canonical)
        for route in client.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(inbox.API_PATH)
        and route.method not in ("OPTIONS", "HEAD")
        and not route.resource.canonical.endswith("openapi.json")
    }
    assert {(m, p.replace(r"{message_id:\d+}", "{message_id}")) for m, p in routes} == operations
    assert document["security"] == [{"userToken": []}, {"user": [], "userHash": []}]
    rating = document["paths"]["/api/v1/inbox/{message_id}/rating"]["post"]
    assert set(rating["responses"]) == {"200", "400", "401", "404", "409", "413", "422"}


async def test_real_answers_match_the_document(
    client: Client, settings: Settings, sessions: Sessions
) -> None:
    document = await _document(client)
    made = await make_prompt(sessions, channel="inapp", inapp_user_id="u1")
    headers = as_user(settings, "u1")
    rating_path = "/api/v1/inbox/{message_id}/rating"
    answered = await client.post(
        f"/api/v1/inbox/{made.message_id}/rating", json={"score": 3}, headers=headers
    )
    _conforms(document, await answered.json(), rating_path, "post", "200")
    refused = await client.post(
        f"/api/v1/inbox/{made.message_id}/rating", json={"score": 9}, headers=headers
    )
    _conforms(document, await refused.json(content_type=None), rating_path, "post", "422")
    listed = await client.get("/api/v1/inbox", headers=headers)
    _conforms(document, await listed.json(), "/api/v1/inbox", "get", "200")


async def test_schemathesis_finds_nothing_wrong_with_the_inbox_api(
    aiohttp_server: AiohttpServer, settings: Settings, sessions: Sessions, tmp_path: Path
) -> None:
    # A user whose message 1 carries an NPS prompt: every score the schema allows (0-10)
    # is on its scale, so a schema-valid answer is accepted. Off a narrower scale it is a
    # 422 naming the score (test_inbox_ratings.py).
    made = await make_prompt(sessions, channel="inapp", inapp_user_id="fuzz-user", scale="nps")
    assert made.message_id is not None
    server = await aiohttp_server(create_app(settings))
    base = str(server.make_url("")).rstrip("/")
    report = tmp_path / "report.json"
    headers = as_user(settings, "fuzz-user")
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base}/api/v1/inbox/openapi.json",
        "--url",
        base,
        *[arg for name, value in headers.items() for arg in ("--header", f"{name}: {value}")],
        "--checks",
        "all",
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
        "--report",
        "json",
        "--report-json-path",
        str(report),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    summary: dict[str, Any] = json.loads(report.read_text())
    assert summary["operations"]["tested"] == 13, text
    assert (summary["failures"], summary["errors"]) == ([], []), text


async def test_the_rating_body_has_an_example_its_schema_and_model_accept(
    client: Client,
) -> None:
    document = await _document(client)

    media = document["paths"][f"{inbox.API_PATH}/{{message_id}}/rating"]["post"]["requestBody"][
        "content"
    ]["application/json"]
    validate(
        media["example"],
        {"$ref": media["schema"]["$ref"], "components": document["components"]},
        cls=OAS31Validator,
    )
    InboxRatingIn.model_validate(media["example"])
