"""Staff key pairs (investigators and NGO workers): registered, re-wrapped and replaced
from the browser.

Only the roles that read sealed content hold a key (``KEY_HOLDERS``): investigators
(notes, messages) and NGO workers (messages). A coordinator never does: no sealed
content may ever reach the role that sees every consultation's metadata, so a key of
theirs is refused here as well as by the routes' guard.

The server only ever receives the public key and the private key wrapped (wrapped-key
v1, docs/crypto.md) under the decryption passphrase and under the recovery key; it
checks the shape of what it stores, never its secret content, which it cannot see. The
shape includes the argon2 floor (a stolen database must not make passphrases cheap to
guess) and a public key notes can be sealed to (not of low order).
Replacing a key retires the old one: notes sealed to it can then no longer be read,
and the pages say which.
"""

from __future__ import annotations

import base64
import binascii
import struct
from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto import wrapped_keys
from portal.crypto.envelopes import is_usable_public_key
from portal.crypto.tokens import random_id
from portal.domain import accounts
from portal.domain.errors import InputRejected
from portal.domain.roles import ADVISER, INVESTIGATOR, NGO_WORKER
from portal.i18n import N_
from portal.storage import keys as store
from portal.storage.accounts import Account
from portal.storage.database import Database, Queryable
from portal.storage.keys import StaffKey as StaffKey

WRAPPED_KEY_LENGTH = 1 + 4 + 4 + 16 + 24 + 32 + 16
BAD_KEY = N_("The key could not be saved. Reload the page and try again.")
# The roles whose members hold a key pair, because content is sealed to them.
KEY_HOLDERS = frozenset({INVESTIGATOR, NGO_WORKER, ADVISER})


class NoKeyYet(Exception):
    """The staff member has not created a key pair yet."""


class NotAKeyHolder(Exception):
    """The account's role holds no key (a coordinator): nothing is sealed to them."""


def may_hold_key(role: str) -> bool:
    """Whether members of ``role`` have a key pair (and the key page)."""
    return role in KEY_HOLDERS


def _check_holder(account: Account) -> None:
    if not may_hold_key(account.role):
        raise NotAKeyHolder


def decode(field: str, value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InputRejected(field, BAD_KEY) from exc


def check_wrapped_key(field: str, blob: bytes) -> bytes:
    """Shape only: version 1, the right length, argon2 parameters from the floor (19 MiB,
    2 passes) to the ceiling (the limits the browser and ``portal decrypt`` also keep)."""
    if len(blob) != WRAPPED_KEY_LENGTH or blob[0] != 1:
        raise InputRejected(field, BAD_KEY)
    opslimit, memlimit_kib = struct.unpack(">II", blob[1:9])
    if not (
        wrapped_keys.MIN_OPSLIMIT <= opslimit <= wrapped_keys.MAX_OPSLIMIT
        and wrapped_keys.MIN_MEMLIMIT_KIB <= memlimit_kib <= wrapped_keys.MAX_MEMLIMIT_KIB
    ):
        raise InputRejected(field, BAD_KEY)
    return blob


@dataclass(frozen=True)
class NewKey:
    """A key pair made in the browser, checked in shape and ready to store."""

    public_key: bytes
    wrapped_key: bytes
    recovery_wrapped_key: bytes


def check_new_key(public_key: str, wrapped_key: str, recovery_wrapped_key: str) -> NewKey:
    """Raises ``InputRejected``; changes nothing, so it runs before re-authentication."""
    pk = decode("public_key", public_key)
    if not is_usable_public_key(pk):
        raise InputRejected("public_key", BAD_KEY)
    return NewKey(
        pk,
        check_wrapped_key("wrapped_key", decode("wrapped_key", wrapped_key)),
        check_wrapped_key(
            "recovery_wrapped_key", decode("recovery_wrapped_key", recovery_wrapped_key)
        ),
    )


def check_rewrapped_key(wrapped_key: str) -> bytes:
    return check_wrapped_key("wrapped_key", decode("wrapped_key", wrapped_key))


async def register_key(
    db: Database, clock: Clock, account: Account, new: NewKey, session_tag: str
) -> StaffKey:
    """Only after re-authentication. Retires any earlier key; the audit event
    (``key_created`` or ``key_replaced``) and the owner's notice are in the same
    transaction, so no key changes without both. Raises ``NotAKeyHolder`` for a role
    that holds no key."""
    _check_holder(account)
    key_id = random_id()
    now = clock.now()
    async with db.transaction() as tx:
        retired = await store.retire_keys(tx, account.id, now)
        await store.insert_key(
            tx,
            key_id=key_id,
            account_id=account.id,
            public_key=new.public_key,
            wrapped_key=new.wrapped_key,
            recovery_wrapped_key=new.recovery_wrapped_key,
            now=now,
        )
        action = "key_replaced" if retired else "key_created"
        await accounts.record_security_change(tx, clock, account, action, session_tag)
    found = await store.key_by_id(db, key_id)
    if found is None:
        raise NoKeyYet
    return found


async def rewrap_key(
    db: Database, clock: Clock, account: Account, wrapped: bytes, session_tag: str
) -> None:
    """A new passphrase (after a change or a recovery) for the same private key. Only
    after re-authentication; audited as ``key_rewrapped`` with the owner's notice."""
    _check_holder(account)
    async with db.transaction() as tx:
        current = await store.current_key(tx, account.id)
        if current is None:
            raise NoKeyYet
        await store.replace_wrapped_key(tx, current.id, wrapped)
        await accounts.record_security_change(tx, clock, account, "key_rewrapped", session_tag)


async def current_key(db: Queryable, account_id: str) -> StaffKey | None:
    """The key content for ``account_id`` is sealed to now (None: none yet)."""
    return await store.current_key(db, account_id)


async def lacks_key(db: Queryable, account: Account) -> bool:
    """Whether ``account`` should have a key and has none: its pages then say what it
    cannot read (sealed messages, notes) and link the key page. False for a coordinator,
    who never has one."""
    return may_hold_key(account.role) and await store.current_key(db, account.id) is None
