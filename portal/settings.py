"""Configuration, read once from ``PORTAL_*`` environment variables.

Production refuses to start without a real secret; development makes its own local
secret (in a file beside the database) and says so, so that ``portal demo`` followed by
``portal serve`` works with no configuration at all.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "dev", "development", "xxx"}
)
MIN_SECRET_LENGTH = 32
# OWASP's minimum for argon2id; production refuses anything cheaper.
ARGON2_MIN_MEMORY_KIB = 19456
ARGON2_MIN_TIME_COST = 2


# Whole-number settings where 0 switches the feature off.
ZERO_MEANS_OFF = frozenset(
    {"purge_interval_seconds", "mail_interval_seconds", "attention_sweep_seconds"}
)


class SettingsError(Exception):
    """The environment does not describe a safe configuration."""


@dataclass(frozen=True)
class Settings:
    environment: str = "development"
    secret_key: str = ""
    # During a rotation: the old secret(s), comma-separated, still accepted (never used
    # to make anything new). See docs/operations.md, "Rotating the secret key".
    previous_secret_keys: str = ""
    database_url: str = "sqlite:///portal.sqlite3"
    # "transaction" when PgBouncer in transaction mode stands between the portal and
    # PostgreSQL (storage/database.py; docs/operations.md, "Managed PostgreSQL").
    database_pool_mode: str = "session"
    redis_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Password and code hashing (argon2id).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 1
    # One argon2 thread leaves the other core(s) to pages during a flood (bench/).
    hashing_threads: int = 1
    hashing_queue: int = 16
    # How many of those places one sender may hold at once (security/senders.py).
    hashing_per_sender: int = 2
    # Sessions, in seconds.
    staff_idle_timeout: int = 30 * 60
    staff_absolute_timeout: int = 12 * 60 * 60
    client_idle_timeout: int = 10 * 60
    client_absolute_timeout: int = 60 * 60
    enrolment_link_ttl: int = 7 * 24 * 60 * 60
    # Confirming with password and code before a key or password change (web/reauth.py).
    reauth_attempts_per_account_per_minute: int = 5
    one_time_code_ttl: int = 14 * 24 * 60 * 60
    timezone: str = "Europe/Helsinki"
    # Request limits.
    max_body_bytes: int = 256 * 1024
    # Seconds for a whole request body to arrive (security/bodylimit.py: slow bodies).
    body_timeout_seconds: int = 30
    max_fields: int = 100
    max_field_bytes: int = 64 * 1024
    # Login throttling (web/sign_in_gate.py): failures against one account from one
    # sender, and from all senders together (more than one sender can reach alone).
    login_failures_per_account_and_sender_per_minute: int = 5
    login_failures_per_account_per_minute: int = 20
    login_attempts_per_source_per_minute: int = 30
    # Code guessing: per sender, and for the whole portal together. The global cap is
    # what the guessing arithmetic in docs/security.md rests on: raise it only together
    # with the code lengths in domain/codes.py.
    code_attempts_per_source_per_minute: int = 10
    code_attempts_per_minute: int = 60
    # Enrolment links (GET and POST), per sender.
    enrol_attempts_per_source_per_minute: int = 20
    # Visitors' sessions made by choosing a language (web/public.py), per sender.
    new_sessions_per_source_per_minute: int = 20
    default_locale: str = "en"
    # Retention (domain/retention.py): days after the last activity until the purge, and
    # how often each process asks whether today's purge is due (0: never, e.g. in tests).
    retention_days: int = 180
    purge_interval_seconds: int = 60 * 60
    # How often the "needs attention" sweep runs (domain/attention.py: meetings within
    # 24 h still unconfirmed, reflection periods ending within 7 days); one process runs
    # it each time. 0: never.
    attention_sweep_seconds: int = 5 * 60
    # portal backup: the public keys backups are encrypted to, comma separated (the
    # private keys stay offline; portal/backup.py, docs/operations.md "Backups").
    backup_recipients: str = ""
    # portal restore of a version 1 backup: the file holding its 32-byte symmetric key.
    backup_key_file: str = ""
    # Optional content-free e-mail alerts to staff (domain/mail.py, portal/smtp.py): both
    # set, or neither. smtp://user:pass@host:587 (STARTTLS required), smtps://host:465
    # (TLS from the start), smtp://127.0.0.1:25 (a relay on this machine: plain).
    # Not in repr: the URL may carry the relay's password.
    smtp_url: str = dataclasses.field(default="", repr=False)
    mail_from: str = ""
    # How often each process looks for new items and mail to send (0: never, e.g. tests).
    mail_interval_seconds: int = 30
    # What the portal logs (portal/logs.py): debug, info, warning or error; "text" lines
    # or "json" (one object a line, for a log collector). Nothing personal either way.
    log_level: str = "info"
    log_format: str = "text"

    @property
    def previous_secrets(self) -> tuple[str, ...]:
        return tuple(s.strip() for s in self.previous_secret_keys.split(",") if s.strip())

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_url and self.mail_from)

    @property
    def uses_tls(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        _refuse_unknown_names(env)
        values: dict[str, object] = {}
        for field in dataclasses.fields(cls):
            name = "PORTAL_" + field.name.upper()
            raw = env.get(name)
            if raw is None:
                continue
            if field.type != "int":
                values[field.name] = raw
            elif raw.strip().isdigit() and (int(raw) > 0 or field.name in ZERO_MEANS_OFF):
                values[field.name] = int(raw)
            else:
                raise SettingsError(f"{name} must be a whole number above zero")
        settings = cls(**values)  # type: ignore[arg-type]
        if settings.is_production and not env.get("PORTAL_DATABASE_URL", "").strip():
            # A typo in the name would otherwise create an empty SQLite file in the
            # working directory and start a portal with none of the real data.
            raise SettingsError("PORTAL_DATABASE_URL must be set in production")
        return settings.checked()

    def checked(self) -> Settings:
        if self.environment not in {"development", "production"}:
            raise SettingsError("PORTAL_ENVIRONMENT must be 'development' or 'production'")
        _check_infrastructure(self)
        _check_mail(self)
        if (
            self.login_failures_per_account_per_minute
            <= self.login_failures_per_account_and_sender_per_minute
        ):  # else one sender alone could lock an account for everybody (web/sign_in_gate.py)
            raise SettingsError(
                "PORTAL_LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE must be more than"
                " PORTAL_LOGIN_FAILURES_PER_ACCOUNT_AND_SENDER_PER_MINUTE"
            )
        if self.database_pool_mode not in {"session", "transaction"}:
            raise SettingsError("PORTAL_DATABASE_POOL_MODE must be 'session' or 'transaction'")
        if not self.is_production:
            if not self.secret_key:
                return dataclasses.replace(self, secret_key=_development_secret(self))
            return self
        secret = self.secret_key.strip().lower()
        if secret in PLACEHOLDER_SECRETS or "change" in secret or len(set(secret)) < 12:
            raise SettingsError("PORTAL_SECRET_KEY is missing or a placeholder")
        if len(self.secret_key) < MIN_SECRET_LENGTH:
            raise SettingsError(
                f"PORTAL_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters"
            )
        if (
            self.argon2_memory_kib < ARGON2_MIN_MEMORY_KIB
            or self.argon2_time_cost < ARGON2_MIN_TIME_COST
        ):
            raise SettingsError("argon2 parameters are below the OWASP minimum")
        if not self.uses_tls:
            raise SettingsError("PORTAL_PUBLIC_URL must be https:// in production")
        return self


# PORTAL_* names that are not settings of the portal process but may share its
# environment: the development secret's file, Caddy's host name (deploy/compose.yaml),
# and the test suite's own (PORTAL_TEST_*, PORTAL_SCREENSHOTS).
OTHER_NAMES = frozenset({"PORTAL_DEV_SECRET_FILE", "PORTAL_HOST", "PORTAL_SCREENSHOTS"})
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("text", "json")
DATABASE_URL = re.compile(r"sqlite:///|postgres(ql)?(\+\w+)?://")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def setting_names() -> frozenset[str]:
    """Every PORTAL_* name the portal reads as a setting."""
    return frozenset("PORTAL_" + field.name.upper() for field in dataclasses.fields(Settings))


def _refuse_unknown_names(env: Mapping[str, str]) -> None:
    """A misspelt name (PORTAL_DATABSE_URL) is refused instead of silently ignored: the
    portal would otherwise start with a default the operator meant to replace."""
    known = setting_names()
    unknown = sorted(
        name
        for name in env
        if name.startswith("PORTAL_")
        and name not in known
        and name not in OTHER_NAMES
        and not name.startswith("PORTAL_TEST_")
    )
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.85)
        hints.append(f"{name} (did you mean {close[0]}?)" if close else name)
    raise SettingsError(
        "unknown setting(s): " + ", ".join(hints) + "; every setting is listed in "
        "deploy/portal.env.example"
    )


def _check_infrastructure(settings: Settings) -> None:
    """Addresses and names the portal cannot start with, each named in one line (the
    messages never repeat a URL: it may hold a password)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not DATABASE_URL.match(settings.database_url):
        raise SettingsError("PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://")
    if settings.redis_url and not settings.redis_url.startswith(REDIS_SCHEMES):
        raise SettingsError("PORTAL_REDIS_URL must start with redis://, rediss:// or unix://")
    if not settings.public_url.startswith(("https://", "http://")):
        raise SettingsError("PORTAL_PUBLIC_URL must start with https://")
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"PORTAL_TIMEZONE: unknown time zone {settings.timezone[:64]!r} "
            "(a name like Europe/Helsinki)"
        ) from None
    if settings.log_level not in LOG_LEVELS:
        raise SettingsError("PORTAL_LOG_LEVEL must be one of " + ", ".join(LOG_LEVELS))
    if settings.log_format not in LOG_FORMATS:
        raise SettingsError("PORTAL_LOG_FORMAT must be 'text' or 'json'")


def _check_mail(settings: Settings) -> None:
    """Mail is off, or fully and safely described; the message never repeats the URL (it
    may hold the relay's password)."""
    from portal import smtp

    if not settings.smtp_url and not settings.mail_from:
        return
    if not settings.smtp_url or not settings.mail_from:
        raise SettingsError("set both PORTAL_SMTP_URL and PORTAL_MAIL_FROM, or neither")
    try:
        smtp.parse_url(settings.smtp_url)
    except smtp.BadSmtpUrl as exc:
        raise SettingsError(f"PORTAL_SMTP_URL: {exc}") from None
    if not smtp.plausible_address(settings.mail_from):
        raise SettingsError("PORTAL_MAIL_FROM must be one e-mail address, like portal@example.org")


def _development_secret(settings: Settings) -> str:
    """A per-checkout secret for development, kept in a file so sessions survive restarts."""
    path = Path(os.environ.get("PORTAL_DEV_SECRET_FILE", ".portal-dev-secret"))
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    sys.stderr.write(
        f"development mode: made a local secret in {path} (set PORTAL_SECRET_KEY in production)\n"
    )
    return secret
