"""Stored text is shown literally at the counter (issue 16): a title written behind the register's back with
terminal control sequences (an OSC window title, a screen clear, BEL, the C1 CSI) reaches the terminal as visible
characters, never as a live sequence. Checked on what the app would write to the terminal: the compositor's full
update, rendered by the app's console, which is exactly what the driver sends."""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy.engine import make_url

OSC_TITLE = "报告\x1b]0;pwned\x07\x9b31m\x1b[2J end"
LIVE = ["\x1b]0;pwned", "\x07", "\x9b", "\x1b[2J"]


def terminal_bytes(app: Any) -> str:
    """Everything the screen would write to the terminal now (styles are CSI sequences of its own)."""
    return app.screen._compositor.render_full_update().render_segments(app.console)  # type: ignore[no-any-return]


def forge_title(ui: Any, code: str) -> None:
    with sqlite3.connect(str(make_url(ui.store.url).database)) as db:
        db.execute("UPDATE carriers SET title = ? WHERE code = ?", (OSC_TITLE, code))


async def test_a_forged_title_is_shown_escaped_at_the_counter_and_in_the_register(ui: Any) -> None:
    home = ui.carriers(lambda v: v.status == "in_store" and v.classification == "internal")[0]
    forge_title(ui, home.code)
    app = ui.app()
    async with app.run_test(size=(160, 48)) as pilot:
        await ui.login(pilot)
        await ui.look_up(pilot, home.code)
        out = terminal_bytes(app)
        assert home.code in out
        for seq in LIVE:
            assert seq not in out, (seq, out)
        assert "报告␛]0;pwned" in out and "\ufffd31m␛[2J" in out  # one visible symbol per control character
        await pilot.press("f9")
        await ui.on_screen(pilot, "RegisterScreen")
        await ui.type(pilot, home.code)
        await ui.until(pilot, lambda: "␛]0;pwned" in terminal_bytes(app))  # the title in the search results
        out = terminal_bytes(app)
        for seq in LIVE:
            assert seq not in out, (seq, out)
