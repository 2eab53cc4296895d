"""Alert mail to staff, against a real SMTP server (aiosmtpd): one per burst per person,
content-free, retried with backoff and given up, sent once by several processes, and
sent after a restart."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from portal.app import create_app
from portal.domain import mail
from portal.settings import Settings
from portal.storage.database import connect
from tests.domain.purgeable import book_consultation
from tests.factories import (
    CLIENT_ADDRESS,
    Actor,
    FakeClock,
    World,
    in_app,
    make_world,
    services_of,
)
from tests.live import refused_port
from tests.mailbox import (
    Mailbox,
    add_item,
    mail_settings,
    mailbox,
    outbox,
    set_address,
)

__all__ = ["mailbox"]  # the fixture, used by name


@pytest.fixture
def refused() -> Iterator[int]:
    """A relay's port that refuses every connection."""
    with refused_port() as port:
        yield port


INVESTIGATOR = "inv.alerts@police.test"
NGO_WORKER = "ngo.alerts@ngo.test"
COORDINATOR = "coord@police.test"


def open_client(settings: Settings, clock: FakeClock) -> TestClient:
    return TestClient(
        create_app(settings, clock),
        base_url="https://portal.test",
        client=(CLIENT_ADDRESS, 50123),
        follow_redirects=False,
    )


@pytest.fixture
def mail_client(
    database_url: str, clock: FakeClock, mailbox: Mailbox
) -> Iterator[tuple[TestClient, Settings]]:
    settings = mail_settings(database_url, mailbox.port)
    with open_client(settings, clock) as client:
        yield client, settings


def run_once(client: TestClient) -> mail.Round:
    svc = services_of(client)
    return in_app(client, mail.run_once, svc.db, svc.clock, svc.settings, svc.keys)


def wait_for(condition: object, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:  # type: ignore[operator]
        time.sleep(0.05)


def test_a_burst_gives_one_mail_and_new_items_after_15_minutes_a_second(
    mail_client: tuple[TestClient, Settings], clock: FakeClock, mailbox: Mailbox
) -> None:
    client, _settings = mail_client
    world = in_app(client, make_world, services_of(client))
    set_address(client, world.investigator.id, INVESTIGATOR)
    set_address(client, world.ngo_worker.id, NGO_WORKER, verified=False)
    for person in (world.investigator, world.ngo_worker, world.coordinator):
        for _ in range(3):
            add_item(client, person.id)
    clock.advance(1)
    assert run_once(client) == mail.Round(queued=1, sent=1)
    clock.advance(60)
    add_item(client, world.investigator.id)
    add_item(client, world.investigator.id)
    clock.advance(1)
    run_once(client)
    clock.advance(15 * 60 - 62)  # 14 minutes 59 seconds after the first alert
    run_once(client)
    assert [m.recipients for m in mailbox.received] == [[INVESTIGATOR]]
    clock.advance(1)  # 15 minutes: the items of the burst that came after get one mail
    run_once(client)
    assert [m.recipients for m in mailbox.received] == [[INVESTIGATOR], [INVESTIGATOR]]
    clock.advance(3600)  # nothing new since: nothing more, though the items are still open
    run_once(client)
    assert mailbox.count == 2
    # The unverified address and the person without one got nothing, ever.
    assert mailbox.to(NGO_WORKER) == [] and {a["kind"] for a in outbox(client)} == {"alert"}
    assert {a["account_id"] for a in outbox(client)} == {world.investigator.id}


def test_done_items_give_no_mail(
    mail_client: tuple[TestClient, Settings], clock: FakeClock, mailbox: Mailbox
) -> None:
    client, _settings = mail_client
    world = in_app(client, make_world, services_of(client))
    set_address(client, world.investigator.id, INVESTIGATOR)
    add_item(client, world.investigator.id)
    svc = services_of(client)
    in_app(client, svc.db.execute, "UPDATE attention_items SET done_at = :now", now=clock.now())
    clock.advance(1)
    run_once(client)
    assert mailbox.count == 0


def test_the_mail_says_only_that_there_is_something_new_and_never_goes_to_a_client(
    mail_client: tuple[TestClient, Settings],
    clock: FakeClock,
    mailbox: Mailbox,
    logs_hold_no_secrets: list[str],
) -> None:
    client, settings = mail_client
    svc = services_of(client)
    world = in_app(client, make_world, svc)
    booked = book_consultation(client, clock, world)
    meeting = in_app(
        client,
        svc.db.fetch_one,
        "SELECT p.name AS place, s.starts_at FROM meetings m JOIN slots s ON s.id = m.slot_id"
        " JOIN places p ON p.id = s.place_id WHERE m.consultation_id = :c",
        c=booked.id,
    )
    assert meeting is not None
    set_address(client, world.investigator.id, INVESTIGATOR)
    set_address(client, world.ngo_worker.id, NGO_WORKER)
    add_item(client, world.investigator.id, booked.id)
    add_item(client, world.ngo_worker.id, booked.id)
    # The client acts too (their session is the only thing a client has): no address.
    assert booked.client.get("/meeting").status_code == 200
    clock.advance(1)
    run_once(client)
    assert sorted(r for m in mailbox.received for r in m.recipients) == [INVESTIGATOR, NGO_WORKER]
    accounts = {row["id"] for row in in_app(client, svc.db.fetch_all, "SELECT id FROM accounts")}
    assert {row["account_id"] for row in outbox(client)} <= accounts
    from tests.factories import CANARIES

    starts = time.gmtime(meeting["starts_at"])
    forbidden = {
        booked.pseudonym,
        booked.id,
        meeting["place"],
        "Station",
        "Police unit",
        "Support centre",
        "Inv",
        "Ngo",
        "Coord",
        COORDINATOR,
        time.strftime("%H:%M", starts),
        time.strftime("%Y-%m-%d", starts),
        f"{starts.tm_mday}.{starts.tm_mon}.",
        *CANARIES,  # the slip's code and the client's code, with and without spaces
    }
    for received in mailbox.received:
        (recipient,) = received.recipients
        other = ({INVESTIGATOR, NGO_WORKER} - {recipient}).pop()
        message = received.parsed
        assert message["To"] == recipient and message["From"] == "portal@portal.test"
        text = received.everything
        leaked = [word for word in forbidden | {other} if word and word in text]
        assert leaked == []
        # The address appears in the To header only.
        assert received.raw.decode().count(recipient) == 1
        assert received.body.replace("\r\n", "\n") == mail.ALERT_BODY.format(
            url="https://portal.test/"
        )
        assert "There is something new for you in the portal" in received.body
        assert "Portaalissa on sinulle jotain uutta" in received.body
        assert "Det finns något nytt för dig i portalen" in received.body
        assert set(re.findall(r"https?://\S+", received.body)) == {"https://portal.test/"}
    log = "\n".join(logs_hold_no_secrets)
    assert "2 alerts queued, 2 sent" in log
    assert INVESTIGATOR not in log and NGO_WORKER not in log
    del settings


def test_a_refused_connection_is_retried_with_backoff_then_given_up_and_pages_stay_fast(
    database_url: str, clock: FakeClock, refused: int, logs_hold_no_secrets: list[str]
) -> None:
    settings = mail_settings(database_url, refused, mail_interval_seconds=1)
    with open_client(settings, clock) as client:
        world = in_app(client, make_world, services_of(client))
        set_address(client, world.investigator.id, INVESTIGATOR)
        add_item(client, world.investigator.id)
        clock.advance(1)
        tried_at = clock.now()
        wait_for(lambda: outbox(client) and outbox(client)[0]["attempts"] >= 1)
        # Meanwhile, pages answer normally and fast.
        visitor = Actor(client)
        started = time.monotonic()
        assert visitor.get("/login").status_code == 200
        visitor.log_in(world.coordinator, clock)
        assert visitor.get("/staff").status_code == 200
        assert time.monotonic() - started < 2
        delays = []
        for attempt in range(1, mail.MAX_ATTEMPTS + 1):
            wait_for(lambda n=attempt: outbox(client)[0]["attempts"] >= n)
            row = outbox(client)[0]
            assert row["attempts"] == attempt and row["sent_at"] is None
            delays.append(row["not_before"] - tried_at)
            if attempt < mail.MAX_ATTEMPTS:
                assert row["given_up_at"] is None
                if attempt == 1:
                    clock.advance(row["not_before"] - clock.now() - 1)
                    time.sleep(1.5)  # one second early: the loop does not try again
                    assert outbox(client)[0]["attempts"] == attempt
                clock.value = tried_at = row["not_before"]
        assert delays == [60, 120, 240, 480, 960, 1920, 3600, 3600]
        wait_for(lambda: outbox(client)[0]["given_up_at"] is not None)
        assert outbox(client)[0]["given_up_at"] == clock.now()
        clock.advance(10 * 3600)
        time.sleep(1.5)
        assert outbox(client)[0]["attempts"] == mail.MAX_ATTEMPTS
        assert len(outbox(client)) == 1  # and no new alert while that one was pending
    log = "\n".join(logs_hold_no_secrets)
    assert "a mail was not taken by the relay (SMTPConnectError), attempt 1" in log
    assert "0 sent, 1 failed, 1 given up" in log
    assert INVESTIGATOR not in log


def test_a_restart_sends_what_was_queued(
    database_url: str, clock: FakeClock, refused: int, mailbox: Mailbox
) -> None:
    down = mail_settings(database_url, refused)  # the relay is unreachable at first
    with open_client(down, clock) as client:
        world = in_app(client, make_world, services_of(client))
        set_address(client, world.investigator.id, INVESTIGATOR)
        add_item(client, world.investigator.id)
        clock.advance(1)
        assert run_once(client) == mail.Round(queued=1, failed=1)
    clock.advance(mail.FIRST_RETRY)
    # A new process on the same database, the relay back, the loop running.
    up = mail_settings(database_url, mailbox.port, mail_interval_seconds=1)
    with open_client(up, clock) as client:
        wait_for(lambda: mailbox.count >= 1)
        assert [m.recipients for m in mailbox.received] == [[INVESTIGATOR]]
        # The relay has the mail before the loop writes down that it was sent.
        wait_for(lambda: outbox(client)[0]["sent_at"] is not None)
        (row,) = outbox(client)
        assert row["attempts"] == 2 and row["sent_at"] == clock.now()


def test_two_processes_send_each_queued_mail_once(
    database_url: str, clock: FakeClock, mailbox: Mailbox
) -> None:
    settings = mail_settings(database_url, mailbox.port, mail_interval_seconds=1)
    quiet = mail_settings(database_url, mailbox.port)
    with open_client(quiet, clock) as client:
        world: World = in_app(client, make_world, services_of(client))
        people = [world.investigator, world.other_investigator, world.coordinator]
        people += [world.ngo_worker, world.other_ngo_worker]
        for n, person in enumerate(people):
            set_address(client, person.id, f"person{n}@staff.test")
            add_item(client, person.id)
    clock.advance(1)
    with open_client(settings, clock) as first, open_client(settings, clock) as second:
        wait_for(lambda: mailbox.count >= len(people))
        time.sleep(2.5)  # both loops ran again: nothing more
        rows = outbox(first)
        assert outbox(second) == rows
    assert sorted(r for m in mailbox.received for r in m.recipients) == sorted(
        f"person{n}@staff.test" for n in range(len(people))
    )
    assert len(rows) == len(people) and all(r["attempts"] == 1 for r in rows)


async def _race(url: str, settings: Settings, clock: FakeClock, rounds: int) -> list[mail.Round]:
    """Several "processes" (each its own connection or pool) sending at the same moment."""
    from portal.crypto.tokens import Keys

    keys = Keys(settings.secret_key)
    databases = [await connect(url) for _ in range(4)]
    try:
        return list(
            await asyncio.gather(
                *(
                    mail.run_once(databases[i % len(databases)], clock, settings, keys)
                    for i in range(rounds)
                )
            )
        )
    finally:
        for db in databases:
            await db.close()


def test_concurrent_senders_claim_each_row_once(
    mail_client: tuple[TestClient, Settings], clock: FakeClock, mailbox: Mailbox
) -> None:
    client, settings = mail_client
    world = in_app(client, make_world, services_of(client))
    people = [world.investigator, world.other_investigator, world.coordinator, world.ngo_worker]
    for n, person in enumerate(people):
        set_address(client, person.id, f"racer{n}@staff.test")
        add_item(client, person.id)
    clock.advance(1)
    rounds = in_app(client, _race, settings.database_url, settings, clock, 8)
    assert sum(r.queued for r in rounds) == len(people)
    assert sum(r.sent for r in rounds) == len(people) == mailbox.count
    assert len({m.recipients[0] for m in mailbox.received}) == len(people)


def test_a_relay_that_never_answers_holds_up_no_page(database_url: str, clock: FakeClock) -> None:
    """The kernel accepts the connection, the relay never greets: the loop waits (up to
    smtp.TIMEOUT), pages do not."""
    import socket

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        settings = mail_settings(database_url, port, mail_interval_seconds=1)
        with open_client(settings, clock) as client:
            world = in_app(client, make_world, services_of(client))
            set_address(client, world.investigator.id, INVESTIGATOR)
            add_item(client, world.investigator.id)
            clock.advance(1)
            wait_for(lambda: outbox(client) and outbox(client)[0]["attempts"] == 1)
            time.sleep(0.5)  # the loop is now waiting for the silent relay's greeting
            visitor = Actor(client)
            for _ in range(5):
                started = time.monotonic()
                assert visitor.get("/login").status_code == 200
                assert time.monotonic() - started < 0.5
            assert outbox(client)[0]["sent_at"] is None


def test_finished_mail_is_pruned_after_a_week_but_the_latest_alert_stays(
    mail_client: tuple[TestClient, Settings], clock: FakeClock, mailbox: Mailbox
) -> None:
    client, _settings = mail_client
    world = in_app(client, make_world, services_of(client))
    set_address(client, world.investigator.id, INVESTIGATOR)
    add_item(client, world.investigator.id)
    clock.advance(1)
    run_once(client)  # the first alert (and the day's prune claim: nothing old yet)
    clock.advance(3600)
    add_item(client, world.investigator.id)
    clock.advance(1)
    run_once(client)  # the second alert
    latest = outbox(client)[-1]
    assert len(outbox(client)) == 2 and mailbox.count == 2
    clock.advance(mail.KEEP_FINISHED + mail.DAY)
    run_once(client)
    assert outbox(client) == [latest]
    # The items still open are older than the kept alert: no new mail for them.
    clock.advance(mail.DAY)
    run_once(client)
    assert mailbox.count == 2 and outbox(client) == [latest]
