"""Settings: production refuses missing or placeholder secrets and weak hashing."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.settings import Settings, SettingsError

GOOD = {
    "PORTAL_ENVIRONMENT": "production",
    "PORTAL_SECRET_KEY": "Zx8-q2Lm9_vT4pR7sW1yB6nC3hJ5kD0fGa8eQ2",
    "PORTAL_PUBLIC_URL": "https://portal.example",
    "PORTAL_DATABASE_URL": "postgresql://portal:db-pass-canary@db.internal:5432/portal",
}


def test_production_accepts_a_real_configuration() -> None:
    settings = Settings.from_env(GOOD)
    assert settings.is_production and settings.uses_tls
    assert settings.argon2_memory_kib >= 19456 and settings.argon2_time_cost >= 2


@pytest.mark.parametrize(
    "secret", ["", "changeme", "secret", "short-secret", "a" * 40, "CHANGE-ME-" * 5]
)
def test_production_refuses_missing_or_placeholder_secret(secret: str) -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({**GOOD, "PORTAL_SECRET_KEY": secret})


def test_production_refuses_weak_argon2_and_plain_http() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({**GOOD, "PORTAL_ARGON2_MEMORY_KIB": "1024"})
    with pytest.raises(SettingsError):
        Settings.from_env({**GOOD, "PORTAL_ARGON2_TIME_COST": "1"})
    with pytest.raises(SettingsError):
        Settings.from_env({**GOOD, "PORTAL_PUBLIC_URL": "http://portal.example"})


def test_unknown_environment_is_refused() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"PORTAL_ENVIRONMENT": "staging"})


def test_development_makes_and_keeps_its_own_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORTAL_DEV_SECRET_FILE", str(tmp_path / "secret"))
    first = Settings.from_env({})
    assert len(first.secret_key) >= 48
    assert "development mode" in capsys.readouterr().err
    assert (tmp_path / "secret").stat().st_mode & 0o077 == 0
    assert Settings.from_env({}).secret_key == first.secret_key


def test_numbers_are_read_from_the_environment() -> None:
    settings = Settings.from_env({**GOOD, "PORTAL_STAFF_IDLE_TIMEOUT": "600"})
    assert settings.staff_idle_timeout == 600


@pytest.mark.parametrize("value", ["ten", "-1", "0", "1.5"])
def test_numbers_must_be_positive_whole_numbers(value: str) -> None:
    with pytest.raises(SettingsError, match="PORTAL_MAX_BODY_BYTES"):
        Settings.from_env({**GOOD, "PORTAL_MAX_BODY_BYTES": value})


@pytest.mark.parametrize(("per_sender", "per_account"), [("5", "5"), ("20", "10")])
def test_one_sender_must_not_reach_the_account_wide_sign_in_limit(
    per_sender: str, per_account: str
) -> None:
    """Else one address failing on purpose would lock the account for everybody."""
    with pytest.raises(SettingsError, match="PORTAL_LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE"):
        Settings.from_env(
            {
                **GOOD,
                "PORTAL_LOGIN_FAILURES_PER_ACCOUNT_AND_SENDER_PER_MINUTE": per_sender,
                "PORTAL_LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE": per_account,
            }
        )
    allowed = Settings.from_env({**GOOD, "PORTAL_LOGIN_FAILURES_PER_ACCOUNT_PER_MINUTE": "6"})
    assert allowed.login_failures_per_account_per_minute == 6


# --- optional e-mail (portal/smtp.py) --------------------------------------------------

MAIL = {**GOOD, "PORTAL_MAIL_FROM": "portal@example.org"}


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("smtp://alerts:s3cret-relay@mail.example.org:587", ("mail.example.org", 587, False, True)),
        ("smtp://mail.example.org", ("mail.example.org", 587, False, True)),
        ("smtps://alerts:s3cret-relay@mail.example.org", ("mail.example.org", 465, True, False)),
        ("smtp://127.0.0.1:25", ("127.0.0.1", 25, False, False)),
        ("smtp://localhost", ("localhost", 25, False, False)),
    ],
)
def test_smtp_urls_say_how_to_connect(url: str, target: tuple[str, int, bool, bool]) -> None:
    from portal.smtp import parse_url

    settings = Settings.from_env({**MAIL, "PORTAL_SMTP_URL": url})
    assert settings.mail_enabled
    parsed = parse_url(settings.smtp_url)
    assert (parsed.host, parsed.port, parsed.use_tls, parsed.start_tls) == target
    # The relay's password is never in the settings' or the target's repr.
    assert "s3cret" not in repr(settings) and "s3cret" not in repr(parsed)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"PORTAL_SMTP_URL": "http://alerts:s3cret-relay@mail.example.org"},
            "PORTAL_SMTP_URL: the scheme must be smtp:// (STARTTLS) or smtps:// (TLS)",
        ),
        (
            {"PORTAL_SMTP_URL": "smtp://alerts:s3cret-relay@mail.example.org:port"},
            "PORTAL_SMTP_URL: not a valid URL (is the port a number?)",
        ),
        (
            {"PORTAL_SMTP_URL": "smtp://alerts@mail.example.org"},
            "PORTAL_SMTP_URL: give both a user name and a password, or neither",
        ),
        ({"PORTAL_SMTP_URL": "smtp://"}, "PORTAL_SMTP_URL: the host is missing"),
        (
            {"PORTAL_SMTP_URL": "smtp://mail.example.org", "PORTAL_MAIL_FROM": "Portal <p@x.org>"},
            "PORTAL_MAIL_FROM must be one e-mail address, like portal@example.org",
        ),
        (
            {"PORTAL_SMTP_URL": "smtp://mail.example.org", "PORTAL_MAIL_FROM": ""},
            "set both PORTAL_SMTP_URL and PORTAL_MAIL_FROM, or neither",
        ),
    ],
)
def test_a_bad_mail_setting_is_refused_at_start_with_one_clear_message(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({**MAIL, **env})
    assert str(refused.value) == message
    assert "s3cret" not in str(refused.value)


def test_without_mail_settings_mail_is_off() -> None:
    assert not Settings.from_env(GOOD).mail_enabled
    with pytest.raises(SettingsError):
        Settings.from_env({**GOOD, "PORTAL_MAIL_FROM": "portal@example.org"})


def test_the_attention_sweep_runs_every_five_minutes_unless_switched_off() -> None:
    assert Settings.from_env(GOOD).attention_sweep_seconds == 300
    assert (
        Settings.from_env({**GOOD, "PORTAL_ATTENTION_SWEEP_SECONDS": "0"}).attention_sweep_seconds
        == 0
    )
    with pytest.raises(SettingsError, match="PORTAL_ATTENTION_SWEEP_SECONDS"):
        Settings.from_env({**GOOD, "PORTAL_ATTENTION_SWEEP_SECONDS": "-5"})
