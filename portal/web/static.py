"""The static files (CSS, own JavaScript modules, vendored scripts), open to anyone."""

from __future__ import annotations

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from portal.domain.roles import PUBLIC


class StaticMount(Mount):
    # Every route names the roles allowed (tests/security/test_access.py walks them).
    roles = frozenset({PUBLIC})

    def __init__(self, path: str, directory: str) -> None:
        super().__init__(path, app=StaticFiles(directory=directory), name="static")
