"""The stock-take screen takes only well-formed codes: a stray word or a code with a wrong check character is
refused with the reason and stored as nothing, while places, badges, carriers and tags are told apart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from labels.codes import carrier_code_to_epc
from tests.stocktake.conftest import S1, build_world
from tracker.config import Settings
from tracker.schema_stocktake import StocktakeRead
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


def _wrong_check(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


def _reads(store: Store) -> list[str]:
    with store.uow(readonly=True) as uow:
        query = select(StocktakeRead.code).order_by(StocktakeRead.batch_id, StocktakeRead.seq)
        return list(uow.session.execute(query).scalars())


async def test_only_well_formed_codes_are_stored(sqlite_store: Store) -> None:
    w = build_world(sqlite_store)
    w.start()
    ctx = AppContext(store=sqlite_store, settings=Settings(database_url=sqlite_store.url, terminal="t1"),
                     actor=w.sig["clerk"], lang="en")
    app = _Host(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, StocktakeScreen) and bool(app.screen.places))
        screen = app.screen
        assert isinstance(screen, StocktakeScreen)
        feedback = screen.query_one("#st-feedback", Static)

        async def scan(code: str) -> str:
            screen.message = ""
            await pilot.press(*code, "enter")
            await _until(pilot, lambda: bool(screen.message))
            return screen.message

        assert "not a carrier, place or badge code" in await scan("hello")
        assert feedback.has_class("bad")
        assert "wrong check character" in await scan(_wrong_check(w.c("a1")))
        assert "wrong check character" in await scan(_wrong_check(S1))
        assert "nothing stored" in screen.message
        assert _reads(sqlite_store) == []

        assert await scan(S1) == f"Place: {S1}"
        assert not feedback.has_class("bad")
        assert await scan(w.c("a1")) == f"Read {w.c('a1')}"
        epc = carrier_code_to_epc(w.c("a2"))
        assert await scan(epc.lower()) == f"Read {epc}"
        assert _reads(sqlite_store)[-2:] == [w.c("a1"), epc]
        assert "HELLO" not in _reads(sqlite_store)


async def test_refusal_in_chinese(sqlite_store: Store) -> None:
    w = build_world(sqlite_store)
    w.start()
    ctx = AppContext(store=sqlite_store, settings=Settings(database_url=sqlite_store.url, terminal="t1"),
                     actor=w.sig["clerk"], lang="zh")
    app = _Host(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: isinstance(app.screen, StocktakeScreen) and bool(app.screen.places))
        screen = app.screen
        assert isinstance(screen, StocktakeScreen)
        await pilot.press(*_wrong_check(w.c("a1")), "enter")
        await _until(pilot, lambda: "校验位错误" in screen.message and "未记录" in screen.message)
    with sqlite_store.uow(readonly=True) as uow:
        assert uow.session.execute(select(func.count()).select_from(StocktakeRead)).scalar() == 0
