"""No lockout of others, played through a real proxy: senders on their own loopback
addresses (127.0.0.2 guesses, 127.0.0.3 is the client and the coordinator), each a tiny
cookie-keeping HTTP client that opens a new connection per request, bound to its
address (and, for the onion service, announcing its Tor circuit as Tor does)."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from portal.crypto.totp import code_at
from tests.live import portal_env
from tests.ops.proxyutil import HOST, Answer, parse

GUESSER = "127.0.0.2"
VISITOR = "127.0.0.3"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
DEMO_PASSWORD = "demo-portal-password"


@dataclass(frozen=True)
class Demo:
    slip_code: str
    coordinator_totp_key: str


def fill_demo(workdir: Path, **env: str) -> Demo:
    """``portal demo`` in ``workdir``: a slip's code and the coordinator's TOTP key."""
    done = subprocess.run(
        [sys.executable, "-m", "portal", "demo"],
        cwd=workdir,
        env=portal_env(workdir, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    slip = re.search(r"the code of a demo slip: ([0-9 ]+)", done.stdout)
    key = re.search(r"^\s+coordinator\s+coordinator\s+.*\s([A-Z2-7]{32})$", done.stdout, re.M)
    if slip is None or key is None:
        raise RuntimeError(f"portal demo printed no slip or key: {done.stdout}")
    return Demo(slip.group(1), key.group(1))


@dataclass
class Sender:
    port: int
    source: str
    tls: bool = True
    proxy_line: bytes = b""  # what Tor sends first on each connection, if anything
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Answer:
        body = urlencode(form or {}).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
        if self.cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if method == "POST":
            head += [
                "Content-Type: application/x-www-form-urlencoded",
                "Sec-Fetch-Site: same-origin",
            ]
            head.append(f"Content-Length: {len(body)}")
        sock = socket.create_connection(("127.0.0.1", self.port), 10, (self.source, 0))
        if self.proxy_line:
            sock.sendall(self.proxy_line)
        if self.tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the test's own certificate
            sock = context.wrap_socket(sock, server_hostname=HOST)
        raw = b""
        with sock:
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            try:
                while chunk := sock.recv(65536):
                    raw += chunk
            except (ConnectionResetError, ssl.SSLError):
                pass
        answer = parse(raw)
        for value in answer.all("set-cookie"):
            name, _, rest = value.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return answer

    def submit(self, page: str, to: str, **form: str) -> Answer:
        """GET ``page`` for its CSRF token, then POST the form to ``to``."""
        found = TOKEN.search(self.request("GET", page).body.decode())
        if found is None:
            raise RuntimeError(f"no form on {page}")
        return self.request("POST", to, {"csrf_token": found.group(1), **form})


def guesser_is_slowed_and_others_get_in(guesser: Sender, visitor: Sender, demo: Demo) -> None:
    """The property of docs/security.md, "Fairness", through whatever front ``guesser``
    and ``visitor`` talk to. Both must be new to the portal (fresh counters)."""
    wrong = [guesser.submit("/code", "/code", code=f"{i:018d}").status for i in range(14)]
    assert wrong[:10] == [400] * 10, wrong  # its own budget: ten a minute
    assert set(wrong[10:]) == {429}, wrong  # then slowed...
    # ...and the same for passwords, failing on purpose against the account that signs
    # in below: refused at the guesser's address after five.
    failed = [
        guesser.submit(
            "/login", "/login", username="coordinator", password=f"wrong-{i}", totp_code="1"
        ).status
        for i in range(35)
    ]
    assert failed == [400] * 5 + [429] * 30, failed
    assert guesser.submit("/code", "/code", code=demo.slip_code).status == 429

    # ...while a client at another address redeems their slip at once,
    answer = visitor.submit("/code", "/code", code=demo.slip_code)
    assert answer.status == 200, answer.body[:500]
    assert b'class="client-code"' in answer.body
    # and the coordinator signs in from there.
    staff = Sender(visitor.port, visitor.source, visitor.tls, visitor.proxy_line)
    signed_in = staff.submit(
        "/login",
        "/login",
        username="coordinator",
        password=DEMO_PASSWORD,
        totp_code=code_at(demo.coordinator_totp_key, int(time.time())),
    )
    assert signed_in.status == 303 and signed_in.all("location") == ["/staff"]
