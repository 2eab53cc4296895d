import asyncio

from tests.factories import Actor, FakeClock, make_organisation, make_person, services_of


def test_login_reaches_the_staff_home(actor: Actor, clock: FakeClock) -> None:
    svc = services_of(actor.client)
    org = asyncio.run(make_organisation(svc, "Unit", "police"))
    person = asyncio.run(make_person(svc, org, "coordinator", "aino"))
    actor.log_in(person, clock)
    page = actor.get("/staff")
    assert page.status_code == 200
    assert "Aino" in page.text
