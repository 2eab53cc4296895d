"""Referrals through the web (domain/referrals.py): sent only with the client's recorded
consent, sealed to exactly the receiving organisation's advisers' current keys, one open
per organisation, a plain status moved on by the receiving advisers along one table,
and who sees what: police and the support organisation see the status, never the note;
an adviser of another organisation sees nothing."""

from __future__ import annotations

import base64
import itertools
import re
from typing import Any

import pytest
from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto.envelopes import EnvelopeError
from portal.domain.referrals import STATUSES, TRANSITIONS, allowed, open_note
from tests.factories import Actor, FakeClock, World, in_app, services_of
from tests.web.conversation import register_staff_key
from tests.web.referring import (
    NOTE,
    Adviser,
    Partners,
    form_of,
    give_consent,
    make_partners,
    sealed_note,
    send,
)
from tests.web.sealed import Case

SCRIPT = {"accept": "application/json"}  # static/js/referral.js posts with fetch


def investigator_page(case: Case) -> str:
    return f"/investigator/consultations/{case.consultation}"


def ngo_page(case: Case) -> str:
    return f"/ngo/consultations/{case.consultation}"


def query(client: TestClient, sql: str, **params: Any) -> list[dict[str, Any]]:
    rows = in_app(client, services_of(client).db.fetch_all, sql, **params)
    return [dict(r) for r in rows]


def envelopes_of(client: TestClient) -> dict[str, bytes]:
    rows = query(client, "SELECT recipient_key_id, envelope FROM referral_envelopes")
    return {r["recipient_key_id"]: bytes(r["envelope"]) for r in rows}


def referral_rows(client: TestClient) -> list[dict[str, Any]]:
    return query(client, "SELECT id, organisation_id, status, sent_by FROM referrals")


def signed_in(client: TestClient, clock: FakeClock, adviser: Adviser) -> Actor:
    actor = Actor(client)
    actor.log_in(adviser.person, clock)
    return actor


def sent(client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners) -> str:
    """Consent recorded, then the investigator sends a referral to ``assistance``."""
    give_consent(client, clock, world, case.consultation, case.investigator.actor)
    response = send(
        case.investigator.actor,
        investigator_page(case),
        partners.assistance.id,
        author="investigator",
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"saved": True}
    [row] = referral_rows(client)
    return str(row["id"])


@pytest.fixture
def partners(client: TestClient, clock: FakeClock) -> Partners:
    return make_partners(client, clock)


# --- sending ----------------------------------------------------------------------------


def test_without_consent_no_referral_is_sent(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    page = case.investigator.actor.get(investigator_page(case)).text
    assert "The client's consent to referral is not recorded." in page
    assert 'name="referral_id"' not in page
    # A browser that posts anyway (a stale page, a hand-made request) is refused.
    from portal.domain.referrals import new_referral_id

    key = partners.advisers[0]
    assert key.key_id
    public = bytes(PrivateKey(key.secret_key or b"").public_key)
    referral_id = new_referral_id()
    envelope = sealed_note(
        public, referral_id=referral_id, author="investigator", key_id=key.key_id, text=NOTE, at=1
    )
    token = case.investigator.actor.csrf_from(investigator_page(case))
    response = case.investigator.actor.request(
        "POST",
        investigator_page(case) + "/referrals",
        data={
            "csrf_token": token,
            "referral_id": referral_id,
            "organisation_id": partners.assistance.id,
            "envelope": [f"{key.key_id}:{envelope}"],
        },
        headers=SCRIPT,
    )
    assert (response.status_code, response.json()) == (400, {"error": "no_consent"})
    # The client said no: still refused.
    give_consent(client, clock, world, case.consultation, case.investigator.actor, consents="no")
    page = case.investigator.actor.get(investigator_page(case)).text
    assert 'name="referral_id"' not in page
    assert referral_rows(client) == [] and envelopes_of(client) == {}


def test_with_consent_the_note_is_sealed_to_every_adviser_and_nobody_else(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    referral_id = sent(client, clock, world, case, partners)
    [row] = referral_rows(client)
    assert (row["organisation_id"], row["status"], row["sent_by"]) == (
        partners.assistance.id,
        "sent",
        world.investigator.id,
    )
    stored = envelopes_of(client)
    keyed = [a for a in partners.advisers if a.key_id]
    assert set(stored) == {a.key_id for a in keyed}
    for adviser in keyed:
        assert adviser.key_id and adviser.secret_key
        text = open_note(
            adviser.secret_key,
            stored[adviser.key_id],
            referral_id=referral_id,
            author_role="investigator",
            key_id=adviser.key_id,
        )
        assert text == NOTE
        # Moved to another adviser's slot, or opened as another referral: refused.
        other = next(a for a in keyed if a is not adviser)
        assert other.key_id
        with pytest.raises(EnvelopeError):
            open_note(
                adviser.secret_key,
                stored[adviser.key_id],
                referral_id=referral_id,
                author_role="investigator",
                key_id=other.key_id,
            )
    audit = query(
        client,
        "SELECT action, detail, subject_id FROM audit_events WHERE action LIKE 'referral%'",
    )
    assert audit == [{"action": "referral_sent", "detail": "assistance", "subject_id": referral_id}]
    items = query(
        client,
        "SELECT account_id, kind, subject_id FROM attention_items WHERE kind LIKE 'referral%'"
        " ORDER BY account_id",
    )
    # Every active adviser of the organisation, the one without a key too.
    assert items == sorted(
        (
            {"account_id": a.person.id, "kind": "referral_new", "subject_id": referral_id}
            for a in partners.advisers
        ),
        key=lambda item: item["account_id"],
    )
    # The investigator's page shows the status; the note is nowhere on it.
    page = case.investigator.actor.get(investigator_page(case)).text
    assert "Victim assistance" in page and 'badge-booked">Sent</span>' in page
    assert NOTE not in page
    for envelope in stored.values():
        assert base64.b64encode(envelope).decode() not in page


def test_the_server_refuses_a_note_not_sealed_to_exactly_the_advisers_keys(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    give_consent(client, clock, world, case.consultation, case.investigator.actor)
    page = investigator_page(case)
    actor = case.investigator.actor
    first = partners.advisers[0].key_id
    assert first
    # One adviser left out (their key is new since the page was loaded).
    response = send(actor, page, partners.assistance.id, author="investigator", only={first})
    assert response.status_code == 409
    answer = response.json()
    assert answer["error"] == "keys_changed"
    assert {k["id"] for k in answer["keys"]} == {a.key_id for a in partners.advisers if a.key_id}
    # A police key slipped in: the police would be able to read it. Refused the same way.
    police_key = PrivateKey.generate().public_key
    response = send(
        actor,
        page,
        partners.assistance.id,
        author="investigator",
        extra={case.investigator.key_id: bytes(police_key)},
    )
    assert (response.status_code, response.json()["error"]) == (409, "keys_changed")
    # Not an adviser organisation; an organisation nobody there has a key for; none.
    for org, code in (
        (world.ngo.id, "choose_organisation"),
        (world.police.id, "choose_organisation"),
        (partners.municipal.id, "no_advisers"),
        ("", "choose_organisation"),
    ):
        response = send(actor, page, org, author="investigator")
        assert (response.status_code, response.json()) == (400, {"error": code}), org
    # Garbage instead of an envelope.
    token = actor.csrf_from(page)
    referral_id, _keys = form_of(actor.get(page).text)
    response = actor.request(
        "POST",
        page + "/referrals",
        data={
            "csrf_token": token,
            "referral_id": referral_id,
            "organisation_id": partners.assistance.id,
            "envelope": [f"{a.key_id}:AAAA" for a in partners.advisers if a.key_id],
        },
        headers=SCRIPT,
    )
    assert (response.status_code, response.json()) == (400, {"error": "unreadable"})
    assert referral_rows(client) == [] and envelopes_of(client) == {}
    # The page offers the municipal services, but not as a choice while nobody has a key.
    shown = actor.get(page).text
    assert re.search(
        rf'<option value="{partners.municipal.id}" disabled>City social services', shown
    )


def test_a_referral_sent_again_as_a_plain_form_leads_back_to_the_page_or_says_why(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    """The page after signing in again sends the envelopes as a plain form (web/ended.py,
    static/js/posting.js ``carry``): the answer is a page, not JSON."""
    give_consent(client, clock, world, case.consultation, case.investigator.actor)
    page = investigator_page(case)
    actor = case.investigator.actor
    first = send(actor, page, partners.assistance.id, author="investigator", by_script=False)
    assert (first.status_code, first.headers["location"]) == (303, page + "?referred=1#referrals")
    assert len(referral_rows(client)) == 1
    again = send(actor, page, partners.assistance.id, author="investigator", by_script=False)
    assert again.status_code == 400
    assert "<h1>The referral was not sent</h1>" in again.text
    assert "A referral to this organisation is already open for this client." in again.text
    assert f'<a href="{page}#referrals">Back to the consultation</a>' in again.text
    assert len(referral_rows(client)) == 1


def test_one_open_referral_per_organisation(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    referral_id = sent(client, clock, world, case, partners)
    page = investigator_page(case)
    again = send(case.investigator.actor, page, partners.assistance.id, author="investigator")
    assert (again.status_code, again.json()) == (400, {"error": "already_open"})
    # To another organisation: fine.
    other = send(case.investigator.actor, page, partners.other.id, author="investigator")
    assert other.status_code == 200, other.text
    # Once declined, a new referral to the same organisation may go.
    adviser = signed_in(client, clock, partners.advisers[0])
    for status in ("received", "declined"):
        adviser.submit(
            f"/adviser/referrals/{referral_id}",
            f"/adviser/referrals/{referral_id}/status",
            status=status,
        )
    third = send(case.investigator.actor, page, partners.assistance.id, author="investigator")
    assert third.status_code == 200, third.text
    assert len(referral_rows(client)) == 3


def test_the_same_referral_id_is_stored_once(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    give_consent(client, clock, world, case.consultation, case.investigator.actor)
    page = investigator_page(case)
    actor = case.investigator.actor
    shown = actor.get(page).text
    referral_id, keys = form_of(shown)
    fields = [
        f"{key_id}:"
        + sealed_note(
            public, referral_id=referral_id, author="investigator", key_id=key_id, text=NOTE, at=1
        )
        for key_id, public in keys[partners.other.id].items()
    ]
    token = actor.csrf_from(page)
    data = {
        "csrf_token": token,
        "referral_id": referral_id,
        "organisation_id": partners.other.id,
        "envelope": fields,
    }
    assert actor.request("POST", page + "/referrals", data=data, headers=SCRIPT).status_code == 200
    data["organisation_id"] = partners.assistance.id
    data["envelope"] = [
        f"{key_id}:"
        + sealed_note(
            public, referral_id=referral_id, author="investigator", key_id=key_id, text=NOTE, at=1
        )
        for key_id, public in keys[partners.assistance.id].items()
    ]
    response = actor.request("POST", page + "/referrals", data=data, headers=SCRIPT)
    assert (response.status_code, response.json()) == (400, {"error": "used"})
    assert len(referral_rows(client)) == 1


def test_an_ngo_worker_sends_from_their_page_and_nobody_else_can(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    give_consent(client, clock, world, case.consultation, case.investigator.actor)
    response = send(case.ngo, ngo_page(case), partners.assistance.id, author="ngo_worker")
    assert response.status_code == 200, response.text
    [row] = referral_rows(client)
    assert row["sent_by"] == world.ngo_worker.id
    referral_id = row["id"]
    adviser = partners.advisers[0]
    assert adviser.key_id and adviser.secret_key
    assert (
        open_note(
            adviser.secret_key,
            envelopes_of(client)[adviser.key_id],
            referral_id=referral_id,
            author_role="ngo_worker",
            key_id=adviser.key_id,
        )
        == NOTE
    )
    # Another organisation's worker and another investigator: 404, as for no such page.
    for person in (world.other_ngo_worker, world.other_investigator):
        other = Actor(client)
        other.log_in(person, clock)
        prefix = "/ngo" if person.role == "ngo_worker" else "/investigator"
        token = other.csrf_from("/staff")
        response = other.request(
            "POST",
            f"{prefix}/consultations/{case.consultation}/referrals",
            data={
                "csrf_token": token,
                "referral_id": "x" * 22,
                "organisation_id": partners.other.id,
            },
        )
        assert response.status_code == 404
    assert len(referral_rows(client)) == 1


# --- status -----------------------------------------------------------------------------

EXPECTED_TRANSITIONS = {
    ("sent", "received"),
    ("received", "accepted"),
    ("received", "declined"),
    ("accepted", "closed"),
    ("declined", "closed"),
}


@pytest.mark.parametrize(("old", "new"), list(itertools.product(STATUSES, STATUSES)))
def test_the_one_table_of_status_changes(old: str, new: str) -> None:
    assert allowed(old, new) == ((old, new) in EXPECTED_TRANSITIONS)
    assert set(TRANSITIONS) == set(STATUSES)


def test_every_status_change_over_http_allowed_or_refused(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    referral_id = sent(client, clock, world, case, partners)
    adviser = signed_in(client, clock, partners.advisers[0])
    page = f"/adviser/referrals/{referral_id}"
    db = services_of(client).db
    for old, new in itertools.product(STATUSES, STATUSES):
        in_app(
            client,
            db.execute,
            "UPDATE referrals SET status = :s WHERE id = :id",
            s=old,
            id=referral_id,
        )
        response = adviser.submit(page, page + "/status", status=new)
        [row] = referral_rows(client)
        if (old, new) in EXPECTED_TRANSITIONS:
            assert response.status_code == 303, (old, new)
            assert row["status"] == new
        else:
            assert response.status_code == 409, (old, new)
            assert "This change of status is not possible now." in response.text
            assert row["status"] == old, (old, new)
    response = adviser.submit(page, page + "/status", status="nonsense")
    assert response.status_code == 409


def test_status_changes_tell_the_sender_and_the_investigator(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    give_consent(client, clock, world, case.consultation, case.investigator.actor)
    response = send(case.ngo, ngo_page(case), partners.assistance.id, author="ngo_worker")
    assert response.status_code == 200
    [row] = referral_rows(client)
    referral_id = row["id"]
    adviser = signed_in(client, clock, partners.advisers[1])
    page = f"/adviser/referrals/{referral_id}"
    for status in ("received", "accepted", "closed"):
        response = adviser.submit(page, page + "/status", status=status)
        assert response.status_code == 303
        assert response.headers["location"] == page + "?done=status"
    items = query(
        client,
        "SELECT account_id, kind FROM attention_items WHERE kind LIKE 'referral%'"
        " AND kind <> 'referral_new' ORDER BY kind, account_id",
    )
    expected = [
        {"account_id": account, "kind": f"referral_{status}"}
        for status in ("accepted", "closed", "received")
        for account in sorted((world.investigator.id, world.ngo_worker.id))
    ]
    assert items == expected
    audit = query(
        client,
        "SELECT detail, actor_account_id FROM audit_events WHERE action = 'referral_status'"
        " ORDER BY id",
    )
    assert [a["detail"] for a in audit] == ["received", "accepted", "closed"]
    assert {a["actor_account_id"] for a in audit} == {partners.advisers[1].person.id}
    # The NGO's page and start page say so, in words.
    ngo = case.ngo.get(ngo_page(case)).text
    assert "Victim assistance" in ngo and 'badge-held">Closed</span>' in ngo
    assert NOTE not in ngo
    assert "The referral was closed." in case.ngo.get("/staff").text


# --- who sees what ----------------------------------------------------------------------


def test_advisers_read_their_own_organisations_referrals_only(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    referral_id = sent(client, clock, world, case, partners)
    page = f"/adviser/referrals/{referral_id}"
    adviser = signed_in(client, clock, partners.advisers[0])
    listed = adviser.get("/adviser/referrals").text
    assert f'href="{page}"' in listed and "Police unit" in listed and "Finnish" in listed
    assert "<td>Within a week</td>" in listed  # the urgency the NGO recorded
    assert NOTE not in listed and "data-envelope" not in listed
    shown = adviser.get(page).text
    assert adviser.last is not None and adviser.last.status_code == 200
    envelope = envelopes_of(client)[partners.advisers[0].key_id or ""]
    assert f'data-envelope="{base64.b64encode(envelope).decode()}"' in shown
    assert 'data-author="investigator"' in shown
    assert "Mark as received" in shown and "Accept" not in shown
    # Needs, yes; the consultation's notes, outcome and conversation, never.
    assert "Support person" in shown
    for absent in ("note-list", "message-list", "consultation_outcome", case.consultation):
        assert absent not in shown
    # The start page links the new referral.
    assert f'<a href="{page}">' in adviser.get("/staff").text
    # An adviser of another organisation: nothing, as for an id that does not exist.
    outsider = signed_in(client, clock, partners.outsider)
    assert outsider.get(page).status_code == 404
    assert outsider.submit("/staff", page + "/status", status="received").status_code == 404
    assert referral_id not in outsider.get("/adviser/referrals").text
    assert outsider.get("/adviser/referrals/no-such-referral").status_code == 404
    # Police and the support organisation may not open the adviser's page at all.
    for actor in (case.investigator.actor, case.ngo):
        assert actor.get(page).status_code == 404
        assert actor.get("/adviser/referrals").status_code == 404
    [row] = referral_rows(client)
    assert row["status"] == "sent"


def test_police_and_the_ngo_see_status_organisation_and_dates_never_the_note(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    referral_id = sent(client, clock, world, case, partners)
    adviser = signed_in(client, clock, partners.advisers[0])
    page = f"/adviser/referrals/{referral_id}"
    for status in ("received", "accepted"):
        adviser.submit(page, page + "/status", status=status)
    envelopes = [base64.b64encode(e).decode() for e in envelopes_of(client).values()]
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    for actor, path in (
        (case.investigator.actor, investigator_page(case)),
        (case.ngo, ngo_page(case)),
        (coordinator, "/coordinator/referrals"),
    ):
        shown = actor.get(path).text
        assert "Victim assistance" in shown, path
        assert 'badge-confirmed">Accepted</span>' in shown, path
        assert NOTE not in shown and not any(e in shown for e in envelopes), path
        assert "data-envelope" not in shown.split('id="referrals"')[-1], path
    # The coordinator's list names the consultation by pseudonym only.
    pseudonym = query(client, "SELECT pseudonym FROM consultations")[0]["pseudonym"]
    assert pseudonym in coordinator.get("/coordinator/referrals").text
    # And no one of them may open the adviser's page.
    assert coordinator.get(page).status_code == 404


def test_a_new_adviser_reads_the_note_once_a_colleague_shares_it(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    referral_id = sent(client, clock, world, case, partners)
    page = f"/adviser/referrals/{referral_id}"
    newcomer = partners.advisers[2]
    late = signed_in(client, clock, newcomer)
    assert "You have no key yet, so you cannot read referral notes." in late.get(page).text
    key_id, secret = register_staff_key(client, clock, newcomer.person.id)
    shown = late.get(page).text
    assert "This referral was sealed before you had a key; ask a colleague to share it." in shown
    assert "data-envelope" not in shown
    # A colleague's page offers to share it with the newcomer, and their browser does.
    colleague = partners.advisers[0]
    assert colleague.key_id and colleague.secret_key
    actor = signed_in(client, clock, colleague)
    offered = actor.get(page).text
    assert "Share the note with:" in offered and "Adv3" in offered
    opened = open_note(
        colleague.secret_key,
        envelopes_of(client)[colleague.key_id],
        referral_id=referral_id,
        author_role="investigator",
        key_id=colleague.key_id,
    )
    public = bytes(PrivateKey(secret).public_key)
    resealed = sealed_note(
        public, referral_id=referral_id, author="investigator", key_id=key_id, text=opened, at=2
    )
    token = actor.csrf_from(page)
    # Not to a key outside the organisation, not twice to the same key.
    outsider_key = partners.outsider.key_id
    for bad in ([f"{outsider_key}:{resealed}"], [f"{colleague.key_id}:{resealed}"], []):
        response = actor.request("POST", page + "/share", data={"csrf_token": token, "shared": bad})
        assert (response.status_code, response.json()) == (400, {"error": "not_shared"})
    # The outsider cannot share into it either.
    outsider = signed_in(client, clock, partners.outsider)
    response = outsider.request(
        "POST",
        page + "/share",
        data={"csrf_token": outsider.csrf_from("/staff"), "shared": [f"{key_id}:{resealed}"]},
    )
    assert response.status_code == 404
    # Nor by someone who cannot read it: the newcomer "sharing" a note to themselves.
    own = late.request(
        "POST",
        page + "/share",
        data={"csrf_token": late.csrf_from(page), "shared": [f"{key_id}:{resealed}"]},
    )
    assert (own.status_code, own.json()) == (400, {"error": "not_shared"})
    response = actor.request(
        "POST", page + "/share", data={"csrf_token": token, "shared": [f"{key_id}:{resealed}"]}
    )
    assert (response.status_code, response.json()) == (200, {"shared": 1})
    shown = late.get(page).text
    assert "sealed before you had a key" not in shown
    assert (
        open_note(
            secret,
            envelopes_of(client)[key_id],
            referral_id=referral_id,
            author_role="investigator",
            key_id=key_id,
        )
        == NOTE
    )
    assert "Share the note with:" not in actor.get(page).text
    assert [
        r["action"]
        for r in query(client, "SELECT action FROM audit_events WHERE action = 'referral_shared'")
    ] == ["referral_shared"]


def test_a_purged_consultation_takes_its_referrals_and_envelopes_along(
    client: TestClient, clock: FakeClock, world: World, case: Case, partners: Partners
) -> None:
    from portal.storage.retention import delete_if_due

    referral_id = sent(client, clock, world, case, partners)
    db = services_of(client).db
    deleted = in_app(
        client, delete_if_due, db, case.consultation, cutoff=clock.now() + 1, now=clock.now()
    )
    assert deleted is True
    assert referral_rows(client) == [] and envelopes_of(client) == {}
    adviser = signed_in(client, clock, partners.advisers[0])
    assert adviser.get(f"/adviser/referrals/{referral_id}").status_code == 404
