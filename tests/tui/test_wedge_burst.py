"""200 keyboard-wedge scans sent as fast as the pilot can, while the register is held back (every database statement
waits at a gate the test opens once every scan is on screen): all are processed, in order, none lost, none doubled —
and the screen keeps taking scans while the register cannot answer. A gate, not a delay, so the test means the same
on a fast machine and a loaded one."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from sqlalchemy import event, select

from tracker.demo import badge, place
from tracker.schema import Event, Refusal
from tracker.services import registry

SCANS = 200


@pytest.fixture
def held_db(ui: Any) -> Any:
    """A register that cannot answer until the test opens the gate: a stalled disk or a busy server."""
    gate = threading.Event()

    def wait(*_args: Any) -> None:
        gate.wait(60)

    event.listen(ui.store.engine, "before_cursor_execute", wait)
    yield gate
    gate.set()
    event.remove(ui.store.engine, "before_cursor_execute", wait)


async def test_two_hundred_wedge_scans_none_lost_none_doubled(ui: Any, request: pytest.FixtureRequest) -> None:
    codes = registry.import_rows(ui.store.uow(), ui.sign("clerk"), [
        registry.CarrierInput(location=place("BJ", "R2C1S1"), classification="internal", title=f"burst {i}")
        for i in range(SCANS)])
    with ui.store.uow(readonly=True) as uow:
        first_seq = uow.ledger.head()[0] + 1
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.scan(pilot, badge("reader_important"))
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        await ui.answered(pilot)
        counter = app.counter
        table = counter.query_one("#queue")
        gate = request.getfixturevalue("held_db")
        await ui.until(pilot, lambda: counter.idle, timeout=20)  # the sign-in's answers are in
        answered, asked = counter.processed, counter.submitted
        for code in codes:
            await ui.scan(pilot, code, wait=False)
            await asyncio.sleep(0)  # let the app run between scans, as a real terminal would
        await ui.until(pilot, lambda: table.row_count == SCANS + 1, timeout=20)
        # every scan is on screen and queued while the register cannot answer one of them
        assert (counter.processed, counter.submitted) == (answered, asked + SCANS)
        gate.set()
        await ui.until(pilot, lambda: counter.idle, timeout=120)
        rows = [counter.feedback[r] for r in range(2, SCANS + 2)]
        assert [f.code for f in rows] == codes
        assert all(f.tone == "ok" and f.source == "scan" for f in rows), [f for f in rows if f.tone != "ok"][:3]
    with ui.store.uow(readonly=True) as uow:
        lent = uow.session.execute(select(Event.carrier).where(Event.seq >= first_seq, Event.type == "checked_out")
                                   .order_by(Event.seq)).scalars().all()
        refused = uow.session.execute(select(Refusal.carrier).where(Refusal.carrier.in_(codes))).scalars().all()
    assert list(lent) == codes  # in scan order, each exactly once
    assert not refused
