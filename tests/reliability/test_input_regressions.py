"""Inputs that ended in a 500 (issue 13), each now a 4xx or the form again with a message.

Found by an attacker and by the fuzz (test_fuzz.py): digits that ``str.isdigit()``
accepts and ``int()`` refuses (``²``, ``①``), more digits than ``int()`` reads (4300),
dates at the ends of the calendar on the week and day views, and a long username in
the enrolment QR code. Each case is one request with the literal input; the answer must
be the status written here and say the sentence written here, and a form gives back
what was typed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from starlette.testclient import TestClient

from tests.factories import (
    CANARIES,
    PASSWORD,
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_place,
    make_slot,
    services_of,
    slip_code,
)

DAY = 86_400
NO_PAGE = "This page does not exist."
OUT_OF_RANGE = "Enter a date between 2000 and 2099."
WRONG_CODE = "This code does not work."
NO_DIGITS = "Enter the numbers of your code first."  # nothing typed counts as a digit
LOGIN_FAILED = "The username, password or code is wrong."
NOT_AN_OPTION = "Choose one of the options."
THOUSANDS = "9" * 5000
# The fake clock starts on 2027-01-15; these lie ahead of it.
LATER = "2027-02-01T10:00"


@dataclass
class Stage:
    """What a case needs, made when first asked for: signed-in actors by role, and ids
    for ``{slot}``, ``{booked}``, ``{consultation}``, ``{meeting}``, ``{enrol}``."""

    client: TestClient
    clock: FakeClock
    world: World
    actors: dict[str, Actor] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)

    def actor(self, role: str) -> Actor:
        if role not in self.actors:
            actor = Actor(self.client)
            if role != "public":
                actor.log_in(getattr(self.world, role), self.clock)
            self.actors[role] = actor
        return self.actors[role]

    def _booking(self) -> None:
        svc = services_of(self.client)
        place = in_app(self.client, make_place, svc)
        self.ids["booked"] = in_app(self.client, make_slot, svc, self.world.investigator, place)
        self.ids["slot"] = in_app(
            self.client, make_slot, svc, self.world.investigator, place, hours_ahead=72
        )
        self.ids["place"] = place
        slip_code(book(self.actor("ngo_worker"), self.ids["booked"]))
        found = re.search(
            r'href="/ngo/consultations/([^"]+)"', self.actor("ngo_worker").get("/ngo").text
        )
        assert found
        self.ids["consultation"] = found.group(1)
        self.ids["meeting"] = in_app(
            self.client,
            svc.db.fetch_value,
            "SELECT id FROM meetings WHERE consultation_id = :c",
            c=found.group(1),
        )

    def _enrolment(self) -> None:
        page = self.actor("coordinator").submit(
            "/coordinator/people",
            "/coordinator/invitations",
            display_name="Nina Newcomer",
            organisation_id=self.world.police.id,
            role="investigator",
        )
        found = re.search(r"https://portal\.test/enrol/([^<\s]+)", page.text)
        assert found
        CANARIES.add(found.group(1))
        self.ids["enrol"] = found.group(1)

    def fill(self, text: str) -> str:
        for name in re.findall(r"\{([a-z]+)\}", text):
            if name not in self.ids:
                self._enrolment() if name == "enrol" else self._booking()
        return text.format(**self.ids)


@pytest.fixture
def stage(client: TestClient, clock: FakeClock, world: World) -> Stage:
    return Stage(client, clock, world)


def _slot(**changed: str) -> dict[str, str]:
    return {
        "place_id": "{place}",
        "starts_at": LATER,
        "duration_minutes": "60",
        "languages": "fi",
        **changed,
    }


def case(
    name: str,
    role: str,
    method: str,
    url: str,
    status: int,
    says: str,
    fields: dict[str, str] | None = None,
    typed: str = "",
) -> object:
    """One request; the answer's status, a sentence it says, and what it gives back."""
    return pytest.param(role, method, url, fields or {}, status, says, typed, id=name)


INV, COORD, NGO = "investigator", "coordinator", "ngo_worker"
CASES = [
    # The public code page: "²".isdigit() is true, int("²") raised.
    case("code-²", "public", "POST", "/code", 400, NO_DIGITS, {"code": "²"}, "²"),
    case("code-①", "public", "POST", "/code", 400, NO_DIGITS, {"code": "①②③④⑤⑥⑦⑧⑨⑩⑪⑫"}, "①②"),
    case("code-11²", "public", "POST", "/code", 400, WRONG_CODE, {"code": "1234 5678 901²"}, "1²"),
    # Page numbers of every list: No digits and 5000 digits; page 1 is shown.
    case("ngo-page-²", NGO, "GET", "/ngo?page=²", 200, "Bookings"),
    case("ngo-page-5000", NGO, "GET", f"/ngo?page={THOUSANDS}", 200, "Bookings"),
    case("dashboard-page-①", INV, "GET", "/investigator?page=①", 200, "Upcoming meetings"),
    case(
        "past-page-5000", INV, "GET", f"/investigator/past?page={THOUSANDS}", 200, "Past meetings"
    ),
    case("slots-page-³", INV, "GET", "/investigator/slots?page=³", 200, "Your available times"),
    case("slot-page-²", INV, "GET", "/investigator/slots/{slot}?page=²", 200, "Change a time"),
    case(
        "schedule-page-5000",
        COORD,
        "GET",
        f"/coordinator/schedule?page={THOUSANDS}",
        200,
        "Schedule",
    ),
    case("retention-page-²", COORD, "GET", "/coordinator/retention?page=²", 200, "purge"),
    case("audit-page-①", COORD, "GET", "/coordinator/audit?page=①", 200, "Audit log"),
    case(
        "audit-csv-page-5000",
        COORD,
        "GET",
        f"/coordinator/audit.csv?from=2027-13-01&page={THOUSANDS}",
        400,
        "Enter a date.",
        typed="2027-13-01",
    ),
    case("book-slots-page-²", NGO, "POST", "/ngo/book", 200, "Book a meeting", {"slots_page": "²"}),
    case(
        "rebook-slots-page-5000",
        NGO,
        "POST",
        "/ngo/consultations/{consultation}/rebook",
        200,
        "Book another time for",
        {"slots_page": THOUSANDS},
    ),
    case(
        "reassign-page-²",
        COORD,
        "POST",
        "/coordinator/meetings/{meeting}/reassign?page=²",
        400,
        "Choose an active investigator",
        {"investigator_id": "nobody"},
    ),
    case(
        "withdraw-page-²",
        INV,
        "POST",
        "/investigator/slots/{booked}/withdraw?page=²",
        409,
        "This time is booked or withdrawn",
    ),
    # Calendar views at the ends of the calendar: no such page.
    case("week-9999", INV, "GET", "/investigator/week?start=9999-12-31", 404, NO_PAGE),
    case("week-0001", INV, "GET", "/investigator/week?start=0001-01-01", 404, NO_PAGE),
    case("unit-week-9999", COORD, "GET", "/coordinator/week?start=9999-12-30", 404, NO_PAGE),
    case("unit-week-0001", COORD, "GET", "/coordinator/week?start=0001-01-02", 404, NO_PAGE),
    case("day-9999", INV, "GET", "/investigator/day?date=9999-12-31", 404, NO_PAGE),
    case("day-0001", INV, "GET", "/investigator/day?date=0001-01-01", 404, NO_PAGE),
    # Slot forms: the duration and the start, on create and on edit.
    case(
        "slot-duration-²",
        INV,
        "POST",
        "/investigator/slots",
        400,
        NOT_AN_OPTION,
        _slot(duration_minutes="²"),
        LATER,
    ),
    case(
        "slot-duration-5000",
        INV,
        "POST",
        "/investigator/slots",
        400,
        NOT_AN_OPTION,
        _slot(duration_minutes=THOUSANDS),
        LATER,
    ),
    case(
        "slot-edit-duration-①",
        INV,
        "POST",
        "/investigator/slots/{slot}",
        400,
        NOT_AN_OPTION,
        _slot(duration_minutes="①"),
        LATER,
    ),
    case(
        "slot-start-9999",
        INV,
        "POST",
        "/investigator/slots",
        400,
        OUT_OF_RANGE,
        _slot(starts_at="9999-12-31T23:59"),
        "9999-12-31T23:59",
    ),
    case(
        "slot-edit-start-0001",
        INV,
        "POST",
        "/investigator/slots/{slot}",
        400,
        OUT_OF_RANGE,
        _slot(starts_at="0001-01-01T00:00"),
        "0001-01-01T00:00",
    ),
    # Dates of the after-meeting forms and of the audit filter.
    case(
        "reflection-9999",
        INV,
        "POST",
        "/investigator/consultations/{consultation}/reflection",
        400,
        OUT_OF_RANGE,
        {"reflection_status": "granted", "reflection_ends_on": "9999-12-31"},
        "9999-12-31",
    ),
    case(
        "report-9999",
        INV,
        "POST",
        "/investigator/consultations/{consultation}/report",
        400,
        OUT_OF_RANGE,
        {"case_reference": "ABC/2027/1", "first_interview_at": "9999-12-31T10:00"},
        "9999-12-31T10:00",
    ),
    case(
        "audit-0001-9999",
        COORD,
        "GET",
        "/coordinator/audit?from=0001-01-01&to=9999-12-31",
        400,
        OUT_OF_RANGE,
        typed="0001-01-01",
    ),
    # Enrolment: a long username went into the QR code, which overflowed.
    case(
        "enrol-username-3000",
        "public",
        "POST",
        "/enrol/{enrol}",
        400,
        "The two passwords are not the same.",
        {"username": "x" * 3000, "password": PASSWORD, "confirm_password": "other"},
        "x" * 3000,
    ),
]


@pytest.mark.parametrize(("role", "method", "url", "fields", "status", "says", "typed"), CASES)
def test_input_that_once_ended_in_a_500(
    stage: Stage,
    role: str,
    method: str,
    url: str,
    fields: dict[str, str],
    status: int,
    says: str,
    typed: str,
) -> None:
    actor = stage.actor(role)
    url = stage.fill(url)
    if method == "GET":
        response = actor.get(url)
    else:
        form = {name: stage.fill(value) for name, value in fields.items()}
        token_page = "/login" if role == "public" else "/staff"
        response = actor.request(
            "POST", url, data={"csrf_token": actor.csrf_from(token_page), **form}
        )
    assert response.status_code == status, response.text[:2000]
    assert says in response.text
    assert typed in response.text


def test_retention_date_at_the_end_of_the_calendar(stage: Stage) -> None:
    """The extension form of a consultation due for purge gives back the date typed."""
    consultation = stage.fill("{consultation}")
    stage.clock.advance(170 * DAY)  # within 30 days of its purge
    stage.actors.clear()
    for until in ("9999-12-31", "0001-01-01"):
        response = stage.actor("coordinator").submit(
            "/coordinator/retention",
            f"/coordinator/retention/{consultation}/extend",
            until=until,
            reason="client_asked_for_time",
        )
        assert response.status_code == 400
        assert OUT_OF_RANGE in response.text
        assert f'value="{until}"' in response.text


@pytest.mark.parametrize("typed", ["²²²²²²", "١٢٣٤٥٦", "①②③④⑤⑥"])
def test_sign_in_with_a_right_password_and_digits_of_another_kind(stage: Stage, typed: str) -> None:
    """Only with the right password does the code get compared: hmac.compare_digest
    raised TypeError on a non-ASCII string."""
    response = stage.actor("public").submit(
        "/login", username="coord", password=PASSWORD, totp_code=typed
    )
    assert response.status_code == 400
    assert LOGIN_FAILED in response.text


def test_enrolment_with_a_secret_that_is_no_base32(stage: Stage) -> None:
    """The pending secret comes back from a hidden field, signed by the server: one that
    is no base32 (or anything else a person may send) gets a fresh key, not a crash."""
    path = stage.fill("/enrol/{enrol}")
    secret = "é" * 32
    response = stage.actor("public").submit(
        path,
        username="nina",
        password="canary-Enrol-Pass-4242",
        confirm_password="canary-Enrol-Pass-4242",
        totp_pending=secret,
        totp_code="123456",
    )
    assert response.status_code == 400
    assert "The key for the authenticator app had expired or was changed" in response.text
    assert 'value="nina"' in response.text


@pytest.mark.parametrize("digits", ["٠١٢٣٤٥٦٧٨٩", "๐๑๒๓๔๕๖๗๘๙"])
def test_a_slip_code_in_arabic_indic_or_thai_digits_still_opens_the_meeting(
    stage: Stage, digits: str
) -> None:
    """Decimal digits of any script still count (category Nd); only the others (No,
    such as "²") are dropped."""
    code = slip_code(book(stage.actor("ngo_worker"), stage.fill("{slot}")))
    typed = code.translate(str.maketrans("0123456789", digits))
    response = stage.actor("public").submit("/code", code=typed)
    assert response.status_code == 200
    assert 'class="client-code"' in response.text
