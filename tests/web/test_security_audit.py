"""Security events in the audit log: each one written once, by the right actor, about the
right account or object, and never holding a password, a typed username, a code or an
address (SECURITY.md "Audit")."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from portal.app import create_app
from portal.crypto.totp import code_at
from tests.conftest import make_settings
from tests.factories import (
    CANARIES,
    CLIENT_ADDRESS,
    Actor,
    FakeClock,
    World,
    in_app,
    services_of,
)
from tests.web.test_enrolment import NEW_PASSWORD, enrol, invite

COLUMNS = (
    "action",
    "actor_account_id",
    "actor_role",
    "consultation_id",
    "pseudonym",
    "detail",
    "subject_account_id",
    "subject_id",
)
GHOST = "ghost-canary-user"  # a username that names no account
WRONG_PASSWORD = "canary-Wrong-Pass-5d1"


def events(client: TestClient, action: str) -> list[dict[str, Any]]:
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT * FROM audit_events WHERE action = :a ORDER BY id",
        a=action,
    )
    return [{name: row[name] for name in COLUMNS} for row in rows]


def one_event(client: TestClient, action: str) -> dict[str, Any]:
    found = events(client, action)
    assert len(found) == 1, found
    return found[0]


def audit_text(client: TestClient) -> str:
    rows = in_app(client, services_of(client).db.fetch_all, "SELECT * FROM audit_events")
    return "\n".join(str(value) for row in rows for value in tuple(row))


def assert_nothing_secret(client: TestClient, *typed: str) -> None:
    """No canary (passwords, codes, tokens, TOTP keys, session ids), no address and
    nothing a visitor typed appears in any audit row."""
    text = audit_text(client)
    leaked = [c for c in {*CANARIES, CLIENT_ADDRESS, *typed} if c and c in text]
    assert not leaked, leaked


def attempt(client: TestClient, clock: FakeClock, username: str, password: str, secret: str) -> int:
    response = Actor(client).submit(
        "/login", username=username, password=password, totp_code=code_at(secret, clock.now())
    )
    return response.status_code


def coordinator(client: TestClient, clock: FakeClock, world: World) -> Actor:
    actor = Actor(client)
    actor.log_in(world.coordinator, clock)
    return actor


# --- signing in ----------------------------------------------------------------------


def test_a_sign_in_is_recorded_once_with_its_account(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.investigator, clock)
    event = one_event(client, "signed_in")
    assert event["actor_account_id"] == world.investigator.id
    assert event["actor_role"] == "investigator"
    assert event["consultation_id"] is None and event["subject_id"] is None
    assert_nothing_secret(client)


def test_a_failed_sign_in_names_the_existing_account_and_why_but_nothing_typed(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.ngo_worker
    CANARIES.add(WRONG_PASSWORD)
    assert attempt(client, clock, person.username, WRONG_PASSWORD, person.totp_secret) == 400
    event = one_event(client, "sign_in_failed")
    assert event["actor_account_id"] is None and event["actor_role"] == "visitor"
    assert event["subject_account_id"] == person.id and event["detail"] == "password"

    clock.advance(30)
    assert attempt(client, clock, person.username, person.password, "A" * 32) == 400
    second = events(client, "sign_in_failed")[1]
    assert second["subject_account_id"] == person.id and second["detail"] == "second_factor"
    assert events(client, "signed_in") == []
    assert_nothing_secret(client, person.username)


def test_a_failed_sign_in_with_an_unknown_username_names_nothing(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    assert attempt(client, clock, GHOST, WRONG_PASSWORD, world.coordinator.totp_secret) == 400
    event = one_event(client, "sign_in_failed")
    assert event["subject_account_id"] is None and event["detail"] is None
    assert event["actor_account_id"] is None and event["actor_role"] == "visitor"
    assert_nothing_secret(client, GHOST, WRONG_PASSWORD)


def test_a_sign_in_to_a_disabled_account_is_recorded_as_such(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    coordinator(client, clock, world).submit(
        "/coordinator/people", f"/coordinator/accounts/{world.investigator.id}/disable"
    )
    clock.advance(30)
    person = world.investigator
    assert attempt(client, clock, person.username, person.password, person.totp_secret) == 400
    event = one_event(client, "sign_in_failed")
    assert event["subject_account_id"] == person.id and event["detail"] == "disabled"


def test_an_account_lockout_is_recorded_once_a_minute_naming_the_account(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.ngo_worker
    for _ in range(5):
        assert attempt(client, clock, person.username, WRONG_PASSWORD, person.totp_secret) == 400
    for _ in range(3):
        clock.advance(30)
        assert attempt(client, clock, person.username, person.password, person.totp_secret) == 429
    event = one_event(client, "sign_in_locked")
    assert event["subject_account_id"] == person.id
    assert event["actor_account_id"] is None and event["actor_role"] == "visitor"
    assert events(client, "sign_in_throttled") == []
    assert_nothing_secret(client, person.username, WRONG_PASSWORD)


def test_a_lockout_of_an_unknown_username_names_nothing(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    secret = world.coordinator.totp_secret
    statuses = [attempt(client, clock, GHOST, WRONG_PASSWORD, secret) for _ in range(7)]
    assert statuses == [400] * 5 + [429] * 2
    assert one_event(client, "sign_in_locked")["subject_account_id"] is None
    assert_nothing_secret(client, GHOST, WRONG_PASSWORD)


def test_a_throttled_sender_is_recorded_once_without_its_address(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    secret = world.coordinator.totp_secret
    statuses = [attempt(client, clock, f"user{i}", WRONG_PASSWORD, secret) for i in range(33)]
    assert statuses[30:] == [429] * 3
    event = one_event(client, "sign_in_throttled")
    assert event["subject_account_id"] is None and event["actor_role"] == "visitor"
    assert events(client, "sign_in_locked") == []
    assert_nothing_secret(client, "user0", "user29", WRONG_PASSWORD)


# --- client codes --------------------------------------------------------------------


def test_a_throttled_code_sender_is_recorded_once_without_code_or_address(
    client: TestClient,
) -> None:
    typed = [f"{i:020d}" for i in range(13)]
    statuses = [Actor(client).submit("/code", code=code).status_code for code in typed]
    assert statuses == [400] * 10 + [429] * 3
    event = one_event(client, "code_throttled")
    assert event["actor_role"] == "visitor"
    assert event["actor_account_id"] is None and event["subject_account_id"] is None
    assert events(client, "code_busy") == []
    assert_nothing_secret(client, *typed)


def test_a_busy_portal_refusing_codes_is_recorded_once(database_url: str, clock: FakeClock) -> None:
    settings = make_settings(
        database_url, code_attempts_per_minute=3, code_attempts_per_source_per_minute=100
    )
    with TestClient(
        create_app(settings, clock),
        base_url="https://portal.test",
        client=(CLIENT_ADDRESS, 50123),
        follow_redirects=False,
    ) as limited:
        typed = [f"{i:020d}" for i in range(6)]
        statuses = [Actor(limited).submit("/code", code=code).status_code for code in typed]
        assert statuses == [400] * 3 + [503] * 3
        event = one_event(limited, "code_busy")
        assert event["actor_role"] == "visitor" and event["subject_account_id"] is None
        assert events(limited, "code_throttled") == []
        assert_nothing_secret(limited, *typed)


# --- enrolment and invitations -------------------------------------------------------


def _invitation_id(client: TestClient) -> str:
    found: str = in_app(client, services_of(client).db.fetch_value, "SELECT id FROM invitations")
    return found


def test_issuing_an_invitation_is_recorded_with_its_role(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    invite(actor, clock, world, role="coordinator")
    event = one_event(client, "invitation_issued")
    assert event["actor_account_id"] == world.coordinator.id
    assert event["actor_role"] == "coordinator"
    assert event["subject_id"] == _invitation_id(client) and event["detail"] == "coordinator"
    assert_nothing_secret(client)


def test_withdrawing_an_invitation_is_recorded_once(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    invite(actor, clock, world)
    people = actor.get("/coordinator/people").text
    revoke = re.search(r'action="(/coordinator/invitations/[^/"]+/revoke)"', people)
    assert revoke
    assert actor.submit("/coordinator/people", revoke.group(1)).status_code == 303
    token = actor.csrf_from("/coordinator/people")
    again = actor.request("POST", revoke.group(1), data={"csrf_token": token})
    assert again.status_code == 303  # already withdrawn: nothing happens, nothing recorded
    event = one_event(client, "invitation_revoked")
    assert event["actor_account_id"] == world.coordinator.id
    assert event["subject_id"] == _invitation_id(client)


def test_enrolment_records_the_link_used_and_the_new_account(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    newcomer, response = enrol(client, clock, path, username="nina.canary")
    assert response.status_code == 303  # type: ignore[attr-defined]
    account_id = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT id FROM accounts WHERE username = 'nina.canary'",
    )
    for action in ("invitation_used", "enrolled"):
        event = one_event(client, action)
        assert event["actor_account_id"] == account_id, action
        assert event["actor_role"] == "investigator"
        assert event["subject_account_id"] == account_id
        assert event["subject_id"] == _invitation_id(client)
    CANARIES.add(newcomer.session_id())
    assert_nothing_secret(client, "nina.canary", NEW_PASSWORD)


def test_a_failed_enrolment_records_nothing(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    _newcomer, response = enrol(client, clock, path, password="short")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert events(client, "enrolled") == [] and events(client, "invitation_used") == []


# --- accounts, organisations, places, consent text -------------------------------------


def test_disabling_and_enabling_an_account_name_it(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    boss = coordinator(client, clock, world)
    target = world.ngo_worker.id
    done = boss.submit("/coordinator/people", f"/coordinator/accounts/{target}/disable")
    assert "The account is disabled" in boss.get(done.headers["location"]).text  # and said
    disabled = one_event(client, "account_disabled")
    assert disabled["subject_account_id"] == target
    assert disabled["actor_account_id"] == world.coordinator.id
    assert events(client, "account_enabled") == []
    done = boss.submit("/coordinator/people", f"/coordinator/accounts/{target}/enable")
    assert "The account can sign in again." in boss.get(done.headers["location"]).text
    enabled = one_event(client, "account_enabled")
    assert enabled["subject_account_id"] == target
    assert enabled["actor_account_id"] == world.coordinator.id


def test_adding_an_organisation_is_recorded(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    response = coordinator(client, clock, world).submit(
        "/coordinator/organisations", name="Harbour Help", kind="ngo"
    )
    assert response.status_code == 303
    org_id = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT id FROM organisations WHERE name = 'Harbour Help'",
    )
    event = one_event(client, "organisation_created")
    assert event["actor_account_id"] == world.coordinator.id
    assert event["subject_id"] == org_id and event["detail"] == "ngo"


def test_places_added_archived_and_taken_back_are_recorded(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    boss = coordinator(client, clock, world)
    response = boss.submit(
        "/coordinator/places",
        name="Quiet room",
        kind="other",
        address="Street 2",
        directions="Ring twice.",
    )
    assert response.status_code == 303
    place_id = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT id FROM places WHERE name = 'Quiet room'",
    )
    created = one_event(client, "place_created")
    assert created["subject_id"] == place_id
    assert created["actor_account_id"] == world.coordinator.id
    boss.submit("/coordinator/places", f"/coordinator/places/{place_id}/archive")
    archived = one_event(client, "place_archived")
    assert archived["subject_id"] == place_id
    assert archived["actor_account_id"] == world.coordinator.id
    assert events(client, "place_restored") == []
    boss.submit("/coordinator/places", f"/coordinator/places/{place_id}/archive")
    restored = one_event(client, "place_restored")
    assert restored["subject_id"] == place_id
    assert restored["actor_account_id"] == world.coordinator.id
    assert (
        in_app(
            client,
            services_of(client).db.fetch_value,
            "SELECT archived_at FROM places WHERE id = :id",
            id=place_id,
        )
        is None
    )


def test_publishing_a_consent_text_records_its_version_not_its_text(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    words = "Canary consent words: the assistance system helps you with housing."
    boss = coordinator(client, clock, world)
    assert boss.submit("/coordinator/consent", text=words).status_code == 303
    text_id = in_app(client, services_of(client).db.fetch_value, "SELECT id FROM consent_texts")
    event = one_event(client, "consent_text_published")
    assert event["actor_account_id"] == world.coordinator.id
    assert event["subject_id"] == text_id and event["detail"] == "1"
    assert_nothing_secret(client, words, "Canary consent")


# --- the coordinator's page and CSV ----------------------------------------------------


@pytest.fixture
def mixed_log(client: TestClient, clock: FakeClock, world: World) -> Actor:
    """A disabled NGO worker, a failed sign-in, and a consultation's events."""
    from tests.domain.purgeable import book_consultation

    book_consultation(client, clock, world)
    boss = coordinator(client, clock, world)
    boss.submit("/coordinator/people", f"/coordinator/accounts/{world.other_ngo_worker.id}/disable")
    attempt(
        client, clock, world.investigator.username, WRONG_PASSWORD, world.investigator.totp_secret
    )
    clock.advance(60)  # the CSV stops before the current second
    return boss


def test_the_audit_page_filters_security_events_by_kind_actor_and_subject(
    client: TestClient, clock: FakeClock, world: World, mixed_log: Actor
) -> None:
    boss = mixed_log
    security = boss.get("/coordinator/audit", params={"kind": "security"})
    assert security.status_code == 200
    assert "<td>Account disabled</td>" in security.text
    assert "<td>Sign-in failed</td>" in security.text and "Wrong password" in security.text
    assert "<td>Meeting booked</td>" not in security.text
    consultation = boss.get("/coordinator/audit", params={"kind": "consultation"}).text
    assert "<td>Meeting booked</td>" in consultation
    assert "<td>Account disabled</td>" not in consultation

    by_boss = boss.get("/coordinator/audit", params={"actor": world.coordinator.id}).text
    assert "<td>Account disabled</td>" in by_boss and "<td>Meeting booked</td>" not in by_boss
    by_visitors = boss.get("/coordinator/audit", params={"actor": "visitor"}).text
    assert "<td>Sign-in failed</td>" in by_visitors and "<td>Signed in</td>" not in by_visitors
    about = boss.get("/coordinator/audit", params={"subject": world.investigator.id}).text
    assert "<td>Sign-in failed</td>" in about and "<td>Account disabled</td>" not in about
    assert "<td>Inv</td>" in about  # the account concerned, by name

    wrong = boss.get("/coordinator/audit", params={"kind": "content", "actor": "someone"})
    assert wrong.status_code == 400 and wrong.text.count("Choose one of the options.") == 2
    # The form keeps the choice (works without JavaScript: a plain GET form).
    assert 'value="security" selected' in security.text
    assert 'method="get" action="/coordinator/audit"' in security.text


def test_the_csv_honours_the_filters_and_names_the_subject(
    client: TestClient, clock: FakeClock, world: World, mixed_log: Actor
) -> None:
    boss = mixed_log
    text = boss.get("/coordinator/audit.csv", params={"kind": "security"}).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {row["kind"] for row in rows} == {"security"}
    disabled = [row for row in rows if row["action"] == "account_disabled"]
    assert len(disabled) == 1
    assert disabled[0]["subject_account_id"] == world.other_ngo_worker.id
    assert disabled[0]["subject_name"] == "Ngo2" and disabled[0]["actor_name"] == "Coord"
    assert disabled[0]["actor_account_id"] == world.coordinator.id
    about = boss.get("/coordinator/audit.csv", params={"subject": world.investigator.id}).text
    assert [row["action"] for row in csv.DictReader(io.StringIO(about))] == ["sign_in_failed"]
    visitor = boss.get(
        "/coordinator/audit.csv", params={"actor": "visitor", "action": "sign_in_failed"}
    ).text
    assert [row["detail"] for row in csv.DictReader(io.StringIO(visitor))] == ["password"]
    consultation = boss.get("/coordinator/audit.csv", params={"kind": "consultation"}).text
    assert {row["kind"] for row in csv.DictReader(io.StringIO(consultation))} == {"consultation"}
    assert_nothing_secret(client, WRONG_PASSWORD)
    leaked = [c for c in {*CANARIES, CLIENT_ADDRESS, WRONG_PASSWORD} if c in text]
    assert not leaked


def test_pages_of_security_events_keep_the_filters(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    boss = coordinator(client, clock, world)
    target = world.investigator.id
    for _ in range(14):
        boss.submit("/coordinator/people", f"/coordinator/accounts/{target}/disable")
        boss.submit("/coordinator/people", f"/coordinator/accounts/{target}/enable")
    boss.submit("/coordinator/people", f"/coordinator/accounts/{world.ngo_worker.id}/disable")
    params = {"kind": "security", "subject": target}
    first = boss.get("/coordinator/audit", params=params).text
    assert first.count("<td>Account enabled</td>") + first.count("<td>Account disabled</td>") == 25
    link = re.search(r'href="(/coordinator/audit\?[^"]*page=2)"', first)
    assert link and "kind=security" in link.group(1) and target in link.group(1)
    second = boss.get(link.group(1).replace("&amp;", "&")).text
    assert second.count("<td>Account enabled</td>") + second.count("<td>Account disabled</td>") == 3
