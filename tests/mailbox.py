"""A real SMTP server for the mail tests (aiosmtpd on 127.0.0.1, a free port), and helpers
that put addresses and attention items in place as the other parts of the portal would."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.testclient import TestClient

from portal.crypto.tokens import random_id
from portal.settings import Settings
from tests.conftest import make_settings
from tests.factories import in_app, services_of

MAIL_FROM = "portal@portal.test"


@dataclass(frozen=True)
class Received:
    recipients: list[str]
    raw: bytes

    @property
    def parsed(self) -> EmailMessage:
        found: EmailMessage = message_from_bytes(self.raw, policy=policy.default)  # type: ignore[assignment]
        return found

    @property
    def body(self) -> str:
        part = self.parsed.get_body(("plain",))
        assert part is not None
        text: str = part.get_content()  # type: ignore[attr-defined]
        return text

    @property
    def everything(self) -> str:
        """Headers, raw text and decoded body: where anything leaked would show."""
        return self.raw.decode("utf-8", "replace") + "\n" + self.body


@dataclass
class Mailbox:
    port: int
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(Received(list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.received if address in m.recipients]

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.received)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    # The test server's own log ("mail.log") writes every address: it is not the portal's.
    server_log = logging.getLogger("mail.log")
    server_log.disabled = True
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
        server_log.disabled = False


def mail_settings(database_url: str, port: int, **overrides: object) -> Settings:
    """Mail on, sent by calling ``mail.run_once`` (no loop) unless an interval is given."""
    chosen: dict[str, object] = {
        "smtp_url": f"smtp://127.0.0.1:{port}",
        "mail_from": MAIL_FROM,
        "mail_interval_seconds": 0,
    }
    return make_settings(database_url, **{**chosen, **overrides})


def set_address(client: TestClient, account_id: str, email: str, verified: bool = True) -> None:
    svc = services_of(client)
    in_app(
        client,
        svc.db.execute,
        "UPDATE accounts SET email = :email, email_verified_at = :at WHERE id = :id",
        email=email,
        at=svc.clock.now() if verified else None,
        id=account_id,
    )


def add_item(client: TestClient, account_id: str, consultation_id: str | None = None) -> None:
    """An open attention item, as the attention queue writes it."""
    svc = services_of(client)
    item_id = random_id()
    in_app(
        client,
        svc.db.execute,
        "INSERT INTO attention_items (id, account_id, consultation_id, kind, urgent, dedupe,"
        " created_at) VALUES (:id, :account, :consultation, 'message', 0, :id, :now)",
        id=item_id,
        account=account_id,
        consultation=consultation_id,
        now=svc.clock.now(),
    )


def outbox(client: TestClient) -> list[dict[str, Any]]:
    svc = services_of(client)
    rows = in_app(
        client,
        svc.db.fetch_all,
        "SELECT id, account_id, kind, created_at, not_before, attempts, sent_at, given_up_at"
        " FROM mail_outbox ORDER BY created_at, id",
    )
    return [dict(zip(row.keys(), tuple(row), strict=True)) for row in rows]
