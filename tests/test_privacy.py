"""Privacy: secrets and client addresses never reach the database in clear."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from portal.storage.tables import metadata
from tests.factories import CANARIES, CLIENT_ADDRESS, Actor, FakeClock, World, in_app, services_of
from tests.web.test_enrolment import enrol, invite


def database_text(client: TestClient) -> str:
    svc = services_of(client)
    chunks = []
    for table in metadata.sorted_tables:
        rows = in_app(client, svc.db.fetch_all, f"SELECT * FROM {table.name}")  # noqa: S608 - our names
        for row in rows:
            for value in tuple(row):
                chunks.append(
                    bytes(value).decode("latin-1")
                    if isinstance(value, bytes | memoryview)
                    else str(value)
                )
    return "\n".join(chunks)


def test_no_password_session_id_token_or_address_is_stored_in_clear(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    path = invite(actor, clock, world)
    newcomer, _response = enrol(client, clock, path)
    CANARIES.add(newcomer.session_id())
    Actor(client).log_in(world.investigator, clock)
    stored = database_text(client)
    # TOTP keys are the one secret the server must be able to read back to check codes.
    totp_key = re.compile(r"[A-Z2-7]{32}")
    leaked = [c for c in CANARIES | {CLIENT_ADDRESS} if c in stored and not totp_key.fullmatch(c)]
    assert not leaked, leaked
    assert "argon2id" in stored  # passwords are there only as argon2id hashes
