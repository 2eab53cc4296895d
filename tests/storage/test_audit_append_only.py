"""The audit table is append-only in the database itself: the portal's own connection can
add events and read them, but an UPDATE, DELETE or TRUNCATE fails (migration 0007)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from starlette.testclient import TestClient

from portal.domain import audit
from portal.storage.migrate import alembic_config, upgrade
from tests.factories import in_app, services_of

ON_POSTGRES = bool(os.environ.get("PORTAL_TEST_DATABASE_URL"))


def _count(client: TestClient) -> int:
    found: int = in_app(
        client, services_of(client).db.fetch_value, "SELECT count(*) FROM audit_events"
    )
    return found


def _refused(client: TestClient, sql: str) -> str:
    """Run ``sql`` on the app's own connection; the database's refusal, as text."""
    svc = services_of(client)
    with pytest.raises(Exception) as refused:
        in_app(client, svc.db.execute, sql)
    return str(refused.value)


def _two_events(client: TestClient) -> None:
    svc = services_of(client)
    for action in ("signed_in", "account_disabled"):
        in_app(client, audit.record, svc.db, svc.clock, action, None, actor_role="system")


def test_the_portal_adds_events_but_cannot_change_or_delete_them(client: TestClient) -> None:
    _two_events(client)  # INSERT works
    assert _count(client) == 2
    for sql in (
        "UPDATE audit_events SET action = 'purged'",
        "UPDATE audit_events SET detail = 'x' WHERE action = 'signed_in'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE action = 'account_disabled'",
    ):
        assert "audit_events is append-only" in _refused(client, sql), sql
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT action, detail FROM audit_events ORDER BY id",
    )
    assert [tuple(row) for row in rows] == [("signed_in", None), ("account_disabled", None)]


def test_a_refused_change_inside_a_transaction_undoes_the_whole_transaction(
    client: TestClient,
) -> None:
    _two_events(client)
    svc = services_of(client)

    async def cover_up() -> None:
        async with svc.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO organisations (id, name, kind, created_at)"
                " VALUES ('o1', 'Cover', 'ngo', 1)"
            )
            await tx.execute("DELETE FROM audit_events WHERE action = 'account_disabled'")

    with pytest.raises(Exception, match="append-only"):
        in_app(client, cover_up)
    assert _count(client) == 2
    assert in_app(client, svc.db.fetch_value, "SELECT count(*) FROM organisations") == 0


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="TRUNCATE exists only on PostgreSQL: set PORTAL_TEST_DATABASE_URL to run it",
)
def test_on_postgres_truncate_is_refused_too(client: TestClient) -> None:
    _two_events(client)
    assert "TRUNCATE refused" in _refused(client, "TRUNCATE audit_events")
    assert "TRUNCATE refused" in _refused(client, "TRUNCATE audit_events CASCADE")
    assert _count(client) == 2


@pytest.mark.skipif(
    not ON_POSTGRES,
    reason="the PostgreSQL trigger needs PORTAL_TEST_DATABASE_URL (PostgreSQL)",
)
def test_on_postgres_the_refusal_is_an_insufficient_privilege_error(client: TestClient) -> None:
    import asyncpg

    _two_events(client)
    svc = services_of(client)
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        in_app(client, svc.db.execute, "DELETE FROM audit_events")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        in_app(client, svc.db.execute, "UPDATE audit_events SET at = 0")


def test_downgrading_past_0007_lifts_the_triggers_and_upgrading_restores_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "p.sqlite3"
    url = f"sqlite:///{path}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0006")
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO audit_events (at, actor_role, action) VALUES (1, 'system', 'x')")
    conn.execute("DELETE FROM audit_events")  # no trigger before 0007
    conn.commit()
    columns = {row[1] for row in conn.execute("PRAGMA table_info(audit_events)")}
    assert "subject_account_id" not in columns
    conn.close()
    upgrade(url)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO audit_events (at, actor_role, action) VALUES (1, 'system', 'x')")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        conn.execute("DELETE FROM audit_events")
    conn.close()
