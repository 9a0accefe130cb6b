"""Fixtures for the counter's tests: a demo register on SQLite (built once per test process, copied per test), a
fixed clock, the app wired to that register, and a `ui` helper that drives it like an operator: typing at human
speed through the pilot and scanning as a keyboard-wedge scanner does (a burst of key events, a few ms apart).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual import events
from textual.pilot import Pilot

from tracker import queries
from tracker.config import Settings
from tracker.demo import DEMO_PIN, badge, build_demo
from tracker.queries import CarrierView
from tracker.rules import Policy
from tracker.services import approvals
from tracker.services.common import Signed, authenticate
from tracker.store import Store
from tui.app import TrackerApp, make_app
from tui.screens.handover import HandoverScreen


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from datetime import UTC, datetime

    path = tmp_path_factory.mktemp("demo") / "register.sqlite"
    store = Store(f"sqlite:///{path}", terminal="test-terminal",
                  clock=lambda: datetime(2026, 11, 25, 2, 0, tzinfo=UTC))
    store.ensure_schema()
    build_demo(store)
    store.dispose()  # the last connection closing checkpoints the WAL into the file
    return path


@pytest.fixture
def demo_store(demo_template: Path, tmp_path: Path, clock: Any) -> Iterator[Store]:
    path = tmp_path / "register.sqlite"
    shutil.copy(demo_template, path)
    store = Store(f"sqlite:///{path}", terminal="test-terminal", clock=clock, policy=Policy())
    yield store
    store.dispose()


@pytest.fixture
def settings(demo_store: Store) -> Settings:
    return Settings(database_url=demo_store.url, terminal="test-terminal")


@dataclass
class FakeMonotonic:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


class UI:
    """Operator's hands: type (pilot, human speed), scan (wedge burst), wait for the register to answer."""

    def __init__(self, store: Store, settings: Settings, clock: Any) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.monotonic = FakeMonotonic()

    def app(self, lang: str = "en") -> TrackerApp:
        return make_app(self.store, self.settings, lang, monotonic=self.monotonic)

    def sign(self, key: str) -> Signed:
        return authenticate(self.store.uow(), badge(key), DEMO_PIN)

    def carriers(self, pred: Callable[[CarrierView], bool]) -> list[CarrierView]:
        with self.store.uow(readonly=True) as uow:
            return [v for v in queries.export_rows(uow) if pred(v)]

    def carrier(self, code: str) -> CarrierView:
        with self.store.uow(readonly=True) as uow:
            view = queries.carrier(uow, code)
        assert view is not None
        return view

    def grant(self, purpose: str, codes: list[str], grantee: str | None = None, **kw: Any) -> int:
        return approvals.grant(self.store.uow(), self.sign("approver"), purpose, codes,
                               self.clock() + timedelta(hours=6), grantee=badge(grantee) if grantee else None, **kw)

    async def scan(self, pilot: Pilot[Any], code: str, gap: float = 0.0, wait: bool = True) -> None:
        """Send a code the way a keyboard-wedge scanner does: key events back to back, then Enter.

        On the counter, `wait` waits until the screen has taken the scan into its queue (the keys may still sit in
        the app's input queue when this returns otherwise, and "everything answered" would be true too early)."""
        app = pilot.app
        driver = app._driver
        assert driver is not None
        counter = getattr(app, "counter", None)
        watch = wait and counter is not None and app.screen is counter
        before = counter.submitted if watch else 0  # type: ignore[union-attr]
        for ch in code:
            driver.send_message(events.Key(ch, ch))
            if gap:
                await asyncio.sleep(gap)
        driver.send_message(events.Key("enter", "\r"))
        if watch:
            await self.until(pilot, lambda: counter.submitted > before)  # type: ignore[union-attr]

    @staticmethod
    async def type(pilot: Pilot[Any], text: str, enter: bool = True) -> None:
        keys = [("space" if ch == " " else ch) for ch in text]
        await pilot.press(*keys, *(["enter"] if enter else []))

    @staticmethod
    async def until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 10.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            if loop.time() > deadline:
                raise AssertionError("the app did not reach the expected state in time")
            await pilot.pause(0.02)

    async def pin_dialog(self, pilot: Pilot[Any]) -> None:
        """Wait until the PIN dialog is up and its field has focus (keys sent earlier would go elsewhere)."""
        app = pilot.app
        await self.until(pilot, lambda: type(app.screen).__name__ == "PinDialog"
                         and app.focused is not None and app.focused.id == "pin")

    async def sign_with_pin(self, pilot: Pilot[Any], key: str, pin: str = DEMO_PIN) -> None:
        """A party signs at the screen on top: scans the badge, then types the PIN into the dialog it brings up."""
        await self.scan(pilot, badge(key))
        await self.pin_dialog(pilot)
        await self.type(pilot, pin)

    async def open_handover(self, pilot: Pilot[Any], giver: str, taker: str) -> HandoverScreen:
        """From the counter: the handover screen (F5) with `giver` and `taker` signed, ready for carriers."""
        app = pilot.app
        await pilot.press("f5")
        await self.until(pilot, lambda: isinstance(app.screen, HandoverScreen))
        screen = app.screen
        assert isinstance(screen, HandoverScreen)
        await self.sign_with_pin(pilot, giver)
        await self.until(pilot, lambda: screen.giver is not None and screen.giver.signed is not None)
        await self.sign_with_pin(pilot, taker)
        await self.until(pilot, lambda: screen.taker is not None and screen.taker.signed is not None)
        return screen

    async def login(self, pilot: Pilot[Any], key: str = "clerk", pin: str = DEMO_PIN) -> None:
        await self.type(pilot, badge(key))
        await self.type(pilot, pin)
        await self.on_screen(pilot, "CounterScreen")

    async def on_screen(self, pilot: Pilot[Any], name: str) -> None:
        """Wait until the screen (or dialog) class `name` is on top; screens open after the key's handler returns."""
        await self.until(pilot, lambda: type(pilot.app.screen).__name__ == name)

    async def look_up(self, pilot: Pilot[Any], code: str) -> None:
        """Show one carrier at the counter as a clerk does before acting on it: look-up mode (F4), then scan it."""
        await pilot.press("f4")
        await self.scan(pilot, code)
        await self.answered(pilot)

    async def answered(self, pilot: Pilot[Any]) -> None:
        """Wait until the counter has answered every queued job."""
        app = pilot.app
        assert isinstance(app, TrackerApp)
        await self.until(pilot, lambda: app.counter is not None and app.counter.idle)  # type: ignore[attr-defined]
        await pilot.pause()


@pytest.fixture
def ui(demo_store: Store, settings: Settings, clock: Any) -> UI:
    return UI(demo_store, settings, clock)


AsyncTest = Callable[..., Awaitable[None]]
