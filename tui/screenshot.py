"""Make the README's screenshots and the newcomer's walk, as SVG from Textual, on a fresh demo register.

`python -m tui.screenshot [docs]` builds the demo register in a temporary directory with the clock fixed at
2026-11-25 10:00 Beijing time, signs in as the demo clerk, lends a 秘密 carrier to a cleared reader and has a 绝密
carrier refused to the same reader, then saves `counter.svg` (and `counter-zh.svg`, `handover.svg`, and
`approvals.svg`: the requests waiting for the demo approver, one raised at the counter for a 秘密 loan).

It also walks a newcomer's first hour at 80×24, in English and in Chinese (`docs/walk/NN-step.svg` and
`NN-step-zh.svg`, shown in order by docs/walk.md): sign in; a 秘密 loan refused for want of an approval and the
request raised; the approver standing at the counter grants it; the loan goes out; a 绝密 carrier refused; a
courier handover; the check-in; a stock-take of one room from a handheld file. Every step waits for the state it
shows and says so (`Step`), so tests/tui/test_walk.py can run the walk and check each step without comparing pixels.

It drives the real app with key events, exactly as the tests do; it writes only the SVG files.
"""
from __future__ import annotations

import asyncio
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from textual import events
from textual.pilot import Pilot

from tracker import queries
from tracker import stocktake as st
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


def _scene_carriers(store: Store) -> tuple[list[queries.CarrierView], queries.CarrierView, queries.CarrierView]:
    """The demo register's carriers, the 秘密 one in 法规处's scope a scene lends, and a 绝密 one in store."""
    with store.uow(readonly=True) as uow:
        rows = queries.export_rows(uow)
    lend = next(v for v in rows if v.classification == "confidential" and v.status == "in_store"
                and "法规处" in (v.scope or ""))
    top = next(v for v in rows if v.classification == "top_secret" and v.status == "in_store")
    return rows, lend, top


async def counter_scene(pilot: Pilot[Any], store: Store) -> None:
    app = pilot.app
    assert isinstance(app, TrackerApp)
    _rows, lend, top = _scene_carriers(store)
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


# -- the newcomer's walk at 80×24 ---------------------------------------------------------------------------------

WALK_SIZE = (80, 24)
WALK_ROOM = place("BJ", "R2")  # the Beijing archive room: two cabinets of three shelves


@dataclass(frozen=True)
class Step:
    """One screenshot of the walk: its file stem, what it shows (one line for docs/walk.md), the screen it was taken
    on, and the state the step waited for (tone and rules of the counter's last answer, or the screen's own)."""

    name: str
    caption: str
    screen: str
    state: str


WALK_CAPTIONS = {
    "01-sign-in": "Sign in: scan (or type) your badge, then your PIN.",
    "02-request": "A 秘密 loan is refused for want of an approval (R-63); Ctrl+R raises the request.",
    "03-approve": "F11: the approver, standing at the counter, grants it with badge and PIN.",
    "04-lend": "Esc, scan the carrier again: it goes out on the approval, due by the end of the day.",
    "05-refuse-top-secret": "A 绝密 carrier to the same reader is refused, each rule saying why.",
    "06-handover": "F5: a reader hands two carriers to the courier, both signing; Ctrl+S records it.",
    "07-check-in": "F3: the 秘密 carrier comes back to its shelf.",
    "08-stocktake": "Ctrl+T: the archive room's stock-take after a handheld's file was uploaded.",
}


WALK_SHELVES = tuple(place("BJ", f"R2C{cabinet}S{shelf}") for cabinet in (1, 2) for shelf in (1, 2, 3))


def handheld_file(store: Store, leave_out: int = 1) -> tuple[str, list[str]]:
    """What a handheld scanned walking the room shelf by shelf (a plain list of codes), leaving `leave_out` carriers
    unscanned; returns the file's text and the carriers left out (the stock-take finds them missing)."""
    with store.uow(readonly=True) as uow:
        rows = [v for v in queries.export_rows(uow) if v.status == "in_store" and v.location in WALK_SHELVES]
    shelves: dict[str, list[str]] = {shelf: [] for shelf in WALK_SHELVES}
    for v in sorted(rows, key=lambda v: v.code):
        shelves[v.location or ""].append(v.code)
    left = [codes[-1] for codes in shelves.values() if codes][:leave_out]
    lines = [c for shelf, codes in shelves.items() for c in (shelf, *(c for c in codes if c not in left))]
    return "\n".join(lines) + "\n", left


def _tone(app: TrackerApp, row: int) -> str:
    counter: Any = app.counter
    fb = counter.feedback[row]
    return f"{fb.tone} {' '.join(fb.rules)}".strip()


async def _answered(pilot: Pilot[Any], app: TrackerApp, rows: int) -> None:
    await _until(pilot, lambda: app.counter is not None and len(app.counter.feedback) >= rows  # type: ignore[attr-defined]
                 and app.counter.idle)  # type: ignore[attr-defined]
    await pilot.pause(0.1)


async def _focus(pilot: Pilot[Any], app: TrackerApp, widget_id: str) -> None:
    await _until(pilot, lambda: app.focused is not None and app.focused.id == widget_id)


async def walk(pilot: Pilot[Any], store: Store, shot: Callable[[str, str, str], None]) -> None:
    """The newcomer's walk on one app, one register; `shot(name, screen, state)` saves each step."""
    app = pilot.app
    assert isinstance(app, TrackerApp)
    rows, lend, top = _scene_carriers(store)
    held = [v for v in rows if v.status == "on_loan" and v.holder == badge("reader_core")][:2]

    await _until(pilot, lambda: type(app.screen).__name__ == "LoginScreen" and app.focused is not None)
    await pilot.press(*badge("clerk"), "enter")
    await _focus(pilot, app, "pin")
    await pilot.press(*DEMO_PIN)
    shot("01-sign-in", "LoginScreen", "badge scanned, PIN typed")
    await pilot.press("enter")
    await _until(pilot, lambda: app.counter is not None and app.screen is app.counter)

    await _sign(pilot, app, "reader_important")
    await _answered(pilot, app, 1)
    await _scan(pilot, lend.code)
    await _answered(pilot, app, 2)
    refused = _tone(app, 2)
    if "R-63" not in refused:
        raise RuntimeError(f"the 秘密 loan was not refused for want of an approval: {refused}")
    await pilot.press("ctrl+r")
    await _until(pilot, lambda: type(app.screen).__name__ == "RequestDialog")
    await _focus(pilot, app, "note")
    await pilot.press(*"review", "enter")
    await _answered(pilot, app, 3)
    counter: Any = app.counter
    raised = counter.feedback[3]
    number = re.search(r"#(\d+)", raised.title)
    if raised.tone != "waiting" or number is None:
        raise RuntimeError(f"no request raised: {raised}")
    shot("02-request", "CounterScreen", f"{refused}; request #{number.group(1)} {raised.tone}")

    await pilot.press("f11")
    await _until(pilot, lambda: type(app.screen).__name__ == "ApprovalsScreen"
                 and bool(getattr(app.screen, "rows", ())))
    screen: Any = app.screen
    await pilot.press("a")
    await _until(pilot, lambda: type(app.screen).__name__ == "DecisionDialog")
    await _focus(pilot, app, "badge")
    await _scan(pilot, badge("approver"))
    await _focus(pilot, app, "pin")
    await pilot.press(*DEMO_PIN, "enter")
    await _until(pilot, lambda: screen.outcome is not None and app.screen is screen)
    if screen.outcome != "granted":
        raise RuntimeError(f"the request was not granted: {screen.outcome}")
    await pilot.pause(0.2)
    shot("03-approve", "ApprovalsScreen", f"request #{number.group(1)} {screen.outcome}")

    await pilot.press("escape")
    await _until(pilot, lambda: app.screen is app.counter)
    await _scan(pilot, lend.code)
    await _answered(pilot, app, 4)
    lent = _tone(app, 4)
    if lent != "ok":
        raise RuntimeError(f"the approved loan did not go out: {lent}")
    shot("04-lend", "CounterScreen", f"{lend.code} {lent}")

    await _scan(pilot, top.code)
    await _answered(pilot, app, 5)
    refused_top = _tone(app, 5)
    if not refused_top.startswith("refused") or "R-159" not in refused_top:
        raise RuntimeError(f"the 绝密 carrier was not refused: {refused_top}")
    shot("05-refuse-top-secret", "CounterScreen", f"{top.code} {refused_top}")

    await pilot.press("f5")
    await _until(pilot, lambda: type(app.screen).__name__ == "HandoverScreen")
    hand: Any = app.screen
    await _sign(pilot, app, "reader_core")
    await _until(pilot, lambda: hand.giver is not None and hand.giver.signed is not None)
    await _sign(pilot, app, "courier")
    await _until(pilot, lambda: hand.taker is not None and hand.taker.signed is not None)
    for v in held:
        await _scan(pilot, v.code)
    await _until(pilot, lambda: len(hand.carriers) == len(held))
    await pilot.press("ctrl+s")
    await _until(pilot, lambda: bool(hand.events))
    await pilot.pause(0.2)
    shot("06-handover", "HandoverScreen", f"{len(hand.events)} carriers handed over")

    await pilot.press("escape")
    await _until(pilot, lambda: app.screen is app.counter)
    await pilot.press("f3")
    await _scan(pilot, lend.code)
    await _answered(pilot, app, 6)
    back = _tone(app, 6)
    if back != "ok":
        raise RuntimeError(f"the check-in failed: {back}")
    shot("07-check-in", "CounterScreen", f"{lend.code} {back}")

    # The security officer starts the room's stock-take and the handheld's file is uploaded, as
    # `tracker stocktake start` and `tracker stocktake upload` do; the clerk watches it on the stock-take screen.
    officer = authenticate(store.uow(), badge("officer"), DEMO_PIN)
    clerk = authenticate(store.uow(), badge("clerk"), DEMO_PIN)
    sid = st.start(store.uow(), officer, "2026年第四季度 档案室清查", [WALK_ROOM], [officer, clerk])
    text, missing = handheld_file(store)
    st.ingest(store.uow(), clerk, sid, st.parse_upload(text, device="HH1", batch="SCANNED-1").reads)
    st.reconcile(store.uow(), clerk, sid)
    await pilot.press("ctrl+t")
    await _until(pilot, lambda: type(app.screen).__name__ == "StocktakeScreen"
                 and bool(getattr(app.screen, "places", ())))
    stock: Any = app.screen
    missing_n = sum(p.missing for p in stock.places)
    if stock.session_id != sid or missing_n != len(missing):
        raise RuntimeError(f"the stock-take screen shows {missing_n} missing, not {len(missing)}")
    await pilot.pause(0.2)
    shot("08-stocktake", "StocktakeScreen", f"stock-take #{sid}: {missing_n} missing")


async def walk_through(db: Path, out: Path, lang: str) -> list[Step]:
    """Run the walk on the register file `db` (a copy of the demo), saving one SVG per step into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    store = Store(f"sqlite:///{db}", terminal="counter-1", clock=lambda: NOW)
    app = make_app(store, Settings(database_url=store.url, terminal="counter-1"), lang, cursor_blink=False)
    steps: list[Step] = []
    suffix = "" if lang == "en" else f"-{lang}"
    async with app.run_test(size=WALK_SIZE) as pilot:

        def shot(name: str, screen: str, state: str) -> None:
            if type(app.screen).__name__ != screen:
                raise RuntimeError(f"{name}: on {type(app.screen).__name__}, not {screen}")
            (out / f"{name}{suffix}.svg").write_text(app.export_screenshot(title="carrier-tracker — tracker tui"),
                                                     encoding="utf-8")
            steps.append(Step(name, WALK_CAPTIONS[name], screen, state))

        await walk(pilot, store, shot)
    store.dispose()
    return steps


def demo_register(path: Path) -> Path:
    """The demo register on the fixed clock, made once; each scene works on a private copy (`copy_register`)."""
    store = Store(f"sqlite:///{path}", terminal="counter-1", clock=lambda: NOW)
    store.ensure_schema()
    build_demo(store)
    store.dispose()
    return path


def copy_register(template: Path, target: Path) -> Path:
    target.write_bytes(template.read_bytes())
    target.chmod(0o600)  # private, as a register must be (else the counter opens with a warning about it)
    return target


async def shoot(db: Path, out: Path, scene: Any, lang: str) -> None:
    store = Store(f"sqlite:///{db}", terminal="counter-1", clock=lambda: NOW)
    app = make_app(store, Settings(database_url=store.url, terminal="counter-1"), lang, cursor_blink=False)
    async with app.run_test(size=SIZE) as pilot:
        await scene(pilot, store)
        out.write_text(app.export_screenshot(title="carrier-tracker — tracker tui"), encoding="utf-8")
    store.dispose()


def main(argv: list[str] | None = None) -> int:
    """`python -m tui.screenshot [DIR] [--walk]`: every screenshot into DIR (docs), or with --walk only the walk."""
    args = sys.argv[1:] if argv is None else argv
    walk_only = "--walk" in args
    paths = [a for a in args if a != "--walk"]
    target = Path(paths[0] if paths else "docs")
    target.mkdir(parents=True, exist_ok=True)
    configure_hasher(1, 8)  # demo PINs only; nothing here is a real register
    readme = (("counter.svg", counter_scene, "en"), ("counter-zh.svg", counter_scene, "zh"),
              ("handover.svg", handover_scene, "en"), ("approvals.svg", approvals_scene, "en"))
    with tempfile.TemporaryDirectory(prefix="tracker-shot-") as tmp:
        template = demo_register(Path(tmp) / "demo.sqlite")
        for name, scene, lang in () if walk_only else readme:
            db = copy_register(template, Path(tmp) / f"{name}.sqlite")
            asyncio.run(shoot(db, target / name, scene, lang))
            print(target / name)
        for lang in ("en", "zh"):
            db = copy_register(template, Path(tmp) / f"walk-{lang}.sqlite")
            for step in asyncio.run(walk_through(db, target / "walk", lang)):
                print(target / "walk" / step.name, lang, "—", step.state)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
