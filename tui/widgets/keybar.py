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

    def on_resize(self) -> None:
        self.refresh_keys()

    def refresh_keys(self) -> None:
        """One chip per key with its description, wrapped by hand so a key never parts from its description."""
        width = max(self.size.width, 20)
        text = Text()
        line = 0
        seen: set[str] = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if not binding.show or not binding.description or key in seen or not active.enabled:
                continue
            seen.add(key)
            chip = Text(f" {self.app.get_key_display(binding).upper()} ", style="bold reverse")
            item = Text.assemble(chip, f" {binding.description}")
            if line and line + 1 + item.cell_len > width:
                text.append("\n")
                line = 0
            elif line:
                text.append(" ")
                line += 1
            text.append_text(item)
            line += item.cell_len
        self.update(text)
