"""Login: password + TOTP, one message for every failure, dummy hashing, throttling."""

from __future__ import annotations

import re
import time

from starlette.testclient import TestClient

from portal.app import create_app
from portal.crypto.totp import code_at
from tests.conftest import make_settings
from tests.factories import (
    Actor,
    FakeClock,
    World,
    from_address,
    in_app,
    make_world,
    on_own_loop,
    services_of,
)

WRONG = "The username, password or code is wrong."


def _attempt(actor: Actor, clock: FakeClock, username: str, password: str, secret: str) -> object:
    return actor.submit(
        "/login", username=username, password=password, totp_code=code_at(secret, clock.now())
    )


def test_right_password_and_code_log_in(actor: Actor, clock: FakeClock, world: World) -> None:
    actor.log_in(world.investigator, clock)
    assert "Inv" in actor.get("/staff").text


def test_unknown_account_and_wrong_password_look_the_same(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    unknown = _attempt(
        Actor(client), clock, "nobody", "whatever-password-1", world.coordinator.totp_secret
    )
    wrong = _attempt(
        Actor(client), clock, "coord", "wrong-password-123", world.coordinator.totp_secret
    )
    assert unknown.status_code == wrong.status_code == 400  # type: ignore[attr-defined]
    assert WRONG in unknown.text and WRONG in wrong.text  # type: ignore[attr-defined]

    # The pages are identical apart from the typed username and the per-session CSRF token.
    def same(page: object) -> str:
        return re.sub(r"[0-9a-f]{64}", "TOKEN", page.text.replace("nobody", "coord"))  # type: ignore[attr-defined]

    assert same(unknown) == same(wrong)


def test_unknown_account_costs_the_same_hashing_time(database_url: str, clock: FakeClock) -> None:
    """A dummy hash is verified for unknown accounts, so timing does not reveal them."""
    settings = make_settings(database_url, argon2_time_cost=2, argon2_memory_kib=32768)
    app = create_app(settings, clock)
    with TestClient(app, base_url="https://portal.test", follow_redirects=False) as client:
        world = in_app(client, make_world, services_of(client))
        secret = world.coordinator.totp_secret

        def timed(username: str) -> float:
            actor = Actor(client)
            token = actor.csrf_from("/login")
            start = time.perf_counter()
            actor.request(
                "POST",
                "/login",
                data={
                    "csrf_token": token,
                    "username": username,
                    "password": "wrong-password-123",
                    "totp_code": "000000",
                },
            )
            return time.perf_counter() - start

        # Taken in turns, and the fastest of each kind: on a busy machine (other tests
        # in parallel) a slow moment then falls on either kind, and counts for neither.
        pairs = [(timed("coord"), timed(f"ghost{i}")) for i in range(3)]
        wrong = min(known for known, _ghost in pairs)
        unknown = min(ghost for _known, ghost in pairs)
    assert wrong > 0.01  # the real hash is measurable at these settings
    assert unknown > 0.5 * wrong, (unknown, wrong)
    del secret


def test_wrong_totp_code_fails(actor: Actor, clock: FakeClock, world: World) -> None:
    response = actor.submit(
        "/login", username="coord", password=world.coordinator.password, totp_code="123456"
    )
    assert response.status_code == 400 and WRONG in response.text


def test_used_totp_code_is_refused_within_its_window(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.coordinator
    first = _attempt(Actor(client), clock, person.username, person.password, person.totp_secret)
    assert first.status_code == 303  # type: ignore[attr-defined]
    clock.advance(5)  # same 30-second step
    replay = _attempt(Actor(client), clock, person.username, person.password, person.totp_secret)
    assert replay.status_code == 400  # type: ignore[attr-defined]
    clock.advance(30)
    fresh = _attempt(Actor(client), clock, person.username, person.password, person.totp_secret)
    assert fresh.status_code == 303  # type: ignore[attr-defined]


def test_disabled_account_cannot_log_in(
    client: TestClient, actor: Actor, clock: FakeClock, world: World
) -> None:
    actor.log_in(world.coordinator, clock)
    actor.submit("/coordinator/people", f"/coordinator/accounts/{world.investigator.id}/disable")
    clock.advance(30)
    person = world.investigator
    response = _attempt(Actor(client), clock, person.username, person.password, person.totp_secret)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert WRONG in response.text  # type: ignore[attr-defined]


def test_five_failures_lock_the_account_even_for_the_right_password(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.ngo_worker
    for _ in range(5):
        failed = _attempt(
            Actor(client), clock, person.username, "wrong-password-123", person.totp_secret
        )
        assert failed.status_code == 400  # type: ignore[attr-defined]
    clock.advance(30)
    locked = _attempt(Actor(client), clock, person.username, person.password, person.totp_secret)
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many attempts" in locked.text  # type: ignore[attr-defined]
    # Another account is not affected.
    other = world.other_ngo_worker
    assert (
        _attempt(
            Actor(client), clock, other.username, other.password, other.totp_secret
        ).status_code
        == 303
    )  # type: ignore[attr-defined]


def test_one_sender_failing_on_purpose_cannot_keep_the_owner_out(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """Somebody who knows a username fails against it all day from one address: that
    address is refused, the account's owner signs in from theirs."""
    person = world.investigator
    with from_address(client, "192.0.2.66"):  # the owner: CLIENT_ADDRESS
        statuses = [
            _attempt(
                Actor(client), clock, person.username, f"wrong-{i}", person.totp_secret
            ).status_code  # type: ignore[attr-defined]
            for i in range(12)
        ]
        assert statuses == [400] * 5 + [429] * 7
        clock.advance(30)  # a fresh TOTP code: the right one is refused from here too
        right = _attempt(Actor(client), clock, person.username, person.password, person.totp_secret)
        assert right.status_code == 429  # type: ignore[attr-defined]
    owner = _attempt(Actor(client), clock, person.username, person.password, person.totp_secret)
    assert owner.status_code == 303, owner.text[-3000:]  # type: ignore[attr-defined]


def test_failures_from_several_senders_together_lock_the_account(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    """Guessing spread over many addresses is bounded per account: 20 failures a minute
    from all senders together, and then the right password is refused as well."""
    person = world.investigator
    for sender in range(4):
        with from_address(client, f"198.51.100.{sender + 1}"):
            statuses = [
                _attempt(
                    Actor(client), clock, person.username, f"wrong-{i}", person.totp_secret
                ).status_code  # type: ignore[attr-defined]
                for i in range(7)  # two more than its own share: refused, and not counted
            ]
            assert statuses == [400] * 5 + [429] * 2, (sender, statuses)
    clock.advance(30)
    locked = _attempt(Actor(client), clock, person.username, person.password, person.totp_secret)
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "Too many attempts" in locked.text  # type: ignore[attr-defined]


def test_one_source_is_limited_across_accounts(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    statuses = [
        _attempt(
            Actor(client), clock, f"user{i}", "wrong-password-123", world.coordinator.totp_secret
        ).status_code  # type: ignore[attr-defined]
        for i in range(31)
    ]
    assert statuses[:30] == [400] * 30
    assert statuses[30] == 429


def test_an_empty_field_is_asked_for_and_counts_as_no_attempt(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.investigator
    for _ in range(6):  # more than the account's failures: none of these is one
        empty = Actor(client).submit("/login", username=person.username, password="", totp_code="1")
        assert empty.status_code == 400
        assert "Enter your username, your password and the code" in empty.text
        assert WRONG not in empty.text
    signed_in = _attempt(Actor(client), clock, person.username, person.password, person.totp_secret)
    assert signed_in.status_code == 303  # type: ignore[attr-defined]


def test_login_form_keeps_the_username_but_never_echoes_the_password(
    actor: Actor, clock: FakeClock, world: World
) -> None:
    response = actor.submit(
        "/login", username="coord", password="canary-typed-secret-77", totp_code="000000"
    )
    assert 'value="coord"' in response.text
    assert "canary-typed-secret-77" not in response.text


def test_simultaneous_guesses_cannot_slip_past_the_account_limit(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    person = world.ngo_worker
    sessions = []
    for _ in range(12):
        actor = Actor(client)
        token = actor.csrf_from("/login")
        sessions.append((actor.session_id(), token))
    client.cookies.clear()

    def guess(session: tuple[str, str]) -> int:
        sid, token = session
        response = client.post(
            "/login",
            headers={"cookie": f"__Host-sid={sid}"},
            data={
                "csrf_token": token,
                "username": person.username,
                "password": "wrong-password-123",
                "totp_code": "000000",
            },
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(guess, sessions))
    assert statuses.count(400) <= 5, statuses
    assert set(statuses) <= {400, 429, 503}, statuses


def test_a_successful_login_clears_earlier_failures(
    client: TestClient, clock: FakeClock, world: World
) -> None:
    person = world.ngo_worker
    for _ in range(4):
        _attempt(Actor(client), clock, person.username, "wrong-password-123", person.totp_secret)
    Actor(client).log_in(person, clock)
    for _ in range(4):
        failed = _attempt(
            Actor(client), clock, person.username, "wrong-password-1", person.totp_secret
        )
        assert failed.status_code == 400  # type: ignore[attr-defined]


def test_clearing_a_count_while_old_hits_expire_breaks_nothing() -> None:
    """A successful login clears its account's count. The in-memory counters' expiry task
    (limits) used to die with a KeyError, and asyncio to log it, when that happened while
    it went through the keys."""
    import asyncio

    from portal.security.ratelimit import RateLimits

    async def clear_during_expiry() -> list[dict[str, object]]:
        limits = RateLimits("")
        item = limits.per_minute(5)
        for account in ("a", "b", "c"):
            await limits.hit(item, "login-account", account)
        logged: list[dict[str, object]] = []
        asyncio.get_running_loop().set_exception_handler(lambda _loop, c: logged.append(c))
        expiry = limits.storage.timer  # type: ignore[attr-defined]
        await asyncio.sleep(0)  # it has listed the keys and waits on the first one
        await limits.clear(item, "login-account", "c")
        await expiry
        assert await limits.hit(item, "login-account", "c")  # a cleared count starts again
        return logged

    assert on_own_loop(clear_during_expiry) == []
