"""A real ``portal serve`` process on a free local port, for CLI and browser tests."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

TEST_SECRET = "live-test-secret-" + "z" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def refused_port() -> Iterator[int]:
    """A local port that refuses connections while the block runs: held bound but not
    listening, so no other test (another worker's mail relay, say) can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        yield port


def portal_env(workdir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        {
            "PORTAL_DATABASE_URL": f"sqlite:///{workdir / 'portal.sqlite3'}",
            "PORTAL_SECRET_KEY": TEST_SECRET,
            "PORTAL_ARGON2_TIME_COST": "1",
            "PORTAL_ARGON2_MEMORY_KIB": "1024",
            "PORTAL_DEV_SECRET_FILE": str(workdir / "dev-secret"),
        }
    )
    env.update(extra)
    return env


def run_portal(workdir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portal", *args],
        cwd=workdir,
        env=portal_env(workdir, **env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)
    # Secrets a test used against this server: none may appear in its output.
    secrets: list[str] = field(default_factory=list)


@contextmanager
def live_server(workdir: Path, host: str = "127.0.0.1", **env: str) -> Iterator[LiveServer]:
    """``host="localhost"`` for WebAuthn, which refuses an IP address as relying party:
    the server still listens on 127.0.0.1, and its public URL names localhost."""
    port = free_port()
    public = f"http://{host}:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "portal", "serve", "--port", str(port)],
        cwd=workdir,
        env=portal_env(workdir, PORTAL_PUBLIC_URL=public, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = LiveServer(public, process)
    health = f"http://127.0.0.1:{port}/healthz"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(health, timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("portal serve did not start") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            out, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        server.output.extend(out.splitlines())


def meetings_begin(workdir: Path) -> None:
    """Time passes until every booked meeting has begun (a live server keeps real time,
    and a meeting can be marked held only once it has started): they started an hour ago."""
    with sqlite3.connect(workdir / "portal.sqlite3", timeout=30) as conn:
        conn.execute(
            "UPDATE meetings SET starts_at = CAST(strftime('%s', 'now') AS INTEGER) - 3600"
            " WHERE starts_at > CAST(strftime('%s', 'now') AS INTEGER) - 3600"
        )
