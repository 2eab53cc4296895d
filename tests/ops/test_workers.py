"""Two portal processes on PostgreSQL + Redis behave as one.

Rate limits live in Redis, sessions and CSRF in the database (and the same secret), and
the daily purge is elected through the ``job_runs`` table, so a login limit counts
failures from both processes together and the purge runs once per day, whichever
process asks first.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from portal.demo import PEOPLE
from tests.live import LiveServer, live_server, run_portal
from tests.ops.dbutil import POSTGRES_URL, REDIS_URL, scratch_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (POSTGRES_URL and REDIS_URL),
        reason="two processes need PostgreSQL and Redis: set PORTAL_TEST_DATABASE_URL "
        "and PORTAL_TEST_REDIS_URL",
    ),
]

REPO = Path(__file__).resolve().parents[2]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LIMIT = 5  # PORTAL_LOGIN_FAILURES_PER_ACCOUNT_AND_SENDER_PER_MINUTE in these servers


@pytest.fixture
def demo_database(tmp_path: Path) -> Iterator[str]:
    with scratch_postgres() as (url,):
        demo = run_portal(tmp_path, "demo", PORTAL_DATABASE_URL=url)
        assert demo.returncode == 0, demo.stderr
        yield url


def _request(url: str, cookie: str, data: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, body, session cookie) by hand: the ``__Host-`` cookie is Secure, and
    these servers speak plain HTTP on 127.0.0.1."""
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    request = urllib.request.Request(url, data=body, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - local
            status, text, headers = response.status, response.read().decode(), response.headers
    except urllib.error.HTTPError as error:
        status, text, headers = error.code, error.read().decode(), error.headers
    for header in headers.get_all("set-cookie") or []:
        if header.startswith("__Host-sid="):
            cookie = header.split(";", 1)[0]
    return status, text, cookie


def test_login_failures_on_two_processes_share_one_limit(
    tmp_path: Path, demo_database: str
) -> None:
    username = PEOPLE[0][0]
    env = {
        "PORTAL_DATABASE_URL": demo_database,
        "PORTAL_REDIS_URL": REDIS_URL,
        "PORTAL_PURGE_INTERVAL_SECONDS": "0",
        "PORTAL_LOGIN_FAILURES_PER_ACCOUNT_AND_SENDER_PER_MINUTE": str(LIMIT),
    }
    with ExitStack() as stack:
        servers: list[LiveServer] = [
            stack.enter_context(live_server(tmp_path, **env)) for _ in range(2)
        ]
        assert servers[0].process.pid != servers[1].process.pid
        # One browser session, begun on the first process: the second accepts its
        # cookie and CSRF token (sessions are in the database, keys from one secret).
        status, page, cookie = _request(servers[0].url + "/login", "")
        assert status == 200 and cookie
        token = CSRF.search(page)
        assert token
        statuses = []
        for attempt in range(LIMIT + 2):
            server = servers[attempt % 2]
            form = {
                "csrf_token": token.group(1),
                "username": username,
                "password": "not-the-password",
                "totp_code": "000000",
            }
            status, page, cookie = _request(server.url + "/login", cookie, form)
            statuses.append(status)
        # Five failures, alternating between the processes, then both refuse: each
        # process alone saw at most three, so only a shared counter gives 429 here.
        assert statuses == [400] * LIMIT + [429, 429], statuses
        # A fresh session on the other process is refused as well, before any hashing.
        status, page, cookie = _request(servers[1].url + "/login", "")
        token = CSRF.search(page)
        assert token
        status, _, _ = _request(
            servers[1].url + "/login",
            cookie,
            {"csrf_token": token.group(1), "username": username, "password": "x", "totp_code": "1"},
        )
        assert status == 429


def _purged_events(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM audit_events WHERE action = 'purged'").fetchone()
    return int(row[0]) if row else 0


def _consultations(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM consultations").fetchone()
    return int(row[0]) if row else 0


def test_the_daily_purge_runs_once_across_two_processes(demo_database: str) -> None:
    url = demo_database
    before = _consultations(url)
    assert before > 0 and _purged_events(url) == 0
    rounds = 20
    start = time.time() + 3  # both processes are connected and waiting by then
    racers = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.ops.purge_race", url, str(start), str(rounds)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for racer in racers:
        out, err = racer.communicate(timeout=60)
        assert racer.returncode == 0, err
        results.append(json.loads(out))
    first, second = results
    # Every day exactly one process ran the purge; the other was told it was not its turn.
    for day in range(rounds):
        assert (first[day] is None) != (second[day] is None), (day, first[day], second[day])
    ran = [count for count in first + second if count is not None]
    assert len(ran) == rounds
    # The first day's winner purged every due consultation, once: one audit event each.
    assert sum(ran) == before == _purged_events(url)
    assert _consultations(url) == 0
    import psycopg

    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM job_runs").fetchone() == (1,)
