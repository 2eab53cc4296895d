"""Retention: what is due, the hard delete across every table, extensions, dry runs and
``portal purge``."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from portal.domain import retention
from portal.domain.errors import InputRejected
from portal.settings import Settings
from portal.storage import consultations as consultation_store
from portal.storage.accounts import account_by_id
from tests.conftest import make_settings
from tests.domain.purgeable import (
    DAY,
    KEEP,
    add_note_and_consent,
    audit_actions,
    book_consultation,
    purge_date,
    rows_per_table,
    run,
)
from tests.factories import FakeClock, World, in_app, services_of
from tests.live import run_portal


def test_a_consultation_past_its_time_is_gone_from_every_table(
    client: TestClient, clock: FakeClock, world: World, settings: Settings
) -> None:
    booked = book_consultation(client, clock, world)
    in_app(client, add_note_and_consent, client, world, booked.id)
    before = rows_per_table(client, booked.id)
    tables = ("consultations", "meetings", "one_time_codes", "notes", "messages")
    for table in (*tables, "referral_consents"):
        assert before[table] >= 1, table
    envelopes = "SELECT COUNT(*) FROM message_envelopes"
    assert in_app(client, services_of(client).db.fetch_value, envelopes) == 1
    assert before["sessions"] >= 1  # the client's own session
    slot_count = in_app(client, services_of(client).db.fetch_value, "SELECT COUNT(*) FROM slots")

    # The slip's expiry (14 days) is the latest activity here, not the booking.
    code_expiry = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT MAX(expires_at) FROM one_time_codes WHERE consultation_id = :c",
        c=booked.id,
    )
    assert purge_date(client, settings, booked.id) == code_expiry + KEEP
    clock.value = code_expiry + KEEP - 1
    assert run(client, settings) == []
    clock.advance(1)
    assert run(client, settings) == [(booked.id, booked.pseudonym)]

    assert all(count == 0 for count in rows_per_table(client, booked.id).values())
    assert in_app(client, services_of(client).db.fetch_value, envelopes) == 0  # with them
    actions = audit_actions(client, booked.id)
    assert actions[-1] == ("purged", "system", booked.pseudonym)
    assert ("booked", "ngo_worker", booked.pseudonym) in actions  # history is kept
    detail = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT detail FROM audit_events WHERE action = 'purged'",
    )
    assert detail is None
    # Nothing else is freed or removed: slots, places and accounts stay.
    db = services_of(client).db
    assert in_app(client, db.fetch_value, "SELECT COUNT(*) FROM slots") == slot_count
    assert in_app(client, account_by_id, db, world.ngo_worker.id) is not None
    # The client's session went with the consultation.
    assert booked.client.get("/meeting").status_code == 303


def test_last_activity_is_the_latest_of_meeting_code_and_activity(
    client: TestClient, clock: FakeClock, world: World, settings: Settings
) -> None:
    svc = services_of(client)
    booked = book_consultation(client, clock, world, hours_ahead=40 * 24)
    meeting_start = in_app(
        client,
        svc.db.fetch_value,
        "SELECT starts_at FROM meetings WHERE consultation_id = :c",
        c=booked.id,
    )
    assert purge_date(client, settings, booked.id) == meeting_start + KEEP
    later = meeting_start + 10 * DAY
    in_app(client, consultation_store.touch_consultation, svc.db, booked.id, later)
    assert purge_date(client, settings, booked.id) == later + KEEP
    custom = make_settings(settings.database_url, retention_days=30)
    assert purge_date(client, custom, booked.id) == later + 30 * DAY


def test_retention_days_come_from_the_environment() -> None:
    env = {"PORTAL_SECRET_KEY": "x" * 40, "PORTAL_RETENTION_DAYS": "30"}
    assert Settings.from_env(env).retention_days == 30
    assert Settings.from_env({"PORTAL_SECRET_KEY": "x" * 40}).retention_days == 180


def test_a_case_is_never_purged(
    client: TestClient, clock: FakeClock, world: World, settings: Settings
) -> None:
    booked = book_consultation(client, clock, world)
    in_app(
        client,
        services_of(client).db.execute,
        "UPDATE consultations SET reported_at = :now WHERE id = :c",
        now=clock.now(),
        c=booked.id,
    )
    clock.advance(10 * 365 * DAY)
    assert run(client, settings) == []
    assert rows_per_table(client, booked.id)["consultations"] == 1
    assert (
        in_app(client, retention.retention_of, services_of(client).db, settings, booked.id) is None
    )


def test_an_extension_keeps_it_until_the_extension(
    client: TestClient, clock: FakeClock, world: World, settings: Settings
) -> None:
    svc = services_of(client)
    booked = book_consultation(client, clock, world)
    usual = purge_date(client, settings, booked.id)
    consultation = in_app(client, consultation_store.consultation_by_id, svc.db, booked.id)
    coordinator = in_app(client, account_by_id, svc.db, world.coordinator.id)
    assert consultation and coordinator
    until = usual + 20 * DAY
    in_app(
        client,
        retention.extend,
        svc.db,
        svc.clock,
        consultation,
        until,
        "reflection_period",
        coordinator,
    )
    assert purge_date(client, settings, booked.id) == until
    clock.value = usual + 1
    assert run(client, settings) == []
    clock.value = until
    assert run(client, settings) == [(booked.id, booked.pseudonym)]
    events = in_app(
        client,
        svc.db.fetch_all,
        "SELECT action, actor_account_id, detail FROM audit_events"
        " WHERE action = 'retention_extended'",
    )
    assert [tuple(e) for e in events] == [
        ("retention_extended", world.coordinator.id, "reflection_period")
    ]


def test_an_extension_takes_only_a_listed_reason_and_a_sensible_date(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    booked = book_consultation(client, clock, world)
    consultation = in_app(client, consultation_store.consultation_by_id, svc.db, booked.id)
    coordinator = in_app(client, account_by_id, svc.db, world.coordinator.id)
    assert consultation and coordinator
    now = clock.now()
    for until, reason, field in (
        (now + DAY, "she is afraid of her employer", "reason"),
        (now - DAY, "safety_concern", "until"),
        (now + 3 * 365 * DAY, "safety_concern", "until"),
    ):
        with pytest.raises(InputRejected) as rejected:
            in_app(
                client,
                retention.extend,
                svc.db,
                svc.clock,
                consultation,
                until,
                reason,
                coordinator,
            )
        assert rejected.value.field == field
    in_app(
        client,
        svc.db.execute,
        "UPDATE consultations SET reported_at = :now WHERE id = :c",
        now=now,
        c=booked.id,
    )
    case = in_app(client, consultation_store.consultation_by_id, svc.db, booked.id)
    assert case is not None
    with pytest.raises(retention.NotSubjectToRetention):
        in_app(
            client,
            retention.extend,
            svc.db,
            svc.clock,
            case,
            now + DAY,
            "safety_concern",
            coordinator,
        )
    assert (
        in_app(
            client,
            svc.db.fetch_value,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'retention_extended'",
        )
        == 0
    )


def test_a_dry_run_changes_nothing(
    client: TestClient, clock: FakeClock, world: World, settings: Settings
) -> None:
    booked = book_consultation(client, clock, world)
    in_app(client, add_note_and_consent, client, world, booked.id)
    before = rows_per_table(client, booked.id)
    audit_before = audit_actions(client, booked.id)
    clock.value = purge_date(client, settings, booked.id)
    assert run(client, settings, dry_run=True) == [(booked.id, booked.pseudonym)]
    assert rows_per_table(client, booked.id) == before
    assert audit_actions(client, booked.id) == audit_before
    assert run(client, settings) == [(booked.id, booked.pseudonym)]


def test_the_due_list_is_soonest_first_and_paged(
    client: TestClient, clock: FakeClock, world: World, settings: Settings
) -> None:
    svc = services_of(client)
    first = book_consultation(client, clock, world)
    clock.advance(3 * DAY)
    second = book_consultation(client, clock, world)
    clock.advance(3 * DAY)
    third = book_consultation(client, clock, world)
    in_app(
        client,
        svc.db.execute,
        "UPDATE consultations SET reported_at = :now WHERE id = :c",
        now=clock.now(),
        c=third.id,
    )
    # Far from the purge: nothing is listed yet.
    assert in_app(client, retention.due_for_purge, svc.db, svc.clock, settings, 10, 0) == []
    clock.value = purge_date(client, settings, second.id) - retention.DUE_WITHIN_DAYS * DAY
    due = in_app(client, retention.due_for_purge, svc.db, svc.clock, settings, 10, 0)
    assert [d.pseudonym for d in due] == [first.pseudonym, second.pseudonym]
    assert due[0].purge_at < due[1].purge_at and due[0].organisation_name == "Support centre"
    page_two = in_app(client, retention.due_for_purge, svc.db, svc.clock, settings, 1, 1)
    assert [d.consultation_id for d in page_two] == [second.id]


def test_portal_purge_dry_run_then_purge(tmp_path: Path) -> None:
    assert run_portal(tmp_path, "demo").returncode == 0
    conn = sqlite3.connect(tmp_path / "portal.sqlite3")
    with conn:
        # Make every demo consultation a year old, and one of them a case.
        conn.execute("UPDATE consultations SET last_activity_at = 0, created_at = 0")
        conn.execute("UPDATE meetings SET starts_at = 0")
        conn.execute("UPDATE one_time_codes SET expires_at = 0")
        kept = conn.execute("SELECT id FROM consultations LIMIT 1").fetchone()[0]
        conn.execute("UPDATE consultations SET reported_at = 1 WHERE id = ?", (kept,))
    pseudonyms = {
        p for (p,) in conn.execute("SELECT pseudonym FROM consultations WHERE reported_at IS NULL")
    }
    total = conn.execute("SELECT COUNT(*) FROM consultations").fetchone()[0]
    assert pseudonyms

    dry = run_portal(tmp_path, "purge", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"{len(pseudonyms)} consultation(s) would be purged" in dry.stdout
    assert set(re.findall(r"^  (.+)$", dry.stdout, re.MULTILINE)) == pseudonyms
    assert conn.execute("SELECT COUNT(*) FROM consultations").fetchone()[0] == total
    assert conn.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'purged'").fetchone() == (
        0,
    )

    done = run_portal(tmp_path, "purge")
    assert done.returncode == 0, done.stderr
    assert f"{len(pseudonyms)} consultation(s) purged" in done.stdout
    assert conn.execute("SELECT id FROM consultations").fetchall() == [(kept,)]
    assert conn.execute("SELECT COUNT(*) FROM audit_events WHERE action = 'purged'").fetchone() == (
        len(pseudonyms),
    )
    conn.close()


def test_attention_items_go_with_the_consultation(
    client: TestClient, clock: FakeClock, world: World, settings: Settings
) -> None:
    """Items name the consultation: purged with it (the foreign key cascades), from every
    queue; the accounts and their other items stay."""
    svc = services_of(client)
    booked = book_consultation(client, clock, world)
    # Its meeting after the purge date, and within the year a time may be published.
    kept = book_consultation(client, clock, world, hours_ahead=24 * 300)
    for person in (booked.client, kept.client):
        found = re.search(r'action="/meeting/([^/]+)/answer"', person.get("/meeting").text)
        assert found
        answer = person.submit("/meeting", f"/meeting/{found.group(1)}/answer", answer="confirm")
        assert answer.status_code == 303
    assert rows_per_table(client, booked.id)["attention_items"] == 2
    assert rows_per_table(client, kept.id)["attention_items"] == 2

    clock.value = purge_date(client, settings, booked.id)
    assert run(client, settings) == [(booked.id, booked.pseudonym)]
    assert rows_per_table(client, booked.id)["attention_items"] == 0
    assert rows_per_table(client, kept.id)["attention_items"] == 2
    assert in_app(client, svc.db.fetch_value, "SELECT COUNT(*) FROM attention_items") == 2
