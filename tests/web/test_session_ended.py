"""Work never lost: a form sent after its session ended says so in the page's language,
lets the person sign in or enter their code again, and gives back what they typed - in
the page only, never stored, never a secret (portal/web/kept.py, ended.py)."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from starlette.testclient import TestClient

from portal.crypto.totp import code_at
from tests.factories import (
    CANARIES,
    Actor,
    FakeClock,
    Person,
    World,
    book,
    in_app,
    make_place,
    make_slot,
    redeem,
    services_of,
    slip_code,
)
from tests.test_privacy import database_text
from tests.web.conversation import FROM_CLIENT, FROM_NGO, form_of, sealed, stored
from tests.web.sealed import FEARS, WISHES, create_key

if TYPE_CHECKING:
    import httpx

HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')
FORM_ACTION = re.compile(r'<form method="post" action="([^"]+)"')


def hidden_fields(page: str, action: str) -> list[tuple[str, str]]:
    """The hidden fields of the form posting to ``action``, as a browser would send them."""
    start = page.index(f'<form method="post" action="{action}"')
    form = page[start : page.index("</form>", start)]
    return [(name, html.unescape(value)) for name, value in HIDDEN.findall(form)]


def setup(client: TestClient, clock: FakeClock, world: World) -> tuple[Actor, Actor, str, str]:
    """An NGO worker who booked, and the client who entered the slip's code; returns
    (worker, client, the client's own code, consultation id)."""
    svc = services_of(client)
    create_key(client, clock, world.investigator)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    person, code = redeem(client, slip_code(book(worker, slot)), locale="fi")
    found = re.search(r'href="/ngo/consultations/([^"]+)"', worker.get("/ngo").text)
    assert found
    CANARIES.update({FEARS, WISHES})
    return worker, person, code, found.group(1)


def sign_in_again(
    actor: Actor, person: Person, clock: FakeClock, carried: Mapping[str, str | list[str]]
) -> httpx.Response:
    """The sign-in form sent with what it carried; the page after it."""
    clock.advance(30)  # a fresh authenticator code
    signed_in = actor.request(
        "POST",
        "/login",
        data={
            **carried,
            "username": person.username,
            "password": person.password,
            "totp_code": code_at(person.totp_secret, clock.now()),
        },
    )
    assert signed_in.status_code == 200
    return signed_in


def stored_notes(client: TestClient, consultation: str) -> list[str]:
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT author_role FROM notes WHERE consultation_id = :c",
        c=consultation,
    )
    return [r["author_role"] for r in rows]


def assert_nowhere_stored(client: TestClient, response: httpx.Response, *texts: str) -> None:
    assert not any(text in database_text(client) for text in texts)
    cookies = " ".join(response.headers.get_list("set-cookie"))
    assert not any(text in cookies for text in texts)
    assert "location" not in response.headers


def test_a_worker_signs_in_again_and_sends_the_note_they_were_writing(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    worker, _client, _code, consultation = setup(client, clock, world)
    page = f"/ngo/consultations/{consultation}"
    worker.submit("/staff", "/language", locale="fi", next="/staff")
    token = worker.csrf_from(page)
    clock.advance(31 * 60)  # the worker writes for longer than the idle timeout
    typed = {"csrf_token": token, "page_lang": "fi", "fears": FEARS, "wishes": "<b>&x"}
    refused = worker.request("POST", page + "/notes", data=typed)

    assert refused.status_code == 403
    text = refused.text
    assert "Istuntosi päättyi. Kirjaudu sisään uudelleen." in text  # in the page's language
    assert "refused" not in text
    assert f'readonly rows="4" aria-labelledby="kept-heading">{FEARS}</textarea>' in text
    assert "&lt;b&gt;&amp;x" in text and "<b>&x" not in text  # escaped, never markup
    assert token not in text.replace(worker.csrf_from("/login"), "")  # the old token is gone
    assert_nowhere_stored(client, refused, FEARS)

    # The sign-in form carries the note; signing in again offers it back, unsent.
    carried = dict(hidden_fields(text, "/login"))
    assert carried["kept_to"] == page + "/notes"
    assert carried["kept:fears"] == FEARS and carried["kept:wishes"] == "<b>&x"
    person = world.ngo_worker
    signed_in = sign_in_again(worker, person, clock, carried)
    assert "Lähetä kirjoittamasi" in signed_in.text
    assert stored_notes(client, consultation) == []  # nothing sent without their click
    assert page + "/notes" in FORM_ACTION.findall(signed_in.text)
    resend = hidden_fields(signed_in.text, page + "/notes")
    assert ("fears", FEARS) in resend and ("wishes", "<b>&x") in resend
    assert person.password not in signed_in.text

    sent = worker.request("POST", page + "/notes", data=dict(resend))
    assert sent.status_code == 303
    assert stored_notes(client, consultation) == ["ngo_worker"]
    assert FEARS not in database_text(client)


def test_a_client_enters_the_code_again_and_sends_what_they_wrote(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    _worker, person, code, consultation = setup(client, clock, world)
    token = person.csrf_from("/meeting")
    clock.advance(11 * 60)  # the client's page closed while they wrote
    typed = {"csrf_token": token, "page_lang": "fi", "threats": FEARS}
    refused = person.request("POST", "/meeting/notes", data=typed)

    assert refused.status_code == 403
    assert "Kirjoita koodisi" in refused.text  # the code page, in Finnish
    assert "Mitään ei lähetetty." in refused.text
    assert FEARS in refused.text and code.replace(" ", "") not in refused.text
    assert_nowhere_stored(client, refused, FEARS)

    carried = hidden_fields(refused.text, "/code")
    assert ("kept:threats", FEARS) in carried and ("kept_to", "/meeting/notes") in carried
    back = person.request("POST", "/code", data={**dict(carried), "code": code})
    assert back.status_code == 200
    assert "Lähetä kirjoittamasi" in back.text  # the language chosen before stays
    assert code not in back.text and code.replace(" ", "") not in back.text
    resend = hidden_fields(back.text, "/meeting/notes")
    assert ("threats", FEARS) in resend

    assert person.request("POST", "/meeting/notes", data=dict(resend)).status_code == 303
    [envelope] = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT envelope FROM notes WHERE consultation_id = :c",
        c=consultation,
    )
    assert envelope is not None and FEARS not in database_text(client)


def test_a_script_posting_after_the_session_ended_is_told_so_in_json(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """static/js/conversation.js posts sealed messages with fetch: an ended session is a
    refusal it can name ("ended"), with the words on the page, not a page it cannot read."""
    worker, person, _code, consultation = setup(client, clock, world)
    create_key(client, clock, world.ngo_worker)  # so that the worker's page has the form
    client_token = person.csrf_from("/meeting")
    assert 'data-code="ended">Olit poissa' in person.get("/meeting").text  # in Finnish
    staff_page = worker.get(f"/ngo/consultations/{consultation}")
    assert 'data-code="ended">Your session ended. Sign in again.' in staff_page.text
    staff_token = worker.csrf_from(f"/ngo/consultations/{consultation}")
    clock.advance(31 * 60)  # both pages closed meanwhile
    for actor, action, token in (
        (person, "/meeting/messages", client_token),
        (worker, f"/ngo/consultations/{consultation}/messages", staff_token),
    ):
        answer = actor.request(
            "POST",
            action,
            data={"csrf_token": token, "message_id": "m", "envelope": "k:AAAA"},
            headers={"accept": "application/json"},
        )
        assert answer.status_code == 403, action
        assert answer.json() == {"error": "ended"}, action


def test_a_wrong_code_keeps_carrying_the_text(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    _worker, person, _code, _consultation = setup(client, clock, world)
    token = person.csrf_from("/meeting")
    clock.advance(11 * 60)
    refused = person.request(
        "POST", "/meeting/notes", data={"csrf_token": token, "page_lang": "fi", "threats": FEARS}
    )
    carried = hidden_fields(refused.text, "/code")
    wrong = person.request("POST", "/code", data={**dict(carried), "code": "1234 5678 9012"})
    assert wrong.status_code == 400
    assert "Kirjoita koodisi" in wrong.text  # still in the language of the closed page
    assert ("kept:threats", FEARS) in hidden_fields(wrong.text, "/code")
    assert "kept:code" not in wrong.text  # the code is never carried


def test_secrets_are_never_given_back(client: TestClient, clock: FakeClock, world: World) -> None:
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    token = worker.csrf_from("/staff")
    clock.advance(31 * 60)
    secrets = {
        "password": "canary-password-1",
        "new_password": "canary-password-2",
        "passphrase": "canary-passphrase-3",
        "code": "canary-code-4",
        "totp_code": "canary-totp-5",
        "totp_pending": "canary-pending-6",
        "wrapped_key": "canary-wrapped-7",
        "recovery_wrapped_key": "canary-wrapped-8",
        "reset_token": "canary-token-9",
    }
    CANARIES.update(secrets.values())
    refused = worker.request(
        "POST",
        "/staff/password",
        data={"csrf_token": token, "reason": "a reason", **secrets},
    )
    assert refused.status_code == 403
    assert "a reason" in refused.text
    assert not [value for value in secrets.values() if value in refused.text]
    assert token not in refused.text


def test_only_a_local_address_is_offered_back(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.ngo_worker
    for target in ("//evil.example/x", "https://evil.example/x", "/a\\b", "javascript:x"):
        browser = Actor(client)
        clock.advance(30)
        response = browser.submit(
            "/login",
            kept_to=target,
            **{"kept:text": "hello"},
            username=person.username,
            password=person.password,
            totp_code=code_at(person.totp_secret, clock.now()),
        )
        assert response.status_code == 303 and response.headers["location"] == "/staff"


def test_a_page_older_than_the_session_offers_the_text_at_once(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    worker, _client, _code, consultation = setup(client, clock, world)
    page = f"/ngo/consultations/{consultation}"
    old_token = worker.csrf_from(page)
    worker.request("POST", "/logout", data={"csrf_token": old_token})
    worker.log_in(world.ngo_worker, clock)  # signed out and in again in another tab
    refused = worker.request(
        "POST", page + "/notes", data={"csrf_token": old_token, "fears": FEARS}
    )
    assert refused.status_code == 403
    assert "Send what you typed" in refused.text
    resend = hidden_fields(refused.text, page + "/notes")
    assert ("fears", FEARS) in resend
    assert worker.request("POST", page + "/notes", data=dict(resend)).status_code == 303
    assert stored_notes(client, consultation) == ["ngo_worker"]


def test_a_cross_site_post_is_refused_without_an_echo(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    worker = Actor(client)
    worker.log_in(world.ngo_worker, clock)
    forged = worker.request(
        "POST",
        "/ngo/book",
        data={"situation": "canary-forged-text"},
        headers={"sec-fetch-site": "cross-site"},
    )
    assert forged.status_code == 403
    assert "canary-forged-text" not in forged.text


def as_posted(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    """Hidden fields as a browser posts them, a repeated name (envelope) with each value."""
    found: dict[str, list[str]] = {}
    for name, value in fields:
        found.setdefault(name, []).append(value)
    return found


def _sealed_by(actor: Actor, page: str, consultation: str, author: str, at: int) -> dict:
    """The message form of ``page`` as its script sends it: the text sealed to every
    recipient the page names, and the page's hidden fields."""
    text = actor.get(page).text
    message_id, recipients = form_of(text)
    envelopes = sealed(
        recipients,
        consultation=consultation,
        message_id=message_id,
        author=author,
        text=FROM_CLIENT if author == "client" else FROM_NGO,
        at=at,
    )
    fields = dict(
        hidden_fields(
            text, "/meeting/messages#messages" if author == "client" else page + "/messages"
        )
    )
    return {**fields, "envelope": envelopes}


def test_a_sealed_message_is_carried_through_the_code_page_and_sent_again(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """With JavaScript a message is sealed before it is posted; when the page closed
    meanwhile, the script sends the envelopes as a plain form: the code page carries
    them, and after the code they are sent with one click, still sealed."""
    _worker, person, code, consultation = setup(client, clock, world)
    CANARIES.add(FROM_CLIENT)
    typed = _sealed_by(person, "/meeting", consultation, "client", clock.now())
    clock.advance(11 * 60)  # the client's page closed while they wrote
    refused = person.request("POST", "/meeting/messages", data=typed)

    assert refused.status_code == 403
    assert "Kirjoita koodisi" in refused.text  # the code page, in the page's language
    assert "Kirjoittamasi lukittiin ennen lähettämistä." in refused.text  # and kept locked
    carried = hidden_fields(refused.text, "/code")
    assert ("kept_to", "/meeting/messages") in carried
    assert [v for n, v in carried if n == "kept:envelope"] == typed["envelope"]
    back = person.request("POST", "/code", data={**as_posted(carried), "code": code})
    assert back.status_code == 200 and "Lähetä kirjoittamasi" in back.text
    assert stored(client, consultation) == {}  # nothing sent without their click

    resend = as_posted(hidden_fields(back.text, "/meeting/messages"))
    sent = person.request("POST", "/meeting/messages", data=resend)
    assert (sent.status_code, sent.headers["location"]) == (303, "/meeting?sent=1#messages")
    assert list(stored(client, consultation)) == [typed["message_id"]]
    assert FROM_CLIENT in person.get("/meeting/messages").text  # opened with their key
    assert FROM_CLIENT not in database_text(client)
    # Sent once more (a double tap, a second tab): refused, and not put back in the box
    # (sent from there, it would be in the conversation twice).
    twice = person.request("POST", "/meeting/messages", data=resend)
    assert twice.status_code == 400
    assert f">{FROM_CLIENT}</textarea>" not in twice.text
    assert list(stored(client, consultation)) == [typed["message_id"]]


def test_a_worker_signs_in_again_and_sends_the_sealed_message(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    worker, _person, _code, consultation = setup(client, clock, world)
    create_key(client, clock, world.ngo_worker)
    page = f"/ngo/consultations/{consultation}"
    typed = _sealed_by(worker, page, consultation, "ngo_worker", clock.now())
    clock.advance(31 * 60)
    refused = worker.request("POST", page + "/messages", data=typed)
    assert refused.status_code == 403 and "Your session ended. Sign in again." in refused.text
    carried = as_posted(hidden_fields(refused.text, "/login"))
    signed_in = sign_in_again(worker, world.ngo_worker, clock, carried)
    resend = as_posted(hidden_fields(signed_in.text, page + "/messages"))
    sent = worker.request("POST", page + "/messages", data=resend)
    assert (sent.status_code, sent.headers["location"]) == (303, page + "#messages")
    assert list(stored(client, consultation)) == [typed["message_id"]]

    again = worker.request("POST", page + "/messages", data=resend)  # back, and once more
    assert again.status_code == 400
    assert "This message was sent already." in again.text
    assert f'href="{page}#messages"' in again.text
    assert list(stored(client, consultation)) == [typed["message_id"]]


def test_a_sealed_message_refused_as_a_plain_form_comes_back_into_the_clients_box(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """Sent again after the code, the conversation may have changed meanwhile (a new
    participant): the meeting page says so with the text back in the box (opened from
    the client's own envelope with the key of their session)."""
    _worker, person, _code, consultation = setup(client, clock, world)
    CANARIES.add(FROM_CLIENT)
    typed = _sealed_by(person, "/meeting", consultation, "client", clock.now())
    # The page names the client and the investigator (by role): the investigator's
    # envelope is missing, as if their key had changed meanwhile.
    assert len(typed["envelope"]) == 2
    typed["envelope"] = typed["envelope"][:1]
    refused = person.request("POST", "/meeting/messages", data=typed)
    assert refused.status_code == 409
    assert "Keskustelun osallistujat muuttuivat" in refused.text
    assert f">{FROM_CLIENT}</textarea>" in refused.text
    assert stored(client, consultation) == {}


def test_what_one_worker_typed_is_not_offered_to_a_colleague_who_signs_in(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """A shared office computer: the page closed while one worker wrote, and a colleague
    signs in on it. The sealed message is not offered to them (it would go out in their
    name), and nothing is sent."""
    worker, _person, _code, consultation = setup(client, clock, world)
    create_key(client, clock, world.ngo_worker)
    page = f"/ngo/consultations/{consultation}"
    typed = _sealed_by(worker, page, consultation, "ngo_worker", clock.now())
    assert typed["page_by"] == world.ngo_worker.id
    clock.advance(31 * 60)
    refused = worker.request("POST", page + "/messages", data=typed)
    carried = as_posted(hidden_fields(refused.text, "/login"))
    colleague = sign_in_again(worker, world.other_ngo_worker, clock, carried)
    assert "written while someone else was signed in, so it is not offered to you" in (
        colleague.text
    )
    assert page + "/messages" not in FORM_ACTION.findall(colleague.text)
    assert stored(client, consultation) == {}
