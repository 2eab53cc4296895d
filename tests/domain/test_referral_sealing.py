"""Police never gain the ability to read a referral note (issue #16, "Referral").

After real referrals made through HTTP (by the investigator and by an NGO worker), every
referral envelope is sealed to the current key of an adviser of the receiving
organisation; none to an investigator's, an NGO worker's or anyone else's key; none of
the police's or the NGO's secret keys opens any of them; and the note, which names the
client, is in no plain column: "no police-readable identity before the decision to
report" keeps holding."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from portal.crypto.envelopes import EnvelopeError, open_envelope
from tests.factories import FakeClock, World, in_app, services_of
from tests.test_privacy import database_text
from tests.web.conftest import case  # noqa: F401 - the fixture
from tests.web.conversation import register_staff_key
from tests.web.referring import NOTE, give_consent, make_partners, send
from tests.web.sealed import Case


def test_referral_envelopes_are_sealed_to_the_receiving_advisers_only(
    client: TestClient,
    clock: FakeClock,
    world: World,
    case: Case,  # noqa: F811
) -> None:
    partners = make_partners(client, clock)
    # Everyone who could want to read it has a key: the police and the NGO too.
    ngo_key, ngo_secret = register_staff_key(client, clock, world.ngo_worker.id)
    other_key, other_secret = register_staff_key(client, clock, world.other_investigator.id)
    give_consent(client, clock, world, case.consultation, case.investigator.actor)
    page = f"/investigator/consultations/{case.consultation}"
    assert (
        send(
            case.investigator.actor, page, partners.assistance.id, author="investigator"
        ).status_code
        == 200
    )
    ngo_page = f"/ngo/consultations/{case.consultation}"
    assert send(case.ngo, ngo_page, partners.other.id, author="ngo_worker").status_code == 200

    db = services_of(client).db
    rows = in_app(
        client,
        db.fetch_all,
        "SELECT e.recipient_key_id, e.envelope, r.organisation_id AS receiving,"
        " a.role, a.organisation_id AS holder_organisation, c.reported_at"
        " FROM referral_envelopes e JOIN referrals r ON r.id = e.referral_id"
        " JOIN consultations c ON c.id = r.consultation_id"
        " LEFT JOIN investigator_keys k ON k.id = e.recipient_key_id"
        " LEFT JOIN accounts a ON a.id = k.account_id",
    )
    assert len(rows) == 3  # two advisers with a key at the assistance system, one elsewhere
    for row in rows:
        assert row["role"] == "adviser"
        assert row["holder_organisation"] == row["receiving"]
        assert row["reported_at"] is None  # before any decision to report
    police_and_ngo_keys = {
        r["id"]
        for r in in_app(
            client,
            db.fetch_all,
            "SELECT k.id FROM investigator_keys k JOIN accounts a ON a.id = k.account_id"
            " WHERE a.role <> 'adviser'",
        )
    }
    assert {r["recipient_key_id"] for r in rows}.isdisjoint(police_and_ngo_keys)
    assert {ngo_key, other_key, case.investigator.key_id} <= police_and_ngo_keys
    # No police or NGO secret key opens any of them.
    for secret in (case.investigator.secret_key, ngo_secret, other_secret):
        for row in rows:
            with pytest.raises(EnvelopeError):
                open_envelope(secret, bytes(row["envelope"]))
    # The note (a name and a birth year) is in no plain value of any table.
    assert NOTE not in database_text(client)
