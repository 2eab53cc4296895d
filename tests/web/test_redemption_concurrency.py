"""Two people typing the same slip's one-time code at the same moment: exactly one wins.

Runs on SQLite, and on PostgreSQL when PORTAL_TEST_DATABASE_URL is set (real parallel
transactions through the connection pool). Both redemptions read the code as unused
before either burns it, so only the burn's own condition can stop the second.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from portal.domain.client_access import (
    CodeRejected,
    Redeemed,
    open_with_client_code,
    redeem_one_time_code,
)
from portal.services import Services
from tests.factories import (
    CANARIES,
    CLIENT_CODE,
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_place,
    make_slot,
    services_of,
    slip_code,
)


def _slips(client: TestClient, clock: FakeClock, world: World, count: int) -> list[str]:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    return [
        slip_code(
            book(
                worker,
                in_app(client, make_slot, svc, world.investigator, place, hours_ahead=24 + i),
            )
        )
        for i in range(count)
    ]


async def _open_connections(svc: Services) -> None:
    """Have PostgreSQL's pool hold several connections before the race: opening a second
    one mid-race takes long enough for the first redemption to finish before the second
    reads the code, and then the race would not be one."""
    await asyncio.gather(*(svc.db.fetch_value("SELECT 1") for _ in range(4)))


def test_domain_race_redeems_a_code_once(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    (code,) = _slips(client, clock, world, 1)
    in_app(client, _open_connections, svc)

    async def race() -> list[Redeemed | None]:
        async def one() -> Redeemed | None:
            try:
                return await redeem_one_time_code(svc.db, svc.clock, svc.codes, code)
            except CodeRejected:
                return None

        return list(await asyncio.gather(one(), one()))

    winners = [r for r in in_app(client, race) if r is not None]
    assert len(winners) == 1
    CANARIES.add(winners[0].client_code)
    # The winner's client code is the one that opens the consultation.
    opened = in_app(client, open_with_client_code, svc.db, svc.codes, winners[0].client_code)
    assert opened.consultation_id == winners[0].consultation_id


def _race(client: TestClient, code: str) -> list[tuple[int, str]]:
    """Two browsers, each on the code page with its own session, send ``code`` at once."""
    contenders = []
    for _ in range(2):
        person = Actor(client)
        contenders.append((person.csrf_from("/code"), person.session_id()))
    client.cookies.clear()
    start = threading.Barrier(2)

    def attempt(contender: tuple[str, str]) -> tuple[int, str]:
        token, sid = contender
        start.wait()
        response = client.post(
            "/code",
            headers={"cookie": f"__Host-sid={sid}"},
            data={"csrf_token": token, "code": code},
        )
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(attempt, contenders))


def test_web_race_one_client_gets_a_code_the_other_is_told_it_does_not_work(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    slips = _slips(client, clock, world, 3)
    in_app(client, _open_connections, svc)
    for round_, code in enumerate(slips):
        results = _race(client, code)
        assert sorted(status for status, _ in results) == [200, 400], round_
        for status, text in results:
            found = CLIENT_CODE.search(text)
            if status == 200:
                assert found, "the winner is shown their own code"
                CANARIES.add(found.group(1).replace(" ", ""))
            else:
                assert "This code does not work." in text
                assert not found
