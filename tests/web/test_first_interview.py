"""The first interview: planned with the decision to report (time, place, the same
investigator unless there is a reason), re-planned later (audited), shown on the
client's page only after the decision, with the client's wishes sealed like notes."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx2 as httpx
from starlette.testclient import TestClient

from portal.crypto.envelopes import open_json, seal_json
from tests.factories import CANARIES, FakeClock, World, in_app, make_place, services_of
from tests.test_privacy import database_text
from tests.web.sealed import Case

WISH = "canary-interview-wish-a-break-every-hour-7731"
HELSINKI = ZoneInfo("Europe/Helsinki")


def local(clock: FakeClock, days: int) -> str:
    moment = datetime.fromtimestamp(clock.now(), HELSINKI) + timedelta(days=days)
    return moment.strftime("%Y-%m-%dT10:00")


def page_of(case: Case) -> str:
    return f"/investigator/consultations/{case.consultation}"


def family_centre(client: TestClient) -> str:
    return in_app(client, make_place, services_of(client), "Family centre", "other")


def report(case: Case, clock: FakeClock, **fields: str) -> httpx.Response:
    actor = case.investigator.actor
    wants = actor.submit(page_of(case), page_of(case) + "/outcome", outcome="wants_to_report")
    assert wants.status_code == 303
    form = {"case_reference": "HEL/2027/77", "first_interview_at": local(clock, 7), **fields}
    return actor.submit(page_of(case), page_of(case) + "/report", **form)


def interview_section(page: str) -> str:
    found = re.search(r'<section id="first-interview".*?</section>', page, re.S)
    return found.group(0) if found else ""


def column(client: TestClient, case: Case, name: str) -> object:
    return in_app(
        client,
        services_of(client).db.fetch_value,
        f"SELECT {name} FROM consultations WHERE id = :id",  # noqa: S608 - a literal name
        id=case.consultation,
    )


def audit_events(client: TestClient, case: Case) -> list[tuple[str, str | None]]:
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT action, detail FROM audit_events WHERE consultation_id = :id ORDER BY id",
        id=case.consultation,
    )
    return [(row["action"], row["detail"]) for row in rows]


def test_planned_with_the_same_investigator_shown_to_the_client_only_after_the_decision(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    place = family_centre(client)
    before = case.client.get("/meeting").text
    assert "Your first interview" not in before and not interview_section(before)
    assert "/meeting/interview-wishes" not in before
    assert "What would help you in the interview?" not in before

    reported = report(
        case, clock, first_interview_place_id=place, interviewer_id=world.investigator.id
    )
    assert reported.status_code == 303

    section = interview_section(case.client.get("/meeting").text)
    assert "Your first interview" in section
    assert "Friday, January 22, 2027, 10:00\u202fAM" in section  # Helsinki time, as typed
    assert "Family centre" in section and "Side door, second floor." in section
    assert "The investigator you have met." in section
    assert "Inv" not in section  # never a staff name: the client page says who by role
    assert "/meeting/interview-wishes" in section
    assert column(client, case, "first_interview_place_id") == place
    assert column(client, case, "first_interview_investigator_id") == world.investigator.id
    assert column(client, case, "first_interview_change_reason") is None
    assert ("reported", None) in audit_events(client, case)

    staff = case.investigator.actor.get(page_of(case)).text
    assert "Family centre, Street 1" in staff
    assert "Plan the first interview again" in staff


def test_changing_the_interviewer_needs_a_reason_and_every_error_shows_at_once(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    place = family_centre(client)
    refused = report(
        case,
        clock,
        case_reference="x",
        first_interview_at=local(clock, -1),
        first_interview_place_id=place,
        interviewer_id=world.other_investigator.id,
    )
    assert refused.status_code == 400
    page = refused.text
    for message in (
        "Enter the case reference: 3 to 64 letters, digits or / . _ -",
        "Choose a time in the future.",
        "Say why another investigator holds the first interview.",
    ):
        assert message in page
    assert 'value="x"' in page  # nothing typed is lost
    assert f'<option value="{world.other_investigator.id}" selected>' in page
    assert column(client, case, "reported_at") is None

    accepted = report(
        case,
        clock,
        first_interview_place_id=place,
        interviewer_id=world.other_investigator.id,
        first_interview_reason="language",
    )
    assert accepted.status_code == 303
    assert column(client, case, "first_interview_change_reason") == "language"
    assert ("reported", "language") in audit_events(client, case)
    section = interview_section(case.client.get("/meeting").text)
    assert "Another investigator from the same team." in section
    assert "Inv2" not in section
    staff = case.investigator.actor.get(page_of(case)).text
    assert "Reason: Language or interpreter" in staff
    bundle = json.loads(case.investigator.actor.get(page_of(case) + "/case").text)["case"]
    assert bundle["first_interview_place"] == "Family centre, Street 1"
    assert bundle["first_interview_change_reason"] == "language"
    assert bundle["first_interview_investigator"] == world.other_investigator.id


def test_the_interview_is_planned_again_from_the_consultation_page(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    assert report(case, clock).status_code == 303  # the place can follow later
    section = interview_section(case.client.get("/meeting").text)
    assert "Your support worker will tell you the place." in section
    place = family_centre(client)
    actor = case.investigator.actor
    replan = page_of(case) + "/first-interview"
    refused = actor.submit(
        page_of(case),
        replan,
        first_interview_at=local(clock, 9),
        first_interview_place_id="",
        interviewer_id=world.other_investigator.id,
    )
    assert refused.status_code == 400
    assert "Choose a place in use." in refused.text
    assert "Say why another investigator holds the first interview." in refused.text
    assert "<details open>" in refused.text  # the form stays open with what was typed
    assert column(client, case, "first_interview_investigator_id") == world.investigator.id

    done = actor.submit(
        page_of(case),
        replan,
        first_interview_at=local(clock, 9),
        first_interview_place_id=place,
        interviewer_id=world.other_investigator.id,
        first_interview_reason="availability",
    )
    assert done.status_code == 303
    assert ("first_interview_planned", "availability") in audit_events(client, case)
    section = interview_section(case.client.get("/meeting").text)
    assert "Sunday, January 24, 2027, 10:00\u202fAM" in section
    assert "Family centre" in section and "Another investigator from the same team." in section

    # Someone not assigned gets nothing; before the decision there is nothing to re-plan.
    other = world.other_investigator
    from tests.web.sealed import create_key

    stranger = create_key(client, clock, other).actor
    assert (
        stranger.submit("/investigator", replan, first_interview_at=local(clock, 9)).status_code
        == 404
    )


def test_replanning_needs_a_case(client: TestClient, clock: FakeClock, case: Case) -> None:
    response = case.investigator.actor.submit(
        page_of(case),
        page_of(case) + "/first-interview",
        first_interview_at=local(clock, 9),
    )
    assert response.status_code == 400
    assert "The first interview is planned with the decision to report." in response.text


def test_wishes_are_sealed_and_the_investigator_sees_them_labelled(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    CANARIES.add(WISH)
    early = case.client.submit("/meeting", "/meeting/interview-wishes", interview_wishes=WISH)
    assert early.status_code == 404  # no case yet: nothing to wish for
    assert report(case, clock).status_code == 303

    empty = case.client.submit("/meeting", "/meeting/interview-wishes", interview_wishes="  ")
    assert empty.status_code == 400
    assert "Write something in at least one box." in interview_section(empty.text)

    sent = case.client.submit("/meeting", "/meeting/interview-wishes", interview_wishes=WISH)
    assert sent.status_code == 303
    assert "locked on the server" in case.client.get(sent.headers["location"]).text
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT kind, author_role, sealed_in, envelope FROM notes WHERE consultation_id = :id",
        id=case.consultation,
    )
    assert [(r["kind"], r["author_role"], r["sealed_in"]) for r in rows] == [
        ("interview_wishes", "client", "server")
    ]
    opened = open_json(case.investigator.secret_key, bytes(rows[0]["envelope"]), {})
    assert opened["interview_wishes"] == WISH and opened["kind"] == "interview_wishes"
    assert WISH not in database_text(client)  # the database holds only the envelope
    assert WISH not in case.client.get("/meeting").text  # not even its author reads it back
    assert ("interview_wishes_added", None) in audit_events(client, case)

    for path in (page_of(case), page_of(case) + "/case/print"):
        page = case.investigator.actor.get(path).text
        assert "<strong>the client's wishes for the first interview</strong>" in page
        assert 'data-kind="interview_wishes"' in page
        assert WISH not in page  # opened in the browser only


def test_wishes_sealed_in_the_browser_arrive_as_an_envelope(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    assert report(case, clock).status_code == 303
    page = case.client.get("/meeting").text
    assert 'data-kind="interview_wishes"' in interview_section(page)
    public = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT public_key FROM investigator_keys WHERE id = :id",
        id=case.investigator.key_id,
    )
    message = {
        "v": 1,
        "consultation": case.consultation,
        "kind": "interview_wishes",
        "author": "client",
        "time": clock.now(),
        "interview_wishes": WISH,
    }
    envelope = seal_json(bytes(public), message)
    sent = case.client.submit(
        "/meeting",
        "/meeting/interview-wishes",
        key_id=case.investigator.key_id,
        envelope=base64.b64encode(envelope).decode(),
    )
    assert sent.status_code == 303
    stored = in_app(
        client,
        services_of(client).db.fetch_one,
        "SELECT envelope, sealed_in FROM notes WHERE kind = 'interview_wishes'",
    )
    assert (bytes(stored["envelope"]), stored["sealed_in"]) == (envelope, "browser")


def test_the_place_is_shown_in_the_clients_language_or_marked(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    place = family_centre(client)
    in_app(
        client,
        services_of(client).db.execute,
        "INSERT INTO place_translations (place_id, locale, name, directions)"
        " VALUES (:p, 'fi', 'Perhekeskus', 'Pääovi, toinen kerros.')",
        p=place,
    )
    assert report(case, clock, first_interview_place_id=place).status_code == 303
    case.client.submit("/meeting", "/language", locale="fi", next="/meeting")
    section = html.unescape(interview_section(case.client.get("/meeting").text))
    assert "Ensimmäinen haastattelusi" in section
    assert "Perhekeskus" in section and "Pääovi, toinen kerros." in section
    assert "Family centre" not in section and "(kielellä English)" not in section
    case.client.submit("/meeting", "/language", locale="sv", next="/meeting")
    section = html.unescape(interview_section(case.client.get("/meeting").text))
    assert "Family centre (på English)" in re.sub(r"<[^>]+>", "", section)
    assert "Side door, second floor." in section
