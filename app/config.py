"""Every setting of the service, declared once and read once from the environment."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet

from app import hours


class ConfigError(Exception):
    """A setting is malformed, or production is missing something it needs."""


def setting(env: str, default: Any, help: str, *, required_in_production: bool = False) -> Any:
    """Declare a setting: its environment variable, default and help text (the README table).

    `required_in_production`: production refuses to start unless it is set explicitly.
    """
    return field(
        default=default,
        metadata={"env": env, "help": help, "required_in_production": required_in_production},
    )


@dataclass(frozen=True)
class Settings:
    """The typed, frozen settings object passed to `create_app` and everything below it."""

    env: str = setting("APP_ENV", "development", "`development` or `production`.")
    redis_url: str = setting(
        "REDIS_URL",
        "",
        "Ephemeral Redis (everything a visitor says; no persistence). "
        "Empty: start an embedded redis-server on a private unix socket.",
    )
    redis_durable_url: str = setting(
        "REDIS_DURABLE_URL",
        "",
        "Durable Redis (staff accounts, audit log, opening hours, canned responses, intakes, counters). "
        "Empty: the same server as REDIS_URL.",
    )
    redis_max_connections: int = setting(
        "REDIS_MAX_CONNECTIONS", 256, "Connections per process and pool; callers wait when all are busy."
    )
    key_prefix: str = setting("KEY_PREFIX", "nx:", "Prefix of every Redis key and channel.")
    secret_key: str = setting(
        "SECRET_KEY",
        "",
        "At least 32 characters; keys the hashes of session tokens. Required in production; "
        "development generates one and shares it through Redis.",
        required_in_production=True,
    )
    opening_hours: str = setting(
        "OPENING_HOURS",
        "always",
        "When the chat is open, e.g. `mon-fri 08:00-16:00; sat 10:00-14:00`, or `always`, until a "
        "supervisor first saves the hours on /staff/hours (from then on those apply). "
        "Required in production, so that a real service never opens round the clock by accident.",
        required_in_production=True,
    )
    timezone: str = setting("TIMEZONE", "Europe/Stockholm", "Time zone of the opening hours.")
    conversation_retention_seconds: int = setting(
        "CONVERSATION_RETENTION_SECONDS", 1800, "How long an ended conversation is kept before deletion."
    )
    conversation_idle_seconds: int = setting(
        "CONVERSATION_IDLE_SECONDS",
        1800,
        "An abandoned conversation (nobody connected) is deleted after this long.",
    )
    return_code_retention_seconds: int = setting(
        "RETURN_CODE_RETENTION_SECONDS",
        604_800,
        "How long a conversation with a return code (and every letter) is kept after its last "
        "message, instead of the two times above. Default 7 days: long enough to come back after "
        "a weekend, or a week later when it is safe again; short enough that little is kept. "
        "At least CONVERSATION_IDLE_SECONDS and CONVERSATION_RETENTION_SECONDS.",
    )
    return_guesses_per_minute_global: int = setting(
        "RETURN_GUESSES_PER_MINUTE_GLOBAL",
        300,
        "Return codes tried per minute by everyone together (each client may also try only 10 "
        "per 10 minutes): blunts guessing spread over many addresses.",
    )
    letter_reply_days: int = setting(
        "LETTER_REPLY_DAYS", 2, "Working days within which a left message is promised an answer."
    )
    letter_queue_threshold: int = setting(
        "LETTER_QUEUE_THRESHOLD",
        10,
        "While the chat is open, visitors may leave a message instead of chatting once this many "
        "wait in the queue (always when closed or when no counselor is on duty).",
    )
    letters_max: int = setting(
        "LETTERS_MAX", 500, "Most left messages kept at once; more are refused with the helpline numbers."
    )
    message_max_chars: int = setting("MESSAGE_MAX_CHARS", 4000, "Longest message anyone may send.")
    rate_limit_messages: int = setting(
        "RATE_LIMIT_MESSAGES", 30, "Messages one visitor session may send per rate window."
    )
    rate_limit_window_seconds: int = setting(
        "RATE_LIMIT_WINDOW_SECONDS", 60, "Length of the rate-limit window."
    )
    queue_max: int = setting("QUEUE_MAX", 100, "Most conversations waiting at once; more are refused.")
    send_timeout_seconds: int = setting(
        "SEND_TIMEOUT_SECONDS", 15,
        "Longest a message to one socket may wait for the client to read; then that socket is dropped "
        "(the client reconnects and catches up, losing nothing), so a stalled client holds no more "
        "than a bounded buffer.",
    )
    intake_keys: str = setting(
        "INTAKE_KEYS", "",
        "Comma-separated Fernet keys sealing intakes at rest; the first seals, all open (to rotate, put "
        "a new one first). Required in production; development derives one from SECRET_KEY.",
        required_in_production=True,
    )
    intake_delivery: str = setting(
        "INTAKE_DELIVERY", "inbox",
        "How consented intakes reach the case system: `inbox` (staff with the intake right view, print "
        "and mark them registered on /staff/intakes) or `http` (signed POST to INTAKE_ENDPOINT; see "
        "\"Intake delivery\" below).",
    )
    intake_endpoint: str = setting(
        "INTAKE_ENDPOINT", "",
        "The case system's https:// URL intakes are POSTed to (http delivery). Plain http only to "
        "127.0.0.1 or localhost, and never in production.",
    )
    intake_signing_key: str = setting(
        "INTAKE_SIGNING_KEY", "",
        "Shared secret (at least 32 characters) for the HMAC-SHA256 signature of each POST; required "
        "with http delivery.",
    )
    intake_max_attempts: int = setting(
        "INTAKE_MAX_ATTEMPTS", 10, "Failed deliveries of one intake before it goes to the dead letters."
    )
    intake_retry_base_seconds: int = setting(
        "INTAKE_RETRY_BASE_SECONDS", 30,
        "Wait before the first retry; it doubles with each failure (with random jitter).",
    )
    intake_retry_max_seconds: int = setting(
        "INTAKE_RETRY_MAX_SECONDS", 3600, "Longest wait between two delivery attempts."
    )
    intake_timeout_seconds: int = setting(
        "INTAKE_TIMEOUT_SECONDS", 10, "Longest one delivery attempt may take (connect, send, answer)."
    )
    callback_keys: str = setting(
        "CALLBACK_KEYS", "",
        "Comma-separated Fernet keys sealing callback bookings (the phone number and the answers) at "
        "rest; the first seals, all open. Required in production; development derives one from SECRET_KEY.",
        required_in_production=True,
    )
    callback_grace_seconds: int = setting(
        "CALLBACK_GRACE_SECONDS", 7200,
        "A callback booking, number and answers included, is deleted this long after its time slot ends, "
        "whatever happened; a second try must fit within it. Only counters of the outcomes remain.",
    )
    callback_caller_id: str = setting(
        "CALLBACK_CALLER_ID", "",
        "What the visitor's phone shows when a counselor calls back, as the booking page tells them: "
        "empty for a withheld number (shown as an unknown or private number), or the number shown.",
    )
    callback_booking_closes_minutes: int = setting(
        "CALLBACK_BOOKING_CLOSES_MINUTES", 15,
        "A time slot can be booked, moved to or cancelled until this many minutes before it starts.",
    )
    callback_bookings_per_client: int = setting(
        "CALLBACK_BOOKINGS_PER_CLIENT", 5,
        "Callback bookings one client may try per hour (each number may also be booked only twice a day).",
    )
    audit_retention_days: int = setting(
        "AUDIT_RETENTION_DAYS", 1095,
        "How long audit-log entries are kept. Default three years: several of the twice-yearly "
        "log reviews the municipality's guidance asks for, and time for a complaint to be looked into.",
    )
    staff_session_idle_seconds: int = setting(
        "STAFF_SESSION_IDLE_SECONDS", 900, "A staff session ends after this long without use."
    )
    staff_session_max_seconds: int = setting(
        "STAFF_SESSION_MAX_SECONDS", 43_200,
        "A staff session ends this long after login however busy (default 12 hours: one long shift).",
    )
    staff_totp_required: bool = setting(
        "STAFF_TOTP_REQUIRED", True,
        "Every staff login needs a one-time code from an authenticator app. `false` only for local "
        "development (production refuses to start with it).",
    )
    cookie_secure: bool = setting(
        "COOKIE_SECURE", False, "Mark cookies `Secure`. Always on in production."
    )
    allowed_origins: tuple[str, ...] = setting(
        "ALLOWED_ORIGINS",
        (),
        "Comma-separated extra origins allowed to open WebSockets (the service's own origin "
        "always is), e.g. the public https origin behind a proxy.",
    )
    neutral_site_url: str = setting(
        "NEUTRAL_SITE_URL",
        "https://www.smhi.se/",
        "Where the quick exit sends the visitor: a harmless site (default: the Swedish weather "
        "service), opened with no referrer.",
    )
    metrics_token: str = setting(
        "METRICS_TOKEN", "",
        "Bearer token (at least 32 characters) a Prometheus scraper sends for `GET /metrics`. "
        "Empty: no access by token. With neither this nor METRICS_ALLOW, /metrics does not exist.",
    )
    metrics_allow: tuple[str, ...] = setting(
        "METRICS_ALLOW", (),
        "Comma-separated IP addresses or networks (e.g. `10.0.0.5, 10.1.0.0/16`) that may read "
        "`/metrics` without the token; the address as uvicorn sees it (FORWARDED_ALLOW_IPS behind a proxy).",
    )
    shutdown_seconds: int = setting(
        "SHUTDOWN_SECONDS", 10,
        "On SIGTERM a process stops accepting connections, closes every chat socket with 1012 (the "
        "browser and the console reconnect to another process) once what it is storing is stored and "
        "announced, and lets requests in flight finish, all within this long (what is still open then "
        "is closed); its own shutdown may take up to 5 s more. Give it longer than both to stop "
        "(docs/operations.md).",
    )
    log_level: str = setting("LOG_LEVEL", "INFO", "Log level of the JSON event log.")

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def secure_cookies(self) -> bool:
        return self.cookie_secure or self.production

    @property
    def durable_url(self) -> str:
        return self.redis_durable_url or self.redis_url


def declared() -> list[dataclasses.Field[Any]]:
    """The declared settings, in order (for the README table and its test)."""
    return list(dataclasses.fields(Settings))


def _parse(raw: str, kind: Any, env: str) -> Any:
    # Annotations are strings here (`from __future__ import annotations`).
    text = raw.strip()
    if kind == "bool":
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{env} must be true or false, not {raw!r}")
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{env} must be a whole number, not {raw!r}") from None
    if kind == "tuple[str, ...]":
        return tuple(part.strip() for part in text.split(",") if part.strip())
    return text


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read every declared setting from the environment and check it."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for f in declared():
        env = f.metadata["env"]
        if env in environ:
            values[f.name] = _parse(environ[env], f.type, env)
    settings = Settings(**values)
    validate(settings)
    if settings.production:
        missing = [
            f.metadata["env"]
            for f in declared()
            if f.metadata["required_in_production"] and not environ.get(f.metadata["env"], "").strip()
        ]
        if missing:
            raise ConfigError("production needs these settings: " + ", ".join(missing))
    return settings


def validate(settings: Settings) -> None:
    """Refuse settings the service cannot run safely with."""
    if settings.env not in ("development", "production"):
        raise ConfigError(f"APP_ENV must be development or production, not {settings.env!r}")
    for name in (
        "conversation_retention_seconds",
        "conversation_idle_seconds",
        "message_max_chars",
        "rate_limit_messages",
        "rate_limit_window_seconds",
        "queue_max",
        "send_timeout_seconds",
        "staff_session_idle_seconds",
        "staff_session_max_seconds",
        "audit_retention_days",
        "redis_max_connections",
        "return_code_retention_seconds",
        "return_guesses_per_minute_global",
        "letter_reply_days",
        "letter_queue_threshold",
        "letters_max",
        "callback_grace_seconds",
        "callback_bookings_per_client",
        "intake_max_attempts",
        "intake_retry_base_seconds",
        "intake_retry_max_seconds",
        "intake_timeout_seconds",
        "shutdown_seconds",
    ):
        if getattr(settings, name) < 1:
            raise ConfigError(f"{name.upper()} must be at least 1")
    # A code must never make a conversation go sooner than it would without one.
    if settings.return_code_retention_seconds < max(settings.conversation_idle_seconds,
                                                    settings.conversation_retention_seconds):
        raise ConfigError("RETURN_CODE_RETENTION_SECONDS must be at least CONVERSATION_IDLE_SECONDS "
                          "and CONVERSATION_RETENTION_SECONDS")
    try:
        hours.parse(settings.opening_hours)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TIMEZONE {settings.timezone!r} is not a known time zone") from None
    if not settings.neutral_site_url.startswith("https://"):
        raise ConfigError("NEUTRAL_SITE_URL must be an https:// address")
    for env, configured in (("INTAKE_KEYS", settings.intake_keys), ("CALLBACK_KEYS", settings.callback_keys)):
        for key in filter(None, (k.strip() for k in configured.split(","))):
            try:
                Fernet(key.encode())
            except ValueError:
                raise ConfigError(f"{env} must be Fernet keys (32 url-safe base64 bytes each)") from None
    if settings.callback_booking_closes_minutes < 0:
        raise ConfigError("CALLBACK_BOOKING_CLOSES_MINUTES cannot be negative")
    if len(settings.callback_caller_id) > 40:
        raise ConfigError("CALLBACK_CALLER_ID is a phone number as shown, at most 40 characters")
    _validate_intake_delivery(settings)
    if settings.metrics_token and len(settings.metrics_token) < 32:
        raise ConfigError("METRICS_TOKEN must be at least 32 characters")
    for network in settings.metrics_allow:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"METRICS_ALLOW must be IP addresses or networks, not {network!r}") from None
    if settings.secret_key and len(settings.secret_key) < 32:
        raise ConfigError("SECRET_KEY must be at least 32 characters")
    if settings.production and not settings.staff_totp_required:
        raise ConfigError("STAFF_TOTP_REQUIRED cannot be false in production")
    if settings.production and settings.secret_key.lower().startswith(("change", "secret", "xxx")):
        raise ConfigError("SECRET_KEY is a placeholder; generate a random one")


def _validate_intake_delivery(settings: Settings) -> None:
    if settings.intake_delivery not in ("inbox", "http"):
        raise ConfigError(f"INTAKE_DELIVERY must be inbox or http, not {settings.intake_delivery!r}")
    if settings.intake_delivery != "http":
        return
    url = urlsplit(settings.intake_endpoint)
    local = url.hostname in ("127.0.0.1", "localhost") and not settings.production
    if not url.hostname or not (url.scheme == "https" or (url.scheme == "http" and local)):
        raise ConfigError("INTAKE_ENDPOINT must be an https:// address (http only to 127.0.0.1 or "
                          "localhost in development) when INTAKE_DELIVERY is http")
    if len(settings.intake_signing_key) < 32:
        raise ConfigError("INTAKE_SIGNING_KEY of at least 32 characters is needed when INTAKE_DELIVERY "
                          "is http")
