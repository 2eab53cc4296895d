"""Queries on the conversation of a consultation: messages and their envelopes.

Only envelopes are stored (one per recipient key); the server cannot read them. A
message row holds no text, only who wrote it (role, and the staff account), where it
was sealed and when.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class RecipientKey:
    """A participant's current key: a staff key (investigator_keys) or the client key."""

    key_id: str
    public_key: bytes
    role: str  # "investigator", "ngo_worker", "adviser" or "client"
    account_id: str | None  # None for the client
    display_name: str
    organisation_kind: str = ""  # the staff member's organisation's kind; "" for the client


@dataclass(frozen=True)
class Message:
    id: str
    consultation_id: str
    author_role: str
    author_account_id: str | None
    author_name: str  # the staff author's display name; "" for the client
    sealed_in: str
    created_at: int
    number: int  # 1, 2, 3, ... in the order the conversation received them
    author_kind: str = ""  # the staff author's organisation's kind; "" for the client


@dataclass(frozen=True)
class Readable:
    """A message with the envelope sealed to one key (None: none for that key)."""

    message: Message
    envelope: bytes | None


MESSAGE_SELECT = """
SELECT m.id, m.consultation_id, m.author_role, m.author_account_id,
       COALESCE(a.display_name, '') AS author_name, m.sealed_in, m.created_at,
       COALESCE(ao.kind, '') AS author_kind, m.number
"""
MESSAGE_FROM = """
FROM messages m LEFT JOIN accounts a ON a.id = m.author_account_id
LEFT JOIN organisations ao ON ao.id = a.organisation_id
"""


def message_from_row(r: Row) -> Message:
    return Message(
        id=r["id"],
        consultation_id=r["consultation_id"],
        author_role=r["author_role"],
        author_account_id=r["author_account_id"],
        author_name=r["author_name"],
        sealed_in=r["sealed_in"],
        created_at=r["created_at"],
        author_kind=r["author_kind"],
        number=r["number"],
    )


# The current key of each participant (see ``recipient_keys``), for consultation :c.
RECIPIENTS_SELECT = (
    "SELECT k.id AS key_id, k.public_key, a.role, a.id AS account_id, a.display_name,"
    " o.kind AS organisation_kind"
    " FROM consultations c"
    " JOIN accounts a ON (a.role = 'investigator' AND a.id = c.investigator_id)"
    "   OR (a.role = 'ngo_worker' AND a.organisation_id = c.organisation_id)"
    "   OR (a.role = 'adviser' AND EXISTS (SELECT 1 FROM adviser_meetings am"
    "       WHERE am.consultation_id = c.id AND am.adviser_id = a.id"
    "       AND am.status <> 'cancelled'))"
    " JOIN organisations o ON o.id = a.organisation_id"
    " JOIN investigator_keys k ON k.account_id = a.id AND k.retired_at IS NULL"
    " WHERE c.id = :c AND a.disabled_at IS NULL"
    " UNION ALL"
    " SELECT client_key_id, client_public_key, 'client', NULL, '', '' FROM consultations"
    " WHERE id = :c AND client_key_id IS NOT NULL AND client_public_key IS NOT NULL"
)


def recipient_from_row(r: Row) -> RecipientKey:
    return RecipientKey(
        r["key_id"],
        bytes(r["public_key"]),
        r["role"],
        r["account_id"],
        r["display_name"],
        r["organisation_kind"],
    )


def recipient_order(key: RecipientKey) -> tuple[str, str, str]:
    return key.role, key.display_name, key.key_id


async def recipient_keys(db: Queryable, consultation_id: str) -> list[RecipientKey]:
    """The current key of each participant: the assigned investigator's, each active NGO
    worker's of the booking organisation, each active adviser's who takes part (a part in
    a meeting, not cancelled), and the client's (if the consultation has a client key).
    Participants without a current key are not among them."""
    rows = await db.fetch_all(
        RECIPIENTS_SELECT + " ORDER BY role, display_name, key_id", c=consultation_id
    )
    return [recipient_from_row(r) for r in rows]


async def insert_message(
    db: Queryable,
    *,
    message_id: str,
    consultation_id: str,
    author_role: str,
    author_account_id: str | None,
    sealed_in: str,
    now: int,
) -> bool:
    """False if a message with this id exists already (a second tab, a double click, a
    race: the database decides, so two posts of one id never both succeed).

    The message gets the next number in its conversation (times are whole seconds, so
    they cannot order two messages of one second). ``db`` is a transaction: the
    consultation's row lock makes two writers take turns on PostgreSQL (SQLite has one
    writer anyway), so each sees the other's number."""
    await db.execute("UPDATE consultations SET id = id WHERE id = :c", c=consultation_id)
    written = await db.execute(
        "INSERT INTO messages (id, consultation_id, author_role, author_account_id,"
        " sealed_in, created_at, number) VALUES (:id, :c, :role, :author, :sealed_in, :now,"
        " (SELECT COALESCE(MAX(number), 0) + 1 FROM messages WHERE consultation_id = :of))"
        " ON CONFLICT (id) DO NOTHING",
        id=message_id,
        c=consultation_id,
        of=consultation_id,  # another name: PostgreSQL types the two uses apart
        role=author_role,
        author=author_account_id,
        sealed_in=sealed_in,
        now=now,
    )
    return written == 1


async def insert_envelope(
    db: Queryable, message_id: str, recipient_key_id: str, envelope: bytes, now: int
) -> None:
    await db.execute(
        "INSERT INTO message_envelopes (message_id, recipient_key_id, envelope, created_at)"
        " VALUES (:m, :k, :e, :now)",
        m=message_id,
        k=recipient_key_id,
        e=envelope,
        now=now,
    )


async def readable_by(db: Queryable, consultation_id: str, key_id: str) -> Sequence[Readable]:
    """Every message of the consultation, oldest first, each with its envelope for
    ``key_id`` (or None): one query, whatever the number of messages."""
    rows = await db.fetch_all(
        MESSAGE_SELECT
        + ", e.envelope"
        + MESSAGE_FROM
        + " LEFT JOIN message_envelopes e ON e.message_id = m.id AND e.recipient_key_id = :k"
        " WHERE m.consultation_id = :c ORDER BY m.number",
        c=consultation_id,
        k=key_id,
    )
    return [_readable(r) for r in rows]


def _readable(r: Row) -> Readable:
    return Readable(message_from_row(r), None if r["envelope"] is None else bytes(r["envelope"]))


async def consultation_messages(db: Queryable, consultation_id: str) -> Sequence[Message]:
    rows = await db.fetch_all(
        MESSAGE_SELECT + MESSAGE_FROM + " WHERE m.consultation_id = :c ORDER BY m.number",
        c=consultation_id,
    )
    return [message_from_row(r) for r in rows]


async def envelope_keys(db: Queryable, consultation_id: str) -> dict[str, set[str]]:
    """For each message of the consultation, the key ids it has an envelope for."""
    rows = await db.fetch_all(
        "SELECT e.message_id, e.recipient_key_id FROM message_envelopes e"
        " JOIN messages m ON m.id = e.message_id WHERE m.consultation_id = :c",
        c=consultation_id,
    )
    found: dict[str, set[str]] = {}
    for r in rows:
        found.setdefault(r["message_id"], set()).add(r["recipient_key_id"])
    return found
