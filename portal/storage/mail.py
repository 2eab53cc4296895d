"""Queries for staff e-mail: the address on the account, and the mail outbox."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable


@dataclass(frozen=True)
class Address:
    email: str | None
    verified_at: int | None


@dataclass(frozen=True)
class Outgoing:
    """A queued mail as the sender sees it: the address is read from the account now, so
    a mail queued before a change of address goes to the current one (or to none)."""

    id: str
    account_id: str
    kind: str
    attempts: int


async def address_of(db: Queryable, account_id: str) -> Address:
    row = await db.fetch_one(
        "SELECT email, email_verified_at FROM accounts WHERE id = :id", id=account_id
    )
    return Address(None, None) if row is None else Address(*row)


async def set_address(db: Queryable, account_id: str, email: str | None) -> None:
    """A new address (or none) is never verified: only its own link verifies it."""
    await db.execute(
        "UPDATE accounts SET email = :email, email_verified_at = NULL WHERE id = :id",
        id=account_id,
        email=email,
    )


async def mark_verified(db: Queryable, account_id: str, email: str, now: int) -> bool:
    """False if the account's address is no longer ``email`` or was verified already."""
    changed = await db.execute(
        "UPDATE accounts SET email_verified_at = :now"
        " WHERE id = :id AND email = :email AND email_verified_at IS NULL",
        id=account_id,
        email=email,
        now=now,
    )
    return changed == 1


async def recipient(db: Queryable, account_id: str, *, verified: bool) -> str | None:
    """The address to send to: none for a disabled account, and for ``verified`` mail none
    unless the address is verified."""
    sql = "SELECT email FROM accounts WHERE id = :id AND disabled_at IS NULL AND email IS NOT NULL"
    if verified:
        sql += " AND email_verified_at IS NOT NULL"
    found: str | None = await db.fetch_value(sql, id=account_id)
    return found


async def enqueue(db: Queryable, mail_id: str, account_id: str, kind: str, now: int) -> None:
    await db.execute(
        "INSERT INTO mail_outbox (id, account_id, kind, created_at, not_before, attempts)"
        " VALUES (:id, :account_id, :kind, :now, :now, 0)",
        id=mail_id,
        account_id=account_id,
        kind=kind,
        now=now,
    )


async def cancel_pending(db: Queryable, account_id: str, kind: str, now: int) -> None:
    """Give up the account's unsent mail of ``kind`` (a verification for a replaced address)."""
    await db.execute(
        "UPDATE mail_outbox SET given_up_at = :now"
        " WHERE account_id = :id AND kind = :kind AND sent_at IS NULL AND given_up_at IS NULL",
        id=account_id,
        kind=kind,
        now=now,
    )


async def due(db: Queryable, now: int, limit: int) -> Sequence[Outgoing]:
    rows = await db.fetch_all(
        "SELECT id, account_id, kind, attempts FROM mail_outbox"
        " WHERE sent_at IS NULL AND given_up_at IS NULL AND not_before <= :now"
        " ORDER BY not_before, id LIMIT :limit",
        now=now,
        limit=limit,
    )
    return [Outgoing(*row) for row in rows]


async def claim(db: Queryable, mail: Outgoing, now: int, retry_at: int) -> bool:
    """Take ``mail`` for one attempt: True for exactly one caller.

    One conditional update counts the attempt and moves ``not_before`` to when the next
    attempt is due: a second process reading the same row sees ``attempts`` changed and
    gets False, and if this process dies mid-send the row is simply due again later.
    """
    changed = await db.execute(
        "UPDATE mail_outbox SET attempts = attempts + 1, not_before = :retry_at"
        " WHERE id = :id AND attempts = :attempts AND sent_at IS NULL"
        " AND given_up_at IS NULL AND not_before <= :now",
        id=mail.id,
        attempts=mail.attempts,
        now=now,
        retry_at=retry_at,
    )
    return changed == 1


async def mark_sent(db: Queryable, mail_id: str, now: int) -> None:
    await db.execute("UPDATE mail_outbox SET sent_at = :now WHERE id = :id", id=mail_id, now=now)


async def mark_given_up(db: Queryable, mail_id: str, now: int) -> None:
    await db.execute(
        "UPDATE mail_outbox SET given_up_at = :now WHERE id = :id", id=mail_id, now=now
    )


async def accounts_to_alert(db: Queryable, now: int, spacing: int) -> Sequence[str]:
    """Accounts with a verified address and open attention items newer than their last
    alert, and no alert queued in the last ``spacing`` seconds nor still waiting to go."""
    rows = await db.fetch_all(
        """
        SELECT a.id FROM accounts a
        WHERE a.email IS NOT NULL AND a.email_verified_at IS NOT NULL AND a.disabled_at IS NULL
          AND EXISTS (
            SELECT 1 FROM attention_items i
            WHERE i.account_id = a.id AND i.done_at IS NULL
              AND i.created_at > COALESCE(
                (SELECT MAX(m.created_at) FROM mail_outbox m
                 WHERE m.account_id = a.id AND m.kind = 'alert'), -1))
          AND NOT EXISTS (
            SELECT 1 FROM mail_outbox m
            WHERE m.account_id = a.id AND m.kind = 'alert'
              AND (m.created_at > :since OR (m.sent_at IS NULL AND m.given_up_at IS NULL)))
        ORDER BY a.id
        """,
        since=now - spacing,
    )
    return [row["id"] for row in rows]


async def prune(db: Queryable, before: int) -> int:
    """Delete finished mail queued before ``before``, except each account's latest alert
    (the scan compares new items with it). What is left says little about when anyone
    was busy."""
    return await db.execute(
        """
        DELETE FROM mail_outbox
        WHERE created_at < :before AND (sent_at IS NOT NULL OR given_up_at IS NOT NULL)
          AND NOT (kind = 'alert' AND created_at = (
            SELECT MAX(m.created_at) FROM mail_outbox m
            WHERE m.account_id = mail_outbox.account_id AND m.kind = 'alert'))
        """,
        before=before,
    )


async def outbox_counts(db: Queryable) -> dict[str, int]:
    """How many mails are queued, sent and given up (for metrics: counts, no rows)."""
    row = await db.fetch_one(
        """
        SELECT
          COALESCE(SUM(CASE WHEN sent_at IS NULL AND given_up_at IS NULL THEN 1 ELSE 0 END), 0)
            AS queued,
          COALESCE(SUM(CASE WHEN sent_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS sent,
          COALESCE(SUM(CASE WHEN given_up_at IS NOT NULL THEN 1 ELSE 0 END), 0) AS failed
        FROM mail_outbox
        """
    )
    if row is None:
        return {}
    return {"queued": int(row["queued"]), "sent": int(row["sent"]), "failed": int(row["failed"])}
