"""``schemathesis run`` against the ops API's own OpenAPI document, served by the real app.

Every operation, all of schemathesis's phases (boundary values, random values and
stateful sequences along the document's links), every check (no server error, every
status, content type, header and body as documented, invalid requests refused and
valid ones accepted), a fixed seed and a bounded number of examples. It runs on the
database and Redis the suite runs on: SQLite by default, PostgreSQL in CI.

A failure prints schemathesis's report: each failing request as a curl command.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from pytest_aiohttp import AiohttpServer

from config import Settings
from status_page import create_app
from status_page.api.v1 import API
from tests.conftest import KeyFactory

ROOT = Path(__file__).resolve().parents[3]
SEED = 20261130
# Per operation in the random phase; the boundary-value phase is as long as the schema.
EXAMPLES = 10


async def test_the_api_answers_every_generated_request_as_its_document_says(
    aiohttp_server: AiohttpServer, settings: Settings, make_key: KeyFactory, tmp_path: Path
) -> None:
    server = await aiohttp_server(create_app(settings))
    headers = await make_key("admin", name="fuzz")
    base = str(server.make_url("")).rstrip("/")
    report = tmp_path / "report.json"
    command = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{base}/api/v1/openapi.json",
        "--url",
        base,
        "--header",
        f"Authorization: {headers['Authorization']}",
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
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHEMATHESIS_HOOKS": "tests.status_page.api.fuzz_hooks",
    }
    # The server answers on this event loop while schemathesis runs beside it.
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
    print(_figures(summary))
    assert summary["operations"]["tested"] == len(API.operations), text
    assert (summary["failures"], summary["errors"]) == ([], []), text
    phases = {name: phase["status"] for name, phase in summary["phases"].items()}
    assert phases == {
        "examples": "success",  # every request body example (status_page/api/examples.py)
        "coverage": "success",
        "fuzzing": "success",
        "stateful": "success",
    }, text


def _figures(summary: dict[str, Any]) -> str:
    cases = summary["test_cases"]
    return (
        f"schemathesis {summary['schemathesis_version']}, seed {summary['seed']}: "
        f"{summary['operations']['tested']} operations, {cases['generated']} requests, "
        f"{cases['unique_failures']} failures, {summary['running_time']:.0f} s"
    )
