"""SIGKILL during a write load loses no acknowledged write (SECURITY.md, Reliability).

A real ``portal serve`` is started on demo data; NGO workers book slots and clients add
notes without JavaScript (sealed on the server), over real HTTP from a thread pool. Every
write the server acknowledged (the slip page, 200; the note's redirect, 303) is recorded.
The server is SIGKILLed mid-load several times and started again; afterwards every
acknowledged write is in the database and the database passes its integrity check.
Runs on SQLite (a file in tmp_path), and on PostgreSQL in a database of its own when
PORTAL_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from secrets import token_hex
from typing import Any, TypeVar

import httpx2 as httpx
import pytest
from nacl.public import PrivateKey

from portal.crypto.totp import code_at
from portal.demo import DEMO_PASSWORD, PEOPLE
from portal.storage.database import connect
from tests.factories import NEEDS, on_own_loop
from tests.live import free_port, portal_env, run_portal

T = TypeVar("T")

ROUNDS = 3
SLOTS = 600
CLIENTS = 4
BOOKERS = 2  # per NGO worker
POSTGRES_URL = os.environ.get("PORTAL_TEST_DATABASE_URL", "")
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')
SLIP_CODE = re.compile(r'class="slip-code">([0-9 ]+)<')
SID = re.compile(r"__Host-sid=([^;]*)")


class Browser:
    """One visitor's session over plain HTTP (the ``__Host-`` cookie is kept by hand:
    the server is not behind TLS here, and a cookie jar would not send a Secure cookie)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.sid = ""
        self.http = httpx.Client(timeout=10, follow_redirects=False)

    def request(self, method: str, path: str, **data: str) -> httpx.Response:
        headers = {"cookie": f"__Host-sid={self.sid}"} if self.sid else {}
        response = self.http.request(method, self.base + path, data=data or None, headers=headers)
        self.http.cookies.clear()
        for value in response.headers.get_list("set-cookie"):
            found = SID.match(value)
            if found:
                self.sid = found.group(1)
        return response

    def token(self, page: str) -> str:
        found = CSRF.search(self.request("GET", page).text)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def twin(self) -> Browser:
        """The same session with a connection of its own, for another thread."""
        other = Browser(self.base)
        other.sid = self.sid
        return other

    def close(self) -> None:
        self.http.close()


@dataclass
class Ledger:
    """What the server acknowledged, and any answer that was neither an ack nor a drop."""

    booked: list[str] = field(default_factory=list)  # slot ids
    notes: Counter[str] = field(default_factory=Counter)  # client slot id -> notes
    unexpected: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def size(self) -> int:
        with self.lock:
            return len(self.booked) + sum(self.notes.values())


@dataclass
class Portal:
    workdir: Path
    env: dict[str, str]
    database_url: str
    process: subprocess.Popen[bytes] | None = None
    url: str = ""

    def start(self) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        log = (self.workdir / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "portal", "serve", "--port", str(port)],
            cwd=self.workdir,
            env=portal_env(self.workdir, PORTAL_PUBLIC_URL=self.url, **self.env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.output()
            assert time.monotonic() < deadline, "portal serve did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        return (self.workdir / "serve.log").read_text(errors="replace")


async def _prepare(url: str) -> list[str]:
    """Many free slots, and a key for each demo investigator (notes are sealed to it)."""
    from portal.storage.keys import insert_key
    from portal.storage.slots import insert_slot

    db = await connect(url)
    try:
        investigators = [
            row["id"]
            for row in await db.fetch_all("SELECT id FROM accounts WHERE role = 'investigator'")
        ]
        place = await db.fetch_value("SELECT id FROM places ORDER BY name LIMIT 1")
        now = int(time.time())
        slots = []
        for index in range(SLOTS):
            slot_id = f"kill-slot-{index:04d}-{token_hex(4)}"
            await insert_slot(
                db,
                slot_id=slot_id,
                investigator_id=investigators[index % len(investigators)],
                place_id=place,
                starts_at=now + 3 * 86400 + index * 3600,
                duration_minutes=60,
                languages=["fi", "en"],
                interpreter_available=False,
                now=now,
            )
            slots.append(slot_id)
        for investigator in investigators:
            await insert_key(
                db,
                key_id=token_hex(11),
                account_id=investigator,
                public_key=bytes(PrivateKey.generate().public_key),
                wrapped_key=os.urandom(96),
                recovery_wrapped_key=os.urandom(96),
                now=now,
            )
        return slots
    finally:
        await db.close()


def _log_in(base: str, username: str) -> Browser:
    secret = next(person[4] for person in PEOPLE if person[0] == username)
    browser = Browser(base)
    token = browser.token("/login")
    response = browser.request(
        "POST",
        "/login",
        csrf_token=token,
        username=username,
        password=DEMO_PASSWORD,
        totp_code=code_at(secret, int(time.time())),
    )
    assert response.status_code == 303, response.text
    return browser


def _book(browser: Browser, token: str, slot: str) -> httpx.Response:
    return browser.request(
        "POST", "/ngo/book", csrf_token=token, action="book", slot_id=slot, **NEEDS
    )


def _new_client(base: str, code: str) -> tuple[Browser, str]:
    client = Browser(base)
    response = client.request("POST", "/code", csrf_token=client.token("/code"), code=code)
    assert response.status_code == 200, response.text
    return client, client.token("/meeting")


class Load:
    """Booking and note-writing threads, hammering until ``stop`` is set."""

    def __init__(self, ledger: Ledger, slots: list[str]) -> None:
        self.ledger = ledger
        self.slots = slots
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def _next_slot(self) -> str | None:
        with self.ledger.lock:
            return self.slots.pop() if self.slots else None

    def book(self, browser: Browser, token: str) -> None:
        while not self.stop.is_set():
            slot = self._next_slot()
            if slot is None:
                return
            try:
                response = _book(browser, token, slot)
            except httpx.TransportError:
                time.sleep(0.02)  # killed mid-request: this write's fate is unknown
                continue
            with self.ledger.lock:
                if response.status_code == 200 and SLIP_CODE.search(response.text):
                    self.ledger.booked.append(slot)
                else:
                    self.ledger.unexpected.append(("book", response.status_code))

    def write_notes(self, client: Browser, token: str, slot: str) -> None:
        number = 0
        while not self.stop.is_set():
            number += 1
            try:
                response = client.request(
                    "POST",
                    "/meeting/notes",
                    csrf_token=token,
                    fears=f"kill test note {number}",
                    wishes="a quiet room",
                )
            except httpx.TransportError:
                time.sleep(0.02)
                continue
            with self.ledger.lock:
                if response.status_code == 303 and "noted=server" in response.headers.get(
                    "location", ""
                ):
                    self.ledger.notes[slot] += 1
                else:
                    self.ledger.unexpected.append(("note", response.status_code))

    def start(self, jobs: list[tuple[Any, tuple[Any, ...]]]) -> None:
        self.stop.clear()
        self.threads = [threading.Thread(target=fn, args=args, daemon=True) for fn, args in jobs]
        for thread in self.threads:
            thread.start()

    def join(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=20)
            assert not thread.is_alive()


def _kill_rounds(portal: Portal, slots: list[str]) -> Ledger:
    ledger = Ledger()
    load = Load(ledger, slots)
    browsers: list[Browser] = []
    jobs: list[tuple[Any, tuple[Any, ...]]] = []
    try:
        for round_number in range(ROUNDS):
            portal.start()
            for browser in browsers:  # same sessions, a new port
                browser.base = portal.url
            if round_number == 0:
                for username in ("ngo", "ngo2"):
                    worker = _log_in(portal.url, username)
                    token = worker.token("/ngo/book")
                    browsers.append(worker)
                    for _ in range(BOOKERS):
                        twin = worker.twin()
                        browsers.append(twin)
                        jobs.append((load.book, (twin, token)))
                    if username == "ngo":
                        for _ in range(CLIENTS):
                            slot = slots.pop()
                            response = _book(worker, token, slot)
                            found = SLIP_CODE.search(response.text)
                            assert found, response.text
                            ledger.booked.append(slot)
                            client, client_token = _new_client(portal.url, found.group(1))
                            browsers.append(client)
                            jobs.append((load.write_notes, (client, client_token, slot)))
            before = ledger.size()
            load.start(jobs)
            # Kill once this round's load has been acknowledged for a while.
            deadline = time.monotonic() + 15
            while ledger.size() < before + 30 and time.monotonic() < deadline:
                time.sleep(0.02)
            portal.kill()
            load.join()
            _sqlite_intact(portal.database_url)  # as the kill left it, before a restart
            assert ledger.size() >= before + 30, "the load made no progress"
        portal.start()  # starts cleanly after the last kill
        assert httpx.get(portal.url + "/healthz", timeout=5).status_code == 200
    finally:
        load.stop.set()
        portal.stop()
        for browser in browsers:
            browser.close()
    return ledger


def _sqlite_intact(url: str) -> None:
    if not url.startswith("sqlite:///"):
        return
    with closing(sqlite3.connect(url.removeprefix("sqlite:///"))) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def _missing(url: str, ledger: Ledger) -> list[str]:
    """Acknowledged writes that are not in the database."""
    db = await connect(url)
    try:
        missing = []
        for slot in ledger.booked:
            meeting = await db.fetch_one(
                "SELECT m.consultation_id FROM meetings m JOIN slots s ON s.id = m.slot_id"
                " WHERE m.slot_id = :slot AND s.status = 'booked'",
                slot=slot,
            )
            if meeting is None:
                missing.append(f"booking of {slot}")
        for slot, acknowledged in ledger.notes.items():
            stored = await db.fetch_value(
                "SELECT count(*) FROM notes n JOIN meetings m"
                " ON m.consultation_id = n.consultation_id"
                " WHERE m.slot_id = :slot AND n.author_role = 'client'",
                slot=slot,
            )
            if stored < acknowledged:
                missing.append(f"{acknowledged - stored} of {acknowledged} notes for {slot}")
        return missing
    finally:
        await db.close()


def _check(portal: Portal, ledger: Ledger) -> None:
    assert not ledger.unexpected, Counter(ledger.unexpected)
    assert len(ledger.booked) > CLIENTS and all(ledger.notes[s] > 0 for s in ledger.notes)
    assert len(ledger.notes) == CLIENTS
    missing = on_own_loop(_missing, portal.database_url, ledger)
    assert not missing, f"acknowledged writes lost: {missing}"
    assert "Traceback" not in portal.output(), portal.output()[-3000:]


SERVER_ENV = {
    "PORTAL_PURGE_INTERVAL_SECONDS": "0",
    "PORTAL_CODE_ATTEMPTS_PER_SOURCE_PER_MINUTE": "1000",
    "PORTAL_LOGIN_ATTEMPTS_PER_SOURCE_PER_MINUTE": "1000",
}


@contextmanager
def _own_postgres_database() -> Iterator[str]:
    """A database of this test's own, beside the shared test database, dropped after."""
    import psycopg
    from psycopg import sql

    name = f"reliability_{token_hex(6)}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _sep, _old = POSTGRES_URL.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.mark.postgres  # on PostgreSQL when PORTAL_TEST_DATABASE_URL is set
def test_sigkill_during_writes_loses_no_acknowledged_write(tmp_path: Path) -> None:
    """On PostgreSQL when PORTAL_TEST_DATABASE_URL is set (like the rest of the suite),
    else on SQLite."""
    if POSTGRES_URL:
        with _own_postgres_database() as url:
            portal, ledger = _run(tmp_path, url)
            _check(portal, ledger)
            # Constraints held through the kills: no meeting without slot or consultation.
            assert on_own_loop(_orphans, url) == 0
        return
    portal, ledger = _run(tmp_path, f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    _sqlite_intact(portal.database_url)
    _check(portal, ledger)


def _run(workdir: Path, url: str) -> tuple[Portal, Ledger]:
    env = {**SERVER_ENV, "PORTAL_DATABASE_URL": url}
    result = run_portal(workdir, "demo", **env)
    assert result.returncode == 0, result.stderr
    slots = on_own_loop(_prepare, url)
    portal = Portal(workdir, env, url)
    return portal, _kill_rounds(portal, slots)


async def _orphans(url: str) -> int:
    db = await connect(url)
    try:
        found: int = await db.fetch_value(
            "SELECT count(*) FROM meetings m LEFT JOIN slots s ON s.id = m.slot_id"
            " LEFT JOIN consultations c ON c.id = m.consultation_id"
            " WHERE s.id IS NULL OR c.id IS NULL"
        )
        return found
    finally:
        await db.close()
