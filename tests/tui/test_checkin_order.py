"""F3 (check-in) at the counter with a carrier that is not out: the counter says so in the screen's language, never
"say where it goes back to", and the register is unchanged (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest

from tracker.services import incidents
from tui.widgets.card import FeedbackCard


def card_text(app: Any) -> str:
    return str(app.screen.query_one("#card", FeedbackCard).render())


@pytest.mark.parametrize(("lang", "not_out", "asks"), [("en", "not out", "say where"), ("zh", "未借出", "存放位置")])
async def test_check_in_of_a_missing_carrier_is_refused_as_not_out(ui: Any, lang: str, not_out: str,
                                                                   asks: str) -> None:
    target = ui.carriers(lambda v: v.status == "in_store")[0]
    incidents.report_missing(ui.store.uow(), ui.sign("clerk"), target.code, "shelf empty")
    app = ui.app(lang)
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("f3")
        await ui.scan(pilot, target.code)
        await ui.answered(pilot)
        fb = app.counter.feedback[1]
        assert fb.tone == "refused" and fb.rules == ("R-66",), fb
        shown = "".join(card_text(app).split())
        assert "".join(not_out.split()) in shown and asks.replace(" ", "") not in shown, shown
    assert ui.carrier(target.code).status == "missing"


async def test_check_in_of_a_carrier_on_loan_still_works_after_one_in_store(ui: Any) -> None:
    """The refusal of the first scan leaves the counter in check-in mode for the next carrier."""
    home = ui.carriers(lambda v: v.status == "in_store")[0]
    out = ui.carriers(lambda v: v.status == "on_loan")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await pilot.press("f3")
        await ui.scan(pilot, home.code)
        await ui.answered(pilot)
        first = app.counter.feedback[1]
        assert first.tone == "info" and "Already in store" in first.title, first  # no returner asked for
        await ui.scan(pilot, out.code)
        await ui.until(pilot, lambda: 2 in app.counter.feedback)
        assert app.counter.feedback[2].tone == "waiting"  # who returns it signs first
        await ui.scan(pilot, out.holder)
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        await ui.until(pilot, lambda: app.counter.feedback[2].tone != "waiting")
        second = app.counter.feedback[2]
        assert second.tone == "ok" and second.title == "Checked in", second
    assert ui.carrier(out.code).status == "in_store"
