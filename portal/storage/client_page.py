"""What the client's meeting page reads, in one statement.

The consultation and its investigator's current key come as the row; its meetings, the
conversation's participants, the latest messages with the envelopes sealed to the
client's key, and the advisers' parts come as JSON arrays in columns of that row. On
PostgreSQL every statement is a round trip to the server (several tenths of a
millisecond, more under load), and this is the page clients open most: five statements
made it the slowest budgeted page (docs/benchmarks.md). Each list is the same SELECT its
own module runs (consultations, messages, adviser_requests), with blobs as hex, and is
put in order here rather than by the JSON aggregate, whose order neither database
promises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from portal.storage import adviser_requests, consultations, messages
from portal.storage.adviser_requests import AdviserMeeting
from portal.storage.consultations import Consultation, Meeting
from portal.storage.database import Database
from portal.storage.keys import KEY_COLUMNS, StaffKey, key_from_join
from portal.storage.messages import Readable, RecipientKey


@dataclass(frozen=True)
class ClientPageRows:
    consultation: Consultation
    key: StaffKey | None  # the investigator's current key: the client's note is sealed to it
    meetings: list[Meeting]  # soonest first
    recipients: list[RecipientKey]  # the conversation's participants' current keys
    latest: list[Readable]  # the latest messages, oldest first, with the client's envelopes
    message_count: int  # messages in the conversation, shown or not
    adviser_parts: list[AdviserMeeting]  # soonest first


def _column_names(select: str) -> list[str]:
    """The names of a SELECT's columns: each item's alias, or its column without the
    table (``m.id`` -> ``id``). Items are split at the commas outside parentheses."""
    items_text = select.split("SELECT", 1)[1].split("\nFROM", 1)[0].split(" FROM ", 1)[0]
    items, depth, current = [], 0, ""
    for char in items_text:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            items.append(current)
            current = ""
        else:
            current += char
    items.append(current)
    return [re.split(r"\s+AS\s+", item.strip())[-1].split(".")[-1] for item in items]


def _json_rows(dialect: str, select: str) -> str:
    """``select``'s rows as one JSON array of objects named by its columns."""
    if dialect == "postgresql":
        return f"(SELECT COALESCE(json_agg(x), '[]') FROM ({select}) x)"  # noqa: S608 - our SQL
    pairs = ", ".join(f"'{name}', x.{name}" for name in _column_names(select))
    return f"(SELECT json_group_array(json_object({pairs})) FROM ({select}) x)"  # noqa: S608


def _hex(dialect: str, column: str) -> str:
    """A blob as hex text (JSON holds no bytes); SQLite's hex(NULL) is ''."""
    return f"encode({column}, 'hex')" if dialect == "postgresql" else f"hex({column})"


@cache  # one text per database kind, built at the first view
def _statement(dialect: str) -> str:
    client_envelope = (
        " LEFT JOIN message_envelopes e ON e.message_id = m.id AND e.recipient_key_id ="
        " (SELECT client_key_id FROM consultations WHERE id = :c)"
    )
    lists = {
        "meetings": consultations.MEETING_SELECT + "WHERE m.consultation_id = :c",
        "recipients": (
            f"SELECT r.key_id, {_hex(dialect, 'r.public_key')} AS public_key, r.role,"  # noqa: S608
            " r.account_id, r.display_name, r.organisation_kind"
            f" FROM ({messages.RECIPIENTS_SELECT}) r"
        ),
        "latest": (
            messages.MESSAGE_SELECT
            + f", {_hex(dialect, 'e.envelope')} AS envelope"
            + messages.MESSAGE_FROM
            + client_envelope
            + " WHERE m.consultation_id = :c ORDER BY m.number DESC LIMIT :limit"
        ),
        "adviser_parts": adviser_requests.PART_SELECT + " WHERE am.consultation_id = :c",
    }
    return (
        f"{consultations.CONSULTATION_COLUMNS}, {KEY_COLUMNS},"  # noqa: S608 - our SQL, no input
        " (SELECT COUNT(*) FROM messages WHERE consultation_id = :c) AS message_count, "
        + ", ".join(f"{_json_rows(dialect, select)} AS {name}" for name, select in lists.items())
        + consultations.CONSULTATION_FROM
        + "LEFT JOIN investigator_keys k ON k.account_id = c.investigator_id"
        " AND k.retired_at IS NULL WHERE c.id = :c"
    )


def _rows(value: Any) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(value)
    return rows


async def client_page_rows(
    db: Database, consultation_id: str, latest: int
) -> ClientPageRows | None:
    """Everything the meeting page shows of consultation ``consultation_id`` (None: purged),
    with the latest ``latest`` messages."""
    row = await db.fetch_one(_statement(db.dialect), c=consultation_id, limit=latest)
    if row is None:
        return None
    recipients = [
        messages.recipient_from_row({**r, "public_key": bytes.fromhex(r["public_key"])})
        for r in _rows(row["recipients"])
    ]
    latest_rows = [
        Readable(
            messages.message_from_row(r), bytes.fromhex(r["envelope"]) if r["envelope"] else None
        )
        for r in _rows(row["latest"])
    ]
    latest_rows.sort(key=lambda r: r.message.number)
    return ClientPageRows(
        consultation=consultations.consultation_from_row(row),
        key=key_from_join(row),
        meetings=sorted(
            (consultations.meeting_from_row(r) for r in _rows(row["meetings"])),
            key=lambda m: (m.starts_at, m.id),
        ),
        recipients=sorted(recipients, key=messages.recipient_order),
        latest=latest_rows,
        message_count=row["message_count"],
        adviser_parts=sorted(
            (adviser_requests.part_from_row(r) for r in _rows(row["adviser_parts"])),
            key=lambda p: (p.starts_at, p.id),
        ),
    )
