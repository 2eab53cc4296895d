"""Sealed notes through the web: keys, sealing with and without JavaScript, who can
read what, re-sealing after reassignment, and the offline export."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from portal.crypto.envelopes import open_json, seal_json
from portal.crypto.wrapped_keys import wrap
from tests.factories import (
    Actor,
    FakeClock,
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
from tests.web.sealed import FEARS, PASSPHRASE, RECOVERY, WISHES, Case, create_key


def stored_envelopes(client: TestClient, consultation: str) -> list[tuple[bytes, str, str]]:
    rows = in_app(
        client,
        services_of(client).db.fetch_all,
        "SELECT envelope, sealed_in, author_role FROM notes WHERE consultation_id = :c"
        " ORDER BY created_at",
        c=consultation,
    )
    return [(bytes(r["envelope"]), r["sealed_in"], r["author_role"]) for r in rows]


def test_without_javascript_the_server_seals_the_note(client: TestClient, case: Case) -> None:
    page = f"/ngo/consultations/{case.consultation}"
    response = case.ngo.submit(page, page + "/notes", fears=FEARS, wishes=WISHES)
    assert response.status_code == 303
    assert "locked on the server" in case.ngo.get(response.headers["location"]).text
    [(envelope, sealed_in, author)] = stored_envelopes(client, case.consultation)
    assert (sealed_in, author) == ("server", "ngo_worker")
    note = open_json(
        case.investigator.secret_key,
        envelope,
        {
            "v": 1,
            "consultation": case.consultation,
            "kind": "prepared_note",
            "author": "ngo_worker",
        },
    )
    assert note["fears"] == FEARS and note["wishes"] == WISHES
    assert FEARS not in database_text(client)  # only the envelope is stored


def test_with_javascript_only_the_envelope_arrives(
    client: TestClient, clock: FakeClock, case: Case
) -> None:
    svc = services_of(client)
    public = in_app(
        client,
        svc.db.fetch_value,
        "SELECT public_key FROM investigator_keys WHERE id = :id",
        id=case.investigator.key_id,
    )
    envelope = seal_json(
        bytes(public),
        {
            "v": 1,
            "consultation": case.consultation,
            "kind": "prepared_note",
            "author": "client",
            "time": clock.now(),
            "fears": FEARS,
        },
    )
    response = case.client.submit(
        "/meeting",
        "/meeting/notes",
        key_id=case.investigator.key_id,
        envelope=base64.b64encode(envelope).decode(),
    )
    assert response.status_code == 303
    assert "locked in this browser" in case.client.get(response.headers["location"]).text
    assert stored_envelopes(client, case.consultation) == [(envelope, "browser", "client")]


def test_the_client_can_write_without_javascript(client: TestClient, case: Case) -> None:
    response = case.client.submit("/meeting", "/meeting/notes", threats=FEARS)
    assert response.status_code == 303
    [(envelope, sealed_in, author)] = stored_envelopes(client, case.consultation)
    assert (sealed_in, author) == ("server", "client")
    opened = open_json(case.investigator.secret_key, envelope, {"author": "client"})
    assert opened["threats"] == FEARS
    assert FEARS not in case.client.get("/meeting").text  # authors cannot read it back
    assert FEARS not in case.ngo.get(f"/ngo/consultations/{case.consultation}").text


@pytest.mark.parametrize(
    "fields",
    [
        {"envelope": "not base64!"},
        {"envelope": base64.b64encode(b"\x02" + b"x" * 100).decode()},
        {"envelope": base64.b64encode(b"\x01" + b"x" * 10).decode()},
        {"other": "   "},
    ],
)
def test_bad_notes_are_refused_and_the_text_is_kept(
    client: TestClient, case: Case, fields: dict[str, str]
) -> None:
    data = {
        "key_id": case.investigator.key_id,
        "wishes": "" if "other" in fields else WISHES,
        **fields,
    }
    response = case.client.submit("/meeting", "/meeting/notes", **data)
    assert response.status_code == 400
    if data["wishes"]:
        assert WISHES in response.text  # nothing typed is lost
    assert stored_envelopes(client, case.consultation) == []


def test_typed_text_is_never_kept_as_cached_markup(client: TestClient, case: Case) -> None:
    """The empty note boxes are cached markup; boxes holding what someone typed must never
    be (the next visitor would see it)."""
    assert case.client.get("/meeting").status_code == 200  # the empty boxes, cached
    refused = case.client.submit(
        "/meeting", "/meeting/notes", envelope="not base64!", wishes=WISHES
    )
    assert refused.status_code == 400 and WISHES in refused.text
    assert WISHES not in case.client.get("/meeting").text
    assert WISHES not in case.ngo.get(f"/ngo/consultations/{case.consultation}").text
    templates = client.app.state.templates
    for locale in ("en", "fi", "sv"):
        assert not any(WISHES in block for block in templates.blocks(locale).kept.values())


def test_an_envelope_for_a_replaced_key_is_refused(client: TestClient, case: Case) -> None:
    response = case.client.submit(
        "/meeting",
        "/meeting/notes",
        key_id="old-key",
        envelope=base64.b64encode(b"\x01" + b"k" * 120).decode(),
    )
    assert response.status_code == 400 and "key changed" in response.text


def test_no_key_no_notes(client: TestClient, clock: FakeClock, world: World) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.other_investigator, place)
    ngo = Actor(client)
    ngo.log_in(world.ngo_worker, clock)
    person, _code = redeem(client, slip_code(book(ngo, slot)))
    assert "cannot receive notes yet" in person.get("/meeting").text
    response = person.submit("/meeting", "/meeting/notes", fears=FEARS)
    assert response.status_code == 400 and "cannot receive notes yet" in response.text


def test_others_cannot_add_or_export_notes(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    other_ngo = Actor(client)
    other_ngo.log_in(world.other_ngo_worker, clock)
    token = other_ngo.csrf_from("/ngo")
    response = other_ngo.request(
        "POST",
        f"/ngo/consultations/{case.consultation}/notes",
        data={"csrf_token": token, "fears": FEARS},
    )
    assert response.status_code == 404
    other_investigator = create_key(client, clock, world.other_investigator)
    export = other_investigator.actor.get(f"/investigator/consultations/{case.consultation}/export")
    assert export.status_code == 404
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    case.ngo.submit(
        f"/ngo/consultations/{case.consultation}",
        f"/ngo/consultations/{case.consultation}/notes",
        fears=FEARS,
    )
    [(envelope, _s, _a)] = stored_envelopes(client, case.consultation)
    for path in ("/coordinator/schedule", "/coordinator/people", "/staff"):
        assert base64.b64encode(envelope).decode()[:40] not in coordinator.get(path).text


def test_export_opens_offline_with_portal_decrypt(
    client: TestClient, case: Case, tmp_path: Path
) -> None:
    page = f"/ngo/consultations/{case.consultation}"
    case.ngo.submit(page, page + "/notes", fears=FEARS, wishes=WISHES)
    export = case.investigator.actor.get(f"/investigator/consultations/{case.consultation}/export")
    assert export.status_code == 200
    assert "attachment" in export.headers["content-disposition"]
    assert FEARS not in export.text
    path = tmp_path / "export.json"
    path.write_text(export.text)
    for secret, extra in ((PASSPHRASE, []), (RECOVERY.lower().replace("-", " "), ["--recovery"])):
        secret_file = tmp_path / "secret"
        secret_file.write_text(secret)
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "portal",
                "decrypt",
                str(path),
                "--secret-file",
                str(secret_file),
                *extra,
            ],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        assert FEARS in result.stdout and WISHES in result.stdout
    secret_file.write_text("wrong passphrase entirely")
    wrong = subprocess.run(
        [sys.executable, "-m", "portal", "decrypt", str(path), "--secret-file", str(secret_file)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wrong.returncode != 0 and "wrong" in wrong.stderr
    document = json.loads(export.text)
    assert document["format"] == "intake-portal-notes-export" and len(document["notes"]) == 1


def test_a_replaced_key_leaves_old_notes_visibly_unreadable(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    page = f"/ngo/consultations/{case.consultation}"
    case.ngo.submit(page, page + "/notes", fears=FEARS)
    create_key(client, clock, world.investigator)  # lost everything: a new key
    investigator_page = case.investigator.actor.get(
        f"/investigator/consultations/{case.consultation}"
    ).text
    assert "Sealed to another key" in investigator_page
    assert "prepare them again" in case.ngo.get(page).text


def test_reassignment_then_resealing_hands_the_notes_over(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    page = f"/ngo/consultations/{case.consultation}"
    case.ngo.submit(page, page + "/notes", fears=FEARS)
    newcomer = create_key(client, clock, world.other_investigator)
    coordinator = Actor(client)
    coordinator.log_in(world.coordinator, clock)
    meeting = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT id FROM meetings WHERE consultation_id = :c",
        c=case.consultation,
    )
    coordinator.submit(
        "/coordinator/schedule",
        f"/coordinator/meetings/{meeting}/reassign",
        investigator_id=world.other_investigator.id,
    )
    assert "prepare them again" in case.ngo.get(page).text
    assert (
        "Sealed to another key"
        in newcomer.actor.get(f"/investigator/consultations/{case.consultation}").text
    )

    # The previous investigator's browser opens each note and seals it to the newcomer.
    reseal = case.investigator.actor.get("/investigator/reseal").text
    target = re.search(r'data-target-key="([^"]+)"', reseal)
    target_id = re.search(r'name="target_key_id" value="([^"]+)"', reseal)
    notes = re.findall(r'data-note-id="([^"]+)" data-envelope="([^"]+)"', reseal)
    assert target and target_id and len(notes) == 1
    resealed = {}
    for note_id, envelope in notes:
        message = open_json(
            case.investigator.secret_key,
            base64.b64decode(envelope),
            {"consultation": case.consultation},
        )
        resealed[note_id] = base64.b64encode(
            seal_json(base64.b64decode(target.group(1)), message)
        ).decode()
    done = case.investigator.actor.submit(
        "/investigator/reseal", resealed=json.dumps(resealed), target_key_id=target_id.group(1)
    )
    assert done.status_code == 303
    [(envelope, _s, _a)] = stored_envelopes(client, case.consultation)
    assert (
        open_json(newcomer.secret_key, envelope, {"consultation": case.consultation})["fears"]
        == FEARS
    )
    assert "prepare them again" not in case.ngo.get(page).text
    assert "Nothing to do." in case.investigator.actor.get("/investigator/reseal").text


def test_passphrase_change_replaces_only_the_wrapping(client: TestClient, case: Case) -> None:
    new_wrapped = wrap(case.investigator.secret_key, "another passphrase 123", 2, 19456)
    response = case.investigator.actor.submit(
        "/staff/key",
        "/staff/key/passphrase",
        wrapped_key=base64.b64encode(new_wrapped).decode(),
    )
    assert response.status_code == 303
    stored = in_app(
        client,
        services_of(client).db.fetch_value,
        "SELECT wrapped_key FROM investigator_keys WHERE id = :id",
        id=case.investigator.key_id,
    )
    assert bytes(stored) == new_wrapped
    bad = case.investigator.actor.submit(
        "/staff/key",
        "/staff/key/passphrase",
        wrapped_key=base64.b64encode(b"\x01" * 10).decode(),
    )
    assert bad.status_code == 400


def test_the_ngo_page_before_the_client_used_the_slip(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    svc = services_of(client)
    place = in_app(client, make_place, svc)
    slot = in_app(client, make_slot, svc, world.investigator, place)
    ngo = Actor(client)
    ngo.log_in(world.ngo_worker, clock)
    book(ngo, slot)
    found = re.search(r'href="(/ngo/consultations/[^"]+)"', ngo.get("/ngo").text)
    assert found
    page = ngo.get(found.group(1))
    assert page.status_code == 200 and "has not been used yet" in page.text


def test_the_client_page_seals_to_the_investigators_current_key(
    client: TestClient, clock: FakeClock, world: World, case: Case
) -> None:
    page = case.client.get("/meeting").text
    assert f'name="key_id" value="{case.investigator.key_id}"' in page
    replaced = create_key(client, clock, world.investigator)  # the old key is retired
    page = case.client.get("/meeting").text
    assert f'name="key_id" value="{replaced.key_id}"' in page
    assert case.investigator.key_id not in page
