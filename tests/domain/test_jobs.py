"""The daily job: one claim per period among many callers, and the background loop."""

from __future__ import annotations

import asyncio
import time

from starlette.testclient import TestClient

from portal.app import create_app
from portal.domain import jobs
from portal.settings import Settings
from portal.storage.database import connect
from tests.conftest import make_settings
from tests.domain.purgeable import DAY, book_consultation, purge_date, rows_per_table
from tests.factories import CLIENT_ADDRESS, FakeClock, in_app, make_world, services_of


async def _claims(url: str, now: int, callers: int) -> list[bool]:
    """Several "processes" (each its own connection or pool) asking at once."""
    databases = [await connect(url) for _ in range(4)]
    try:
        return list(
            await asyncio.gather(
                *(
                    jobs.claim(databases[i % len(databases)], "purge", now, DAY)
                    for i in range(callers)
                )
            )
        )
    finally:
        for db in databases:
            await db.close()


def test_exactly_one_of_many_concurrent_callers_wins_a_claim(
    client: TestClient, settings: Settings
) -> None:
    now = 1_900_000_000
    first = in_app(client, _claims, settings.database_url, now, 24)
    assert first.count(True) == 1
    again = in_app(client, _claims, settings.database_url, now + DAY - 1, 24)
    assert again.count(True) == 0
    next_day = in_app(client, _claims, settings.database_url, now + DAY, 24)
    assert next_day.count(True) == 1


def test_the_daily_job_purges_in_the_background_and_logs_counts_only(
    database_url: str, clock: FakeClock, logs_hold_no_secrets: list[str]
) -> None:
    settings = make_settings(database_url, purge_interval_seconds=1)
    app = create_app(settings, clock)
    with TestClient(
        app, base_url="https://portal.test", client=(CLIENT_ADDRESS, 50123), follow_redirects=False
    ) as client:
        world = in_app(client, make_world, services_of(client))
        booked = book_consultation(client, clock, world)
        clock.value = purge_date(client, settings, booked.id)
        deadline = time.monotonic() + 10
        while rows_per_table(client, booked.id)["consultations"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert rows_per_table(client, booked.id)["consultations"] == 0
        last_run = in_app(
            client,
            services_of(client).db.fetch_value,
            "SELECT last_run_at FROM job_runs WHERE name = 'purge'",
        )
        assert last_run == clock.now()
    log = "\n".join(logs_hold_no_secrets)
    assert "purged 1 consultations" in log
    assert booked.pseudonym not in log and booked.id not in log


def test_the_daily_run_also_clears_expired_sessions(
    client: TestClient, clock: FakeClock, settings: Settings
) -> None:
    from tests.factories import Actor

    svc = services_of(client)
    visitor = Actor(client)
    visitor.submit("/", "/language", locale="fi", next="/")  # an anonymous session row
    count = "SELECT count(*) FROM sessions"
    assert in_app(client, svc.db.fetch_value, count) == 1
    clock.advance(2 * DAY)
    assert in_app(client, jobs.run_purge_if_due, svc.db, svc.clock, settings) == 0
    assert in_app(client, svc.db.fetch_value, count) == 0


def test_the_attention_sweep_runs_in_the_background_and_logs_counts_only(
    database_url: str, clock: FakeClock, logs_hold_no_secrets: list[str]
) -> None:
    """The app's lifespan starts the sweep; a meeting within 24 hours the client has not
    confirmed reaches the investigator's and the booker's queues once."""
    settings = make_settings(database_url, attention_sweep_seconds=1)
    app = create_app(settings, clock)
    with TestClient(
        app, base_url="https://portal.test", client=(CLIENT_ADDRESS, 50123), follow_redirects=False
    ) as client:
        world = in_app(client, make_world, services_of(client))
        booked = book_consultation(client, clock, world, hours_ahead=30)
        clock.advance(7 * 60 * 60)
        count = "SELECT COUNT(*) FROM attention_items WHERE consultation_id = :c"
        db = services_of(client).db
        deadline = time.monotonic() + 10
        while in_app(client, db.fetch_value, count, c=booked.id) < 2:
            assert time.monotonic() < deadline, "the sweep did not run"
            time.sleep(0.1)
        owners = in_app(
            client,
            db.fetch_all,
            "SELECT account_id, kind FROM attention_items WHERE consultation_id = :c",
            c=booked.id,
        )
        assert sorted((r["account_id"], r["kind"]) for r in owners) == sorted(
            [
                (world.investigator.id, "meeting_unconfirmed"),
                (world.ngo_worker.id, "meeting_unconfirmed"),
            ]
        )
        # More runs (the fake clock moves on, so each period is claimed): still the two.
        runs = "SELECT last_run_at FROM job_runs WHERE name = 'attention'"
        clock.advance(60)
        deadline = time.monotonic() + 10
        while in_app(client, db.fetch_value, runs) != clock.now():
            assert time.monotonic() < deadline, "the sweep did not run again"
            time.sleep(0.1)
        assert in_app(client, db.fetch_value, count, c=booked.id) == 2
    log = "\n".join(logs_hold_no_secrets)
    assert "attention sweep: 2 new items" in log
    assert booked.pseudonym not in log and booked.id not in log
