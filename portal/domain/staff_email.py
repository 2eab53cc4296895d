"""A staff member's e-mail address for alerts: setting, verifying and removing it.

Threats: a stolen session pointing the alerts at the thief's mailbox (who would then
learn when there is activity), and mail sent to an address its owner never proved to
read. Setting or removing an address needs password and code again (web/reauth.py), is
audited, and leaves a notice in the owner's other sessions. A new or changed address
gets nothing but a verification mail until its link is used: the link is signed,
expires, and binds the account and the address (a link for an earlier address, or for
somebody else, is refused). Opening the link changes nothing (mail scanners follow
links); only the button on its page, pressed while signed in as that account, verifies.
"""

from __future__ import annotations

import hmac

from portal.clock import Clock
from portal.crypto.tokens import InvalidToken, Keys
from portal.domain import accounts, audit, mail
from portal.domain.errors import InputRejected
from portal.i18n import N_
from portal.smtp import plausible_address
from portal.storage import mail as store
from portal.storage.accounts import Account
from portal.storage.database import Database, Queryable
from portal.storage.mail import Address as Address

BAD_ADDRESS = N_("Enter one e-mail address, like name@example.org.")
SAME_ADDRESS = N_("This address is saved and confirmed already.")


class VerificationInvalid(Exception):
    """The link is forged, expired, another account's, or for an address no longer set
    (the page does not say which)."""


async def address_of(db: Queryable, account_id: str) -> Address:
    return await store.address_of(db, account_id)


async def set_address(
    db: Database, clock: Clock, account: Account, email: str, session_tag: str
) -> None:
    """Only after ``reauth.confirm`` in the same request. The address, its audit event,
    the notice and the verification mail are one transaction."""
    email = email.strip()
    if not plausible_address(email):
        raise InputRejected("email", BAD_ADDRESS)
    current = await store.address_of(db, account.id)
    if current.email == email and current.verified_at is not None:
        raise InputRejected("email", SAME_ADDRESS)
    now = clock.now()
    async with db.transaction() as tx:
        await store.set_address(tx, account.id, email)
        await accounts.record_security_change(tx, clock, account, "email_set", session_tag)
        await mail.queue_verification(tx, account.id, now)


async def remove_address(db: Database, clock: Clock, account: Account, session_tag: str) -> bool:
    """False (and nothing recorded) if there was no address."""
    async with db.transaction() as tx:
        if (await store.address_of(tx, account.id)).email is None:
            return False
        await store.set_address(tx, account.id, None)
        await store.cancel_pending(tx, account.id, mail.VERIFY, clock.now())
        await accounts.record_security_change(tx, clock, account, "email_removed", session_tag)
    return True


def _checked(keys: Keys, account: Account, address: Address, token: str, now: int) -> str:
    """The address ``token`` verifies, or ``VerificationInvalid``."""
    try:
        payload = keys.unsign(mail.VERIFY_PURPOSE, token, max_age=mail.VERIFY_TTL)
        account_id, address_mac, issued = str(payload["a"]), str(payload["h"]), payload["t"]
    except (InvalidToken, KeyError, TypeError) as exc:
        raise VerificationInvalid from exc
    if not isinstance(issued, int) or not 0 <= now - issued <= mail.VERIFY_TTL:
        raise VerificationInvalid
    if address.email is None or not hmac.compare_digest(account_id, account.id):
        raise VerificationInvalid
    accepted = keys.accepted_macs(mail.VERIFY_ADDRESS_PURPOSE, address.email)
    if not any(hmac.compare_digest(address_mac, mac) for mac in accepted):
        raise VerificationInvalid
    return address.email


async def check_link(db: Queryable, keys: Keys, clock: Clock, account: Account, token: str) -> None:
    """For the page the link opens: raises ``VerificationInvalid``, changes nothing."""
    _checked(keys, account, await store.address_of(db, account.id), token, clock.now())


async def verify(db: Database, keys: Keys, clock: Clock, account: Account, token: str) -> bool:
    """Mark the address verified (the button's POST). False if it was verified already."""
    async with db.transaction() as tx:
        address = await store.address_of(tx, account.id)
        email = _checked(keys, account, address, token, clock.now())
        if not await store.mark_verified(tx, account.id, email, clock.now()):
            return False
        await audit.record(tx, clock, "email_verified", None, actor=account)
    return True
