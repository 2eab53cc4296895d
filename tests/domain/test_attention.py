"""The "needs attention" queue: each event gives exactly one item to exactly the right
people (domain/attention.py), called without any web handler.

The people: the assigned investigator, another investigator, the NGO worker who booked,
two colleagues of the same organisation (one with a key, one without), an NGO worker of
another organisation and a coordinator. Each test lists, literally, who gets how many
items; an item for anyone else (a colleague without a key, the author of a message,
another organisation) fails it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.domain import adviser_requests, attention, bookings, client_access, jobs, keys
from portal.domain.needs import parse_needs
from portal.services import Services
from portal.storage import consultations as consultation_store
from portal.storage.accounts import Account, account_by_id, set_disabled
from portal.storage.consultations import Consultation, Meeting
from tests.conftest import make_settings
from tests.factories import (
    NEEDS,
    FakeClock,
    World,
    in_app,
    make_organisation,
    make_person,
    make_place,
    make_slot,
    services_of,
)

HOUR = 60 * 60
DAY = 24 * HOUR


@dataclass(frozen=True)
class People:
    """Each person's account id, by the name the expectations use."""

    ids: dict[str, str]

    def name_of(self, account_id: str) -> str:
        return next(name for name, id_ in self.ids.items() if id_ == account_id)


async def _account(svc: Services, account_id: str) -> Account:
    found = await account_by_id(svc.db, account_id)
    assert found is not None
    return found


async def _with_key(svc: Services, account_id: str) -> None:
    public = bytes(PrivateKey.generate().public_key)
    new = keys.NewKey(public, b"w" * 100, b"r" * 100)
    await keys.register_key(svc.db, svc.clock, await _account(svc, account_id), new, "tag")


async def _people(svc: Services, world: World) -> People:
    colleague = await make_person(svc, world.ngo, "ngo_worker", "colleague")
    keyless = await make_person(svc, world.ngo, "ngo_worker", "keyless")
    # The booker and the investigators have keys; one colleague has none.
    for account_id in (world.ngo_worker.id, colleague.id, world.investigator.id):
        await _with_key(svc, account_id)
    await _with_key(svc, world.other_investigator.id)
    await _with_key(svc, world.other_ngo_worker.id)
    return People(
        {
            "investigator": world.investigator.id,
            "other_investigator": world.other_investigator.id,
            "booker": world.ngo_worker.id,
            "colleague_with_key": colleague.id,
            "colleague_without_key": keyless.id,
            "other_organisation": world.other_ngo_worker.id,
            "coordinator": world.coordinator.id,
        }
    )


async def _book(svc: Services, world: World, hours_ahead: int = 48) -> tuple[Consultation, Meeting]:
    place = await make_place(svc)
    slot = await make_slot(svc, world.investigator, place, hours_ahead=hours_ahead)
    needs, _ = parse_needs(NEEDS)
    assert needs is not None
    booking = await bookings.book_meeting(
        svc.db,
        svc.clock,
        svc.codes,
        worker=await _account(svc, world.ngo_worker.id),
        slot_id=slot,
        needs=needs,
        client_locale="en",
        code_ttl=3600,
    )
    consultation = await consultation_store.consultation_by_id(svc.db, booking.consultation_id)
    assert consultation is not None
    meeting = (await bookings.meetings_of(svc.db, consultation))[0]
    return consultation, meeting


async def _items(svc: Services, people: People) -> dict[str, list[tuple[str, str | None, int]]]:
    """Each person's open items: (kind, detail, urgent)."""
    rows = await svc.db.fetch_all(
        "SELECT account_id, kind, detail, urgent FROM attention_items WHERE done_at IS NULL"
        " ORDER BY account_id, created_at, kind"
    )
    found: dict[str, list[tuple[str, str | None, int]]] = {}
    for row in rows:
        name = people.name_of(row["account_id"])
        found.setdefault(name, []).append((row["kind"], row["detail"], int(row["urgent"])))
    return found


def _setup(client: TestClient, world: World) -> tuple[Services, People]:
    svc = services_of(client)
    return svc, in_app(client, _people, svc, world)


# --- the client's answers ------------------------------------------------------------

ANSWERS = {
    "confirm": (None, ("client_confirmed", None, 0)),
    "cancel": (None, ("client_cancelled", None, 0)),
    "change, time": ("time", ("client_change_requested", "time", 0)),
    "change, place": ("place", ("client_change_requested", "place", 0)),
    # "It is not safe for me to come now": urgent for both.
    "change, unsafe": ("unsafe", ("client_change_requested", "unsafe", 1)),
}


def _answer(
    client: TestClient, svc: Services, consultation: Consultation, meeting: Meeting, case: str
) -> tuple[str, str | None, int]:
    """The client gives the answer of ``case`` (ANSWERS); the item it should make."""
    reason, item = ANSWERS[case]
    changed = in_app(
        client,
        client_access.answer_meeting,
        svc.db,
        svc.clock,
        consultation.id,
        meeting.id,
        case.split(",")[0],
        reason,
    )
    assert changed is True
    return item


@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_a_client_answer_reaches_the_investigator_and_the_booker_once(
    client: TestClient, world: World, case: str
) -> None:
    svc, people = _setup(client, world)
    consultation, meeting = in_app(client, _book, svc, world)
    item = _answer(client, svc, consultation, meeting, case)
    assert in_app(client, _items, svc, people) == {"investigator": [item], "booker": [item]}


async def _adviser_joins(svc: Services, world: World, consultation: Consultation) -> str:
    """An adviser of the assistance system joins the meeting; their account id."""
    assistance = await make_organisation(svc, "National Assistance System", "assistance")
    adviser = await make_person(svc, assistance, "adviser", "adv")
    asked = await adviser_requests.ask(
        svc.db,
        svc.clock,
        consultation,
        assistance.id,
        actor=await _account(svc, world.investigator.id),
    )
    [meeting] = await bookings.meetings_of(svc.db, consultation)
    await adviser_requests.join_meeting(
        svc.db, svc.clock, asked, meeting.id, adviser=await _account(svc, adviser.id)
    )
    await svc.db.execute("DELETE FROM attention_items")  # the request's own items
    return adviser.id


@pytest.mark.parametrize("case", sorted(ANSWERS))
def test_an_adviser_joining_the_meeting_hears_the_answer_but_not_the_reason(
    client: TestClient, world: World, case: str
) -> None:
    svc, people = _setup(client, world)
    consultation, meeting = in_app(client, _book, svc, world)
    people.ids["adviser"] = in_app(client, _adviser_joins, svc, world, consultation)
    item = _answer(client, svc, consultation, meeting, case)
    assert in_app(client, _items, svc, people) == {
        "investigator": [item],
        "booker": [item],
        "adviser": [(item[0], None, 0)],
    }


def test_a_refused_answer_makes_no_item(client: TestClient, world: World) -> None:
    svc, people = _setup(client, world)
    consultation, meeting = in_app(client, _book, svc, world)
    answer = client_access.answer_meeting
    # An unknown reason is refused, and so is confirming twice: no item either time.
    assert not in_app(client, answer, svc.db, svc.clock, consultation.id, meeting.id, "change", "x")
    assert in_app(client, answer, svc.db, svc.clock, consultation.id, meeting.id, "confirm")
    assert not in_app(client, answer, svc.db, svc.clock, consultation.id, meeting.id, "confirm")
    found = in_app(client, _items, svc, people)
    assert found == {
        "investigator": [("client_confirmed", None, 0)],
        "booker": [("client_confirmed", None, 0)],
    }


def test_a_disabled_booker_is_replaced_by_every_active_colleague(
    client: TestClient, world: World
) -> None:
    svc, people = _setup(client, world)
    consultation, meeting = in_app(client, _book, svc, world)
    in_app(client, set_disabled, svc.db, world.ngo_worker.id, svc.clock.now())
    in_app(
        client,
        client_access.answer_meeting,
        svc.db,
        svc.clock,
        consultation.id,
        meeting.id,
        "change",
        "unsafe",
    )
    item = ("client_change_requested", "unsafe", 1)
    assert in_app(client, _items, svc, people) == {
        "investigator": [item],
        "colleague_with_key": [item],
        "colleague_without_key": [item],
    }


def test_the_item_is_written_in_the_answers_own_transaction(
    client: TestClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the item cannot be written, the answer is not recorded either."""
    svc, people = _setup(client, world)
    consultation, meeting = in_app(client, _book, svc, world)

    async def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("no item")

    monkeypatch.setattr(attention, "client_answered", broken)
    with pytest.raises(RuntimeError):
        in_app(
            client,
            client_access.answer_meeting,
            svc.db,
            svc.clock,
            consultation.id,
            meeting.id,
            "change",
            "unsafe",
        )
    after = in_app(client, consultation_store.meeting_by_id, svc.db, meeting.id)
    assert after is not None
    assert after.status == "booked"
    assert in_app(client, _items, svc, people) == {}


# --- messages ------------------------------------------------------------------------


async def _write(svc: Services, consultation: Consultation, author: str | None, n: int) -> None:
    async with svc.db.transaction() as tx:
        await attention.message_written(
            tx, svc.clock, consultation, author_account_id=author, message_id=f"message-{n}"
        )


MESSAGE = ("message", None, 0)
MESSAGE_READERS = {
    # Never the author; never a colleague without a key, another organisation, another
    # investigator or a coordinator.
    "booker": {"investigator": [MESSAGE], "colleague_with_key": [MESSAGE]},
    "investigator": {"booker": [MESSAGE], "colleague_with_key": [MESSAGE]},
    "client": {"investigator": [MESSAGE], "booker": [MESSAGE], "colleague_with_key": [MESSAGE]},
}


@pytest.mark.parametrize("author", sorted(MESSAGE_READERS))
def test_a_message_reaches_its_readers_but_the_author(
    client: TestClient, world: World, author: str
) -> None:
    svc, people = _setup(client, world)
    consultation, _meeting = in_app(client, _book, svc, world)
    author_id = None if author == "client" else people.ids[author]
    in_app(client, _write, svc, consultation, author_id, 1)
    assert in_app(client, _items, svc, people) == MESSAGE_READERS[author]
    # More messages: still one item each, never a pile.
    in_app(client, _write, svc, consultation, author_id, 2)
    in_app(client, _write, svc, consultation, author_id, 3)
    assert in_app(client, _items, svc, people) == MESSAGE_READERS[author]


def test_a_new_message_reopens_and_refreshes_the_one_item(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc, _people = _setup(client, world)
    consultation, _meeting = in_app(client, _book, svc, world)
    in_app(client, _write, svc, consultation, world.ngo_worker.id, 1)
    first = in_app(
        client,
        svc.db.fetch_one,
        "SELECT id, created_at, subject_id FROM attention_items WHERE account_id = :a",
        a=world.investigator.id,
    )
    assert first is not None and first["subject_id"] == "message-1"
    in_app(
        client,
        svc.db.execute,
        "UPDATE attention_items SET done_at = :now WHERE id = :id",
        now=clock.now(),
        id=first["id"],
    )
    clock.advance(600)
    in_app(client, _write, svc, consultation, world.ngo_worker.id, 2)
    rows = in_app(
        client,
        svc.db.fetch_all,
        "SELECT id, created_at, done_at, subject_id FROM attention_items WHERE account_id = :a",
        a=world.investigator.id,
    )
    assert [(r["id"], r["created_at"], r["done_at"], r["subject_id"]) for r in rows] == [
        (first["id"], first["created_at"] + 600, None, "message-2")
    ]


# --- the sweep -----------------------------------------------------------------------


def _sweep(client: TestClient) -> int:
    svc = services_of(client)
    return in_app(client, attention.sweep, svc.db, svc.clock)


def test_an_unconfirmed_meeting_within_24_hours_is_flagged_once(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc, people = _setup(client, world)
    _c, unconfirmed = in_app(client, _book, svc, world, 30)
    # One investigator's times never overlap: these two are within 24 hours too, soon.
    confirmed_c, confirmed = in_app(client, _book, svc, world, 29)
    cancelled_c, cancelled = in_app(client, _book, svc, world, 28)
    _later_c, _later = in_app(client, _book, svc, world, 60)
    answer = client_access.answer_meeting
    in_app(client, answer, svc.db, svc.clock, confirmed_c.id, confirmed.id, "confirm")
    in_app(client, answer, svc.db, svc.clock, cancelled_c.id, cancelled.id, "cancel")
    in_app(client, svc.db.execute, "DELETE FROM attention_items")

    # 30 hours ahead: not yet.
    assert _sweep(client) == 0
    clock.advance(6 * HOUR)  # exactly 24 hours ahead now
    assert _sweep(client) == 2
    item = ("meeting_unconfirmed", None, 0)
    assert in_app(client, _items, svc, people) == {"investigator": [item], "booker": [item]}
    subjects = in_app(client, svc.db.fetch_all, "SELECT DISTINCT subject_id FROM attention_items")
    assert [r["subject_id"] for r in subjects] == [unconfirmed.id]
    # Again, and after the owner marked it done: never a second item for that meeting.
    assert _sweep(client) == 0
    in_app(client, svc.db.execute, "UPDATE attention_items SET done_at = 1")
    clock.advance(HOUR)
    assert _sweep(client) == 0
    assert in_app(client, svc.db.fetch_value, "SELECT COUNT(*) FROM attention_items") == 2


async def _reflection(svc: Services, consultation: Consultation, status: str, ends_on: int) -> None:
    await consultation_store.set_reflection(
        svc.db, consultation.id, status, ends_on, svc.clock.now()
    )


def test_a_reflection_period_ending_within_7_days_is_flagged_once(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc, people = _setup(client, world)
    ending, _ = in_app(client, _book, svc, world, 24 * 40)
    later, _ = in_app(client, _book, svc, world, 24 * 40 + 2)  # never overlapping
    undecided, _ = in_app(client, _book, svc, world, 24 * 40 + 4)
    now = clock.now()
    in_app(client, _reflection, svc, ending, "granted", now + 7 * DAY + HOUR)
    in_app(client, _reflection, svc, later, "granted", now + 30 * DAY)
    in_app(client, _reflection, svc, undecided, "needed", now + 2 * DAY)

    assert _sweep(client) == 0  # 7 days and an hour: not yet
    clock.advance(HOUR)
    assert _sweep(client) == 1
    assert _sweep(client) == 0
    assert in_app(client, _items, svc, people) == {"investigator": [("reflection_ending", None, 0)]}
    found = in_app(client, svc.db.fetch_value, "SELECT consultation_id FROM attention_items")
    assert found == ending.id
    # A new end date is a new item (the investigator is told again).
    in_app(client, _reflection, svc, ending, "granted", now + 5 * DAY)
    assert _sweep(client) == 1


def test_one_process_sweeps_per_period(client: TestClient, clock: FakeClock) -> None:
    svc = services_of(client)
    settings = make_settings("sqlite:///unused.sqlite3", attention_sweep_seconds=300)
    run = jobs.run_attention_sweep_if_due
    assert in_app(client, run, svc.db, svc.clock, settings) == 0
    assert in_app(client, run, svc.db, svc.clock, settings) is None
    clock.advance(299)
    assert in_app(client, run, svc.db, svc.clock, settings) is None
    clock.advance(1)
    assert in_app(client, run, svc.db, svc.clock, settings) == 0
