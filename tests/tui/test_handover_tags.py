"""The handover screen takes a carrier by its tag only when the tag is ours: a GIAI-96 tag under another
organisation's company prefix (the demo register holds none, so every GIAI-96 tag is foreign to it) is an unknown
tag, however much its asset number reads as the carrier being handed over; the carrier's own GID-96 tag adds it."""

from __future__ import annotations

from typing import Any

from labels.codes import carrier_code_to_epc
from tracker.demo import badge
from tui.screens.handover import HandoverScreen
from tui.widgets.card import FeedbackCard


def card_text(app: Any) -> str:
    return str(app.screen.query_one("#card", FeedbackCard).render())


async def _sign(ui: Any, pilot: Any, who: str) -> None:
    await ui.scan(pilot, badge(who))
    await ui.pin_dialog(pilot)
    await ui.type(pilot, "482916")


async def test_a_foreign_prefix_tag_is_an_unknown_tag_at_the_handover(ui: Any) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan" and v.holder == badge("reader_core"))[0]
    foreign = carrier_code_to_epc(lent.code, "6999999")
    app = ui.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ui.login(pilot)
        await pilot.press("f5")
        await ui.until(pilot, lambda: isinstance(app.screen, HandoverScreen))
        screen = app.screen
        await _sign(ui, pilot, "reader_core")
        await ui.until(pilot, lambda: screen.giver is not None and screen.giver.signed is not None)
        await _sign(ui, pilot, "courier")
        await ui.until(pilot, lambda: screen.taker is not None and screen.taker.signed is not None)
        await ui.scan(pilot, foreign)
        await ui.until(pilot, lambda: "Unknown tag" in card_text(app))
        assert foreign in card_text(app).replace("\n", "") and screen.carriers == []
        await ui.scan(pilot, carrier_code_to_epc(lent.code))
        await ui.until(pilot, lambda: len(screen.carriers) == 1)
        assert screen.carriers[0].code == lent.code
    assert ui.carrier(lent.code).holder == badge("reader_core")
