"""Small modal forms the counter opens for one decision: a PIN, a carry-out, copies, a loss report.

Each dialog only collects and checks the *shape* of what is typed (a whole number, a date) and hands it back with
`dismiss`; whether the operation is allowed is the register's decision, shown on the counter's card afterwards.
Escape cancels and changes nothing. A scan arriving while a dialog is open is not typed into it: the scan field
posts it and the app routes it to the counter's queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from tui.i18n import N_, _, translate_bindings
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField, is_code

T = TypeVar("T")


class Dialog(ModalScreen[T | None], Generic[T]):
    BINDINGS = [Binding("escape", "cancel", N_("Cancel"))]  # noqa: RUF012

    def __init__(self) -> None:
        super().__init__()
        translate_bindings(self)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def say(self, message: str) -> None:
        box = self.query_one("#dialog-message", Static)
        box.update(Text(message))
        box.add_class("error")
        self.app.bell()


class PinDialog(Dialog[str]):
    """The counter-party (or a second person) signs with their PIN."""

    def __init__(self, title: str, prompt: str) -> None:
        super().__init__()
        self.title_text = title
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Static(Text(self.prompt), markup=False)
            yield ScanField(password=True, placeholder="PIN", id="pin", gap=getattr(self.app, "wedge_gap", 0.03),
                            accept=is_code)
            yield Static("", id="dialog-message", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#pin", ScanField).focus()

    @on(Input.Submitted, "#pin")
    def _done(self, event: Input.Submitted) -> None:
        event.stop()
        pin = event.value
        if not pin:
            self.say(_("Type the PIN and press Enter (Esc to cancel)."))
            return
        self.dismiss(pin)


@dataclass(frozen=True)
class CarryOutForm:
    return_due: datetime
    destination: str
    companion: str | None
    companion_pin: str | None


def parse_when(text: str, now: datetime, tz: ZoneInfo, end_of_day: time) -> datetime | None:
    """`2026-11-27`, `2026-11-27 16:00` or `+3` (days from today) in the register's time zone."""
    t = text.strip()
    try:
        if t.startswith("+") and t[1:].isdigit():
            day = now.astimezone(tz).date() + timedelta(days=int(t[1:]))
            return datetime.combine(day, end_of_day, tz)
        if len(t) == 10:
            return datetime.combine(datetime.strptime(t, "%Y-%m-%d").date(), end_of_day, tz)
        return datetime.strptime(t, "%Y-%m-%d %H:%M").replace(tzinfo=tz)
    except ValueError:
        return None


class CarryOutDialog(Dialog[CarryOutForm]):
    def __init__(self, code: str, now: datetime, default_due: datetime, tz: ZoneInfo, end_of_day: time) -> None:
        super().__init__()
        self.code = code
        self.now = now
        self.default_due = default_due
        self.tz = tz
        self.end_of_day = end_of_day

    def compose(self) -> ComposeResult:
        gap = getattr(self.app, "wedge_gap", 0.03)
        with Vertical(classes="dialog"):
            yield Label(_("Carry out {code}").format(code=self.code), classes="dialog-title", markup=False)
            yield Label(_("Return by (YYYY-MM-DD [HH:MM])"))
            yield ScanField(value=f"{self.default_due.astimezone(self.tz):%Y-%m-%d %H:%M}", id="due", gap=gap)
            yield Label(_("Destination"))
            yield ScanField(id="destination", gap=gap)
            yield Label(_("Second person's badge (绝密) and PIN"))
            yield ScanField(placeholder="B-BJ-…", id="companion", gap=gap)
            yield ScanField(placeholder="PIN", password=True, id="companion-pin", gap=gap, accept=is_code)
            yield Static("", id="dialog-message", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#due", ScanField).focus()

    @on(ScanField.Scanned)
    def _scanned(self, event: ScanField.Scanned) -> None:
        if event.field.id == "companion":
            event.stop()
            event.field.value = event.code.strip().upper()
            self.query_one("#companion-pin", ScanField).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        order = ["due", "destination", "companion", "companion-pin"]
        current = event.input.id or ""
        if current != order[-1] and not (current == "companion" and not event.value.strip()):
            self.query_one(f"#{order[order.index(current) + 1]}", ScanField).focus()
            return
        due = parse_when(self.query_one("#due", ScanField).value, self.now, self.tz, self.end_of_day)
        if due is None:
            self.say(_("Cannot read the return time: use YYYY-MM-DD or YYYY-MM-DD HH:MM."))
            self.query_one("#due", ScanField).focus()
            return
        companion = self.query_one("#companion", ScanField).value.strip() or None
        pin = self.query_one("#companion-pin", ScanField).value or None
        self.dismiss(CarryOutForm(due, self.query_one("#destination", ScanField).value.strip(), companion, pin))


class CountDialog(Dialog[int]):
    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Copy {code}").format(code=self.code), classes="dialog-title", markup=False)
            yield Label(_("Number of copies"))
            yield ScanField(value="1", id="count", gap=getattr(self.app, "wedge_gap", 0.03))
            yield Static("", id="dialog-message", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#count", ScanField).focus()

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text.isdigit() or not 1 <= int(text) <= 99:
            self.say(_("Give a whole number of copies from 1 to 99."))
            return
        self.dismiss(int(text))


class MissingDialog(Dialog[str]):
    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Report {code} missing").format(code=self.code), classes="dialog-title", markup=False)
            yield Static(Text(_("This starts the R-155 clock (10 days 绝密, 60 days 机密/秘密). Enter confirms.")),
                         markup=False)
            yield Label(_("Note (where it was last seen)"))
            yield ScanField(id="note", gap=getattr(self.app, "wedge_gap", 0.03))
            yield Static("", id="dialog-message", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#note", ScanField).focus()

    @on(Input.Submitted)
    def _done(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())
