"""The registers screen (issue 19): Ctrl+P opens it, a register of the period is saved in the chosen format through the
same read and writer as `tracker register`, and a register the operator's role may not read is refused with its
rule, writing no file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tracker.reports import registers
from tui.screens.registers import RegistersScreen


async def _choose(ui: Any, pilot: Any, screen: RegistersScreen, name: str) -> None:
    """Walk the list with ↑/↓ (the period field keeps the focus) to the register `name`."""
    table = screen.query_one("#registers")
    await ui.until(pilot, lambda: table.row_count == len(registers.REGISTERS))
    step = screen.names.index(name) - table.cursor_row
    for _ in range(abs(step)):
        await pilot.press("down" if step > 0 else "up")
    await ui.until(pilot, lambda: table.cursor_row == screen.names.index(name))


async def test_a_clerk_saves_the_borrowing_register_but_not_the_personnel_one(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(120, 36)) as pilot:
        await ui.login(pilot)
        await pilot.press("ctrl+p")
        await ui.on_screen(pilot, "RegistersScreen")
        screen = app.screen
        assert isinstance(screen, RegistersScreen)
        assert screen.query_one("#registers-from").value == "2026-11-01"  # the register's clock, not the wall's
        await _choose(ui, pilot, screen, "personnel")
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: screen.refused is not None)
        assert "R-25" in str(screen.query_one("#registers-summary").render()) and screen.saved is None
        await _choose(ui, pilot, screen, "borrowing")
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: screen.saved is not None)
        saved = screen.saved
        assert saved is not None and saved.name == "borrowing_2026-11-01_2026-11-25.pdf"
        assert saved.read_bytes()[:5] == b"%PDF-" and "Saved" in str(screen.query_one("#registers-summary").render())
        screen.query_one("#registers-format").value = "csv"
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: screen.saved is not None and screen.saved.suffix == ".csv")
        assert Path(screen.saved).read_bytes().startswith(b"\xef\xbb\xbf")
        screen.query_one("#registers-to").value = "someday"
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: "2026-12-31" in str(screen.query_one("#registers-summary").render()))


async def test_the_screen_speaks_chinese(ui: Any) -> None:
    app = ui.app("zh")
    async with app.run_test(size=(120, 36)) as pilot:
        await ui.login(pilot, "auditor")
        await pilot.press("ctrl+p")
        await ui.on_screen(pilot, "RegistersScreen")
        screen = app.screen
        assert isinstance(screen, RegistersScreen)
        await _choose(ui, pilot, screen, "disclosure")
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: screen.saved is not None)
        assert "已保存" in str(screen.query_one("#registers-summary").render())
