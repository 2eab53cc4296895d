"""Database access: SQLite through the standard library, PostgreSQL through asyncpg.

Why not SQLAlchemy at run time: measured on this workload, SQLAlchemy (sync or async) ran
at a quarter to a tenth of the throughput of a plain driver call on the event loop. The
schema and migrations stay in SQLAlchemy/Alembic; queries are short SQL strings with
``:name`` parameters that both backends understand.

SQLite: one connection per process, used directly on the event loop (an indexed query
takes microseconds; a thread hop per query costs more than the query). An asyncio lock
serialises statements and transactions, so a transaction never sees another request's
half-done work even if its body awaits. Writes take ``BEGIN IMMEDIATE`` so two writers
never deadlock on a lock upgrade.

PostgreSQL: an asyncpg pool; ``:name`` parameters are rewritten to ``$n`` once per query
text and cached. The URL goes to asyncpg as it is, so libpq's ``sslmode`` (and
``sslrootcert``, ...) in its query string apply, as they do for the migrations (psycopg).

Behind PgBouncer in transaction mode (``pool_mode="transaction"``,
``PORTAL_DATABASE_POOL_MODE``), one client connection is served by whichever server
connection is free at each transaction, so nothing may outlive a transaction: asyncpg's
named prepared statements are off (``statement_cache_size=0``) and every statement outside
an explicit transaction runs in one of its own, so that its parse and execute steps reach
the same server.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any, Protocol

import asyncpg

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": 2,  # FULL: an acknowledged write survives power loss.
    "foreign_keys": 1,
    "busy_timeout": 5000,
    "secure_delete": 1,  # purged rows are overwritten, not just unlinked.
}


class StorageError(Exception):
    """The database is not configured the way the portal requires."""


class Row(Protocol):
    def __getitem__(self, key: str) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...


class Queryable(Protocol):
    """What storage functions need: the database itself or an open transaction."""

    async def fetch_one(self, sql: str, **params: Any) -> Row | None: ...

    async def fetch_all(self, sql: str, **params: Any) -> Sequence[Row]: ...

    async def fetch_value(self, sql: str, **params: Any) -> Any: ...

    async def execute(self, sql: str, **params: Any) -> int: ...


class Database(Queryable, Protocol):
    dialect: str

    def transaction(self) -> Any:
        """``async with db.transaction() as tx:`` commits on success, rolls back on error."""
        ...

    async def close(self) -> None: ...


def sqlite_path(url: str) -> str:
    """``sqlite:///relative.db`` or ``sqlite:////absolute.db`` -> a file path."""
    if not url.startswith("sqlite:///"):
        raise StorageError("a SQLite URL looks like sqlite:///portal.sqlite3")
    return url.removeprefix("sqlite:///")


def sqlalchemy_url(url: str) -> str:
    """The same database as a URL for SQLAlchemy/Alembic (sync drivers)."""
    if url.startswith("sqlite:"):
        return url
    scheme, rest = url.split("://", 1)
    if scheme.split("+")[0] in {"postgresql", "postgres"}:
        return "postgresql+psycopg://" + rest
    raise StorageError(f"unsupported database scheme: {scheme}")


def asyncpg_dsn(url: str) -> str:
    """asyncpg takes a plain libpq URL, without a SQLAlchemy driver suffix."""
    return "postgresql://" + url.split("://", 1)[1]


POOL_MODES = ("session", "transaction")


async def connect(url: str, pool_mode: str = "session") -> Database:
    """The database at ``url``; ``pool_mode="transaction"`` when PgBouncer (or another
    pooler) in transaction mode stands between (see the module docstring)."""
    if url.startswith("sqlite:"):
        return SQLiteDatabase(sqlite_path(url))
    if pool_mode not in POOL_MODES:
        raise StorageError("the pool mode must be 'session' or 'transaction'")
    if url.split("://", 1)[0].split("+")[0] in {"postgresql", "postgres"}:
        pooled = pool_mode == "transaction"
        pool = await asyncpg.create_pool(
            asyncpg_dsn(url),
            min_size=1,
            max_size=10,
            reset=_returned_as_is,
            statement_cache_size=0 if pooled else 100,
        )
        return PooledPostgresDatabase(pool) if pooled else PostgresDatabase(pool)
    raise StorageError("PORTAL_DATABASE_URL must start with sqlite:/// or postgresql://")


async def _returned_as_is(conn: Any) -> None:
    """A connection goes back to the pool without asyncpg's reset query (advisory locks,
    LISTEN, cursors, SET): the portal uses none of them, and the reset cost a second round
    trip for every statement (bench/: the meeting page's database time halved without).
    A transaction is always closed by its context manager before the connection returns.
    """


class _SQLiteStatements:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetch_one(self, sql: str, **params: Any) -> Row | None:
        row: Row | None = self._conn.execute(sql, params).fetchone()
        return row

    async def fetch_all(self, sql: str, **params: Any) -> Sequence[Row]:
        return self._conn.execute(sql, params).fetchall()

    async def fetch_value(self, sql: str, **params: Any) -> Any:
        row = self._conn.execute(sql, params).fetchone()
        return None if row is None else row[0]

    async def execute(self, sql: str, **params: Any) -> int:
        return self._conn.execute(sql, params).rowcount


class SQLiteDatabase:
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        for name, value in SQLITE_PRAGMAS.items():
            self._conn.execute(f"PRAGMA {name} = {value}")
        for name, value in SQLITE_PRAGMAS.items():
            actual = self._conn.execute(f"PRAGMA {name}").fetchone()[0]
            if str(actual).lower() != str(value):
                raise StorageError(f"SQLite refused PRAGMA {name}={value} (got {actual})")
        self._statements = _SQLiteStatements(self._conn)
        self._lock = asyncio.Lock()

    async def fetch_one(self, sql: str, **params: Any) -> Row | None:
        async with self._lock:
            return await self._statements.fetch_one(sql, **params)

    async def fetch_all(self, sql: str, **params: Any) -> Sequence[Row]:
        async with self._lock:
            return await self._statements.fetch_all(sql, **params)

    async def fetch_value(self, sql: str, **params: Any) -> Any:
        async with self._lock:
            return await self._statements.fetch_value(sql, **params)

    async def execute(self, sql: str, **params: Any) -> int:
        async with self._lock:
            return await self._statements.execute(sql, **params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queryable]:
        async with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._statements
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    async def close(self) -> None:
        self._conn.close()


@lru_cache(maxsize=1024)
def _numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """Rewrite ``:name`` parameters as asyncpg's ``$1``; repeated names share a number."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", number, sql), tuple(names)


_PAGING = frozenset({"limit", "offset"})


def _statement(sql: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """asyncpg's query text and arguments for ``sql`` with ``:name`` parameters.

    ``:limit`` and ``:offset`` are written into the text as integers. asyncpg prepares
    every statement, and after five runs PostgreSQL may switch to a generic plan that
    cannot see how small a LIMIT is: on 100,000 consultations the investigator's meeting
    list then walked the whole starts_at index (22 ms) instead of the investigator's
    index range (1.5 ms) (bench/). A page number takes few values, so the prepared
    statements stay few.
    """
    if _PAGING.intersection(params):
        paging = {name: int(params[name]) for name in _PAGING if name in params}
        sql = re.sub(r"(?<![:\w]):(limit|offset)\b", lambda m: str(paging[m.group(1)]), sql)
    query, names = _numbered(sql)
    return query, [params[name] for name in names]


class _PostgresStatements:
    def __init__(self, conn: Any) -> None:
        self._conn = conn

    async def fetch_one(self, sql: str, **params: Any) -> Row | None:
        query, args = _statement(sql, params)
        row: Row | None = await self._conn.fetchrow(query, *args)
        return row

    async def fetch_all(self, sql: str, **params: Any) -> Sequence[Row]:
        query, args = _statement(sql, params)
        rows: Sequence[Row] = await self._conn.fetch(query, *args)
        return rows

    async def fetch_value(self, sql: str, **params: Any) -> Any:
        query, args = _statement(sql, params)
        return await self._conn.fetchval(query, *args)

    async def execute(self, sql: str, **params: Any) -> int:
        query, args = _statement(sql, params)
        status: str = await self._conn.execute(query, *args)
        # asyncpg answers with the command tag, e.g. "UPDATE 1" or "INSERT 0 1".
        last = status.rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0


class PostgresDatabase(_PostgresStatements):
    dialect = "postgresql"

    def __init__(self, pool: Any) -> None:
        super().__init__(pool)
        self._pool = pool

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Queryable]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PostgresStatements(conn)

    async def close(self) -> None:
        await self._pool.close()


class PooledPostgresDatabase(PostgresDatabase):
    """PostgreSQL behind a pooler in transaction mode: each statement in a transaction."""

    async def fetch_one(self, sql: str, **params: Any) -> Row | None:
        async with self.transaction() as tx:
            return await tx.fetch_one(sql, **params)

    async def fetch_all(self, sql: str, **params: Any) -> Sequence[Row]:
        async with self.transaction() as tx:
            return await tx.fetch_all(sql, **params)

    async def fetch_value(self, sql: str, **params: Any) -> Any:
        async with self.transaction() as tx:
            return await tx.fetch_value(sql, **params)

    async def execute(self, sql: str, **params: Any) -> int:
        async with self.transaction() as tx:
            return await tx.execute(sql, **params)
