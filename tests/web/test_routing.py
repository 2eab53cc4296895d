"""The portal's router answers exactly as Starlette's would, route order included."""

from __future__ import annotations

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.testclient import TestClient

from portal.web.routing import PathRouter


def answer(name: str):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{name} {request.path_params}")

    return endpoint


# A parameter route before a fixed path it also matches, the same path for two methods,
# a fixed path that only a parameter route serves, and a mount.
ROUTES = [
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
REQUESTS = [
    (method, path)
    for method in ("GET", "POST", "HEAD", "PUT")
    for path in (
        "/", "/items/new", "/items/7", "/forms", "/only-post", "/slash", "/slash/",
        "/static/x.css", "/nowhere", "/forms/", "/items/new%0A",
    )
]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), REQUESTS)
def test_the_same_answer_as_starlettes_router(method: str, path: str) -> None:
    ours, theirs = (
        TestClient(router_class(ROUTES)).request(method, path, follow_redirects=False)
        for router_class in (PathRouter, Router)
    )
    assert (
        ours.status_code,
        ours.text,
        ours.headers.get("allow"),
        ours.headers.get("location"),
    ) == (
        theirs.status_code,
        theirs.text,
        theirs.headers.get("allow"),
        theirs.headers.get("location"),
    )


def test_a_fixed_path_tries_only_the_routes_that_match_it() -> None:
    router = PathRouter(ROUTES)
    assert [route.endpoint.__qualname__ for route in router.by_path["/items/new"]] == [  # type: ignore[attr-defined]
        "answer.<locals>.endpoint"
    ] * 3  # /items/{id}, then both /items/new
    assert "/slash/" in router.by_path and "/nowhere" not in router.by_path
