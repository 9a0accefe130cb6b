"""The key bar: every binding shown on the current screen, wrapping onto a second line on a narrow terminal.

Textual's footer scrolls sideways when the keys do not fit; at 80 columns the counter has more keys than that, and
a key the operator cannot see might as well not exist. This bar lists the screen's keys first, then the app's,
in the active language, and only displays: the bindings themselves stay on their screens.
"""

from __future__ import annotations

from rich.text import Text
from textual.screen import Screen
from textual.widgets import Static


class KeyBar(Static):
    DEFAULT_CLASSES = "keybar"

    def __init__(self) -> None:
        super().__init__("", markup=False)

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self.refresh_keys)

    def _bindings_changed(self, _screen: Screen[object]) -> None:
        self.refresh_keys()

    def refresh_keys(self) -> None:
        text = Text()
        seen: set[str] = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.show or not binding.description or key in seen or not active.enabled:
                continue
            seen.add(key)
            if text:
                text.append(" ")
            text.append(f" {self.app.get_key_display(binding).upper()} ", style="bold reverse")
            text.append(f" {binding.description}")
        self.update(text)
