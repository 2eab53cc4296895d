"""Helpers for the operations tests: throwaway databases, row snapshots, write load."""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from portal.storage.tables import metadata

POSTGRES_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")
LOAD_ACTION = "ops_load"


def _psycopg_url(url: str) -> str:
    return "postgresql://" + url.split("://", 1)[1]


@contextmanager
def scratch_postgres(count: int = 1) -> Iterator[list[str]]:
    """Fresh databases ``ops_<random>`` on the test server, dropped afterwards.

    The shared test database itself is only used to issue CREATE/DROP DATABASE.
    """
    import psycopg

    base = urlsplit(_psycopg_url(POSTGRES_URL))
    names = [f"ops_{secrets.token_hex(6)}_{i}" for i in range(count)]
    with psycopg.connect(_psycopg_url(POSTGRES_URL), autocommit=True) as conn:
        for name in names:
            conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [urlunsplit(base._replace(path="/" + name)) for name in names]
    finally:
        with psycopg.connect(_psycopg_url(POSTGRES_URL), autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table_names() -> list[str]:
    return [table.name for table in metadata.sorted_tables] + ["alembic_version"]


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every portal table, in a deterministic order; except the time of the
    last backup, which ``portal backup`` records after the backup is made (a backup can
    never hold its own row)."""
    rows = _all_rows(url)
    rows["job_runs"] = [row for row in rows["job_runs"] if row[0] != "backup"]
    return rows


def _all_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    if url.startswith("sqlite:"):
        with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
            for name in table_names():
                width = len(conn.execute(f"SELECT * FROM {name} LIMIT 0").description)  # noqa: S608
                order = ", ".join(str(i + 1) for i in range(width))
                rows[name] = [
                    tuple(r)
                    for r in conn.execute(f"SELECT * FROM {name} ORDER BY {order}")  # noqa: S608
                ]
        return rows
    import psycopg

    with psycopg.connect(_psycopg_url(url)) as conn:
        for name in table_names():
            cursor = conn.execute(f"SELECT * FROM {name} LIMIT 0")  # noqa: S608
            width = len(cursor.description or [])
            order = ", ".join(str(i + 1) for i in range(width))
            rows[name] = [
                tuple(r)
                for r in conn.execute(f"SELECT * FROM {name} ORDER BY {order}")  # noqa: S608
            ]
    return rows


class WriteLoad:
    """A thread appending audit events, one committed transaction each, until stopped."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.committed = 0
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _insert_loop(self, execute: Any) -> None:
        while not self._stop.is_set():
            execute(self.committed + 1)
            self.committed += 1

    def _run(self) -> None:
        sql = (
            "INSERT INTO audit_events (at, actor_role, action, detail)"
            " VALUES ({p}, 'system', 'ops_load', 'load')"  # LOAD_ACTION
        )
        try:
            if self.url.startswith("sqlite:"):
                with closing(
                    sqlite3.connect(self.url.removeprefix("sqlite:///"), isolation_level=None)
                ) as conn:
                    conn.execute("PRAGMA busy_timeout = 10000")
                    self._insert_loop(lambda n: conn.execute(sql.format(p="?"), (n,)))
            else:
                import psycopg

                with psycopg.connect(_psycopg_url(self.url), autocommit=True) as pg:
                    self._insert_loop(lambda n: pg.execute(sql.format(p="%s"), (n,)))
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def __enter__(self) -> WriteLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        assert self.error is None, repr(self.error)


def load_rows(rows: list[tuple[Any, ...]]) -> list[int]:
    """The ``at`` values of the load's audit events (column 1), ordered."""
    return sorted(r[1] for r in rows if r[4] == LOAD_ACTION)
