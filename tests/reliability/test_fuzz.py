"""A Hypothesis fuzz of every route and form of the app, in-process.

Every route of ``app.routes`` is tried with its own methods and with wrong ones, by an
actor of a role it allows (with that actor's valid CSRF token, most of the time) and by
others, with random, missing, repeated, oversized and oddly encoded fields and query
strings. Whatever arrives, the portal must answer below 500, never with a traceback, and
never hand back a script payload unescaped.

The values include what once ended in a 500 (issue 13): digits that ``str.isdigit()``
accepts and ``int()`` refuses (Unicode category No: ``²``, ``①``), integers longer than
``int()`` reads (4300 digits), dates at the ends of the calendar (``0001-01-01``,
``9999-12-31``), lone ``%`` and ``+`` in an URL-encoded body or query, repeated fields.
``test_fuzz_every_field_and_parameter_of_every_route`` gives every field and query
parameter of every route such values, next to plausible ones for the rest (a wrong
value elsewhere would stop the handler before it reads the one that matters).
"""

from __future__ import annotations

import inspect
import re
import secrets
import string
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

import portal
from portal.domain.notes import SECTIONS
from portal.domain.roles import CLIENT, PUBLIC
from portal.settings import Settings
from tests.conftest import make_settings
from tests.factories import (
    CANARIES,
    NEEDS,
    PASSWORD,
    Actor,
    FakeClock,
    World,
    book,
    in_app,
    make_organisation,
    make_person,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)
from tests.web.sealed import create_key

PAYLOAD = "<script>alert(1)</script>"
# Both fuzz tests together stay well under a minute on a 2-core machine.
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Every route and method, 30 requests each: some 30 seconds on 2 cores. No
# shrinking: a failing route is reported with the request as drawn, at once (shrinking
# dozens of fields took minutes per route).
EVERY_FIELD = settings(FUZZ, max_examples=30, phases=[Phase.explicit, Phase.reuse, Phase.generate])
# Ending the actor's own session would leave the rest of the run anonymous.
SESSION_ENDING = {"/logout", "/leave"}


def _field_names() -> list[str]:
    """Every field a handler reads or a template offers, found in the source."""
    root = Path(portal.__file__).parent
    names = {*NEEDS, *SECTIONS}
    for source in root.rglob("*.py"):
        names |= set(re.findall(r'(?:field|getlist)\("([a-z_]+)"\)', source.read_text()))
    for template in (root.parent / "templates").rglob("*.html"):
        names |= set(re.findall(r'name="([a-z_]+)"', template.read_text()))
    return sorted(names - {"csrf_token"})


def _query_names() -> list[str]:
    """Every query parameter a handler reads: the names quoted on a line of the web
    layer that reads the query string (``query_params``, ``params``, ``query_day``)."""
    root = Path(portal.__file__).parent / "web"
    names = {"page", "q", "kind", "from", "to"}  # the last two: read in a loop (audit filter)
    for source in root.rglob("*.py"):
        for line in source.read_text().splitlines():
            if "params" in line or "query" in line:
                names |= set(re.findall(r'"([a-z_]+)"', line))
    return sorted(names - {"id", "token", "path"})  # path parameters, not query


FIELD_NAMES = _field_names()
QUERY_NAMES = _query_names()
# Characters for which str.isdigit() is true: decimal digits of several scripts
# (category Nd: ASCII, Arabic-Indic, Lao, Devanagari, fullwidth, mathematical), and
# digits that are no decimal digits (category No: superscripts, circled, Tai Lue),
# which int() refuses; with numerals that are not digits at all (Nl, fractions).
DIGITS_ND = "0123456789\u0663\u0669\u0ed3\u096b\uff13\U0001d7d7"
DIGITS_NO = "\u00b2\u00b3\u00b9\u2070\u2460\u2473\u2776\u19da\u24ea"
NUMERALS_OTHER = "\u216b\u00bd\u0f33"
NUMBERS = [
    "-1",
    "0",
    "-0",
    "+0",
    "00",
    "+1",
    " 7 ",
    "1_000",
    "0x10",
    "1e3",
    str(2**31),
    str(2**63),
    str(2**64),
    str(-(2**63) - 1),
    "9" * 25,
    "-" + "9" * 25,
]
DATES = [
    "0001-01-01",
    "9999-12-31",
    "10000-01-01",
    "2026-02-30",
    "0001-01-02",
    "9999-12-30",
    "0000-00-00",
    "1969-12-31",
]
ODD_DATES = ["1970-01-01", "2038-01-19", "2026-13-01", "99999-01-01", "-2026-01-01", "20261201"]
TIMES = ["T00:00", "T23:59", " 10:00", "T24:00", "T23:59:59.999999+14:00", "T00:00-12:00"]
ENCODED = ["%", "%zz", "%00", "%%", "%2", "+", "++", "%2B", "a%", "%C3", "%FF%FE", "%u0041", "%0"]
ODD_TEXT = [
    PAYLOAD,
    '"><script>alert(1)</script>',
    "' onmouseover='alert(1)",
    "javascript:alert(1)",
    "{{ 7*7 }}",
    "%(x)s {0} %s",
    "\x00",
    "\u202e\u200b\ufeff",
    "é" * 3,
    "👩‍👩‍👧" * 10,
    "-1",
    "0",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "2026-02-30",
    "2026-12-01T09:00",
    "../../etc/passwd",
    "//evil.example/",
    "yes",
    "no",
    "book",
    "confirm",
    "cancel",
    "change",
    "12345678",
    "1234 5678 9012",
]


@dataclass
class Scene:
    actors: dict[str, Actor]  # role -> a logged-in actor; "anonymous" has no session
    tokens: dict[str, str]
    ids: list[str]
    enrolment: str = ""  # the token of an open enrolment link
    # Field or query parameter -> values a handler accepts (or nearly), so that a wrong
    # value in one place still reaches the code that reads it.
    plausible: dict[str, list[str]] = field(default_factory=dict)
    # The word before a path parameter ("slots" in /investigator/slots/{id}) -> the ids
    # of that kind, so that most requests reach the handler rather than a 404.
    by_kind: dict[str, list[str]] = field(default_factory=dict)


def _build_scene(client: TestClient, clock: FakeClock, world: World) -> Scene:
    svc = services_of(client)
    investigator = create_key(client, clock, world.investigator)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    free_slot = in_app(client, make_slot, svc, world.investigator, place, hours_ahead=72)
    ngo = Actor(client)
    ngo.log_in(world.ngo_worker, clock)
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    found = re.search(r'href="/ngo/consultations/([^"]+)"', ngo.get("/ngo").text)
    assert found
    consultation = found.group(1)
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    # An account a coordinator may disable without ending anyone's session in the run.
    bystander = in_app(client, make_person, svc, world.ngo, "ngo_worker", "bystander")
    # An adviser of the assistance system, asked to talk with the client and taking part.
    assistance = in_app(client, make_organisation, svc, "Assistance", "assistance")
    adviser_person = in_app(client, make_person, svc, assistance, "adviser", "adviser")
    asked = investigator.actor.submit(
        f"/investigator/consultations/{consultation}",
        f"/investigator/consultations/{consultation}/advisers",
        adviser_organisation_id=assistance.id,
    )
    assert asked.status_code == 303, asked.text
    adviser = Actor(client)
    adviser.log_in(adviser_person, clock)
    anonymous = Actor(client)
    actors = {
        PUBLIC: anonymous,
        CLIENT: person,
        "ngo_worker": ngo,
        "investigator": investigator.actor,
        "coordinator": coordinator,
        "adviser": adviser,
    }
    token_pages = {
        PUBLIC: "/login",
        CLIENT: "/meeting",
        "ngo_worker": "/ngo/book",
        "investigator": "/investigator/slots",
        "coordinator": "/coordinator/places",
        "adviser": "/adviser",
    }
    tokens = {role: actors[role].csrf_from(page) for role, page in token_pages.items()}
    meetings = in_app(
        client,
        svc.db.fetch_all,
        "SELECT id FROM meetings WHERE consultation_id = :c",
        c=consultation,
    )
    ids = [consultation, slot, free_slot, place, bystander.id, *(m["id"] for m in meetings)]
    invited = coordinator.submit(
        "/coordinator/people",
        "/coordinator/invitations",
        display_name="Nina Newcomer",
        organisation_id=world.police.id,
        role="investigator",
    )
    link = re.search(r"https://portal\.test/enrol/([^<\s]+)", invited.text)
    assert link, "the coordinator is shown an enrolment link"
    CANARIES.add(link.group(1))
    invitation = in_app(client, svc.db.fetch_value, "SELECT id FROM invitations")
    request_id = in_app(client, svc.db.fetch_value, "SELECT id FROM adviser_requests")
    plausible = _plausible(clock, world, place, [free_slot, slot], investigator.key_id)
    by_kind = {
        "consultations": [consultation],
        "retention": [consultation],
        "slots": [free_slot, slot],
        "places": [place],
        "accounts": [bystander.id],
        "invitations": [invitation],
        "meetings": ids[5:],
        "meeting": ids[5:],
        "enrol": [link.group(1)],
        "requests": [request_id],
    }
    return Scene(actors, tokens, ids, link.group(1), plausible, by_kind)


def _plausible(
    clock: FakeClock, world: World, place: str, slots: list[str], key_id: str
) -> dict[str, list[str]]:
    def day(days: int) -> str:
        return (datetime.fromtimestamp(clock.now(), UTC) + timedelta(days=days)).date().isoformat()

    values = {name: ["", "x"] for name in [*FIELD_NAMES, *QUERY_NAMES]}
    values.update({name: [value] for name, value in NEEDS.items()})
    values.update({name: ["A few words for the sealed note."] for name in SECTIONS})
    values.update(
        {
            # Fields of forms
            "action": ["book", "search"],
            "answer": ["confirm", "cancel", "change"],
            "code": ["1234 5678 9012", "1234 5678 9012 3456 7890"],
            "username": [world.coordinator.username, world.investigator.username, "nina"],
            "password": [PASSWORD],
            "current_password": [PASSWORD],
            # Never the same as confirm_password: a changed password ends the sessions.
            "new_password": ["canary-New-Pass-5117"],
            "confirm_password": [PASSWORD],
            "totp_code": ["123456", "000000"],
            "totp_secret": ["JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"],
            "locale": ["fi", "ar", "en"],
            "next": ["/code", "/login"],
            "duration_minutes": ["60", "30"],
            "starts_at": [f"{day(3)}T10:00", f"{day(4)} 14:30"],
            "place_id": [place],
            "languages": ["fi", "en"],
            "interpreter_available": ["yes", "no"],
            "slot_id": slots,
            "slots_page": ["1", "2"],
            "slots_shown": ["1", "2"],
            "until": [day(40)],
            "reason": ["client_asked_for_time", "language", "time"],
            "reflection_status": ["granted", "needed"],
            "reflection_ends_on": [day(60)],
            "first_interview_at": [f"{day(5)}T09:00"],
            "case_reference": ["ABC/2026/17"],
            "interviewer_id": [world.investigator.id],
            "investigator_id": [world.investigator.id, world.other_investigator.id],
            "outcome": ["held", "no_show", "wants_to_report"],
            "explained": ["yes"],
            "consents": ["yes", "no"],
            "organisation_id": [world.ngo.id, world.police.id],
            "role": ["ngo_worker", "investigator"],
            "display_name": ["Nina Newcomer"],
            "gender": ["female", "unspecified"],
            "name": ["Room 5"],
            "kind": ["police_station", "ngo"],
            "text": ["The client agrees that the police may be told of the referral."],
            "key_id": [key_id],
            "target_key_id": [key_id],
            "resealed": ["{}"],
            # Query parameters
            "page": ["1", "2"],
            "start": [day(2)],
            "date": [day(2)],
            "from": [day(-7)],
            "to": [day(0)],
            "done": ["confirm", "meeting", "resealed"],
            "ended": ["1"],
            "left": ["1"],
            "noted": ["1"],
            "changed": ["1"],
            "extended": ["1"],
        }
    )
    return values


def _routes(app: Starlette) -> list[tuple[str, frozenset[str], frozenset[str]]]:
    found = []
    for r in app.routes:
        if isinstance(r, Route):
            roles = frozenset(getattr(r, "roles", ()))
            found.append((r.path, frozenset(r.methods or ()), roles))
        elif isinstance(r, Mount):
            found.append((r.path + "/{path}", frozenset({"GET", "HEAD"}), frozenset({PUBLIC})))
    return found


def _choice(*options: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """One of ``options``, each as likely. (``st.one_of`` flattens the branches of the
    branches: a strategy made of many would crowd out a simple one next to it.) The
    first comes first: Hypothesis's first example takes it, with its simplest value."""
    return st.sampled_from(options).flatmap(lambda option: option)


def _digits() -> st.SearchStrategy[str]:
    """Strings of digits of any script, as long as a page number, a TOTP code, a one-time
    code or a client code, sometimes grouped with spaces or dashes."""
    alphabet = st.sampled_from(DIGITS_ND + DIGITS_NO + NUMERALS_OTHER + " -")
    return _choice(
        st.sampled_from(DIGITS_NO + DIGITS_ND[10:] + NUMERALS_OTHER),
        st.sampled_from([6, 12, 20, 1, 2, 14, 24]).flatmap(
            lambda n: st.text(alphabet=alphabet, min_size=n, max_size=n)
        ),
        st.builds(
            lambda sign, digit, text: sign + text + digit,
            st.sampled_from(["", "-", "+"]),
            st.sampled_from(DIGITS_NO),
            st.text(alphabet=st.sampled_from("0123456789"), max_size=6),
        ),
    )


def _numbers(longest: int = 20_000) -> st.SearchStrategy[str]:
    """Zero, negative numbers, numbers past any SQL integer, and integers of thousands of
    digits (int() reads at most 4300)."""
    return _choice(
        st.builds(
            lambda sign, n, digit: sign + digit * n,
            st.sampled_from(["", "-", "+", "0"]),
            st.sampled_from([n for n in (4301, 4300, 5000, 20_000) if n <= longest]),
            st.sampled_from("91"),
        ),
        st.sampled_from(NUMBERS),
        st.integers().map(str),
    )


def _dates() -> st.SearchStrategy[str]:
    """Dates and times at the ends of the calendar and past them, and impossible ones."""
    boundary = st.sampled_from(DATES)
    return _choice(
        boundary,
        st.builds(lambda day, time: day + time, boundary, st.sampled_from(TIMES)),
        st.sampled_from(ODD_DATES),
        st.dates().map(lambda day: day.isoformat()),
        st.datetimes().map(lambda moment: moment.isoformat(timespec="minutes")),
    )


def _edge(longest: int = 20_000) -> st.SearchStrategy[str]:
    """Values that once broke handlers: Unicode digits, long and negative numbers,
    boundary dates, percent and plus sequences."""
    return _choice(
        _digits(),
        _numbers(longest),
        _dates(),
        st.sampled_from(ENCODED),
    )


def _texts(sizes: tuple[int, ...] = (100, 10_000, 70_000, 300_000)) -> st.SearchStrategy[str]:
    # Mostly short values (so that the handlers see them), sometimes long or oversized.
    return _choice(
        st.text(max_size=40),
        st.text(max_size=40),
        st.sampled_from(ODD_TEXT),
        st.sampled_from(ODD_TEXT),
        _edge(longest=5000),
        st.builds(
            lambda piece, n: piece * n,
            st.sampled_from(["x", "é", "<", "\u202e", PAYLOAD]),
            st.sampled_from(sizes),
        ),
    )


def _path_value(draw: Callable[..., Any], scene: Scene) -> str:
    choice: str = draw(
        st.one_of(
            st.sampled_from(scene.ids),
            st.sampled_from(scene.ids),
            st.sampled_from(["AAAAAAAAAAAAAAAAAAAAAA", "x", PAYLOAD, "%00", "..%2F", "ä" * 300]),
            st.text(alphabet=string.ascii_letters + string.digits + "-_.~%", max_size=60),
        )
    )
    return choice.replace("/", "%2F") or "x"


def _multipart(fields: list[tuple[str, str]], boundary: str) -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode("utf-8", "surrogatepass")


def _request(draw: Callable[..., Any], scene: Scene, routes: list[Any]) -> dict[str, Any]:
    path, methods, roles = draw(st.sampled_from(routes))
    allowed = sorted(methods - {"HEAD"}) or ["GET"]
    method = draw(
        st.one_of(
            st.sampled_from(allowed),
            st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]),
        )
    )
    own = sorted(roles & set(scene.actors)) or [PUBLIC]
    role = draw(st.one_of(st.sampled_from(own), st.sampled_from(sorted(scene.actors))))
    url = re.sub(r"\{[a-z]+\}", lambda _m: _path_value(draw, scene), path)
    query = draw(st.lists(st.tuples(st.sampled_from(QUERY_NAMES), _texts((100, 300))), max_size=3))
    fields: list[tuple[str, str]] = draw(
        st.lists(
            st.tuples(
                st.one_of(st.sampled_from(FIELD_NAMES), st.text(max_size=12)),
                st.one_of(_texts(), st.sampled_from(scene.ids)),
            ),
            max_size=12,
        )
    )
    if draw(st.booleans()):  # repeat a field
        fields += fields[:1]
    token_mode = draw(st.sampled_from(["field", "field", "header", "none", "wrong", "twice"]))
    if path in SESSION_ENDING and token_mode in {"field", "header", "twice"}:
        token_mode = "wrong"
    token = scene.tokens[role]
    headers: dict[str, str] = {}
    if token_mode == "field":
        fields.insert(draw(st.integers(0, len(fields))), ("csrf_token", token))
    elif token_mode == "header":
        headers = {"x-csrf-token": token, "hx-request": "true"}
    elif token_mode == "wrong":
        fields.append(("csrf_token", secrets.token_hex(32)))
    elif token_mode == "twice":
        fields += [("csrf_token", secrets.token_hex(32)), ("csrf_token", token)]
    if draw(st.booleans()):
        headers["accept-language"] = draw(st.sampled_from(["fi", "ar", "zz", "*", ";q=x", "\x7f"]))
    encoding = draw(st.sampled_from(["urlencoded", "urlencoded", "multipart", "raw", "none"]))
    kwargs: dict[str, Any] = {"params": query, "headers": headers}
    if encoding == "urlencoded":
        headers["content-type"] = "application/x-www-form-urlencoded"
        kwargs["content"] = urlencode(fields, errors="surrogatepass").encode()
    elif encoding == "multipart":
        boundary = draw(st.sampled_from(["b0undary", "x" * 70, "", "a b"]))
        headers["content-type"] = f"multipart/form-data; boundary={boundary}"
        kwargs["content"] = _multipart(fields, boundary)
    elif encoding == "raw":
        headers["content-type"] = draw(
            st.sampled_from(
                [
                    "application/x-www-form-urlencoded",
                    "application/x-www-form-urlencoded; charset=latin-1",
                    "multipart/form-data",
                    "application/json",
                    "text/plain",
                    "application/octet-stream",
                ]
            )
        )
        kwargs["content"] = draw(st.binary(max_size=2000))
    return {"role": role, "method": method, "url": url, **kwargs}


def _check(response: Any, request: dict[str, Any]) -> None:
    where = f"{request['method']} {request['url']} as {request['role']}"
    assert response.status_code < 500, f"{response.status_code} for {where}"
    text = response.text
    assert "Traceback" not in text, where
    assert PAYLOAD not in text, f"unescaped script payload in {where}"
    assert "<script>alert" not in text, f"unescaped script payload in {where}"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The code and login limits would answer 429 after a few requests, before the
    handlers read anything (tests/security covers the limits)."""
    return make_settings(
        database_url,
        code_attempts_per_source_per_minute=1_000_000,
        code_attempts_per_minute=1_000_000,
        login_attempts_per_source_per_minute=1_000_000,
        login_failures_per_account_and_sender_per_minute=999_999,
        login_failures_per_account_per_minute=1_000_000,
    )


@pytest.fixture
def scene(client: TestClient, clock: FakeClock, world: World) -> Scene:
    return _build_scene(client, clock, world)


def test_fuzz_every_route_and_form(app: Starlette, scene: Scene) -> None:
    routes = _routes(app)
    assert len(routes) > 50

    @FUZZ
    @given(st.data())
    def one_request(data: st.DataObject) -> None:
        request = _request(data.draw, scene, routes)
        actor = scene.actors[request["role"]]
        response = actor.request(
            request["method"],
            request["url"],
            **{k: v for k, v in request.items() if k not in {"role", "method", "url"}},
        )
        _check(response, request)

    one_request()


def test_fuzz_forms_with_valid_tokens_reflect_payloads_escaped(
    app: Starlette, scene: Scene
) -> None:
    """Only state-changing routes, each by an actor it allows, always with a valid token:
    the fields reach the handlers (and the form-error pages that echo what was typed)."""
    forms = [
        (path, methods, roles)
        for path, methods, roles in _routes(app)
        if "POST" in methods and path not in SESSION_ENDING
    ]
    assert len(forms) > 30

    @FUZZ
    @given(
        st.sampled_from(forms),
        st.lists(
            st.tuples(
                st.sampled_from(FIELD_NAMES),
                st.one_of(st.just(PAYLOAD), _texts(), st.sampled_from(scene.ids)),
            ),
            max_size=20,
        ),
        st.data(),
    )
    def one_form(form: Any, fields: list[tuple[str, str]], data: st.DataObject) -> None:
        path, _methods, roles = form
        role = data.draw(st.sampled_from(sorted(roles & set(scene.actors))))
        url = re.sub(r"\{[a-z]+\}", lambda _m: _path_value(data.draw, scene), path)
        request = {"role": role, "method": "POST", "url": url}
        response = scene.actors[role].request(
            "POST",
            url,
            content=urlencode(
                [("csrf_token", scene.tokens[role]), *fields], errors="surrogatepass"
            ),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        _check(response, request)

    one_form()


def _encoded(pairs: list[tuple[str, str]]) -> str:
    """An URL-encoded query or form; percent and plus sequences go in unencoded, as an
    attacker would type them, for the parser to decode."""
    return "&".join(
        f"{quote(name)}={value if value in ENCODED else quote(value, safe='')}"
        for name, value in pairs
    )


def _value(plausible: list[str], longest: int) -> st.SearchStrategy[str]:
    """A plausible value or an edge value, mostly one of the kind the plausible values
    are (a date for a date field, digits for a number or code), and that first: the
    first request Hypothesis makes gives every field the simplest edge value."""
    if any(re.match(r"\d{4}-\d\d-\d\d", value) for value in plausible):
        kind = _dates()
    elif any(value.replace(" ", "").isdigit() for value in plausible):
        kind = _choice(_digits(), _numbers(longest))
    else:
        kind = _choice(
            st.builds(
                lambda piece, n: piece * n,
                st.sampled_from(["x", "é", "👩‍👩‍👧", "<", PAYLOAD]),
                st.sampled_from([3000, 300]),
            ),
            st.sampled_from(ODD_TEXT),
            _edge(longest),
        )
    return _choice(kind, st.sampled_from(plausible), _edge(longest))


def _read_by(endpoint: Any, names: list[str]) -> list[str]:
    """The names a route's handler may read: those written as a string in its module or
    in a web or domain module it imports from (the domain reads the booking form's
    needs, say). Drawing only these keeps a request cheap; each adds two others too."""
    module = sys.modules[inspect.unwrap(endpoint).__module__]
    modules = {module}
    for value in vars(module).values():
        found = value if inspect.ismodule(value) else inspect.getmodule(value)
        if found is not None and found.__name__.startswith(("portal.web.", "portal.domain.")):
            modules.add(found)
    text = "\n".join(inspect.getsource(m) for m in modules)
    return [name for name in names if f'"{name}"' in text]


@dataclass(frozen=True)
class Target:
    path: str
    method: str
    roles: frozenset[str]
    query_names: list[str]
    field_names: list[str]


def _targets(app: Starlette) -> list[Target]:
    found = []
    for r in app.routes:
        if isinstance(r, Route) and r.path not in SESSION_ENDING:
            for method in sorted(set(r.methods or ()) - {"HEAD"}):
                found.append(
                    Target(
                        r.path,
                        method,
                        frozenset(getattr(r, "roles", ())),
                        _read_by(r.endpoint, QUERY_NAMES),
                        _read_by(r.endpoint, FIELD_NAMES) if method != "GET" else [],
                    )
                )
    return found


def _fuzz_route(
    scene: Scene, target: Target, strategies: dict[str, dict[str, st.SearchStrategy[str]]]
) -> None:
    own = sorted(target.roles & set(scene.actors)) or [PUBLIC]
    before = re.search(r"([a-z]+)/\{", target.path)
    ids = scene.by_kind.get(before.group(1), scene.ids) if before else scene.ids

    def values(draw: Callable[..., Any], names: list[str], kind: str) -> list[tuple[str, str]]:
        """Each name once, some left out, some repeated, and a few others."""
        every = QUERY_NAMES if kind == "query" else FIELD_NAMES
        chosen = names + draw(st.lists(st.sampled_from(every), max_size=2))
        if names:
            left_out = draw(st.sets(st.sampled_from(names), max_size=2))
            twice = draw(st.lists(st.sampled_from(names), max_size=2))
            chosen = [name for name in chosen if name not in left_out] + twice
        return [(name, draw(strategies[kind][name])) for name in chosen]

    @EVERY_FIELD
    @given(st.data())
    def one_request(data: st.DataObject) -> None:
        draw = data.draw
        role = draw(st.one_of(*[st.sampled_from(own)] * 3, st.sampled_from(sorted(scene.actors))))
        url = re.sub(
            r"\{[a-z]+\}",
            lambda _m: draw(st.one_of(*[st.sampled_from(ids)] * 3, st.sampled_from(scene.ids))),
            target.path,
        )
        query = _encoded(values(draw, target.query_names, "query"))
        if query:
            url += "?" + query[:60_000]  # an URL holds at most 64 KiB
        fields = [("csrf_token", scene.tokens[role])]
        if target.method != "GET":
            fields += values(draw, target.field_names, "field")
        response = scene.actors[role].request(
            target.method,
            url,
            content=_encoded(fields).encode() if target.method != "GET" else None,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        _check(response, {"role": role, "method": target.method, "url": url[:200]})

    one_request()


def test_fuzz_every_field_and_parameter_of_every_route(app: Starlette, scene: Scene) -> None:
    """Every route and method, as every role (mostly one it allows), always with a valid
    CSRF token; every field and query parameter its handler may read gets an edge value
    or a plausible one. The failures of all routes are reported together."""
    targets = _targets(app)
    assert len(targets) > 60
    assert {"page", "start", "date", "from", "to"} <= set(QUERY_NAMES)
    failures = []
    # Built once (that halves the time to draw). Query values are shorter.
    strategies = {
        "query": {name: _value(scene.plausible[name], 4301) for name in QUERY_NAMES},
        "field": {name: _value(scene.plausible[name], 5000) for name in FIELD_NAMES},
    }
    for target in targets:
        try:
            _fuzz_route(scene, target, strategies)
        except Exception as exc:  # every route's failure, reported together
            failures.append(f"{target.method} {target.path}: {type(exc).__name__}: {exc}"[:400])
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("where", ["path", "field", "query"])
def test_a_nul_anywhere_is_refused_not_a_crash(app: Starlette, scene: Scene, where: str) -> None:
    """Found by the fuzz on PostgreSQL, whose text cannot hold NUL: the driver raised and
    the visitor got a 500. Every route, by an actor it allows, with NUL in one place."""
    for path, methods, roles in _routes(app):
        for method in sorted(methods - {"HEAD"}):
            role = sorted(roles & set(scene.actors))[0] if roles & set(scene.actors) else PUBLIC
            url = re.sub(r"\{[a-z]+\}", "a%00b" if where == "path" else scene.ids[0], path)
            fields = [("csrf_token", scene.tokens[role])]
            if where == "field":
                fields += [(name, "x\x00") for name in FIELD_NAMES]
            query = [(name, "1\x00") for name in QUERY_NAMES] if where == "query" else []
            request = {"role": role, "method": method, "url": url}
            response = scene.actors[role].request(
                method,
                url,
                params=query,
                content=urlencode(fields) if method == "POST" else None,
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            _check(response, request)
            has_nul = {"path": "{" in path, "query": True, "field": method == "POST"}[where]
            if has_nul:
                assert response.status_code in {400, 404, 405}, (response.status_code, request)


def test_every_form_filled_with_script_payloads_echoes_them_escaped(
    app: Starlette, scene: Scene
) -> None:
    """Deterministic companion of the fuzz: every field of every form holds the payload.
    Forms give back what was typed (SECURITY.md), so some pages must show it, escaped."""
    escaped = 0
    for path, methods, roles in _routes(app):
        if "POST" not in methods or path in SESSION_ENDING:
            continue
        for role in sorted(roles & set(scene.actors)):
            url = path.replace("{id}", scene.ids[0]).replace("{token}", PAYLOAD)
            fields = [("csrf_token", scene.tokens[role])]
            fields += [(name, PAYLOAD) for name in FIELD_NAMES if name != "languages"]
            response = scene.actors[role].request(
                "POST",
                url,
                content=urlencode(fields),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            _check(response, {"role": role, "method": "POST", "url": url})
            escaped += "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert escaped >= 3, "no form gave back what was typed"
