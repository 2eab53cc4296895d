"""Upgrades without fear: migrations take turns, say where they are, keep the data, and go
back to the previous tagged schema (0010) and forward again.

Threats: two processes migrating one fresh PostgreSQL database at once (one used to fail
with a traceback half-way), a portal serving on a schema older than its code, and an
upgrade that loses or mangles what people entrusted to the portal.
"""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, pool, text

from portal.storage.database import sqlalchemy_url
from portal.storage.migrate import head_revision, upgrade
from tests.live import free_port, portal_env, run_portal
from tests.ops.dbutil import POSTGRES_URL, scratch_postgres

PREVIOUS = "0010"  # the schema of the previous release
needs_postgres = pytest.mark.skipif(not POSTGRES_URL, reason="set PORTAL_TEST_DATABASE_URL")

ROWS = [
    "INSERT INTO organisations (id, name, kind, created_at) VALUES"
    " ('org-police', 'Police unit', 'police', 1), ('org-ngo', 'Shelter', 'ngo', 1)",
    "INSERT INTO accounts (id, organisation_id, username, display_name, role, password_hash,"
    " totp_secret, created_at, gender, security_notices) VALUES"
    " ('acc-coord', 'org-police', 'coord', 'Coordinator', 'coordinator', 'h', 't', 1,"
    " 'unspecified', ''),"
    " ('acc-inv', 'org-police', 'inv', 'Investigator', 'investigator', 'h', 't', 1, 'female', ''),"
    " ('acc-ngo', 'org-ngo', 'ngo', 'Worker', 'ngo_worker', 'h', 't', 1, 'unspecified', '')",
    "INSERT INTO consultations (id, pseudonym, organisation_id, booked_by, first_investigator_id,"
    " investigator_id, client_locale, language, interpreter_needed, interpreter_gender,"
    " interpreter_other_community, investigator_gender, support_person, accessibility, childcare,"
    " venue_preference, urgency, minor, reflection_period, safe_contact, client_code_hash,"
    " created_at, last_activity_at) VALUES"
    " ('con-1', 'Quiet Heron 17', 'org-ngo', 'acc-ngo', 'acc-inv', 'acc-inv', 'ru', 'ru', 1,"
    " 'any', 0, 'female', 1, 'none', 0, 'police_station', 'normal', 0, 'unknown', 'ngo',"
    " 'legacy-hash', 1, 1),"
    # A consultation whose investigator recorded "no reflection period needed" (audited).
    " ('con-2', 'Still Lake 30', 'org-ngo', 'acc-ngo', 'acc-inv', 'acc-inv', 'fi', 'fi', 0,"
    " 'any', 0, 'any', 0, 'none', 0, 'police_station', 'normal', 0, 'no', 'ngo',"
    " 'legacy-hash-2', 4102444800, 4102444800)",
    "INSERT INTO audit_events (at, actor_account_id, actor_role, action, consultation_id,"
    " pseudonym, detail) VALUES (2, 'acc-inv', 'investigator', 'reflection_recorded', 'con-2',"
    " 'Still Lake 30', 'none')",
    "INSERT INTO places (id, name, kind, address, directions, created_at) VALUES"
    " ('pla-1', 'Station', 'police_station', 'Street 1', 'Door B', 1)",
    "INSERT INTO slots (id, investigator_id, place_id, starts_at, duration_minutes, languages,"
    " interpreter_available, status, created_at) VALUES"
    " ('slo-1', 'acc-inv', 'pla-1', 100, 60, ',ru,', 1, 'booked', 1)",
    "INSERT INTO meetings (id, consultation_id, slot_id, investigator_id, place_id, starts_at,"
    " duration_minutes, status, is_follow_up, created_at, updated_at) VALUES"
    " ('mee-1', 'con-1', 'slo-1', 'acc-inv', 'pla-1', 100, 60, 'booked', 0, 1, 1)",
    "INSERT INTO sessions (id_hash, account_id, locale, created_at, last_seen_at, reauth_at)"
    " VALUES (:sid, 'acc-inv', 'fi', 1, 2, 2)",
]
KEPT = {
    "organisations": "SELECT id, name, kind FROM organisations ORDER BY id",
    "accounts": "SELECT id, username, role, gender FROM accounts ORDER BY id",
    "consultations": "SELECT id, pseudonym, language, investigator_id, client_code_hash"
    " FROM consultations ORDER BY id",
    "sessions": "SELECT account_id, locale, reauth_at FROM sessions",
    "meetings": "SELECT id, consultation_id, starts_at, status FROM meetings",
}


def _execute(url: str, *statements: str) -> None:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(text(statement), {"sid": b"\x01" * 32})
    engine.dispose()


def _kept(url: str) -> dict[str, list[tuple[object, ...]]]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        found = {name: [tuple(r) for r in conn.execute(text(sql))] for name, sql in KEPT.items()}
    engine.dispose()
    return found


def _reflection(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        sql = "SELECT id, reflection_status FROM consultations ORDER BY id"
        found = [tuple(row) for row in conn.execute(text(sql))]
    engine.dispose()
    return found


def _revision(url: str) -> str:
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        value = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return str(value)


def _upgrade_with_data(url: str, workdir: Path) -> None:
    upgrade(url, PREVIOUS)
    _execute(url, *ROWS)
    before = _kept(url)
    assert before["consultations"] == [
        ("con-1", "Quiet Heron 17", "ru", "acc-inv", "legacy-hash"),
        ("con-2", "Still Lake 30", "fi", "acc-inv", "legacy-hash-2"),
    ]

    migrated = run_portal(workdir, "migrate", PORTAL_DATABASE_URL=url)
    assert migrated.returncode == 0, migrated.stderr
    assert _revision(url) == head_revision()
    assert _kept(url) == before
    # 0011: a meeting of a consultation that needs an interpreter starts as "needed".
    engine = create_engine(sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as conn:
        status = conn.execute(text("SELECT interpreter_status FROM meetings")).scalar_one()
    engine.dispose()
    assert status == "needed"
    # 0013: a reflection period nobody recorded is undecided; a recorded "not needed" stays.
    assert _reflection(url) == [("con-1", None), ("con-2", "none")]
    # The new code reads the old rows: the consultation, idle since 1970, is due.
    purge = run_portal(workdir, "purge", "--dry-run", PORTAL_DATABASE_URL=url)
    assert purge.stdout == "1 consultation(s) would be purged\n  Quiet Heron 17\n", purge.stderr

    # Every migration since has a downgrade: back to the previous release, data intact.
    unconfirmed = run_portal(workdir, "migrate", "--down-to", PREVIOUS, PORTAL_DATABASE_URL=url)
    assert unconfirmed.returncode == 1
    assert unconfirmed.stderr.startswith(
        f"portal migrate: this drops every table and column added after {PREVIOUS}"
    )
    assert _revision(url) == head_revision()
    down = run_portal(workdir, "migrate", "--down-to", PREVIOUS, "--yes", PORTAL_DATABASE_URL=url)
    assert down.stdout == f"database schema taken back from {head_revision()} to {PREVIOUS}\n"
    assert _revision(url) == PREVIOUS
    assert _kept(url) == before
    assert _reflection(url) == [("con-1", "none"), ("con-2", "none")]
    again = run_portal(workdir, "migrate", PORTAL_DATABASE_URL=url)
    assert again.returncode == 0, again.stderr
    assert _kept(url) == before


def test_upgrade_from_the_previous_release_keeps_the_data_sqlite(tmp_path: Path) -> None:
    _upgrade_with_data(f"sqlite:///{tmp_path / 'old.sqlite3'}", tmp_path)


@needs_postgres
@pytest.mark.postgres
def test_upgrade_from_the_previous_release_keeps_the_data_postgres(tmp_path: Path) -> None:
    with scratch_postgres() as (url,):
        _upgrade_with_data(url, tmp_path)


def test_migrate_status_says_what_is_pending(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    upgrade(url, PREVIOUS)
    behind = run_portal(tmp_path, "migrate", "--status", PORTAL_DATABASE_URL=url)
    assert (behind.returncode, behind.stdout) == (
        1,
        "schema revision: 0010\nlatest revision: 0013\n"
        "3 migration(s) to apply with `portal migrate`: 0011, 0012, 0013\n",
    )
    assert _revision(url) == PREVIOUS  # --status changes nothing
    assert run_portal(tmp_path, "migrate", PORTAL_DATABASE_URL=url).returncode == 0
    current = run_portal(tmp_path, "migrate", "--status", PORTAL_DATABASE_URL=url)
    assert (current.returncode, current.stdout) == (
        0,
        f"schema revision: {head_revision()}\nlatest revision: {head_revision()}\nup to date\n",
    )


def test_serve_no_migrate_leaves_the_schema_and_is_not_ready(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, PREVIOUS)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve", "--no-migrate", "--port", str(port)],
        cwd=tmp_path,
        env=portal_env(tmp_path, PORTAL_DATABASE_URL=url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5):
                    pytest.fail("ready on a schema older than the code")
            except urllib.error.HTTPError as answer:
                assert (answer.code, answer.read()) == (503, b"not ready: schema")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.2)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert _revision(url) == PREVIOUS


@needs_postgres
@pytest.mark.postgres
def test_two_migrations_at_once_on_a_fresh_database_both_succeed(tmp_path: Path) -> None:
    with scratch_postgres() as (url,):
        env = portal_env(tmp_path, PORTAL_DATABASE_URL=url)
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "portal", "migrate"],
                cwd=tmp_path,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(p.wait(timeout=120), *p.communicate()) for p in processes]
        assert results == [(0, "database schema is up to date\n", "")] * 2
        assert _revision(url) == head_revision()
