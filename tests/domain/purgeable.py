"""Consultations with rows in every table, and views of what is left of them: shared
by the retention, job and coordinator-page tests."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.testclient import TestClient

from portal.crypto.tokens import random_id
from portal.domain import retention
from portal.settings import Settings
from portal.storage.tables import metadata
from tests.factories import (
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)

DAY = 24 * 60 * 60
KEEP = 180 * DAY


@dataclass(frozen=True)
class Booked:
    id: str
    pseudonym: str
    client: Actor


def book_consultation(
    client: TestClient, clock: FakeClock, world: World, hours_ahead: int = 48
) -> Booked:
    """An NGO booking, its slip redeemed (so a client session exists)."""
    svc = services_of(client)
    place = in_app(client, make_place, svc, f"Room {random_id()[:6]}")
    slot = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=hours_ahead)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    person, _code = redeem(client, slip_code(book(worker, slot)))
    row = in_app(
        client,
        svc.db.fetch_one,
        "SELECT c.id, c.pseudonym FROM consultations c JOIN meetings m"
        " ON m.consultation_id = c.id WHERE m.slot_id = :slot",
        slot=slot,
    )
    assert row is not None
    return Booked(row["id"], row["pseudonym"], person)


async def add_note_and_consent(client: TestClient, world: World, consultation_id: str) -> None:
    """A sealed note, a message with its envelope and a referral consent, written as the
    storage layer would."""
    db = services_of(client).db
    now = services_of(client).clock.now()
    key_id, text_id = random_id(), random_id()
    await db.execute(
        "INSERT INTO investigator_keys (id, account_id, public_key, wrapped_key,"
        " recovery_wrapped_key, created_at) VALUES (:id, :a, :pk, :w, :w, :now)",
        id=key_id,
        a=world.investigator.id,
        pk=b"\x01" * 32,
        w=b"\x02" * 100,
        now=now,
    )
    await db.execute(
        "INSERT INTO notes (id, consultation_id, kind, author_role, author_account_id, key_id,"
        " envelope, sealed_in, created_at) VALUES (:id, :c, 'prepared', 'ngo_worker', :a,"
        " :key, :env, 'browser', :now)",
        id=random_id(),
        c=consultation_id,
        a=world.ngo_worker.id,
        key=key_id,
        env=b"\x01" + b"\x00" * 80,
        now=now,
    )
    message_id = random_id()
    await db.execute(
        "INSERT INTO messages (id, consultation_id, author_role, author_account_id, sealed_in,"
        " created_at, number) VALUES (:id, :c, 'ngo_worker', :a, 'browser', :now, 1)",
        id=message_id,
        c=consultation_id,
        a=world.ngo_worker.id,
        now=now,
    )
    await db.execute(
        "INSERT INTO message_envelopes (message_id, recipient_key_id, envelope, created_at)"
        " VALUES (:m, :key, :env, :now)",
        m=message_id,
        key=key_id,
        env=b"\x01" + b"\x00" * 328,
        now=now,
    )
    await db.execute(
        "INSERT INTO consent_texts (id, version, text, created_by, created_at)"
        " VALUES (:id, (SELECT COALESCE(MAX(version), 0) + 1 FROM consent_texts), 'Text',"
        " :by, :now)",
        id=text_id,
        by=world.coordinator.id,
        now=now,
    )
    await db.execute(
        "INSERT INTO referral_consents (id, consultation_id, consent_text_id, explained,"
        " consents, recorded_by, recorded_at) VALUES (:id, :c, :t, 1, 1, :by, :now)",
        id=random_id(),
        c=consultation_id,
        t=text_id,
        by=world.investigator.id,
        now=now,
    )


def rows_per_table(client: TestClient, consultation_id: str) -> dict[str, int]:
    """Rows that belong to the consultation, in every table that points at it."""
    db = services_of(client).db
    counts = {
        "consultations": in_app(
            client,
            db.fetch_value,
            "SELECT COUNT(*) FROM consultations WHERE id = :c",
            c=consultation_id,
        )
    }
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name == "consultations":
                column = fk.parent.name
                counts[table.name] = in_app(
                    client,
                    db.fetch_value,
                    f"SELECT COUNT(*) FROM {table.name} WHERE {column} = :c",  # noqa: S608 - schema names
                    c=consultation_id,
                )
    return {name: int(count) for name, count in counts.items()}


def run(client: TestClient, settings: Settings, *, dry_run: bool = False) -> list[tuple[str, str]]:
    svc = services_of(client)
    return in_app(client, retention.purge, svc.db, svc.clock, settings, dry_run=dry_run)


def purge_date(client: TestClient, settings: Settings, consultation_id: str) -> int:
    found = in_app(
        client, retention.retention_of, services_of(client).db, settings, consultation_id
    )
    assert found is not None
    return found.purge_at


def audit_actions(client: TestClient, consultation_id: str) -> list[tuple[str, str, str | None]]:
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT action, actor_role, pseudonym FROM audit_events WHERE consultation_id = :c"
        " ORDER BY id",
        c=consultation_id,
    )
    return [(r["action"], r["actor_role"], r["pseudonym"]) for r in rows]
