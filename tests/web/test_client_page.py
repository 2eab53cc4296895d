"""The client's meeting page read in one statement (storage/client_page.py) gives exactly
what the separate queries of each module give: the consultation and its investigator's
key, the meetings, the conversation's participants, the latest messages with the
client's envelopes (and the count of all), the advisers' parts. Runs on SQLite, and on
PostgreSQL when PORTAL_TEST_DATABASE_URL is set (the JSON functions differ)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from portal.storage import adviser_requests, consultations, keys, messages
from portal.storage.client_page import _column_names, client_page_rows
from portal.storage.database import Database
from tests.factories import FakeClock, in_app, services_of
from tests.web.advisers import ask, join_first_meeting, make_advisers, signed_in
from tests.web.conversation import FROM_CLIENT, FROM_NGO, FROM_POLICE, Talk, register_staff_key


async def _separately(db: Database, consultation_id: str, key_id: str) -> dict[str, Any]:
    consultation = await consultations.consultation_by_id(db, consultation_id)
    assert consultation is not None
    return {
        "consultation": consultation,
        "key": await keys.current_key(db, consultation.investigator_id),
        "meetings": list(await consultations.consultation_meetings(db, consultation_id)),
        "recipients": await messages.recipient_keys(db, consultation_id),
        "readable": list(await messages.readable_by(db, consultation_id, key_id)),
        "parts": list(await adviser_requests.consultation_meetings(db, consultation_id)),
    }


def test_one_statement_reads_what_the_separate_queries_read(
    client: TestClient, clock: FakeClock, talk: Talk
) -> None:
    advisers = make_advisers(client)
    page = f"/investigator/consultations/{talk.consultation}"
    assert ask(talk.case.investigator.actor, page, advisers.assistance.id).status_code == 303
    join_first_meeting(signed_in(client, clock, advisers.adviser))
    register_staff_key(client, clock, advisers.adviser.id)  # a participant with a key
    for role, text in [
        ("investigator", FROM_POLICE),
        ("ngo_worker", FROM_NGO),
        ("client", FROM_CLIENT),
        ("investigator", FROM_POLICE + " again"),
        ("ngo_worker", FROM_NGO + " again"),
    ]:
        assert talk.write(role, text)[1].status_code == 200
        clock.advance(60)

    db = services_of(client).db
    client_key_id = talk.keys["client"][0]
    expected = in_app(client, _separately, db, talk.consultation, client_key_id)
    rows = in_app(client, client_page_rows, db, talk.consultation, 3)
    assert rows is not None
    assert rows.consultation == expected["consultation"]
    assert rows.key == expected["key"] and rows.key is not None
    assert rows.meetings == expected["meetings"] and len(rows.meetings) == 1
    assert rows.recipients == expected["recipients"]
    assert {k.role for k in rows.recipients} == {"investigator", "ngo_worker", "adviser", "client"}
    assert rows.message_count == 5
    assert rows.latest == expected["readable"][-3:]
    assert all(r.envelope is not None for r in rows.latest)  # each sealed to the client too
    assert rows.adviser_parts == expected["parts"] and len(rows.adviser_parts) == 1
    assert in_app(client, client_page_rows, db, "no-such-consultation", 3) is None


def test_a_conversation_without_messages_reads_empty_lists(client: TestClient, talk: Talk) -> None:
    rows = in_app(client, client_page_rows, services_of(client).db, talk.consultation, 3)
    assert rows is not None
    assert (rows.latest, rows.message_count, rows.adviser_parts) == ([], 0, [])


def test_the_json_object_names_are_the_columns_the_database_names(sqlite_template: Path) -> None:
    """SQLite's json_object needs each column's name spelled out; they are read off each
    SELECT's text, and must be the names the database itself gives the columns."""
    with closing(sqlite3.connect(sqlite_template)) as conn:
        for select in (
            consultations.MEETING_SELECT + "WHERE m.consultation_id = :c",
            messages.MESSAGE_SELECT + ", e.envelope" + messages.MESSAGE_FROM
            + " LEFT JOIN message_envelopes e ON e.message_id = m.id",
            adviser_requests.PART_SELECT,
            messages.RECIPIENTS_SELECT,
        ):  # fmt: skip
            cursor = conn.execute(select, {"c": "x"})
            assert _column_names(select) == [d[0] for d in cursor.description]
