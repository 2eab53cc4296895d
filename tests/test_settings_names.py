"""Settings the operator may get wrong: a misspelt name, a missing database in production,
an unknown time zone or URL scheme, and an example file that drifted from the code.

Threat: a typo that silently falls back to a default (``PORTAL_DATABSE_URL`` made the
portal start on a new, empty SQLite file in the working directory).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from portal.settings import Settings, SettingsError

EXAMPLE = Path(__file__).resolve().parents[1] / "deploy" / "portal.env.example"
GOOD = {
    "PORTAL_ENVIRONMENT": "production",
    "PORTAL_SECRET_KEY": "Zx8-q2Lm9_vT4pR7sW1yB6nC3hJ5kD0fGa8eQ2",
    "PORTAL_PUBLIC_URL": "https://portal.example",
    "PORTAL_DATABASE_URL": "postgresql://portal:db-pass-canary@db.internal:5432/portal",
}
# Lines in the example that show a value to copy, not the default.
EXAMPLE_VALUES = {"PORTAL_DATABASE_URL", "PORTAL_REDIS_URL", "PORTAL_SMTP_URL", "PORTAL_MAIL_FROM"}
# Left out on purpose: a backup's key file is never kept on the server
# (tests/ops/test_backup.py); `portal restore --key-file` names it on the restoring machine.
NOT_IN_EXAMPLE = {"PORTAL_BACKUP_KEY_FILE"}


def _refusal(env: dict[str, str]) -> str:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    return str(raised.value)


def test_a_misspelt_name_is_refused_with_its_likely_meaning() -> None:
    message = _refusal({**GOOD, "PORTAL_DATABSE_URL": "sqlite:///x", "PORTAL_COLOUR": "red"})
    assert message == (
        "unknown setting(s): PORTAL_COLOUR, PORTAL_DATABSE_URL (did you mean "
        "PORTAL_DATABASE_URL?); every setting is listed in deploy/portal.env.example"
    )


def test_names_of_the_tools_around_the_portal_are_not_settings_but_allowed() -> None:
    env = {
        **GOOD,
        "PORTAL_DEV_SECRET_FILE": "/tmp/x",  # noqa: S108 - never opened in production
        "PORTAL_HOST": "portal.example",
        "PORTAL_TEST_DATABASE_URL": "postgresql://x@127.0.0.1/test",
    }
    assert Settings.from_env(env).database_url == GOOD["PORTAL_DATABASE_URL"]


def test_production_needs_the_database_named() -> None:
    env = {k: v for k, v in GOOD.items() if k != "PORTAL_DATABASE_URL"}
    assert _refusal(env) == "PORTAL_DATABASE_URL must be set in production"
    assert _refusal({**env, "PORTAL_DATABASE_URL": " "}) == (
        "PORTAL_DATABASE_URL must be set in production"
    )
    sqlite = Settings.from_env({**env, "PORTAL_DATABASE_URL": "sqlite:////var/lib/portal/p.db"})
    assert sqlite.database_url == "sqlite:////var/lib/portal/p.db"


def test_development_still_starts_with_no_configuration(tmp_path: Path) -> None:
    settings = Settings.from_env({"PORTAL_DEV_SECRET_FILE": str(tmp_path / "s")})
    assert settings.database_url == "sqlite:///portal.sqlite3"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "PORTAL_TIMEZONE",
            "Europe/Helsinky",
            "PORTAL_TIMEZONE: unknown time zone 'Europe/Helsinky' (a name like Europe/Helsinki)",
        ),
        (
            "PORTAL_TIMEZONE",
            "../../etc/passwd",
            "PORTAL_TIMEZONE: unknown time zone '../../etc/passwd' (a name like Europe/Helsinki)",
        ),
        (
            "PORTAL_DATABASE_URL",
            "mysql://portal:db-pass-canary@db/portal",
            "PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://",
        ),
        (
            "PORTAL_REDIS_URL",
            "http://:redis-pass-canary@127.0.0.1:6379/0",
            "PORTAL_REDIS_URL must start with redis://, rediss:// or unix://",
        ),
        (
            "PORTAL_LOG_LEVEL",
            "verbose",
            "PORTAL_LOG_LEVEL must be one of debug, info, warning, error",
        ),
        ("PORTAL_LOG_FORMAT", "xml", "PORTAL_LOG_FORMAT must be 'text' or 'json'"),
    ],
)
def test_bad_values_are_named_in_one_line_without_their_secrets(
    name: str, value: str, message: str
) -> None:
    assert _refusal({**GOOD, name: value}) == message


def _example() -> tuple[dict[str, str], dict[str, str]]:
    """(set, commented) NAME=value lines of deploy/portal.env.example."""
    active: dict[str, str] = {}
    commented: dict[str, str] = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if found := re.fullmatch(r"(#?)(PORTAL_[A-Z0-9_]+)=(.*)", line):
            target = commented if found[1] else active
            target.setdefault(found[2], found[3])
    return active, commented


def test_the_example_environment_lists_every_setting_with_its_default() -> None:
    active, commented = _example()
    defaults = {"PORTAL_" + f.name.upper(): str(f.default) for f in dataclasses.fields(Settings)}
    assert sorted(set(defaults) - NOT_IN_EXAMPLE) == sorted({*active, *commented})
    wrong = {
        name: (value, defaults[name])
        for name, value in commented.items()
        if name not in EXAMPLE_VALUES and name not in active and value != defaults[name]
    }
    assert wrong == {}
    # The example, once its placeholders are filled in, is a configuration that starts.
    filled = {**active, "PORTAL_SECRET_KEY": GOOD["PORTAL_SECRET_KEY"]}
    assert Settings.from_env(filled).hashing_threads == 1
