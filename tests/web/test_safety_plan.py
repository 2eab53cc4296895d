"""The safety plan through the web: the three choices start empty and are required
(every error at once, the sealed details kept), the details reach exactly the staff
participants' keys (never the client's), an urgent risk puts one urgent item in the
queues of the investigator and the booking organisation's workers and a label on the
dashboards, a coordinator sees the plain status only, and another organisation or
investigator finds nothing."""

from __future__ import annotations

import base64
import html
import re

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from portal.domain.conversation import OVERHEAD, PAD_TO, RecipientKey
from portal.domain.safety_plans import open_details, seal_details
from tests.factories import CANARIES, Actor, FakeClock, World, in_app, services_of
from tests.web.conversation import Talk

DETAILS = "canary-safety-details-sleeps-at-her-cousins-flat-3141"
OTHER_DETAILS = "canary-safety-details-second-version-2718"
RECIPIENT = re.compile(r'data-participant="([^"]+)" data-participant-key="([^"]+)"')
CHOICES = {"housing": "shelter", "urgent_risk": "yes", "safe_contact_agreed": "no"}


@pytest.fixture(autouse=True)
def _canaries() -> None:
    CANARIES.update({DETAILS, OTHER_DETAILS})


def section(page: str) -> str:
    """The safety plan's section of a consultation page."""
    start = page.index('id="safety-plan"')
    return page[start : page.index("</section>", start)]


def participants(page: str) -> list[RecipientKey]:
    return [
        RecipientKey(key_id, base64.b64decode(html.unescape(pk)), "", None, "")
        for key_id, pk in RECIPIENT.findall(section(page))
    ]


def sealed(talk: Talk, recipients: list[RecipientKey], text: str) -> list[str]:
    return [
        f"{r.key_id}:"
        + base64.b64encode(
            seal_details(r, consultation_id=talk.consultation, text=text, at=talk.clock.now())
        ).decode()
        for r in recipients
    ]


def save(
    talk: Talk,
    role: str,
    choices: dict[str, str],
    text: str | None = None,
    *,
    drop: int = 0,
    actor: Actor | None = None,
) -> httpx.Response:
    """What the page's form posts: the choices, and the details sealed in the browser to
    every key the page names (``drop`` the last few)."""
    actor = actor or talk.actor(role)
    page = talk.page(role)
    shown = actor.get(page).text
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', shown)
    assert token
    data: dict[str, str | list[str]] = {"csrf_token": token.group(1), **choices}
    if text is not None:
        recipients = participants(shown)
        data["envelope"] = sealed(talk, recipients[: len(recipients) - drop], text)
    return actor.request("POST", page + "/safety-plan", data=data)


def envelopes(client: TestClient, consultation: str) -> dict[str, bytes]:
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT recipient_key_id, envelope FROM safety_plan_envelopes WHERE consultation_id = :c",
        c=consultation,
    )
    return {r["recipient_key_id"]: bytes(r["envelope"]) for r in rows}


def items(client: TestClient, consultation: str) -> list[tuple[str, bool, bool]]:
    """(account id, urgent, done) of the consultation's urgent-risk items."""
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT account_id, urgent, done_at FROM attention_items"
        " WHERE consultation_id = :c AND kind = 'urgent_risk' ORDER BY account_id",
        c=consultation,
    )
    return [(r["account_id"], bool(r["urgent"]), r["done_at"] is not None) for r in rows]


def test_a_new_plan_starts_empty_and_names_every_missing_choice(
    client: TestClient, talk: Talk
) -> None:
    page = section(talk.actor("investigator").get(talk.page("investigator")).text)
    assert "No safety plan yet." in page
    assert page.count(" selected") == 0
    assert page.count("required") == 3

    response = save(talk, "investigator", {}, DETAILS)

    assert response.status_code == 400
    shown = section(response.text)
    for message in (
        "Choose the client's housing situation.",
        "Say whether there is an urgent risk.",
        "Say whether a safe way of contact is agreed.",
    ):
        assert shown.count(message) == 2  # in the summary and at its field
    # The sealed details come back as they were posted, to be saved with the plan.
    for field in sealed_fields(response.text):
        assert field in {f"{k}" for k in kept_fields(response.text)}
    assert len(kept_fields(response.text)) == 2  # the investigator's and the worker's
    assert "The details you wrote are kept, locked" in shown
    assert envelopes(client, talk.consultation) == {}
    assert (
        in_app(client, services_of(client).db.fetch_value, "SELECT COUNT(*) FROM safety_plans") == 0
    )


def kept_fields(page: str) -> list[str]:
    return re.findall(r'name="envelope" value="([^"]+)" data-kept-envelope', page)


def sealed_fields(page: str) -> list[str]:
    return kept_fields(page)


def test_one_missing_choice_keeps_the_others_chosen(client: TestClient, talk: Talk) -> None:
    response = save(talk, "ngo_worker", {"housing": "shelter", "urgent_risk": "no"})
    assert response.status_code == 400
    shown = section(response.text)
    assert '<option value="shelter" selected>' in shown
    assert '<option value="no" selected>' in shown
    assert "Say whether a safe way of contact is agreed." in shown
    assert "Choose the client's housing situation." not in shown


def test_the_details_reach_exactly_the_staff_participants(client: TestClient, talk: Talk) -> None:
    response = save(talk, "investigator", CHOICES, DETAILS)
    assert response.status_code == 303
    assert response.headers["location"].endswith("?saved=safety#safety-plan")

    stored = envelopes(client, talk.consultation)
    staff = {talk.keys["investigator"][0], talk.keys["ngo_worker"][0]}
    assert set(stored) == staff  # never the client's key
    for role in ("investigator", "ngo_worker"):
        key_id, secret = talk.keys[role]
        opened = open_details(
            secret, stored[key_id], consultation_id=talk.consultation, recipient_key_id=key_id
        )
        assert opened == DETAILS
    for envelope in stored.values():
        assert (len(envelope) - OVERHEAD) % PAD_TO == 0
    # Each reader's page carries the envelope for their own key only.
    for role in ("investigator", "ngo_worker"):
        shown = section(talk.actor(role).get(talk.page(role)).text)
        own = base64.b64encode(stored[talk.keys[role][0]]).decode()
        assert f'data-envelope="{own}"' in shown
    # The client's page says nothing of it.
    client_page = talk.actor("client").get("/meeting").text
    assert "safety" not in client_page.lower()
    event = in_app(
        client,
        services_of(client).db.fetch_one,
        "SELECT actor_role, detail FROM audit_events WHERE action = 'safety_plan_saved'",
    )
    assert event is not None and dict(event) == {
        "actor_role": "investigator",
        "detail": "details-replaced",
    }

    # A later save without details (no key unlocked, no JavaScript) keeps them.
    again = save(talk, "ngo_worker", {**CHOICES, "housing": "municipal"})
    assert again.status_code == 303
    assert envelopes(client, talk.consultation) == stored
    saved = talk.actor("ngo_worker").get(again.headers["location"]).text
    assert "The safety plan is saved." in saved
    assert '<option value="municipal" selected>' in section(saved)

    # A save with details replaces them for everyone.
    assert save(talk, "ngo_worker", CHOICES, OTHER_DETAILS).status_code == 303
    replaced = envelopes(client, talk.consultation)
    assert set(replaced) == staff
    key_id, secret = talk.keys["investigator"]
    assert (
        open_details(
            secret, replaced[key_id], consultation_id=talk.consultation, recipient_key_id=key_id
        )
        == OTHER_DETAILS
    )


def test_details_for_too_few_keys_are_refused_and_kept(client: TestClient, talk: Talk) -> None:
    response = save(talk, "investigator", CHOICES, DETAILS, drop=1)
    assert response.status_code == 409
    assert "The people who can read the details changed" in response.text
    assert len(kept_fields(response.text)) == 1
    assert envelopes(client, talk.consultation) == {}


def test_a_malformed_envelope_is_refused(client: TestClient, talk: Talk) -> None:
    actor = talk.actor("investigator")
    token = actor.csrf_from(talk.page("investigator"))
    response = actor.request(
        "POST",
        talk.page("investigator") + "/safety-plan",
        data={"csrf_token": token, **CHOICES, "envelope": f"{talk.keys['investigator'][0]}:AAAA"},
    )
    assert response.status_code == 400
    assert "The sealed details could not be read." in response.text
    assert envelopes(client, talk.consultation) == {}


def test_urgent_risk_reaches_the_investigator_and_the_booking_organisation(
    client: TestClient, talk: Talk, world: World, clock: FakeClock
) -> None:
    assert save(talk, "ngo_worker", CHOICES).status_code == 303
    expected = sorted([(world.investigator.id, True, False), (world.ngo_worker.id, True, False)])
    assert items(client, talk.consultation) == expected
    for role, start in (("investigator", "/investigator"), ("ngo_worker", "/ngo")):
        queue = talk.actor(role).get(start).text
        assert queue.count("The safety plan says there is an urgent risk.") == 1
        assert '<strong class="badge badge-urgent">Urgent</strong>' in queue
    # Saving again while the risk stays adds nothing, and does not re-open an item its
    # owner has marked done.
    assert save(talk, "investigator", CHOICES).status_code == 303
    assert items(client, talk.consultation) == expected
    investigator = talk.actor("investigator")
    item_id = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT id FROM attention_items WHERE account_id = :a AND kind = 'urgent_risk'",
        a=world.investigator.id,
    )
    done = investigator.submit(
        "/investigator", f"/staff/attention/{item_id}/done", next="/investigator"
    )
    assert done.status_code == 303
    assert save(talk, "ngo_worker", CHOICES).status_code == 303
    assert items(client, talk.consultation) == sorted(
        [(world.investigator.id, True, True), (world.ngo_worker.id, True, False)]
    )
    # Nobody else hears of it.
    for person in (world.coordinator, world.other_ngo_worker, world.other_investigator):
        other = Actor(client)
        other.log_in(person, clock)
        assert "urgent risk" not in other.get("/staff/attention").text
    # The risk is over: the open items are done.
    assert save(talk, "investigator", {**CHOICES, "urgent_risk": "no"}).status_code == 303
    assert items(client, talk.consultation) == sorted(
        [(world.investigator.id, True, True), (world.ngo_worker.id, True, True)]
    )
    assert "urgent risk" not in talk.actor("investigator").get("/investigator").text
    # A new risk opens them again (one each still), the done one too.
    assert save(talk, "investigator", CHOICES).status_code == 303
    assert items(client, talk.consultation) == expected


def test_dashboards_mark_an_urgent_risk_in_words(
    client: TestClient, talk: Talk, world: World, clock: FakeClock
) -> None:
    label = '<strong class="badge badge-urgent">Urgent risk</strong>'
    investigator = talk.actor("investigator")
    for page in ("/investigator", "/investigator/week", "/investigator/week?start=2027-01-18"):
        assert label not in investigator.get(page).text
    assert save(talk, "ngo_worker", CHOICES).status_code == 303

    meeting_day = "2027-01-17"  # the fake clock's day + 48 hours (tests/factories.py)
    assert label in investigator.get("/investigator").text
    assert label in investigator.get(f"/investigator/day?date={meeting_day}").text
    week = investigator.get(f"/investigator/week?start={meeting_day}").text
    assert label in week
    assert label in talk.actor("ngo_worker").get("/ngo").text
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    assert label in coordinator.get(f"/coordinator/week?start={meeting_day}").text
    assert label in coordinator.get("/coordinator/schedule").text


def test_a_coordinator_sees_the_plain_status_only(
    client: TestClient, talk: Talk, world: World, clock: FakeClock
) -> None:
    assert save(talk, "investigator", CHOICES, DETAILS).status_code == 303
    stored = envelopes(client, talk.consultation)
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    pages = [
        coordinator.get(path).text
        for path in ("/coordinator/schedule", "/coordinator/week?start=2027-01-17", "/staff")
    ]
    assert "Urgent risk" in pages[0]
    for page in pages:
        for envelope in stored.values():
            assert base64.b64encode(envelope).decode()[:40] not in page
    token = coordinator.csrf_from("/coordinator/schedule")
    for path in (
        f"/investigator/consultations/{talk.consultation}/safety-plan",
        f"/ngo/consultations/{talk.consultation}/safety-plan",
    ):
        refused = coordinator.request(
            "POST", path, data={"csrf_token": token, **CHOICES, "urgent_risk": "no"}
        )
        assert refused.status_code == 404
    assert items(client, talk.consultation)[0][2] is False  # still open: nothing changed


@pytest.mark.parametrize("who", ["other_ngo_worker", "other_investigator"])
def test_another_organisation_or_investigator_finds_nothing(
    client: TestClient, talk: Talk, world: World, clock: FakeClock, who: str
) -> None:
    assert save(talk, "investigator", CHOICES, DETAILS).status_code == 303
    person = getattr(world, who)
    other = Actor(client)
    other.log_in(person, clock)
    base = "/ngo" if who == "other_ngo_worker" else "/investigator"
    page = f"{base}/consultations/{talk.consultation}"
    assert other.get(page).status_code == 404
    token = other.csrf_from("/staff/attention")
    response = other.request(
        "POST",
        page + "/safety-plan",
        data={"csrf_token": token, "housing": "other", "urgent_risk": "no",
              "safe_contact_agreed": "no"},
    )  # fmt: skip
    assert response.status_code == 404
    plan = in_app(
        client,
        services_of(client).db.fetch_one,
        "SELECT housing, urgent_risk FROM safety_plans WHERE consultation_id = :c",
        c=talk.consultation,
    )
    assert plan is not None and (plan["housing"], plan["urgent_risk"]) == ("shelter", 1)


def test_a_worker_without_a_key_saves_the_choices_and_is_told_about_the_details(
    client: TestClient, talk: Talk, world: World, clock: FakeClock
) -> None:
    from tests.factories import make_person

    colleague = in_app(
        client, make_person, services_of(client), world.ngo, "ngo_worker", "ngo-no-key"
    )
    keyless = Actor(client)
    keyless.log_in(colleague, clock)
    page = section(keyless.get(talk.page("ngo_worker")).text)
    assert "You have no key yet, so you can neither read nor write the sealed details." in page
    assert 'id="sp-details"' not in page
    assert save(talk, "ngo_worker", CHOICES, actor=keyless).status_code == 303
    # With envelopes anyway (not through the page): refused, nothing replaced.
    assert save(talk, "investigator", CHOICES, DETAILS).status_code == 303
    stored = envelopes(client, talk.consultation)
    token = keyless.csrf_from(talk.page("ngo_worker"))
    forged = keyless.request(
        "POST",
        talk.page("ngo_worker") + "/safety-plan",
        data={"csrf_token": token, **CHOICES,
              "envelope": [f"{k}:{base64.b64encode(v).decode()}" for k, v in stored.items()]},
    )  # fmt: skip
    assert forged.status_code == 400
    assert "Only someone with a key can change the sealed details." in forged.text
    assert envelopes(client, talk.consultation) == stored
