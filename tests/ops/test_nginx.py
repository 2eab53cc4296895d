"""Real nginx with the shipped ``deploy/nginx/portal.conf`` in front of ``portal serve``.

The site file is used as shipped except for paths and ports (substituted below). nginx
runs as a process owned by the test (``nginx -c CONF -p PREFIX``, no daemon, no system
service), with TLS from a certificate made here with ``openssl req -x509``. Between
nginx and the portal sits a small relay that records every byte nginx sends upstream,
so the test sees exactly what the portal was told.

The main ``nginx.conf`` written here turns the access log ON at ``http`` level: it is
the site file's own ``access_log off`` that must keep the log empty.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.live import free_port, portal_env
from tests.ops.fairness import (
    GUESSER,
    VISITOR,
    Sender,
    fill_demo,
    guesser_is_slowed_and_others_get_in,
)
from tests.ops.proxyutil import (
    FAKE_CLIENT,
    HOST,
    SPOOFED,
    Relay,
    get,
    send,
    stop,
    wait_for_port,
)

REPO = Path(__file__).resolve().parents[2]
SITE = REPO / "deploy" / "nginx" / "portal.conf"
ONION_SITE = REPO / "deploy" / "nginx" / "portal-onion.conf"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "")
OPENSSL = shutil.which("openssl") or ""

pytestmark = pytest.mark.skipif(
    not (NGINX and OPENSSL), reason="needs nginx (Debian nginx-light) and openssl"
)


@dataclass
class Front:
    https_port: int
    http_port: int
    onion_port: int
    prefix: Path
    workdir: Path
    relay: Relay
    portal: subprocess.Popen[str]


def site_config(prefix: Path, https_port: int, http_port: int, upstream: int) -> str:
    text = SITE.read_text()
    lines = [line for line in text.splitlines() if "listen [::]" not in line]
    text = "\n".join(lines) + "\n"
    replacements = {
        "listen 80 default_server;": f"listen 127.0.0.1:{http_port} default_server;",
        "listen 443 ssl default_server;": f"listen 127.0.0.1:{https_port} ssl default_server;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
        "/var/log/nginx/error.log": str(prefix / "error.log"),
        f"/etc/ssl/certs/{HOST}.crt": str(prefix / "cert.pem"),
        f"/etc/ssl/private/{HOST}.key": str(prefix / "key.pem"),
        "server 127.0.0.1:8000 ": f"server 127.0.0.1:{upstream} ",
        # The redirect names the standard port; here HTTPS is on a test port.
        "return 301 https://$server_name$request_uri;": (
            f"return 301 https://$server_name:{https_port}$request_uri;"
        ),
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/portal.conf no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def onion_config(prefix: Path, onion_port: int, upstream: int) -> str:
    text = ONION_SITE.read_text()
    replacements = {
        "listen 127.0.0.1:8080 proxy_protocol;": f"listen 127.0.0.1:{onion_port} proxy_protocol;",
        "server_name YOUR-ONION-ADDRESS.onion;": f"server_name {HOST};",
        "/var/log/nginx/error.log": str(prefix / "error.log"),
        "http://127.0.0.1:8000": f"http://127.0.0.1:{upstream}",
    }
    for old, new in replacements.items():
        assert old in text, f"deploy/nginx/portal-onion.conf no longer contains {old!r}"
        text = text.replace(old, new)
    return text


def main_config(prefix: Path) -> str:
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return (
        f"{user}worker_processes 1;\n"
        f"pid {prefix}/nginx.pid;\n"
        f"error_log {prefix}/error.log crit;\n"
        "events { worker_connections 64; }\n"
        "http {\n"
        # ON here, on purpose: the site's own "access_log off" must keep this empty.
        f"    access_log {prefix}/access.log;\n"
        f"    client_body_temp_path {prefix}/client_body;\n"
        f"    proxy_temp_path {prefix}/proxy;\n"
        f"    fastcgi_temp_path {prefix}/fastcgi;\n"
        f"    uwsgi_temp_path {prefix}/uwsgi;\n"
        f"    scgi_temp_path {prefix}/scgi;\n"
        f"    include {prefix}/site.conf;\n"
        f"    include {prefix}/onion.conf;\n"
        "}\n"
    )


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    prefix = tmp_path_factory.mktemp("nginx")
    workdir = tmp_path_factory.mktemp("portal")
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
         "-keyout", str(prefix / "key.pem"), "-out", str(prefix / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    portal_port = free_port()
    fill_demo(workdir)
    portal = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve", "--port", str(portal_port), "--proxy-headers"],
        cwd=workdir,
        env=portal_env(
            workdir, PORTAL_PUBLIC_URL=f"https://{HOST}", PORTAL_PURGE_INTERVAL_SECONDS="0"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    relay = Relay(portal_port)
    https_port, http_port, onion_port = free_port(), free_port(), free_port()
    (prefix / "site.conf").write_text(site_config(prefix, https_port, http_port, relay.port))
    (prefix / "onion.conf").write_text(onion_config(prefix, onion_port, relay.port))
    (prefix / "nginx.conf").write_text(main_config(prefix))
    check = subprocess.run(
        [NGINX, "-t", "-q", "-e", str(prefix / "startup.log"), "-p", str(prefix),
         "-c", str(prefix / "nginx.conf")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen(
        [NGINX, "-e", str(prefix / "startup.log"), "-p", str(prefix),
         "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    running = Front(https_port, http_port, onion_port, prefix, workdir, relay, portal)
    try:
        wait_for_port(portal_port, portal, "portal serve")
        wait_for_port(https_port, nginx, "nginx")
        yield running
    finally:
        stop(nginx)
        relay.close()
        if portal.poll() is None:
            stop(portal)


def test_security_headers_arrive_intact_with_one_hsts(front: Front) -> None:
    answer = get(front.https_port, "/login", *SPOOFED)
    assert answer.status == 200
    with urllib.request.urlopen(  # the portal itself, on the relay's target
        f"http://127.0.0.1:{front.relay.target_port}/login"
    ) as direct:
        expected = {name.lower(): value for name, value in direct.headers.items()}
    for name in (
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "permissions-policy",
        "x-frame-options",
        "cache-control",
    ):
        assert answer.all(name) == [expected[name]], name
    assert answer.all("strict-transport-security") == ["max-age=31536000; includeSubDomains"]
    assert answer.all("server") == ["nginx"]  # server_tokens off: no version (the portal
    # sends no Server header; hiding nginx's name needs a module nginx-light lacks)
    # The session cookie is issued: the portal believed the request came over HTTPS
    # (X-Forwarded-Proto from nginx, not the client's spoofed "http").
    assert any(v.startswith("__Host-sid=") for v in answer.all("set-cookie"))


def test_http_redirects_to_https_and_unknown_hosts_get_nothing(front: Front) -> None:
    answer = get(front.http_port, "/login?x=1", tls=False)
    assert answer.status == 301
    assert answer.all("location") == [f"https://{HOST}:{front.https_port}/login?x=1"]
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        send(front.https_port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", sni="other.example")


def test_an_oversize_body_gets_413_from_nginx(front: Front) -> None:
    size = 256 * 1024 + 1
    request = (
        f"POST /login HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: "
        f"application/x-www-form-urlencoded\r\nContent-Length: {size}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + b"a" * size
    before = len(front.relay.received)
    answer = send(front.https_port, request)
    assert answer.status == 413
    assert answer.all("strict-transport-security") == ["max-age=31536000; includeSubDomains"]
    assert b"POST /login" not in bytes(front.relay.received[before:])  # never reached the portal


def test_the_portal_is_told_the_real_sender_only_and_nothing_is_logged(front: Front) -> None:
    """nginx passes the sender's own address (to be hashed at once by the portal), never
    one a client claims, and logs nothing about anyone."""
    for path in ("/login", "/", "/static/does-not-exist.css"):
        get(front.https_port, path, *SPOOFED)
    seen = bytes(front.relay.received).decode("latin-1")
    assert "GET /login" in seen
    assert FAKE_CLIENT not in seen
    lowered = seen.lower()
    assert "x-forwarded-for: 127.0.0.1\r\n" in lowered
    assert "x-real-ip" not in lowered and "\nforwarded:" not in lowered
    assert "x-forwarded-proto: https" in lowered and "x-forwarded-proto: http\r" not in lowered
    # No access log at all, and nothing naming a client in nginx's error log.
    access = front.prefix / "access.log"
    assert not access.exists() or access.read_text() == ""
    for log in ("error.log", "startup.log"):
        path = front.prefix / log
        text = path.read_text() if path.exists() else ""
        assert "client:" not in text and FAKE_CLIENT not in text, text


def test_health_and_readiness_are_not_served_to_the_internet(front: Front) -> None:
    for path in ("/healthz", "/readyz"):
        assert get(front.https_port, path).status == 404
    assert b"GET /healthz" not in bytes(front.relay.received)


def test_metrics_are_not_served_to_the_internet_or_the_onion(front: Front) -> None:
    assert get(front.https_port, "/metrics").status == 404
    onion = b"PROXY TCP6 fc00:dead:beef:4dad::1:5 ::1 5 80\r\n"
    request = f"GET /metrics HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n"
    assert send(front.onion_port, onion + request.encode(), tls=False).status == 404
    assert b"GET /metrics" not in bytes(front.relay.received)


def test_a_guesser_cannot_lock_out_a_client_or_a_coordinator(front: Front) -> None:
    """DESIGN.md's fairness rule through the shipped site file: a guesser at 127.0.0.2
    is slowed (429) while a client at 127.0.0.3 redeems a valid slip and a coordinator
    there signs in."""
    demo = fill_demo(front.workdir)
    guesser_is_slowed_and_others_get_in(
        Sender(front.https_port, GUESSER), Sender(front.https_port, VISITOR), demo
    )


def _circuit(number: int) -> bytes:
    """The PROXY protocol line Tor sends with HiddenServiceExportCircuitID haproxy: the
    circuit's global id in the last 32 bits of an address in fc00:dead:beef:4dad::/64."""
    source = f"fc00:dead:beef:4dad::{number >> 16:x}:{number & 0xFFFF:x}"
    return f"PROXY TCP6 {source} ::1 65535 80\r\n".encode()


def test_one_tor_circuit_cannot_lock_out_another(front: Front) -> None:
    """The same through the shipped onion server block: two circuits, both arriving from
    Tor on 127.0.0.1, are two senders."""
    demo = fill_demo(front.workdir)
    guesser_is_slowed_and_others_get_in(
        Sender(front.onion_port, "127.0.0.1", tls=False, proxy_line=_circuit(70001)),
        Sender(front.onion_port, "127.0.0.1", tls=False, proxy_line=_circuit(70002)),
        demo,
    )


def test_the_onion_block_refuses_connections_without_the_proxy_line(front: Front) -> None:
    before = len(front.relay.received)
    with socket.create_connection(("127.0.0.1", front.onion_port), timeout=10) as sock:
        sock.sendall(f"GET /onion-without-proxy HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        assert sock.recv(65536) == b""  # closed: nothing answered, nothing passed on
    assert b"/onion-without-proxy" not in bytes(front.relay.received[before:])


def test_the_portal_output_names_no_address(front: Front) -> None:
    # The last test of the module: it stops the portal to read everything it printed.
    get(front.https_port, "/login", *SPOOFED)
    output = stop(front.portal)
    assert "Application startup complete" in output
    assert FAKE_CLIENT not in output, output
    assert "GET /" not in output and not re.search(r"127\.0\.0\.1:\d+ -", output), output
