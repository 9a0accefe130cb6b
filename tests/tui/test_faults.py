"""A read-only register at the counter itself (issue 16), through the real app: the clerk signs in and reads, a
check-out is answered by a red card saying the register is read-only and nothing confirmed before is lost, and the
register is unchanged. (The same fault and a full disk through the counter's desk: tests/integration/test_storage.py.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from tests_support import Clock

from tracker.config import Settings
from tracker.demo import badge
from tracker.rules import Policy
from tracker.store import Store
from tui.widgets.card import FeedbackCard


@pytest.fixture
def read_only_ui(ui: Any, clock: Clock) -> Iterator[Any]:
    path = make_url(ui.store.url).database
    ui.store.dispose()
    ro = Store(f"sqlite:///file:{path}?mode=ro&uri=true", terminal="test-terminal", clock=clock, policy=Policy())
    writable, ui.store = ui.store, ro
    ui.settings = Settings(database_url=ro.url, terminal="test-terminal")
    yield ui
    ro.dispose()
    ui.store = writable


async def test_a_read_only_register_is_a_red_card_at_the_counter(read_only_ui: Any) -> None:
    ui = read_only_ui
    home = ui.carriers(lambda v: v.classification == "internal" and v.status == "in_store")[0]
    app = ui.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.scan(pilot, badge("reader_core"))
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        await ui.scan(pilot, home.code)
        await ui.answered(pilot)
        widget = app.screen.query_one("#card", FeedbackCard)
        card = str(widget.render())
        assert "read-only" in card and "nothing confirmed before is lost" in card, card
        assert widget.feedback is not None and widget.feedback.tone == "error"
    assert ui.carrier(home.code).status == "in_store"


async def test_a_full_disk_is_a_red_card_at_the_counter_and_keeps_what_it_confirmed(ui: Any) -> None:
    """The register may grow by a few pages only (SQLite's max_page_count on every connection of the app's store):
    check-outs at the counter until one does not fit. That one is a red card saying the disk is full; every check-out
    the counter confirmed is on loan afterwards."""
    from sqlalchemy import event

    home = [v.code for v in ui.carriers(lambda v: v.classification == "internal" and v.status == "in_store")]
    with ui.store.engine.connect() as conn:
        limit = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one()) + 2
    ui.store.engine.dispose()

    @event.listens_for(ui.store.engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {limit}")

    app = ui.app()
    lent: list[str] = []
    fault = None
    async with app.run_test(size=(80, 24)) as pilot:
        await ui.login(pilot)
        await ui.scan(pilot, badge("reader_core"))
        await ui.pin_dialog(pilot)
        await ui.type(pilot, "482916")
        card = app.screen.query_one("#card", FeedbackCard)
        for code in home:
            await ui.scan(pilot, code)
            await ui.answered(pilot)
            assert card.feedback is not None
            if card.feedback.tone == "error":
                fault = str(card.render())
                break
            assert card.feedback.tone == "ok", card.feedback
            lent.append(code)
    assert fault is not None and lent, (lent, len(home))
    assert "disk is full" in fault and "nothing confirmed before is lost" in fault, fault
    on_loan = {code for code in home if ui.carrier(code).status == "on_loan"}
    assert on_loan == set(lent)
