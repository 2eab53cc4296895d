"""The portal's router answers exactly as Starlette's would, on the app's own routes.

PathRouter (portal/web/router.py) is a speed trick kept for a budget; these tests hold it
to the library: the same route chosen, the same 404, 405 and slash redirects, for every
route of create_app()'s table and every method, and for routes added after it was built.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterator
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.web.router import PathRouter
from tests.factories import on_own_loop

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS")
Answer = tuple[int, str, str | None, str | None]


def answer(name: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{name} {request.path_params}")

    return endpoint


def static_answer(name: str) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await PlainTextResponse(f"{name} {scope['path']}")(scope, receive, send)

    return app


def same_table(app: Starlette) -> list[BaseRoute]:
    """The app's route table in its order, each route matching as the app's does (same
    path pattern and methods) but answering with its position instead of running the
    page: what is compared is the choice of route, not the pages."""
    table: list[BaseRoute] = []
    for i, r in enumerate(app.routes):
        if isinstance(r, Route):
            copy: BaseRoute = Route(r.path, answer(f"route {i}"), methods=r.methods)
            assert (copy.path_regex.pattern, copy.methods) == (r.path_regex.pattern, r.methods)
        else:
            assert isinstance(r, Mount), f"{r!r}: a kind of route this test does not copy"
            copy = Mount(r.path, app=static_answer(f"mount {i}"))
            assert copy.path_regex.pattern == r.path_regex.pattern
        table.append(copy)
    return table


def paths_to_try(app: Starlette) -> Iterator[str]:
    """Every path of the table, its parameters filled with an id and with each fixed word
    of the table (``/investigator/slots/{id}`` as ``.../slots/withdraw`` too), with and
    without a trailing slash; and paths the table does not have."""
    words = {w for r in app.routes for w in r.path.split("/") if w and "{" not in w}
    seen: set[str] = set()
    for r in app.routes:
        fills = ["AAAAAAAAAAAAAAAAAAAAAA", *sorted(words)] if "{" in r.path else [""]
        for fill in fills:
            path = re.sub(r"\{[^}]+\}", fill, r.path)
            for variant in (path, path.rstrip("/") or "/", path + "/", path + "/x"):
                if variant not in seen:
                    seen.add(variant)
                    yield variant
    yield from ("/nowhere", "/static/css/portal.css", "/ngo/book%0A", "//", "/ngo//book")


def ask(router: Router, method: str, path: str, root_path: str = "") -> Answer:
    """The router's answer, asked directly over ASGI (a TestClient per request would
    take minutes for the thousands of requests here)."""

    async def one() -> Answer:
        return await answer_of(router, method, path, root_path)

    return on_own_loop(one)  # Playwright's loop may own this thread


async def answer_of(router: Router, method: str, path: str, root_path: str = "") -> Answer:
    scope: Scope = {
        "type": "http", "http_version": "1.1", "method": method, "scheme": "http",
        "path": unquote(root_path + path), "raw_path": (root_path + path).encode(),
        "root_path": root_path, "query_string": b"", "server": ("testserver", 80),
        "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 1),
    }  # fmt: skip
    messages: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        messages.append(message)

    await router(scope, receive, send)
    headers = dict(messages[0]["headers"])
    body = b"".join(m.get("body", b"") for m in messages[1:]).decode()
    return (messages[0]["status"], body if method != "HEAD" else "",
            _text(headers.get(b"allow")), _text(headers.get(b"location")))  # fmt: skip


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode()


def differences(ours: Router, theirs: Router, requests: list[tuple[str, str]]) -> list[str]:
    async def all_of_them() -> list[str]:
        return [
            f"{method} {path}: {a} != {b}"
            for method, path in requests
            if (a := await answer_of(ours, method, path))
            != (b := await answer_of(theirs, method, path))
        ]

    return on_own_loop(all_of_them)


def test_every_route_of_the_app_is_chosen_as_starlette_chooses_it(app: Starlette) -> None:
    table = same_table(app)
    ours, theirs = PathRouter(table), Router(table)
    requests = [(method, path) for path in paths_to_try(app) for method in METHODS]
    assert len(requests) > 1000
    assert differences(ours, theirs, requests) == []
    # ... and the comparison went through the index, not only Starlette's own loop.
    fixed = [r.path for r in app.routes if isinstance(r, Route) and "{" not in r.path]
    assert all(ours.routes_for(path) for path in fixed)
    assert ours.routes_for("/ngo/book") == [
        r for r in table if getattr(r, "path", "") == "/ngo/book"
    ]


def test_under_a_root_path_too(app: Starlette) -> None:
    table = same_table(app)
    for method, path in [("GET", "/prefix/meeting"), ("POST", "/prefix/ngo/book"),
                         ("PUT", "/prefix/login"), ("GET", "/meeting")]:  # fmt: skip
        assert ask(PathRouter(table), method, path, "/prefix") == ask(
            Router(table), method, path, "/prefix"
        )


def test_a_route_added_or_replaced_later_is_served_as_starlette_serves_it(app: Starlette) -> None:
    table = same_table(app)
    login = next(r for r in table if isinstance(r, Route) and r.path == "/login")
    ours, theirs = PathRouter(table), Router(table)
    requests = [(m, p) for m in ("GET", "PUT", "DELETE") for p in ("/ngo/book", "/later", "/login")]
    assert differences(ours, theirs, requests) == []  # the index is built now
    for router in (ours, theirs):
        router.routes.append(Route("/ngo/book", answer("added for PUT"), methods=["PUT"]))
        router.add_route("/later", answer("added path"))
        router.routes.insert(0, Route("/{anything}", answer("first, any"), methods=["DELETE"]))
        router.routes[router.routes.index(login)] = Route("/login", answer("replaced"))
    assert ask(ours, "PUT", "/ngo/book")[1] == "added for PUT {}"
    assert ask(ours, "GET", "/login")[1] == "replaced {}"
    assert differences(ours, theirs, requests) == []


# A parameter route before a fixed path it also matches, the same path for two methods,
# a fixed path that only a parameter route serves, and a mount.
ROUTES: list[BaseRoute] = [
    Route("/", answer("home")),
    Route("/items/{id}", answer("item"), methods=["GET"]),
    Route("/items/new", answer("new item form"), methods=["GET"]),
    Route("/items/new", answer("new item"), methods=["POST"]),
    Route("/forms", answer("form page")),
    Route("/forms", answer("form sent"), methods=["POST"]),
    Route("/only-post", answer("posted"), methods=["POST"]),
    Route("/slash/", answer("slash")),
    Mount("/static", app=PlainTextResponse("static file")),
]


def test_order_of_routes_that_share_a_path_is_kept() -> None:
    requests = [
        (method, path)
        for method in ("GET", "POST", "HEAD", "PUT")
        for path in ("/", "/items/new", "/items/7", "/forms", "/only-post", "/slash", "/slash/",
                     "/static/x.css", "/nowhere", "/forms/", "/items/new%0A")
    ]  # fmt: skip
    assert differences(PathRouter(ROUTES), Router(ROUTES), requests) == []
    assert ask(PathRouter(ROUTES), "GET", "/items/new")[1] == "item {'id': 'new'}"
