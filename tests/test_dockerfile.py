"""The Dockerfile cannot be built here; check what would make the image wrong or unsafe."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from forewarn.cli import main

ROOT = Path(__file__).parent.parent

Instruction = tuple[str, str]


def instructions() -> list[Instruction]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines = [
        line
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    text = "\n".join(lines).replace("\\\n", " ")
    parsed = []
    for line in text.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            parsed.append((keyword.upper(), " ".join(arguments.split())))
    return parsed


def stages() -> list[list[Instruction]]:
    found: list[list[Instruction]] = []
    for instruction in instructions():
        if instruction[0] == "FROM":
            found.append([])
        found[-1].append(instruction)
    return found


def final(keyword: str) -> list[str]:
    return [arguments for name, arguments in stages()[-1] if name == keyword]


def test_the_image_is_built_in_one_stage_and_runs_from_a_slim_one() -> None:
    assert len(stages()) >= 2
    assert final("FROM") == ["python:3.11-slim"]


def test_the_builder_copies_every_package_and_the_readme() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    copied = {
        source  # every COPY argument but the last, the destination
        for name, arguments in stages()[0]
        if name == "COPY"
        for source in arguments.split()[:-1]
    }

    for package in packages:
        assert package in copied, f"the image would miss the {package} package"
    assert project["project"]["readme"] in copied  # setuptools reads it to build the wheel


def test_the_final_stage_copies_only_the_built_environment() -> None:
    assert final("COPY")
    for arguments in final("COPY"):
        assert arguments.startswith("--from="), arguments
    for _name, arguments in stages()[0]:
        assert "tests" not in arguments.split()


def test_it_runs_as_an_unprivileged_user() -> None:
    users = final("USER")
    assert users
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_the_health_check_asks_the_exposed_port_without_curl() -> None:
    (check,) = final("HEALTHCHECK")
    assert final("EXPOSE") == ["8080"]
    assert "http://127.0.0.1:8080/healthz" in check
    assert "urllib.request" in check
    assert "curl" not in check


def test_the_default_command_is_a_valid_forewarn_command_on_every_interface(
    capsys: pytest.CaptureFixture[str],
) -> None:
    (entrypoint,) = final("ENTRYPOINT")
    (command,) = final("CMD")
    assert json.loads(entrypoint) == ["forewarn"]
    args = json.loads(command)
    assert args[args.index("--host") + 1] == "0.0.0.0"  # noqa: S104  (a container must)

    with pytest.raises(SystemExit) as exit:
        main([*args, "--help"])

    assert exit.value.code == 0
    assert "--port" in capsys.readouterr().out


def test_secrets_and_local_state_stay_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())

    assert {".env", ".venv", ".git", "tests", "*.db", "forewarn-data"} <= ignored
