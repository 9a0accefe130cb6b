"""Snapshots of the counter, handover, register and approvals screens at 80×24 and 160×48, on the demo register
with a fixed clock and seed. Regenerate after an intended change with
`pytest tests/tui/test_snapshots.py --snapshot-update` and look at the report before committing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from textual.pilot import Pilot

from tracker.demo import badge, place
from tracker.services import approvals

SIZES = [(80, 24), (160, 48)]


async def counter_scene(ui: Any, pilot: Pilot[Any]) -> None:
    lend = ui.carriers(lambda v: v.classification == "confidential" and v.status == "in_store"
                       and "法规处" in (v.scope or ""))[0]
    top = ui.carriers(lambda v: v.classification == "top_secret" and v.status == "in_store")[0]
    ui.grant("loan", [lend.code], grantee="reader_general")
    await ui.login(pilot)
    await ui.scan(pilot, badge("reader_general"))
    await ui.pin_dialog(pilot)
    await ui.type(pilot, "482916")
    await ui.scan(pilot, lend.code)
    await ui.scan(pilot, place(top.code[:2], "R1"))
    await ui.scan(pilot, top.code)
    await ui.answered(pilot)


async def handover_scene(ui: Any, pilot: Pilot[Any]) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan" and v.holder == badge("reader_core"))[:2]
    await ui.login(pilot)
    await pilot.press("f5")
    await ui.on_screen(pilot, "HandoverScreen")
    screen = pilot.app.screen
    for who, side in (("reader_core", "giver"), ("courier", "taker")):
        await ui.scan(pilot, badge(who))
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        await ui.until(pilot, lambda s=side: getattr(screen, s) is not None and getattr(screen, s).signed)
    for v in lent:
        await ui.scan(pilot, v.code)
    await ui.until(pilot, lambda: len(screen.carriers) == len(lent))
    await pilot.pause()


async def register_scene(ui: Any, pilot: Pilot[Any]) -> None:
    await ui.login(pilot)
    await pilot.press("f9")
    await ui.on_screen(pilot, "RegisterScreen")
    screen = pilot.app.screen
    screen.query_one("#search").value = "会议记录"
    await ui.until(pilot, lambda: screen.last_query == "会议记录")
    await pilot.pause()


async def approvals_scene(ui: Any, pilot: Pilot[Any]) -> None:
    """The clerk's requests, and an approver without the office leader's role or core clearance refused at the
    counter: the refusal must be readable whole at 80×24."""
    ts = ui.carriers(lambda v: v.classification == "top_secret" and v.status == "in_store"
                     and "技术处" in (v.scope or ""))[0]
    approvals.request(ui.store.uow(), ui.sign("clerk"), "loan", [ts.code], ui.clock() + timedelta(hours=4),
                      grantee=badge("reader_core"), note="[b]评审[/b]")
    await ui.login(pilot)
    await pilot.press("f11")
    await ui.on_screen(pilot, "ApprovalsScreen")
    screen = pilot.app.screen
    await ui.until(pilot, lambda: bool(screen.rows))
    await pilot.press("a")
    await ui.on_screen(pilot, "DecisionDialog")
    await ui.until(pilot, lambda: pilot.app.focused is not None and pilot.app.focused.id == "badge")
    await ui.scan(pilot, badge("approver3"))
    await ui.until(pilot, lambda: pilot.app.focused is not None and pilot.app.focused.id == "pin")
    await ui.type(pilot, "482916")
    await ui.until(pilot, lambda: screen.outcome == "refused")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("scene", [counter_scene, handover_scene, register_scene, approvals_scene],
                         ids=lambda f: f.__name__)
def test_screen_snapshot(snap_compare: Any, ui: Any, scene: Any, size: tuple[int, int]) -> None:
    app = ui.app()
    app.cursor_blink = False

    async def run_before(pilot: Pilot[Any]) -> None:
        await scene(ui, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
