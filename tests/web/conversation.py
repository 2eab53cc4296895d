"""Shared pieces for conversation tests: participants' keys, reading the write form of a
page, and sealing a message the way static/js/conversation.js does."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass

from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto.tokens import random_id
from portal.crypto.wrapped_keys import wrap
from portal.domain.conversation import RecipientKey, seal_message
from portal.storage import keys as key_store
from tests.factories import FakeClock, in_app, services_of
from tests.web.sealed import PASSPHRASE, RECOVERY, Case

RECIPIENT = re.compile(r'data-recipient="([^"]+)" data-public-key="([^"]+)"')
MESSAGE_ID = re.compile(r'name="message_id" value="([^"]+)"')


@dataclass
class Keys:
    """Secret keys by key id, for every participant a test made a key for."""

    secret: dict[str, bytes]


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


def give_client_key(client: TestClient, consultation: str) -> tuple[str, bytes]:
    """A client key as redemption records it (public half only in the database)."""
    private = PrivateKey.generate()
    key_id = random_id()
    in_app(
        client,
        services_of(client).db.execute,
        "UPDATE consultations SET client_key_id = :k, client_public_key = :pk WHERE id = :c",
        k=key_id,
        pk=bytes(private.public_key),
        c=consultation,
    )
    return key_id, bytes(private)


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


__all__ = ["Case", "Keys"]
