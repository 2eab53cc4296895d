"""A week of slots and meetings laid out for a server-rendered grid (no JavaScript).

Times are placed on half-hour rows from ``FIRST_HOUR`` to ``LAST_HOUR`` in the portal's
time zone; the template turns row, span, day and lane into CSS classes (the CSP forbids
inline styles). Anything outside the visible hours is clamped to the edge.

Items at the same time (two investigators in a coordinator's week) go side by side:
each day has as many lanes as it needs at its busiest, each item takes the first lane
free for its rows, and widens to the right over lanes nobody else uses at its time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    lane: int = 1  # 1..lanes of its day
    lane_span: int = 1

    @property
    def end_row(self) -> int:
        return self.row + self.span


@dataclass
class Day:
    number: int  # 1..7, Monday first
    day: date
    lanes: int = 1
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Week:
    monday: date
    days: list[date]
    entries: list[Entry] = field(default_factory=list)

    @property
    def columns(self) -> list[Day]:
        """Each day with its entries in lanes (see the module's docstring)."""
        return [_in_lanes(Day(n, day), self.entries) for n, day in enumerate(self.days, 1)]

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


def _meets(a: Entry, b: Entry) -> bool:
    return a.row < b.end_row and b.row < a.end_row


def _in_lanes(column: Day, entries: list[Entry]) -> Day:
    placed: list[Entry] = []
    for entry in sorted((e for e in entries if e.day == column.number), key=lambda e: e.row):
        lane = 1
        while any(p.lane == lane and _meets(p, entry) for p in placed):
            lane += 1
        placed.append(replace(entry, lane=lane))
    column.lanes = max((e.lane for e in placed), default=1)
    for index, entry in enumerate(placed):
        last = entry.lane
        while last < column.lanes and not any(
            p.lane == last + 1 and _meets(p, entry) for p in placed
        ):
            last += 1
        placed[index] = replace(entry, lane_span=last - entry.lane + 1)
    column.entries = placed
    return column


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
