"""A one-time PIN at the counter (issue 15): after an administrator's reset, signing in asks for a new PIN twice and
changes it in the register before the counter opens; the one-time PIN then signs nothing. Asserted on the register."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tracker.demo import badge
from tracker.schema import Event, Person
from tracker.services import personnel
from tracker.services.common import AuthError, authenticate

ONE_TIME, MINE = "739164", "582931"


def message(app: Any) -> str:
    return str(app.screen.query_one("#login-message").render())


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_a_one_time_pin_is_replaced_at_sign_in(ui: Any, lang: str) -> None:
    who = badge("clerk2")
    personnel.change_person(ui.store.uow(), ui.sign("admin"), who, pin=ONE_TIME)
    app = ui.app(lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.type(pilot, who)
        await ui.type(pilot, ONE_TIME)
        await ui.until(pilot, lambda: str(app.screen.query_one("#pin-label").render()) in ("New PIN", "新PIN"))
        assert type(app.screen).__name__ == "LoginScreen" and app.ctx.actor is None  # nothing signed yet
        assert ("一次性" if lang == "zh" else "one-time") in message(app)
        await ui.type(pilot, "111111")  # trivial: the register refuses it, and asks again
        await ui.type(pilot, "111111")
        await ui.until(pilot, lambda: ("过于简单" if lang == "zh" else "too easy") in message(app))
        assert type(app.screen).__name__ == "LoginScreen"
        await ui.type(pilot, MINE)
        await ui.type(pilot, MINE[:-1] + "0")  # the two entries differ
        await ui.until(pilot, lambda: ("不一致" if lang == "zh" else "differ") in message(app))
        await ui.type(pilot, MINE)
        await ui.type(pilot, MINE)
        await ui.on_screen(pilot, "CounterScreen")
        assert app.ctx.actor.badge == who and not app.ctx.actor.must_change_pin
    assert authenticate(ui.store.uow(), who, MINE).must_change_pin is False
    with pytest.raises(AuthError):
        authenticate(ui.store.uow(), who, ONE_TIME)
    with ui.store.uow(readonly=True) as uow:
        person = uow.session.execute(select(Person).where(Person.badge == who)).scalar_one()
        assert not person.pin_must_change
        changes = [json.loads(e.payload) for e in uow.session.execute(
            select(Event).where(Event.type == "person_changed", Event.to_holder == who).order_by(Event.seq)).scalars()]
    assert changes[-2:] == [{"pin": "reset (one-time)"}, {"pin": "changed by its holder"}]
