"""What the proxy tests share: a recording TCP relay, a tiny HTTP client over TLS."""

from __future__ import annotations

import contextlib
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass

from tests.live import free_port

HOST = "portal.example.org"
FAKE_CLIENT = "203.0.113.77"  # TEST-NET-3: the address a client claims in headers


class Relay:
    """A TCP relay from nginx to the portal that keeps a copy of every request."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.received = bytearray()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", self.port))
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                downstream, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(
                target=self._pipe, args=(downstream, upstream, True), daemon=True
            ).start()
            threading.Thread(
                target=self._pipe, args=(upstream, downstream, False), daemon=True
            ).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, record: bool) -> None:
        try:
            while data := source.recv(65536):
                if record:
                    with self._lock:
                        self.received += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def close(self) -> None:
        self._server.close()


def wait_for_port(port: int, process: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                out = process.communicate()[0] if process.poll() is not None else ""
                raise RuntimeError(f"{what} did not start: {out}") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen[str]) -> str:
    process.terminate()
    try:
        out, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out or ""


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name]


def parse(raw: bytes) -> Answer:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = [tuple(line.split(": ", 1)) for line in lines[1:] if ": " in line]
    return Answer(int(lines[0].split(" ")[1]), headers, body)  # type: ignore[arg-type]


def send(port: int, request: bytes, *, tls: bool = True, sni: str = HOST) -> Answer:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # our own test certificate
        sock = context.wrap_socket(sock, server_hostname=sni)
    with sock:
        sock.sendall(request)
        raw = b""
        try:
            while chunk := sock.recv(65536):
                raw += chunk
        except (ConnectionResetError, ssl.SSLError):
            pass
    return parse(raw)


def get(port: int, path: str, *extra: str, tls: bool = True) -> Answer:
    headers = "".join(f"{line}\r\n" for line in extra)
    request = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{headers}Connection: close\r\n\r\n"
    return send(port, request.encode(), tls=tls)


SPOOFED = (
    f"X-Forwarded-For: {FAKE_CLIENT}",
    f"X-Real-IP: {FAKE_CLIENT}",
    f"Forwarded: for={FAKE_CLIENT};proto=http",
    "X-Forwarded-Proto: http",
)
