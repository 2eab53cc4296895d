"""Test fixtures: a fresh app per test on its own database, with a controllable clock.

Argon2 is made cheap through settings (never mocked); CSRF and headers stay on. Every
test runs with canary secrets: a check after each test fails if a canary, or the
client address the test client uses, appears in any captured log record.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

# Imported here, at collection: Hypothesis's pytest plugin otherwise imports it while the
# terminal summary is written, and under CPython 3.11.7 that late parse failed now and
# then with "SystemError: AST constructor recursion depth mismatch" (a CPython bug fixed
# in later 3.11 releases), turning a green run of a few test files into exit status 1.
import httpx2
import hypothesis  # noqa: F401
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from portal.app import create_app
from portal.logs import RedactingFormatter
from portal.settings import Settings
from portal.storage.migrate import upgrade
from tests.factories import (
    CANARIES,
    CLIENT_ADDRESS,
    Actor,
    FakeClock,
    World,
    in_app,
    make_world,
    services_of,
)


def _own_databases_per_worker() -> None:
    """Under pytest-xdist (``make test`` runs a worker per CPU) each worker gets a
    PostgreSQL database and a Redis database of its own, so that one worker's emptying of
    the tables or FLUSHDB never meets another's test. Runs at import, before any test
    module reads the two variables; the databases are made once and kept for the next
    run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1, ...
    if not worker:
        return
    number = int(worker.removeprefix("gw"))
    url = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
    if url:
        import psycopg

        address, mark, options = url.partition("?")  # options such as sslmode stay
        base, _slash, name = address.rpartition("/")
        own = f"{name}_{worker}"
        with psycopg.connect(url, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (own,))
            if exists.fetchone() is None:
                conn.execute(f'CREATE DATABASE "{own}"')
        os.environ["PORTAL_TEST_DATABASE_URL"] = f"{base}/{own}{mark}{options}"
    redis_url = os.environ.get("PORTAL_TEST_REDIS_URL", "")
    if redis_url:
        base, _slash, index = redis_url.rpartition("/")
        if not index.isdigit():  # no database named: Redis's 0
            base, index = redis_url.rstrip("/"), "0"
        # Counted down from the one named (15 by default), so database 0 stays untouched.
        own_index = int(index) - number if int(index) >= number else int(index) + number
        os.environ["PORTAL_TEST_REDIS_URL"] = f"{base}/{own_index}"


_own_databases_per_worker()
POSTGRES_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the PostgreSQL run only the tests that meet a database run again: those that
    ask for one (the ``database_url`` fixture, which every app and client asks for) and
    those marked ``postgres``. The rest (the wheel, the catalogues, the CLI's words, the
    proxies) do the same on either run and ran on SQLite already."""
    if not POSTGRES_URL:
        return
    kept: list[pytest.Item] = []
    left: list[pytest.Item] = []
    for item in items:
        meets = "database_url" in getattr(item, "fixturenames", ())
        (kept if meets or item.get_closest_marker("postgres") else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = kept


def make_settings(database_url: str, **overrides: object) -> Settings:
    base = Settings(
        environment="development",
        secret_key="test-secret-key-" + "x" * 40,
        database_url=database_url,
        redis_url=REDIS_URL,
        public_url="https://portal.test",
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
    )
    return Settings(**{**base.__dict__, **overrides})  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (much faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> str:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    upgrade(POSTGRES_URL)
    return POSTGRES_URL


def _truncate_postgres(url: str) -> None:
    """Empty every table before a test: DELETE in one transaction, children first. (On
    these few rows TRUNCATE took 200 ms a test, DELETE 10 ms: a TRUNCATE makes new files
    for every table.)"""
    import psycopg

    from portal.storage.tables import metadata

    with psycopg.connect(url, autocommit=True) as conn:
        # The audit table refuses DELETE (migration 0007); the test superuser steps around
        # its trigger for this connection only, as a replica would.
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            for table in reversed(metadata.sorted_tables):
                conn.execute(f"DELETE FROM {table.name}")  # noqa: S608 - our own table names


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if POSTGRES_URL:
        url: str = request.getfixturevalue("postgres_schema")
        _truncate_postgres(url)
        return url
    template: Path = request.getfixturevalue("sqlite_template")
    path = tmp_path / "portal.sqlite3"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> None:
    """Rate-limit counters in the test Redis must not carry over from another test."""
    if REDIS_URL:
        import redis

        with redis.Redis.from_url(REDIS_URL) as conn:
            conn.flushdb()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings, clock: FakeClock) -> Starlette:
    return create_app(settings, clock)


FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
REQUIRED = re.compile(r"<(?:input|select|textarea)\b[^>]*\srequired[\s>/]")


def forms_answer_for_the_browser(response: httpx2.Response) -> None:
    """Every page a test sees: a form with a required field leaves the refusal to the
    server (``novalidate``), which says it in the visitor's language and keeps the rest
    of what was typed; the browser's own bubble speaks the browser's language. Except a
    form marked ``data-browser-checks``: a whole-page post from a page that holds other
    work (an unlocked key, a message being written), which a refusal would lose."""
    if not response.headers.get("content-type", "").startswith("text/html"):
        return
    response.read()
    for form in FORM.finditer(response.text):
        if REQUIRED.search(form.group(2)):
            attributes = form.group(1)
            assert "novalidate" in attributes or "data-browser-checks" in attributes, (
                f"<form{attributes}> lacks novalidate"
            )


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(
        app, base_url="https://portal.test", client=(CLIENT_ADDRESS, 50123), follow_redirects=False
    ) as test_client:
        test_client.event_hooks["response"].append(forms_answer_for_the_browser)
        yield test_client


@pytest.fixture
def actor(client: TestClient) -> Actor:
    return Actor(client)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(RedactingFormatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(autouse=True)
def logs_hold_no_secrets() -> Iterator[list[str]]:
    """Fails the test if a canary secret or the client address reached any log record."""
    collector = _Collector()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(collector)
    # The test client's own request log (client side, not the portal) would list URLs.
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    root.setLevel(logging.DEBUG)
    CANARIES.clear()
    try:
        yield collector.lines
    finally:
        root.removeHandler(collector)
        root.setLevel(previous)
    text = "\n".join(collector.lines)
    leaked = [canary for canary in {*CANARIES, CLIENT_ADDRESS} if canary and canary in text]
    assert not leaked, f"secrets or addresses in the logs: {leaked}"


@pytest.fixture
def world(client: TestClient) -> World:
    return in_app(client, make_world, services_of(client))
