"""Enrolment links: signed, single use, expiring, revocable; enrolment sets password + TOTP."""

from __future__ import annotations

import re

import httpx2 as httpx
import pytest
from starlette.testclient import TestClient

from portal.crypto.totp import code_at
from tests.factories import CANARIES, Actor, FakeClock, World, in_app, services_of

NEW_PASSWORD = "canary-Enrol-Pass-4242"


def invite(
    actor: Actor,
    clock: FakeClock,
    world: World,
    role: str = "investigator",
    log_in: bool = True,
    organisation_id: str = "",
) -> str:
    if log_in:
        actor.log_in(world.coordinator, clock)
    page = actor.submit(
        "/coordinator/people",
        "/coordinator/invitations",
        display_name="Nina Newcomer",
        organisation_id=organisation_id or world.police.id,
        role=role,
    )
    assert page.status_code == 200
    found = re.search(r"https://portal\.test(/enrol/[^<\s]+)", page.text)
    assert found, "the page shows the enrolment link once"
    path = found.group(1)
    CANARIES.add(path.rsplit("/", 1)[1])
    return path


SECRET = re.compile(r'<code class="secret">([A-Z2-7]{32})</code>')
PENDING = re.compile(r'name="totp_pending" value="([^"]+)"')


def enrol(
    client: TestClient,
    clock: FakeClock,
    path: str,
    username: str = "nina",
    password: str = NEW_PASSWORD,
    confirm: str | None = None,
) -> tuple[Actor, object]:
    newcomer = Actor(client)
    page = newcomer.get(path)
    assert page.status_code == 200, page.text
    secret = SECRET.search(page.text)
    pending = PENDING.search(page.text)
    assert secret and pending and "<svg" in page.text  # QR code inline, no external service
    CANARIES.add(secret.group(1))
    token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page.text)
    assert token
    response = newcomer.request(
        "POST",
        path,
        data={
            "csrf_token": token.group(1),
            "username": username,
            "password": password,
            "confirm_password": confirm if confirm is not None else password,
            "totp_pending": pending.group(1),
            "totp_code": code_at(secret.group(1), clock.now()),
        },
    )
    return newcomer, response


def _post_with_key(
    newcomer: Actor, path: str, clock: FakeClock, pending: str, secret: str, code: str = ""
) -> httpx.Response:
    """The form as a person editing the page would send it, with a TOTP code that fits
    ``secret`` (or ``code``)."""
    token = newcomer.csrf_from(path)
    return newcomer.request(
        "POST",
        path,
        data={
            "csrf_token": token,
            "username": "nina",
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
            "totp_pending": pending,
            "totp_secret": secret,  # the field the form used to carry the secret in
            "totp_code": code or code_at(secret, clock.now()),
        },
    )


def _accounts_named(client: TestClient, username: str) -> int:
    svc = services_of(client)
    found: int = in_app(
        client, svc.db.fetch_value, "SELECT count(*) FROM accounts WHERE username = :u", u=username
    )
    return found


def test_invited_person_enrols_and_is_logged_in(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    newcomer, response = enrol(client, clock, path)
    assert response.status_code == 303  # type: ignore[attr-defined]
    # An investigator goes on to create the key pair that messages and notes are sealed to.
    assert response.headers["location"] == "/staff/key"  # type: ignore[attr-defined]
    assert "Create my key" in newcomer.get("/staff/key").text
    home = newcomer.get("/staff")
    assert (
        "Nina Newcomer" in home.text and "Police unit" in home.text and "Investigator" in home.text
    )


@pytest.mark.parametrize(
    ("role", "next_page"),
    [("ngo_worker", "/staff/key"), ("coordinator", "/staff")],
)
def test_an_ngo_worker_goes_on_to_the_key_page_and_a_coordinator_does_not(
    client: TestClient, actor: Actor, clock: FakeClock, world: World, role: str, next_page: str
) -> None:
    organisation = world.ngo if role == "ngo_worker" else world.police
    path = invite(actor, clock, world, role, organisation_id=organisation.id)
    newcomer, response = enrol(client, clock, path)
    assert response.headers["location"] == next_page  # type: ignore[attr-defined]
    key_link = '<a href="/staff/key">Your key for sealed messages and notes</a>'
    assert (key_link in newcomer.get("/staff").text) is (role == "ngo_worker")


def test_link_works_only_once(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    enrol(client, clock, path)
    again = Actor(client).get(path)
    assert again.status_code == 404
    assert "does not work" in again.text


def test_link_expires(client: TestClient, actor: Actor, clock: FakeClock, world: World) -> None:
    path = invite(actor, clock, world)
    clock.advance(7 * 24 * 3600 + 1)
    assert Actor(client).get(path).status_code == 404


def test_revoked_link_stops_working(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    people = actor.get("/coordinator/people").text
    revoke = re.search(r'action="(/coordinator/invitations/[^/"]+/revoke)"', people)
    assert revoke
    assert actor.submit("/coordinator/people", revoke.group(1)).status_code == 303
    assert Actor(client).get(path).status_code == 404
    assert "Withdrawn" in actor.get("/coordinator/people").text


@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),
        lambda t: "x" + t,
        lambda t: "not-a-token",
    ],
)
def test_forged_or_altered_link_is_refused(
    client: TestClient, actor: Actor, clock: FakeClock, world: World, tamper: object
) -> None:
    path = invite(actor, clock, world)
    token = path.rsplit("/", 1)[1]
    assert Actor(client).get("/enrol/" + tamper(token)).status_code == 404  # type: ignore[operator]


def test_weak_password_is_refused_and_the_form_keeps_the_rest(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    _newcomer, response = enrol(client, clock, path, username="nina.k", password="password1234")
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "too common" in response.text  # type: ignore[attr-defined]
    assert 'value="nina.k"' in response.text  # type: ignore[attr-defined]
    assert Actor(client).get(path).status_code == 200  # the link still works


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw", "at least 12"),
        ("x" * 129, "at most 128"),
        ("aaaaaaaaaaaaaa", "too common"),
    ],
)
def test_password_policy(
    client: TestClient, actor: Actor, clock: FakeClock, world: World, password: str, message: str
) -> None:
    path = invite(actor, clock, world)
    _newcomer, response = enrol(client, clock, path, password=password)
    assert response.status_code == 400 and message in response.text  # type: ignore[attr-defined]


def test_mismatched_passwords_and_taken_username(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    _n, mismatch = enrol(client, clock, path, confirm=NEW_PASSWORD + "x")
    assert mismatch.status_code == 400 and "not the same" in mismatch.text  # type: ignore[attr-defined]
    _n, taken = enrol(client, clock, path, username="coord")
    assert taken.status_code == 400 and "taken" in taken.text  # type: ignore[attr-defined]


def test_role_must_fit_the_organisation(actor: Actor, clock: FakeClock, world: World) -> None:
    actor.log_in(world.coordinator, clock)
    page = actor.submit(
        "/coordinator/people",
        "/coordinator/invitations",
        display_name="Wrong Place",
        organisation_id=world.ngo.id,
        role="investigator",
    )
    assert page.status_code == 400
    assert "does not belong" in page.text
    assert 'value="Wrong Place"' in page.text


@pytest.mark.parametrize(
    "pending",
    [
        "A" * 32,  # a secret of one's own choosing, in place of the signed value
        "1" * 32,  # not base32 at all
        "",
        "ünïcode ² %",
    ],
)
def test_a_secret_chosen_by_the_enrolling_person_is_refused(
    client: TestClient, actor: Actor, clock: FakeClock, world: World, pending: str
) -> None:
    path = invite(actor, clock, world)
    newcomer = Actor(client)
    chosen = "A" * 32
    response = _post_with_key(newcomer, path, clock, pending, chosen)
    assert response.status_code == 400
    assert "had expired or was changed" in response.text
    assert 'value="nina"' in response.text  # what was typed is kept
    fresh = SECRET.search(response.text)
    assert fresh and fresh.group(1) != chosen  # a new key from the server to scan
    assert _accounts_named(client, "nina") == 0
    # A non-base32 secret in the old field, with a matching-looking code, is no 500 either.
    assert _post_with_key(newcomer, path, clock, pending, "1" * 32, "123456").status_code == 400
    # With the new key the person enrols; the chosen secret is not theirs.
    new_pending = PENDING.search(response.text)
    assert new_pending
    CANARIES.add(fresh.group(1))
    clock.advance(30)
    done = _post_with_key(newcomer, path, clock, new_pending.group(1), fresh.group(1))
    assert done.status_code == 303
    stored = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT totp_secret FROM accounts WHERE username = 'nina'",
    )
    assert stored == fresh.group(1)


def test_a_signed_key_is_bound_to_its_invitation_and_cannot_be_altered(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    other_path = invite(actor, clock, world, log_in=False)
    newcomer = Actor(client)
    other_page = newcomer.get(other_path).text
    other_secret, other_pending = SECRET.search(other_page), PENDING.search(other_page)
    assert other_secret and other_pending
    CANARIES.add(other_secret.group(1))
    # Another invitation's key (validly signed) does not fit this one.
    foreign = _post_with_key(newcomer, path, clock, other_pending.group(1), other_secret.group(1))
    assert foreign.status_code == 400 and "had expired or was changed" in foreign.text
    own_page = newcomer.get(path).text
    own_secret, own_pending = SECRET.search(own_page), PENDING.search(own_page)
    assert own_secret and own_pending
    CANARIES.add(own_secret.group(1))
    signed = own_pending.group(1)
    altered = signed[:-2] + ("AA" if signed[-2:] != "AA" else "BB")
    response = _post_with_key(newcomer, path, clock, altered, own_secret.group(1))
    assert response.status_code == 400 and "had expired or was changed" in response.text
    assert _accounts_named(client, "nina") == 0
    # The untouched value works, and a weak password keeps the same key on the page.
    weak = newcomer.request(
        "POST",
        path,
        data={
            "csrf_token": newcomer.csrf_from(path),
            "username": "nina",
            "password": "password1234",
            "confirm_password": "password1234",
            "totp_pending": signed,
            "totp_code": code_at(own_secret.group(1), clock.now()),
        },
    )
    assert weak.status_code == 400 and "too common" in weak.text
    assert f'<code class="secret">{own_secret.group(1)}</code>' in weak.text
    clock.advance(30)
    assert _post_with_key(newcomer, path, clock, signed, own_secret.group(1)).status_code == 303
