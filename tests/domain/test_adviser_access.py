"""The adviser role's access matrix: advisers see only requests sent to their own
organisation and the consultations they take part in; never notes, outcome or identity;
the conversation only as a participant. Every other role gets nothing of the advisers'
pages, and advisers nothing of theirs.

The setting: one consultation booked by the support centre (a sealed note, a message, a
referral consent, a reflection period), a request to the assistance system answered by
its adviser (who joins the meeting), an open request to municipal services, and a second
adviser of the assistance system who takes no part."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from portal.domain import adviser_requests, bookings, outcomes, visibility
from portal.domain.keys import KEY_HOLDERS
from portal.domain.roles import ADVISER, STAFF_ROLES
from portal.services import Services
from portal.storage.accounts import Account, account_by_id
from portal.storage.consultations import Consultation
from tests.domain.purgeable import add_note_and_consent, book_consultation
from tests.factories import (
    Actor,
    FakeClock,
    Person,
    World,
    in_app,
    make_organisation,
    make_person,
    services_of,
)

DAY = 24 * 60 * 60


@dataclass(frozen=True)
class Setting:
    consultation: Consultation
    meeting_id: str
    to_assistance: str  # answered by ``adviser``
    to_municipal: str  # open
    part: str  # the adviser's part (joins the meeting)
    adviser: Person  # assistance system, takes part
    colleague: Person  # assistance system, takes no part
    municipal: Person  # municipal services


async def _account(svc: Services, account_id: str) -> Account:
    found = await account_by_id(svc.db, account_id)
    assert found is not None
    return found


async def _prepare(svc: Services, world: World, consultation_id: str) -> Setting:
    db, clock = svc.db, svc.clock
    assistance = await make_organisation(svc, "National Assistance System", "assistance")
    municipal = await make_organisation(svc, "City Ankkuri Team", "municipal")
    adviser = await make_person(svc, assistance, "adviser", "adv")
    colleague = await make_person(svc, assistance, "adviser", "adv2")
    municipal_adviser = await make_person(svc, municipal, "adviser", "ankkuri")
    investigator = await _account(svc, world.investigator.id)
    consultation = await visibility.assigned_consultation(db, investigator, consultation_id)
    assert consultation is not None
    await outcomes.record_reflection(
        db, clock, consultation, "granted", clock.now() + 40 * DAY, actor=investigator
    )
    [meeting] = await bookings.meetings_of(db, consultation)
    to_assistance = await adviser_requests.ask(
        db, clock, consultation, assistance.id, actor=investigator
    )
    to_municipal = await adviser_requests.ask(
        db, clock, consultation, municipal.id, actor=await _account(svc, world.ngo_worker.id)
    )
    await adviser_requests.join_meeting(
        db, clock, to_assistance, meeting.id, adviser=await _account(svc, adviser.id)
    )
    part = await db.fetch_value("SELECT id FROM adviser_meetings")
    return Setting(
        consultation,
        meeting.id,
        to_assistance.id,
        to_municipal.id,
        part,
        adviser,
        colleague,
        municipal_adviser,
    )


@pytest.fixture
def setting(client: TestClient, clock: FakeClock, world: World) -> Setting:
    booked = book_consultation(client, clock, world)
    svc = services_of(client)
    in_app(client, add_note_and_consent, client, world, booked.id)
    return in_app(client, _prepare, svc, world, booked.id)


# Literal answers: the questions that show each person something of the setting.
EXPECTED: dict[str, set[str]] = {
    "adviser": {
        "adviser_request:assistance",
        "adviser_consultation",
        "own_adviser_meeting",
        "own_adviser_meetings",
        "messages",
    },
    # The same organisation: the (answered) request, nothing of the consultation.
    "colleague": {"adviser_request:assistance"},
    "municipal": {"adviser_request:municipal", "organisation_open_requests"},
    "investigator": {
        "assigned_consultation",
        "asked_adviser_request:assistance",
        "asked_adviser_request:municipal",
        "notes",
        "messages",
    },
    "ngo_worker": {
        "booked_consultation",
        "asked_adviser_request:assistance",
        "asked_adviser_request:municipal",
        "notes",
        "messages",
    },
    "other_ngo_worker": set(),
    "coordinator": {"unit_consultation"},
}


async def _seen(svc: Services, actor: Account, s: Setting) -> set[str]:
    db, c = svc.db, s.consultation
    by_id: dict[str, Awaitable[Any]] = {
        "adviser_request:assistance": visibility.adviser_request(db, actor, s.to_assistance),
        "adviser_request:municipal": visibility.adviser_request(db, actor, s.to_municipal),
        "asked_adviser_request:assistance": visibility.asked_adviser_request(
            db, actor, s.to_assistance
        ),
        "asked_adviser_request:municipal": visibility.asked_adviser_request(
            db, actor, s.to_municipal
        ),
        "adviser_consultation": visibility.adviser_consultation(db, actor, c.id),
        "own_adviser_meeting": visibility.own_adviser_meeting(db, actor, s.part),
        "booked_consultation": visibility.booked_consultation(db, actor, c.id),
        "assigned_consultation": visibility.assigned_consultation(db, actor, c.id),
        "unit_consultation": visibility.unit_consultation(db, actor, c.id),
    }
    seen = {name for name, lookup in by_id.items() if await lookup is not None}
    lists = {
        "organisation_open_requests": await visibility.organisation_open_requests(db, actor, 50),
        "own_adviser_meetings": await visibility.own_adviser_meetings(db, actor, 50),
        "notes": await visibility.consultation_notes(db, actor, c),
        "messages": await visibility.consultation_messages(db, actor, c, ""),
    }
    return seen | {name for name, found in lists.items() if found}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_role_sees_exactly_its_share(
    client: TestClient, world: World, setting: Setting, who: str
) -> None:
    person = getattr(setting, who, None) or getattr(world, who)
    svc = services_of(client)
    actor = in_app(client, _account, svc, person.id)
    assert in_app(client, _seen, svc, actor, setting) == EXPECTED[who]


def _routes(app: Starlette) -> list[tuple[str, str, frozenset[str]]]:
    found = []
    for r in app.routes:
        roles = getattr(r, "roles", None)
        if isinstance(r, Route) and roles:
            for method in sorted(r.methods or ()):
                if method != "HEAD":
                    found.append((method, r.path, roles))
    return found


def _path(path: str, s: Setting) -> str:
    """Real ids where they fit, so a refusal is about the role, not a missing object."""
    if path.startswith("/adviser/requests/"):
        return path.replace("{id}", s.to_assistance)
    if path.startswith("/adviser/parts/"):
        return path.replace("{id}", s.part)
    if "meetings/{id}" in path:
        return path.replace("{id}", s.meeting_id)
    return path.replace("{id}", s.consultation.id).replace("{token}", "x")


def test_the_adviser_pages_name_the_adviser_and_only_there(app: Starlette) -> None:
    for method, path, roles in _routes(app):
        if path.startswith("/adviser"):
            assert roles == {ADVISER}, (method, path)
        elif ADVISER in roles:
            # The pages every staff member has (or every holder of a key), no other.
            assert roles in (STAFF_ROLES, KEY_HOLDERS), (method, path)
            assert path.startswith("/staff"), (method, path)


def test_an_adviser_gets_404_on_every_other_roles_route(
    app: Starlette, client: TestClient, clock: FakeClock, setting: Setting
) -> None:
    adviser = Actor(client)
    adviser.log_in(setting.adviser, clock)
    token = adviser.csrf_from("/adviser")
    checked = 0
    for method, path, roles in _routes(app):
        if ADVISER in roles or "public" in roles:
            continue
        response = adviser.request(method, _path(path, setting), data={"csrf_token": token})
        assert response.status_code == 404, (method, path)
        checked += 1
    assert checked > 40
    # And the pages that are theirs answer.
    assert adviser.get(f"/adviser/consultations/{setting.consultation.id}").status_code == 200


@pytest.mark.parametrize("who", ["investigator", "ngo_worker", "coordinator"])
def test_other_staff_get_404_on_every_adviser_route(
    app: Starlette, client: TestClient, clock: FakeClock, world: World, setting: Setting, who: str
) -> None:
    actor = Actor(client)
    actor.log_in(getattr(world, who), clock)
    token = actor.csrf_from("/staff")
    for method, path, roles in _routes(app):
        if roles != {ADVISER}:
            continue
        response = actor.request(method, _path(path, setting), data={"csrf_token": token})
        assert response.status_code == 404, (who, method, path)


def test_advisers_outside_get_404_and_the_participant_sees_no_notes_or_outcome(
    client: TestClient, clock: FakeClock, setting: Setting
) -> None:
    consultation = f"/adviser/consultations/{setting.consultation.id}"
    for person in (setting.colleague, setting.municipal):
        other = Actor(client)
        other.log_in(person, clock)
        token = other.csrf_from("/adviser")
        assert other.get(consultation).status_code == 404
        for url in (consultation + "/messages", consultation + "/messages/share"):
            refused = other.request("POST", url, data={"csrf_token": token, "message_id": "x"})
            assert refused.status_code == 404, url
        refused = other.request(
            "POST", f"/adviser/parts/{setting.part}/cancel", data={"csrf_token": token}
        )
        assert refused.status_code == 404
    municipal = Actor(client)
    municipal.log_in(setting.municipal, clock)
    token = municipal.csrf_from("/adviser")
    assert municipal.get(f"/adviser/requests/{setting.to_assistance}").status_code == 404
    refused = municipal.request(
        "POST",
        f"/adviser/requests/{setting.to_assistance}/join",
        data={"csrf_token": token, "meeting_id": setting.meeting_id},
    )
    assert refused.status_code == 404

    adviser = Actor(client)
    adviser.log_in(setting.adviser, clock)
    page = adviser.get(consultation).text
    request = adviser.get(f"/adviser/requests/{setting.to_assistance}").text
    for text in (page, request):
        # The needs say whether a reflection period is wanted; whether one was granted,
        # and until when, is not theirs.
        for word in ("Prepared notes", "Sealed notes", "granted", "Ends on", "Outcome",
                     "Identity", "Case reference", "Consent"):  # fmt: skip
            assert word not in text, word
    assert setting.consultation.pseudonym in page
