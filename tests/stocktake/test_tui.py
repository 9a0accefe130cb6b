"""The stock-take screen: scans typed or wedged in move the live per-place progress; uploads elsewhere show too."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from tests.stocktake.conftest import C2S1, S1, S2, build_world
from tracker.config import Settings
from tracker.store import Store
from tui.context import AppContext
from tui.screens.stocktake import StocktakeScreen


class _Host(App[None]):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx

    def on_mount(self) -> None:
        self.push_screen(StocktakeScreen(self.ctx))


async def _until(pilot: Pilot[Any], cond: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not cond():
        assert asyncio.get_running_loop().time() < deadline, "screen did not update in time"
        await pilot.pause(0.05)


def _row(screen: StocktakeScreen, code: str) -> list[str]:
    table = screen.query_one("#st-places", DataTable)
    return [str(c) for c in table.get_row(code)]


async def test_scans_update_progress_per_place(sqlite_store: Store) -> None:
    w = build_world(sqlite_store)
    sid = w.start()
    ctx = AppContext(store=sqlite_store, settings=Settings(database_url=sqlite_store.url, terminal="t1"),
                     actor=w.sig["clerk"], lang="en")
    app = _Host(ctx)
    async with app.run_test(size=(120, 30)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, StocktakeScreen) and bool(app.screen.places))
        screen = app.screen
        assert isinstance(screen, StocktakeScreen) and screen.session_id == sid
        assert _row(screen, S1)[2:6] == ["no", "2", "0", "0"]  # a1, a2 (the loans are expected with their holder)
        for code in (S1, w.c("a1"), w.c("b1")):
            await pilot.press(*code, "enter")
        await _until(pilot, lambda: _row(screen, S1)[2] == "yes" and _row(screen, S1)[4] == "1")
        assert _row(screen, S1)[5] == "1"  # a2 is missing now that S1 was visited
        assert _row(screen, S2)[6] == "1"  # b1 belongs on S2 and was seen on S1
        await pilot.press(*C2S1, "enter")
        await _until(pilot, lambda: "outside the scope" in screen.message)
        assert screen.query_one("#st-feedback", Static).has_class("bad")
        # another handheld's upload shows on the next refresh
        w.upload(sid, [S2, w.c("b2")], device="HH9")
        await pilot.press("f5")
        await _until(pilot, lambda: _row(screen, S2)[2:5] == ["yes", "2", "2"])
