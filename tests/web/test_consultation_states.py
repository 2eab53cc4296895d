"""Every change of a consultation's state, allowed and refused, through the pages.

The expected table is written out here (not imported): a decision to report only after
"wants to report", and a case never changes back.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from starlette.testclient import TestClient

from tests.factories import FakeClock, in_app, services_of
from tests.web.sealed import Case

STATES = ("open", "wants_to_report", "needs_time", "declined", "case")
TARGETS = ("wants_to_report", "needs_time", "declined", "case")
ALLOWED = {
    ("open", "wants_to_report"),
    ("open", "needs_time"),
    ("open", "declined"),
    ("wants_to_report", "wants_to_report"),
    ("wants_to_report", "needs_time"),
    ("wants_to_report", "declined"),
    ("wants_to_report", "case"),
    ("needs_time", "wants_to_report"),
    ("needs_time", "needs_time"),
    ("needs_time", "declined"),
    ("declined", "wants_to_report"),
    ("declined", "needs_time"),
    ("declined", "declined"),
}


def _put_in(client: TestClient, clock: FakeClock, consultation: str, state: str) -> None:
    outcome = {"open": None, "case": "wants_to_report"}.get(state, state)
    in_app(
        client,
        services_of(client).db.execute,
        "UPDATE consultations SET outcome = :o, reported_at = :r, case_reference = :ref,"
        " first_interview_at = :at, first_interview_investigator_id = :who WHERE id = :id",
        o=outcome,
        r=clock.now() if state == "case" else None,
        ref="HEL/2026/1" if state == "case" else None,
        at=clock.now() + 7 * 86400 if state == "case" else None,
        who=None,
        id=consultation,
    )


def _stored(client: TestClient, consultation: str) -> tuple[str | None, bool]:
    row = in_app(
        client,
        services_of(client).db.fetch_one,
        "SELECT outcome, reported_at FROM consultations WHERE id = :id",
        id=consultation,
    )
    return row["outcome"], row["reported_at"] is not None


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("state", STATES)
def test_each_change_is_allowed_or_refused_as_the_table_says(
    client: TestClient, clock: FakeClock, case: Case, state: str, target: str
) -> None:
    _put_in(client, clock, case.consultation, state)
    before = _stored(client, case.consultation)
    page = f"/investigator/consultations/{case.consultation}"
    actor = case.investigator.actor
    if target == "case":
        later = datetime.fromtimestamp(clock.now(), ZoneInfo("Europe/Helsinki")) + timedelta(days=7)
        response = actor.submit(
            page,
            page + "/report",
            case_reference="HEL/2026/4321",
            first_interview_at=later.strftime("%Y-%m-%dT10:00"),
        )
    else:
        response = actor.submit(page, page + "/outcome", outcome=target)
    if (state, target) in ALLOWED:
        assert response.status_code == 303, response.text
        expected = ("wants_to_report", True) if target == "case" else (target, False)
        assert _stored(client, case.consultation) == expected
    else:
        assert response.status_code == 400
        assert _stored(client, case.consultation) == before  # nothing changed
        reason = (
            "is a case now" if state == "case" else "only after the outcome says the client wants"
        )
        assert reason in response.text


def test_an_outcome_changed_in_another_tab_is_not_overwritten(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    """The page saw "needs time"; meanwhile the case was reported elsewhere."""
    page = f"/investigator/consultations/{case.consultation}"
    actor = case.investigator.actor
    token = actor.csrf_from(page)
    _put_in(client, clock, case.consultation, "case")
    response = actor.request(
        "POST", page + "/outcome", data={"csrf_token": token, "outcome": "declined"}
    )
    assert response.status_code == 400
    assert _stored(client, case.consultation) == ("wants_to_report", True)
