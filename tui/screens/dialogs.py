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

from tui.i18n import N_, _, pick, translate_bindings
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
            # Typed fields: a fast typed burst (an input method committing 北京会议, a paste) stays in the field;
            # only a register code travels on as a scan.
            yield ScanField(value=f"{self.default_due.astimezone(self.tz):%Y-%m-%d %H:%M}", id="due", gap=gap,
                            accept=is_code)
            yield Label(_("Destination"))
            yield ScanField(id="destination", gap=gap, accept=is_code)
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


@dataclass(frozen=True)
class RequestForm:
    codes: tuple[str, ...]
    grantee: str | None
    valid_until: datetime
    note: str
    purpose: str = "loan"


# What a clerk may ask for at the counter (F2 in the request dialog walks them): the carrier purposes of the matrix.
# People, policy and print-run requests are raised by the administrator and the security officer elsewhere, and a
# destruction is asked for by submitting its batch (Ctrl+Y, `tracker destruction`).
COUNTER_PURPOSES = ("loan", "carry_out", "outside_loan", "copy", "extract", "scope_extension", "reclassify",
                    "declassify")


def purpose_label(purpose: str) -> str:
    """The operator's word for an approval's purpose (a value this version does not know is shown as stored)."""
    from tracker.domain import ApprovalPurpose

    try:
        p = ApprovalPurpose(purpose)
    except ValueError:
        return purpose
    return pick(p.value.replace("_", " "), p.zh)


class RequestDialog(Dialog[RequestForm]):
    """A request for approval raised at the counter: the carriers refused, for whom, until when, and a note.

    The fields come filled in from the counter (the purpose and carriers refused for want of an approval, the
    borrower, the end of the working day); the clerk may change them, the purpose with F2. Scanning a carrier adds
    it, scanning a badge sets for whom."""

    BINDINGS = [Binding("f2", "next_purpose", N_("Purpose"))]  # noqa: RUF012
    ORDER = ("codes", "grantee", "until", "note")

    def __init__(self, purpose: str, codes: list[str], grantee: str | None, now: datetime, until: datetime,
                 tz: ZoneInfo, end_of_day: time) -> None:
        super().__init__()
        self.purpose = purpose
        self.codes = codes
        self.grantee = grantee
        self.now = now
        self.until = until
        self.tz = tz
        self.end_of_day = end_of_day

    def compose(self) -> ComposeResult:
        gap = getattr(self.app, "wedge_gap", 0.03)
        with Vertical(classes="dialog"):
            yield Label(self._title(), classes="dialog-title", markup=False, id="request-title")
            yield Label(_("Carriers (scan to add)"))
            yield ScanField(value=" ".join(self.codes), id="codes", gap=gap)
            yield Label(_("For whom (badge)"))
            yield ScanField(value=self.grantee or "", placeholder="B-BJ-…", id="grantee", gap=gap)
            yield Label(_("Valid until (YYYY-MM-DD [HH:MM])"))
            yield ScanField(value=f"{self.until.astimezone(self.tz):%Y-%m-%d %H:%M}", id="until", gap=gap)
            yield Label(_("Note (why it is needed)"))
            yield ScanField(id="note", gap=gap)
            yield Static("", id="dialog-message", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        first = "#codes" if not self.codes else "#grantee" if not self.grantee else "#note"
        self.query_one(first, ScanField).focus()

    def _title(self) -> str:
        return _("Request approval: {purpose}").format(purpose=purpose_label(self.purpose))

    def action_next_purpose(self) -> None:
        """F2: the next purpose a clerk may ask for (a loan refused at the counter may be wanted as a carry-out)."""
        known = list(COUNTER_PURPOSES)
        at = known.index(self.purpose) if self.purpose in known else -1
        self.purpose = known[(at + 1) % len(known)]
        self.query_one("#request-title", Label).update(self._title())

    @on(ScanField.Scanned)
    def _scanned(self, event: ScanField.Scanned) -> None:
        from labels.codes import classify_code

        event.stop()
        code = event.code.strip().upper()
        kind = classify_code(code)
        if kind == "badge":
            self.query_one("#grantee", ScanField).value = code
        elif kind == "carrier":
            field = self.query_one("#codes", ScanField)
            if code not in field.value.split():
                field.value = f"{field.value} {code}".strip()
        else:
            self.say(_("Scan a carrier to add it, or a badge for whom the request is."))

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        current = event.input.id or ""
        if current in self.ORDER[:-1]:
            self.query_one(f"#{self.ORDER[self.ORDER.index(current) + 1]}", ScanField).focus()
            return
        codes = tuple(dict.fromkeys(c for c in self.query_one("#codes", ScanField).value.replace(",", " ").split()))
        if not codes:
            self.say(_("Name at least one carrier (scan it)."))
            self.query_one("#codes", ScanField).focus()
            return
        until = parse_when(self.query_one("#until", ScanField).value, self.now, self.tz, self.end_of_day)
        if until is None:
            self.say(_("Cannot read the time: use YYYY-MM-DD or YYYY-MM-DD HH:MM."))
            self.query_one("#until", ScanField).focus()
            return
        grantee = self.query_one("#grantee", ScanField).value.strip().upper() or None
        if grantee is None and self.purpose in ("loan", "carry_out"):
            # An approval for nobody in particular would serve whoever comes to the counter with the carrier.
            self.say(_("Name for whom: scan the borrower's badge."))
            self.query_one("#grantee", ScanField).focus()
            return
        self.dismiss(RequestForm(codes, grantee, until, self.query_one("#note", ScanField).value.strip(),
                                 self.purpose))


@dataclass(frozen=True)
class DecisionForm:
    """An approver's decision: `badge`/`pin` when a second person signs at the counter, else the operator decides."""

    approve: bool
    reason: str = ""
    badge: str | None = None
    pin: str | None = None


class DecisionDialog(Dialog[DecisionForm]):
    """Approve or deny one request. With `second_person`, the approver standing at the counter identifies with badge
    and PIN here (the clerk signed in may not decide); a denial always gives its reason."""

    def __init__(self, title: str, summary: str, approve: bool, second_person: bool) -> None:
        super().__init__()
        self.title_text = title
        self.summary = summary
        self.approve = approve
        self.second_person = second_person

    @property
    def order(self) -> list[str]:
        return (["badge", "pin"] if self.second_person else []) + ([] if self.approve else ["reason"])

    def compose(self) -> ComposeResult:
        gap = getattr(self.app, "wedge_gap", 0.03)
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Static(Text(self.summary), markup=False)
            if self.second_person:
                yield Label(_("Approver's badge (scan) and PIN"))
                yield ScanField(placeholder="B-BJ-…", id="badge", gap=gap)
                yield ScanField(placeholder="PIN", password=True, id="pin", gap=gap, accept=is_code)
            if not self.approve:
                yield Label(_("Reason for the denial"))
                yield ScanField(id="reason", gap=gap)
            yield Static("", id="dialog-message", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(f"#{self.order[0]}", ScanField).focus()

    @on(ScanField.Scanned)
    def _scanned(self, event: ScanField.Scanned) -> None:
        event.stop()  # a scan here is the approver's badge, never a job for the counter behind the dialog
        if self.second_person:
            self.query_one("#badge", ScanField).value = event.code.strip().upper()
            self.query_one("#pin", ScanField).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        order = self.order
        current = event.input.id or ""
        if current in order[:-1]:
            self.query_one(f"#{order[order.index(current) + 1]}", ScanField).focus()
            return
        badge = pin = None
        if self.second_person:
            badge = self.query_one("#badge", ScanField).value.strip().upper()
            pin = self.query_one("#pin", ScanField).value
            if not badge or not pin:
                self.say(_("The approver scans their badge and types their PIN."))
                self.query_one("#badge" if not badge else "#pin", ScanField).focus()
                return
        reason = ""
        if not self.approve:
            reason = self.query_one("#reason", ScanField).value.strip()
            if not reason:
                self.say(_("A denial gives its reason."))
                self.query_one("#reason", ScanField).focus()
                return
        self.dismiss(DecisionForm(self.approve, reason, badge, pin))


class ConfirmDialog(Dialog[bool]):
    """A yes/no question before something is thrown away: Enter (or y) says yes, Esc (or n) keeps it."""

    BINDINGS = [  # noqa: RUF012
        Binding("enter,y", "yes", N_("Yes"), priority=True),
        Binding("escape,n", "cancel", N_("No")),
    ]

    def __init__(self, title: str, question: str) -> None:
        super().__init__()
        self.title_text = title
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text, classes="dialog-title", markup=False)
            yield Static(Text(self.question), markup=False)
        yield KeyBar()

    def action_yes(self) -> None:
        self.dismiss(True)


@dataclass(frozen=True)
class FoundForm:
    place: str
    note: str


class FoundDialog(Dialog[FoundForm]):
    """A missing carrier turned up: the place it goes back to (scanned or typed) and a note."""

    def __init__(self, code: str, place: str = "") -> None:
        super().__init__()
        self.code = code
        self.place = place

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(_("Record {code} found").format(code=self.code), classes="dialog-title", markup=False)
            yield Label(_("Place it goes back to (scan or type)"))
            yield ScanField(value=self.place, placeholder="LOC-BJ-R2C1S1…", id="found-place",
                            gap=getattr(self.app, "wedge_gap", 0.03))
            yield Label(_("Note (where it was found)"))
            yield ScanField(id="found-note", gap=getattr(self.app, "wedge_gap", 0.03))
            yield Static("", id="dialog-message", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#found-place", ScanField).focus()

    @on(ScanField.Scanned, "#found-place")
    def _place_scanned(self, event: ScanField.Scanned) -> None:
        event.stop()
        event.field.value = event.code.strip().upper()
        self.query_one("#found-note", ScanField).focus()

    @on(Input.Submitted, "#found-place")
    def _place_done(self, event: Input.Submitted) -> None:
        event.stop()
        self.query_one("#found-note", ScanField).focus()

    @on(Input.Submitted, "#found-note")
    def _done(self, event: Input.Submitted) -> None:
        event.stop()
        place = self.query_one("#found-place", ScanField).value.strip().upper()
        if not place:
            self.say(_("Scan the place it goes back to."))
            self.query_one("#found-place", ScanField).focus()
            return
        self.dismiss(FoundForm(place, event.value.strip()))
