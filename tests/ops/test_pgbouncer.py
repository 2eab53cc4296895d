"""Managed PostgreSQL: TLS settings reach the driver, and PgBouncer in transaction mode.

Behind PgBouncer in transaction mode each transaction of one client connection may run
on another server connection. asyncpg's named prepared statements would then be missing
("prepared statement ... does not exist") or belong to another client; with
``PORTAL_DATABASE_POOL_MODE=transaction`` the portal keeps none (storage/database.py).
The test runs Debian's pgbouncer itself (never the system service) on a free port, in
transaction mode with two server connections handed out in turn, in front of a fresh
test database, and goes through sign-in and a booking with it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from starlette.testclient import TestClient

from portal.app import create_app
from portal.storage.database import connect, sqlalchemy_url
from portal.storage.migrate import upgrade
from tests.conftest import make_settings
from tests.factories import (
    CLIENT_ADDRESS,
    Actor,
    FakeClock,
    book,
    in_app,
    make_place,
    make_slot,
    make_world,
    on_own_loop,
    redeem,
    services_of,
    slip_code,
)
from tests.live import free_port
from tests.ops.dbutil import POSTGRES_URL, scratch_postgres
from tests.ops.proxyutil import stop, wait_for_port

PGBOUNCER = shutil.which("pgbouncer") or (
    "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else ""
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs PostgreSQL: set PORTAL_TEST_DATABASE_URL"),
]


def test_sslmode_in_the_url_reaches_the_drivers() -> None:
    """The test server has no TLS: ``sslmode=require`` must make the connection fail,
    which it does only if asyncpg was given the parameter; ``disable`` connects."""
    base = POSTGRES_URL.split("?", 1)[0]

    async def attempt(mode: str) -> str:
        try:
            db = await connect(f"{base}?sslmode={mode}")
        except (OSError, asyncpg.PostgresError, ConnectionError) as exc:
            return type(exc).__name__
        try:
            return (
                "ssl"
                if await db.fetch_value("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                else "plain"
            )
        finally:
            await db.close()

    assert on_own_loop(attempt, "disable") == "plain"
    assert on_own_loop(attempt, "require") != "plain"
    # The migrations (psycopg) get the same parameter.
    assert sqlalchemy_url(f"{base}?sslmode=verify-full").endswith("?sslmode=verify-full")


@pytest.fixture
def bouncer_url() -> Iterator[str]:
    if not PGBOUNCER:
        pytest.skip("needs pgbouncer (Debian package pgbouncer)")
    with scratch_postgres() as (url,):
        upgrade(url)  # migrations go straight to PostgreSQL (docs/operations.md)
        target = urlsplit(url)
        port = free_port()
        workdir = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
        workdir.chmod(0o755)  # pgbouncer refuses to run as root: it becomes "postgres"
        user = target.username or "postgres"
        (workdir / "users.txt").write_text(f'"{user}" ""\n')
        (workdir / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"portal = host={target.hostname} port={target.port or 5432}"
            f" dbname={target.path.lstrip('/')} user={user}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {workdir / 'users.txt'}\n"
            "pool_mode = transaction\n"
            # Two server connections, handed out in turn: consecutive transactions of
            # one client land on different servers, as under load.
            "default_pool_size = 2\nmin_pool_size = 2\nserver_round_robin = 1\n"
            "max_client_conn = 100\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        (workdir / "users.txt").chmod(0o644)
        (workdir / "pgbouncer.ini").chmod(0o644)
        command = [PGBOUNCER, str(workdir / "pgbouncer.ini")]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "postgres"]
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        try:
            wait_for_port(port, process, "pgbouncer")
            password = f":{target.password}" if target.password else ""
            yield f"postgresql://{user}{password}@127.0.0.1:{port}/portal"
        finally:
            stop(process)
            shutil.rmtree(workdir, ignore_errors=True)


def test_sign_in_and_booking_work_through_pgbouncer_in_transaction_mode(
    bouncer_url: str, clock: FakeClock
) -> None:
    settings = make_settings(bouncer_url, database_pool_mode="transaction", redis_url="")
    with TestClient(
        create_app(settings, clock),
        base_url="https://portal.test",
        client=(CLIENT_ADDRESS, 50123),
        follow_redirects=False,
    ) as client:
        svc = services_of(client)
        world = in_app(client, make_world, svc)
        place = in_app(client, make_place, svc)
        slot = in_app(client, make_slot, svc, world.investigator, place)
        worker = Actor(client)
        worker.log_in(world.ngo_worker, clock)
        for _ in range(3):  # the same statements again: no prepared statement is kept
            assert worker.get("/ngo").status_code == 200
        slip = book(worker, slot)
        assert slip.status_code == 200, slip.text
        person, _ = redeem(client, slip_code(slip))
        assert "Station room 4" in person.get("/meeting").text
        investigator = Actor(client)
        investigator.log_in(world.investigator, clock)
        assert investigator.get("/investigator").status_code == 200


def test_without_the_setting_pgbouncer_breaks_asyncpg(bouncer_url: str) -> None:
    """Why the setting exists: the same statements with asyncpg's prepared-statement
    cache fail once they reach a server connection that never prepared them."""

    async def run() -> str:
        db = await connect(bouncer_url)  # pool mode "session": the cache is on
        try:
            for _ in range(6):
                await db.fetch_value("SELECT count(*) FROM accounts WHERE role = :r", r="x")
                await asyncio.sleep(0.3)  # pgbouncer has its second server connection by then
        except asyncpg.PostgresError as exc:
            return type(exc).__name__
        finally:
            await db.close()
        return "no error"

    assert on_own_loop(run) != "no error"


def test_the_pool_mode_setting_is_checked() -> None:
    from portal.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match="PORTAL_DATABASE_POOL_MODE"):
        Settings.from_env({"PORTAL_DATABASE_POOL_MODE": "statement"})
    assert Settings.from_env({"PORTAL_DATABASE_POOL_MODE": "transaction"}).database_pool_mode == (
        "transaction"
    )
