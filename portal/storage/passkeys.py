"""Queries on passkeys, their challenges, the roles that require them, recovery links."""

from __future__ import annotations

from dataclasses import dataclass

from portal.storage.database import Queryable, Row


@dataclass(frozen=True)
class Passkey:
    id: str
    account_id: str
    credential_id: bytes
    public_key: bytes
    sign_count: int
    name: str
    created_at: int
    last_used_at: int | None


_COLUMNS = "id, account_id, credential_id, public_key, sign_count, name, created_at, last_used_at"


def _passkey(row: Row) -> Passkey:
    used = row["last_used_at"]
    return Passkey(
        id=row["id"],
        account_id=row["account_id"],
        credential_id=bytes(row["credential_id"]),
        public_key=bytes(row["public_key"]),
        sign_count=int(row["sign_count"]),
        name=row["name"],
        created_at=int(row["created_at"]),
        last_used_at=None if used is None else int(used),
    )


async def passkeys_of(db: Queryable, account_id: str) -> list[Passkey]:
    rows = await db.fetch_all(
        f"SELECT {_COLUMNS} FROM passkeys WHERE account_id = :a ORDER BY created_at, id",  # noqa: S608
        a=account_id,
    )
    return [_passkey(row) for row in rows]


async def passkey_by_credential(db: Queryable, credential_id: bytes) -> Passkey | None:
    row = await db.fetch_one(
        f"SELECT {_COLUMNS} FROM passkeys WHERE credential_id = :c",  # noqa: S608
        c=credential_id,
    )
    return None if row is None else _passkey(row)


async def insert_passkey(db: Queryable, passkey: Passkey) -> None:
    await db.execute(
        """
        INSERT INTO passkeys (id, account_id, credential_id, public_key, sign_count, name,
                              created_at, last_used_at)
        VALUES (:id, :a, :c, :k, :n, :name, :at, NULL)
        """,
        id=passkey.id,
        a=passkey.account_id,
        c=passkey.credential_id,
        k=passkey.public_key,
        n=passkey.sign_count,
        name=passkey.name,
        at=passkey.created_at,
    )


async def advance_sign_count(db: Queryable, passkey_id: str, seen: int, new: int, now: int) -> bool:
    """Store the new counter and the time of use, only if the counter is still the one
    the check was made against (two uses at once: one wins)."""
    changed = await db.execute(
        "UPDATE passkeys SET sign_count = :new, last_used_at = :now"
        " WHERE id = :id AND sign_count = :seen",
        id=passkey_id,
        seen=seen,
        new=new,
        now=now,
    )
    return changed == 1


async def delete_passkey(db: Queryable, account_id: str, passkey_id: str) -> bool:
    changed = await db.execute(
        "DELETE FROM passkeys WHERE id = :id AND account_id = :a", id=passkey_id, a=account_id
    )
    return changed == 1


async def delete_account_passkeys(db: Queryable, account_id: str) -> int:
    return await db.execute("DELETE FROM passkeys WHERE account_id = :a", a=account_id)


# --- Challenges --------------------------------------------------------------------------


async def store_challenge(
    db: Queryable, session_hash: bytes, purpose: str, challenge: bytes, now: int, stale: int
) -> None:
    """The session's one challenge for ``purpose`` (an earlier one is gone); challenges
    older than ``stale`` are pruned on the way."""
    await db.execute("DELETE FROM passkey_challenges WHERE created_at < :t", t=stale)
    await db.execute(
        "DELETE FROM passkey_challenges WHERE session_hash = :h AND purpose = :p",
        h=session_hash,
        p=purpose,
    )
    await db.execute(
        "INSERT INTO passkey_challenges (session_hash, purpose, challenge, created_at)"
        " VALUES (:h, :p, :c, :now)",
        h=session_hash,
        p=purpose,
        c=challenge,
        now=now,
    )


async def take_challenge(
    db: Queryable, session_hash: bytes, purpose: str, challenge: bytes, not_before: int
) -> bool:
    """Use the challenge: True only once, for this session and purpose, and only if it
    was made at ``not_before`` or later. Used or not, a matching row is gone after."""
    taken = await db.execute(
        "DELETE FROM passkey_challenges WHERE session_hash = :h AND purpose = :p"
        " AND challenge = :c AND created_at >= :t",
        h=session_hash,
        p=purpose,
        c=challenge,
        t=not_before,
    )
    if taken != 1:
        await db.execute(
            "DELETE FROM passkey_challenges WHERE session_hash = :h AND purpose = :p",
            h=session_hash,
            p=purpose,
        )
    return taken == 1


# --- Requirements per role -----------------------------------------------------------


async def required_roles(db: Queryable) -> set[str]:
    rows = await db.fetch_all("SELECT role FROM passkey_requirements")
    return {str(row["role"]) for row in rows}


async def set_required(db: Queryable, role: str, required: bool, by: str, now: int) -> bool:
    """True when this changed anything."""
    if not required:
        return await db.execute("DELETE FROM passkey_requirements WHERE role = :r", r=role) == 1
    if await db.fetch_value("SELECT 1 FROM passkey_requirements WHERE role = :r", r=role):
        return False
    await db.execute(
        "INSERT INTO passkey_requirements (role, required_by, required_at) VALUES (:r, :b, :t)",
        r=role,
        b=by,
        t=now,
    )
    return True


# --- Recovery links --------------------------------------------------------------------


async def insert_recovery(
    db: Queryable, recovery_id: str, account_id: str, token_hash: bytes, by: str, now: int
) -> None:
    # A new link replaces any unused one for the account.
    await db.execute(
        "DELETE FROM passkey_recoveries WHERE account_id = :a AND used_at IS NULL", a=account_id
    )
    await db.execute(
        "INSERT INTO passkey_recoveries (id, account_id, token_hash, created_by, created_at)"
        " VALUES (:id, :a, :h, :b, :t)",
        id=recovery_id,
        a=account_id,
        h=token_hash,
        b=by,
        t=now,
    )


async def open_recovery(
    db: Queryable, token_hash: bytes, not_before: int
) -> tuple[str, str] | None:
    """(recovery id, account id) of an unused link made at ``not_before`` or later."""
    row = await db.fetch_one(
        "SELECT id, account_id FROM passkey_recoveries"
        " WHERE token_hash = :h AND used_at IS NULL AND created_at >= :t",
        h=token_hash,
        t=not_before,
    )
    return None if row is None else (str(row["id"]), str(row["account_id"]))


async def use_recovery(db: Queryable, recovery_id: str, now: int) -> bool:
    changed = await db.execute(
        "UPDATE passkey_recoveries SET used_at = :t WHERE id = :id AND used_at IS NULL",
        id=recovery_id,
        t=now,
    )
    return changed == 1
