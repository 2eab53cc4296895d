"""Metrics: counted, content-free, and served to this host only.

``/metrics`` must answer a scraper on 127.0.0.1 and nobody else: not another host (played
here by 127.0.0.2 and an address on the internet), not a request relayed by a proxy on
this host (it carries X-Forwarded-For), and never anything that names a person.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from starlette.testclient import TestClient

from portal.crypto.totp import code_at
from portal.domain import jobs, monitoring
from portal.metrics import CSRF_LAYERS, LIMITS, MAIL_STATES, SERVER_ERRORS
from portal.storage import mail as mail_store
from tests.factories import (
    CLIENT_ADDRESS,
    Actor,
    FakeClock,
    World,
    from_address,
    in_app,
    services_of,
)
from tests.live import live_server

SAMPLE = re.compile(r"^(portal_[a-z_]+)(?:\{([^}]*)\})? (\S+)$")
ALLOWED_LABELS = {*LIMITS, *CSRF_LAYERS, *SERVER_ERRORS, *MAIL_STATES, "other"}


def scrape(client: TestClient) -> dict[str, float]:
    with from_address(client, "127.0.0.1"):
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    assert response.headers["cache-control"] == "no-store"
    samples: dict[str, float] = {}
    for line in response.text.splitlines():
        if line.startswith("#") or not line.startswith("portal_"):
            continue
        found = SAMPLE.match(line)
        assert found, line
        name, labels, value = found.groups()
        for label in (labels or "").split(","):
            if label:
                # Every label value comes from the fixed lists in portal/metrics.py.
                assert label.split("=", 1)[1].strip('"') in ALLOWED_LABELS, line
        samples[name + (f"{{{labels}}}" if labels else "")] = float(value)
    return samples


def test_metrics_answer_this_host_only(client: TestClient) -> None:
    with from_address(client, "127.0.0.1"):
        assert client.get("/metrics").status_code == 200
    with from_address(client, "::1"):
        assert client.get("/metrics").status_code == 200
    for other in ("127.0.0.2", "10.0.0.2", CLIENT_ADDRESS, "2001:db8::1"):
        with from_address(client, other):
            refused = client.get("/metrics")
        assert refused.status_code == 404, other
        assert "portal_" not in refused.text
    # Relayed by a proxy on this host: loopback, but not the host asking.
    with from_address(client, "127.0.0.1"):
        for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
            relayed = client.get("/metrics", headers={header: "127.0.0.1"})
            assert relayed.status_code == 404, header
        assert client.post("/metrics").status_code == 404


def test_refusals_are_counted_by_kind_and_name_nobody(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    before = scrape(client)
    assert before['portal_csrf_refusals_total{layer="origin"}'] == 0
    assert before['portal_rate_limited_total{limit="login-account-sender"}'] == 0
    # A cross-site form (first layer) and a form without the session's token (second).
    actor.get("/login")
    cross = actor.request(
        "POST", "/login", data={"username": "x"}, headers={"Sec-Fetch-Site": "cross-site"}
    )
    assert cross.status_code == 403
    assert actor.request("POST", "/login", data={"csrf_token": "forged"}).status_code == 403
    # Five wrong passwords for one account, then the account's limit for this sender
    # refuses.
    person = world.investigator
    statuses = [
        actor.submit(
            "/login",
            username=person.username,
            password="wrong-password-" + str(attempt),
            totp_code=code_at(person.totp_secret, clock.now()),
        ).status_code
        for attempt in range(7)
    ]
    assert statuses == [400] * 5 + [429, 429]
    after = scrape(client)
    assert after['portal_csrf_refusals_total{layer="origin"}'] == 1
    assert after['portal_csrf_refusals_total{layer="token"}'] == 1
    assert after['portal_rate_limited_total{limit="login-account-sender"}'] == 2
    assert after['portal_rate_limited_total{limit="login-account"}'] == 0
    assert after['portal_rate_limited_total{limit="login-source"}'] == 0
    assert after["portal_overloaded_total"] == 0
    assert after['portal_server_errors_total{status="500"}'] == 0
    assert after["portal_hashing_queue_depth"] == 0
    with from_address(client, "127.0.0.1"):
        text = client.get("/metrics").text
    for personal in (person.username, CLIENT_ADDRESS, actor.session_id(), "wrong-password"):
        assert personal not in text


def test_purge_mail_and_backup_are_read_from_the_database(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    empty = scrape(client)
    assert empty["portal_purge_last_run_timestamp_seconds"] == 0
    assert empty["portal_backup_age_seconds"] == -1
    assert empty['portal_mail_outbox{state="queued"}'] == 0

    assert in_app(client, jobs.run_purge_if_due, svc.db, clock, svc.settings) == 0
    in_app(client, monitoring.backup_succeeded, svc.db, clock)
    now = clock.now()
    for number, account in enumerate((world.coordinator, world.investigator, world.ngo_worker)):
        in_app(client, mail_store.enqueue, svc.db, f"mail-{number}", account.id, "alert", now)
    in_app(client, mail_store.mark_sent, svc.db, "mail-0", now)
    in_app(client, mail_store.mark_given_up, svc.db, "mail-1", now)
    clock.advance(3 * 3600)

    samples = scrape(client)
    assert samples["portal_purge_last_run_timestamp_seconds"] == now
    assert samples["portal_purge_last_count"] == 0
    assert samples["portal_backup_last_success_timestamp_seconds"] == now
    assert samples["portal_backup_age_seconds"] == 3 * 3600
    assert samples['portal_mail_outbox{state="queued"}'] == 1
    assert samples['portal_mail_outbox{state="sent"}'] == 1
    assert samples['portal_mail_outbox{state="failed"}'] == 1


def _raw_get(port: int, source: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(source, 0)) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
    return int(raw.split(b" ", 2)[1])


def test_a_real_server_refuses_another_host(tmp_path: Path) -> None:
    with live_server(tmp_path, PORTAL_PURGE_INTERVAL_SECONDS="0") as server:
        port = int(server.url.rsplit(":", 1)[1])
        assert _raw_get(port, "127.0.0.1") == 200
        # The same server, reached from another (loopback-played) host.
        assert _raw_get(port, "127.0.0.2") == 404
