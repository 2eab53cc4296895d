"""Enrolment: coordinators invite people with one-time links; invitees set up an account.

Threats: a leaked or guessed link. A link is an itsdangerous-signed token naming an
invitation row and a random nonce whose sha256 the row keeps; it works once (burned in
the same transaction that creates the account), expires, and can be revoked.

The TOTP secret is the server's choice, not the enrolling person's: one chosen (or
copied from a colleague, or weak) would make the second factor no factor. Between the
form and its submission it travels as a value signed under its own purpose and bound to
the invitation, so a secret edited in the page, or one minted for another invitation,
is refused.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto import totp
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher
from portal.crypto.tokens import InvalidToken, Keys, random_id, sha256
from portal.domain import audit
from portal.domain.errors import InputRejected, Problems
from portal.domain.needs import STAFF_GENDER
from portal.domain.password_policy import check_policy
from portal.domain.roles import ROLES_BY_ORGANISATION_KIND
from portal.i18n import N_
from portal.storage import accounts, invitations, organisations
from portal.storage.accounts import Account
from portal.storage.database import Database, Queryable
from portal.storage.invitations import Invitation as Invitation

PURPOSE = "enrolment"
TOTP_PURPOSE = "enrolment-totp"
# Long enough to set up an authenticator app without hurry; an older page gets a new key.
PENDING_SECRET_TTL = 2 * 3600
_BASE32_SECRET = re.compile(r"[A-Z2-7]{32}")
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")


class InvitationInvalid(Exception):
    """The link is forged, expired, used or revoked (the page does not say which)."""


class PendingSecretInvalid(Exception):
    """The signed TOTP secret of the enrolment form was altered, expired or is another
    invitation's."""


@dataclass(frozen=True)
class PendingSecret:
    secret: str  # shown on the page (QR code and key) to set up the app
    signed: str  # carried by the form to the submission


@dataclass(frozen=True)
class Enrolment:
    username: str
    password: str
    totp_secret: str
    totp_code: str


async def invite(
    db: Database,
    keys: Keys,
    clock: Clock,
    *,
    organisation_id: str,
    role: str,
    display_name: str,
    actor: Account | None,
    ttl: int,
    gender: str = "unspecified",
) -> str:
    """Create an invitation (made by ``actor``, or by ``portal init`` when None); returns
    the token for the enrolment link."""
    problems = Problems()
    display_name = display_name.strip()
    if not 2 <= len(display_name) <= 200:
        problems.add("display_name", N_("Enter a name of 2 to 200 characters."))
    org = await organisations.organisation_by_id(db, organisation_id)
    if org is None:
        problems.add("organisation_id", N_("Choose an organisation."))
    if not role:
        problems.add("role", N_("Choose a role."))
    elif org is not None and role not in ROLES_BY_ORGANISATION_KIND[org.kind]:
        problems.add("role", N_("This role does not belong to that organisation."))
    if gender not in STAFF_GENDER:
        problems.add("gender", N_("Choose one of the options."))
    problems.check()
    if org is None:  # refused above already; this tells the type checker
        raise InputRejected("organisation_id", N_("Choose an organisation."))
    invitation_id, nonce = random_id(), secrets.token_urlsafe(16)
    now = clock.now()
    async with db.transaction() as tx:
        await invitations.insert_invitation(
            tx,
            invitation_id=invitation_id,
            organisation_id=org.id,
            role=role,
            display_name=display_name,
            gender=gender,
            nonce_hash=sha256(nonce),
            created_by=actor.id if actor else None,
            now=now,
            expires_at=now + ttl,
        )
        await audit.record(
            tx, clock, "invitation_issued", None, actor=actor, detail=role, subject_id=invitation_id
        )
    return keys.sign(PURPOSE, {"i": invitation_id, "n": nonce})


async def open_invitation(
    db: Database, keys: Keys, clock: Clock, token: str, ttl: int
) -> Invitation:
    try:
        payload = keys.unsign(PURPOSE, token, max_age=ttl)
        invitation_id, nonce = str(payload["i"]), str(payload["n"])
    except (InvalidToken, KeyError, TypeError) as exc:
        raise InvitationInvalid from exc
    invitation = await invitations.invitation_by_id(db, invitation_id)
    if invitation is None or not hmac.compare_digest(invitation.nonce_hash, sha256(nonce)):
        raise InvitationInvalid
    if not invitation.is_open(clock.now()):
        raise InvitationInvalid
    return invitation


def new_pending_secret(keys: Keys, invitation: Invitation) -> PendingSecret:
    secret = totp.new_secret()
    return PendingSecret(secret, keys.sign(TOTP_PURPOSE, {"i": invitation.id, "s": secret}))


def open_pending_secret(keys: Keys, invitation: Invitation, signed: str) -> str:
    """The TOTP secret this server chose for ``invitation``, from the form's signed value."""
    try:
        payload = keys.unsign(TOTP_PURPOSE, signed, max_age=PENDING_SECRET_TTL)
        invitation_id, secret = str(payload["i"]), str(payload["s"])
    except (InvalidToken, KeyError, TypeError) as exc:
        raise PendingSecretInvalid from exc
    if not hmac.compare_digest(invitation_id, invitation.id):
        raise PendingSecretInvalid
    if not _BASE32_SECRET.fullmatch(secret):
        raise PendingSecretInvalid
    return secret


async def enrol(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    clock: Clock,
    invitation: Invitation,
    given: Enrolment,
) -> str:
    """Create the account and burn the invitation; returns the new account id."""
    username = given.username.strip().lower()
    if not USERNAME.fullmatch(username):
        raise InputRejected(
            "username", N_("Use 3 to 64 letters a-z, digits, dots, dashes or underscores.")
        )
    if await accounts.username_taken(db, username):
        raise InputRejected("username", N_("This username is taken. Choose another one."))
    try:
        check_policy(given.password)
    except ValueError as exc:
        raise InputRejected("password", str(exc)) from exc
    now = clock.now()
    step = totp.accepted_step(given.totp_secret, given.totp_code, now, last_step=0)
    if step is None:
        raise InputRejected(
            "totp_code", N_("The code does not match. Check the time on your phone and try again.")
        )
    password_hash = await hashing.run(lambda: hasher.hash(given.password))
    account_id = random_id()
    async with db.transaction() as tx:
        if not await invitations.mark_used(tx, invitation.id, now):
            raise InvitationInvalid
        await accounts.insert_account(
            tx,
            account_id=account_id,
            organisation_id=invitation.organisation_id,
            username=username,
            display_name=invitation.display_name,
            role=invitation.role,
            gender=invitation.gender,
            password_hash=password_hash,
            totp_secret=given.totp_secret,
            totp_last_step=step,
            now=now,
        )
        account = await accounts.account_by_id(tx, account_id)
        for action in ("invitation_used", "enrolled"):
            await audit.record(
                tx,
                clock,
                action,
                None,
                actor=account,
                subject_account_id=account_id,
                subject_id=invitation.id,
            )
    return account_id


async def revoke_invitation(
    db: Database, clock: Clock, invitation_id: str, *, actor: Account | None = None
) -> bool:
    """Withdraw an open invitation; False (and no audit event) if it was not open."""
    async with db.transaction() as tx:
        if not await invitations.revoke(tx, invitation_id, clock.now()):
            return False
        await audit.record(
            tx, clock, "invitation_revoked", None, actor=actor, subject_id=invitation_id
        )
    return True


async def list_invitations(db: Queryable) -> Sequence[Invitation]:
    return await invitations.list_invitations(db)
