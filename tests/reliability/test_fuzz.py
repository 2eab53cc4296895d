"""A Hypothesis fuzz of every route and form of the app, in-process.

Every route of ``app.routes`` is tried with its own methods and with wrong ones, by an
actor of a role it allows (with that actor's valid CSRF token, most of the time) and by
others, with random, missing, repeated, oversized and oddly encoded fields and query
strings. Whatever arrives, the portal must answer below 500, never with a traceback, and
never hand back a script payload unescaped.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

import portal
from portal.domain.notes import SECTIONS
from portal.domain.roles import CLIENT, PUBLIC
from tests.factories import (
    NEEDS,
    Actor,
    FakeClock,
    World,
    book,
    in_app,
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


FIELD_NAMES = _field_names()
QUERY_NAMES = ["page", "ended", "left", "done", "noted", "changed", "extended", "q", "kind"]
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
    anonymous = Actor(client)
    actors = {
        PUBLIC: anonymous,
        CLIENT: person,
        "ngo_worker": ngo,
        "investigator": investigator.actor,
        "coordinator": coordinator,
    }
    token_pages = {
        PUBLIC: "/login",
        CLIENT: "/meeting",
        "ngo_worker": "/ngo/book",
        "investigator": "/investigator/slots",
        "coordinator": "/coordinator/places",
    }
    tokens = {role: actors[role].csrf_from(page) for role, page in token_pages.items()}
    meetings = in_app(
        client,
        svc.db.fetch_all,
        "SELECT id FROM meetings WHERE consultation_id = :c",
        c=consultation,
    )
    ids = [consultation, slot, free_slot, place, bystander.id, *(m["id"] for m in meetings)]
    return Scene(actors, tokens, ids)


def _routes(app: Starlette) -> list[tuple[str, frozenset[str], frozenset[str]]]:
    found = []
    for r in app.routes:
        if isinstance(r, Route):
            roles = frozenset(getattr(r, "roles", ()))
            found.append((r.path, frozenset(r.methods or ()), roles))
        elif isinstance(r, Mount):
            found.append((r.path + "/{path}", frozenset({"GET", "HEAD"}), frozenset({PUBLIC})))
    return found


def _texts(sizes: tuple[int, ...] = (100, 10_000, 70_000, 300_000)) -> st.SearchStrategy[str]:
    # Mostly short values (so that the handlers see them), sometimes long or oversized.
    return st.one_of(
        st.text(max_size=40),
        st.text(max_size=40),
        st.sampled_from(ODD_TEXT),
        st.sampled_from(ODD_TEXT),
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
