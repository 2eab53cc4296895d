"""The database: SQLite durability settings, migrations, and both backends alike."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from starlette.testclient import TestClient

from portal.storage.database import (
    SQLiteDatabase,
    StorageError,
    _numbered,
    _statement,
    sqlalchemy_url,
)
from portal.storage.migrate import check, upgrade
from tests.factories import in_app, services_of


def test_sqlite_runs_in_wal_with_full_sync_foreign_keys_and_secure_delete(tmp_path: Path) -> None:
    db = SQLiteDatabase(str(tmp_path / "p.sqlite3"))
    conn = db._conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 5000
    assert conn.execute("PRAGMA secure_delete").fetchone()[0] == 1


def test_start_up_refuses_a_database_that_cannot_do_wal(tmp_path: Path) -> None:
    with pytest.raises(StorageError):
        SQLiteDatabase(":memory:")  # an in-memory database cannot be in WAL mode


def test_migrations_upgrade_from_empty_and_match_the_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    upgrade(url)
    check(url)  # raises if tables.py and the migrations disagree
    upgrade(url)  # safe to run again on every start
    names = {
        row[0]
        for row in sqlite3.connect(tmp_path / "fresh.sqlite3").execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    assert {"organisations", "accounts", "invitations", "sessions"} <= names


@pytest.mark.skipif(
    "not __import__('os').environ.get('PORTAL_TEST_DATABASE_URL')",
    reason="PostgreSQL runs need PORTAL_TEST_DATABASE_URL",
)
def test_postgres_migrations_match_the_tables(database_url: str) -> None:
    upgrade(database_url)
    check(database_url)


def test_named_parameters_become_numbered_for_asyncpg() -> None:
    sql, names = _numbered("SELECT :a, :b WHERE x = :a AND y::text = 'q'")
    assert sql == "SELECT $1, $2 WHERE x = $1 AND y::text = 'q'"
    assert names == ("a", "b")


def test_paging_is_written_into_postgresql_statements_as_integers() -> None:
    """PostgreSQL's generic plan cannot see a LIMIT parameter (see _statement)."""
    sql = "SELECT * FROM m WHERE inv = :inv ORDER BY at LIMIT :limit OFFSET :offset"
    query, args = _statement(sql, {"inv": "a", "limit": 26, "offset": 50})
    assert query == "SELECT * FROM m WHERE inv = $1 ORDER BY at LIMIT 26 OFFSET 50"
    assert args == ["a"]
    with pytest.raises(ValueError):  # only numbers ever reach the text
        _statement(sql, {"inv": "a", "limit": "1; DROP TABLE m", "offset": 0})


def test_a_failed_transaction_leaves_nothing_behind(client: TestClient) -> None:
    svc = services_of(client)

    async def half_done() -> None:
        async with svc.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO organisations (id, name, kind, created_at)"
                " VALUES ('a', 'Half', 'ngo', 1)"
            )
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        in_app(client, half_done)
    assert in_app(client, svc.db.fetch_value, "SELECT count(*) FROM organisations") == 0


@contextmanager
def scratch_database(tmp_path: Path) -> Iterator[str]:
    """An empty database of the kind under test (a SQLite file, or ``upgrade_check`` on
    the test PostgreSQL server), dropped afterwards."""
    import os

    admin = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if not admin:
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS upgrade_check")
        conn.execute("CREATE DATABASE upgrade_check")
    try:
        yield admin.split("?", 1)[0].rsplit("/", 1)[0] + "/upgrade_check"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS upgrade_check WITH (FORCE)")


@pytest.mark.postgres  # on PostgreSQL when PORTAL_TEST_DATABASE_URL is set
def test_upgrade_from_an_earlier_schema_keeps_the_data(tmp_path: Path) -> None:
    """The first release's schema (0001) with data in it, upgraded to today's."""
    with scratch_database(tmp_path) as url:
        upgrade(url, "0001")
        engine = create_engine(sqlalchemy_url(url))
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO organisations (id, name, kind, created_at)"
                    " VALUES ('o1', 'Unit', 'police', 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO accounts (id, organisation_id, username, display_name, role,"
                    " password_hash, totp_secret, totp_last_step, created_at)"
                    " VALUES ('a1', 'o1', 'aino', 'Aino', 'coordinator', 'h', 's', 0, 1)"
                )
            )
        upgrade(url)
        check(url)
        with engine.begin() as conn:
            row = conn.execute(text("SELECT username, gender FROM accounts")).one()
        engine.dispose()
        assert tuple(row) == ("aino", "unspecified")


@pytest.mark.postgres
def test_messages_stored_before_numbering_are_numbered_as_they_were_shown(
    tmp_path: Path,
) -> None:
    """Migration 0012 numbers each conversation's messages by time, then id (the order
    the pages used before): the numbers start at 1 in each conversation."""
    stored = [("b", "c1", 5), ("a", "c1", 5), ("c", "c1", 3), ("z", "c2", 5), ("y", "c2", 9)]
    with scratch_database(tmp_path) as url:
        upgrade(url, "0011")
        engine = create_engine(sqlalchemy_url(url))
        with engine.begin() as conn:
            if url.startswith("postgresql"):
                # Messages without their consultations: no foreign keys checked here
                # (SQLite through SQLAlchemy does not check them either).
                conn.execute(text("SET LOCAL session_replication_role = replica"))
            for message_id, consultation_id, at in stored:
                conn.execute(
                    text(
                        "INSERT INTO messages (id, consultation_id, author_role, sealed_in,"
                        " created_at) VALUES (:id, :c, 'client', 'server', :at)"
                    ),
                    {"id": message_id, "c": consultation_id, "at": at},
                )
        upgrade(url)
        check(url)
        with engine.begin() as conn:
            rows = conn.execute(
                text("SELECT consultation_id, id, number FROM messages ORDER BY id")
            ).all()
        engine.dispose()
    assert sorted(tuple(row) for row in rows) == [
        ("c1", "a", 2),
        ("c1", "b", 3),
        ("c1", "c", 1),
        ("c2", "y", 2),
        ("c2", "z", 1),
    ]
