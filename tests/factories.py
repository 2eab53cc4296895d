"""Builders for test data, a fake clock, and an ``Actor``: one browser's cookie jar."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import httpx2 as httpx
from starlette.testclient import TestClient

from portal.crypto.passwords import PasswordHasher
from portal.crypto.tokens import random_id
from portal.crypto.totp import code_at
from portal.services import Services
from portal.storage.accounts import insert_account
from portal.storage.organisations import Organisation, insert_organisation

T = TypeVar("T")
CLIENT_ADDRESS = "203.0.113.7"
# Secrets a test used: none may reach a log record (checked after every test).
CANARIES: set[str] = set()
PASSWORD = "canary-Pass-7f3a9c1e"
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


class FakeClock:
    def __init__(self, start: int = 1_800_000_000) -> None:
        self.value = start

    def now(self) -> int:
        return self.value

    def advance(self, seconds: int) -> None:
        self.value += seconds


@dataclass(frozen=True)
class Person:
    id: str
    username: str
    password: str
    totp_secret: str
    role: str
    organisation_id: str


def services_of(client: TestClient) -> Services:
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    return found


def on_own_loop(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run a coroutine on its own event loop in a worker thread: the browser tests'
    Playwright loop may own this thread when the whole suite runs."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(fn(*args))).result()


def in_app(client: TestClient, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
    """Run a coroutine on the app's own event loop (asyncpg pools belong to one loop)."""
    assert client.portal is not None, "use the client inside its with-block"
    result: T = client.portal.call(partial(fn, *args, **kwargs))
    return result


@contextmanager
def from_address(client: TestClient, address: str) -> Iterator[TestClient]:
    """Requests from another peer address (TestClient keeps it on its transport): another
    sender, as far as the portal's limits can tell."""
    transport = client._transport  # type: ignore[attr-defined]
    before = transport.client
    transport.client = (address, 41000)
    try:
        yield client
    finally:
        transport.client = before


@dataclass(frozen=True)
class World:
    """Two organisations of each kind with one person per role, for access-control tests."""

    police: Organisation
    ngo: Organisation
    other_ngo: Organisation
    coordinator: Person
    investigator: Person
    other_investigator: Person
    ngo_worker: Person
    other_ngo_worker: Person


async def make_world(svc: Services) -> World:
    police = await make_organisation(svc, "Police unit", "police")
    ngo = await make_organisation(svc, "Support centre", "ngo")
    other_ngo = await make_organisation(svc, "Other association", "ngo")
    return World(
        police=police,
        ngo=ngo,
        other_ngo=other_ngo,
        coordinator=await make_person(svc, police, "coordinator", "coord"),
        investigator=await make_person(svc, police, "investigator", "inv"),
        other_investigator=await make_person(svc, police, "investigator", "inv2"),
        ngo_worker=await make_person(svc, ngo, "ngo_worker", "ngo"),
        other_ngo_worker=await make_person(svc, other_ngo, "ngo_worker", "ngo2"),
    )


async def make_organisation(svc: Services, name: str, kind: str) -> Organisation:
    org = Organisation(id=random_id(), name=name, kind=kind)
    await insert_organisation(svc.db, org, svc.clock.now())
    return org


async def make_person(
    svc: Services, org: Organisation, role: str, username: str, password: str = PASSWORD
) -> Person:
    hasher: PasswordHasher = svc.hasher
    secret = "JBSWY3DPEHPK3PXP" + random_id().upper().replace("-", "A").replace("_", "B")[:16]
    secret = re.sub(r"[^A-Z2-7]", "A", secret)
    account_id = random_id()
    await insert_account(
        svc.db,
        account_id=account_id,
        organisation_id=org.id,
        username=username,
        display_name=username.title(),
        role=role,
        password_hash=hasher.hash(password),
        totp_secret=secret,
        totp_last_step=0,
        now=svc.clock.now(),
    )
    CANARIES.update({password, secret})
    return Person(account_id, username, password, secret, role, org.id)


async def make_adviser(svc: Services, username: str = "adviser") -> Person:
    """An adviser of a new assistance-system organisation (for tests of adviser routes)."""
    org = await make_organisation(svc, f"Assistance {username}", "assistance")
    return await make_person(svc, org, "adviser", username)


class Actor:
    """One browser: its own cookies, sharing the app's single test client."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.cookies = httpx.Cookies()
        self.last: httpx.Response | None = None

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.client.cookies = self.cookies
        try:
            response = self.client.request(method, url, **kwargs)
        finally:
            self.cookies = self.client.cookies
        self.last = response
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def csrf_from(self, page: str) -> str:
        """The CSRF token of a page, as a browser would have it."""
        found = CSRF.search(self.get(page).text)
        assert found, f"no CSRF token on {page}"
        return found.group(1)

    def submit(self, page: str, to: str | None = None, /, **data: str) -> httpx.Response:
        """Open ``page`` and post its form to ``to`` (default: the page itself)."""
        token = self.csrf_from(page)
        return self.request("POST", to or page, data={"csrf_token": token, **data})

    def log_in(self, person: Person, clock: FakeClock) -> httpx.Response:
        # Each TOTP code works once: move to a fresh 30-second step first.
        clock.advance(30)
        response = self.submit(
            "/login",
            username=person.username,
            password=person.password,
            totp_code=code_at(person.totp_secret, clock.now()),
        )
        assert response.status_code == 303, response.text
        CANARIES.add(self.session_id())
        return response

    def session_id(self) -> str:
        return self.cookies.get("__Host-sid") or ""


async def make_place(
    svc: Services, name: str = "Station room 4", kind: str = "police_station"
) -> str:
    from portal.domain.places import add_place

    place = await add_place(
        svc.db,
        svc.clock,
        name=name,
        kind=kind,
        address="Street 1",
        directions="Side door, second floor.",
    )
    return place.id


async def make_slot(
    svc: Services,
    investigator: Person,
    place_id: str,
    *,
    hours_ahead: int = 48,
    languages: tuple[str, ...] = ("fi", "en"),
    interpreter: bool = False,
) -> str:
    from portal.domain.slots import SlotInput, publish_slot

    return await publish_slot(
        svc.db,
        svc.clock,
        investigator.id,
        SlotInput(
            place_id=place_id,
            starts_at=svc.clock.now() + hours_ahead * 3600,
            duration_minutes=60,
            languages=languages,
            interpreter_available=interpreter,
        ),
    )


NEEDS = {
    "client_locale": "en",
    "language": "fi",
    "interpreter_needed": "no",
    "interpreter_gender": "any",
    "interpreter_other_community": "no",
    "investigator_gender": "any",
    "support_person": "yes",
    "accessibility": "none",
    "childcare": "no",
    "venue_preference": "any",
    "urgency": "soon",
    "minor": "no",
    "reflection_period": "unsure",
    "safe_contact": "via_ngo",
}
CODE = re.compile(r'class="slip-code">([0-9 ]+)<')
CLIENT_CODE = re.compile(r'class="client-code"[^>]*><strong>([0-9 ]+)</strong>')


def book(actor: Actor, slot_id: str, **overrides: str) -> httpx.Response:
    """An NGO worker books ``slot_id`` through the booking form."""
    return actor.submit("/ngo/book", action="book", slot_id=slot_id, **{**NEEDS, **overrides})


def slip_code(response: httpx.Response) -> str:
    found = CODE.search(response.text)
    assert found, "the slip shows a one-time code"
    CANARIES.add(found.group(1).replace(" ", ""))
    CANARIES.add(found.group(1))
    return found.group(1)


def redeem(client: TestClient, code: str, locale: str = "en") -> tuple[Actor, str]:
    """A client chooses a language and enters the slip's code; returns their own code."""
    person = Actor(client)
    person.submit("/", "/language", locale=locale, next="/code")
    response = person.submit("/code", code=code)
    assert response.status_code == 200, response.text
    found = CLIENT_CODE.search(response.text)
    assert found, "the client is shown their own code"
    CANARIES.update({found.group(1), found.group(1).replace(" ", "")})
    return person, found.group(1)


async def give_legacy_client_code(svc: Services, consultation_id: str) -> str:
    """A client code made the way it was before client key v1 (a lookup and an argon2id
    hash, no key), for the migration tests; returns the code."""
    from portal.domain import codes

    code = codes.new_code(codes.CLIENT_DIGITS)
    await svc.db.execute(
        "UPDATE consultations SET client_code_lookup = :lookup, client_code_hash = :hash,"
        " client_key_id = NULL, client_public_key = NULL, client_key_salt = NULL,"
        " client_key_opslimit = NULL, client_key_memlimit_kib = NULL, client_verifier = NULL"
        " WHERE id = :id",
        id=consultation_id,
        lookup=codes.lookup_key(svc.codes.pepper, "client", code),
        hash=svc.hasher.hash(code),
    )
    CANARIES.update({code, codes.display(code)})
    return code
