"""``portal demo``: realistic fake organisations and staff, to try the portal out.

Everything here is invented. Demo accounts share one password and have fixed TOTP
keys so that a newcomer can sign in; never use this on a real database (the command
refuses in production).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from portal.clock import SystemClock
from portal.crypto.hashing import HashingPool
from portal.crypto.passwords import PasswordHasher
from portal.crypto.tokens import Keys, random_id
from portal.domain import adviser_requests
from portal.domain.bookings import CodeHashing, book_meeting
from portal.domain.codes import display
from portal.domain.needs import parse_needs
from portal.domain.organisations import create_organisation
from portal.domain.places import add_place
from portal.domain.slots import SlotInput, publish_slot
from portal.settings import Settings
from portal.storage.accounts import Account, account_by_username, insert_account
from portal.storage.consultations import consultation_by_id
from portal.storage.database import Database, connect
from portal.storage.migrate import upgrade
from portal.storage.tables import metadata

DEMO_PASSWORD = "demo-portal-password"  # noqa: S105 - published on purpose for the demo
ORGANISATIONS = [
    ("Helsinki Police, Anti-Trafficking Unit", "police"),
    ("Harbour Women's Support Centre", "ngo"),
    ("North Migrant Help Association", "ngo"),
    ("National Assistance System", "assistance"),
    ("City Ankkuri Team", "municipal"),
]
# (username, display name, role, organisation index, TOTP key)
PEOPLE = [
    ("coordinator", "Aino Virtanen", "coordinator", 0, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXA"),
    ("investigator", "Mikko Laine", "investigator", 0, "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLB"),
    ("investigator2", "Sara Nieminen", "investigator", 0, "MFRGGZDFMZTWQ2LKMFRGGZDFMZTWQ2LC"),
    ("ngo", "Leena Korhonen", "ngo_worker", 1, "ONSWG4TFOQYTEMZUONSWG4TFOQYTEMZD"),
    ("ngo2", "Omar Haddad", "ngo_worker", 2, "NBSWY3DPO5XXE3DENBSWY3DPO5XXE3DE"),
    ("adviser", "Hanna Salo", "adviser", 3, "MFZXG2LTORQW4Y3FMFZXG2LTORQW4Y3F"),
    ("ankkuri", "Jussi Mäkelä", "adviser", 4, "MFXGW23VOJUWC3TLMFXGW23VOJUWC3TG"),
]


class DemoRefused(Exception):
    """The database holds data that is not demo data; the demo will not wipe it."""


@dataclass(frozen=True)
class Demo:
    people: list[tuple[str, str, str, str]]  # username, role, organisation, TOTP key
    one_time_code: str  # a slip's code, to try the client pages


async def fill_demo_database(settings: Settings) -> Demo:
    """Start the database afresh with demo data: a previous demo is wiped, real data never."""
    upgrade(settings.database_url)
    db = await connect(settings.database_url, settings.database_pool_mode)
    try:
        usernames = {row["username"] for row in await db.fetch_all("SELECT username FROM accounts")}
        if usernames - {person[0] for person in PEOPLE}:
            raise DemoRefused("this database holds accounts that are not demo accounts")
        await wipe(db)
    except BaseException:
        await db.close()
        raise
    clock = SystemClock()
    hasher = PasswordHasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )
    password_hash = hasher.hash(DEMO_PASSWORD)
    shown = []
    try:
        orgs = [await create_organisation(db, clock, name, kind) for name, kind in ORGANISATIONS]
        for username, display_name, role, org_index, secret in PEOPLE:
            await insert_account(
                db,
                account_id=random_id(),
                organisation_id=orgs[org_index].id,
                username=username,
                display_name=display_name,
                role=role,
                password_hash=password_hash,
                totp_secret=secret,
                totp_last_step=0,
                now=clock.now(),
            )
            shown.append((username, role, orgs[org_index].name, secret))
        await _demo_schedule(db, clock)
        code = await _demo_bookings(db, clock, settings, hasher)
    finally:
        await db.close()
    return Demo(shown, code)


async def wipe(db: Database) -> None:
    """Everything but the audit log, which the database keeps append-only (its events
    name ids that no longer exist, which it is built to survive)."""
    async with db.transaction() as tx:
        for table in reversed(metadata.sorted_tables):
            if table.name != "audit_events":
                await tx.execute(f"DELETE FROM {table.name}")  # noqa: S608 - our names


PLACES = [
    (
        "Pasila police station, room 4",
        "police_station",
        "Pasilanraitio 13, Helsinki",
        "Use the side door on the left. Say you have an appointment with room 4.",
    ),
    (
        "Harbour Women's Support Centre",
        "ngo_premises",
        "Satamakatu 5 B, Helsinki",
        "Second floor. Ring the bell marked 'Harbour'.",
    ),
    (
        "Library meeting room",
        "other",
        "Kirjastokatu 1, Helsinki",
        "Ask at the information desk for the small meeting room.",
    ),
]


async def _demo_schedule(db: Database, clock: SystemClock) -> None:
    """Meeting places and two weeks of free times for each demo investigator."""
    places = [
        await add_place(db, clock, name=name, kind=kind, address=address, directions=directions)
        for name, kind, address, directions in PLACES
    ]
    investigators = await db.fetch_all(
        "SELECT id, username FROM accounts WHERE role = 'investigator' ORDER BY username"
    )
    gender = {"investigator": "male", "investigator2": "female"}
    today = datetime.now(ZoneInfo("Europe/Helsinki")).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    for index, person in enumerate(investigators):
        await db.execute(
            "UPDATE accounts SET gender = :g WHERE id = :id",
            g=gender.get(person["username"], "unspecified"),
            id=person["id"],
        )
        languages = ["fi", "en", "ru"] if index == 0 else ["fi", "sv", "en", "ar"]
        for day in range(1, 15):
            date = today + timedelta(days=day)
            if date.weekday() >= 5:
                continue
            for hour in (9, 13):
                await publish_slot(
                    db,
                    clock,
                    person["id"],
                    SlotInput(
                        place_id=places[(day + index) % len(places)].id,
                        # On even days both work at the same hours: the coordinator's
                        # week shows them side by side.
                        starts_at=int(
                            (date + timedelta(hours=hour + index * (day % 2))).timestamp()
                        ),
                        duration_minutes=60,
                        languages=languages,
                        interpreter_available=hour == 13,
                    ),
                )


# The answers the demo's NGO worker gave for both demo clients (the booking form has
# no defaults).
DEMO_NEEDS = {
    "interpreter_gender": "any",
    "interpreter_other_community": "no",
    "investigator_gender": "any",
    "support_person": "no",
    "accessibility": "none",
    "childcare": "no",
    "venue_preference": "any",
    "urgency": "soon",
    "minor": "no",
    "reflection_period": "unsure",
    "safe_contact": "via_ngo",
}


async def _demo_bookings(
    db: Database, clock: SystemClock, settings: Settings, hasher: PasswordHasher
) -> str:
    """Two bookings by the first demo NGO: the first asked of the assistance system's
    advisers, the second of municipal services, whose adviser joins its meeting. Returns
    the newest slip's one-time code."""
    hashing = CodeHashing(
        hasher, HashingPool(1, 4), Keys(settings.secret_key).derive("code-pepper")
    )
    worker = await account_by_username(db, "ngo")
    free = await db.fetch_all(
        "SELECT id FROM slots WHERE status = 'free' ORDER BY starts_at LIMIT 2"
    )
    code = ""
    for index, slot in enumerate(free):
        needs, _problems = parse_needs(
            {
                **DEMO_NEEDS,
                "language": ("ru", "fi")[index],
                "interpreter_needed": ("yes", "no")[index],
                "support_person": "yes",
            }
        )
        if worker is None or needs is None:
            break
        booking = await book_meeting(
            db,
            clock,
            hashing,
            worker=worker,
            slot_id=slot["id"],
            needs=needs,
            client_locale="en",
            code_ttl=settings.one_time_code_ttl,
        )
        code = booking.one_time_code
        await _ask_adviser(
            db, clock, worker, booking.consultation_id, ("assistance", "municipal")[index]
        )
    return display(code)


async def _ask_adviser(
    db: Database, clock: SystemClock, worker: Account, consultation_id: str, kind: str
) -> None:
    """The demo NGO worker asks an organisation's advisers to talk with the client; the
    municipal adviser joins the meeting."""
    consultation = await consultation_by_id(db, consultation_id)
    organisation = next(
        (o for o in await adviser_requests.organisations_to_ask(db) if o.kind == kind), None
    )
    if consultation is None or organisation is None:
        return
    asked = await adviser_requests.ask(db, clock, consultation, organisation.id, actor=worker)
    adviser = await account_by_username(db, "ankkuri")
    meetings = await adviser_requests.upcoming_meetings(db, consultation_id, clock.now())
    if kind == "municipal" and adviser is not None and meetings:
        await adviser_requests.join_meeting(db, clock, asked, meetings[0].id, adviser=adviser)
