"""The meeting desk (Textual pilot on a demo register, a serial scanner emulator on a pty): Ctrl+B opens it on the open
meeting; the attendee's badge scanned by the scanner brings up the sign-in, the copies scanned after it are issued
(one ledger event each), a copy the attendee may not hold is refused in red naming its rule, and F3 collects a copy
back — all recorded in the register, not only on the screen."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from drivers.emulators.scanner_line import LineScannerEmulator
from tracker.demo import DEMO_PIN, badge, place
from tracker.schema import Event
from tracker.services import meetings
from tui.app import TrackerApp, configured_devices, make_app
from tui.screens.meeting import MeetingScreen


def _app(ui: Any, tmp_path: Path, device: str) -> TrackerApp:
    path = tmp_path / "tracker.toml"
    path.write_text(f'[devices.desk-scanner]\nkind = "serial"\nurl = "{device}"\n'
                    # the copy handed back is the copy issued seconds ago: no duplicate window on this desk
                    'dup_window = 0\n', encoding="utf-8")
    settings = replace(ui.settings, config_path=path)
    devices, error = configured_devices(settings)
    assert error is None
    return make_app(ui.store, settings, "en", monotonic=ui.monotonic, devices=devices)


async def test_meeting_desk_with_scanner(ui: Any, tmp_path: Path) -> None:
    copies = [v.code for v in ui.carriers(lambda v: v.classification == "confidential" and v.status == "in_store"
                                          and "法规处" in (v.scope or "") and v.code.startswith("BJ"))][:2]
    secret = next(v.code for v in ui.carriers(lambda v: v.classification == "secret" and v.status == "in_store"
                                               and v.code.startswith("BJ")))
    assert len(copies) == 2
    start = ui.clock()
    m = meetings.new(ui.store.uow(), ui.sign("clerk"), "季度保密工作会", place("BJ", "R1"), start,
                     start + timedelta(hours=2), "secret", [badge("reader_general")])
    with LineScannerEmulator(terminator="cr", aim=True) as scanner:
        app = _app(ui, tmp_path, scanner.device)
        async with app.run_test(size=(120, 36)) as pilot:
            await ui.until(pilot, lambda: app.ctx.devices["desk-scanner"][0] == "connected")
            await ui.login(pilot)
            await pilot.press("ctrl+b")
            await ui.on_screen(pilot, "MeetingScreen")
            screen = app.screen
            assert isinstance(screen, MeetingScreen)
            await ui.until(pilot, lambda: screen.view is not None and screen.view.id == m)
            await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "meeting-scan")
            scanner.scan(badge("reader_general"))
            await ui.pin_dialog(pilot)
            await ui.type(pilot, DEMO_PIN)
            await ui.until(pilot, lambda: screen.attendee is not None)
            await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "meeting-scan")
            for code in copies:
                scanner.scan(code)
                await ui.until(pilot, lambda c=code: screen.view is not None  # type: ignore[misc]
                               and c in [x.code for x in screen.view.materials])
            scanner.scan(secret)  # 机密 for a 一般 attendee: refused, named
            await ui.until(pilot, lambda: "R-159" in str(screen.query_one("#meeting-result").render()))
            await pilot.press("f3")
            scanner.scan(copies[0])
            await ui.until(pilot, lambda: screen.view is not None and screen.view.outstanding == copies[1:])
    with ui.store.uow(readonly=True) as uow:
        view = meetings.view(uow, m)
        issued = [(e.carrier, e.to_holder, e.actor) for e in uow.session.execute(
            select(Event).where(Event.type == "meeting_issued")).scalars()]
    assert {(x.code, x.outcome) for x in view.materials} == {(copies[0], "collected"), (copies[1], None)}
    assert sorted(issued) == sorted((c, badge("reader_general"), badge("clerk")) for c in copies)
    assert view.attendees[0].signed_in_at is not None
