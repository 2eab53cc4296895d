"""Queries on referrals and their envelopes.

A referral row is plain (the consultation, the receiving organisation, the consent it
rests on, who sent it, its status and when); the referral note exists only inside
``referral_envelopes``, one per receiving adviser's key. Nothing here can read it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from portal.storage.consultations import NEEDS_COLUMNS
from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class Referral:
    id: str
    consultation_id: str
    pseudonym: str
    organisation_id: str
    organisation_name: str
    organisation_kind: str
    sent_by: str
    sender_name: str
    sender_role: str  # the author in the note's envelope context
    sender_organisation: str
    sent_at: int
    status: str
    status_at: int
    language: str
    needs: dict[str, Any]  # the consultation's structured needs (domain/needs.py)


@dataclass(frozen=True)
class AdviserKey:
    """An active adviser's current key: what a referral note is sealed to."""

    key_id: str
    public_key: bytes
    account_id: str
    display_name: str


@dataclass(frozen=True)
class Target:
    """An organisation a referral may go to, with its advisers' current keys."""

    id: str
    name: str
    kind: str
    keys: tuple[AdviserKey, ...]


_REFERRAL = (
    "SELECT r.id, r.consultation_id, c.pseudonym, r.organisation_id,"  # noqa: S608 - fixed names
    " o.name AS organisation_name,"
    " o.kind AS organisation_kind, r.sent_by, s.display_name AS sender_name, s.role AS sender_role,"
    " so.name AS sender_organisation, r.sent_at, r.status, r.status_at, "
    + ", ".join(f"c.{name}" for name in NEEDS_COLUMNS)
    + " FROM referrals r"
    " JOIN consultations c ON c.id = r.consultation_id"
    " JOIN organisations o ON o.id = r.organisation_id"
    " JOIN accounts s ON s.id = r.sent_by"
    " JOIN organisations so ON so.id = s.organisation_id "
)


def _referral(r: Row) -> Referral:
    return Referral(
        id=r["id"],
        consultation_id=r["consultation_id"],
        pseudonym=r["pseudonym"],
        organisation_id=r["organisation_id"],
        organisation_name=r["organisation_name"],
        organisation_kind=r["organisation_kind"],
        sent_by=r["sent_by"],
        sender_name=r["sender_name"],
        sender_role=r["sender_role"],
        sender_organisation=r["sender_organisation"],
        sent_at=r["sent_at"],
        status=r["status"],
        status_at=r["status_at"],
        language=r["language"],
        needs={name: r[name] for name in NEEDS_COLUMNS},
    )


async def referral_by_id(db: Queryable, referral_id: str) -> Referral | None:
    row = await db.fetch_one(_REFERRAL + "WHERE r.id = :id", id=referral_id)
    return None if row is None else _referral(row)


async def consultation_referrals(db: Queryable, consultation_id: str) -> Sequence[Referral]:
    rows = await db.fetch_all(
        _REFERRAL + "WHERE r.consultation_id = :c ORDER BY r.sent_at, r.id", c=consultation_id
    )
    return [_referral(r) for r in rows]


async def organisation_referrals(
    db: Queryable, organisation_id: str, limit: int, offset: int
) -> Sequence[Referral]:
    """Newest first."""
    rows = await db.fetch_all(
        _REFERRAL + "WHERE r.organisation_id = :o ORDER BY r.sent_at DESC, r.id"
        " LIMIT :limit OFFSET :offset",
        o=organisation_id,
        limit=limit,
        offset=offset,
    )
    return [_referral(r) for r in rows]


async def all_referrals(db: Queryable, limit: int, offset: int) -> Sequence[Referral]:
    rows = await db.fetch_all(
        _REFERRAL + "ORDER BY r.sent_at DESC, r.id LIMIT :limit OFFSET :offset",
        limit=limit,
        offset=offset,
    )
    return [_referral(r) for r in rows]


async def adviser_keys(db: Queryable, organisation_id: str) -> list[AdviserKey]:
    """The current key of each active adviser of the organisation."""
    rows = await db.fetch_all(
        "SELECT k.id AS key_id, k.public_key, a.id AS account_id, a.display_name"
        " FROM accounts a JOIN investigator_keys k ON k.account_id = a.id AND k.retired_at IS NULL"
        " WHERE a.organisation_id = :o AND a.role = 'adviser' AND a.disabled_at IS NULL"
        " ORDER BY a.display_name, k.id",
        o=organisation_id,
    )
    return [
        AdviserKey(r["key_id"], bytes(r["public_key"]), r["account_id"], r["display_name"])
        for r in rows
    ]


async def targets(db: Queryable, kinds: Sequence[str]) -> list[Target]:
    """Every organisation of ``kinds``, each with its active advisers' current keys."""
    marks = ", ".join(f":k{i}" for i in range(len(kinds)))
    rows = await db.fetch_all(
        "SELECT o.id, o.name, o.kind, k.id AS key_id, k.public_key,"  # noqa: S608 - placeholders only
        " a.id AS account_id,"
        " a.display_name FROM organisations o"
        " LEFT JOIN accounts a ON a.organisation_id = o.id AND a.role = 'adviser'"
        "  AND a.disabled_at IS NULL"
        " LEFT JOIN investigator_keys k ON k.account_id = a.id AND k.retired_at IS NULL"
        f" WHERE o.kind IN ({marks}) ORDER BY o.name, o.id, a.display_name, k.id",
        **{f"k{i}": kind for i, kind in enumerate(kinds)},
    )
    found: dict[str, tuple[str, str, list[AdviserKey]]] = {}
    for r in rows:
        entry = found.setdefault(r["id"], (r["name"], r["kind"], []))
        if r["key_id"] is not None:
            entry[2].append(
                AdviserKey(r["key_id"], bytes(r["public_key"]), r["account_id"], r["display_name"])
            )
    return [Target(org_id, name, kind, tuple(keys)) for org_id, (name, kind, keys) in found.items()]


async def open_referral_exists(
    db: Queryable, consultation_id: str, organisation_id: str, statuses: Sequence[str]
) -> bool:
    marks = ", ".join(f":s{i}" for i in range(len(statuses)))
    found = await db.fetch_value(
        "SELECT 1 FROM referrals WHERE consultation_id = :c"  # noqa: S608 - placeholders only
        " AND organisation_id = :o"
        f" AND status IN ({marks})",
        c=consultation_id,
        o=organisation_id,
        **{f"s{i}": status for i, status in enumerate(statuses)},
    )
    return found is not None


async def latest_consent(db: Queryable, consultation_id: str) -> tuple[str, bool, bool] | None:
    """The consultation's latest recorded referral consent: (id, explained, consents)."""
    row = await db.fetch_one(
        "SELECT id, explained, consents FROM referral_consents WHERE consultation_id = :c"
        " ORDER BY recorded_at DESC, id DESC LIMIT 1",
        c=consultation_id,
    )
    return None if row is None else (row["id"], bool(row["explained"]), bool(row["consents"]))


async def insert_referral(
    db: Queryable,
    *,
    referral_id: str,
    consultation_id: str,
    organisation_id: str,
    consent_id: str,
    sent_by: str,
    now: int,
) -> bool:
    """False if a referral with this id exists already (a double click, a second tab)."""
    written = await db.execute(
        "INSERT INTO referrals (id, consultation_id, organisation_id, consent_id, sent_by,"
        " sent_at, status, status_by, status_at)"
        " VALUES (:id, :c, :o, :consent, :by, :now, 'sent', :by, :now)"
        " ON CONFLICT (id) DO NOTHING",
        id=referral_id,
        c=consultation_id,
        o=organisation_id,
        consent=consent_id,
        by=sent_by,
        now=now,
    )
    return written == 1


async def insert_envelope(
    db: Queryable, referral_id: str, recipient_key_id: str, envelope: bytes, now: int
) -> None:
    await db.execute(
        "INSERT INTO referral_envelopes (referral_id, recipient_key_id, envelope, created_at)"
        " VALUES (:r, :k, :e, :now)",
        r=referral_id,
        k=recipient_key_id,
        e=envelope,
        now=now,
    )


async def envelope_for(db: Queryable, referral_id: str, key_id: str) -> bytes | None:
    found = await db.fetch_value(
        "SELECT envelope FROM referral_envelopes WHERE referral_id = :r AND recipient_key_id = :k",
        r=referral_id,
        k=key_id,
    )
    return None if found is None else bytes(found)


async def envelope_keys(db: Queryable, referral_id: str) -> set[str]:
    rows = await db.fetch_all(
        "SELECT recipient_key_id FROM referral_envelopes WHERE referral_id = :r", r=referral_id
    )
    return {r["recipient_key_id"] for r in rows}


async def set_status(
    db: Queryable, referral_id: str, status: str, by: str, now: int, *, only_from: str
) -> bool:
    """Only from the status the caller checked: a change made meanwhile refuses this one."""
    written = await db.execute(
        "UPDATE referrals SET status = :status, status_by = :by, status_at = :now"
        " WHERE id = :id AND status = :old",
        id=referral_id,
        status=status,
        by=by,
        now=now,
        old=only_from,
    )
    return written == 1
