from __future__ import annotations

import os
from pathlib import Path

import pytest

from config import Settings, SettingsError, load_settings

PRODUCTION = {
    "FOREWARN_TWILIO__ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "FOREWARN_TWILIO__AUTH_TOKEN": "twilio-token-do-not-print",
    "FOREWARN_TWILIO__FROM_NUMBER": "+15005550006",
    "FOREWARN_SENDGRID__API_KEY": "SG.sendgrid-key-do-not-print",
    "FOREWARN_SENDGRID__FROM_EMAIL": "status@example.com",
    "FOREWARN_REDIS_URL": "redis://redis.internal:6379/0",
    "FOREWARN_SECRET_KEY": "signing-key-do-not-print",
    "FOREWARN_PUBLIC_URL": "https://status.example.com",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No FOREWARN_ variable from the developer's shell, no .env from the checkout."""
    for name in list(os.environ):
        if name.startswith("FOREWARN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_it_defaults_to_a_sqlite_file_and_the_embedded_redis() -> None:
    settings = load_settings()

    assert settings.database_url == "sqlite+aiosqlite:///forewarn.db"
    assert settings.redis_url == ""
    assert settings.mode == "development"
    assert not settings.twilio.configured
    assert not settings.sendgrid.configured


def test_it_reads_prefixed_and_nested_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOREWARN_PAGE_NAME", "Acme status")
    monkeypatch.setenv("FOREWARN_PUBLIC_URL", "https://status.acme.test")
    monkeypatch.setenv("FOREWARN_TWILIO__ACCOUNT_SID", "AC123")
    monkeypatch.setenv("FOREWARN_TWILIO__AUTH_TOKEN", "secret-token")
    monkeypatch.setenv("PAGE_NAME", "unprefixed, ignored")

    settings = load_settings()

    assert settings.page_name == "Acme status"
    assert str(settings.public_url) == "https://status.acme.test/"
    assert settings.twilio.account_sid == "AC123"
    assert settings.twilio.auth_token.get_secret_value() == "secret-token"
    assert settings.twilio.configured


def test_it_reads_a_dot_env_file_in_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "FOREWARN_PAGE_TIME_ZONE=Europe/Berlin\nFOREWARN_SENDGRID__FROM_EMAIL=ops@acme.test\n"
    )

    settings = load_settings()

    assert settings.page_time_zone == "Europe/Berlin"
    assert settings.sendgrid.from_email == "ops@acme.test"


def test_the_environment_wins_over_the_dot_env_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text("FOREWARN_PAGE_NAME=from the file\n")
    monkeypatch.setenv("FOREWARN_PAGE_NAME", "from the environment")

    assert load_settings().page_name == "from the environment"


def test_secrets_are_not_shown_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    for shown in (repr(settings), str(settings), repr(settings.twilio), repr(settings.sendgrid)):
        assert "twilio-token-do-not-print" not in shown
        assert "sendgrid-key-do-not-print" not in shown
        assert "signing-key-do-not-print" not in shown
    assert settings.twilio.auth_token.get_secret_value() == "twilio-token-do-not-print"
    assert settings.sendgrid.api_key.get_secret_value() == "SG.sendgrid-key-do-not-print"


@pytest.mark.parametrize(
    "given",
    [
        "postgres://forewarn:pw@db.internal:5432/forewarn",
        "postgresql://forewarn:pw@db.internal:5432/forewarn",
        "postgresql+asyncpg://forewarn:pw@db.internal:5432/forewarn",
    ],
)
def test_it_normalises_postgres_urls_to_the_async_driver(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("FOREWARN_DATABASE_URL", given)

    settings = load_settings()

    assert settings.database_url == "postgresql+asyncpg://forewarn:pw@db.internal:5432/forewarn"


def test_production_without_provider_credentials_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FOREWARN_MODE", "production")

    with pytest.raises(SettingsError) as error:
        load_settings()

    message = str(error.value)
    assert "\n" not in message
    for name in PRODUCTION:
        assert name in message


def test_production_with_provider_credentials_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOREWARN_MODE", "production")
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert settings.production
    assert settings.redis_url == "redis://redis.internal:6379/0"


def test_production_names_only_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOREWARN_MODE", "production")
    for name, value in PRODUCTION.items():
        if name != "FOREWARN_REDIS_URL":
            monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as error:
        load_settings()

    assert "FOREWARN_REDIS_URL" in str(error.value)
    assert "TWILIO" not in str(error.value)
    assert "SENDGRID" not in str(error.value)
    assert "SECRET_KEY" not in str(error.value)
    assert "PUBLIC_URL" not in str(error.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("FOREWARN_PAGE_TIME_ZONE", "Mars/Olympus_Mons"),
        ("FOREWARN_REDIS_URL", "http://127.0.0.1:6379"),
        ("FOREWARN_DATABASE_URL", "mysql://x"),
        ("FOREWARN_PUBLIC_URL", "notaurl"),
        ("FOREWARN_MODE", "staging"),
        ("FOREWARN_IDEMPOTENCY_TTL_HOURS", "0"),
        ("FOREWARN_TWILIO__BASE_URL", "not a url"),
        ("FOREWARN_BRAND_COLOR", "red"),
        ("FOREWARN_BRAND_COLOR", "#fff"),
        ("FOREWARN_BRAND_COLOR", "#12345g"),
        ("FOREWARN_BRAND_COLOR", "#123456;x:y"),
        ("FOREWARN_BRAND_LOGO_URL", "logo.png"),
        ("FOREWARN_FAVICON_URL", "javascript:alert(1)"),
        ("FOREWARN_FAVICON_URL", "/favicon.ico"),
        ("FOREWARN_COMPANY_URL", "acme.test"),
        ("FOREWARN_COMPANY_URL", "ftp://acme.test/"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as error:
        load_settings()

    message = str(error.value)
    assert "\n" not in message
    assert f"{name}:" in message
    assert error.value.__cause__ is None


def test_the_brand_is_optional_and_its_colour_is_kept_as_lowercase_hex(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unset = load_settings()
    monkeypatch.setenv("FOREWARN_BRAND_COLOR", "#7B1FA2")
    monkeypatch.setenv("FOREWARN_BRAND_LOGO_URL", "https://cdn.acme.test/logo.png")
    monkeypatch.setenv("FOREWARN_FAVICON_URL", "https://cdn.acme.test/favicon.ico")
    monkeypatch.setenv("FOREWARN_COMPANY_URL", "https://www.acme.test/")

    settings = load_settings()

    assert (unset.brand_color, unset.brand_logo_url) == (None, None)
    assert (unset.favicon_url, unset.company_url) == (None, None)
    assert str(settings.favicon_url) == "https://cdn.acme.test/favicon.ico"
    assert str(settings.company_url) == "https://www.acme.test/"
    assert settings.brand_color == "#7b1fa2"
    assert str(settings.brand_logo_url) == "https://cdn.acme.test/logo.png"


def test_a_nested_section_that_is_not_json_names_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FOREWARN_TWILIO", "AC123")

    with pytest.raises(SettingsError) as error:
        load_settings()

    message = str(error.value)
    assert "\n" not in message
    assert "FOREWARN_TWILIO" in message
    assert "FOREWARN_TWILIO__" in message  # points at the nested spelling


def test_settings_built_in_code_do_not_read_a_dot_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FOREWARN_PAGE_NAME=from the file\n")

    assert Settings(_env_file=None).page_name == "Forewarn demo"


def test_the_on_call_list_is_read_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOREWARN_ON_CALL__EMAILS", "a@example.com, b@example.com")
    monkeypatch.setenv("FOREWARN_ON_CALL__NUMBERS", '["+819012345678"]')
    monkeypatch.setenv("FOREWARN_PROMISES__CRITICAL_MINUTES", "15")

    settings = load_settings()

    assert settings.on_call.emails == ["a@example.com", "b@example.com"]
    assert settings.on_call.numbers == ["+819012345678"]
    assert settings.on_call.configured
    assert (settings.promises.cadence("critical"), settings.promises.cadence("minor")) == (15, 0)


def test_a_bad_on_call_number_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FOREWARN_ON_CALL__NUMBERS", "090-1234-5678")

    with pytest.raises(SettingsError) as error:
        load_settings()

    assert "FOREWARN_ON_CALL__NUMBERS:" in str(error.value)
    assert "090-1234-5678" not in str(error.value)


def test_an_on_call_webhook_needs_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FOREWARN_ON_CALL__WEBHOOK_URL", "https://ops.example.com/hook")

    with pytest.raises(SettingsError, match="FOREWARN_ON_CALL__WEBHOOK_SECRET"):
        load_settings()


def test_the_static_page_is_off_unless_a_target_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().snapshot.publishing is False
    monkeypatch.setenv("FOREWARN_SNAPSHOT__TARGET", "s3")
    monkeypatch.setenv("FOREWARN_SNAPSHOT__S3_BUCKET", "status")
    monkeypatch.setenv("FOREWARN_SNAPSHOT__S3_ENDPOINT_URL", "http://127.0.0.1:9000")

    settings = load_settings()

    assert settings.snapshot.publishing is True
    assert str(settings.snapshot.s3_endpoint_url) == "http://127.0.0.1:9000/"


@pytest.mark.parametrize(
    ("target", "named"),
    [("folder", "FOREWARN_SNAPSHOT__DIR"), ("s3", "FOREWARN_SNAPSHOT__S3_BUCKET")],
)
def test_a_snapshot_target_without_its_place_names_the_missing_setting(
    monkeypatch: pytest.MonkeyPatch, target: str, named: str
) -> None:
    monkeypatch.setenv("FOREWARN_SNAPSHOT__TARGET", target)

    with pytest.raises(SettingsError) as error:
        load_settings()

    assert named in str(error.value)


def test_inbox_jwt_keys_are_read_as_kid_and_key_and_never_shown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "FOREWARN_INBOX__JWT_KEYS",
        "2026-11:first-shared-secret-do-not-print-0123,2026-12:second-shared-secret-do-not-print-4567",
    )
    monkeypatch.setenv("FOREWARN_INBOX__SECRET", "inbox-secret-do-not-print-0123456789")
    settings = load_settings()
    assert [k.get_secret_value().partition(":")[0] for k in settings.inbox.jwt_keys] == [
        "2026-11",
        "2026-12",
    ]
    assert "do-not-print" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("FOREWARN_INBOX__JWT_KEYS", "no-kid-here-but-a-long-secret-0123456789", "kid:key"),
        ("FOREWARN_INBOX__JWT_KEYS", "k1:short-secret-do-not-print", "32 characters"),
        (
            "FOREWARN_INBOX__JWT_KEYS",
            "k1:a-long-enough-secret-do-not-print-0123,k1:another-long-secret-do-not-print-01",
            "twice",
        ),
        (
            "FOREWARN_INBOX__JWT_KEYS",
            "k1:-----BEGIN PRIVATE KEY-----\nMIIE-do-not-print\n-----END PRIVATE KEY-----",
            "public key",
        ),
        ("FOREWARN_INBOX__SECRET", "short-do-not-print", "32 characters"),
        ("FOREWARN_INBOX__TOKEN_MAX_SECONDS", "0", "greater than 0"),
    ],
)
def test_a_bad_inbox_key_names_the_variable_not_the_key(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(SettingsError) as error:
        load_settings()

    message = str(error.value)
    assert f"{name}:" in message
    assert said in message
    assert "do-not-print" not in message
