"""The demo opened under another host name: the refusal says why, not just "403".

The session cookie is ``__Host-sid``, Secure: a browser keeps it over HTTPS, or on
http://localhost and http://127.0.0.1 only. Opened as http://laptop.lan:8080/, the demo's
sign-in form comes back without a cookie and the CSRF check refuses it; in development
the page then explains this. In production (always HTTPS) there is nothing to explain.
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.testclient import TestClient

from portal.app import create_app
from tests.conftest import make_settings
from tests.factories import CLIENT_ADDRESS, FakeClock
from tests.live import run_portal

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
HINT = "this browser sent no session cookie"


def _sign_in_from(base_url: str, database_url: str, **overrides: object) -> str:
    settings = make_settings(database_url, **overrides)
    with TestClient(
        create_app(settings, FakeClock()), base_url=base_url, client=(CLIENT_ADDRESS, 5)
    ) as client:
        page = client.get("/login")
        token = TOKEN.search(page.text)
        assert token
        answer = client.post(
            "/login",
            data={"csrf_token": token.group(1), "username": "x", "password": "y", "totp_code": "1"},
        )
        assert answer.status_code == 403
        return answer.text


def test_another_host_name_over_http_explains_the_cookie(database_url: str) -> None:
    text = _sign_in_from("http://laptop.lan:8080", database_url)
    assert HINT in text
    assert "http://127.0.0.1:8080/" in text and "__Host-sid" in text


def test_no_hint_where_it_would_not_be_the_reason(database_url: str) -> None:
    assert HINT not in _sign_in_from("http://127.0.0.1:8080", database_url)
    assert HINT not in _sign_in_from(
        "http://laptop.lan:8080",
        database_url,
        environment="production",
        secret_key="k" * 20 + "production-secret-key-xyz",
        argon2_memory_kib=19456,
        argon2_time_cost=2,
    )


def test_demo_names_the_port_and_the_venv_command(tmp_path: Path) -> None:
    demo = run_portal(tmp_path, "demo", "--port", "8080")
    assert demo.returncode == 0, demo.stderr
    lines = demo.stdout.strip().splitlines()
    assert "http://127.0.0.1:8080/" in demo.stdout
    assert lines[-1] == (
        "Start the portal with: PORTAL_PUBLIC_URL=http://127.0.0.1:8080"
        " .venv/bin/portal serve --port 8080"
    )
