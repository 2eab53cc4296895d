"""The e-mail address for alerts on the staff account page: set with password and code,
audited, told to the other sessions, and verified only by the button behind the link
(never by opening it), with a link bound to the account and the address."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from portal.crypto.totp import code_at
from portal.domain import mail
from portal.settings import Settings
from tests.factories import CLIENT_ADDRESS, Actor, FakeClock, Person, World, in_app, services_of
from tests.mailbox import Mailbox, mail_settings, mailbox
from tests.security.test_sensitive_actions import NEEDED, WRONG, actions, query

__all__ = ["mailbox"]  # the fixture, used by name

ADDRESS = "inv.alerts@police.test"
OTHER = "new.address@police.test"
LINK = re.compile(r"https://portal\.test/staff/email/verify\?t=(\S+)")


@pytest.fixture
def mail_client(database_url: str, clock: FakeClock, mailbox: Mailbox) -> Iterator[TestClient]:
    from portal.app import create_app

    settings: Settings = mail_settings(database_url, mailbox.port)
    with TestClient(
        create_app(settings, clock),
        base_url="https://portal.test",
        client=(CLIENT_ADDRESS, 50123),
        follow_redirects=False,
    ) as client:
        yield client


@pytest.fixture
def people(mail_client: TestClient) -> World:
    from tests.factories import make_world

    return in_app(mail_client, make_world, services_of(mail_client))


def send(client: TestClient) -> None:
    svc = services_of(client)
    in_app(client, mail.send_due, svc.db, svc.clock, svc.settings, svc.keys)


def set_address(
    actor: Actor, clock: FakeClock, person: Person, email: str, **extra: str
) -> tuple[int, str]:
    clock.advance(30)  # a fresh code
    fields = {
        "action": "set",
        "email": email,
        "current_password": person.password,
        "totp_code": code_at(person.totp_secret, clock.now()),
        **extra,
    }
    response = actor.submit("/staff/email", **fields)
    return response.status_code, response.text


def address(client: TestClient, person: Person) -> tuple[str | None, int | None]:
    ((email, verified_at),) = query(
        client, "SELECT email, email_verified_at FROM accounts WHERE id = :a", a=person.id
    )
    return email, verified_at


def token_from(mailbox: Mailbox, recipient: str) -> str:
    found = LINK.search(mailbox.to(recipient)[-1].body)
    assert found, "the verification mail carries the link"
    return found.group(1)


def test_set_verify_and_remove_an_address(
    mail_client: TestClient, clock: FakeClock, mailbox: Mailbox, people: World
) -> None:
    person = people.investigator
    owner, elsewhere = Actor(mail_client), Actor(mail_client)
    owner.log_in(person, clock)
    elsewhere.log_in(person, clock)
    assert 'href="/staff/email"' in owner.get("/staff").text
    status, _page = set_address(owner, clock, person, ADDRESS)
    assert status == 303 and owner.last is not None
    assert owner.last.headers["location"] == "/staff/email?done=saved"
    assert address(mail_client, person) == (ADDRESS, None)
    assert "not confirmed yet" in owner.get("/staff/email").text
    # The owner's other session hears of it.
    assert "An e-mail address for alerts was set on" in elsewhere.get("/staff").text
    send(mail_client)
    (received,) = mailbox.to(ADDRESS)
    assert received.recipients == [ADDRESS]
    assert "Confirm this e-mail address" in received.body
    assert "Vahvista tämä sähköpostiosoite" in received.body
    assert "Bekräfta den här e-postadressen" in received.body
    token = token_from(mailbox, ADDRESS)
    assert ADDRESS not in token and "police" not in token
    # Opening the link (as a mail scanner would, or the person) changes nothing.
    page = owner.get(f"/staff/email/verify?t={token}")
    assert page.status_code == 200 and "Confirm the address" in page.text
    assert address(mail_client, person) == (ADDRESS, None)
    response = owner.submit(f"/staff/email/verify?t={token}", "/staff/email/verify", t=token)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/email?done=verified"
    assert address(mail_client, person) == (ADDRESS, clock.now())
    assert "Your address is confirmed." in owner.get("/staff/email?done=verified").text
    # Removing it needs password and code too.
    clock.advance(30)
    response = owner.submit(
        "/staff/email",
        action="remove",
        current_password=person.password,
        totp_code=code_at(person.totp_secret, clock.now()),
    )
    assert response.headers["location"] == "/staff/email?done=removed"
    assert address(mail_client, person) == (None, None)
    assert "Your e-mail address for alerts was removed on" in elsewhere.get("/staff").text
    assert actions(mail_client, person) == ["email_set", "email_verified", "email_removed"]


def test_setting_an_address_needs_password_and_a_new_code(
    mail_client: TestClient, clock: FakeClock, people: World
) -> None:
    person = people.ngo_worker
    owner = Actor(mail_client)
    owner.log_in(person, clock)  # a fresh sign-in is not enough: always asked
    response = owner.submit("/staff/email", action="set", email=ADDRESS)
    assert response.status_code == 400 and html.escape(NEEDED) in response.text
    assert f'value="{ADDRESS}"' in response.text  # what was typed comes back
    status, page = set_address(owner, clock, person, ADDRESS, totp_code="000000")
    assert status == 400 and html.escape(WRONG) in page
    status, page = set_address(owner, clock, person, "not an address")
    assert status == 400 and "Enter one e-mail address, like name@example.org." in page
    status, page = set_address(owner, clock, person, "a@b.test\r\nBcc: x@evil.test")
    assert status == 400
    assert address(mail_client, person) == (None, None)
    assert actions(mail_client, person) == ["reauth_failed"]
    assert query(mail_client, "SELECT COUNT(*) FROM mail_outbox") == [(0,)]


def test_a_link_for_another_address_account_expired_or_changed_is_refused(
    mail_client: TestClient, clock: FakeClock, mailbox: Mailbox, people: World
) -> None:
    person = people.investigator
    owner = Actor(mail_client)
    owner.log_in(person, clock)
    set_address(owner, clock, person, ADDRESS)
    send(mail_client)
    first = token_from(mailbox, ADDRESS)
    # The address changes: the first link no longer verifies anything, and the first
    # address gets nothing more.
    set_address(owner, clock, person, OTHER)
    send(mail_client)
    second = token_from(mailbox, OTHER)
    assert len(mailbox.to(ADDRESS)) == 1

    def refused(actor: Actor, token: str) -> None:
        page = actor.get(f"/staff/email/verify?t={token}")
        assert page.status_code == 400 and "This link does not work" in page.text
        assert "Confirm the address</button>" not in page.text
        response = actor.submit("/staff/email", "/staff/email/verify", t=token)
        assert response.status_code == 400 and "This link does not work" in response.text

    refused(owner, first)
    tampered = second[:-3] + ("AAA" if not second.endswith("AAA") else "BBB")
    refused(owner, tampered)
    refused(owner, "")
    # Another account, even signed in and with the same address (a shared mailbox),
    # cannot use it.
    colleague = Actor(mail_client)
    colleague.log_in(people.other_investigator, clock)
    refused(colleague, second)
    from tests.mailbox import set_address as store_address

    store_address(mail_client, people.other_investigator.id, OTHER, verified=False)
    refused(colleague, second)
    assert address(mail_client, people.other_investigator) == (OTHER, None)
    # Expired after 48 hours.
    clock.advance(mail.VERIFY_TTL + 1)
    owner.log_in(person, clock)
    refused(owner, second)
    assert address(mail_client, person) == (OTHER, None)
    assert "email_verified" not in actions(mail_client, person)


def test_alerts_only_after_verification_and_only_to_the_new_address(
    mail_client: TestClient, clock: FakeClock, mailbox: Mailbox, people: World
) -> None:
    from tests.mailbox import add_item

    person = people.investigator
    owner = Actor(mail_client)
    owner.log_in(person, clock)
    set_address(owner, clock, person, ADDRESS)
    add_item(mail_client, person.id)
    clock.advance(1)
    svc = services_of(mail_client)
    in_app(mail_client, mail.run_once, svc.db, svc.clock, svc.settings, svc.keys)
    assert [m.parsed["Subject"] for m in mailbox.received] == [mail.VERIFY_SUBJECT]
    token = token_from(mailbox, ADDRESS)
    owner.submit(f"/staff/email/verify?t={token}", "/staff/email/verify", t=token)
    clock.advance(1)
    in_app(mail_client, mail.run_once, svc.db, svc.clock, svc.settings, svc.keys)
    assert [m.parsed["Subject"] for m in mailbox.to(ADDRESS)] == [
        mail.VERIFY_SUBJECT,
        mail.ALERT_SUBJECT,
    ]
    # A changed address is unverified again: no alert goes to it (nor to the old one).
    set_address(owner, clock, person, OTHER)
    clock.advance(3600)
    add_item(mail_client, person.id)
    clock.advance(1)
    in_app(mail_client, mail.run_once, svc.db, svc.clock, svc.settings, svc.keys)
    assert [m.parsed["Subject"] for m in mailbox.to(OTHER)] == [mail.VERIFY_SUBJECT]
    assert len(mailbox.to(ADDRESS)) == 2


def test_without_mail_settings_the_page_says_so_and_takes_no_address(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    owner = Actor(client)
    owner.log_in(world.coordinator, clock)
    page = owner.get("/staff/email")
    assert page.status_code == 200
    assert "E-mail alerts are not switched on in this portal." in page.text
    assert 'name="email"' not in page.text
    status, _page = set_address(owner, clock, world.coordinator, ADDRESS)
    assert status == 409
    assert address(client, world.coordinator) == (None, None)
