"""Shared pieces for adviser tests: organisations of the assistance system and municipal
services with their advisers, and asking for an adviser the way the pages do."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx2 as httpx
from starlette.testclient import TestClient

from portal.services import Services
from portal.storage.organisations import Organisation
from tests.factories import (
    Actor,
    FakeClock,
    Person,
    in_app,
    make_organisation,
    make_person,
    services_of,
)


@dataclass(frozen=True)
class Advisers:
    assistance: Organisation
    municipal: Organisation
    empty: Organisation  # an assistance organisation without advisers
    adviser: Person  # of the assistance system
    colleague: Person  # of the assistance system too
    municipal_adviser: Person


async def _make(svc: Services) -> Advisers:
    assistance = await make_organisation(svc, "National Assistance System", "assistance")
    municipal = await make_organisation(svc, "City Ankkuri Team", "municipal")
    empty = await make_organisation(svc, "Empty Assistance Office", "assistance")
    return Advisers(
        assistance=assistance,
        municipal=municipal,
        empty=empty,
        adviser=await make_person(svc, assistance, "adviser", "adv"),
        colleague=await make_person(svc, assistance, "adviser", "adv2"),
        municipal_adviser=await make_person(svc, municipal, "adviser", "ankkuri"),
    )


def make_advisers(client: TestClient) -> Advisers:
    return in_app(client, _make, services_of(client))


def signed_in(client: TestClient, clock: FakeClock, person: Person) -> Actor:
    actor = Actor(client)
    actor.log_in(person, clock)
    return actor


def ask(actor: Actor, page: str, organisation_id: str) -> httpx.Response:
    """The investigator's or NGO worker's "Ask an adviser" form on ``page``."""
    return actor.submit(page, page + "/advisers", adviser_organisation_id=organisation_id)


REQUEST_LINK = re.compile(r'href="/adviser/requests/([^"]+)"')


def request_id_on(page: str) -> str:
    found = REQUEST_LINK.search(page)
    assert found, "the start page links the request"
    return found.group(1)


def join_first_meeting(adviser: Actor) -> str:
    """The adviser opens the request on their start page and joins the consultation's
    first upcoming meeting, as the request page offers it; the request's id."""
    request_id = request_id_on(adviser.get("/adviser").text)
    page = adviser.get(f"/adviser/requests/{request_id}").text
    meeting_id = re.search(r'name="meeting_id" value="([^"]+)"', page)
    assert meeting_id, "the request page offers a meeting to join"
    adviser.submit(
        f"/adviser/requests/{request_id}",
        f"/adviser/requests/{request_id}/join",
        meeting_id=meeting_id.group(1),
    )
    return request_id
