"""Demo-like data in bulk, straight into the real schema (after ``portal migrate``).

Rows are built in Python and written with one ``executemany`` per table (SQLite) or one
``COPY`` per table (PostgreSQL): 100,000 consultations take seconds, not the hours that
booking them one by one through the domain layer (argon2 per code) would take.

What the benchmarked pages read is all here: organisations, staff accounts, places,
investigator keys (the client's note form seals to one), free slots for the NGO search,
and per consultation one booked slot, one meeting and one one-time code. Some
consultations have a client code, some a granted reflection period (the investigator
dashboard lists those), some are reported cases. Three sessions are made for the
benchmark: a client, an NGO worker and an investigator; their cookie values are returned.
"""

from __future__ import annotations

import hashlib
import random
import secrets
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from nacl.public import PrivateKey

from portal.crypto.client_keys import seal_for_session
from portal.domain.conversation import RecipientKey, seal_message

DAY = 86400
BENCH_PASSWORD = "bench-portal-password"  # noqa: S105 - a benchmark's fake account
PASSPHRASE = "bench key passphrase, not secret"  # noqa: S105 - a fake key's passphrase
INVESTIGATORS = 12
NGOS = 4
LANGUAGE_SETS = [("fi", "en", "ru"), ("fi", "sv", "en", "ar"), ("en", "ru", "uk"), ("fi", "en")]
NEEDS_CHOICES = {
    "language": ["fi", "en", "ru", "ar", "uk", "sv"],
    "interpreter_needed": [0, 1],
    "interpreter_gender": ["any", "female", "male"],
    "interpreter_other_community": [0, 1],
    "investigator_gender": ["any", "any", "female", "male"],
    "support_person": [0, 1],
    "accessibility": ["none", "none", "wheelchair", "hearing"],
    "childcare": [0, 1],
    "venue_preference": ["any", "police_station", "ngo_premises"],
    "urgency": ["normal", "soon", "urgent"],
    "minor": [0, 0, 0, 1],
    "reflection_period": ["no", "yes", "unsure"],
    "safe_contact": ["via_ngo", "client_checks", "none"],
}


@dataclass(frozen=True)
class Prepared:
    size: int
    client_sid: str
    talker_sid: str  # a client with a 20-message conversation
    ngo_sid: str
    investigator_sid: str
    ngo_username: str
    seconds: float
    public_key: bytes
    wrapped_key: bytes


def _id() -> str:
    return secrets.token_urlsafe(16)


def _fake_client_key() -> tuple[object, ...]:
    """Client key v1 columns of the shape a redeemed code leaves (random, opens nothing:
    no code derives them; the benchmark signs its client in by session, not by code)."""
    return (_id(), secrets.token_bytes(32), secrets.token_bytes(16), 3, 65536,
            secrets.token_bytes(32))  # fmt: skip


def _sha(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def build_rows(
    size: int, now: int, password_hash: str, key: tuple[bytes, bytes]
) -> tuple[dict[str, tuple[list[str], list[tuple[object, ...]]]], dict[str, str]]:
    """Every table's (columns, rows) in insertion order, and the three session ids."""
    rng = random.Random(size)
    public_key, wrapped = key
    tables: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {}

    police = _id()
    ngos = [_id() for _ in range(NGOS)]
    tables["organisations"] = (
        ["id", "name", "kind", "created_at"],
        [(police, "Bench police unit", "police", now - 400 * DAY)]
        + [
            (org, f"Bench support centre {i}", "ngo", now - 400 * DAY) for i, org in enumerate(ngos)
        ],
    )

    account_cols = [
        "id", "organisation_id", "username", "display_name", "role", "gender",
        "password_hash", "totp_secret", "totp_last_step", "created_at",
    ]  # fmt: skip
    accounts: list[tuple[object, ...]] = []
    coordinator = _id()
    accounts.append(
        (
            coordinator,
            police,
            "coordinator",
            "Bench Coordinator",
            "coordinator",
            "unspecified",
            password_hash,
            "JBSWY3DPEHPK3PXP" * 2,
            0,
            now - 400 * DAY,
        )
    )
    investigators = [_id() for _ in range(INVESTIGATORS)]
    genders = {}
    for i, inv in enumerate(investigators):
        genders[inv] = ("male", "female")[i % 2]
        accounts.append(
            (
                inv,
                police,
                f"investigator{i}",
                f"Investigator {i}",
                "investigator",
                genders[inv],
                password_hash,
                "KRSXG5CTMVRXEZLU" * 2,
                0,
                now - 400 * DAY,
            )
        )
    workers = [_id() for _ in ngos]
    for i, (worker, org) in enumerate(zip(workers, ngos, strict=True)):
        accounts.append(
            (
                worker,
                org,
                f"ngo{i}",
                f"NGO worker {i}",
                "ngo_worker",
                "unspecified",
                password_hash,
                "ONSWG4TFOQYTEMZU" * 2,
                0,
                now - 400 * DAY,
            )
        )
    tables["accounts"] = (account_cols, accounts)

    places = [(_id(), kind) for kind in ("police_station", "ngo_premises", "other")]
    tables["places"] = (
        ["id", "name", "kind", "address", "directions", "created_at"],
        [(pid, f"Bench place {i}", kind, f"Street {i}, Helsinki",
          "Side door, second floor. Say you have an appointment.", now - 400 * DAY)
         for i, (pid, kind) in enumerate(places)],
    )  # fmt: skip

    key_ids = {inv: _id() for inv in investigators}
    tables["investigator_keys"] = (
        ["id", "account_id", "public_key", "wrapped_key", "recovery_wrapped_key", "created_at"],
        [(key_ids[inv], inv, public_key, wrapped, wrapped, now - 300 * DAY)
         for inv in investigators],
    )  # fmt: skip

    slot_cols = [
        "id", "investigator_id", "place_id", "starts_at", "duration_minutes", "languages",
        "interpreter_available", "status", "created_at",
    ]  # fmt: skip
    slots: list[tuple[object, ...]] = []
    # Free times: two a weekday for the next two weeks, per investigator (fixed, whatever
    # the number of consultations), the way the demo publishes them.
    zone = ZoneInfo("Europe/Helsinki")
    today = datetime.fromtimestamp(now, zone).replace(hour=0, minute=0, second=0, microsecond=0)
    for index, inv in enumerate(investigators):
        langs = "," + ",".join(LANGUAGE_SETS[index % len(LANGUAGE_SETS)]) + ","
        for day in range(1, 15):
            date = today + timedelta(days=day)
            if date.weekday() >= 5:
                continue
            for hour in (9, 13):
                slots.append((_id(), inv, places[(day + index) % 3][0],
                              int((date + timedelta(hours=hour + index % 3)).timestamp()), 60,
                              langs, int(hour == 13), "free", now - DAY))  # fmt: skip

    consultation_cols = [
        "id", "pseudonym", "organisation_id", "booked_by", "first_investigator_id",
        "investigator_id", "client_locale", *NEEDS_CHOICES, "client_code_lookup",
        "client_key_id", "client_public_key", "client_key_salt", "client_key_opslimit",
        "client_key_memlimit_kib", "client_verifier", "created_at", "last_activity_at",
        "outcome", "outcome_at",
        "reflection_status", "reflection_ends_on", "reported_at", "case_reference",
    ]  # fmt: skip
    meeting_cols = [
        "id", "consultation_id", "slot_id", "investigator_id", "place_id", "starts_at",
        "duration_minutes", "status", "is_follow_up", "created_at", "updated_at",
    ]  # fmt: skip
    code_cols = ["id", "consultation_id", "lookup", "code_hash", "created_at", "expires_at",
                 "used_at"]  # fmt: skip
    consultations: list[tuple[object, ...]] = []
    meetings: list[tuple[object, ...]] = []
    codes: list[tuple[object, ...]] = []
    fake_hash = "$argon2id$v=19$m=65536,t=3,p=1$" + "A" * 22 + "$" + "B" * 43
    client_consultation = talking_consultation = ""
    talker = PrivateKey.generate()  # the second client's key pair (the conversation)
    talker_key = (_id(), bytes(talker.public_key), secrets.token_bytes(16), 3, 65536,
                  secrets.token_bytes(32))  # fmt: skip
    for n in range(size):
        cid = _id()
        org_index = n % NGOS
        # The benchmark's client and investigator: consultation 0, investigator 0.
        inv = investigators[0] if n == 0 else rng.choice(investigators)
        created = now - rng.randrange(0, 170 * DAY)
        if n == 0:
            client_consultation = cid
            created = now - 20 * DAY
        if n == 1:  # the second client: the same, with a 20-message conversation
            talking_consultation = cid
            inv = investigators[0]
            created = now - 20 * DAY
        needs = [rng.choice(options) for options in NEEDS_CHOICES.values()]
        has_code = n < 2 or rng.random() < 0.7
        reported = n > 1 and has_code and rng.random() < 0.1
        granted = n > 1 and not reported and rng.random() < 0.05
        consultations.append((
            cid, f"Bench-{n:06d}", ngos[org_index], workers[org_index], inv, inv,
            rng.choice(["en", "fi", "ru", "ar"]), *needs,
            secrets.token_bytes(32) if has_code else None,
            *(talker_key if n == 1 else _fake_client_key() if has_code else (None,) * 6),
            created, created + 3 * DAY,
            "meeting_held" if reported else None, created + 3 * DAY if reported else None,
            "granted" if granted else "none",
            now + rng.randrange(30, 180) * DAY if granted else None,
            created + 10 * DAY if reported else None, f"CASE-{n}" if reported else None,
        ))  # fmt: skip
        visits = [created + rng.randrange(1, 14) * DAY + 3600 * rng.randrange(8, 16)]
        if n < 2:
            visits = [now - 10 * DAY - n * 3600, now + 3 * DAY - n * 3600]
        for number, starts in enumerate(visits):
            slot_id = _id()
            place = places[rng.randrange(3)][0]
            langs = "," + ",".join(LANGUAGE_SETS[rng.randrange(len(LANGUAGE_SETS))]) + ","
            slots.append((slot_id, inv, place, starts, 60, langs, rng.randrange(2), "booked",
                          created))  # fmt: skip
            status = "booked" if starts > now else rng.choice(["held", "held", "no_show"])
            meetings.append((_id(), cid, slot_id, inv, place, starts, 60, status, int(number > 0),
                             created, created))  # fmt: skip
        codes.append((_id(), cid, secrets.token_bytes(32), fake_hash, created,
                      created + 14 * DAY, created + DAY if has_code else None))  # fmt: skip

    tables["slots"] = (slot_cols, slots)
    tables["consultations"] = (consultation_cols, consultations)
    tables["meetings"] = (meeting_cols, meetings)
    tables["one_time_codes"] = (code_cols, codes)
    tables.update(
        _conversation(
            talking_consultation, talker_key[:2], (key_ids[investigators[0]], public_key), now
        )
    )

    sids = {name: secrets.token_urlsafe(16) for name in ("client", "ngo", "investigator", "talker")}
    # The benchmark's client is signed in like a real one: their key sealed under the
    # cookie (client key v1), so the client pages read what they read in production.
    client_seal = seal_for_session(sids["client"], secrets.token_bytes(32))
    session_rows: list[tuple[object, ...]] = [
        (_sha(sids["client"]), None, client_consultation, "en", now, now, client_seal),
        (
            _sha(sids["talker"]),
            None,
            talking_consultation,
            "en",
            now,
            now,
            seal_for_session(sids["talker"], bytes(talker)),
        ),
        (_sha(sids["ngo"]), workers[0], None, "en", now, now, None),
        (_sha(sids["investigator"]), investigators[0], None, "en", now, now, None),
    ]
    # Other people's sessions, so the session lookup is not in a one-row table.
    for _ in range(max(10, size // 20)):
        session_rows.append((secrets.token_bytes(32), None, None, "fi", now - 120, now - 60, None))
    tables["sessions"] = (
        ["id_hash", "account_id", "consultation_id", "locale", "created_at", "last_seen_at",
         "sealed_client_key"],
        session_rows,
    )  # fmt: skip
    return tables, sids


MESSAGES = 20


def _conversation(
    consultation_id: str, client: tuple[str, bytes], investigator: tuple[str, bytes], now: int
) -> dict[str, tuple[list[str], list[tuple[object, ...]]]]:
    """MESSAGES messages between the investigator and the client, each sealed to both
    (the sealing the portal does: portal/domain/conversation.py)."""
    messages: list[tuple[object, ...]] = []
    envelopes: list[tuple[object, ...]] = []
    for n in range(MESSAGES):
        message_id, at = _id(), now - (MESSAGES - n) * 3600
        author = "client" if n % 2 else "investigator"
        messages.append((message_id, consultation_id, author, None, "server", at, n + 1))
        for key_id, key, role in ((*client, "client"), (*investigator, "investigator")):
            recipient = RecipientKey(key_id, key, role, None, "")
            text = f"Message {n}: can we meet on Thursday at ten instead? " * 3
            envelope = seal_message(
                recipient,
                consultation_id=consultation_id,
                message_id=message_id,
                author_role=author,
                at=at,
                text=text,
            )
            envelopes.append((message_id, key_id, envelope, at))  # fmt: skip
    return {
        "messages": (
            ["id", "consultation_id", "author_role", "author_account_id", "sealed_in",
             "created_at", "number"],
            messages,
        ),
        "message_envelopes": (
            ["message_id", "recipient_key_id", "envelope", "created_at"], envelopes
        ),
    }  # fmt: skip


def bench_key() -> tuple[bytes, bytes]:
    """One real investigator key pair, wrapped under PASSPHRASE (shared by all of them)."""
    import nacl.public

    from portal.crypto.wrapped_keys import wrap

    private = nacl.public.PrivateKey.generate()
    return bytes(private.public_key), wrap(bytes(private), PASSPHRASE)


def password_hash() -> str:
    from portal.crypto.passwords import PasswordHasher
    from portal.settings import Settings

    s = Settings()
    return PasswordHasher(s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism).hash(
        BENCH_PASSWORD
    )


def fill(database_url: str, size: int, hashed: str, key: tuple[bytes, bytes]) -> Prepared:
    """Fill a freshly migrated, empty database; returns the benchmark's sessions."""
    started = time.monotonic()
    tables, sids = build_rows(size, int(time.time()), hashed, key)
    if database_url.startswith("sqlite:///"):
        conn = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("BEGIN")
        for name, (columns, rows) in tables.items():
            marks = ", ".join("?" * len(columns))
            conn.executemany(
                f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                rows,
            )
        conn.execute("COMMIT")
        # The portal never runs ANALYZE itself, so neither does the benchmark: the query
        # planner sees the database as production would.
        conn.close()
    else:
        import psycopg

        with psycopg.connect(database_url) as conn:
            with conn.cursor() as cur:
                for name, (columns, rows) in tables.items():
                    with cur.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
            conn.commit()
            conn.autocommit = True
            # autovacuum would do this within a minute of such a load.
            conn.execute("ANALYZE")
    return Prepared(
        size=size,
        client_sid=sids["client"],
        talker_sid=sids["talker"],
        ngo_sid=sids["ngo"],
        investigator_sid=sids["investigator"],
        ngo_username="ngo0",
        seconds=time.monotonic() - started,
        public_key=key[0],
        wrapped_key=key[1],
    )
