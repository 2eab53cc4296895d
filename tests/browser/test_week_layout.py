"""The week calendar in a real browser: items at the same time stand side by side, no
two overlap and none is cut off (the coordinator's week, two investigators)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.conftest import PageWatch
from tests.browser.test_staff_login import sign_in

pytestmark = pytest.mark.browser

BOXES = """() => [...document.querySelectorAll('.week-entry')].map(e => {
  const r = e.getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom,
          cut: e.scrollHeight > e.clientHeight + 1 || e.scrollWidth > e.clientWidth + 1,
          day: [...document.querySelectorAll('.week-day')].indexOf(e.parentElement),
          text: e.innerText.replace(/\\s+/g, ' ').slice(0, 60)};
})"""


def overlapping(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (a["text"], b["text"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["left"] < b["right"] - 0.5
        and b["left"] < a["right"] - 0.5
        and a["top"] < b["bottom"] - 0.5
        and b["top"] < a["bottom"] - 0.5
    ]


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_concurrent_items_stand_side_by_side_uncut(
    watched: tuple[BrowserContext, PageWatch], width: int, height: int
) -> None:
    context, _watch = watched
    sign_in(context, "coordinator")
    page = context.pages[-1]
    page.set_viewport_size({"width": width, "height": height})
    # The demo's times start tomorrow in the portal's time zone (Helsinki), which may
    # already be a day ahead of this machine's clock: a whole week after that.
    today = datetime.now(ZoneInfo("Europe/Helsinki")).date()
    next_monday = today + timedelta(days=7 - today.weekday())
    page.goto(f"/coordinator/week?start={next_monday.isoformat()}")
    expect(page.locator(".week-entry").first).to_be_visible()
    boxes = page.evaluate(BOXES)
    # The demo's two investigators: 2 times a day each, on five weekdays.
    assert len(boxes) >= 18
    assert overlapping(boxes) == []
    assert [b["text"] for b in boxes if b["cut"]] == []
    if width > 900:  # the grid: some items share their start row, side by side
        side_by_side = [
            (a, b)
            for i, a in enumerate(boxes)
            for b in boxes[i + 1 :]
            if abs(a["top"] - b["top"]) < 1
            and a["left"] != b["left"]
            and abs(a["left"] - b["left"]) < 200
        ]
        assert side_by_side
