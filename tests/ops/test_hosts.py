"""Two app hosts behind the shipped nginx upstream, sharing PostgreSQL and Redis.

The hosts are played by two ``portal serve`` processes listening on 127.0.0.2 and
127.0.0.3, each started as deploy/systemd/portal@.service would start it on its own host
(``--host ADDRESS --proxy-headers``), behind real nginx running the shipped
deploy/nginx/portal.conf with its ``upstream`` block listing both. Taking one host down
and the other up again shows where each request went: a session begun through one host
is honoured by the other, login failures counted on both hosts add up to one limit, and
the daily purge, asked for every second by every process, runs once.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from portal.crypto.totp import code_at
from tests.live import free_port, portal_env
from tests.ops.dbutil import POSTGRES_URL, REDIS_URL, scratch_postgres
from tests.ops.fairness import DEMO_PASSWORD, Sender, fill_demo
from tests.ops.proxyutil import HOST, stop, wait_for_port
from tests.ops.test_nginx import NGINX, OPENSSL, main_config, onion_config, site_config

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not (NGINX and OPENSSL), reason="needs nginx and openssl"),
    pytest.mark.skipif(
        not (POSTGRES_URL and REDIS_URL),
        reason="several hosts share PostgreSQL and Redis: set PORTAL_TEST_DATABASE_URL "
        "and PORTAL_TEST_REDIS_URL",
    ),
]

SHIPPED_SERVER = "server 127.0.0.1:0 max_fails=1 fail_timeout=10s;"
LIMIT = 5


@dataclass
class Host:
    address: str
    port: int
    env: dict[str, str]
    workdir: Path
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--host", self.address,
             "--port", str(self.port), "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"],
            cwd=self.workdir, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((self.address, self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.address}: {self.stop()}") from None
                time.sleep(0.1)

    def stop(self) -> str:
        if self.process is not None:
            self.output.append(stop(self.process))
            self.process = None
        return self.output[-1] if self.output else ""


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[tuple[int, Host, Host, str]]:
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={HOST}", "-keyout", str(prefix / "key.pem"),
         "-out", str(prefix / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    with scratch_postgres() as (url,):
        fill_demo(tmp_path, PORTAL_DATABASE_URL=url)
        env = portal_env(
            tmp_path,
            PORTAL_DATABASE_URL=url,
            PORTAL_REDIS_URL=REDIS_URL,
            PORTAL_PUBLIC_URL=f"https://{HOST}",
            PORTAL_PURGE_INTERVAL_SECONDS="1",
            PORTAL_LOGIN_FAILURES_PER_ACCOUNT_AND_SENDER_PER_MINUTE=str(LIMIT),
        )
        first = Host("127.0.0.2", free_port(), env, tmp_path)
        second = Host("127.0.0.3", free_port(), env, tmp_path)
        https_port, http_port = free_port(), free_port()
        site = site_config(prefix, https_port, http_port, 0)
        assert SHIPPED_SERVER in site
        # The shipped upstream, with the two hosts in it (and a shorter pause for a host
        # that refused a connection, so that the test need not wait ten seconds).
        site = site.replace(
            SHIPPED_SERVER,
            f"server {first.address}:{first.port} max_fails=1 fail_timeout=1s;\n"
            f"    server {second.address}:{second.port} max_fails=1 fail_timeout=1s;",
        )
        (prefix / "site.conf").write_text(site)
        (prefix / "onion.conf").write_text(onion_config(prefix, free_port(), first.port))
        (prefix / "nginx.conf").write_text(main_config(prefix))
        nginx = subprocess.Popen(
            [NGINX, "-e", str(prefix / "startup.log"), "-p", str(prefix),
             "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            first.start()
            second.start()
            wait_for_port(https_port, nginx, "nginx")
            yield https_port, first, second, url
        finally:
            stop(nginx)
            first.stop()
            second.stop()


def _only(up: Host, down: Host) -> None:
    """Route everything to ``up``: ``down`` stops, ``up`` runs (nginx's pause over)."""
    down.stop()
    if up.process is None:
        up.start()
    time.sleep(1.2)


def test_two_hosts_behind_the_upstream_behave_as_one_portal(
    hosts: tuple[int, Host, Host, str],
) -> None:
    import psycopg

    port, first, second, url = hosts
    # Both up: requests go to each in turn, and every one is answered.
    visitor = Sender(port, "127.0.0.1")
    assert [visitor.request("GET", "/login").status for _ in range(4)] == [200] * 4

    # A session begun through the first host...
    _only(first, second)
    staff = Sender(port, "127.0.0.1")
    signed_in = staff.submit(
        "/login",
        "/login",
        username="coordinator",
        password=DEMO_PASSWORD,
        totp_code=code_at("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXA", int(time.time())),
    )
    assert signed_in.status == 303 and signed_in.all("location") == ["/staff"]
    # ...and three wrong passwords there,
    guesser = Sender(port, "127.0.0.1")
    failures = [
        guesser.submit("/login", "/login", username="ngo", password=f"wrong-{i}", totp_code="1")
        for i in range(3)
    ]
    assert [answer.status for answer in failures] == [400] * 3

    # ...is honoured by the second host alone,
    _only(second, first)
    page = staff.request("GET", "/staff")
    assert page.status == 200 and b"Aino Virtanen" in page.body
    # and the failures it never saw count there: two more, then the account is refused.
    more = [
        guesser.submit("/login", "/login", username="ngo", password=f"wrong-{i}", totp_code="1")
        for i in range(3, 6)
    ]
    assert [answer.status for answer in more] == [400, 400, 429]

    # The daily purge: every process asked every second, one ran it.
    first.stop()
    second.stop()
    text = "\n".join(first.output + second.output)
    assert text.count("purged ") == 1, text
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT name FROM job_runs").fetchall() == [("purge",)]
