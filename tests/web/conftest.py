"""Fixtures for web tests."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.factories import (
    CANARIES,
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)
from tests.web.conversation import (
    FROM_CLIENT,
    FROM_CLIENT_NO_JS,
    FROM_NGO,
    FROM_POLICE,
    Talk,
    client_key_of,
    register_staff_key,
)
from tests.web.sealed import FEARS, WISHES, Case, create_key


@pytest.fixture
def case(client: TestClient, clock: FakeClock, world: World) -> Case:
    svc = services_of(client)
    investigator = create_key(client, clock, world.investigator)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    ngo = Actor(client)
    ngo.log_in(world.ngo_worker, clock)
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    found = re.search(r'href="/ngo/consultations/([^"]+)"', ngo.get("/ngo").text)
    assert found
    CANARIES.update({FEARS, WISHES})
    return Case(found.group(1), ngo, person, investigator)


@pytest.fixture
def talk(client: TestClient, clock: FakeClock, world: World, case: Case) -> Talk:
    CANARIES.update({FROM_POLICE, FROM_NGO, FROM_CLIENT, FROM_CLIENT_NO_JS})
    keys = {
        "investigator": (case.investigator.key_id, case.investigator.secret_key),
        "ngo_worker": register_staff_key(client, clock, world.ngo_worker.id),
        "client": client_key_of(client, case),
    }
    return Talk(case, keys, clock)
