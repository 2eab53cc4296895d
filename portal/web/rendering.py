"""One way to render a page: a Jinja2 template in the visitor's language.

An htmx request gets the template's ``main`` block only (a partial of the same template,
never a second copy of the markup).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_datetime, format_time
from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from portal.i18n import CLIENT_LOCALES, LOCALE_NAMES, RIGHT_TO_LEFT, STAFF_LOCALES, Catalogues

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
VENDOR_LOCK = STATIC / "vendor" / "lock.json"


def translators(translations: NullTranslations) -> dict[str, Callable[..., Markup]]:
    """``_``, ``gettext`` and ``ngettext`` bound to one language, passed into every render.

    The same behaviour as Jinja's new-style gettext (the translation is trusted markup,
    the variables are escaped into it with ``%``), without its per-call context lookup,
    which bench/ measured at about 5.6 us per call: most of a page's rendering time.
    """

    def gettext(message: str, **variables: Any) -> Markup:
        return Markup(translations.gettext(message)) % variables  # noqa: S704 - our catalogue

    def ngettext(singular: str, plural: str, n: int, **variables: Any) -> Markup:
        variables.setdefault("num", n)
        return Markup(translations.ngettext(singular, plural, n)) % variables  # noqa: S704

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def subresource_integrity() -> dict[str, str]:
    """``static/...`` path -> SRI hash, from the vendoring lock."""
    files = json.loads(VENDOR_LOCK.read_text())["files"]
    return {path: entry["sri"] for path, entry in files.items() if path.startswith("static/")}


@cache
def _babel_locale(code: str) -> Locale:
    """Parsed once per language: Babel re-parses a locale string on every call."""
    return Locale.parse(code)


@lru_cache(maxsize=16384)
def _formatted(kind: str, timestamp: int, locale: str, zone: ZoneInfo) -> str:
    """Babel's formatting costs tens of microseconds a call and the same slot times are
    shown again and again (bench/): remember recent answers."""
    moment = datetime.fromtimestamp(timestamp, zone)
    babel_locale = _babel_locale(locale)
    if kind == "date":
        return format_date(moment, "full", locale=babel_locale)
    if kind == "time":
        return format_time(moment, "short", locale=babel_locale)
    return format_datetime(moment, "short", locale=babel_locale)


@pass_context
def _date(context: Context, timestamp: int) -> str:
    """``Tuesday, 1 December 2026`` in the page's language and the portal's time zone."""
    return _formatted("date", timestamp, context["locale"], context["timezone"])


@pass_context
def _time(context: Context, timestamp: int) -> str:
    return _formatted("time", timestamp, context["locale"], context["timezone"])


@pass_context
def _short_datetime(context: Context, timestamp: int) -> str:
    return _formatted("datetime", timestamp, context["locale"], context["timezone"])


@pass_context
def _weekday(context: Context, day: date) -> str:
    """``Mon 30.11.`` in the page's language, for calendar columns."""
    return format_date(day, "EEE d.M.", locale=_babel_locale(context["locale"]))


def _input_datetime(timestamp: int, zone: ZoneInfo) -> str:
    """The value for an ``<input type="datetime-local">``."""
    return datetime.fromtimestamp(timestamp, zone).strftime("%Y-%m-%dT%H:%M")


class Templates:
    def __init__(self, catalogues: Catalogues, timezone: str = "Europe/Helsinki") -> None:
        self.catalogues = catalogues
        self.zone = ZoneInfo(timezone)
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            auto_reload=False,
        )
        self._translators = {
            locale: translators(catalogues.get(locale)) for locale in catalogues.locales
        }
        integrity = subresource_integrity()
        self.env.globals["integrity"] = integrity.__getitem__
        self.env.globals["locale_names"] = LOCALE_NAMES
        self.env.globals["staff_locales"] = STAFF_LOCALES
        self.env.globals["client_locales"] = CLIENT_LOCALES
        self.env.globals["timezone"] = self.zone
        self.env.filters["b64"] = lambda data: base64.b64encode(data).decode()
        self.env.filters["date"] = _date
        self.env.filters["time"] = _time
        self.env.filters["short_datetime"] = _short_datetime
        self.env.filters["weekday"] = _weekday
        self.env.filters["input_datetime"] = lambda ts: _input_datetime(ts, self.zone)

    def _context(self, context: dict[str, Any], locale: str) -> dict[str, Any]:
        return {
            **context,
            "locale": locale,
            "text_direction": "rtl" if locale in RIGHT_TO_LEFT else "ltr",
            **(self._translators.get(locale) or translators(self.catalogues.get(locale))),
        }

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any],
        *,
        locale: str,
        status_code: int = 200,
        partial: str | None = None,
    ) -> HTMLResponse:
        """The whole page, or for an htmx request only its ``partial`` block.

        A template rendered as a partial keeps its imports inside that block (a block
        rendered alone does not run the template's top-level statements).
        """
        template = self.env.get_template(name)
        full = self._context(context, locale)
        if partial and request.headers.get("hx-request") == "true":
            body = "".join(template.blocks[partial](template.new_context(full)))
        else:
            body = template.render(full)
        return HTMLResponse(body, status_code=status_code)

    def fragment(self, name: str, context: dict[str, Any], *, locale: str) -> Markup:
        """A template rendered in another language than the page (the client's slip)."""
        html = self.env.get_template(name).render(self._context(context, locale))
        return Markup(html)  # noqa: S704 - autoescaped template output
