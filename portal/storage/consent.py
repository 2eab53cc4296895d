"""Queries on the versioned consent text and the referral consents recorded against it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.storage.database import Queryable


@dataclass(frozen=True)
class ConsentText:
    id: str
    version: int
    text: str
    created_at: int


@dataclass(frozen=True)
class ReferralConsent:
    version: int
    explained: bool
    consents: bool
    recorded_at: int
    text: str = ""  # the wording of that version, as it was read to the client


async def latest_text(db: Queryable) -> ConsentText | None:
    row = await db.fetch_one(
        "SELECT id, version, text, created_at FROM consent_texts ORDER BY version DESC LIMIT 1"
    )
    return (
        None
        if row is None
        else ConsentText(row["id"], row["version"], row["text"], row["created_at"])
    )


async def all_texts(db: Queryable) -> Sequence[ConsentText]:
    rows = await db.fetch_all(
        "SELECT id, version, text, created_at FROM consent_texts ORDER BY version DESC"
    )
    return [ConsentText(r["id"], r["version"], r["text"], r["created_at"]) for r in rows]


async def insert_text(
    db: Queryable, *, text_id: str, version: int, text: str, created_by: str, now: int
) -> None:
    await db.execute(
        "INSERT INTO consent_texts (id, version, text, created_by, created_at)"
        " VALUES (:id, :version, :text, :by, :now)",
        id=text_id,
        version=version,
        text=text,
        by=created_by,
        now=now,
    )


async def insert_consent(
    db: Queryable,
    *,
    consent_id: str,
    consultation_id: str,
    text_id: str,
    explained: bool,
    consents: bool,
    recorded_by: str,
    now: int,
) -> None:
    await db.execute(
        "INSERT INTO referral_consents (id, consultation_id, consent_text_id, explained,"
        " consents, recorded_by, recorded_at)"
        " VALUES (:id, :c, :text_id, :explained, :consents, :by, :now)",
        id=consent_id,
        c=consultation_id,
        text_id=text_id,
        explained=int(explained),
        consents=int(consents),
        by=recorded_by,
        now=now,
    )


async def consultation_consents(db: Queryable, consultation_id: str) -> Sequence[ReferralConsent]:
    rows = await db.fetch_all(
        "SELECT t.version, t.text, r.explained, r.consents, r.recorded_at FROM referral_consents r"
        " JOIN consent_texts t ON t.id = r.consent_text_id"
        " WHERE r.consultation_id = :c ORDER BY r.recorded_at",
        c=consultation_id,
    )
    return [
        ReferralConsent(
            r["version"], bool(r["explained"]), bool(r["consents"]), r["recorded_at"], r["text"]
        )
        for r in rows
    ]
