"""Queries on server-side sessions. Rows are keyed by the sha256 of the cookie value."""

from __future__ import annotations

from dataclasses import dataclass

from portal.storage.accounts import ACCOUNT_COLUMNS, Account
from portal.storage.database import Queryable


@dataclass(frozen=True)
class SessionRow:
    id_hash: bytes
    account: Account | None
    consultation_id: str | None
    locale: str | None
    created_at: int
    last_seen_at: int
    # When this session last proved password and second factor (a sign-in counts).
    reauth_at: int | None = None
    # The account's open attention items, for the header (0 for a client's session).
    attention_count: int = 0
    # A client's secret key, sealed under a key derived from the cookie (client key v1).
    sealed_client_key: bytes | None = None


_SESSION_BY_HASH = f"""
SELECT s.locale, s.created_at, s.last_seen_at, s.reauth_at, s.account_id,
       s.consultation_id,
       (SELECT COUNT(*) FROM attention_items i
        WHERE i.account_id = s.account_id AND i.done_at IS NULL) AS attention_count,
       s.sealed_client_key, {ACCOUNT_COLUMNS}
FROM sessions s
LEFT JOIN accounts a ON a.id = s.account_id
LEFT JOIN organisations o ON o.id = a.organisation_id
WHERE s.id_hash = :h
"""  # noqa: S608 - column names from the Account dataclass, no input


async def session_by_hash(db: Queryable, id_hash: bytes) -> SessionRow | None:
    """The session, its account and the count of the account's open attention items in
    one round trip (this runs on every request; the count is a scalar subquery on the
    index of attention_items by account and done_at)."""
    row = await db.fetch_one(_SESSION_BY_HASH, h=id_hash)
    if row is None:
        return None
    # By position, in the order selected (the account's columns follow its fields, see
    # ACCOUNT_COLUMNS): a look-up by column name costs several times more.
    (
        locale,
        created_at,
        last_seen_at,
        reauth_at,
        account_id,
        consultation_id,
        count,
        sealed,
        *account,
    ) = row
    return SessionRow(
        id_hash,
        None if account_id is None else Account(*account),
        consultation_id,
        locale,
        created_at,
        last_seen_at,
        reauth_at,
        int(count or 0),
        None if sealed is None else bytes(sealed),
    )


async def insert_session(
    db: Queryable,
    id_hash: bytes,
    account_id: str | None,
    locale: str | None,
    now: int,
    consultation_id: str | None = None,
    sealed_client_key: bytes | None = None,
) -> None:
    # A staff session begins at a sign-in (or an enrolment, or a password change), each
    # of which proved password and second factor: it starts freshly re-authenticated.
    await db.execute(
        """
        INSERT INTO sessions (id_hash, account_id, consultation_id, locale, created_at,
                              last_seen_at, reauth_at, sealed_client_key)
        VALUES (:h, :account_id, :consultation_id, :locale, :now, :now, :reauth_at, :sealed)
        """,
        h=id_hash,
        account_id=account_id,
        consultation_id=consultation_id,
        locale=locale,
        now=now,
        reauth_at=None if account_id is None else now,
        sealed=sealed_client_key,
    )


async def touch_session(db: Queryable, id_hash: bytes, now: int) -> None:
    await db.execute(
        "UPDATE sessions SET last_seen_at = :now WHERE id_hash = :h", h=id_hash, now=now
    )


async def set_session_reauth(db: Queryable, id_hash: bytes, now: int) -> None:
    await db.execute("UPDATE sessions SET reauth_at = :now WHERE id_hash = :h", h=id_hash, now=now)


async def set_session_locale(db: Queryable, id_hash: bytes, locale: str) -> None:
    await db.execute("UPDATE sessions SET locale = :l WHERE id_hash = :h", h=id_hash, l=locale)


async def delete_session(db: Queryable, id_hash: bytes) -> None:
    await db.execute("DELETE FROM sessions WHERE id_hash = :h", h=id_hash)


async def delete_account_sessions(db: Queryable, account_id: str) -> None:
    await db.execute("DELETE FROM sessions WHERE account_id = :id", id=account_id)


async def delete_consultation_sessions(db: Queryable, consultation_id: str) -> None:
    """End every client session of a consultation (its client code was replaced)."""
    await db.execute("DELETE FROM sessions WHERE consultation_id = :c", c=consultation_id)


async def delete_stale_sessions(db: Queryable, idle_before: int, created_before: int) -> int:
    return await db.execute(
        "DELETE FROM sessions WHERE last_seen_at < :idle OR created_at < :created",
        idle=idle_before,
        created=created_before,
    )
