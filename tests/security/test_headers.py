"""Security headers arrive on every response: pages, static files, 404, 405, 413 and 500.

The expected values are written out here, never imported from portal/: a weakened
policy in the code must fail these tests.
"""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from portal.app import create_app
from portal.domain.roles import PUBLIC
from portal.web.guard import route
from portal.web.visit import Visit
from tests.conftest import make_settings
from tests.factories import Actor, FakeClock

# Threat: XSS. No inline script or style, no eval, nothing from another origin, no
# framing, no plugins, no <base> rewriting links, forms post only to the portal.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
EXPECTED = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
}


def assert_secure_headers(response: object, *, dynamic: bool = True) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    for name, value in EXPECTED.items():
        assert headers.get(name) == value, name
    policy = headers["permissions-policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in policy
    assert "server" not in headers
    if dynamic:
        assert headers["cache-control"] == "no-store"


def _explode(app: Starlette) -> None:
    async def explode(request: object, visit: Visit) -> None:
        raise RuntimeError("canary-error-detail-1234")

    app.router.routes.append(route("/explode", explode, roles={PUBLIC}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("path", "status"),
    [("/login", 200), ("/no/such/page", 404), ("/explode", 500), ("/static/css/portal.css", 200)],
)
def test_csp_is_exactly_the_policy_on_pages_errors_and_static_files(
    app: Starlette, path: str, status: int
) -> None:
    _explode(app)
    with TestClient(app, base_url="https://portal.test", raise_server_exceptions=False) as client:
        response = client.get(path)
    assert response.status_code == status
    assert response.headers.get_list("content-security-policy") == [CSP]


@pytest.mark.parametrize(
    "path", ["/", "/login", "/healthz", "/bye", "/no/such/page", "/enrol/forged-token"]
)
def test_pages_and_errors_carry_headers(actor: Actor, path: str) -> None:
    assert_secure_headers(actor.get(path))


def test_static_files_carry_headers_and_may_be_cached(actor: Actor) -> None:
    response = actor.get("/static/css/portal.css")
    assert response.status_code == 200
    assert_secure_headers(response, dynamic=False)
    assert "no-store" not in response.headers["cache-control"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/static/no-such.css", 404), ("GET", "/static/css/", 404), ("POST", "/static/x", 405)],
)
def test_error_pages_under_static_are_never_kept(
    actor: Actor, method: str, path: str, status: int
) -> None:
    """An error page is the portal's own page (the session's header, a CSRF token), not
    a public file: a shared cache must not hand it to the next visitor."""
    response = actor.request(method, path)
    assert response.status_code == status
    assert_secure_headers(response)


def test_wrong_method_and_oversize_body_carry_headers(actor: Actor) -> None:
    wrong_method = actor.request("DELETE", "/login")
    assert wrong_method.status_code == 405
    assert_secure_headers(wrong_method)
    token = actor.csrf_from("/login")
    too_large = actor.request("POST", "/login", data={"csrf_token": token, "x": "x" * 300_000})
    assert too_large.status_code == 413
    assert_secure_headers(too_large)


def test_server_error_carries_headers_and_leaks_nothing(app: Starlette) -> None:
    _explode(app)
    with TestClient(app, base_url="https://portal.test", raise_server_exceptions=False) as client:
        response = client.get("/explode")
    assert response.status_code == 500
    assert_secure_headers(response)
    assert "canary-error-detail" not in response.text
    assert "Traceback" not in response.text and "RuntimeError" not in response.text


def test_no_hsts_over_plain_http(database_url: str, clock: FakeClock) -> None:
    plain = create_app(make_settings(database_url, public_url="http://127.0.0.1:8000"), clock)
    with TestClient(plain, base_url="http://portal.test") as client:
        response = client.get("/login")
    assert "strict-transport-security" not in response.headers
    assert response.headers["content-security-policy"] == CSP
