"""One way to render a page: a Jinja2 template in the visitor's language.

An htmx request gets the template's ``main`` block only (a partial of the same template,
never a second copy of the markup). Markup kept and shared between visitors is a cached
block (``BlockCache``), rendered from its key alone.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterator, MutableMapping
from datetime import date, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from babel.core import Locale
from babel.dates import format_date, format_datetime, format_skeleton, format_time
from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.ext import Extension
from jinja2.lexer import (
    TOKEN_DATA,
    TOKEN_LPAREN,
    TOKEN_NAME,
    TOKEN_RPAREN,
    TOKEN_STRING,
    TOKEN_VARIABLE_BEGIN,
    TOKEN_VARIABLE_END,
    Token,
    TokenStream,
)
from markupsafe import Markup
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse

from portal.i18n import CLIENT_LOCALES, LOCALE_NAMES, RIGHT_TO_LEFT, STAFF_LOCALES, Catalogues


def _shipped(name: str) -> Path:
    """templates/ or static/: inside the installed package (a wheel ships them as
    portal/templates and portal/static, see setup.py), else at the top of the checkout."""
    package = Path(__file__).resolve().parents[1]
    inside = package / name
    return inside if inside.is_dir() else package.parent / name


TEMPLATES = _shipped("templates")
STATIC = _shipped("static")
VENDOR_LOCK = STATIC / "vendor" / "lock.json"
KNOWN_MESSAGES = 4096  # remembered translations per language (msgids come from the code)
_BETWEEN_TAGS = re.compile(r">\s+<")
T = TypeVar("T")


def translators(translations: NullTranslations) -> dict[str, Callable[..., Markup]]:
    """``_``, ``gettext`` and ``ngettext`` bound to one language.

    The same behaviour as Jinja's new-style gettext (the translation is trusted markup,
    the variables are escaped into it with ``%``), without its per-call context lookup.
    A message whose variables are all numbers (or none) is translated once and
    remembered: bench/ measured a call at about 8 us, and a page shows dozens. Text
    variables are never kept.
    """
    known: dict[tuple[Any, ...], Markup] = {}
    plain: dict[str, Markup] = {}  # the messages without variables, most of a page's

    def gettext(message: str, **variables: Any) -> Markup:
        if not variables:  # 0.09 us against 0.44 us through the general path (bench/)
            text = plain.get(message)
            if text is None:
                text = Markup(translations.gettext(message)) % variables  # noqa: S704
                if len(plain) < KNOWN_MESSAGES:
                    plain[message] = text
            return text
        for value in variables.values():
            if type(value) is not int:
                return Markup(translations.gettext(message)) % variables  # noqa: S704 - catalogue
        key = (message, *variables.items())
        text = known.get(key)
        if text is None:
            text = Markup(translations.gettext(message)) % variables  # noqa: S704 - catalogue
            if len(known) < KNOWN_MESSAGES:
                known[key] = text
        return text

    def ngettext(singular: str, plural: str, n: int, **variables: Any) -> Markup:
        variables.setdefault("num", n)
        return Markup(translations.ngettext(singular, plural, n)) % variables  # noqa: S704

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


class Fixed(Generic[T]):
    """A constant of the code as a cached block's key, hashed and compared by identity.

    Python does not remember a tuple's hash: the booking form's 14 selects and their 79
    options cost about 11,000 instructions to hash on every search (bench/), and a
    constant is the same object every time. The kept key holds the object, so its
    identity cannot come back for another value. Only for module-level constants: a
    value built per request would never match (and only fill the cache).
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value


class NotABlock(ValueError):
    """A template outside ``blocks/`` was asked for as a cached block."""


class BlockCache:
    """``{{ cached_block("blocks/name.html", name=value, ...) }}``: markup rendered from
    its key alone, once per key and language, and shared by everyone who uses the language.

    The threat is one person's markup served to the next: a CSRF token, a session's
    notices, an account's name or what someone typed, left in a cached block and shown to
    whoever comes next with the same key. So a block is never rendered from the page's
    context: its context is exactly the key's names and values, the language's ``_``,
    ``gettext`` and ``ngettext`` and this helper (for a block inside a block); not even
    the environment's globals. A name outside the key is undefined, which raises
    (``StrictUndefined``) the first time the block is rendered. Two visitors get the same
    markup only when their keys are equal, and key values must be hashable, so a form's
    dict of typed values cannot be one. Block templates live in ``templates/blocks/``
    (nothing else is accepted), so a reader can tell them from page templates.

    When the blocks kept in a language reach ``CHARACTERS``, they are all dropped and the
    cache fills again. A run of whitespace between two tags is kept as one space (the same
    to a browser, except inside ``<pre>`` or as a ``<textarea>``'s text, which a cached
    block must not hold): the booking form's selects were a quarter indentation (bench/).
    """

    CHARACTERS = 4_000_000
    FOLDER = "blocks/"

    def __init__(self, environment: Environment, words: dict[str, Callable[..., Markup]]) -> None:
        self.environment = environment
        self.kept: dict[tuple[Any, ...], Markup] = {}
        self.characters = 0
        self.cached_block = self._helper()
        self.words: dict[str, Any] = {**words, "cached_block": self.cached_block}

    def _helper(self) -> Callable[..., Markup]:
        """``cached_block`` for the templates: a plain function, which Jinja calls with
        less ado than a bound method (bench/)."""
        kept = self.kept

        def cached_block(template: str, /, **key: Any) -> Markup:
            cache_key = (template, *key.items())
            block = kept.get(cache_key)
            if block is None:
                block = self._render(template, key)
                if self.characters + len(block) > self.CHARACTERS:
                    kept.clear()
                    self.characters = 0
                kept[cache_key] = block
                self.characters += len(block)
            return block

        return cached_block

    def _render(self, name: str, key: dict[str, Any]) -> Markup:
        if not name.startswith(self.FOLDER):
            raise NotABlock(name)
        template = self.environment.get_template(name)
        # shared=True: the context is this dict and nothing else (Jinja would otherwise
        # add the environment's globals); an include inside the block gets the same.
        context = template.new_context({**key, **self.words}, shared=True)
        try:
            html = "".join(template.root_render_func(context))
        except Exception:
            self.environment.handle_exception()  # re-raises, with the template's lines
        return Markup(_BETWEEN_TAGS.sub("> <", html))  # noqa: S704 - autoescaped template


class CompiledTranslations(Extension):
    """``{{ _("a literal") }}`` becomes the translated text when a template is compiled.

    Each language has its own environment (``Templates``), so a literal message is looked
    up once, not on every render; the output is what ``_`` would give at render time
    (trusted markup, unescaped). Calls with variables or a computed message stay calls.
    """

    PATTERN = (
        (TOKEN_VARIABLE_BEGIN, None), (TOKEN_NAME, "_"), (TOKEN_LPAREN, None),
        (TOKEN_STRING, None), (TOKEN_RPAREN, None), (TOKEN_VARIABLE_END, None),
    )  # fmt: skip

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        translate: Callable[[str], Markup] = self.environment.globals["_"]  # type: ignore[assignment]
        tokens = list(stream)
        at = 0
        while at < len(tokens):
            window = tokens[at : at + len(self.PATTERN)]
            if len(window) == len(self.PATTERN) and all(
                token.type == kind and (value is None or token.value == value)
                for token, (kind, value) in zip(window, self.PATTERN, strict=True)
            ):
                yield Token(window[0].lineno, TOKEN_DATA, str(translate(window[3].value)))
                at += len(self.PATTERN)
            else:
                yield tokens[at]
                at += 1


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


def _locale_filters(locale: str, zone: ZoneInfo) -> dict[str, Callable[[Any], str]]:
    """Dates and times in one language and the portal's time zone."""
    babel_locale = _babel_locale(locale)

    def date_(timestamp: int) -> str:
        """``Tuesday, 1 December 2026``."""
        return _formatted("date", timestamp, locale, zone)

    def time_(timestamp: int) -> str:
        return _formatted("time", timestamp, locale, zone)

    def short_datetime(timestamp: int) -> str:
        return _formatted("datetime", timestamp, locale, zone)

    def weekday(day: date) -> str:
        """A short weekday and date in the language's own order, for calendar columns:
        ``Mon, 11/30`` in English (as its short dates), ``ma 30.11.`` in Finnish."""
        return format_skeleton("MEd", day, locale=babel_locale)

    return {"date": date_, "time": time_, "short_datetime": short_datetime, "weekday": weekday}


def _input_datetime(timestamp: int, zone: ZoneInfo) -> str:
    """The value for an ``<input type="datetime-local">``."""
    return datetime.fromtimestamp(timestamp, zone).strftime("%Y-%m-%dT%H:%M")


class _Environment(Environment):
    """Jinja's environment, with each template's globals in one plain dict. Jinja layers
    them over the environment's in a ChainMap, which Python copies key by key for every
    render and every include (bench/); the portal sets its globals once, before any
    template is loaded, so a copy is the same."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class Templates:
    """One Jinja environment per language: its ``_`` and date filters are bound to that
    language, and literal messages are translated when a template is compiled."""

    def __init__(self, catalogues: Catalogues, timezone: str = "Europe/Helsinki") -> None:
        self.catalogues = catalogues
        self.zone = ZoneInfo(timezone)
        integrity = subresource_integrity()
        self._shared: dict[str, Any] = {
            "integrity": integrity.__getitem__,
            "locale_names": LOCALE_NAMES,
            "staff_locales": STAFF_LOCALES,
            "client_locales": CLIENT_LOCALES,
            # (code, name) of each language: a cached block's key for the language buttons.
            "staff_languages": tuple((code, LOCALE_NAMES[code]) for code in STAFF_LOCALES),
            "client_languages": tuple((code, LOCALE_NAMES[code]) for code in CLIENT_LOCALES),
            "timezone": self.zone,
        }
        self._environments: dict[str, Environment] = {}
        self._blocks: dict[str, BlockCache] = {}

    def environment(self, locale: str) -> Environment:
        env = self._environments.get(locale)
        if env is None:
            env = _Environment(
                loader=FileSystemLoader(TEMPLATES),
                autoescape=True,
                undefined=StrictUndefined,
                auto_reload=False,
                # Every template stays compiled in a plain dict: Jinja's default LRU cache
                # reorders a queue on every look-up, four per page (bench/).
                cache_size=-1,
                extensions=[CompiledTranslations],
            )
            words = translators(self.catalogues.get(locale))
            blocks = BlockCache(env, words)
            env.globals.update(
                self._shared,
                locale=locale,
                text_direction="rtl" if locale in RIGHT_TO_LEFT else "ltr",
                time_zone=self.zone.key,  # the portal's, for times a script shows
                cached_block=blocks.cached_block,
                **words,
            )
            env.filters.update(_locale_filters(locale, self.zone))
            env.filters["b64"] = lambda data: base64.b64encode(data).decode()
            env.filters["input_datetime"] = lambda ts: _input_datetime(ts, self.zone)
            self._environments[locale] = env
            self._blocks[locale] = blocks
        return env

    def blocks(self, locale: str) -> BlockCache:
        """The cached blocks of one language."""
        self.environment(locale)
        return self._blocks[locale]

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
        template = self.environment(locale).get_template(name)
        if partial and request.headers.get("hx-request") == "true":
            body = "".join(template.blocks[partial](template.new_context(context)))
        else:
            body = template.render(context)
        return HTMLResponse(body, status_code=status_code)

    def fragment(self, name: str, context: dict[str, Any], *, locale: str) -> Markup:
        """A template rendered in another language than the page (the client's slip)."""
        html = self.environment(locale).get_template(name).render(context)
        return Markup(html)  # noqa: S704 - autoescaped template output


def templates_of(conn: HTTPConnection) -> Templates:
    """The running portal's templates, built in the lifespan beside the services."""
    found: Templates = conn.app.state.templates
    return found
