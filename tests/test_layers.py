"""The layers are a test, not a hope: web -> domain -> storage is the only path.

Every module under portal/ is parsed (``ast``) and every import in it is read, at module
level or inside a function, ``TYPE_CHECKING`` blocks included. The test fails when
``portal.web`` imports ``portal.storage`` (a handler would bypass the access checks of
domain/visibility.py and the audit records of the domain functions), when the domain
imports Starlette, the web or the HTTP security layer (it must stay callable from the
CLI and the jobs), when storage imports the domain or the web, or when the packages
import each other in a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PORTAL = ROOT / "portal"
PACKAGES = ("web", "domain", "storage", "crypto", "security")
# The composition root builds the app from every layer, so it may import anything.
COMPOSITION_ROOT = {"portal.app", "portal.services"}
# Imports that break a rule and are known, each with who removes it. An entry that no
# longer occurs fails the test too, so the list only ever shrinks.
KNOWN_EXCEPTIONS: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_in(source: str, module: str) -> Iterator[tuple[str, int]]:
    """Every module ``module`` imports, with its line; ``from a import b`` yields ``a.b``
    (``b`` may be a module) and ``a``."""
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base, node.lineno
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def all_imports() -> list[tuple[str, str, int]]:
    """(importing module, imported module, line) for every module under portal/."""
    found = []
    for path in sorted(PORTAL.rglob("*.py")):
        name = module_name(path)
        source = path.read_text(encoding="utf-8")
        found.extend((name, imported, line) for imported, line in imports_in(source, name))
    return found


def layer(module: str) -> str:
    """``portal.web.ngo`` -> ``web``; ``portal.services`` -> ``services``; else ``""``."""
    parts = module.split(".")
    if parts[0] != "portal" or len(parts) < 2:
        return ""
    return parts[1]


def starts(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


FORBIDDEN = {
    "web": ("portal.storage",),
    "domain": ("starlette", "portal.web", "portal.security"),
    "storage": ("portal.domain", "portal.web"),
}


def violations(imports: list[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
    found = set()
    for importer, imported, line in imports:
        for prefix in FORBIDDEN.get(layer(importer), ()):
            if starts(imported, prefix):
                found.add((importer, imported, line))
    return found


def cycles(imports: list[tuple[str, str, int]]) -> list[list[str]]:
    """Circles in the graph of packages and top-level modules (``web``, ``services``,
    ...), each as the list of its nodes; an edge is one import, known exceptions apart."""
    edges: dict[str, set[str]] = {}
    for importer, imported, _line in imports:
        if known(importer, imported):
            continue
        source, target = layer(importer), layer(imported)
        if source and target and source != target:
            edges.setdefault(source, set()).add(target)
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(edges):
        if start not in state:
            visit(start, [start])
    return found


def known(importer: str, imported: str) -> bool:
    return any(importer == i and starts(imported, m) for i, m in KNOWN_EXCEPTIONS)


def exempt(importer: str, imported: str) -> bool:
    return importer in COMPOSITION_ROOT or known(importer, imported)


def test_every_package_imports_only_the_layers_below_it() -> None:
    imports = all_imports()
    assert len({i for i, _, _ in imports}) > 80  # the walk found the code base
    broken = sorted(v for v in violations(imports) if not exempt(v[0], v[1]))
    assert broken == []


def test_the_packages_import_each_other_in_no_circle() -> None:
    assert cycles(all_imports()) == []


def test_every_known_exception_still_occurs() -> None:
    """An exception whose import is gone is removed from the list, not kept "just in
    case": the list shows what is left to untangle."""
    imports = all_imports()
    stale = [
        (i, m)
        for i, m in sorted(KNOWN_EXCEPTIONS)
        if not any(a == i and starts(b, m) for a, b, _ in imports)
    ]
    assert stale == []


# --- the checker itself catches what it is meant to ----------------------------------


def parsed(source: str, name: str) -> list[tuple[str, str, int]]:
    return [(name, imported, line) for imported, line in imports_in(source, name)]


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("portal.web.ngo", "from portal.storage import consultations as store\n"),
        ("portal.web.ngo", "import portal.storage.slots\n"),
        # An import hidden inside a function counts the same.
        ("portal.web.ngo", "def f():\n    from portal.storage.slots import Slot\n"),
        ("portal.web.ngo", "from ..storage import slots\n"),
        ("portal.domain.notes", "from starlette.requests import Request\n"),
        ("portal.domain.notes", "async def f():\n    import starlette.responses\n"),
        ("portal.domain.notes", "from portal.web.forms import FormState\n"),
        ("portal.domain.notes", "from portal.security.sessions import SessionStore\n"),
        ("portal.storage.notes", "from portal.domain import audit\n"),
        ("portal.storage.notes", "from portal.web import rendering\n"),
    ],
)
def test_a_forbidden_import_is_found(name: str, source: str) -> None:
    assert len(violations(parsed(source, name))) >= 1


@pytest.mark.parametrize(
    ("name", "source"),
    [
        ("portal.web.ngo", "from portal.domain.bookings import Consultation\n"),
        ("portal.domain.notes", "from portal.storage import notes as store\n"),
        ("portal.domain.notes", "from portal.crypto.envelopes import seal_json\n"),
        ("portal.storage.notes", "from portal.storage.database import Queryable\n"),
    ],
)
def test_an_allowed_import_passes(name: str, source: str) -> None:
    assert violations(parsed(source, name)) == set()


def test_a_circle_between_packages_is_found() -> None:
    imports = [
        ("portal.storage.notes", "portal.crypto.envelopes", 1),
        ("portal.crypto.envelopes", "portal.security.senders", 1),
        ("portal.security.senders", "portal.storage.database", 1),
        ("portal.domain.notes", "portal.storage.notes", 1),
    ]
    assert cycles(imports) == [["crypto", "security", "storage", "crypto"]]
    assert cycles(imports[1:]) == []
