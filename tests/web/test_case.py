"""After the meeting: outcomes, consent against a versioned text, reflection period,
the decision to report, the sealed identity record, and the case bundle."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.testclient import TestClient

from portal.crypto.envelopes import open_json
from tests.factories import CANARIES, Actor, FakeClock, World, in_app, services_of
from tests.test_privacy import database_text
from tests.web.sealed import PASSPHRASE, Case

IDENTITY_NAME = "canary-identity-Maria-Example-1990"
HELSINKI = ZoneInfo("Europe/Helsinki")
SUMMARY = "canary-outcome-summary-wants-time-6060"


def local(clock: FakeClock, days: int, *, date_only: bool = False) -> str:
    moment = datetime.fromtimestamp(clock.now(), ZoneInfo("Europe/Helsinki")) + timedelta(days=days)
    return moment.strftime("%Y-%m-%d" if date_only else "%Y-%m-%dT10:00")


def page_of(case: Case) -> str:
    return f"/investigator/consultations/{case.consultation}"


def test_meeting_outcome_shows_on_the_ngo_dashboard(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    db = services_of(client).db
    meeting = in_app(
        client, db.fetch_value, "SELECT id FROM meetings WHERE consultation_id = :c",
        c=case.consultation,
    )  # fmt: skip

    def starts_in(seconds: int) -> None:
        in_app(
            client, db.execute, "UPDATE meetings SET starts_at = :t WHERE id = :id",
            t=clock.now() + seconds, id=meeting,
        )  # fmt: skip

    actor = case.investigator.actor
    # Ten hours before it starts, whether the client came is not known yet.
    starts_in(10 * 3600)
    offered = actor.get(page_of(case)).text
    assert 'value="cancelled"' in offered and 'value="held"' not in offered
    for outcome in ("held", "no_show"):
        early = actor.submit(
            page_of(case), f"/investigator/meetings/{meeting}/outcome", outcome=outcome
        )
        assert early.status_code == 400 and "has not started yet" in early.text
    status = in_app(
        client, db.fetch_value, "SELECT status FROM meetings WHERE id = :id", id=meeting
    )
    assert status == "booked"
    assert "badge-held" not in case.ngo.get("/ngo").text  # (the search offers "Held")
    starts_in(-60)  # now it has started
    assert 'value="held"' in actor.get(page_of(case)).text
    done = actor.submit(page_of(case), f"/investigator/meetings/{meeting}/outcome", outcome="held")
    assert done.status_code == 303
    assert "badge-held" in case.ngo.get("/ngo").text
    bad = actor.submit(page_of(case), f"/investigator/meetings/{meeting}/outcome", outcome="party")
    assert bad.status_code == 400


def test_consultation_outcome_with_a_sealed_summary(client: TestClient, case: Case) -> None:
    CANARIES.add(SUMMARY)
    actor = case.investigator.actor
    response = actor.submit(
        page_of(case), page_of(case) + "/outcome", outcome="needs_time", summary=SUMMARY
    )
    assert response.status_code == 303
    envelope = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT envelope FROM notes WHERE kind = 'outcome'",
    )
    note = open_json(
        case.investigator.secret_key,
        bytes(envelope),
        {"consultation": case.consultation, "kind": "outcome", "author": "investigator"},
    )
    assert note["summary"] == SUMMARY
    assert SUMMARY not in database_text(client)
    assert (
        "Needs time" in actor.get(page_of(case)).text
        or 'value="needs_time" selected' in actor.get(page_of(case)).text
    )


def test_consent_is_recorded_against_the_text_version(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    actor = case.investigator.actor
    assert (
        actor.submit(
            page_of(case), page_of(case) + "/consent", explained="yes", consents="yes"
        ).status_code
        == 409
    ), "no text published yet"
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    text = "The assistance system offers safe housing, health care and legal advice."
    assert coordinator.submit("/coordinator/consent", text=text).status_code == 303
    assert (
        actor.submit(
            page_of(case), page_of(case) + "/consent", explained="yes", consents="yes"
        ).status_code
        == 303
    )
    coordinator.submit("/coordinator/consent", text=text + " Version two.")
    refused = actor.submit(
        page_of(case), page_of(case) + "/consent", explained="no", consents="yes"
    )
    assert refused.status_code == 400 and "explained" in refused.text
    actor.submit(page_of(case), page_of(case) + "/consent", explained="yes", consents="no")
    versions = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT t.version, r.consents FROM referral_consents r"
        " JOIN consent_texts t ON t.id = r.consent_text_id ORDER BY r.recorded_at, t.version",
    )
    assert [(v["version"], v["consents"]) for v in versions] == [(1, 1), (2, 0)]
    assert "Version 2" in coordinator.get("/coordinator/consent").text


def test_reflection_period_needs_a_plausible_end_date(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    actor = case.investigator.actor
    too_soon = actor.submit(
        page_of(case),
        page_of(case) + "/reflection",
        reflection_status="granted",
        reflection_ends_on=local(clock, 5, date_only=True),
    )
    assert too_soon.status_code == 400
    ok = actor.submit(
        page_of(case),
        page_of(case) + "/reflection",
        reflection_status="granted",
        reflection_ends_on=local(clock, 60, date_only=True),
    )
    assert ok.status_code == 303
    assert "Reflection periods ending" in actor.get("/investigator").text
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    assert "Reflection periods ending" in coordinator.get("/coordinator/schedule").text


def test_not_needed_is_shown_only_once_recorded(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    """Before anyone decides, the reflection period's select says "Choose…"; once the
    investigator records "Not needed", the page shows that choice."""

    def chosen() -> str | None:
        select = re.search(
            r'<select id="reflection_status".*?</select>', actor.get(page_of(case)).text
        )
        assert select is not None
        picked = re.search(r'<option value="([^"]*)" selected>', select.group(0))
        return picked.group(1) if picked else None

    actor = case.investigator.actor
    assert chosen() is None
    saved = actor.submit(page_of(case), page_of(case) + "/reflection", reflection_status="none")
    assert saved.status_code == 303
    assert chosen() == "none"


def test_identity_only_after_the_decision_to_report(
    client: TestClient, clock: FakeClock, case: Case, tmp_path: Path
) -> None:
    CANARIES.add(IDENTITY_NAME)
    actor = case.investigator.actor
    early = actor.submit(page_of(case), page_of(case) + "/identity", name=IDENTITY_NAME)
    assert early.status_code == 409
    # The decision's form says up front what it needs, not only after everything else.
    precondition = "can be recorded only after the outcome says the client wants to report."
    assert precondition in actor.get(page_of(case)).text
    wants = actor.submit(page_of(case), page_of(case) + "/outcome", outcome="wants_to_report")
    assert wants.status_code == 303
    assert precondition not in actor.get(page_of(case)).text
    bad = actor.submit(
        page_of(case),
        page_of(case) + "/report",
        case_reference="x",
        first_interview_at=local(clock, 7),
    )
    assert bad.status_code == 400 and 'value="x"' in bad.text
    reported = actor.submit(
        page_of(case),
        page_of(case) + "/report",
        case_reference="HEL/2026/1234",
        first_interview_at=local(clock, 7),
    )
    assert reported.status_code == 303
    again = actor.submit(
        page_of(case),
        page_of(case) + "/report",
        case_reference="HEL/2026/9999",
        first_interview_at=local(clock, 8),
    )
    assert again.status_code == 400
    sealed = actor.submit(
        page_of(case), page_of(case) + "/identity", name=IDENTITY_NAME, birth_date="1990-01-01"
    )
    assert sealed.status_code == 303
    assert IDENTITY_NAME not in database_text(client)

    printable = actor.get(page_of(case) + "/case/print")
    assert printable.status_code == 200
    assert "Case HEL/2026/1234" in printable.text and "Station room 4" in printable.text
    assert IDENTITY_NAME not in printable.text  # sealed: opened only in the browser
    assert 'data-kind="identity"' in printable.text and "data-unlock" in printable.text
    bundle = actor.get(page_of(case) + "/case")
    assert bundle.status_code == 200 and IDENTITY_NAME not in bundle.text
    document = json.loads(bundle.text)
    assert document["case"]["case_reference"] == "HEL/2026/1234"
    kinds = sorted(note["kind"] for note in document["notes"])
    assert kinds == ["identity"]
    path = tmp_path / "case.json"
    path.write_text(bundle.text)
    secret = tmp_path / "secret"
    secret.write_text(PASSPHRASE)
    result = subprocess.run(
        [sys.executable, "-m", "portal", "decrypt", str(path), "--secret-file", str(secret)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert IDENTITY_NAME in result.stdout and "HEL/2026/1234" in result.stdout

    # The same bundle as one printable page: words and local times, not codes and epochs.
    printable = subprocess.run(
        [sys.executable, "-m", "portal", "decrypt", str(path), "--secret-file", str(secret),
         "--html", "--timezone", "Europe/Helsinki"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert printable.returncode == 0, printable.stderr
    page = printable.stdout
    assert page.startswith("<!doctype html>") and "<title>Case HEL/2026/1234</title>" in page
    assert IDENTITY_NAME in page and "Identity from the investigator" in page
    interview = datetime.fromtimestamp(document["case"]["first_interview_at"], HELSINKI)
    assert interview.strftime("%d.%m.%Y %H:%M") in page  # local time, not epoch seconds
    assert str(document["case"]["first_interview_at"]) not in page
    assert "Station room 4" in page  # the place by name
    assert "Language or dialect for the meeting" in page  # needs in words


def test_the_case_is_kept_out_of_other_hands(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    other = Actor(client)
    other.log_in(world.other_investigator, clock)
    ngo = case.ngo
    token = other.csrf_from("/investigator")
    ngo_token = ngo.csrf_from("/ngo")
    meeting = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT id FROM meetings WHERE consultation_id = :c",
        c=case.consultation,
    )
    paths = [f"/investigator/meetings/{meeting}/outcome"] + [
        page_of(case) + suffix
        for suffix in ("/outcome", "/consent", "/reflection", "/report", "/identity")
    ]
    for path in paths:
        assert other.request("POST", path, data={"csrf_token": token}).status_code == 404, path
        assert ngo.request("POST", path, data={"csrf_token": ngo_token}).status_code == 404, path
    assert other.get(page_of(case) + "/case").status_code == 404
    assert ngo.get(page_of(case) + "/case").status_code == 404


def test_a_follow_up_with_another_investigator_asks_why(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    from tests.factories import make_place, make_slot

    svc = services_of(client)
    place = in_app(client, make_place, svc, "Second room")
    theirs = in_app(client, make_slot, svc, world.other_investigator, place, hours_ahead=100)
    actor = case.investigator.actor
    unexplained = actor.submit(page_of(case), page_of(case) + "/follow-up", slot_id=theirs)
    assert unexplained.status_code == 400 and "Say why" in unexplained.text
    assert f'value="{theirs}" selected' in unexplained.text  # the choice is kept
    explained = actor.submit(
        page_of(case), page_of(case) + "/follow-up", slot_id=theirs, reason="language"
    )
    assert explained.status_code == 303
    detail = in_app(
        client,
        svc.db.fetch_value,
        "SELECT detail FROM audit_events WHERE action = 'follow_up_booked'",
    )
    assert detail == "language"
    first = in_app(
        client,
        svc.db.fetch_value,
        "SELECT first_investigator_id FROM consultations WHERE id = :c",
        c=case.consultation,
    )
    assert first == world.investigator.id  # who held the first meeting is kept


def test_nothing_is_decided_by_default(
    client: TestClient, world: World, clock: FakeClock, case: Case
) -> None:
    """Every choice that records a decision starts empty and must be made: an untouched
    form records no outcome ("wants to report" unlocks identity records) and no consent."""
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    coordinator.submit("/coordinator/consent", text="The assistance system offers safe housing.")
    actor = case.investigator.actor
    page = actor.get(page_of(case)).text
    for name in ("outcome", "reflection_status", "explained", "consents"):
        select = re.search(rf'<select id="{name}" name="{name}" required>(.*?)</select>', page)
        assert select is not None, name
        assert select.group(1).startswith('<option value="">Choose…</option>'), name
        assert " selected" not in select.group(1), name
    untouched = actor.submit(page_of(case), page_of(case) + "/outcome")
    assert untouched.status_code == 400 and "Choose one of the options." in untouched.text
    for given in ({}, {"explained": "yes"}, {"consents": "yes"}):
        refused = actor.submit(page_of(case), page_of(case) + "/consent", **given)
        assert refused.status_code == 400 and "Choose one of the options." in refused.text
    recorded = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT (SELECT count(*) FROM referral_consents)"
        " + (SELECT count(*) FROM consultations WHERE outcome IS NOT NULL)",
    )
    assert recorded == 0


def test_the_ngo_page_labels_each_sealed_item_by_its_author(client: TestClient, case: Case) -> None:
    actor = case.investigator.actor
    saved = actor.submit(
        page_of(case), page_of(case) + "/outcome", outcome="needs_time", summary=SUMMARY
    )
    assert saved.status_code == 303
    case.ngo.submit(
        f"/ngo/consultations/{case.consultation}",
        f"/ngo/consultations/{case.consultation}/notes",
        fears="canary-ngo-label-note",
    )
    page = case.ngo.get(f"/ngo/consultations/{case.consultation}").text
    sealed = page.split("Sealed notes")[1].split("</ul>")[0]
    assert "the investigator's outcome notes" in sealed
    assert sealed.count("from your organisation") == 1
