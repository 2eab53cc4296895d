"""The ``portal`` command: demo, init, migrate and serve, as an operator runs them."""

from __future__ import annotations

import re
import sqlite3
import urllib.request
from pathlib import Path

from tests.live import live_server, run_portal


def test_demo_then_serve_works_with_no_configuration(tmp_path: Path) -> None:
    demo = run_portal(tmp_path, "demo", PORTAL_SECRET_KEY="")
    assert demo.returncode == 0, demo.stderr
    assert "development mode" in demo.stderr  # says it made its own secret
    assert "coordinator" in demo.stdout and "portal serve" in demo.stdout
    assert "National Assistance System" in demo.stdout and "City Ankkuri Team" in demo.stdout
    assert (tmp_path / "dev-secret").exists()
    with (
        live_server(tmp_path, PORTAL_SECRET_KEY="") as server,
        urllib.request.urlopen(server.url + "/login") as response,  # noqa: S310 - local server
    ):
        assert response.status == 200
        assert response.headers["server"] is None
        assert "no-store" in response.headers["cache-control"]
    log = "\n".join(server.output)
    assert "GET /" not in log and '"GET' not in log  # no access log
    assert not re.search(r"127\.0\.0\.1:\d+ -", log)  # no client address


def test_init_creates_the_database_and_prints_a_coordinator_link(tmp_path: Path) -> None:
    init = run_portal(tmp_path, "init", "--organisation", "Test Police Unit")
    assert init.returncode == 0, init.stderr
    link = re.search(r"(http://\S+/enrol/\S+)", init.stdout)
    assert link, init.stdout
    conn = sqlite3.connect(tmp_path / "portal.sqlite3")
    assert conn.execute("SELECT name, kind FROM organisations").fetchall() == [
        ("Test Police Unit", "police")
    ]
    assert conn.execute("SELECT role, used_at FROM invitations").fetchall() == [
        ("coordinator", None)
    ]
    with live_server(tmp_path) as server:
        path = link.group(1).split("/enrol/", 1)[1]
        with urllib.request.urlopen(f"{server.url}/enrol/{path}") as response:  # noqa: S310
            assert "Set up your account" in response.read().decode()


def test_migrate_is_safe_to_repeat(tmp_path: Path) -> None:
    for _ in range(2):
        result = run_portal(tmp_path, "migrate")
        assert result.returncode == 0, result.stderr


def test_production_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    result = run_portal(tmp_path, "migrate", PORTAL_ENVIRONMENT="production", PORTAL_SECRET_KEY="")
    assert result.returncode != 0
    assert "PORTAL_SECRET_KEY" in result.stderr


def test_demo_starts_afresh_but_never_wipes_real_data(tmp_path: Path) -> None:
    assert run_portal(tmp_path, "demo").returncode == 0
    assert run_portal(tmp_path, "demo").returncode == 0  # a second demo replaces the first
    conn = sqlite3.connect(tmp_path / "portal.sqlite3")
    assert conn.execute("SELECT count(*) FROM organisations").fetchone()[0] == 5
    statuses = conn.execute("SELECT status FROM adviser_requests ORDER BY status").fetchall()
    assert statuses == [("answered",), ("open",)]
    conn.execute(
        "INSERT INTO accounts (id, organisation_id, username, display_name, role, password_hash,"
        " totp_secret, totp_last_step, created_at)"
        " SELECT 'real', id, 'real.person', 'Real Person', 'coordinator', 'x', 'y', 0, 1"
        " FROM organisations LIMIT 1"
    )
    conn.commit()
    refused = run_portal(tmp_path, "demo")
    assert refused.returncode != 0 and "not demo accounts" in refused.stderr
    assert conn.execute("SELECT count(*) FROM accounts WHERE id = 'real'").fetchone()[0] == 1


def test_init_twice_explains_instead_of_crashing(tmp_path: Path) -> None:
    assert run_portal(tmp_path, "init").returncode == 0
    again = run_portal(tmp_path, "init")
    assert again.returncode == 1
    assert "Traceback" not in again.stderr
    assert "has a police unit already ('Police unit')" in again.stderr
    assert "portal invite --role coordinator" in again.stderr
    # Asked for on purpose: a second unit, under another name.
    same = run_portal(tmp_path, "init", "--another-unit")
    assert same.returncode == 1 and "--organisation" in same.stderr
    other = run_portal(tmp_path, "init", "--another-unit", "--organisation", "Second Unit")
    assert other.returncode == 0, other.stderr
