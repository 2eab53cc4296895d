"""One way to render a page: a Jinja2 template in the visitor's language.

An htmx request gets the template's ``main`` block only (a partial of the same template,
never a second copy of the markup).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from starlette.requests import Request
from starlette.responses import HTMLResponse

from portal.i18n import LOCALE_NAMES, RIGHT_TO_LEFT, Catalogues

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
VENDOR_LOCK = STATIC / "vendor" / "lock.json"


@pass_context
def _gettext(context: Context, message: str) -> str:
    return str(context["translations"].gettext(message))


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return str(context["translations"].ngettext(singular, plural, n))


def subresource_integrity() -> dict[str, str]:
    """``static/...`` path -> SRI hash, from the vendoring lock."""
    files = json.loads(VENDOR_LOCK.read_text())["files"]
    return {path: entry["sri"] for path, entry in files.items() if path.startswith("static/")}


class Templates:
    def __init__(self, catalogues: Catalogues) -> None:
        self.catalogues = catalogues
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            auto_reload=False,
        )
        self.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
        integrity = subresource_integrity()
        self.env.globals["integrity"] = integrity.__getitem__
        self.env.globals["locale_names"] = LOCALE_NAMES

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        locale: str,
        status_code: int = 200,
    ) -> HTMLResponse:
        template = self.env.get_template(name)
        full = {
            **context,
            "locale": locale,
            "text_direction": "rtl" if locale in RIGHT_TO_LEFT else "ltr",
            "translations": self.catalogues.get(locale),
        }
        if request.headers.get("hx-request") == "true" and "main" in template.blocks:
            ctx = template.new_context(full)
            body = "".join(template.blocks["main"](ctx))
        else:
            body = template.render(full)
        return HTMLResponse(body, status_code=status_code)
