"""Languages: every catalogue has every message, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from portal.i18n import CLIENT_LOCALES, LOCALE_DIR, STAFF_LOCALES
from tests.factories import Actor

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def source_messages() -> set[str]:
    """What `make messages` extracts, with the same mapping (babel.cfg)."""
    with (ROOT / "babel.cfg").open() as config:
        method_map, options = parse_mapping_cfg(config)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT,
        method_map,
        options,
        keywords={"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)},
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalogue(locale: str) -> dict[str, tuple[str, bool]]:
    """msgid (the singular, for plurals) -> (translation, fuzzy); a plural's forms are
    joined by a newline, and count as untranslated if any form is empty."""
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        entries = {}
        for m in read_po(handle):
            if not m.id:
                continue
            if isinstance(m.id, tuple | list):
                forms = list(m.string)
                text = "\n".join(forms) if all(forms) else ""
                entries[m.id[0]] = (text, m.fuzzy)
            else:
                entries[m.id] = (m.string, m.fuzzy)
        return entries


def test_sources_have_messages() -> None:
    assert len(source_messages()) > 50


def test_every_message_written_in_a_template_is_extracted() -> None:
    """Babel skips a template it cannot parse without a word (a tag from an extension
    missing in babel.cfg, say), and its messages would silently leave the catalogues."""
    literal = re.compile(r"""\b_\(\s*(["'])(.+?)\1\s*[,)]""")
    written = {
        found.group(2)
        for template in (ROOT / "templates").rglob("*.html")
        for found in literal.finditer(template.read_text(encoding="utf-8"))
    }
    assert len(written) > 50
    assert not written - source_messages()


@pytest.mark.parametrize("locale", [loc for loc in STAFF_LOCALES if loc != "en"])
def test_catalogue_is_complete(locale: str) -> None:
    entries = catalogue(locale)
    missing = sorted(source_messages() - entries.keys())
    assert not missing, f"{locale} lacks {missing} (run `make messages` and translate)"
    untranslated = sorted(msgid for msgid, (text, fuzzy) in entries.items() if not text or fuzzy)
    assert not untranslated, f"{locale} has untranslated or fuzzy messages: {untranslated}"


@pytest.mark.parametrize("locale", [loc for loc in STAFF_LOCALES if loc != "en"])
def test_placeholders_survive_translation(locale: str) -> None:
    for msgid, (text, _fuzzy) in catalogue(locale).items():
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(text)), msgid


def test_english_catalogue_lists_every_message() -> None:
    assert not source_messages() - catalogue("en").keys()


@pytest.mark.parametrize("locale", ["fi", "sv"])
def test_chosen_language_is_remembered(actor: Actor, locale: str) -> None:
    translated = catalogue(locale)["Staff sign-in"][0]
    assert translated
    assert "Staff sign-in" in actor.get("/login").text
    response = actor.submit("/", "/language", locale=locale, next="/login")
    assert response.status_code == 303 and response.headers["location"] == "/login"
    page = actor.get("/login").text
    assert f'lang="{locale}"' in page and translated in page


def test_browser_language_is_used_until_one_is_chosen(actor: Actor) -> None:
    page = actor.get("/login", headers={"accept-language": "sv-FI,sv;q=0.9,en;q=0.5"}).text
    assert 'lang="sv"' in page


def test_language_form_refuses_open_redirects(actor: Actor) -> None:
    response = actor.submit("/", "/language", locale="fi", next="//evil.example/")
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("locale", [loc for loc in CLIENT_LOCALES if loc not in STAFF_LOCALES])
def test_every_client_language_has_a_catalogue_with_every_message(locale: str) -> None:
    """Their translation is later work; the catalogue is ready for translators now."""
    assert not source_messages() - catalogue(locale).keys()


def test_the_client_chooses_among_all_client_languages(actor: Actor) -> None:
    page = actor.get("/").text
    for locale in CLIENT_LOCALES:
        assert f'name="locale" value="{locale}"' in page
    assert 'value="ar" lang="ar" dir="rtl"' in page
