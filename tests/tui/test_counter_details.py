"""Counter details from issue 14, each as an operator meets it: what the screen says, and what the register holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from textual.widgets import DataTable

from tracker.demo import badge, place
from tracker.services import circulation, incidents
from tracker.store import Store
from tui.app import make_app
from tui.screens.alerts import AlertsScreen
from tui.screens.login import LoginScreen
from tui.screens.register import NewCarrierScreen, RegisterScreen
from tui.widgets.card import FeedbackCard, render_feedback


def card_text(app: Any) -> str:
    return str(app.screen.query_one("#card", FeedbackCard).render())


def screen_text(app: Any) -> str:
    """What the terminal shows, as plain text (one string per screen line, joined)."""
    svg = app.export_screenshot()
    texts = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return "".join(t.replace("&#160;", " ") for t in texts)


async def test_check_in_of_a_carrier_in_store_says_so(ui: Any) -> None:
    home = ui.carriers(lambda v: v.status == "in_store")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("f3")
        await ui.scan(pilot, home.code)
        await ui.answered(pilot)
        fb = app.counter.feedback[1]
        assert fb.tone == "info" and "Already in store" in fb.title, fb
        assert "say where" not in card_text(app)
    assert ui.carrier(home.code).location == home.location



async def test_handover_refuses_reader_to_reader_at_the_scan(ui: Any) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan" and v.holder == badge("reader_core"))[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        screen = await ui.open_handover(pilot, "reader_core", "reader_important")
        await ui.scan(pilot, lent.code)
        await ui.until(pilot, lambda: "R-56" in card_text(app))
        assert screen.carriers == [] and "Added" not in card_text(app)
    assert ui.carrier(lent.code).holder == badge("reader_core")


async def test_handover_list_shows_the_new_holder(ui: Any) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan" and v.holder == badge("reader_core"))[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        screen = await ui.open_handover(pilot, "reader_core", "courier")
        await ui.scan(pilot, lent.code)
        await ui.until(pilot, lambda: len(screen.carriers) == 1)
        await pilot.press("ctrl+s")
        await ui.until(pilot, lambda: bool(screen.events))
        table = screen.query_one("#carriers", DataTable)
        holder = str(table.get_cell(lent.code, "holder"))
        assert holder.startswith(badge("courier")), holder


async def test_ctrl_o_lock_does_not_claim_idleness(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("ctrl+o")
        await ui.on_screen(pilot, "LoginScreen")
        assert "idle" not in screen_text(app)
        assert "locked" in screen_text(app)
        await ui.type(pilot, "482916")
        await ui.on_screen(pilot, "CounterScreen")
        ui.monotonic.now += 60 * 60
        assert app.lock_if_idle()
        await ui.on_screen(pilot, "LoginScreen")
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen) and "idle" in screen_text(app)


async def _new_carrier_form(ui: Any, pilot: Any, app: Any) -> NewCarrierScreen:
    await ui.login(pilot)
    await pilot.press("f9")
    await ui.until(pilot, lambda: isinstance(app.screen, RegisterScreen))
    await pilot.press("ctrl+n")
    await ui.until(pilot, lambda: isinstance(app.screen, NewCarrierScreen))
    screen = app.screen
    assert isinstance(screen, NewCarrierScreen)
    return screen


async def test_new_carrier_kind_typed_over_and_esc_asks(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _new_carrier_form(ui, pilot, app)
        for _ in range(2):  # place, level: on to the kind
            await pilot.press("enter")
        await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "f-kind")
        assert screen.value("kind") == "paper"
        await ui.type(pilot, "usb_drive", enter=False)
        await ui.until(pilot, lambda: screen.value("kind") == "usb_drive")
        await pilot.pause(0.2)
        assert screen.value("kind") == "usb_drive"  # not "paperusb_drive"
        await pilot.press("escape")
        await ui.on_screen(pilot, "ConfirmDialog")
        await pilot.press("escape")  # keep the form
        await ui.on_screen(pilot, "NewCarrierScreen")
        assert screen.value("kind") == "usb_drive"
        await pilot.press("escape")
        await ui.on_screen(pilot, "ConfirmDialog")
        await pilot.press("enter")  # throw it away
        await ui.on_screen(pilot, "RegisterScreen")


async def test_new_carrier_untouched_form_leaves_at_once(ui: Any) -> None:
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _new_carrier_form(ui, pilot, app)
        await pilot.press("escape")
        await ui.on_screen(pilot, "RegisterScreen")


async def test_look_up_of_a_missing_carrier_alarms_and_records_it_found(ui: Any) -> None:
    target = ui.carriers(lambda v: v.classification == "secret" and v.status == "in_store")[0]
    incidents.report_missing(ui.store.uow(), ui.sign("clerk"), target.code, "shelf empty")
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        rung: list[int] = []
        app.bell = lambda: rung.append(1)  # type: ignore[method-assign]
        await ui.login(pilot)
        await ui.look_up(pilot, target.code)
        fb = app.counter.feedback[1]
        assert fb.tone == "refused" and "missing" in fb.title.lower() and rung
        assert "F8" in card_text(app)
        await pilot.press("f8")
        await ui.on_screen(pilot, "FoundDialog")
        await ui.type(pilot, target.location or "")
        await ui.type(pilot, "behind the cabinet")
        await ui.answered(pilot)
        fb = app.counter.feedback[2]
        assert fb.tone == "ok" and fb.title == "Recorded found", fb
    back = ui.carrier(target.code)
    assert back.status == "in_store" and back.location == target.location


@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_refusals_are_visible_whole_at_80x24(ui: Any, lang: str) -> None:
    """The longest refusal at the counter: a 绝密 carrier to a reader without the clearance, without an approval
    and without a reading place (R-159, R-63, R-67 and the advice on each) is shown whole, not cut at the card."""
    carrier = ui.carriers(lambda v: v.classification == "top_secret" and v.status == "in_store")[0]
    app = ui.app(lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.scan(pilot, badge("reader_general"))
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        await ui.until(pilot, lambda: app.counter.state.party is not None and app.counter.state.party.signed)
        await ui.scan(pilot, carrier.code)
        await ui.answered(pilot)
        fb = app.counter.feedback[2]
        assert "R-67" in fb.rules, fb
        await pilot.pause()
        card = app.screen.query_one("#card", FeedbackCard)
        wrapped = render_feedback(fb).wrap(app.console, card.content_size.width)
        assert len(wrapped) <= card.content_size.height, [t.plain for t in wrapped]
        shown = screen_text(app)
        assert "R-67" in shown and wrapped[-1].plain.strip()[-12:] in shown


async def test_alerts_show_the_holders_badge_at_80x24(ui: Any) -> None:
    free = ui.carriers(lambda v: v.classification == "internal" and v.status == "in_store")[0]
    circulation.check_out(ui.store.uow(), ui.sign("clerk"), free.code, ui.sign("reader_general"))
    ui.clock.advance(days=3)
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("f10")
        await ui.until(pilot, lambda: isinstance(app.screen, AlertsScreen) and bool(app.screen.alerts))
        await pilot.pause()
        assert badge("reader_general") in screen_text(app)
    assert place("BJ", "R1")  # the demo's reading room exists (used by the R-67 advice)


@pytest.mark.parametrize(("lang", "words"), [("en", "open to other users"), ("zh", "对其他用户开放")])
async def test_a_register_file_others_can_read_is_said_at_start(ui: Any, lang: str, words: str) -> None:
    path = Path(make_url(ui.store.url).database or "")
    path.chmod(0o644)
    store = Store(ui.store.url, terminal="test-terminal", clock=ui.clock, policy=ui.store.policy)
    try:
        assert store.warnings
        app = make_app(store, ui.settings, lang, monotonic=ui.monotonic)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            shown = [n.message for n in app._notifications]
            assert any(words in m and "chmod 600" in m for m in shown), shown
    finally:
        store.dispose()


async def test_carry_out_asks_for_the_signature_first_and_keeps_typed_bursts(ui: Any) -> None:
    target = ui.carriers(lambda v: v.classification == "internal" and v.status == "in_store")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.look_up(pilot, target.code)
        await pilot.press("f6")
        await pilot.pause()
        assert type(app.screen).__name__ == "CounterScreen"  # no form to fill in for nothing
        assert "signs first" in card_text(app)
        await pilot.press("f2")
        await ui.sign_with_pin(pilot, "reader_general")
        await ui.until(pilot, lambda: app.counter.state.party is not None and app.counter.state.party.signed)
        await pilot.press("f4")
        await ui.scan(pilot, target.code)
        await ui.answered(pilot)
        await pilot.press("f6")
        await ui.on_screen(pilot, "CarryOutDialog")
        dialog = app.screen
        await pilot.press("enter")  # the default return time
        await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "destination")
        submitted = app.counter.submitted
        await ui.scan(pilot, "北京会议", wait=False)  # an input method commits the word at scanner speed
        await ui.until(pilot, lambda: app.focused is not None and app.focused.id == "companion")
        assert dialog.query_one("#destination").value == "北京会议"
        assert app.counter.submitted == submitted  # nothing went to the scan queue
