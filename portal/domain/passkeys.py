"""Passkeys for staff: registering, signing in and confirming with one, removing one,
roles that require them, and recovery through a coordinator.

Threat: a phished TOTP code (a fake sign-in page relays password and code in real
time). A passkey answers only the portal's own origin, so password + passkey replaces
password + code at sign-in and for sensitive actions. Each challenge belongs to one
session and purpose, lives ``CHALLENGE_TTL`` seconds and is taken once by a conditional
delete before the answer is checked: a replayed answer finds no challenge. Counters
only move forward (a cloned authenticator is refused). Registration and removal are
sensitive (a thief's own passkey would be a lasting way in): they need a fresh
confirmation, are audited and reach the owner's other sessions as notices.

Recovery: an account whose role requires passkeys signs in only with one once it has
one. Who lost theirs gets a one-time link from a coordinator (audited); signing in
through it with password and code removes the lost passkeys, and the person must
register a new one before anything else.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from portal.clock import Clock
from portal.crypto import passkeys as webauthn
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher
from portal.crypto.tokens import random_id, sha256
from portal.domain import accounts, audit
from portal.domain.errors import InputRejected
from portal.domain.roles import ADVISER, INVESTIGATOR, NGO_WORKER
from portal.i18n import N_
from portal.settings import Settings
from portal.storage import accounts as account_store
from portal.storage import passkeys as store
from portal.storage.accounts import Account
from portal.storage.database import Database, Queryable
from portal.storage.passkeys import Passkey as Passkey

CHALLENGE_TTL = 120
PURPOSES = ("register", "sign_in", "confirm")
# The roles a coordinator may require passkeys of (coordinators set it, so it is theirs
# to use or not).
REQUIRABLE_ROLES = (INVESTIGATOR, NGO_WORKER, ADVISER)
NAME_MAX = 64
MAX_PER_ACCOUNT = 10

PASSKEY_REFUSED = N_("The passkey was not accepted. Try again.")
NAME_NEEDED = N_("Give the passkey a name, such as the device it is on.")
NAME_TOO_LONG = N_("The name is too long (at most 64 characters).")
TOO_MANY = N_("You have the most passkeys an account can have. Remove one first.")


# An audit event written in a given transaction.
Event = Callable[[Queryable], Awaitable[None]]


class PasskeyRefused(Exception):
    """A registration whose answer did not verify, or whose challenge was used or old."""


@dataclass(frozen=True)
class Options:
    json: str


def relying_party(settings: Settings) -> webauthn.RelyingParty:
    return webauthn.RelyingParty.from_public_url(settings.public_url)


def _user_handle(account: Account) -> bytes:
    # The WebAuthn user handle: the account's random id, nothing personal.
    return account.id.encode()


async def _new_challenge(db: Database, clock: Clock, session_hash: bytes, purpose: str) -> bytes:
    challenge = webauthn.new_challenge()
    now = clock.now()
    async with db.transaction() as tx:
        await store.store_challenge(tx, session_hash, purpose, challenge, now, now - CHALLENGE_TTL)
    return challenge


async def _take(
    db: Queryable, clock: Clock, session_hash: bytes, purpose: str, response: str
) -> bytes:
    """The challenge the answer signed, taken (once) from this session's store."""
    challenge = webauthn.challenge_of(response)
    now = clock.now()
    if not await store.take_challenge(db, session_hash, purpose, challenge, now - CHALLENGE_TTL):
        raise webauthn.PasskeyInvalid
    return challenge


async def list_passkeys(db: Queryable, account_id: str) -> list[Passkey]:
    return await store.passkeys_of(db, account_id)


# --- Registration -------------------------------------------------------------------------


async def registration_options(
    db: Database, clock: Clock, settings: Settings, account: Account, session_hash: bytes
) -> Options:
    existing = [p.credential_id for p in await store.passkeys_of(db, account.id)]
    challenge = await _new_challenge(db, clock, session_hash, "register")
    return Options(
        webauthn.registration_options(
            relying_party(settings),
            _user_handle(account),
            account.username,
            account.display_name,
            challenge,
            existing,
        )
    )


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name:
        raise InputRejected("name", NAME_NEEDED)
    if len(name) > NAME_MAX:
        raise InputRejected("name", NAME_TOO_LONG)
    return name


async def register(
    db: Database,
    clock: Clock,
    settings: Settings,
    account: Account,
    session_hash: bytes,
    session_tag: str,
    name: str,
    response: str,
) -> Passkey:
    """Only after a fresh confirmation in the same request (web/reauth.py). The passkey,
    its audit event and the notice for the other sessions are one transaction."""
    name = check_name(name)
    refusal: Exception | None = None
    async with db.transaction() as tx:  # the challenge is used up, whatever follows
        try:
            challenge = await _take(tx, clock, session_hash, "register", response)
            new = webauthn.verify_registration(relying_party(settings), response, challenge)
        except webauthn.PasskeyInvalid:
            await audit.record(tx, clock, "passkey_failed", None, actor=account, detail="register")
            refusal = PasskeyRefused()
        else:
            passkey = Passkey(
                random_id(),
                account.id,
                new.credential_id,
                new.public_key,
                new.sign_count,
                name,
                clock.now(),
                None,
            )
            if len(await store.passkeys_of(tx, account.id)) >= MAX_PER_ACCOUNT:
                refusal = InputRejected("name", TOO_MANY)
            elif await store.passkey_by_credential(tx, new.credential_id) is not None:
                refusal = PasskeyRefused()
            else:
                await store.insert_passkey(tx, passkey)
                await accounts.record_security_change(
                    tx, clock, account, "passkey_registered", session_tag
                )
    if refusal is not None:
        raise refusal
    return passkey


async def remove(
    db: Database, clock: Clock, account: Account, passkey_id: str, session_tag: str
) -> bool:
    """Only after a fresh confirmation in the same request. False: not the owner's."""
    async with db.transaction() as tx:
        if not await store.delete_passkey(tx, account.id, passkey_id):
            return False
        await accounts.record_security_change(tx, clock, account, "passkey_removed", session_tag)
    return True


# --- Assertions: sign-in and confirmation ----------------------------------------------


async def assertion_options(
    db: Database,
    clock: Clock,
    settings: Settings,
    session_hash: bytes,
    purpose: str,
    account: Account | None = None,
) -> Options:
    """At sign-in (no account yet) the browser is offered every passkey it has for this
    site; to confirm an action, only the account's own."""
    if purpose not in ("sign_in", "confirm"):
        raise ValueError(purpose)
    allowed = [p.credential_id for p in await store.passkeys_of(db, account.id)] if account else []
    challenge = await _new_challenge(db, clock, session_hash, purpose)
    return Options(webauthn.authentication_options(relying_party(settings), challenge, allowed))


async def _assert(
    db: Database,
    clock: Clock,
    settings: Settings,
    account: Account,
    session_hash: bytes,
    purpose: str,
    response: str,
    *,
    success: Event,
    failure: Event,
) -> bool:
    """Whether ``response`` is a fresh, verified answer of one of the account's passkeys
    to this session's challenge. The challenge is used up either way, in the transaction
    that records the ``success`` or ``failure`` audit event (and the new counter)."""
    async with db.transaction() as tx:
        if await _verified_use(tx, clock, settings, account.id, session_hash, purpose, response):
            await success(tx)
            return True
        await failure(tx)
        return False


async def _verified_use(
    tx: Queryable,
    clock: Clock,
    settings: Settings,
    account_id: str,
    session_hash: bytes,
    purpose: str,
    response: str,
) -> bool:
    try:
        challenge = await _take(tx, clock, session_hash, purpose, response)
        passkey = await store.passkey_by_credential(tx, webauthn.credential_id_of(response))
        if passkey is None or passkey.account_id != account_id:
            return False
        count = webauthn.verify_assertion(
            relying_party(settings), response, challenge, passkey.public_key, passkey.sign_count
        )
    except webauthn.PasskeyInvalid:
        return False
    return await store.advance_sign_count(tx, passkey.id, passkey.sign_count, count, clock.now())


async def sign_in(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    clock: Clock,
    settings: Settings,
    username: str,
    password: str,
    session_hash: bytes,
    response: str,
) -> Account:
    """Password and passkey instead of password and code. ``accounts.LoginFailed``
    otherwise, with one audit event either way (``passkey_sign_in``, or
    ``sign_in_failed`` / ``passkey_failed`` naming only an account that exists)."""
    secrets_ = await account_store.secrets_by_username(db, username.strip().lower())
    account = await account_store.account_by_id(db, secrets_.account_id) if secrets_ else None
    stored_hash = secrets_.password_hash if secrets_ else None
    # Unknown accounts verify a dummy hash: the same work, so the same timing.
    right = await hashing.run(lambda: hasher.verify_or_dummy(stored_hash, password))
    if not right or account is None or not account.is_active:
        detail = "password" if account is None or account.is_active else "disabled"
        await audit.record(
            db,
            clock,
            "sign_in_failed",
            None,
            actor_role=audit.VISITOR_ROLE,
            detail=detail if account else None,
            subject_account_id=account.id if account else None,
        )
        raise accounts.LoginFailed
    signed_in = account

    async def success(tx: Queryable) -> None:
        await audit.record(tx, clock, "passkey_sign_in", None, actor=signed_in)

    async def failure(tx: Queryable) -> None:
        await audit.record(
            tx,
            clock,
            "passkey_failed",
            None,
            actor_role=audit.VISITOR_ROLE,
            detail="sign_in",
            subject_account_id=signed_in.id,
        )

    if not await _assert(
        db,
        clock,
        settings,
        account,
        session_hash,
        "sign_in",
        response,
        success=success,
        failure=failure,
    ):
        raise accounts.LoginFailed
    return account


async def confirm(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    clock: Clock,
    settings: Settings,
    account_id: str,
    password: str,
    session_hash: bytes,
    response: str,
) -> Account:
    """Password and passkey again, for a sensitive action (instead of password and a new
    code). Raises ``accounts.ReauthFailed``; the caller limits attempts first."""
    account = await account_store.account_by_id(db, account_id)
    secrets_ = await account_store.secrets_by_id(db, account_id)
    if account is None or secrets_ is None or not account.is_active:
        raise accounts.ReauthFailed
    stored_hash = secrets_.password_hash
    if not await hashing.run(lambda: hasher.verify(stored_hash, password)):
        await audit.record(db, clock, "reauth_failed", None, actor=account)
        raise accounts.ReauthFailed
    confirming = account

    async def success(tx: Queryable) -> None:
        return None  # the action confirmed records its own event

    async def failure(tx: Queryable) -> None:
        await audit.record(tx, clock, "passkey_failed", None, actor=confirming, detail="confirm")

    if not await _assert(
        db,
        clock,
        settings,
        account,
        session_hash,
        "confirm",
        response,
        success=success,
        failure=failure,
    ):
        raise accounts.ReauthFailed
    return account


# --- Requirement per role, and recovery ------------------------------------------------


async def required_roles(db: Queryable) -> set[str]:
    return await store.required_roles(db)


async def set_required(
    db: Database, clock: Clock, actor: Account, role: str, required: bool
) -> None:
    if role not in REQUIRABLE_ROLES:
        raise ValueError(role)
    async with db.transaction() as tx:
        if await store.set_required(tx, role, required, actor.id, clock.now()):
            action = "passkey_requirement_set" if required else "passkey_requirement_lifted"
            await audit.record(tx, clock, action, None, actor=actor, detail=role)


class RecoveryInvalid(Exception):
    """An unknown, used, expired or withdrawn recovery link."""


async def issue_recovery(db: Database, clock: Clock, actor: Account, account_id: str) -> str:
    """A one-time recovery link's token for ``account_id`` (a staff account that is not
    the coordinator's own: a coordinator cannot lift their own requirement this way)."""
    target = await account_store.account_by_id(db, account_id)
    if target is None or target.id == actor.id or target.role not in REQUIRABLE_ROLES:
        raise RecoveryInvalid
    token = secrets.token_urlsafe(32)
    async with db.transaction() as tx:
        await store.insert_recovery(
            tx, random_id(), account_id, sha256(token), actor.id, clock.now()
        )
        await audit.record(
            tx, clock, "passkey_recovery_issued", None, actor=actor, subject_account_id=target.id
        )
    return token


async def open_recovery(db: Queryable, clock: Clock, ttl: int, token: str) -> str:
    """The account id the link is for; ``RecoveryInvalid`` otherwise."""
    found = await store.open_recovery(db, sha256(token), clock.now() - ttl)
    if found is None:
        raise RecoveryInvalid
    return found[1]


async def recover(
    db: Database,
    hasher: PasswordHasher,
    hashing: HashingPool,
    clock: Clock,
    ttl: int,
    token: str,
    given: accounts.Credentials,
    session_tag: str,
) -> Account:
    """Sign in through a recovery link with password and code: only the account the link
    is for, once. The lost passkeys go, in the sign-in's transaction, with an audit
    event and a notice; ``accounts.LoginFailed`` otherwise (the link stays usable)."""
    account_id = await open_recovery(db, clock, ttl, token)

    async def allowed(tx: Queryable, account: Account) -> bool:
        if account.id != account_id:
            return False
        found = await store.open_recovery(tx, sha256(token), clock.now() - ttl)
        if found is None or not await store.use_recovery(tx, found[0], clock.now()):
            return False
        await store.delete_account_passkeys(tx, account.id)
        await accounts.record_security_change(tx, clock, account, "passkey_recovered", session_tag)
        return True

    return await accounts.authenticate(db, hasher, hashing, clock, given, bypass=allowed)
