"""/readyz: ready only when this process can really serve, and said within 2 seconds.

Threat: a load balancer sending people to a process whose every sign-in is a 500 (Redis
down) or whose schema is older than its code, because /readyz only asked the database
for ``SELECT 1``. The answer names what failed in one fixed word, nothing else.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from portal.app import create_app
from tests.conftest import make_settings
from tests.factories import FakeClock, in_app, services_of
from tests.live import refused_port


def _readyz(database_url: str, clock: FakeClock, redis_url: str) -> tuple[int, str, float]:
    app = create_app(make_settings(database_url, redis_url=redis_url), clock)
    with TestClient(app, base_url="https://portal.test") as client:
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert "set-cookie" not in response.headers
    return response.status_code, response.text, elapsed


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        server.close()


def test_ready_when_database_schema_and_redis_answer(client: TestClient) -> None:
    response = client.get("/readyz")
    assert (response.status_code, response.text) == (200, "ready")


def test_not_ready_when_redis_refuses(database_url: str, clock: FakeClock) -> None:
    with refused_port() as port:
        status, text, elapsed = _readyz(database_url, clock, f"redis://127.0.0.1:{port}/0")
    assert (status, text) == (503, "not ready: redis")
    assert elapsed < 2.5


def test_not_ready_within_two_seconds_when_redis_hangs(
    database_url: str, clock: FakeClock, silent_port: int
) -> None:
    status, text, elapsed = _readyz(database_url, clock, f"redis://127.0.0.1:{silent_port}/0")
    assert (status, text) == (503, "not ready: redis")
    assert 1.9 < elapsed < 2.8


def test_not_ready_when_the_schema_is_behind_the_code(client: TestClient) -> None:
    db = services_of(client).db

    async def set_revision(revision: str) -> None:
        async with db.transaction() as tx:
            await tx.execute("UPDATE alembic_version SET version_num = :r", r=revision)

    head = in_app(client, db.fetch_value, "SELECT version_num FROM alembic_version")
    in_app(client, set_revision, "0008")
    try:
        response = client.get("/readyz")
        assert (response.status_code, response.text) == (503, "not ready: schema")
    finally:
        in_app(client, set_revision, head)
    assert client.get("/readyz").text == "ready"
