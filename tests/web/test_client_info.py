"""Information for clients: every page in every client language, public, not cached,
with the quick exit and a neutral title and address, linked from every client page,
and complete without JavaScript (the answer is in the HTML itself)."""

from __future__ import annotations

import html
import re

import pytest
from starlette.testclient import TestClient

from portal.i18n import CLIENT_LOCALES
from tests.factories import Actor
from tests.test_client_languages import translations
from tests.web.sealed import Case

PAGES = {
    "/help": "Information",
    "/help/meeting": "What is a meeting, and what is it not?",
    "/help/report": "What would a report mean?",
    "/help/support": "What help can you get?",
    "/help/time-to-think": "What is time to think?",
    "/help/interpreter": "An interpreter and a support person",
}
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def in_language(actor: Actor, locale: str) -> None:
    response = actor.submit("/", "/language", locale=locale, next="/help")
    assert response.status_code == 303 and response.headers["location"] == "/help"


@pytest.mark.parametrize("locale", CLIENT_LOCALES)
def test_every_page_in_every_language(actor: Actor, locale: str) -> None:
    in_language(actor, locale)
    words = translations(locale) if locale != "en" else {}
    for path, question in PAGES.items():
        response = actor.get(path)
        assert response.status_code == 200, (locale, path)
        assert response.headers["cache-control"] == "no-store"
        page = html.unescape(response.text)
        assert f'<html lang="{locale}"' in page
        assert 'action="/bye"' in page and "data-quick-exit" in page
        expected = words[question][0] if words else question
        assert expected in page, (locale, path)
        title = TITLE.search(page)
        assert title is not None
        appointments = words["Appointments"][0] if words else "Appointments"
        assert title.group(1).strip() == appointments  # neutral: the site's name only
        assert not re.search(r"police|trafficking|poliisi|polis", title.group(1), re.I)
        # Every other page is one link away; no address names what the unit does.
        links = set(re.findall(r'href="(/help[^"]*)"', page))
        assert links >= set(PAGES) - {path, "/help"}
        assert not any(re.search(r"police|traffick|victim", link) for link in links)


def test_the_answers_are_in_the_page_itself_without_javascript(actor: Actor) -> None:
    for path, sentence in {
        "/help/meeting": "Nothing is reported unless you decide so.",
        "/help/report": "Only you decide whether to make a report.",
        "/help/support": "a safe place to live",
        "/help/time-to-think": "It lasts from 30 days to 6 months.",
        "/help/interpreter": "You have the right to an interpreter. It costs you nothing.",
    }.items():
        page = actor.get(path).text
        assert sentence in html.unescape(page), path
        main = page.split('<main id="main"', 1)[1].split("</main>", 1)[0]
        assert "<script" not in main and "<form" not in main  # reading needs nothing else
    assert actor.get("/help/nothing-here").status_code == 404


def test_linked_from_every_client_page(client: TestClient, case: Case) -> None:
    visitor = Actor(client)
    for path in ("/", "/code"):  # (not /bye: the page after a quick exit is a disguise)
        assert 'href="/help"' in visitor.get(path).text, path
    meeting = case.client.get("/meeting")
    assert meeting.status_code == 200 and 'href="/help"' in meeting.text
    # A client reading them keeps their session, and the way back leads to their page.
    assert 'href="/meeting"' in case.client.get("/help/report").text
    assert 'href="/code"' in visitor.get("/help/report").text
