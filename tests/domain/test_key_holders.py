"""Who holds a key pair: investigators and NGO workers, whom content is sealed to. A
coordinator never does (no sealed content may reach the role that sees every
consultation's metadata): the domain refuses their key even if a route let it through."""

from __future__ import annotations

import pytest
from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.domain import keys
from portal.services import Services
from portal.storage.accounts import Account, account_by_id
from tests.factories import World, in_app, services_of


async def _account(svc: Services, account_id: str) -> Account:
    found = await account_by_id(svc.db, account_id)
    assert found is not None
    return found


def _new_key() -> keys.NewKey:
    return keys.NewKey(bytes(PrivateKey.generate().public_key), b"w" * 97, b"r" * 97)


async def _key_holding(svc: Services, world: World) -> dict[str, tuple[bool, bool, bool]]:
    """Per role: (lacks a key before, key registered, lacks a key after)."""
    found = {}
    for person in (world.coordinator, world.investigator, world.ngo_worker):
        account = await _account(svc, person.id)
        before = await keys.lacks_key(svc.db, account)
        try:
            await keys.register_key(svc.db, svc.clock, account, _new_key(), "tag")
            registered = True
        except keys.NotAKeyHolder:
            registered = False
        found[account.role] = (before, registered, await keys.lacks_key(svc.db, account))
    return found


def test_investigators_and_ngo_workers_hold_keys_and_coordinators_do_not(
    client: TestClient, world: World
) -> None:
    assert in_app(client, _key_holding, services_of(client), world) == {
        "coordinator": (False, False, False),
        "investigator": (True, True, False),
        "ngo_worker": (True, True, False),
    }
    assert [keys.may_hold_key(r) for r in ("coordinator", "investigator", "ngo_worker")] == [
        False,
        True,
        True,
    ]


async def _coordinator_rewraps(svc: Services, world: World) -> int:
    coordinator = await _account(svc, world.coordinator.id)
    with pytest.raises(keys.NotAKeyHolder):
        await keys.rewrap_key(svc.db, svc.clock, coordinator, b"w" * 97, "tag")
    found: int = await svc.db.fetch_value(
        "SELECT count(*) FROM audit_events WHERE actor_account_id = :a", a=coordinator.id
    )
    return found


def test_a_coordinator_cannot_rewrap_a_key_either(client: TestClient, world: World) -> None:
    assert in_app(client, _coordinator_rewraps, services_of(client), world) == 0
