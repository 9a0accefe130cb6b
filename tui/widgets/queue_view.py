"""The counter's queue: one line per scan of this transaction, newest at the bottom, the selected one highlighted.

It is a single rendered block rather than a data table because it changes on every scan: a scan adds a line at once
("…") and the register's answer fills it in, hundreds of times a minute during a burst, and redrawing one block of
plain text costs far less than a table's cells. Only the lines that fit are drawn, always including the selected
one (marked ▶). User data is plain `Text`, never markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual.widget import Widget

from tui.i18n import _

COLUMNS = (("#", 4), ("code", 12), ("marking", 13), ("title", 17))


@dataclass
class QueueLine:
    row: int
    code: str
    marking: Text = field(default_factory=Text)
    title: str = ""
    result: Text = field(default_factory=lambda: Text("…"))


class QueueView(Widget):
    DEFAULT_CSS = """
    QueueView { height: 1fr; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.lines: list[QueueLine] = []
        self.index: dict[int, QueueLine] = {}
        self.cursor = -1

    @property
    def row_count(self) -> int:
        return len(self.lines)

    def add(self, row: int, code: str) -> None:
        line = QueueLine(row, code)
        self.lines.append(line)
        self.index[row] = line
        self.cursor = len(self.lines) - 1
        self.refresh()

    def update_line(self, row: int, *, code: str | None = None, marking: Text | None = None, title: str | None = None,
                    result: Text | None = None) -> None:
        line = self.index.get(row)
        if line is None:
            self.add(row, code or "")
            line = self.index[row]
        if code is not None:
            line.code = code
        if marking is not None:
            line.marking = marking
        if title is not None:
            line.title = title
        if result is not None:
            line.result = result
        self.refresh()

    def move(self, step: int) -> None:
        if self.lines:
            self.cursor = max(0, min(len(self.lines) - 1, self.cursor + step))
            self.refresh()

    def selected(self) -> QueueLine | None:
        return self.lines[self.cursor] if 0 <= self.cursor < len(self.lines) else None

    def clear(self) -> None:
        self.lines.clear()
        self.index.clear()
        self.cursor = -1
        self.refresh()

    def render(self) -> Text:
        width = max(self.size.width, 20)
        height = max(self.size.height, 2)
        out = Text(no_wrap=True, overflow="crop")  # wrapping would also eat a line's leading spaces
        header = Text()
        widths = (COLUMNS[0][1] + 1, *(c[1] for c in COLUMNS[1:]))
        for title, w in zip((" #", _("Code"), _("Marking"), _("Title")), widths, strict=True):
            header.append_text(_cell(Text(title), w))
        header.append(_("Result"))
        header.truncate(width)
        header.pad_right(width - header.cell_len)
        header.stylize("bold reverse")
        out.append_text(header)
        room = height - 1
        start = max(0, len(self.lines) - room)
        if self.cursor >= 0 and self.cursor < start:
            start = self.cursor
        for i in range(start, min(len(self.lines), start + room)):
            line = self.lines[i]
            text = Text()
            mark = "▶" if i == self.cursor else " "
            text.append_text(_cell(Text(f"{mark}{line.row}", style="bold" if i == self.cursor else ""),
                                   COLUMNS[0][1] + 1))
            text.append_text(_cell(Text(line.code), COLUMNS[1][1]))
            text.append_text(_cell(line.marking.copy(), COLUMNS[2][1]))
            text.append_text(_cell(Text(line.title), COLUMNS[3][1]))
            text.append_text(line.result.copy())
            text.truncate(width, overflow="ellipsis")
            if i == self.cursor:
                text.stylize("underline", 0, COLUMNS[0][1] + COLUMNS[1][1])
            out.append("\n")
            out.append_text(text)
        return out


def _cell(text: Text, width: int) -> Text:
    """Exactly `width` cells: cut with an ellipsis, then padded, leaving one space before the next column."""
    text.truncate(width - 1, overflow="ellipsis")
    text.pad_right(width - text.cell_len)
    return text
