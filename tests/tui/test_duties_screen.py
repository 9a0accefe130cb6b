"""The alerts screen (F10) also lists the coming week's duties (RULES §3), late ones first in red, in the operator's
language."""

from __future__ import annotations

from typing import Any

from textual.widgets import DataTable

from tui.screens.alerts import AlertsScreen


async def test_alerts_screen_lists_the_weeks_duties(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await ui.login(pilot, "officer")
        await pilot.press("f10")
        await ui.until(pilot, lambda: isinstance(app.screen, AlertsScreen) and bool(app.screen.duties))
        screen = app.screen
        kinds = {d.kind for d in screen.duties}
        assert "return_overdue" in kinds  # the demo's loans from two days back
        assert {"vetting", "pledge"} <= kinds  # nobody in the demo has a vetting or a pledge on record
        table = screen.query_one("#duties", DataTable)
        assert table.row_count == len(screen.duties)
        late = [d for d in screen.duties if d.late_since is not None]
        assert late and all(d.due <= app.ctx.store.clock() for d in late)
