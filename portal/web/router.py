"""Starlette's router, with the routes that can serve each fixed path looked up, not tried.

Starlette's router tries every route in turn, a regular expression each: 22 for
``/ngo/book``, 12 for ``/meeting``. ``PathRouter`` finds once, for each path of the route
table without parameters, the routes that can match it, and a request for such a path
tries only those, in the table's order; any other path, or an app served under a root
path, goes through Starlette's own loop.

A speed trick kept because it pays rent: without it and without the portal's own form
reader, the NGO slot search fell below its budget (25 % of bare Starlette on SQLite);
with Starlette's router it costs 3 to 5 % more instructions per request than with this
one (docs/benchmarks.md, "Fourth session"). tests/web/test_router.py holds its answers
equal to Starlette's router on every route of create_app()'s own table. Remove it when a
figure says the pages stay within budget without it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, Mount, Route, Router
from starlette.types import Receive, Scope, Send

# Routes whose answer to "do you match?" depends on the path (and the method) alone, so
# it can be worked out once per path. Any other kind of route (a host route, a subclass
# that matches differently) is tried for every path, as Starlette tries it.
_PATH_ONLY = (Route.matches, Mount.matches)


class PathRouter(Router):
    def __init__(self, routes: Sequence[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self._indexed: list[BaseRoute] = []
        self._by_path: dict[str, list[BaseRoute]] = {}

    def routes_for(self, path: str) -> list[BaseRoute] | None:
        """The routes that can match ``path``, in order; None if it is not a fixed path of
        the table. The index is built again whenever the table is not the one it was built
        from, so a route added, removed or replaced later is served as Starlette would."""
        if self.routes != self._indexed:  # the same objects: pointer comparisons, in C
            self._index()
        return self._by_path.get(path)

    def _index(self) -> None:
        self._indexed = list(self.routes)
        fixed = {r.path for r in self._indexed if isinstance(r, Route) and "{" not in r.path}
        self._by_path = {
            path: [
                r
                for r in self._indexed
                if type(r).matches not in _PATH_ONLY or r.matches(_probe(path))[0] is not Match.NONE
            ]
            for path in fixed
        }

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = (
            self.routes_for(scope["path"])
            if scope["type"] == "http" and not scope.get("root_path")
            else None
        )
        if found is None:
            await super().app(scope, receive, send)
            return
        scope.setdefault("router", self)
        partial: tuple[BaseRoute, Scope] | None = None
        for route in found:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = (route, child_scope)
        if partial is None:  # only a route of another kind was found, and it did not match
            await super().app(scope, receive, send)
            return
        scope["route"] = partial[0]  # the path is known, not the method: 405
        scope.update(partial[1])
        await partial[0].handle(scope, receive, send)


def _probe(path: str) -> Scope:
    return {"type": "http", "path": path, "root_path": "", "method": "GET", "headers": []}
