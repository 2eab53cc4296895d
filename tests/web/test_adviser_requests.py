"""Talking with an adviser before the decision: the investigator or NGO worker asks an
organisation of the assistance system or municipal services, its advisers see the
request (language and needs, nothing else) on their start page, join a meeting or offer
their own time, the client's page says who will be there, and the adviser becomes a
participant of the conversation."""

from __future__ import annotations

import base64
import json
import re

from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto.envelopes import open_envelope, seal
from portal.domain.conversation import padded
from portal.i18n import CLIENT_LOCALES
from tests.factories import FakeClock, World, in_app, services_of
from tests.web.advisers import ask, join_first_meeting, make_advisers, request_id_on, signed_in
from tests.web.conversation import (
    FROM_POLICE,
    Talk,
    client_key_of,
    form_of,
    post,
    register_staff_key,
    sealed,
    stored_envelopes,
)
from tests.web.sealed import FEARS, Case

FROM_ADVISER = "canary-message-the-help-you-can-get-is-housing-9191"
JOINS = (
    "Someone from the assistance system who can explain the help you can get will also be there."
)
# The sentence in some of the client languages (all 11 are checked to differ from English).
WORDS = {
    "en": JOINS,
    "fi": "Paikalla on myös joku auttamisjärjestelmästä, joka voi kertoa, "
    "millaista apua voit saada.",
}
MUNICIPAL_OWN = (
    "Someone from the city's social and health services who can explain the help you can get."
)


def _db(client: TestClient):  # type: ignore[no-untyped-def]
    return services_of(client).db


def _rows(client: TestClient, sql: str, **params: object) -> list[dict[str, object]]:
    return [dict(r) for r in in_app(client, _db(client).fetch_all, sql, **params)]


def _inv_page(case: Case) -> str:
    return f"/investigator/consultations/{case.consultation}"


def test_the_ask_form_offers_only_adviser_organisations_with_active_advisers(
    client: TestClient, world: World, case: Case
) -> None:
    advisers = make_advisers(client)
    page = case.investigator.actor.get(_inv_page(case)).text
    assert "Ask an adviser to talk with the client" in page
    offered = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+) \(', page)
    assert {name for _id, name in offered} == {"National Assistance System", "City Ankkuri Team"}
    # Refused: an assistance organisation without advisers, a support organisation.
    for wrong in (advisers.empty.id, world.ngo.id, ""):
        refused = ask(case.investigator.actor, _inv_page(case), wrong)
        assert refused.status_code == 400
        assert "Choose an organisation whose advisers can take part." in refused.text
    assert _rows(client, "SELECT id FROM adviser_requests") == []


def test_request_join_client_wording_and_conversation(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    advisers = make_advisers(client)
    investigator = case.investigator.actor
    asked = ask(investigator, _inv_page(case), advisers.assistance.id)
    assert asked.status_code == 303
    assert asked.headers["location"] == _inv_page(case) + "?asked=1#advisers"
    [request] = _rows(client, "SELECT id, status, organisation_id FROM adviser_requests")
    assert (request["status"], request["organisation_id"]) == ("open", advisers.assistance.id)
    # Asked twice while open: refused with the reason.
    again = ask(investigator, _inv_page(case), advisers.assistance.id)
    assert again.status_code == 400
    assert "This organisation has been asked already" in again.text
    audit = _rows(
        client,
        "SELECT action, detail, consultation_id FROM audit_events WHERE action LIKE 'adviser%'",
    )
    assert audit == [
        {
            "action": "adviser_requested",
            "detail": "assistance",
            "consultation_id": case.consultation,
        }
    ]
    items = _rows(client, "SELECT account_id FROM attention_items WHERE kind = 'adviser_request'")
    assert {i["account_id"] for i in items} == {advisers.adviser.id, advisers.colleague.id}

    # The adviser's start page: the request, its language and needs, the meeting's time
    # and place; never a note, the NGO's notes or the consultation's outcome.
    adviser = signed_in(client, clock, advisers.adviser)
    start = adviser.get("/adviser")
    assert start.status_code == 200
    assert "Your organisation is asked to talk with a client." in start.text
    assert "Finnish" in start.text and "Station room 4" in start.text
    assert FEARS not in start.text
    request_id = request_id_on(start.text)
    assert request_id == request["id"]
    # The municipal adviser sees nothing of it.
    municipal = signed_in(client, clock, advisers.municipal_adviser)
    assert "No open requests to your organisation." in municipal.get("/adviser").text
    assert municipal.get(f"/adviser/requests/{request_id}").status_code == 404

    # Join the upcoming meeting.
    page = adviser.get(f"/adviser/requests/{request_id}").text
    meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', page)
    assert meeting_id
    refused = adviser.submit(
        f"/adviser/requests/{request_id}", f"/adviser/requests/{request_id}/join"
    )
    assert refused.status_code == 400 and "Choose one of the upcoming meetings." in refused.text
    joined = adviser.submit(
        f"/adviser/requests/{request_id}",
        f"/adviser/requests/{request_id}/join",
        meeting_id=meeting_id.group(1),
    )
    assert joined.status_code == 303
    assert joined.headers["location"] == f"/adviser/consultations/{case.consultation}?done=joined"
    [request] = _rows(client, "SELECT status, answered_by FROM adviser_requests")
    assert request == {"status": "answered", "answered_by": advisers.adviser.id}
    [part] = _rows(client, "SELECT meeting_id, place_id, status FROM adviser_meetings")
    assert part == {"meeting_id": meeting_id.group(1), "place_id": None, "status": "planned"}
    # The colleague can no longer answer it.
    colleague = signed_in(client, clock, advisers.colleague)
    late = colleague.submit(
        f"/adviser/requests/{request_id}",
        f"/adviser/requests/{request_id}/join",
        meeting_id=meeting_id.group(1),
    )
    assert late.status_code == 409
    assert "This request is no longer open: someone answered it" in late.text
    assert len(_rows(client, "SELECT id FROM adviser_meetings")) == 1
    assert "This request is answered" in colleague.get(f"/adviser/requests/{request_id}").text
    # The investigator hears of it.
    home = investigator.get("/staff").text
    assert "An adviser will take part and talk with the client." in home

    # The client's meeting page names who will be there, in plain words.
    meeting_page = case.client.get("/meeting").text
    assert JOINS in meeting_page

    # The adviser is now a participant: their key is among the recipients.
    adviser_key, adviser_sk = register_staff_key(client, clock, advisers.adviser.id)
    inv_key = case.investigator.key_id
    _id, recipients = form_of(investigator.get(_inv_page(case)).text)
    assert adviser_key in {r.key_id for r in recipients}
    ngo_key = register_staff_key(client, clock, world.ngo_worker.id)
    talk = Talk(
        case,
        {
            "investigator": (inv_key, case.investigator.secret_key),
            "ngo_worker": ngo_key,
            "client": client_key_of(client, case),
        },
        clock,
    )
    # The adviser writes from their consultation page, sealed to everyone.
    adviser_page = f"/adviser/consultations/{case.consultation}"
    shown = adviser.get(adviser_page)
    assert shown.status_code == 200
    assert FEARS not in shown.text and "Prepared notes" not in shown.text
    message_id, recipients = form_of(shown.text)
    envelopes = sealed(
        recipients,
        consultation=case.consultation,
        message_id=message_id,
        author="adviser",
        text=FROM_ADVISER,
        at=clock.now(),
    )
    written = post(adviser, adviser_page, message_id, envelopes)
    assert written.status_code == 200, written.text
    assert talk.opens("investigator", message_id, "adviser") == FROM_ADVISER
    assert talk.opens("client", message_id, "adviser") == FROM_ADVISER
    client_page = case.client.get("/meeting").text
    assert FROM_ADVISER in client_page
    assert "someone from the assistance system" in client_page
    assert "Someone from the assistance system who takes part can read them too." in client_page
    staff_page = investigator.get(_inv_page(case)).text
    assert "the assistance system (Adv)" in staff_page
    assert "Advisers who take part in this consultation can read them too." in staff_page
    # The investigator's message alerts the adviser.
    _mid, response = talk.write("investigator", FROM_POLICE)
    assert response.status_code == 200
    assert "There is a new message in the conversation." in adviser.get("/adviser").text
    # Another adviser of the same organisation is no participant.
    assert colleague.get(adviser_page).status_code == 404
    other = post(colleague, "/adviser", message_id, envelopes)
    assert other.status_code in (403, 404)

    # The client asks for another time: the adviser joining is told (not why), and the
    # meeting is no longer on at its time, on their page and on the client's.
    answer = re.search(r'action="(/meeting/[^/"]+/answer)#', case.client.get("/meeting").text)
    assert answer
    asked = case.client.submit("/meeting", answer.group(1), answer="change", reason="unsafe")
    assert asked.status_code == 303
    start = adviser.get("/adviser").text
    assert "The client asks for another time." in start
    assert "The meeting is no longer on." in start
    assert "Reason given by the client" not in start and "Urgent" not in start
    assert JOINS not in case.client.get("/meeting").text

    # Cancelling the part: no longer a participant, the investigator is told.
    [part] = _rows(client, "SELECT id FROM adviser_meetings")
    cancelled = adviser.submit(adviser_page, f"/adviser/parts/{part['id']}/cancel")
    assert cancelled.status_code == 303
    assert adviser.get(adviser_page).status_code == 404
    _id, recipients = form_of(investigator.get(_inv_page(case)).text)
    assert adviser_key not in {r.key_id for r in recipients}
    assert JOINS not in case.client.get("/meeting").text
    assert "The adviser cannot take part after all." in investigator.get("/staff").text
    # The coordinator's audit log names each step and who took it.
    coordinator = signed_in(client, clock, world.coordinator)
    audit = coordinator.get("/coordinator/audit").text
    for action in (
        "Adviser asked to talk with the client",
        "Adviser joins a meeting",
        "Message written (sealed)",
        "Adviser cancelled their part",
    ):
        assert action in audit, action
    assert "<td>Adviser</td>" in audit and "<td>Assistance system</td>" in audit
    _ = adviser_sk


def test_own_time_from_municipal_services_and_withdrawal(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    advisers = make_advisers(client)
    ngo_page = f"/ngo/consultations/{case.consultation}"
    assert ask(case.ngo, ngo_page, advisers.municipal.id).status_code == 303
    assert ask(case.ngo, ngo_page, advisers.assistance.id).status_code == 303
    municipal = signed_in(client, clock, advisers.municipal_adviser)
    request_id = request_id_on(municipal.get("/adviser").text)
    request_page = f"/adviser/requests/{request_id}"
    offer = f"{request_page}/offer"
    place_id = re.search(
        r'<option value="([^"]+)">Station room 4', municipal.get(request_page).text
    )
    assert place_id
    # Every error at once, what was typed kept.
    refused = municipal.submit(request_page, offer, starts_at="yesterday", duration_minutes="7")
    assert refused.status_code == 400
    for message in (
        "Enter the date and time, for example 2026-12-01 10:00.",
        "Choose one of the options.",
        "Choose a meeting place.",
    ):
        assert message in refused.text
    assert 'value="yesterday"' in refused.text
    offered = municipal.submit(
        request_page,
        offer,
        place_id=place_id.group(1),
        starts_at="2027-02-15T10:00",
        duration_minutes="45",
    )
    assert offered.status_code == 303, offered.text
    [part] = _rows(
        client,
        "SELECT meeting_id, place_id, duration_minutes, status FROM adviser_meetings",
    )
    assert part == {
        "meeting_id": None,
        "place_id": place_id.group(1),
        "duration_minutes": 45,
        "status": "planned",
    }
    meeting_page = case.client.get("/meeting").text
    assert MUNICIPAL_OWN in meeting_page
    assert "About 45 minutes" in meeting_page
    # The same page in Finnish says it in Finnish.
    # The NGO worker withdraws the other (still open) request; an adviser of the
    # assistance system then sees it withdrawn.
    page = case.ngo.get(ngo_page).text
    withdraw = re.search(r'action="(/ngo/adviser-requests/[^"]+/withdraw)"', page)
    assert withdraw
    assert case.ngo.submit(ngo_page, withdraw.group(1)).status_code == 303
    statuses = _rows(
        client,
        "SELECT o.kind, r.status FROM adviser_requests r"
        " JOIN organisations o ON o.id = r.organisation_id ORDER BY o.kind",
    )
    assert statuses == [
        {"kind": "assistance", "status": "withdrawn"},
        {"kind": "municipal", "status": "answered"},
    ]
    adviser = signed_in(client, clock, advisers.adviser)
    assert "No open requests to your organisation." in adviser.get("/adviser").text
    assert (
        "This request was withdrawn."
        in adviser.get(
            withdraw.group(1)
            .replace("/ngo/adviser-requests/", "/adviser/requests/")
            .removesuffix("/withdraw")
        ).text
    )


def test_the_client_page_says_who_joins_in_every_client_language(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    advisers = make_advisers(client)
    assert ask(case.investigator.actor, _inv_page(case), advisers.assistance.id).status_code == 303
    adviser = signed_in(client, clock, advisers.adviser)
    join_first_meeting(adviser)
    for locale in CLIENT_LOCALES:
        case.client.submit("/meeting", "/language", locale=locale, next="/meeting")
        text = case.client.get("/meeting").text
        assert f'<html lang="{locale}"' in text
        if locale != "en":
            assert JOINS not in text, locale
        assert WORDS.get(locale, "") in text, locale


def test_earlier_messages_are_shared_with_an_adviser_who_joins(
    client: TestClient, clock: FakeClock, world: World, talk: Talk
) -> None:
    case = talk.case
    message_id, response = talk.write("investigator", FROM_POLICE)
    assert response.status_code == 200
    advisers = make_advisers(client)
    assert ask(case.investigator.actor, _inv_page(case), advisers.assistance.id).status_code == 303
    adviser = signed_in(client, clock, advisers.adviser)
    adviser_key, adviser_sk = register_staff_key(client, clock, advisers.adviser.id)
    join_first_meeting(adviser)
    adviser_page = f"/adviser/consultations/{case.consultation}"
    assert "Written before you could read this conversation" in adviser.get(adviser_page).text
    inv_page = case.investigator.actor.get(_inv_page(case)).text
    assert "Share earlier messages with:" in inv_page and "Adv" in inv_page
    assert f'data-missing="{adviser_key}"' in inv_page
    # What the investigator's browser does: open its own envelope, seal it for the adviser.
    inv_key, inv_sk = talk.keys["investigator"]
    mine = stored_envelopes(talk)[message_id][inv_key]
    opened = json.loads(open_envelope(inv_sk, mine))
    resealed = {**opened, "recipient": adviser_key}
    envelope = base64.b64encode(
        seal(bytes(PrivateKey(adviser_sk).public_key), padded(resealed))
    ).decode()
    actor = case.investigator.actor
    token = actor.csrf_from(_inv_page(case))
    shared = actor.request(
        "POST",
        _inv_page(case) + "/messages/share",
        data={"csrf_token": token, "shared": [f"{message_id}:{adviser_key}:{envelope}"]},
    )
    assert shared.json() == {"shared": 1}
    talk.keys["adviser"] = (adviser_key, adviser_sk)
    assert talk.opens("adviser", message_id, "investigator") == FROM_POLICE
    assert "Written before you could read" not in adviser.get(adviser_page).text


def test_an_adviser_cannot_join_the_same_meeting_twice(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    advisers = make_advisers(client)
    adviser = signed_in(client, clock, advisers.adviser)
    for attempt in range(2):
        asked = ask(case.investigator.actor, _inv_page(case), advisers.assistance.id)
        assert asked.status_code == 303
        [request] = _rows(client, "SELECT id FROM adviser_requests WHERE status = 'open'")
        page = f"/adviser/requests/{request['id']}"
        meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', adviser.get(page).text)
        assert meeting_id
        joined = adviser.submit(page, page + "/join", meeting_id=meeting_id.group(1))
        if attempt == 0:
            assert joined.status_code == 303
        else:
            assert joined.status_code == 400
            assert "You take part in this meeting already." in joined.text
    assert len(_rows(client, "SELECT id FROM adviser_meetings")) == 1


def test_after_the_decision_to_report_no_adviser_is_asked(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    advisers = make_advisers(client)
    in_app(
        client,
        _db(client).execute,
        "UPDATE consultations SET reported_at = :now, outcome = 'wants_to_report',"
        " case_reference = 'CASE-1', first_interview_at = :later,"
        " first_interview_investigator_id = investigator_id WHERE id = :c",
        now=clock.now(),
        later=clock.now() + 7 * 24 * 3600,
        c=case.consultation,
    )
    page = case.investigator.actor.get(_inv_page(case)).text
    assert "Advisers are asked before the decision to report." in page
    assert 'name="adviser_organisation_id"' not in page
    refused = ask(case.investigator.actor, _inv_page(case), advisers.assistance.id)
    assert refused.status_code == 400
    assert _rows(client, "SELECT id FROM adviser_requests") == []


def test_an_adviser_taking_part_is_not_sealed_the_safety_plan(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    """The conversation is sealed to the adviser once they take part; the safety plan's
    details are not (advisers do not see the plan), and its page asks for no envelope
    for their key."""
    from portal.domain import safety_plans
    from portal.storage import messages as message_store

    advisers = make_advisers(client)
    investigator = case.investigator.actor
    ask(investigator, _inv_page(case), advisers.assistance.id)
    adviser = signed_in(client, clock, advisers.adviser)
    join_first_meeting(adviser)
    adviser_key, _secret = register_staff_key(client, clock, advisers.adviser.id)
    db = services_of(client).db
    conversation = in_app(client, message_store.recipient_keys, db, case.consultation)
    plan = in_app(client, safety_plans.participants, db, case.consultation)
    assert adviser_key in {k.key_id for k in conversation}
    assert adviser_key not in {k.key_id for k in plan}
    assert {k.role for k in plan} == {"investigator"}
    assert adviser_key not in investigator.get(_inv_page(case)).text.split('id="safety-plan"')[1]
