from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

from openapi_schema_validator import OAS31Validator, validate
from openapi_spec_validator import validate as validate_spec

from notifier.schemas.incidents import IncidentCreate
from status_page import inbox_openapi
from status_page.api import openapi
from status_page.api.v1 import API
from tests.conftest import Client

REF = "#/components/schemas/{model}"


async def _document(client: Client) -> dict[str, Any]:
    response = await client.get("/api/v1/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    document: dict[str, Any] = await response.json()
    return document


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _conforms(document: dict[str, Any], instance: Any, ref: str) -> None:
    """Validate a real response against the schema the document gives for it."""
    validate(instance, {"$ref": ref, "components": document["components"]}, cls=OAS31Validator)


def _schema_ref(operation: dict[str, Any], status: str, media: str) -> str:
    ref: str = operation["responses"][status]["content"][media]["schema"]["$ref"]
    return ref


async def test_it_serves_a_valid_openapi_3_1_document(client: Client) -> None:
    document = await _document(client)

    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "Test status: Forewarn ops API"
    assert document["servers"] == [{"url": "http://status.test"}]
    validate_spec(document)


async def test_the_document_needs_no_key(client: Client) -> None:
    response = await client.get("/api/v1/openapi.json")

    assert response.status == 200


async def test_it_lists_every_operation_with_its_scope(client: Client) -> None:
    document = await _document(client)

    listed = {
        (path, method.upper()) for path, methods in document["paths"].items() for method in methods
    }
    assert listed == {(op.path, op.method) for op in API.operations}
    for op in API.operations:
        operation = document["paths"][op.path][op.method.lower()]
        assert operation["x-required-scope"] == op.scope
        assert operation["security"] == [{"bearer": [op.scope]}]
        assert operation["summary"] == op.summary
        assert str(op.status) in operation["responses"]
        assert {"401", "403"} <= set(operation["responses"])
        path_params = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
        assert path_params == set(op.path_params)
    ids = [op["operationId"] for methods in document["paths"].values() for op in methods.values()]
    assert len(ids) == len(set(ids))


async def test_the_security_scheme_names_every_scope(client: Client) -> None:
    document = await _document(client)

    description = document["components"]["securitySchemes"]["bearer"]["description"]
    for scope in {op.scope for op in API.operations}:
        assert f"`{scope}`" in description


async def test_every_ref_resolves_inside_the_document(client: Client) -> None:
    document = await _document(client)

    refs = set(_refs(document))

    assert refs
    for ref in refs:
        assert isinstance(_resolve(document, ref), dict), ref


async def test_request_schemas_are_the_pydantic_models(client: Client) -> None:
    document = await _document(client)
    schemas = document["components"]["schemas"]

    for op in API.operations:
        operation = document["paths"][op.path][op.method.lower()]
        if op.body is None:
            assert "requestBody" not in operation
            continue
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        expected = op.body.model_json_schema(ref_template=REF, mode="validation")
        expected.pop("$defs", None)
        assert _resolve(document, ref) == expected, op.path
    incident = schemas["IncidentCreate"]
    assert sorted(incident["required"]) == ["body", "title"]
    assert incident["additionalProperties"] is False
    assert set(incident["properties"]) == set(IncidentCreate.model_fields)


async def test_query_parameters_are_the_pydantic_query_fields(client: Client) -> None:
    document = await _document(client)

    for op in API.operations:
        operation = document["paths"][op.path][op.method.lower()]
        in_query = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
        fields = op.query.model_fields if op.query is not None else {}
        # A field named after a Python keyword ("from") is declared by its alias.
        expected = {field.alias or name for name, field in fields.items()}
        assert in_query == expected, op.path
    incidents = document["paths"]["/api/v1/incidents"]["get"]["parameters"]
    status = next(p for p in incidents if p["name"] == "status")
    assert {"$ref": "#/components/schemas/IncidentStatus"} in status["schema"]["anyOf"]


async def test_posts_document_the_idempotency_key_header(client: Client) -> None:
    document = await _document(client)

    for op in API.operations:
        operation = document["paths"][op.path][op.method.lower()]
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        takes_key = op.method == "POST" and not op.reads_only
        assert headers == (["Idempotency-Key"] if takes_key else []), op.path


async def test_the_customer_search_is_documented_with_its_one_of_rule(client: Client) -> None:
    document = await _document(client)

    search = document["paths"]["/api/v1/customers/search"]["post"]
    assert search["x-required-scope"] == "customers:read"
    assert search["parameters"] == []  # the address travels in the body, no Idempotency-Key
    body = _resolve(
        document, search["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert body["oneOf"] == [{"required": ["email"]}, {"required": ["phone"]}]
    assert {body["properties"][name]["type"] for name in ("email", "phone")} == {"string"}
    answer = _resolve(document, _schema_ref(search, "200", "application/json"))
    assert set(answer["properties"]) == {"data", "next_cursor"}
    # 400: not JSON; 413: too large; nothing it names can be missing (no 404).
    assert set(search["responses"]) == {"200", "400", "401", "403", "413", "422"}


async def test_real_responses_match_the_documented_schemas(
    client: Client, admin: dict[str, str]
) -> None:
    document = await _document(client)
    components = document["paths"]["/api/v1/components"]
    incidents = document["paths"]["/api/v1/incidents"]

    created = await client.post("/api/v1/components", json={"name": "API"}, headers=admin)
    listed = await client.get("/api/v1/components", headers=admin)
    incident = await client.post(
        "/api/v1/incidents",
        json={
            "title": "Down",
            "body": "Looking",
            "components": [{"component_id": (await created.json())["id"]}],
        },
        headers=admin,
    )
    refused = await client.post("/api/v1/components", json={"name": ""}, headers=admin)

    _conforms(
        document, await created.json(), _schema_ref(components["post"], "201", "application/json")
    )
    _conforms(
        document, await listed.json(), _schema_ref(components["get"], "200", "application/json")
    )
    _conforms(
        document, await incident.json(), _schema_ref(incidents["post"], "201", "application/json")
    )
    problem_ref = _schema_ref(components["post"], "422", "application/problem+json")
    _conforms(document, await refused.json(), problem_ref)


class _Assets(HTMLParser):
    """Every URL a page would load: script/img src, link href."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        wanted = {"script": "src", "img": "src", "link": "href", "iframe": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


async def test_the_docs_page_loads_no_third_party_assets(client: Client) -> None:
    response = await client.get("/api/v1/docs")

    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assets = _Assets()
    assets.feed(page)
    for url in assets.urls:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == ("", ""), url
    assert "@import" not in page
    assert "url(http" not in page


async def test_the_docs_page_is_swagger_ui_on_both_documents(client: Client) -> None:
    response = await client.get("/api/v1/docs")
    page = await response.text()

    assert 'href="/api/v1/openapi.json"' in page
    assert openapi.INBOX_DOCUMENT == inbox_openapi.PATH
    specs = re.search(r"data-specs='([^']*)'", page)
    assert specs is not None
    assert [s["url"] for s in json.loads(html.unescape(specs.group(1)))] == [
        "/api/v1/openapi.json",
        inbox_openapi.PATH,
    ]
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp
    assert "connect-src 'self';" in csp
    assets = _Assets()
    assets.feed(page)
    for url in assets.urls:
        if url.startswith("/api/v1/docs/assets/"):
            served = await client.get(url)
            assert served.status == 200, url
            assert served.content_type in ("text/javascript", "application/javascript", "text/css")
            assert len(await served.read()) > 100, url
    # The operations stay listed for a reader without JavaScript.
    for op in API.operations:
        assert f"<code>{op.method} {op.path}</code>" in page
        assert f"Scope: <code>{op.scope}</code>" in page


async def test_the_docs_assets_are_only_the_listed_files(client: Client) -> None:
    for name in ("index.html", "swagger-initializer.js", "..%2Fopenapi.py", "LICENSE"):
        response = await client.get(f"/api/v1/docs/assets/{name}")
        assert response.status == 404, name


async def test_every_request_body_has_an_example_its_schema_and_model_accept(
    client: Client,
) -> None:
    document = await _document(client)

    for op in API.operations:
        body = document["paths"][op.path][op.method.lower()].get("requestBody")
        if body is None:
            continue
        media = body["content"]["application/json"]
        assert "example" in media, f"{op.method} {op.path}"
        validate(
            media["example"],
            {"$ref": media["schema"]["$ref"], "components": document["components"]},
            cls=OAS31Validator,
        )
        assert op.body is not None
        op.body.model_validate(media["example"])


async def test_every_request_body_is_documented_as_refusing_unknown_fields(
    client: Client,
) -> None:
    document = await _document(client)

    for op in API.operations:
        body = document["paths"][op.path][op.method.lower()].get("requestBody")
        if body is not None:
            schema = _resolve(document, body["content"]["application/json"]["schema"]["$ref"])
            assert schema["additionalProperties"] is False, op.path


def _request_schemas(document: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every schema a request is checked against: bodies, queries, paths and headers."""
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            for parameter in operation["parameters"]:
                yield f"{where} {parameter['name']}", parameter["schema"]
            body = operation.get("requestBody")
            if body is not None:
                yield where, body["content"]["application/json"]["schema"]


def _leaves(
    document: dict[str, Any], node: Any, seen: frozenset[str] = frozenset()
) -> Iterator[Any]:
    """Each schema inside ``node`` that has a type, following $refs once."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if ref is not None and ref not in seen:
            yield from _leaves(document, _resolve(document, ref), seen | {ref})
        if "type" in node:
            yield node
        for key, value in node.items():
            if key in ("properties", "$defs"):
                for child in value.values():
                    yield from _leaves(document, child, seen)
            elif key in ("items", "anyOf", "allOf", "oneOf"):
                yield from _leaves(document, value, seen)
    elif isinstance(node, list):
        for item in node:
            yield from _leaves(document, item, seen)


async def test_every_request_string_states_its_rule_and_every_integer_its_bounds(
    client: Client,
) -> None:
    document = await _document(client)

    for where, schema in _request_schemas(document):
        for leaf in _leaves(document, schema):
            if leaf["type"] == "string":
                assert {"pattern", "enum", "format", "const"} & set(leaf), (where, leaf)
            if leaf["type"] == "integer":
                assert {"minimum", "maximum"} <= set(leaf), (where, leaf)
            # pydantic's own keywords mean nothing to a JSON Schema validator.
            assert not {"ge", "le", "gt", "lt"} & set(leaf), (where, leaf)


async def test_the_idempotency_key_and_path_parameters_state_their_rules(
    client: Client,
) -> None:
    document = await _document(client)

    for op in API.operations:
        operation = document["paths"][op.path][op.method.lower()]
        for parameter in operation["parameters"]:
            if parameter["in"] in ("path", "header"):
                assert "pattern" in parameter["schema"], (op.path, parameter)
        if op.method == "POST" and not op.reads_only:
            key = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
            assert (key["schema"]["minLength"], key["schema"]["maxLength"]) == (1, 255)
            assert "422" in key["description"]


async def test_each_operation_lists_the_errors_it_can_answer(client: Client) -> None:
    document = await _document(client)

    for op in API.operations:
        responses = document["paths"][op.path][op.method.lower()]["responses"]
        if op.body is not None:
            assert {"400", "413", "422"} <= set(responses), op.path
            body = document["paths"][op.path][op.method.lower()]["requestBody"]
            # Only the operations whose every field has a default may be sent without a body.
            assert body["required"] is not op.path.endswith(("/resolve", "/cancel")), op.path
        if op.path_params:
            assert "404" in responses, op.path
        for status, response in responses.items():
            if status >= "400":
                assert "application/problem+json" in response["content"], (op.path, status)


async def test_creating_operations_link_to_the_operations_on_what_they_made(
    client: Client,
) -> None:
    document = await _document(client)

    created = document["paths"]["/api/v1/incidents"]["post"]["responses"]["201"]["links"]
    put = document["paths"]["/api/v1/customers/{external_id}"]["put"]["responses"]["201"]["links"]

    assert created["get_incident"] == {
        "operationId": "get_incident",
        "parameters": {"incident_id": "$response.body#/id"},
    }
    assert set(created) >= {"patch_incident", "incidents_resolve", "reopen"}
    assert put["customer_deliveries"]["parameters"] == {"external_id": "$request.path.external_id"}
