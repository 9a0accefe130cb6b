"""The Watch panel (Ctrl+B) at 80×24: a gate alarm recorded by the watcher appears on the counter as a notification
whatever screen is open, and on the security officer's panel with the cabinets' counts against the register; a clerk
is told the panel is not theirs."""

from __future__ import annotations

from typing import Any

from drivers.reads import Read, ReadKind
from labels.codes import carrier_code_to_epc
from tracker.demo import place
from tracker.watch import places
from tracker.watch.cabinets import CabinetWatcher
from tracker.watch.gates import GateWatcher
from tui.screens.watch import WatchScreen


def _notified(app: Any, text: str) -> bool:
    return any(text in str(n.message) for n in app._notifications)


async def test_a_gate_alarm_reaches_the_counter_and_the_watch_panel(ui: Any) -> None:
    officer = ui.sign("officer")
    places.add_gate(ui.store.uow(), officer, "GATE-R2", "gate1", place("BJ", "R2"), place("BJ", "SITE"),
                    ["1=inside", "2=outside"])
    places.add_cabinet(ui.store.uow(), officer, place("BJ", "R2C1"), "cab1")
    gates, cabinets = places.load(ui.store.uow())
    free = ui.carriers(lambda v: v.status == "in_store" and v.classification == "secret")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot, "officer")
        await pilot.pause(1.2)  # the poller has taken its starting point
        GateWatcher(ui.store, gates[0]).handle([Read(carrier_code_to_epc(free.code), ReadKind.EPC, antenna=2)], 0.0)
        CabinetWatcher(ui.store, cabinets[0]).inventory(0.0)
        await ui.until(pilot, lambda: _notified(app, free.code), timeout=5)
        await pilot.press("ctrl+f")
        await ui.until(pilot, lambda: isinstance(app.screen, WatchScreen) and bool(app.screen.entries))
        screen = app.screen
        assert [(e.kind, e.what, e.place) for e in screen.entries] == [("alarm", free.code, "GATE-R2")]
        [cab] = screen.cabinets
        assert cab.code == place("BJ", "R2C1") and cab.read == 0 and cab.register > 0
        await pilot.pause(0.1)
        log, cabs = screen.query_one("#watch-log"), screen.query_one("#watch-cabinets")
        assert log.virtual_size.width <= 80 and cabs.virtual_size.width <= 80, "no sideways scrolling at 80 columns"
        assert log.region.height >= 10 and cabs.region.height >= 2, "both tables visible at 24 rows"


async def test_the_watch_panel_is_the_security_officers(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot, "clerk")
        await pilot.press("ctrl+f")
        await ui.until(pilot, lambda: isinstance(app.screen, WatchScreen))
        await ui.until(pilot, lambda: "R-25" in str(app.screen.query_one("#watch-summary").render()))
