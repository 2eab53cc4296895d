"""A week of slots and meetings laid out for a server-rendered grid (no JavaScript).

Times are placed on half-hour rows from ``FIRST_HOUR`` to ``LAST_HOUR`` in the portal's
time zone; the template turns row, span and day into CSS classes (the CSP forbids
inline styles). Anything outside the visible hours is clamped to the edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from portal.storage.consultations import Meeting
from portal.storage.slots import Slot

FIRST_HOUR, LAST_HOUR = 7, 20
ROWS = (LAST_HOUR - FIRST_HOUR) * 2


@dataclass(frozen=True)
class Entry:
    """One block in the grid: a free slot, or a meeting (which has taken its slot)."""

    day: int  # 1..7, Monday first
    row: int  # 1..ROWS, half-hour rows
    span: int  # half hours
    starts_at: int
    meeting: Meeting | None
    slot: Slot | None


@dataclass
class Week:
    monday: date
    days: list[date]
    entries: list[Entry] = field(default_factory=list)

    @property
    def previous(self) -> date:
        return self.monday - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.monday + timedelta(days=7)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def week_bounds(monday: date, zone: ZoneInfo) -> tuple[int, int]:
    start = datetime.combine(monday, time(0), zone)
    end = datetime.combine(monday + timedelta(days=7), time(0), zone)
    return int(start.timestamp()), int(end.timestamp())


def _place(moment: int, minutes: int, monday: date, zone: ZoneInfo) -> tuple[int, int, int]:
    local = datetime.fromtimestamp(moment, zone)
    day = (local.date() - monday).days + 1
    offset = (local.hour - FIRST_HOUR) * 2 + (1 if local.minute >= 30 else 0)
    row = min(max(offset, 0), ROWS - 1) + 1
    span = max(1, min(minutes // 30, ROWS - row + 1))
    return day, row, span


def lay_out(monday: date, zone: ZoneInfo, slots: list[Slot], meetings: list[Meeting]) -> Week:
    week = Week(monday, [monday + timedelta(days=i) for i in range(7)])
    booked = {m.slot_id for m in meetings if m.status != "cancelled"}
    for meeting in meetings:
        if meeting.status == "cancelled":
            continue
        day, row, span = _place(meeting.starts_at, meeting.duration_minutes, monday, zone)
        week.entries.append(Entry(day, row, span, meeting.starts_at, meeting, None))
    for slot in slots:
        if slot.id in booked or slot.status != "free":
            continue
        day, row, span = _place(slot.starts_at, slot.duration_minutes, monday, zone)
        week.entries.append(Entry(day, row, span, slot.starts_at, None, slot))
    week.entries.sort(key=lambda e: e.starts_at)
    return week
