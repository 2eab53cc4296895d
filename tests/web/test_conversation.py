"""The conversation through the web: each kind of author reaches exactly the current
participants' keys, the server refuses anything else, the no-JS client's text is sealed
on the server and kept nowhere, earlier messages are shared with newcomers, and nobody
outside the conversation gets an envelope."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import httpx2 as httpx
import pytest
from nacl.public import PrivateKey
from starlette.testclient import TestClient

from portal.crypto.envelopes import EnvelopeError, open_envelope, seal
from portal.crypto.tokens import random_id
from portal.domain.conversation import (
    OVERHEAD,
    PAD_TO,
    open_message,
    padded,
)
from portal.storage import messages as store
from tests.factories import Actor, FakeClock, World, in_app, redeem, services_of, slip_code
from tests.test_privacy import database_text
from tests.web.conversation import (
    FROM_CLIENT,
    FROM_CLIENT_NO_JS,
    FROM_NGO,
    FROM_POLICE,
    Talk,
    client_key_of,
    form_of,
    post,
    register_staff_key,
    sealed,
    stored,
    stored_envelopes,
)
from tests.web.sealed import Case


def all_key_ids(talk: Talk) -> set[str]:
    return {key_id for key_id, _ in talk.keys.values()}


@pytest.mark.parametrize(
    ("author", "text"),
    [("investigator", FROM_POLICE), ("ngo_worker", FROM_NGO), ("client", FROM_CLIENT)],
)
def test_a_message_reaches_exactly_every_participant(
    client: TestClient, talk: Talk, author: str, text: str
) -> None:
    message_id, response = talk.write(author, text)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["saved"] is True and answer["next"] != message_id
    envelopes = stored_envelopes(talk)[message_id]
    assert set(envelopes) == all_key_ids(talk)
    for reader in ("investigator", "ngo_worker", "client"):
        assert talk.opens(reader, message_id, author) == text
    for envelope in envelopes.values():
        assert (len(envelope) - OVERHEAD) % PAD_TO == 0
    row = in_app(
        client,
        services_of(client).db.fetch_one,
        "SELECT author_role, author_account_id, sealed_in FROM messages WHERE id = :id",
        id=message_id,
    )
    assert row is not None
    expected_account = {
        "investigator": talk.case.investigator.actor,
        "ngo_worker": talk.case.ngo,
    }
    assert (row["author_role"], row["sealed_in"]) == (author, "browser")
    assert (row["author_account_id"] is None) == (author not in expected_account)
    audit = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT action, detail FROM audit_events WHERE consultation_id = :c"
        " AND action = 'message_written'",
        c=talk.consultation,
    )
    assert [(r["action"], r["detail"]) for r in audit] == [("message_written", f"author-{author}")]
    assert text not in database_text(client)


def test_an_envelope_opens_only_in_its_own_context(talk: Talk) -> None:
    message_id, response = talk.write("investigator", FROM_POLICE)
    assert response.status_code == 200
    key_id, secret = talk.keys["ngo_worker"]
    envelope = stored_envelopes(talk)[message_id][key_id]
    for wrong in (
        {"consultation_id": random_id()},
        {"message_id": random_id()},
        {"author_role": "client"},
        {"recipient_key_id": talk.keys["client"][0]},
    ):
        context = {
            "consultation_id": talk.consultation,
            "message_id": message_id,
            "author_role": "investigator",
            "recipient_key_id": key_id,
            **wrong,
        }
        with pytest.raises(EnvelopeError):
            open_message(secret, envelope, **context)


def test_refusals_store_nothing_and_say_why(
    client: TestClient, clock: FakeClock, world: World, talk: Talk
) -> None:
    # The author's own envelope missing: the set is not the current one.
    _id, response = talk.write("investigator", FROM_POLICE, drop=1)
    assert response.status_code == 409
    answer = response.json()
    assert answer["error"] == "recipients_changed"
    assert {r["id"] for r in answer["recipients"]} == all_key_ids(talk)
    # An envelope for a stranger's key, besides the right ones.
    stranger, _sk = register_staff_key(client, clock, world.other_ngo_worker.id)
    _id, response = talk.write("investigator", FROM_POLICE, extra=[f"{stranger}:" + "A" * 500])
    assert (response.status_code, response.json()["error"]) == (409, "recipients_changed")
    # The same recipient twice.
    message_id, recipients = form_of(talk.actor("ngo_worker").get(talk.page("ngo_worker")).text)
    twice = sealed(
        recipients + recipients[:1],
        consultation=talk.consultation,
        message_id=message_id,
        author="ngo_worker",
        text=FROM_NGO,
        at=clock.now(),
    )
    response = post(talk.case.ngo, talk.page("ngo_worker"), message_id, twice)
    assert (response.status_code, response.json()["error"]) == (400, "unreadable")
    # Envelopes that are not well formed: unpadded, another version, not base64.
    unpadded = base64.b64encode(b"\x01" + bytes(OVERHEAD - 1 + PAD_TO + 44)).decode()
    version_2 = base64.b64encode(b"\x02" + bytes(OVERHEAD - 1 + PAD_TO)).decode()
    for bad in (unpadded, version_2, "not base64!"):
        envelopes = [f"{r.key_id}:{bad}" for r in recipients]
        response = post(talk.case.ngo, talk.page("ngo_worker"), message_id, envelopes)
        assert (response.status_code, response.json()["error"]) == (400, "unreadable"), bad
    assert stored_envelopes(talk) == {}
    # A message id used twice.
    message_id, first = talk.write("client", FROM_CLIENT)
    assert first.status_code == 200
    _page_id, recipients = form_of(talk.case.client.get("/meeting").text)
    again = sealed(
        recipients,
        consultation=talk.consultation,
        message_id=message_id,
        author="client",
        text=FROM_CLIENT,
        at=clock.now(),
    )
    response = post(talk.case.client, "/meeting", message_id, again)
    assert (response.status_code, response.json()["error"]) == (400, "used")
    assert list(stored_envelopes(talk)) == [message_id]


def test_a_worker_without_a_key_can_neither_read_nor_write(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    page = case.ngo.get(f"/ngo/consultations/{case.consultation}").text
    assert "You have no key yet, so you can neither read nor write" in page
    assert 'href="/staff/key"' in page
    response = post(
        case.ngo, f"/ngo/consultations/{case.consultation}", random_id(), ["x:" + "A" * 500]
    )
    assert (response.status_code, response.json()["error"]) == (403, "no_key")
    assert stored(client, case.consultation) == {}


def test_people_outside_the_conversation_get_404_and_no_envelope(
    client: TestClient, clock: FakeClock, world: World, talk: Talk
) -> None:
    message_id, response = talk.write("investigator", FROM_POLICE)
    assert response.status_code == 200
    for person, base in (
        (world.coordinator, "/investigator"),
        (world.coordinator, "/ngo"),
        (world.other_ngo_worker, "/ngo"),
        (world.other_investigator, "/investigator"),
    ):
        register_staff_key(client, clock, person.id)
        outsider = Actor(client)
        outsider.log_in(person, clock)
        url = f"{base}/consultations/{talk.consultation}"
        assert outsider.get(url).status_code == 404
        token = outsider.csrf_from("/ngo" if person.role == "ngo_worker" else "/investigator/slots")
        for path in (url + "/messages", url + "/messages/share"):
            refused = outsider.request(
                "POST",
                path,
                data={"csrf_token": token, "message_id": random_id(), "envelope": []},
            )
            assert refused.status_code == 404, (person.username, path)
    assert set(stored_envelopes(talk)[message_id]) == all_key_ids(talk)


def test_without_javascript_the_server_seals_the_clients_text_to_everyone(
    client: TestClient, talk: Talk, logs_hold_no_secrets: list[str]
) -> None:
    page = talk.case.client.get("/meeting").text
    assert "locked on our server as soon as it arrives" in page
    message_id, _recipients = form_of(page)
    response = talk.case.client.submit(
        "/meeting", "/meeting/messages", message_id=message_id, text=FROM_CLIENT_NO_JS
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/meeting?sent=1#messages"
    assert set(stored_envelopes(talk)[message_id]) == all_key_ids(talk)
    for reader in ("investigator", "ngo_worker", "client"):
        assert talk.opens(reader, message_id, "client") == FROM_CLIENT_NO_JS
    sealed_in = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT sealed_in FROM messages WHERE id = :id",
        id=message_id,
    )
    assert sealed_in == "server"
    assert FROM_CLIENT_NO_JS not in database_text(client)
    assert FROM_CLIENT_NO_JS not in "\n".join(logs_hold_no_secrets)


def test_a_refused_text_comes_back_to_the_client(client: TestClient, talk: Talk) -> None:
    message_id, _ = form_of(talk.case.client.get("/meeting").text)
    long_text = FROM_CLIENT_NO_JS + " " + "x" * 4000
    response = talk.case.client.submit(
        "/meeting", "/meeting/messages", message_id=message_id, text=long_text
    )
    assert response.status_code == 400
    assert "The message is too long." in response.text
    assert long_text in response.text  # nothing typed is lost
    assert response.headers["cache-control"] == "no-store"
    assert stored_envelopes(talk) == {}


def test_earlier_messages_are_shared_with_a_newcomer(
    client: TestClient, clock: FakeClock, world: World, talk: Talk
) -> None:
    message_id, response = talk.write("investigator", FROM_POLICE)
    assert response.status_code == 200
    # The NGO worker replaces a lost key: the message was not sealed to the new one.
    new_key, new_sk = register_staff_key(client, clock, world.ngo_worker.id)
    talk.keys["ngo_worker"] = (new_key, new_sk)
    ngo_page = talk.case.ngo.get(talk.page("ngo_worker")).text
    assert "Written before you could read this conversation" in ngo_page
    inv_page = talk.case.investigator.actor.get(talk.page("investigator")).text
    assert "Share earlier messages with:" in inv_page
    assert f'data-missing="{new_key}"' in inv_page

    inv_key, inv_sk = talk.keys["investigator"]
    mine = stored_envelopes(talk)[message_id][inv_key]
    opened = json.loads(open_envelope(inv_sk, mine))  # what the investigator's browser does
    resealed = {**opened, "recipient": new_key}
    envelope = base64.b64encode(seal(_public(new_sk), padded(resealed))).decode()
    share = talk.page("investigator") + "/messages/share"

    def share_post(*fields: str) -> httpx.Response:
        actor = talk.case.investigator.actor
        token = actor.csrf_from(talk.page("investigator"))
        return actor.request("POST", share, data={"csrf_token": token, "shared": list(fields)})

    # Refused: a message of another consultation, a key that has one, a stranger's key.
    for bad in (
        f"{random_id()}:{new_key}:{envelope}",
        f"{message_id}:{inv_key}:{envelope}",
        f"{message_id}:{random_id()}:{envelope}",
    ):
        refused = share_post(bad)
        assert (refused.status_code, refused.json()["error"]) == (400, "not_shared"), bad
    # Refused: someone who cannot read the message themselves (the worker's new key has
    # no envelope of it) "sharing" a text of their own under the police's name.
    worker = talk.case.ngo
    forged = base64.b64encode(seal(_public(new_sk), padded({**resealed, "text": "forged"})))
    token = worker.csrf_from(talk.page("ngo_worker"))
    refused = worker.request(
        "POST",
        talk.page("ngo_worker") + "/messages/share",
        data={"csrf_token": token, "shared": [f"{message_id}:{new_key}:{forged.decode()}"]},
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "not_shared")
    accepted = share_post(f"{message_id}:{new_key}:{envelope}")
    assert accepted.json() == {"shared": 1}
    assert talk.opens("ngo_worker", message_id, "investigator") == FROM_POLICE
    assert share_post(f"{message_id}:{new_key}:{envelope}").status_code == 400  # once only
    assert "Written before you could read" not in talk.case.ngo.get(talk.page("ngo_worker")).text


def _public(secret: bytes) -> bytes:
    return bytes(PrivateKey(secret).public_key)


def test_the_clients_page_costs_the_same_queries_for_1_or_20_messages(
    client: TestClient, talk: Talk, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = services_of(client).db
    count = 0

    def counting(method: Any) -> Any:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            nonlocal count
            count += 1
            return await method(*args, **kwargs)

        return counted

    for name in ("fetch_one", "fetch_all", "fetch_value", "execute"):
        monkeypatch.setattr(db, name, counting(getattr(db, name)))

    def queries() -> int:
        nonlocal count
        count = 0
        assert talk.case.client.get("/meeting").status_code == 200
        return count

    assert talk.write("investigator", FROM_POLICE)[1].status_code == 200
    one = queries()
    for _ in range(19):
        assert talk.write("ngo_worker", FROM_NGO)[1].status_code == 200
    assert queries() == one


def test_a_message_puts_an_item_in_the_other_staff_readers_queues(
    client: TestClient, world: World, talk: Talk
) -> None:
    message_id, response = talk.write("ngo_worker", FROM_NGO)
    assert response.status_code == 200
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT account_id, kind, subject_id FROM attention_items WHERE consultation_id = :c",
        c=talk.consultation,
    )
    items = {(r["account_id"], r["kind"], r["subject_id"]) for r in rows}
    assert (world.investigator.id, "message", message_id) in items
    assert all(account != world.ngo_worker.id for account, _k, _s in items)  # not the author


def test_the_client_reads_through_the_server(client: TestClient, talk: Talk) -> None:
    for role, text in (
        ("investigator", FROM_POLICE),
        ("ngo_worker", FROM_NGO),
        ("client", FROM_CLIENT),
    ):
        assert talk.write(role, text)[1].status_code == 200
        talk.clock.advance(60)
    page = talk.case.client.get("/meeting")
    assert page.headers["cache-control"] == "no-store"
    found = re.findall(
        r'<p class="message-meta">([^<·]+) ·[^<]*</p>\s*<p class="message-text">([^<]+)</p>',
        page.text,
    )
    assert [(who.strip(), text) for who, text in found] == [
        ("the police", FROM_POLICE),
        ("your support worker", FROM_NGO),
        ("you", FROM_CLIENT),
    ]


def test_a_new_client_code_reads_earlier_messages_once_they_are_shared(
    client: TestClient, talk: Talk
) -> None:
    message_id, response = talk.write("investigator", FROM_POLICE)
    assert response.status_code == 200
    slip = talk.case.ngo.submit(talk.page("ngo_worker"), talk.page("ngo_worker") + "/code")
    newcomer, _code = redeem(client, slip_code(slip))
    talk.case.client = newcomer
    new_key, new_secret = client_key_of(client, talk.case)
    assert new_key != talk.keys["client"][0]
    page = newcomer.get("/meeting").text
    assert FROM_POLICE not in page
    assert "written before you could read this conversation" in page

    inv_page = talk.case.investigator.actor.get(talk.page("investigator")).text
    assert f'data-missing="{new_key}"' in inv_page
    assert "Share earlier messages with: the client" in inv_page
    inv_key, inv_sk = talk.keys["investigator"]
    opened = json.loads(open_envelope(inv_sk, stored_envelopes(talk)[message_id][inv_key]))
    resealed = seal(_public(new_secret), padded({**opened, "recipient": new_key}))
    actor = talk.case.investigator.actor
    answer = actor.request(
        "POST",
        talk.page("investigator") + "/messages/share",
        data={
            "csrf_token": actor.csrf_from(talk.page("investigator")),
            "shared": f"{message_id}:{new_key}:{base64.b64encode(resealed).decode()}",
        },
    )
    assert answer.json() == {"shared": 1}
    assert FROM_POLICE in newcomer.get("/meeting").text


def test_the_meeting_page_shows_the_latest_three_and_links_to_all(
    client: TestClient, talk: Talk
) -> None:
    texts = [f"Message number {n} from the police" for n in range(1, 6)]
    for text in texts[:3]:
        assert talk.write("investigator", text)[1].status_code == 200
        talk.clock.advance(60)
    page = talk.case.client.get("/meeting").text
    assert [t for t in texts if t in page] == texts[:3]
    assert 'href="/meeting/messages#messages"' not in page  # nothing more to read
    for text in texts[3:]:
        assert talk.write("investigator", text)[1].status_code == 200
        talk.clock.advance(60)
    page = talk.case.client.get("/meeting").text
    assert [t for t in texts if t in page] == texts[2:]
    assert '<a href="/meeting/messages#messages">Read all messages</a>' in page
    assert '<ol class="message-list" start="3">' in page  # numbered as in the whole

    everything = talk.case.client.get("/meeting/messages")
    assert everything.status_code == 200
    assert everything.headers["cache-control"] == "no-store"
    assert re.findall(r"Message number (\d) from the police", everything.text) == list("12345")
    assert '<h1 id="messages-heading">All messages</h1>' in everything.text
    assert 'action="/meeting/messages#messages" class="stack message-form"' in everything.text
    # The answer form there works without JavaScript, as on the meeting page.
    token = talk.case.client.csrf_from("/meeting/messages")
    message_id, _recipients = form_of(everything.text)
    sent = talk.case.client.request(
        "POST",
        "/meeting/messages",
        data={"csrf_token": token, "message_id": message_id, "text": FROM_CLIENT_NO_JS},
    )
    assert sent.status_code == 303
    assert FROM_CLIENT_NO_JS in talk.case.client.get("/meeting/messages").text


def test_the_page_of_all_messages_is_the_clients_own(client: TestClient, talk: Talk) -> None:
    assert talk.write("investigator", FROM_POLICE)[1].status_code == 200
    outsider = client.get("/meeting/messages")
    assert outsider.status_code in (303, 404)  # to the code page, or not confirmed
    assert FROM_POLICE not in outsider.text
    staff = talk.case.ngo.get("/meeting/messages")
    assert staff.status_code == 404
    assert FROM_POLICE not in staff.text


def test_messages_written_in_the_same_second_keep_the_order_they_were_sent(
    client: TestClient, talk: Talk
) -> None:
    """Times are stored in whole seconds: five messages in one second (a client who
    sends quickly, two people at once) are still read in the order they arrived, and
    the meeting page's latest three are the last three sent."""
    texts = [f"Message number {n} from the police" for n in range(1, 6)]
    sent = [talk.write("investigator", text) for text in texts]  # the clock stands still
    assert all(response.status_code == 200 for _id, response in sent)
    page = talk.case.client.get("/meeting").text
    assert re.findall(r"Message number (\d) from the police", page) == list("345")
    everything = talk.case.client.get("/meeting/messages").text
    assert re.findall(r"Message number (\d) from the police", everything) == list("12345")
    staff_page = talk.case.ngo.get(talk.page("ngo_worker")).text
    shown = re.findall(r'<li class="message" data-message-id="([^"]+)"', staff_page)
    assert shown == [message_id for message_id, _response in sent]


def test_two_messages_written_at_once_take_turns_for_their_numbers(
    client: TestClient, talk: Talk
) -> None:
    """The second writer waits for the first to commit and takes the next number (on
    PostgreSQL two transactions would otherwise both count the same messages)."""
    db = services_of(client).db
    first_wrote = asyncio.Event()

    async def write(message_id: str, hold: bool) -> None:
        async with db.transaction() as tx:
            written = await store.insert_message(
                tx,
                message_id=message_id,
                consultation_id=talk.consultation,
                author_role="client",
                author_account_id=None,
                sealed_in="server",
                now=talk.clock.now(),
            )
            assert written
            if hold:  # the second writer starts while this transaction is open
                first_wrote.set()
                await asyncio.sleep(0.3)

    async def second() -> None:
        await first_wrote.wait()
        await write("second" + random_id()[:10], hold=False)

    async def both() -> list[tuple[str, int]]:
        await asyncio.gather(write("first" + random_id()[:10], hold=True), second())
        rows = await db.fetch_all(
            "SELECT id, number FROM messages WHERE consultation_id = :c ORDER BY number",
            c=talk.consultation,
        )
        return [(row["id"][:5], row["number"]) for row in rows]

    assert in_app(client, both) == [("first", 1), ("secon", 2)]
