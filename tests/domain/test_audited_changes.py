"""Every change to a consultation is audited by the domain function that makes it, in
the same transaction: called without any web handler, each leaves its event (who, which
action, which fixed detail), and a change that is refused leaves none."""

from __future__ import annotations

import pytest
from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.domain import bookings, client_access, keys, notes, outcomes
from portal.domain.bookings import SlotTaken
from portal.domain.errors import InputRejected
from portal.domain.needs import parse_needs
from portal.services import Services
from portal.storage.accounts import Account, account_by_id
from tests.factories import NEEDS, World, in_app, make_place, make_slot, services_of

DAY = 24 * 60 * 60


async def _account(svc: Services, account_id: str) -> Account:
    found = await account_by_id(svc.db, account_id)
    assert found is not None
    return found


async def _with_key(svc: Services, account: Account) -> None:
    public = bytes(PrivateKey.generate().public_key)
    new = keys.NewKey(public, b"w" * 100, b"r" * 100)
    await keys.register_key(svc.db, svc.clock, account, new, "session-tag")


async def _events(svc: Services, consultation_id: str) -> list[tuple[str, str, str | None]]:
    rows = await svc.db.fetch_all(
        "SELECT action, actor_role, detail FROM audit_events WHERE consultation_id = :c"
        " ORDER BY id",
        c=consultation_id,
    )
    return [(r["action"], r["actor_role"], r["detail"]) for r in rows]


async def _journey(svc: Services, world: World) -> list[tuple[str, str, str | None]]:
    db, clock = svc.db, svc.clock
    worker = await _account(svc, world.ngo_worker.id)
    investigator = await _account(svc, world.investigator.id)
    other = await _account(svc, world.other_investigator.id)
    coordinator = await _account(svc, world.coordinator.id)
    await _with_key(svc, investigator)
    await _with_key(svc, other)
    place = await make_place(svc)
    first, second, third = [
        await make_slot(svc, world.investigator, place, hours_ahead=h) for h in (30, 40, 50)
    ]
    needs, _ = parse_needs(NEEDS)
    assert needs is not None
    booking = await bookings.book_meeting(
        db, clock, svc.codes, worker=worker, slot_id=first, needs=needs,
        client_locale="en", code_ttl=3600,
    )  # fmt: skip
    consultation = await client_access.client_consultation(db, booking.consultation_id)
    assert consultation is not None
    slip = await bookings.reissue_one_time_code(
        db, clock, svc.codes, consultation, 3600, actor=worker
    )
    await client_access.redeem_one_time_code(db, clock, svc.codes, slip.one_time_code)
    meeting = (await bookings.meetings_of(db, consultation))[0]
    await client_access.answer_meeting(db, clock, consultation.id, meeting.id, "confirm")
    clear = notes.NoteInput(envelope="", key_id="", sections={"fears": "The landlord"})
    await notes.add_note(
        db, clock, consultation, author_role="ngo_worker", author=worker, given=clear
    )
    clock.advance(31 * 3600)  # the meeting has started: it can be marked held
    await outcomes.record_meeting_outcome(
        db, clock, meeting, consultation, "held", actor=investigator
    )
    # Refused changes: no event.
    with pytest.raises(InputRejected):
        await outcomes.record_meeting_outcome(
            db, clock, meeting, consultation, "nonsense", actor=investigator
        )
    with pytest.raises(SlotTaken):
        await bookings.rebook(db, clock, consultation, first, follow_up=False, actor=worker)
    summary = notes.NoteInput(envelope="", key_id="", sections={"summary": "Next: report"})
    await outcomes.record_consultation_outcome(
        db, clock, consultation, "wants_to_report", actor=investigator, note=summary
    )
    await outcomes.publish_consent_text(db, clock, coordinator, "The assistance system text.")
    await outcomes.record_consent(
        db, clock, consultation, investigator, explained=True, consents=True
    )
    await outcomes.record_reflection(
        db, clock, consultation, "granted", clock.now() + 40 * DAY, actor=investigator
    )

    async def report() -> None:
        await outcomes.decide_to_report(
            db,
            clock,
            consultation,
            case_reference="CASE/2026/1",
            first_interview_at=clock.now() + 5 * DAY,
            interviewer_id=investigator.id,
            actor=investigator,
        )

    await report()
    with pytest.raises(InputRejected):  # recorded already: the second one changes nothing
        await report()
    case = await client_access.client_consultation(db, consultation.id)
    assert case is not None and case.is_case
    identity = notes.NoteInput(envelope="", key_id="", sections={"name": "A. Person"})
    await notes.add_note(
        db, clock, case, author_role="investigator", author=investigator, given=identity,
        kind="identity",
    )  # fmt: skip
    assert await notes.export_notes(db, clock, investigator, case) is not None
    assert await outcomes.export_case(db, clock, investigator, case) is not None
    await bookings.rebook(db, clock, case, second, follow_up=False, actor=worker)
    await bookings.book_follow_up(db, clock, case, third, investigator=investigator, reason="")
    latest = (await bookings.meetings_of(db, case))[-1]
    await bookings.reassign_meeting(db, clock, latest, case, other.id, actor=coordinator)
    assert await bookings.cancel_meeting(db, clock, latest, case, actor=worker)
    assert not await bookings.cancel_meeting(db, clock, latest, case, actor=worker)
    return await _events(svc, consultation.id)


def test_each_change_leaves_its_event_and_a_refused_one_none(
    client: TestClient, world: World
) -> None:
    events = in_app(client, _journey, services_of(client), world)
    assert events == [
        ("booked", "ngo_worker", None),
        ("code_reissued", "ngo_worker", None),
        ("code_redeemed", "client", None),
        ("client_answered", "client", "confirm"),
        ("note_added", "ngo_worker", "sealed-in-server"),
        ("meeting_outcome", "investigator", "held"),
        ("consultation_outcome", "investigator", "wants_to_report"),
        ("consent_recorded", "investigator", "version-1"),
        ("reflection_recorded", "investigator", "granted"),
        ("reported", "investigator", None),
        ("identity_sealed", "investigator", None),
        ("notes_exported", "investigator", None),
        ("case_exported", "investigator", None),
        ("meeting_rebooked", "ngo_worker", None),
        ("follow_up_booked", "investigator", "same-investigator"),
        ("meeting_reassigned", "coordinator", None),
        ("meeting_cancelled", "ngo_worker", None),
    ]


def test_resealing_is_audited_with_the_count(client: TestClient, world: World) -> None:
    svc = services_of(client)

    async def reseal() -> list[tuple[str, str, str | None]]:
        investigator = await _account(svc, world.investigator.id)
        other = await _account(svc, world.other_investigator.id)
        await _with_key(svc, other)
        key = await keys.current_key(svc.db, other.id)
        assert key is not None
        assert await notes.reseal_notes(svc.db, svc.clock, investigator, {}, key.id) == 0
        rows = await svc.db.fetch_all(
            "SELECT action, actor_role, detail FROM audit_events WHERE action = 'notes_resealed'"
        )
        return [(r["action"], r["actor_role"], r["detail"]) for r in rows]

    assert in_app(client, reseal) == [("notes_resealed", "investigator", "count-0")]
