"""Slow and oversize requests against a real ``portal serve``: bounded, and the server
stays responsive meanwhile.

Measured before portal/security/bodylimit.py had a body deadline: uvicorn (h11) bounds
only the idle time between requests (``--timeout-keep-alive``), so a client that sent
its headers and then trickled a byte every half second held its request open for as
long as it liked. Now the whole body must arrive within ``PORTAL_BODY_TIMEOUT_SECONDS``
(3 s here) or the answer is 408 and the connection is closed; a declared length over the
limit gets 413 before a byte of body is read.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.live import LiveServer, live_server

BODY_TIMEOUT = 3
# Generous bounds for a loaded 2-core CI machine; the point is "seconds, not for ever",
# and other visitors answered well before a slow body's deadline.
ANSWER_WITHIN = BODY_TIMEOUT + 4
PROMPT = 2.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    workdir: Path = tmp_path_factory.mktemp("slow")
    with live_server(
        workdir,
        PORTAL_PURGE_INTERVAL_SECONDS="0",
        PORTAL_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
    ) as running:
        yield running
    assert not [line for line in running.output if "Traceback" in line], running.output


def _connect(server: LiveServer) -> socket.socket:
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10)
    return sock


def _head(path: str, length: int, host: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {length}\r\n\r\n"
    ).encode()


def _read_all(sock: socket.socket, until: float) -> bytes:
    """Everything the server sends until it closes the connection (or ``until``)."""
    data = b""
    while time.monotonic() < until:
        sock.settimeout(max(0.05, until - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def _answer_while_trickling(sock: socket.socket, until: float) -> tuple[bytes, float, bool]:
    """Keep sending a byte every 0.2 s and collect the answer.

    Returns the bytes received, when the first arrived, and whether the server closed
    the connection before ``until``.
    """
    data, first = b"", 0.0
    sock.settimeout(0.2)
    while time.monotonic() < until:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            chunk = None
        except OSError:
            return data, first, True
        if chunk == b"":
            return data, first, True
        if chunk:
            first = first or time.monotonic()
            data += chunk
        try:
            sock.sendall(b"x")
        except OSError:
            return data + _read_all(sock, time.monotonic() + 0.5), first, True
    return data, first, False


def _status(data: bytes) -> int:
    assert data.startswith(b"HTTP/1.1 "), data[:80]
    return int(data.split(b" ", 2)[1])


def _healthz_seconds(server: LiveServer) -> float:
    started = time.monotonic()
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:  # noqa: S310 - local test server
        assert response.status == 200
    return time.monotonic() - started


class Trickler(threading.Thread):
    """Sends the headers and a start of the body, then one byte every ``pause`` seconds."""

    def __init__(self, server: LiveServer, pause: float = 0.3) -> None:
        super().__init__(daemon=True)
        self.sock = _connect(server)
        self.host = urlsplit(server.url).netloc
        self.pause = pause
        self.answer = b""
        self.answered_after = -1.0
        self.stop = threading.Event()

    def run(self) -> None:
        started = time.monotonic()
        self.sock.sendall(_head("/login", 10_000, self.host) + b"username=")
        self.sock.settimeout(self.pause)
        while not self.stop.is_set() and time.monotonic() - started < 30:
            try:
                self.sock.sendall(b"x")
            except OSError:
                break  # the server closed the connection
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            self.answer += chunk
            if self.answered_after < 0:
                self.answered_after = time.monotonic() - started
        self.answer += _read_all(self.sock, time.monotonic() + 1)
        self.sock.close()


def test_a_trickled_body_gets_408_and_a_closed_connection(server: LiveServer) -> None:
    trickler = Trickler(server)
    trickler.start()
    # While the body trickles, other visitors are answered promptly.
    waits = []
    while trickler.is_alive() and len(waits) < 20:
        waits.append(_healthz_seconds(server))
        time.sleep(0.1)
    trickler.join(timeout=ANSWER_WITHIN + 5)
    assert not trickler.is_alive(), "the server never ended the slow request"
    assert max(waits) < PROMPT, waits
    assert _status(trickler.answer) == 408
    assert 0 < trickler.answered_after < ANSWER_WITHIN
    assert b"Traceback" not in trickler.answer


def test_many_slow_bodies_at_once_do_not_stall_the_server(server: LiveServer) -> None:
    tricklers = [Trickler(server, pause=0.5) for _ in range(40)]
    for trickler in tricklers:
        trickler.start()
    time.sleep(0.5)
    waits = [_healthz_seconds(server) for _ in range(5)]
    for trickler in tricklers:
        trickler.join(timeout=ANSWER_WITHIN + 5)
    assert max(waits) < PROMPT, waits
    assert all(not t.is_alive() for t in tricklers)
    assert {_status(t.answer) for t in tricklers} == {408}


def test_a_body_that_stops_arriving_gets_408(server: LiveServer) -> None:
    with _connect(server) as sock:
        started = time.monotonic()
        sock.sendall(_head("/login", 500, urlsplit(server.url).netloc) + b"username=a")
        answer = _read_all(sock, started + ANSWER_WITHIN + 2)
        elapsed = time.monotonic() - started
    assert _status(answer) == 408
    assert BODY_TIMEOUT - 0.5 < elapsed < ANSWER_WITHIN


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (256 * 1024 + 1, 413),  # just over PORTAL_MAX_BODY_BYTES: refused by the portal
        (10**12, 413),
        (10**30, 400),  # beyond what h11 parses: uvicorn itself answers 400 and closes
    ],
)
def test_a_huge_declared_length_gets_an_answer_at_once_and_the_connection_closes(
    server: LiveServer, length: int, expected: int
) -> None:
    with _connect(server) as sock:
        started = time.monotonic()
        sock.sendall(_head("/login", length, urlsplit(server.url).netloc) + b"username=a")
        answer, first_byte, closed = _answer_while_trickling(sock, started + ANSWER_WITHIN)
    assert _status(answer) == expected
    assert b"Traceback" not in answer
    assert first_byte - started < PROMPT
    # Even a client that keeps sending the body it announced is cut off.
    assert closed, "the connection stayed open after the refusal"
    assert _healthz_seconds(server) < PROMPT


def test_a_huge_streamed_body_is_cut_off_with_413(server: LiveServer) -> None:
    field = b"x" * 60_000  # each field under the 64 KiB field limit, the body over 256 KiB
    body = b"&".join(b"f%d=%s" % (i, field) for i in range(70))  # about 4 MiB offered
    with _connect(server) as sock:
        host = urlsplit(server.url).netloc
        sock.sendall(
            (
                f"POST /login HTTP/1.1\r\nHost: {host}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                "Transfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        started = time.monotonic()
        try:
            for offset in range(0, len(body), 65536):
                chunk = body[offset : offset + 65536]
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server stopped reading and closed: also bounded
        answer, _first, closed = _answer_while_trickling(sock, started + ANSWER_WITHIN)
    assert _status(answer) == 413
    assert closed
    assert time.monotonic() - started < ANSWER_WITHIN
