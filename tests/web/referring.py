"""Shared pieces for referral tests: the receiving organisations and their advisers'
keys, the client's consent, and sealing a referral note the way static/js/referral.js
does."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass

import httpx2 as httpx
from starlette.testclient import TestClient

from portal.crypto.envelopes import padded_json as padded
from portal.crypto.envelopes import seal
from portal.domain.referrals import context
from portal.storage.organisations import Organisation
from tests.factories import (
    CANARIES,
    Actor,
    FakeClock,
    Person,
    World,
    in_app,
    make_organisation,
    make_person,
    services_of,
)
from tests.web.conversation import register_staff_key

REFERRAL_ID = re.compile(r'name="referral_id" value="([^"]+)"')
TARGET_KEY = re.compile(
    r'data-organisation="([^"]+)" data-recipient="([^"]+)" data-public-key="([^"]+)"'
)
NOTE = "canary-referral-note-Maria-Virtanen-born-1999-wants-housing-3141"
CONSENT_TEXT = "The assistance system offers housing, health care and legal advice to victims."


@dataclass
class Adviser:
    person: Person
    key_id: str | None
    secret_key: bytes | None


@dataclass
class Partners:
    assistance: Organisation
    municipal: Organisation  # has an adviser, without a key
    other: Organisation  # another assistance organisation, with a keyed adviser
    advisers: list[Adviser]  # of ``assistance``: two with a key, one without
    unkeyed: Adviser  # municipal's adviser
    outsider: Adviser  # other's adviser


def make_partners(client: TestClient, clock: FakeClock) -> Partners:
    svc = services_of(client)
    assistance = in_app(client, make_organisation, svc, "Victim assistance", "assistance")
    municipal = in_app(client, make_organisation, svc, "City social services", "municipal")
    other = in_app(client, make_organisation, svc, "Other assistance", "assistance")

    def adviser(org: Organisation, username: str, *, keyed: bool) -> Adviser:
        person = in_app(client, make_person, svc, org, "adviser", username)
        if not keyed:
            return Adviser(person, None, None)
        key_id, secret = register_staff_key(client, clock, person.id)
        return Adviser(person, key_id, secret)

    return Partners(
        assistance=assistance,
        municipal=municipal,
        other=other,
        advisers=[
            adviser(assistance, "adv1", keyed=True),
            adviser(assistance, "adv2", keyed=True),
            adviser(assistance, "adv3", keyed=False),
        ],
        unkeyed=adviser(municipal, "muni", keyed=False),
        outsider=adviser(other, "advother", keyed=True),
    )


def give_consent(
    client: TestClient,
    clock: FakeClock,
    world: World,
    consultation: str,
    investigator: Actor,
    *,
    consents: str = "yes",
) -> None:
    """A coordinator publishes the consent text (once); the investigator records the
    client's answer against it on the consultation page."""
    has_text = in_app(
        client, services_of(client).db.fetch_value, "SELECT 1 FROM consent_texts LIMIT 1"
    )
    if not has_text:
        coordinator = Actor(client)
        coordinator.log_in(world.coordinator, clock)
        response = coordinator.submit("/coordinator/consent", text=CONSENT_TEXT)
        assert response.status_code == 303, response.text
    page = f"/investigator/consultations/{consultation}"
    response = investigator.submit(page, page + "/consent", explained="yes", consents=consents)
    assert response.status_code == 303, response.text


def form_of(page: str) -> tuple[str, dict[str, dict[str, bytes]]]:
    """The fresh referral id, and organisation id -> key id -> public key, as the page's
    send form carries them."""
    found = REFERRAL_ID.search(page)
    assert found, "the page has a referral form"
    keys: dict[str, dict[str, bytes]] = {}
    for org, key_id, public in TARGET_KEY.findall(page):
        keys.setdefault(org, {})[key_id] = base64.b64decode(html.unescape(public))
    return found.group(1), keys


def sealed_note(
    public_key: bytes, *, referral_id: str, author: str, key_id: str, text: str, at: int
) -> str:
    fields = {**context(referral_id, author, key_id), "time": at, "text": text}
    return base64.b64encode(seal(public_key, padded(fields))).decode()


def send(
    actor: Actor,
    page: str,
    organisation_id: str,
    *,
    author: str,
    text: str = NOTE,
    at: int = 1_800_000_000,
    extra: dict[str, bytes] | None = None,
    only: set[str] | None = None,
    by_script: bool = True,
) -> httpx.Response:
    """What the browser does: seal the note to the organisation's keys on the page
    (``only`` some of them, or with ``extra`` keys added: an attacker's browser), post
    by script (or, ``by_script=False``, as the plain form sent again after signing in)."""
    CANARIES.add(NOTE)
    shown = actor.get(page).text
    referral_id, keys = form_of(shown)
    recipients = dict(keys.get(organisation_id, {}))
    if only is not None:
        recipients = {k: v for k, v in recipients.items() if k in only}
    recipients.update(extra or {})
    envelopes = [
        f"{key_id}:"
        + sealed_note(
            public, referral_id=referral_id, author=author, key_id=key_id, text=text, at=at
        )
        for key_id, public in recipients.items()
    ]
    token = actor.csrf_from(page)
    return actor.request(
        "POST",
        page + "/referrals",
        data={
            "csrf_token": token,
            "referral_id": referral_id,
            "organisation_id": organisation_id,
            "envelope": envelopes,
        },
        headers={"accept": "application/json"} if by_script else {},
    )
