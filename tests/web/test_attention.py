"""The "needs attention" queue as staff see it: on each start page, urgent first and said
in words, with the client's reason; marked done by its owner only; counted in the header
of every staff page without another statement, and never shown to a client."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from portal.crypto.tokens import random_id
from portal.domain import attention
from portal.storage.attention import insert_item
from portal.storage.consultations import consultation_by_id
from tests.factories import Actor, FakeClock, World, in_app, services_of
from tests.web.sealed import Case

DONE = re.compile(r'action="/staff/attention/([^/"]+)/done"')
UNSAFE = "It is not safe for me to come now"


def _answer(case: Case, answer: str, reason: str = "") -> None:
    found = re.search(r'action="/meeting/([^/]+)/answer"', case.client.get("/meeting").text)
    assert found
    data = {"answer": answer, **({"reason": reason} if reason else {})}
    response = case.client.submit("/meeting", f"/meeting/{found.group(1)}/answer", **data)
    assert response.status_code == 303


def _signed_in(client: TestClient, clock: FakeClock, person: Any) -> Actor:
    actor = Actor(client)
    actor.log_in(person, clock)
    return actor


def _open_items(client: TestClient, account_id: str) -> int:
    return int(
        in_app(
            client,
            services_of(client).db.fetch_value,
            "SELECT COUNT(*) FROM attention_items WHERE account_id = :a AND done_at IS NULL",
            a=account_id,
        )
    )


def test_unsafe_is_urgent_with_its_reason_for_the_investigator_and_the_booker(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    _answer(case, "change", "unsafe")
    investigator = case.investigator.actor
    for actor, start, link in (
        (investigator, "/investigator", f"/investigator/consultations/{case.consultation}"),
        (investigator, "/staff", f"/investigator/consultations/{case.consultation}"),
        (case.ngo, "/ngo", f"/ngo/consultations/{case.consultation}"),
        (case.ngo, "/staff", f"/ngo/consultations/{case.consultation}"),
    ):
        page = actor.get(start).text
        assert "Needs attention: 1<" in page, start
        queue = page[page.index('id="attention-heading"') :]
        assert '<strong class="badge badge-urgent">Urgent</strong>' in queue
        assert f'<a href="{link}">' in queue
        assert "The client asks for another time." in queue
        assert f"Reason given by the client: {UNSAFE}" in queue
        assert len(DONE.findall(queue)) == 1
    # The investigator's consultation page says why, as the NGO's did already.
    page = investigator.get(f"/investigator/consultations/{case.consultation}").text
    assert f'<span class="hint">Reason: {UNSAFE}</span>' in page
    # Nobody else has anything.
    for person in (world.other_investigator, world.other_ngo_worker, world.coordinator):
        page = _signed_in(client, clock, person).get("/staff").text
        assert "Needs attention: 0<" in page
        assert "Nothing needs your attention now." in page
        assert not DONE.search(page)


def test_the_client_never_sees_the_queue_or_its_count(case: Case) -> None:
    _answer(case, "change", "unsafe")
    page = case.client.get("/meeting").text
    assert "Needs attention" not in page
    assert "/staff/attention" not in page


def test_only_the_owner_marks_an_item_done(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    _answer(case, "change", "unsafe")
    investigator = case.investigator.actor
    found = DONE.search(investigator.get("/investigator").text)
    assert found
    item = found.group(1)
    # The booker (who has an item of their own), another investigator, another
    # organisation's worker and the coordinator: 404, and the item stays open.
    others = [case.ngo] + [
        _signed_in(client, clock, p)
        for p in (world.other_investigator, world.other_ngo_worker, world.coordinator)
    ]
    for other in others:
        response = other.submit("/staff", f"/staff/attention/{item}/done", next="/staff")
        assert response.status_code == 404
    assert _open_items(client, world.investigator.id) == 1
    assert _open_items(client, world.ngo_worker.id) == 1
    # No such item: 404 as well.
    response = investigator.submit("/staff", f"/staff/attention/{random_id()}/done")
    assert response.status_code == 404

    response = investigator.submit(
        "/investigator", f"/staff/attention/{item}/done", next="/investigator"
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/investigator"
    page = investigator.get("/investigator").text
    assert "Needs attention: 0<" in page and "Nothing needs your attention now." in page
    assert _open_items(client, world.investigator.id) == 0
    # The booker's own item is theirs to close.
    assert _open_items(client, world.ngo_worker.id) == 1
    ngo_item = DONE.search(case.ngo.get("/ngo").text)
    assert ngo_item
    response = case.ngo.submit(
        "/ngo", f"/staff/attention/{ngo_item.group(1)}/done", next="https://attacker.example/"
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/staff"  # never elsewhere
    assert _open_items(client, world.ngo_worker.id) == 0


async def _add_items(client: TestClient, account_id: str, consultation_id: str) -> list[str]:
    """Twelve items, one a minute: the fourth urgent. Their ids, oldest first."""
    svc = services_of(client)
    ids = []
    for n in range(12):
        item_id = f"item-{n:02d}-{random_id()[:8]}"
        await insert_item(
            svc.db,
            item_id=item_id,
            account_id=account_id,
            consultation_id=consultation_id,
            kind="message",
            detail=None,
            subject_id=None,
            urgent=n == 3,
            now=svc.clock.now() + 60 * n,
        )
        ids.append(item_id)
    return ids


def test_urgent_first_then_newest_capped_with_n_more(
    client: TestClient, world: World, case: Case
) -> None:
    ids = in_app(client, _add_items, client, world.investigator.id, case.consultation)
    expected = [ids[3], *[i for i in reversed(ids) if i != ids[3]]]
    investigator = case.investigator.actor
    page = investigator.get("/investigator").text
    assert "Needs attention: 12<" in page
    assert DONE.findall(page) == expected[:10]
    assert '<a href="/staff/attention">2 more</a>' in page
    whole = investigator.get("/staff/attention").text
    assert DONE.findall(whole) == expected
    assert "<h1" in whole and 'id="attention-heading"' in whole


def _counting(client: TestClient) -> list[str]:
    """Every statement the app sends from now on (each is one round trip)."""
    db = services_of(client).db
    seen: list[str] = []
    for name in ("fetch_one", "fetch_all", "fetch_value", "execute"):
        original = getattr(db, name)

        def counted(sql: str, _original: Any = original, **params: Any) -> Any:
            seen.append(sql)
            return _original(sql, **params)

        setattr(db, name, counted)
    return seen


# Statements per page view, measured before the queue existed (left) and now: only the
# start pages gained one, the queue's own list; the header's count rides on the
# session's statement, so no other page changed. The conversation (after "+") adds its
# recipients and messages on the consultation pages, and the reader's own key on the
# NGO's (the investigator's page reads it already); none per message. The referrals
# (after the second "+") add their status list and the consent that decides whether the
# send form shows (the receiving advisers' keys are read only once there is consent).
# The first interview (after the third "+") adds the places it can be planned at.
# The advisers' section (after "+ 3") reads the requests, the advisers' parts and the
# organisations to ask; the client's page reads the advisers' parts (after "+ 1").
# The safety plan (after "+ 2", last) adds the plan with the details sealed to the
# reader's key, and the staff participants' keys. The client's meeting page reads all it
# shows in one statement (storage/client_page.py) after the session's: 2, was 6.
STATEMENTS = {
    ("investigator", "/investigator"): 3 + 1 + 1,  # and whether they have a key yet
    ("investigator", "/staff"): 1 + 1 + 1,
    ("investigator", "/investigator/slots"): 3,
    ("investigator", "/staff/password"): 1,
    ("investigator", "/investigator/consultations/{id}"): 9 + 2 + 2 + 1 + 3 + 2,
    ("ngo", "/ngo"): 2 + 1 + 1,  # and whether the worker has a key yet
    ("ngo", "/staff"): 1 + 1 + 1,
    ("ngo", "/staff/password"): 1,
    ("ngo", "/ngo/consultations/{id}"): 6 + 3 + 2 + 3 + 2,
    ("client", "/meeting"): 1 + 1,
}


def test_the_header_count_costs_no_statement(client: TestClient, case: Case) -> None:
    _answer(case, "change", "unsafe")
    actors = {"investigator": case.investigator.actor, "ngo": case.ngo, "client": case.client}
    seen = _counting(client)
    counted = {}
    for who, path in STATEMENTS:
        url = path.format(id=case.consultation)
        actors[who].get(url)  # a first view may touch the session (last_seen_at)
        seen.clear()
        response = actors[who].get(url)
        assert response.status_code == 200, url
        counted[who, path] = len(seen)
        if who != "client":
            assert "Needs attention: 1<" in response.text, url
    assert counted == STATEMENTS


def test_the_count_follows_the_items(client: TestClient, world: World, case: Case) -> None:
    investigator = case.investigator.actor
    assert "Needs attention: 0<" in investigator.get("/staff/password").text
    consultation = in_app(client, consultation_by_id, services_of(client).db, case.consultation)

    async def write(n: int) -> None:
        svc = services_of(client)
        async with svc.db.transaction() as tx:
            await attention.message_written(
                tx, svc.clock, consultation, author_account_id=None, message_id=f"m{n}"
            )

    in_app(client, write, 1)
    in_app(client, write, 2)
    assert "Needs attention: 1<" in investigator.get("/staff/password").text
    _answer(case, "confirm")
    page = investigator.get("/investigator").text
    assert "Needs attention: 2<" in page
    assert "There is a new message in the conversation." in page
    assert "The client confirmed the meeting." in page
