"""Many NGO workers booking the same slots at the same moment: no slot is booked twice.

Runs on SQLite, and on PostgreSQL when PORTAL_TEST_DATABASE_URL is set (real parallel
transactions through the connection pool).
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from portal.domain.bookings import SlotTaken, book_meeting
from portal.domain.needs import parse_needs
from portal.storage.accounts import account_by_id
from tests.factories import (
    NEEDS,
    Actor,
    FakeClock,
    World,
    in_app,
    make_place,
    make_slot,
    services_of,
)


def test_domain_race_books_each_slot_exactly_once(client: TestClient, world: World) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slots = [
        in_app(client, make_slot, svc, world.investigator, place, hours_ahead=24 + i)
        for i in range(3)
    ]
    needs, problems = parse_needs(NEEDS)
    assert needs is not None and not problems
    worker = in_app(client, account_by_id, svc.db, world.ngo_worker.id)
    assert worker is not None

    async def race() -> list[str]:
        async def one(i: int) -> str:
            try:
                await book_meeting(
                    svc.db,
                    svc.clock,
                    svc.codes,
                    worker=worker,
                    slot_id=slots[i % 3],
                    needs=needs,
                    client_locale="en",
                    code_ttl=3600,
                )
            except SlotTaken:
                return "lost"
            return "won"

        return list(await asyncio.gather(*(one(i) for i in range(15))))

    outcomes = in_app(client, race)
    assert outcomes.count("won") == 3 and outcomes.count("lost") == 12
    doubles = in_app(
        client,
        svc.db.fetch_all,
        "SELECT slot_id FROM meetings GROUP BY slot_id HAVING count(*) > 1",
    )
    assert list(doubles) == []
    booked = in_app(
        client, svc.db.fetch_value, "SELECT count(*) FROM slots WHERE status = 'booked'"
    )
    assert booked == 3


def test_web_race_one_winner_and_every_loser_keeps_the_form(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    spare = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=96)
    sessions = []
    for person in (world.ngo_worker, world.other_ngo_worker) * 3:
        actor = Actor(client)
        actor.log_in(person, clock)
        sessions.append((actor.session_id(), actor.csrf_from("/ngo/book")))
    client.cookies.clear()

    def attempt(session: tuple[str, str]) -> tuple[int, str]:
        sid, token = session
        response = client.post(
            "/ngo/book",
            headers={"cookie": f"__Host-sid={sid}"},
            data={
                "csrf_token": token,
                "action": "book",
                "slot_id": slot,
                **NEEDS,
                "urgency": "urgent",
            },
        )
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(attempt, sessions))
    # One booking; the winner's own two other sessions sent the very same form, so they
    # are led to that booking (303); the other worker's three are told and keep theirs.
    statuses = sorted(status for status, _ in results)
    assert statuses == [200, 303, 303, 409, 409, 409]
    winner = next(i for i, (status, _) in enumerate(results) if status == 200) % 2
    assert [status for status, _ in results[winner::2]].count(409) == 0
    for status, text in results:
        if status == 409:
            assert "Someone else booked that time" in text
            assert re.search(r'<option value="urgent" selected>', text)
            assert spare in text
