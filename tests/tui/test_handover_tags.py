"""The handover screen takes a carrier by its tag only when the tag is ours: a GIAI-96 tag under another
organisation's company prefix (the demo register holds none, so every GIAI-96 tag is foreign to it) is an unknown
tag, however much its asset number reads as the carrier being handed over; the carrier's own GID-96 tag adds it."""

from __future__ import annotations

from typing import Any

from labels.codes import carrier_code_to_epc
from tracker.demo import badge
from tui.widgets.card import FeedbackCard


def card_text(app: Any) -> str:
    return str(app.screen.query_one("#card", FeedbackCard).render())



async def test_a_foreign_prefix_tag_is_an_unknown_tag_at_the_handover(ui: Any) -> None:
    lent = ui.carriers(lambda v: v.status == "on_loan" and v.holder == badge("reader_core"))[0]
    foreign = carrier_code_to_epc(lent.code, "6999999")
    app = ui.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await ui.login(pilot)
        screen = await ui.open_handover(pilot, "reader_core", "courier")
        await ui.scan(pilot, foreign)
        await ui.until(pilot, lambda: "Unknown tag" in card_text(app))
        assert foreign in card_text(app).replace("\n", "") and screen.carriers == []
        await ui.scan(pilot, carrier_code_to_epc(lent.code))
        await ui.until(pilot, lambda: len(screen.carriers) == 1)
        assert screen.carriers[0].code == lent.code
    assert ui.carrier(lent.code).holder == badge("reader_core")
