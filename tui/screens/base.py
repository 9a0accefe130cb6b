"""What every full screen of the counter shares: the app context, and key labels in the operator's language.

The key bar reads the bindings' descriptions as soon as the screen composes, so they are translated in the
constructor, before anything else a screen sets up; doing it here once keeps a new screen from showing English keys
to a Chinese operator because one line was forgotten.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.screen import Screen

from tui.context import AppContext
from tui.i18n import N_, translate_bindings

# Escape leads back to the counter from every screen one key away from it, so an operator always has the same way home.
TO_COUNTER = Binding("escape", "app.open('counter')", N_("Counter"))


class DeskScreen(Screen[None]):
    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        translate_bindings(self)
        self.ctx = ctx
