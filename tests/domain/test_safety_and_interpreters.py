"""The safety plan and the interpreter in the domain, without any web handler: each
change leaves its audit event in the same transaction, a refused one leaves no event and
no change, and of two people changing an interpreter from the same state only the first
succeeds."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from portal.domain import bookings, interpreters, safety_plans
from portal.domain.errors import InputRejected
from portal.domain.needs import parse_needs
from portal.services import Services
from portal.storage.accounts import account_by_id
from portal.storage.consultations import consultation_by_id
from portal.storage.safety_plans import plan_of
from tests.factories import NEEDS, World, in_app, make_place, make_slot, services_of


async def _events(svc: Services, consultation_id: str) -> list[tuple[str, str | None]]:
    rows = await svc.db.fetch_all(
        "SELECT action, detail FROM audit_events WHERE consultation_id = :c"
        " AND action IN ('safety_plan_saved', 'interpreter_changed') ORDER BY id",
        c=consultation_id,
    )
    return [(r["action"], r["detail"]) for r in rows]


async def _journey(svc: Services, world: World) -> None:
    db, clock = svc.db, svc.clock
    worker = await account_by_id(db, world.ngo_worker.id)
    investigator = await account_by_id(db, world.investigator.id)
    coordinator = await account_by_id(db, world.coordinator.id)
    assert worker and investigator and coordinator
    place = await make_place(svc)
    slot = await make_slot(svc, world.investigator, place)
    needs, _ = parse_needs({**NEEDS, "interpreter_needed": "yes"})
    assert needs is not None
    booking = await bookings.book_meeting(
        db, clock, svc.codes, worker=worker, slot_id=slot, needs=needs,
        client_locale="en", code_ttl=3600,
    )  # fmt: skip
    consultation = await consultation_by_id(db, booking.consultation_id)
    assert consultation is not None
    [meeting] = await bookings.meetings_of(db, consultation)
    assert meeting.interpreter_status == "needed"

    with pytest.raises(InputRejected) as refused:
        await safety_plans.save(
            db, clock, consultation, actor=worker, values={"housing": "nowhere"}, envelopes=None
        )
    assert set(refused.value.errors) == {"housing", "urgent_risk", "safe_contact_agreed"}
    assert await plan_of(db, consultation.id) is None
    values = {"housing": "needed", "urgent_risk": "no", "safe_contact_agreed": "yes"}
    await safety_plans.save(db, clock, consultation, actor=worker, values=values, envelopes=None)
    plan = await plan_of(db, consultation.id)
    assert plan is not None
    assert (plan.housing, plan.urgent_risk, plan.safe_contact_agreed) == ("needed", False, True)
    assert plan.updated_by == worker.id and not plan.has_details

    await interpreters.change(
        db, clock, meeting, consultation, actor=coordinator, status="requested",
        language="", wishes_met=False,
    )  # fmt: skip
    # The same (now stale) meeting once more: the state moved on meanwhile.
    with pytest.raises(InputRejected) as stale:
        await interpreters.change(
            db, clock, meeting, consultation, actor=investigator, status="not_needed",
            language="", wishes_met=False,
        )  # fmt: skip
    assert stale.value.message == interpreters.CHANGED
    [now] = await bookings.meetings_of(db, consultation)
    with pytest.raises(InputRejected) as incomplete:
        await interpreters.change(
            db, clock, now, consultation, actor=investigator, status="confirmed",
            language="xx", wishes_met=False,
        )  # fmt: skip
    assert set(incomplete.value.errors) == {"language"}  # no wishes: none to meet
    assert (now.interpreter_status, now.interpreter_language) == ("requested", None)
    assert await _events(svc, consultation.id) == [
        ("safety_plan_saved", "details-kept"),
        ("interpreter_changed", "needed-requested"),
    ]


def test_changes_are_audited_and_refusals_change_nothing(client: TestClient, world: World) -> None:
    in_app(client, _journey, services_of(client), world)
