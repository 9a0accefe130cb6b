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
