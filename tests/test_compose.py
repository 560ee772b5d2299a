"""``compose.yaml`` cannot run here (no Docker engine): it is validated against the
Compose Specification's JSON schema (``tests/contract/specs/compose-spec.json``, see
the README there), interpolated from ``.env.example`` as Compose would from ``.env``,
and held to Forewarn's own rules: a health check on every service, no secret in the
file, only settings that exist, one image for every Forewarn service."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, SecretStr

from config import Settings
from forewarn.cli import _parser

ROOT = Path(__file__).parent.parent
SCHEMA = ROOT / "tests" / "contract" / "specs" / "compose-spec.json"
FOREWARN_SERVICES = ("migrate", "web", "worker")

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; $$ is a $.
_VARIABLE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}|\$\$")


def raw() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def env_example() -> dict[str, str]:
    """``.env.example``'s NAME=value lines."""
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """``value`` with Compose's variable interpolation done from ``env``; a required
    variable that is unset or empty raises KeyError naming it."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name", "op", "arg")
        current = env.get(name)
        unset = current is None or (current == "" and op is not None and op.startswith(":"))
        if op in ("-", ":-"):
            return arg if unset else str(current)
        if op in ("?", ":?") and unset:
            raise KeyError(f"{name}: {arg}")
        return current or ""

    return _VARIABLE.sub(one, value)


def variables() -> list[tuple[str, str | None]]:
    """Each ``${NAME...}`` in compose.yaml: its name and its operator (None: plain)."""
    text = (ROOT / "compose.yaml").read_text()
    found = _VARIABLE.finditer(text)
    return [(m.group("name"), m.group("op")) for m in found if m.group(0) != "$$"]


def filled_env() -> dict[str, str]:
    """``.env.example`` as a user fills it in: every empty value given one."""
    return {name: value or f"filled-{name.lower()}" for name, value in env_example().items()}


def compose() -> dict[str, Any]:
    """compose.yaml as Compose reads it: anchors merged, interpolated from a filled .env."""
    loaded: dict[str, Any] = interpolate(raw(), filled_env())
    return loaded


def setting_names(model: type[BaseModel] = Settings, prefix: str = "FOREWARN_") -> dict[str, bool]:
    """Every FOREWARN_ variable ``Settings`` reads, mapped to whether it is a secret."""
    names: dict[str, bool] = {}
    for field, info in model.model_fields.items():
        name = prefix + field.upper()
        kind = info.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            names |= setting_names(kind, name + "__")
        names[name] = kind is SecretStr
    return names


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {str(k): str(v) for k, v in env.items()}


# --- the Compose Specification -----------------------------------------------------------


def test_it_is_valid_under_the_compose_specification_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft201909Validator(schema)

    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]

    assert errors == []


def test_the_schema_would_catch_a_mistake() -> None:
    # The check above checks something: a misspelt key fails it.
    broken = compose()
    broken["services"]["web"]["healthcheck"]["intervall"] = "10s"
    validator = jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))

    assert not validator.is_valid(broken)


def test_every_variable_it_needs_is_in_env_example() -> None:
    example = env_example()
    needed = {name for name, op in variables() if op is None or "?" in op}

    assert needed - example.keys() == set()
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(raw(), {**filled_env(), "POSTGRES_PASSWORD": ""})


# --- Forewarn's rules ---------------------------------------------------------------------


def test_it_has_the_services_of_a_production_setup() -> None:
    services = compose()["services"]

    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "nginx"}
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["worker"]["deploy"]["replicas"] == 2


def test_every_service_has_a_health_check() -> None:
    services = compose()["services"]

    unchecked = [name for name, s in services.items() if not s.get("healthcheck", {}).get("test")]

    # migrate runs once and serves nothing: the image's /healthz check is switched off.
    assert unchecked == ["migrate"]
    assert services["migrate"]["healthcheck"] == {"disable": True}
    assert "/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "forewarn", "worker", "--check"]
    assert "http://127.0.0.1/" in services["nginx"]["healthcheck"]["test"]


def test_the_commands_are_forewarn_s() -> None:
    services = compose()["services"]
    commands = [services[name]["command"] for name in FOREWARN_SERVICES]
    commands.append(services["worker"]["healthcheck"]["test"][2:])

    for command in commands:
        _parser().parse_args(command)  # exits (SystemExit) on a command it does not know


def test_web_and_worker_start_after_a_successful_migration() -> None:
    services = compose()["services"]

    for name in ("web", "worker"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == depends["redis"] == {"condition": "service_healthy"}
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_forewarn_services_share_one_image_and_one_build() -> None:
    services = compose()["services"]

    images = {(json.dumps(services[n]["build"]), services[n]["image"]) for n in FOREWARN_SERVICES}

    assert images == {('"."', "forewarn:local")}
    assert all(services[n]["env_file"] == ".env" for n in FOREWARN_SERVICES)


def test_restart_policies() -> None:
    services = compose()["services"]

    assert {n: s["restart"] for n, s in services.items()} == {
        "postgres": "unless-stopped",
        "redis": "unless-stopped",
        "migrate": "no",
        "web": "unless-stopped",
        "worker": "unless-stopped",
        "nginx": "unless-stopped",
    }


def test_postgres_and_redis_keep_their_data_in_named_volumes() -> None:
    loaded = compose()

    assert "postgres-data:/var/lib/postgresql/data" in loaded["services"]["postgres"]["volumes"]
    assert "redis-data:/data" in loaded["services"]["redis"]["volumes"]
    assert set(loaded["volumes"]) == {"postgres-data", "redis-data", "metrics", "page"}


def test_web_and_worker_share_one_in_memory_metrics_directory() -> None:
    loaded = compose()
    services = loaded["services"]

    for name in ("web", "worker"):
        assert "metrics:/metrics" in services[name]["volumes"], name
        assert services[name]["environment"]["FOREWARN_METRICS__DIR"] == "/metrics", name
    options = loaded["volumes"]["metrics"]["driver_opts"]
    assert options["type"] == "tmpfs"
    assert "uid=10001" in options["o"]  # the image's user (Dockerfile: USER 10001)


def test_only_the_web_processes_and_nginx_are_published() -> None:
    services = compose()["services"]

    assert [name for name, s in services.items() if s.get("ports")] == ["web", "nginx"]
    assert services["nginx"]["ports"] == ["80:80"]  # HTTP_PORT, as .env.example has it


def test_every_forewarn_variable_is_a_setting() -> None:
    known = setting_names()
    text = (ROOT / "compose.yaml").read_text() + (ROOT / ".env.example").read_text()

    used = set(re.findall(r"\bFOREWARN_\w+", text))

    assert used - known.keys() == set()
    # What production needs without a default is there to be filled in.
    assert {"FOREWARN_SECRET_KEY", "FOREWARN_PUBLIC_URL"} <= env_example().keys()


def test_no_secret_is_written_in_the_file() -> None:
    secrets = {name for name, secret in setting_names().items() if secret}
    example = env_example()

    for name in FOREWARN_SERVICES:
        env = environment(raw()["services"][name])
        # Secrets come from .env (env_file), never from the file itself...
        assert secrets & env.keys() == set()
        # ...and a URL's password is a variable.
        for value in env.values():
            credentials = re.search(r"://[^/@:]+:([^@]+)@", value)
            assert credentials is None or re.fullmatch(r"\$\{\w+[^}]*\}", credentials[1])
    postgres = environment(raw()["services"]["postgres"])
    assert postgres["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    # The example holds no secret either: each is left for the user to fill in.
    assert {name: example[name] for name in secrets & example.keys()} == {
        name: "" for name in secrets & example.keys()
    }
    assert example["POSTGRES_PASSWORD"] == ""


def test_the_env_file_is_ignored_by_git() -> None:
    ignored = (ROOT / ".gitignore").read_text().splitlines()

    assert ".env" in ignored
    assert ".env.example" not in ignored


def test_the_stop_grace_outlasts_the_drains() -> None:
    """Docker kills a container after its stop grace: it must outlast the web drain (plus
    the 5 s ``--processes`` allows) and a worker's grace plus a provider call in flight."""
    from config import Settings

    services = compose()["services"]
    defaults = Settings()

    def seconds(value: str) -> float:
        return float(value.removesuffix("s"))

    web = seconds(services["web"]["stop_grace_period"])
    worker = seconds(services["worker"]["stop_grace_period"])
    assert web > defaults.web_shutdown_seconds + 5
    assert worker > defaults.worker_shutdown_seconds + defaults.delivery.provider_timeout_seconds


# --- nginx: the published page, and the door to the web processes -------------------------

NGINX_CONF = ROOT / "deploy" / "nginx" / "forewarn.conf"


def test_nginx_runs_the_shipped_configuration() -> None:
    nginx = compose()["services"]["nginx"]
    conf = NGINX_CONF.read_text()

    # The file tests/deploy/test_nginx.py runs, as the image's only site.
    assert "./deploy/nginx/forewarn.conf:/etc/nginx/conf.d/default.conf:ro" in nginx["volumes"]
    # `server ... resolve` needs nginx 1.27.3 or later.
    name, _, tag = nginx["image"].partition(":")
    assert name == "nginx"
    assert tuple(int(part) for part in tag.split(".")[:2]) >= (1, 28)
    # The upstream is every web replica, on the port their command listens on.
    web = compose()["services"]["web"]["command"]
    port = web[web.index("--port") + 1]
    assert f"    server web:{port} resolve;\n" in conf
    assert "    listen 80;\n" in conf
    assert nginx["ports"][0].endswith(":80")


def test_the_worker_publishes_where_nginx_reads() -> None:
    services = compose()["services"]
    conf = NGINX_CONF.read_text()

    assert "page:/srv/forewarn" in services["worker"]["volumes"]
    # The worker publishes there; the web processes ask it to after each change, which
    # they do only with a target set (the folder setting needs its DIR to start).
    for name in ("worker", "web"):
        env = services[name]["environment"]
        assert env["FOREWARN_SNAPSHOT__TARGET"] == "folder", name
        assert env["FOREWARN_SNAPSHOT__DIR"] == "/srv/forewarn", name
    assert "page:/srv/forewarn:ro" in services["nginx"]["volumes"]
    assert "    root /srv/forewarn/current;\n" in conf
    # The worker keeps its metrics mount beside it (the merge replaced the list).
    assert "metrics:/metrics" in services["worker"]["volumes"]
    # A new volume takes the image folder's owner: the worker's user must own it.
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "install -d --owner=10001 --group=10001 /srv/forewarn" in dockerfile


def test_nginx_waits_for_nothing() -> None:
    """Forewarn down, page up: nginx starts and serves whatever else is down."""
    nginx = compose()["services"]["nginx"]

    assert "depends_on" not in nginx
