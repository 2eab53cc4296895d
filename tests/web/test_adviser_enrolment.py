"""The adviser role's staff side: the coordinator adds organisations of the four kinds,
the invitation form offers exactly the roles of the chosen organisation's kind, and an
adviser enrols, signs in and makes a key like any other staff member."""

from __future__ import annotations

import base64
import re

from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto.totp import code_at
from portal.crypto.wrapped_keys import wrap
from tests.factories import Actor, FakeClock, World, in_app, services_of
from tests.web.sealed import PASSPHRASE, RECOVERY
from tests.web.test_enrolment import NEW_PASSWORD, enrol, invite

ROLE_OPTION = re.compile(r'<option value="([a-z_]+)" data-kinds="([a-z ]+)"')
# The roles a form offers: those of the chosen organisation's kind (the others are
# there for the script, disabled and hidden).
OFFERED = re.compile(r'<option value="([a-z_]+)" data-kinds="[a-z ]+"(?! disabled)')


def _organisation(actor: Actor, name: str, kind: str) -> str:
    response = actor.submit("/coordinator/organisations", name=name, kind=kind)
    assert response.status_code == 303, response.text
    page = actor.get("/coordinator/organisations").text
    found = re.search(r"<td>" + re.escape(name) + r'</td>.*?organisation=([^"#]+)#invite', page)
    assert found, name
    return found.group(1)


def test_organisations_of_the_four_kinds_and_the_roles_each_offers(
    actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.coordinator, clock)
    form = actor.get("/coordinator/organisations").text
    kinds = re.findall(r'<option value="([a-z]+)"', form)
    assert kinds == ["police", "ngo", "assistance", "municipal"]
    assert "Assistance system" in form and "Municipal services" in form
    assistance = _organisation(actor, "National Assistance System", "assistance")
    municipal = _organisation(actor, "City Ankkuri Team", "municipal")
    page = actor.get("/coordinator/organisations").text
    assert "<td>National Assistance System</td><td>Assistance system</td>" in page
    assert "<td>City Ankkuri Team</td><td>Municipal services</td>" in page

    expected = {
        assistance: ["adviser"],
        municipal: ["adviser"],
        world.police.id: ["coordinator", "investigator"],
        world.ngo.id: ["ngo_worker"],
    }
    for organisation_id, roles in expected.items():
        people = actor.get(f"/coordinator/people?organisation={organisation_id}").text
        assert OFFERED.findall(people) == roles
        assert f'<option value="{organisation_id}" data-kind=' in people
        assert re.search(f'<option value="{organisation_id}" data-kind="[a-z]+" selected>', people)
    # No organisation chosen yet: every role, under the kinds it belongs to (the script
    # narrows them once one is chosen).
    people = actor.get("/coordinator/people").text
    assert ROLE_OPTION.findall(people) == [
        ("coordinator", "police"),
        ("investigator", "police"),
        ("ngo_worker", "ngo"),
        ("adviser", "assistance municipal"),
    ]
    assert '<optgroup label="Assistance system, Municipal services">' in people
    assert '<script type="module" src="/static/js/invite.js"></script>' in people
    # A role of another kind is refused, and the form comes back offering the right ones.
    refused = actor.submit(
        "/coordinator/people",
        "/coordinator/invitations",
        display_name="Wrong Role",
        organisation_id=assistance,
        role="investigator",
    )
    assert refused.status_code == 400
    assert "This role does not belong to that organisation." in refused.text
    assert OFFERED.findall(refused.text) == ["adviser"]
    assert len(ROLE_OPTION.findall(refused.text)) == 4  # the others there for the script
    assert 'value="Wrong Role"' in refused.text


def test_an_adviser_enrols_signs_in_and_makes_a_key(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.coordinator, clock)
    assistance = _organisation(actor, "National Assistance System", "assistance")
    path = invite(actor, clock, world, role="adviser", log_in=False, organisation_id=assistance)
    newcomer, response = enrol(client, clock, path, username="hanna")
    assert response.status_code == 303
    # Advisers hold a key: enrolment leads to the key page.
    assert response.headers["location"] == "/staff/key"
    row = in_app(
        client,
        services_of(client).db.fetch_one,
        "SELECT id, role, organisation_id, totp_secret FROM accounts WHERE username = 'hanna'",
    )
    assert row is not None
    assert (row["role"], row["organisation_id"]) == ("adviser", assistance)
    home = newcomer.get("/staff").text
    assert "Adviser" in home and 'href="/adviser"' in home and 'href="/staff/key"' in home
    assert 'href="/adviser/referrals"' in home
    assert newcomer.get("/adviser").status_code == 200
    # A key made in the browser, stored like an investigator's.
    private = PrivateKey.generate()
    made = newcomer.submit(
        "/staff/key",
        public_key=base64.b64encode(bytes(private.public_key)).decode(),
        wrapped_key=base64.b64encode(wrap(bytes(private), PASSPHRASE, 2, 19456)).decode(),
        recovery_wrapped_key=base64.b64encode(
            wrap(bytes(private), RECOVERY.replace("-", ""), 2, 19456)
        ).decode(),
    )
    assert made.status_code == 303, made.text
    assert 'class="fingerprint"' in newcomer.get("/staff/key").text
    # Sign out, then in again with password and a fresh code.
    again = Actor(client)
    clock.advance(30)
    signed_in = again.submit(
        "/login",
        username="hanna",
        password=NEW_PASSWORD,
        totp_code=code_at(row["totp_secret"], clock.now()),
    )
    assert signed_in.status_code == 303
    assert again.get("/adviser").status_code == 200
    # Passkeys can be required of advisers like of other staff.
    passkeys = actor.get("/coordinator/passkeys").text
    assert '<input type="hidden" name="role" value="adviser">' in passkeys
