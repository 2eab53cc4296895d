"""Client languages: everything a client can see is translated into every client language.

The eight languages beyond Finnish, Swedish and English are machine translations awaiting
native review (docs/translations.md); their catalogue headers say so. Staff-only messages
may stay untranslated there: they fall back to English.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from portal.i18n import LOCALE_DIR
from tests.factories import Actor

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
MACHINE_TRANSLATED = ("ru", "uk", "ro", "th", "vi", "ar", "es", "zh")
REVIEW_MARK = "needs native review"

# Where the messages a client can see come from: the client's pages, the front page, the
# quick-exit page, the shared layout and partials drawn on client pages, and the Python
# messages those pages show (answers, change reasons, note prompts and errors, error pages).
CLIENT_TEMPLATES = (
    "templates/base.html",
    "templates/error.html",
    "templates/client/code.html",
    "templates/client/meeting.html",
    "templates/client/new_code.html",
    "templates/client/slip.html",
    "templates/client/_first_interview.html",
    "templates/client/info/_page.html",
    "templates/client/info/_more.html",
    "templates/client/info/index.html",
    "templates/client/info/meeting.html",
    "templates/client/info/report.html",
    "templates/client/info/support.html",
    "templates/client/info/time-to-think.html",
    "templates/client/info/interpreter.html",
    "templates/public/index.html",
    "templates/public/bye.html",
    "templates/partials/forms.html",
    "templates/partials/language.html",
    "templates/partials/note_form.html",
    "templates/partials/client_messages.html",
    "templates/partials/message_form.html",
    "templates/resume.html",  # after the code is entered again (web/ended.py)
    "templates/partials/kept_copy.html",
    "templates/adviser/_client_joins.html",
    "templates/adviser/_client_own.html",
)
CLIENT_PYTHON = (
    "portal/web/client.py",
    "portal/web/note_forms.py",
    "portal/web/errors.py",
    "portal/domain/client_access.py",
    "portal/domain/notes.py",
    "portal/web/client_messages.py",
    "portal/domain/conversation.py",
    "portal/web/client_info.py",
)


def client_messages() -> set[str]:
    found: set[str] = set()
    sources = [(path, "jinja2.ext.babel_extract") for path in CLIENT_TEMPLATES]
    sources += [(path, "python") for path in CLIENT_PYTHON]
    for path, method in sources:
        options = {"extensions": "jinja2.ext.i18n"} if method != "python" else {}
        for _line, message, _comments, _context in extract_from_file(
            method, ROOT / path, keywords=KEYWORDS, options=options
        ):
            found.add(message if isinstance(message, str) else message[0])
    return found


def read_catalogue(locale: str) -> Catalog:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def translations(locale: str) -> dict[str, tuple[str, bool]]:
    """msgid -> (translation, fuzzy); a plural counts as untranslated if any form is empty."""
    entries: dict[str, tuple[str, bool]] = {}
    for message in read_catalogue(locale):
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            forms = [str(form) for form in message.string or ()]
            entries[message.id[0]] = ("\n".join(forms) if all(forms) else "", message.fuzzy)
        else:
            entries[message.id] = (str(message.string or ""), message.fuzzy)
    return entries


def test_client_messages_are_found() -> None:
    found = client_messages()
    assert len(found) > 50
    for msgid in ("Quick exit", "Enter your code", "Use the code before %(date)s.", "Sorry"):
        assert msgid in found


@pytest.mark.parametrize("locale", MACHINE_TRANSLATED)
def test_every_client_message_is_translated(locale: str) -> None:
    entries = translations(locale)
    missing = sorted(client_messages() - entries.keys())
    assert not missing, f"{locale} lacks {missing} (run `make messages`)"
    untranslated = sorted(
        msgid for msgid in client_messages() if not entries[msgid][0].strip() or entries[msgid][1]
    )
    assert not untranslated, f"{locale} has untranslated or fuzzy client messages: {untranslated}"


@pytest.mark.parametrize("locale", MACHINE_TRANSLATED)
def test_client_translations_keep_their_placeholders(locale: str) -> None:
    entries = translations(locale)
    for msgid in client_messages():
        text = entries[msgid][0]
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(text)), (locale, msgid)


@pytest.mark.parametrize("locale", MACHINE_TRANSLATED)
def test_machine_translations_are_marked_for_review(locale: str) -> None:
    catalog = read_catalogue(locale)
    assert REVIEW_MARK in (catalog.last_translator or "")
    assert not catalog.fuzzy


@pytest.mark.parametrize("locale", MACHINE_TRANSLATED)
def test_code_page_is_shown_in_the_chosen_language(actor: Actor, locale: str) -> None:
    entries = translations(locale)
    response = actor.submit("/", "/language", locale=locale, next="/code")
    assert response.status_code == 303 and response.headers["location"] == "/code"
    page = html.unescape(actor.get("/code").text)
    assert f'lang="{locale}"' in page
    for msgid in ("Enter your code", "Quick exit", "Appointments", "Continue"):
        assert entries[msgid][0] in page, (locale, msgid)
    assert "Enter your code" not in page


def test_arabic_code_page_is_right_to_left(actor: Actor) -> None:
    actor.submit("/", "/language", locale="ar", next="/code")
    page = actor.get("/code").text
    assert re.search(r'<html lang="ar" dir="rtl"', page)
    assert translations("ar")["Enter your code"][0] in html.unescape(page)


def test_thai_code_page_has_thai_text(actor: Actor) -> None:
    actor.submit("/", "/language", locale="th", next="/code")
    page = actor.get("/code").text
    assert '<html lang="th" dir="ltr"' in page
    main = page.split('<main id="main"', 1)[1]
    assert len(re.findall(r"[\u0e00-\u0e7f]", main)) > 20


@pytest.mark.parametrize("locale", MACHINE_TRANSLATED)
def test_error_page_speaks_the_browser_language(actor: Actor, locale: str) -> None:
    response = actor.get("/no-such-page", headers={"accept-language": f"{locale};q=1, en;q=0.5"})
    assert response.status_code == 404
    page = html.unescape(response.text)
    assert translations(locale)["This page does not exist."][0] in page


@pytest.mark.parametrize("locale", ["ru", "uk"])
def test_no_word_for_a_handler_names_the_support_worker(locale: str) -> None:
    """«куратор» also means a handler or minder in exploitation (docs/translations.md)."""
    text = (ROOT / "portal" / "locale" / locale / "LC_MESSAGES" / "messages.po").read_text()
    assert "куратор" not in text.lower()
