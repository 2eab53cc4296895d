"""Shared pieces for conversation tests: participants' keys, reading the write form of a
page, and sealing a message the way static/js/conversation.js does."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass

import httpx2 as httpx
from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto import client_keys
from portal.crypto.tokens import random_id
from portal.crypto.wrapped_keys import wrap
from portal.domain.conversation import RecipientKey, open_message, seal_message
from portal.storage import keys as key_store
from tests.factories import Actor, FakeClock, in_app, services_of
from tests.web.sealed import PASSPHRASE, RECOVERY, Case

RECIPIENT = re.compile(r'data-recipient="([^"]+)" data-public-key="([^"]+)"')
MESSAGE_ID = re.compile(r'name="message_id" value="([^"]+)"')


def register_staff_key(client: TestClient, clock: FakeClock, account_id: str) -> tuple[str, bytes]:
    """What the key page does in the browser, stored directly (any staff member)."""
    private = PrivateKey.generate()
    sk = bytes(private)
    key_id = random_id()
    svc = services_of(client)
    in_app(client, key_store.retire_keys, svc.db, account_id, clock.now())
    in_app(
        client,
        key_store.insert_key,
        svc.db,
        key_id=key_id,
        account_id=account_id,
        public_key=bytes(private.public_key),
        wrapped_key=wrap(sk, PASSPHRASE, 2, 19456),
        recovery_wrapped_key=wrap(sk, RECOVERY.replace("-", ""), 2, 19456),
        now=clock.now(),
    )
    return key_id, sk


def client_key_of(client: TestClient, case: Case) -> tuple[str, bytes]:
    """The client's key id and secret key, as their session opens it with the cookie
    (client key v1: made at redemption)."""
    db = services_of(client).db
    key_id = in_app(
        client,
        db.fetch_value,
        "SELECT client_key_id FROM consultations WHERE id = :c",
        c=case.consultation,
    )
    rows = in_app(
        client,
        db.fetch_all,
        "SELECT sealed_client_key FROM sessions WHERE consultation_id = :c"
        " AND sealed_client_key IS NOT NULL",
        c=case.consultation,
    )
    opened = [
        client_keys.open_from_session(case.client.session_id(), bytes(r["sealed_client_key"]))
        for r in rows
    ]
    assert key_id, "the client has a key (client key v1)"
    [secret] = [s for s in opened if s is not None]  # only this client's own session's
    return key_id, secret


def form_of(page: str) -> tuple[str, list[RecipientKey]]:
    """The fresh message id and the recipients the write form carries."""
    found = MESSAGE_ID.search(page)
    assert found, "the page has a write form"
    recipients = [
        RecipientKey(key_id, base64.b64decode(html.unescape(pk)), "", None, "")
        for key_id, pk in RECIPIENT.findall(page)
    ]
    return found.group(1), recipients


def sealed(
    recipients: list[RecipientKey],
    *,
    consultation: str,
    message_id: str,
    author: str,
    text: str,
    at: int,
) -> list[str]:
    """One ``envelope`` field per recipient, as the browser posts them."""
    return [
        f"{r.key_id}:"
        + base64.b64encode(
            seal_message(
                r,
                consultation_id=consultation,
                message_id=message_id,
                author_role=author,
                at=at,
                text=text,
            )
        ).decode()
        for r in recipients
    ]


def stored(client: TestClient, consultation: str) -> dict[str, dict[str, bytes]]:
    """message id -> recipient key id -> envelope."""
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT e.message_id, e.recipient_key_id, e.envelope FROM message_envelopes e"
        " JOIN messages m ON m.id = e.message_id WHERE m.consultation_id = :c",
        c=consultation,
    )
    found: dict[str, dict[str, bytes]] = {}
    for r in rows:
        found.setdefault(r["message_id"], {})[r["recipient_key_id"]] = bytes(r["envelope"])
    return found


FROM_POLICE = "canary-message-the-interpreter-is-confirmed-5150"
FROM_NGO = "canary-message-can-we-move-to-thursday-6260"
FROM_CLIENT = "canary-message-it-is-not-safe-for-me-now-7370"
FROM_CLIENT_NO_JS = "canary-message-written-without-javascript-8480"


@dataclass
class Talk:
    case: Case
    keys: dict[str, tuple[str, bytes]]  # role -> (key id, secret key)
    clock: FakeClock

    @property
    def consultation(self) -> str:
        return self.case.consultation

    def page(self, role: str) -> str:
        return {
            "investigator": f"/investigator/consultations/{self.consultation}",
            "ngo_worker": f"/ngo/consultations/{self.consultation}",
            "client": "/meeting",
        }[role]

    def actor(self, role: str) -> Actor:
        return {
            "investigator": self.case.investigator.actor,
            "ngo_worker": self.case.ngo,
            "client": self.case.client,
        }[role]

    def write(
        self, role: str, text: str, *, drop: int = 0, extra: list[str] | None = None
    ) -> tuple[str, httpx.Response]:
        """Seal ``text`` to the recipients the page names (``drop`` the last few, add
        ``extra`` fields) and post it as the browser does."""
        actor, page = self.actor(role), self.page(role)
        message_id, recipients = form_of(actor.get(page).text)
        envelopes = sealed(
            recipients[: len(recipients) - drop],
            consultation=self.consultation,
            message_id=message_id,
            author=role,
            text=text,
            at=self.clock.now(),
        )
        response = post(actor, page, message_id, envelopes + (extra or []))
        return message_id, response

    def opens(self, role: str, message_id: str, author: str) -> str:
        key_id, secret = self.keys[role]
        envelope = stored_envelopes(self)[message_id][key_id]
        return open_message(
            secret,
            envelope,
            consultation_id=self.consultation,
            message_id=message_id,
            author_role=author,
            recipient_key_id=key_id,
        )


def stored_envelopes(talk: Talk) -> dict[str, dict[str, bytes]]:
    return stored(talk.case.client.client, talk.consultation)


def post(actor: Actor, page: str, message_id: str, envelopes: list[str]) -> httpx.Response:
    token = actor.csrf_from(page)
    url = "/meeting/messages" if page == "/meeting" else page + "/messages"
    return actor.request(
        "POST",
        url,
        data={"csrf_token": token, "message_id": message_id, "envelope": envelopes},
        headers={"accept": "application/json"},
    )
