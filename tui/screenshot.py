"""Make the README's screenshots: the counter (and the handover screen) on a fresh demo register, as SVG from Textual.

`python -m tui.screenshot [docs]` builds the demo register in a temporary directory with the clock fixed at
2026-11-25 10:00 Beijing time, signs in as the demo clerk, lends a 秘密 carrier to a cleared reader and has a 绝密
carrier refused to the same reader, then saves `counter.svg` (and `counter-zh.svg`, `handover.svg`, and
`approvals.svg`: the requests waiting for the demo approver, one raised at the counter for a 秘密 loan). It drives the
real app with key events, exactly as the tests do; it writes only the SVG files.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual import events
from textual.pilot import Pilot

from tracker import queries
from tracker.config import Settings
from tracker.demo import DEMO_PIN, badge, build_demo, place
from tracker.services import approvals
from tracker.services.common import authenticate, configure_hasher
from tracker.store import Store
from tui.app import TrackerApp, make_app

NOW = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
SIZE = (100, 30)


async def _scan(pilot: Pilot[Any], code: str) -> None:
    driver = pilot.app._driver
    assert driver is not None
    for ch in code:
        driver.send_message(events.Key(ch, ch))
    driver.send_message(events.Key("enter", "\r"))


async def _until(pilot: Pilot[Any], condition: Any) -> None:
    for _ in range(1000):
        if condition():
            return
        await pilot.pause(0.02)
    raise RuntimeError("the app did not reach the expected state")


async def _login(pilot: Pilot[Any], app: TrackerApp, who: str = "clerk") -> None:
    await pilot.press(*badge(who), "enter", *DEMO_PIN, "enter")
    await _until(pilot, lambda: app.counter is not None and app.screen is app.counter)


async def _sign(pilot: Pilot[Any], app: TrackerApp, who: str) -> None:
    await _scan(pilot, badge(who))
    await _until(pilot, lambda: type(app.screen).__name__ == "PinDialog" and app.focused is not None
                 and app.focused.id == "pin")
    await pilot.press(*DEMO_PIN, "enter")


async def counter_scene(pilot: Pilot[Any], store: Store) -> None:
    app = pilot.app
    assert isinstance(app, TrackerApp)
    with store.uow(readonly=True) as uow:
        rows = queries.export_rows(uow)
    lend = next(v for v in rows if v.classification == "confidential" and v.status == "in_store"
                and "法规处" in (v.scope or ""))
    top = next(v for v in rows if v.classification == "top_secret" and v.status == "in_store")
    approvals.grant(store.uow(), authenticate(store.uow(), badge("approver"), DEMO_PIN), "loan", [lend.code],
                    NOW + timedelta(hours=6), grantee=badge("reader_general"))
    await _login(pilot, app)
    await _sign(pilot, app, "reader_general")
    await _scan(pilot, lend.code)
    await _scan(pilot, place(top.code[:2], "R1"))
    await _scan(pilot, top.code)
    # every scan answered: the last keys may still be queued when the counter first looks idle
    await _until(pilot, lambda: app.counter is not None and len(app.counter.feedback) >= 4  # type: ignore[attr-defined]
                 and app.counter.idle)  # type: ignore[attr-defined]
    await pilot.pause(0.2)


async def handover_scene(pilot: Pilot[Any], store: Store) -> None:
    app = pilot.app
    assert isinstance(app, TrackerApp)
    with store.uow(readonly=True) as uow:
        lent = [v for v in queries.export_rows(uow) if v.status == "on_loan" and v.holder == badge("reader_core")]
    await _login(pilot, app)
    await pilot.press("f5")
    await _until(pilot, lambda: type(app.screen).__name__ == "HandoverScreen")
    screen: Any = app.screen
    await _sign(pilot, app, "reader_core")
    await _until(pilot, lambda: screen.giver is not None and screen.giver.signed is not None)
    await _sign(pilot, app, "courier")
    await _until(pilot, lambda: screen.taker is not None and screen.taker.signed is not None)
    for v in lent[:2]:
        await _scan(pilot, v.code)
    await _until(pilot, lambda: len(screen.carriers) == len(lent[:2]))
    await pilot.pause(0.2)


async def approvals_scene(pilot: Pilot[Any], store: Store) -> None:
    app = pilot.app
    assert isinstance(app, TrackerApp)
    with store.uow(readonly=True) as uow:
        rows = queries.export_rows(uow)
    secret = next(v for v in rows if v.classification == "secret" and v.status == "in_store"
                  and "法规处" in (v.scope or ""))
    approvals.request(store.uow(), authenticate(store.uow(), badge("clerk"), DEMO_PIN), "loan", [secret.code],
                      NOW + timedelta(hours=8), grantee=badge("reader_important"), note="合同审核")
    await _login(pilot, app, "approver")
    await pilot.press("f11")
    await _until(pilot, lambda: type(app.screen).__name__ == "ApprovalsScreen"
                 and len(getattr(app.screen, "rows", ())) == 2)
    await pilot.pause(0.2)


async def shoot(db: Path, out: Path, scene: Any, lang: str) -> None:
    store = Store(f"sqlite:///{db}", terminal="counter-1", clock=lambda: NOW)
    app = make_app(store, Settings(database_url=store.url, terminal="counter-1"), lang, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await scene(pilot, store)
        out.write_text(app.export_screenshot(title="carrier-tracker — tracker tui"), encoding="utf-8")
    store.dispose()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    target = Path(args[0] if args else "docs")
    target.mkdir(parents=True, exist_ok=True)
    configure_hasher(1, 8)  # demo PINs only; nothing here is a real register
    with tempfile.TemporaryDirectory(prefix="tracker-shot-") as tmp:
        template = Path(tmp) / "demo.sqlite"
        store = Store(f"sqlite:///{template}", terminal="counter-1", clock=lambda: NOW)
        store.ensure_schema()
        build_demo(store)
        store.dispose()
        for name, scene, lang in (("counter.svg", counter_scene, "en"), ("counter-zh.svg", counter_scene, "zh"),
                                  ("handover.svg", handover_scene, "en"),
                                  ("approvals.svg", approvals_scene, "en")):
            db = Path(tmp) / f"{name}.sqlite"
            db.write_bytes(template.read_bytes())
            db.chmod(0o600)  # private, as a register must be (else the counter opens with a warning about it)
            asyncio.run(shoot(db, target / name, scene, lang))
            print(target / name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
