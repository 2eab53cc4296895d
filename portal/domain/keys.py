"""Investigators' key pairs: registered, re-wrapped and replaced from the browser.

The server only ever receives the public key and the private key wrapped (wrapped-key
v1, docs/crypto.md) under the decryption passphrase and under the recovery key; it
checks the shape of what it stores, never its secret content, which it cannot see.
Replacing a key retires the old one: notes sealed to it can then no longer be read,
and the pages say which.
"""

from __future__ import annotations

import base64
import binascii
import struct

from portal.clock import Clock
from portal.crypto.tokens import random_id
from portal.domain.errors import InputRejected
from portal.i18n import N_
from portal.storage import keys as store
from portal.storage.database import Database
from portal.storage.keys import InvestigatorKey

WRAPPED_KEY_LENGTH = 1 + 4 + 4 + 16 + 24 + 32 + 16
MAX_OPSLIMIT = 20
MAX_MEMLIMIT_KIB = 1024 * 1024
BAD_KEY = N_("The key could not be saved. Reload the page and try again.")


class NoKeyYet(Exception):
    """The investigator has not created a key pair yet."""


def decode(field: str, value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputRejected(field, BAD_KEY) from exc


def check_wrapped_key(field: str, blob: bytes) -> bytes:
    """Shape only: version 1, sane argon2 parameters, the right length."""
    if len(blob) != WRAPPED_KEY_LENGTH or blob[0] != 1:
        raise InputRejected(field, BAD_KEY)
    opslimit, memlimit_kib = struct.unpack(">II", blob[1:9])
    if not (1 <= opslimit <= MAX_OPSLIMIT and 8 <= memlimit_kib <= MAX_MEMLIMIT_KIB):
        raise InputRejected(field, BAD_KEY)
    return blob


async def register_key(
    db: Database,
    clock: Clock,
    account_id: str,
    *,
    public_key: str,
    wrapped_key: str,
    recovery_wrapped_key: str,
) -> InvestigatorKey:
    pk = decode("public_key", public_key)
    if len(pk) != 32:
        raise InputRejected("public_key", BAD_KEY)
    wrapped = check_wrapped_key("wrapped_key", decode("wrapped_key", wrapped_key))
    recovery = check_wrapped_key(
        "recovery_wrapped_key", decode("recovery_wrapped_key", recovery_wrapped_key)
    )
    key_id = random_id()
    now = clock.now()
    async with db.transaction() as tx:
        await store.retire_keys(tx, account_id, now)
        await store.insert_key(
            tx,
            key_id=key_id,
            account_id=account_id,
            public_key=pk,
            wrapped_key=wrapped,
            recovery_wrapped_key=recovery,
            now=now,
        )
    found = await store.key_by_id(db, key_id)
    if found is None:
        raise NoKeyYet
    return found


async def rewrap_key(db: Database, account_id: str, wrapped_key: str) -> None:
    """A new passphrase (after a change or a recovery) for the same private key."""
    current = await store.current_key(db, account_id)
    if current is None:
        raise NoKeyYet
    wrapped = check_wrapped_key("wrapped_key", decode("wrapped_key", wrapped_key))
    await store.replace_wrapped_key(db, current.id, wrapped)
