"""The answer to a scan: a card, green for done, red for refused (naming the rule), amber for waiting.

User data (titles, names, places) is placed as plain `rich.text.Text` spans, never parsed as markup, so a title
containing `[red]` shows literally. Level colours are chips with a fixed foreground and background (绝密 red, 机密
orange, 秘密 yellow) so they read the same on dark and light themes. The card only displays what it is given.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from tracker.queries import CarrierView
from tui.desk import Feedback

LEVEL_STYLES = {
    "top_secret": "bold #ffffff on #c00000",
    "secret": "bold #000000 on #ff8c00",
    "confidential": "bold #000000 on #ffd700",
    "internal": "#000000 on #9ec5e8",
    "unclassified": "#000000 on #c8c8c8",
}
TONE_ICONS = {"ok": "✔", "refused": "✘", "error": "✘", "waiting": "…", "info": "•"}


def marking_chip(view: CarrierView) -> Text:
    return Text(f" {view.marking} ", style=LEVEL_STYLES.get(view.classification, "reverse"))


class FeedbackCard(Static):
    DEFAULT_CLASSES = "card tone-info"

    def __init__(self, **kwargs: object) -> None:
        super().__init__("", markup=False, **kwargs)  # type: ignore[arg-type]
        self.feedback: Feedback | None = None
        self._tall = False

    def show(self, fb: Feedback) -> None:
        self.feedback = fb
        for tone in TONE_ICONS:
            self.set_class(tone == fb.tone, f"tone-{tone}")
        # A fixed height, so no relayout per scan (a relayout costs tens of milliseconds at the counter's p99),
        # except for a refusal or error longer than the card: it grows to show every rule and what to do (`.tall` in
        # app.tcss), and the relayout is paid only when such a card comes or goes.
        text = render_feedback(fb)
        tall = fb.tone in ("refused", "error") and self._overflows(text)
        self.set_class(tall, "tall")
        self.update(text, layout=tall or self._tall)
        self._tall = tall

    def _overflows(self, text: Text) -> bool:
        width, height = self.content_size.width, self.content_size.height
        if width <= 0 or height <= 0:
            return True  # not laid out yet: let it size itself
        needed = sum(max(1, -(-cell_len(line) // width)) for line in text.plain.split("\n"))
        return needed > height

    def show_text(self, title: str, lines: tuple[str, ...] = (), tone: str = "info") -> None:
        self.show(Feedback(tone, title, lines))  # type: ignore[arg-type]


def render_feedback(fb: Feedback) -> Text:
    text = Text()
    text.append(f"{TONE_ICONS.get(fb.tone, '•')} ", style="bold")
    text.append(fb.title, style="bold")
    if fb.carrier is not None:
        text.append("\n")
        text.append_text(marking_chip(fb.carrier))
        text.append(" ")
        text.append(fb.carrier.code, style="bold")
    for line in fb.lines:
        text.append("\n")
        text.append(line)
    return text
