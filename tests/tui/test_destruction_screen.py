"""The destruction screen at the site (Textual pilot on a demo register): Ctrl+Y opens it on the approved batch, each
wedge scan is recorded at once, an item not on the list is shown in red with a bell, and nothing is completed here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tracker.schema import Refusal
from tracker.services import approvals, destruction
from tui.screens.destruction import DestructionScreen


def _approved_batch(ui: Any, n: int = 2) -> tuple[int, list[str]]:
    codes = [v.code for v in ui.carriers(lambda v: v.status == "in_store" and v.classification == "internal")][:n]
    clerk = ui.sign("clerk")
    b = destruction.new(ui.store.uow(), clerk, "site test")
    destruction.add(ui.store.uow(), clerk, b, codes)
    a = destruction.submit(ui.store.uow(), clerk, b, ui.clock() + timedelta(days=1))
    assert approvals.decide(ui.store.uow(), ui.sign("approver"), a, True) == "granted"
    return b, codes


async def test_scanning_the_list_at_the_site(ui: Any) -> None:
    batch, codes = _approved_batch(ui)
    outsider = next(v.code for v in ui.carriers(lambda v: v.status == "in_store" and v.code not in codes))
    app = ui.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ui.login(pilot)
        await pilot.press("ctrl+y")
        await ui.on_screen(pilot, "DestructionScreen")
        screen = app.screen
        assert isinstance(screen, DestructionScreen)
        await ui.until(pilot, lambda: screen.view is not None and screen.view.id == batch)
        await ui.scan(pilot, codes[0])
        await ui.until(pilot, lambda: screen.view is not None and screen.view.unscanned == codes[1:])
        assert "checked" in str(screen.query_one("#destruction-result").render())
        await ui.scan(pilot, outsider)
        await ui.until(pilot, lambda: "NOT on this batch" in str(screen.query_one("#destruction-result").render()))
    with ui.store.uow(readonly=True) as uow:  # recorded in the register, not only on the screen
        view = destruction.view(uow, batch)
    assert view.unscanned == codes[1:] and [c for c, _ in view.extras] == [outsider]
    assert view.status == "submitted"


async def test_a_destroyed_carrier_at_the_counter_is_an_alarm_with_its_rule(ui: Any) -> None:
    """A destroyed carrier brought back to the counter: a check-in is refused with R-145 (not "nothing to check
    in") and a look-up is a red alarm; nothing changes."""
    batch, (gone,) = _approved_batch(ui, 1)
    destruction.scan(ui.store.uow(), ui.sign("clerk"), batch, [gone])
    destruction.complete(ui.store.uow(), ui.sign("clerk2"), batch, [ui.sign("officer"), ui.sign("auditor")],
                         {"*": "shredding"}, ui.store.policy.destruction_sites[0])
    app = ui.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ui.login(pilot)
        await pilot.press("f3")
        await ui.scan(pilot, gone)
        await ui.answered(pilot)
        fb = app.counter.feedback[1]
        assert fb.tone == "refused" and "R-145" in fb.rules, fb
        await ui.look_up(pilot, gone)
        alarm = app.counter.feedback[2]
        assert alarm.tone == "refused" and "off the books" in alarm.title, alarm
    assert ui.carrier(gone).status == "destroyed"
    with ui.store.uow(readonly=True) as uow:  # the sighting is on the audit log, not only on the screen
        audit = [(a.action, a.rules) for a in
                 uow.session.execute(select(Refusal).where(Refusal.carrier == gone)).scalars()]
    assert [a for a, _r in audit] == ["check_in"] and "R-145" in audit[0][1]


async def test_a_half_scanned_batch_is_still_half_scanned_after_the_counter_restarts(ui: Any) -> None:
    batch, codes = _approved_batch(ui, 3)
    first = ui.app()
    async with first.run_test(size=(120, 36)) as pilot:
        await ui.login(pilot)
        await pilot.press("ctrl+y")
        await ui.on_screen(pilot, "DestructionScreen")
        screen = first.screen
        await ui.until(pilot, lambda: screen.view is not None and screen.view.id == batch)
        await ui.scan(pilot, codes[0])
        await ui.until(pilot, lambda: screen.view is not None and screen.view.unscanned == codes[1:])
    again = ui.app()  # the counter closed and opened again: the site carries on where it stopped
    async with again.run_test(size=(120, 36)) as pilot:
        await ui.login(pilot)
        await pilot.press("ctrl+y")
        await ui.on_screen(pilot, "DestructionScreen")
        screen = again.screen
        await ui.until(pilot, lambda: screen.view is not None and screen.view.id == batch)
        assert screen.view is not None and screen.view.unscanned == codes[1:]
        for code in codes[1:]:
            await ui.scan(pilot, code)
        await ui.until(pilot, lambda: screen.view is not None and screen.view.unscanned == [])
