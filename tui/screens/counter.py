"""The counter (home screen): one scan field, an answer card, and the queue of this transaction's scans.

Scans and action keys become jobs queued on the app's one register thread (`app.db`, a single worker draining an
unbounded FIFO) — so the UI never waits for the database, a scan is never dropped however fast they come, and jobs
finish in the order they were made. Answers come back to the UI loop in the same order, without the worker ever
waiting for the screen to draw. Each scan gets a row at once ("…") that the worker's answer fills
in; a refusal rings the terminal bell. This screen shows and routes; the `Desk` does the work.
"""

from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import Future

from rich.text import Text
from textual import on
from textual._time import get_time
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input, Static

from tui.context import AppContext
from tui.desk import (
    CarryOut,
    ClearParty,
    Copy,
    Desk,
    DeskState,
    Feedback,
    Job,
    Mode,
    RaiseRequest,
    RecordFound,
    ReportMissing,
    Reset,
    Scan,
    SetMode,
    SignParty,
    clearance_label,
    mode_label,
)
from tui.i18n import N_, _
from tui.screens.base import DeskScreen
from tui.screens.dialogs import (
    CarryOutDialog,
    CarryOutForm,
    CountDialog,
    FoundDialog,
    FoundForm,
    MissingDialog,
    PinDialog,
    RequestDialog,
    RequestForm,
)
from tui.widgets.card import TONE_ICONS, FeedbackCard, marking_chip
from tui.widgets.keybar import KeyBar
from tui.widgets.queue_view import QueueView
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar

PENDING_AFTER = 0.030
RESULT_STYLES = {"ok": "bold green", "refused": "bold red", "error": "bold red", "waiting": "bold yellow",
                 "info": ""}


class CounterScreen(DeskScreen):
    BINDINGS = [  # noqa: RUF012
        Binding("f2", "mode('check_out')", N_("Out"), priority=True),
        Binding("f3", "mode('check_in')", N_("In"), priority=True),
        Binding("f4", "mode('lookup')", N_("Look"), priority=True),
        Binding("f6", "carry_out", N_("Carry"), priority=True),
        Binding("f7", "copy", N_("Copy"), priority=True),
        Binding("f8", "missing", N_("Lost"), priority=True),
        Binding("ctrl+n", "new_transaction", N_("New"), priority=True),
        Binding("ctrl+r", "request", N_("Request"), priority=True),
        Binding("escape", "clear_party", N_("Clear party"), show=False),
        Binding("up", "cursor(-1)", N_("Previous"), show=False),
        Binding("down", "cursor(1)", N_("Next"), show=False),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        s = ctx.settings
        self.desk = Desk(ctx.store, lambda: ctx.actor, site=s.site)
        self.state = DeskState()
        self.next_row = 1
        self.codes: dict[int, str] = {}
        self.feedback: dict[int, Feedback] = {}
        self.latencies: list[tuple[int, float, float]] = []  # (row, key time, answer painted)
        self.processed = 0
        self.submitted = 0
        self.pending: dict[int, str] = {}
        # Carriers refused for want of an approval in this transaction, with the purpose to request (Ctrl+R).
        self.to_request: dict[str, str] = {}

    # -- layout ----------------------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Counter"))
        yield Static("", id="desk-state", markup=False)
        yield ScanField(placeholder=_("Scan a badge, carrier or place (or type a code + Enter)"),
                        id="scan", gap=getattr(self.app, "wedge_gap", 0.03))
        yield FeedbackCard(id="card")
        yield QueueView(id="queue")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#card", FeedbackCard).show(Feedback("info", _("Ready"), (self.desk_hint(),)))
        self._show_state(self.state)
        self.query_one("#scan", ScanField).focus()

    def on_screen_resume(self) -> None:
        self.query_one("#scan", ScanField).focus()

    def desk_hint(self) -> str:
        return _("Scan the borrower's badge, then the carriers.")

    # -- input -----------------------------------------------------------------------------------------------------

    @on(ScanField.Scanned, "#scan")
    def _scanned(self, event: ScanField.Scanned) -> None:
        event.stop()
        self.submit_scan(event.code, "scan", event.ended)

    @on(Input.Submitted, "#scan")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        event.input.value = ""
        if text:
            self.submit_scan(text, "typed", get_time())

    def submit_scan(self, text: str, source: str, started: float) -> int:
        """Queue a scanned or typed code; the row appears at once and is filled in when the worker answers."""
        row = self.next_row
        self.next_row += 1
        self.submit(Scan(row, text, source, started))
        # The "…" line appears only if the answer is slower than PENDING_AFTER: a line drawn and redrawn within a
        # few milliseconds costs a frame that would compete with the register thread for the interpreter.
        self.pending[row] = text.strip()[:40]
        self.set_timer(PENDING_AFTER, self._show_pending)
        return row

    def _show_pending(self) -> None:
        for row, text in sorted(self.pending.items()):
            self.queue.add(row, text)
        self.pending.clear()

    def submit(self, job: Job) -> None:
        """Queue a job on the register thread; its answer is handed back to the UI loop when done."""
        self.submitted += 1
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()  # Textual finds its app through context variables
        future: Future[list[Feedback]] = self.app.db.submit(self.desk.run, job)  # type: ignore[attr-defined]

        def answered(f: Future[list[Feedback]]) -> None:
            if loop.is_closed():
                return  # the app ended while the job ran: nobody is left to show the answer to
            try:
                loop.call_soon_threadsafe(self._done, f, context=context)
            except RuntimeError:  # the loop closed between the check and the call
                pass

        future.add_done_callback(answered)

    def _done(self, future: Future[list[Feedback]]) -> None:
        self.processed += 1
        if future.cancelled() or not self.is_attached:
            return
        error = future.exception()
        results = future.result() if error is None else [
            Feedback("error", _("Unexpected error: {error}").format(error=f"{type(error).__name__}: {error}"))]
        for fb in results:
            self._answer(fb)

    def _answer(self, fb: Feedback) -> None:
        self.state = fb.state
        if fb.code is not None:
            if fb.request is not None:
                self.to_request[fb.code] = fb.request
            elif fb.tone == "ok":
                self.to_request.pop(fb.code, None)
        self._show_state(fb.state)
        self.query_one("#card", FeedbackCard).show(fb)
        if fb.bell:
            self.app.bell()
        if fb.row is not None:
            self._fill_row(fb)
            if fb.started is not None:
                row = fb.row
                started = fb.started
                self.call_after_refresh(lambda: self.latencies.append((row, started, get_time())))
        party = fb.state.party
        if fb.tone == "waiting" and party is not None and party.signed is None and fb.code == party.person.badge:
            self._ask_pin(party.person.name, fb.row)
        holder = fb.state.holder  # a proxy return: the holder countersigns
        if fb.tone == "waiting" and holder is not None and holder.signed is None and fb.code == holder.person.badge:
            self._ask_pin(holder.person.name, fb.row)

    def _fill_row(self, fb: Feedback) -> None:
        assert fb.row is not None
        self.feedback[fb.row] = fb
        if fb.row in self.pending:
            self._show_pending()  # its line (and any later pending ones, in order) joins the view now
        result = fb.title if not fb.rules else " ".join(fb.rules)
        icon = TONE_ICONS.get(fb.tone, "")
        answer = Text(f"{icon} {result}", style=RESULT_STYLES.get(fb.tone, ""))
        if fb.carrier is not None:
            self.codes[fb.row] = fb.carrier.code
            self.queue.update_line(fb.row, code=fb.carrier.code, marking=marking_chip(fb.carrier),
                                   title=fb.carrier.title, result=answer)
        else:
            self.queue.update_line(fb.row, code=fb.code, result=answer)

    def _show_state(self, state: DeskState) -> None:
        parts = [Text(f" {mode_label(state.mode)} ", style="bold reverse"), Text("  ")]
        if state.party is None:
            parts.append(Text(_("Counter-party: —")))
        else:
            p = state.party.person
            mark = _("signed") if state.party.signed else _("not signed")
            parts.append(Text(_("Counter-party: {badge} {name} ({clearance}, {mark})").format(
                badge=p.badge, name=p.name, clearance=clearance_label(p.clearance), mark=mark)))
        if state.place is not None:
            parts.append(Text("  " + _("Place: {code}").format(code=state.place.code)))
        if state.waiting:
            parts.append(Text("  " + _("{n} waiting").format(n=len(state.waiting)), style="bold yellow"))
        self.query_one("#desk-state", Static).update(Text.assemble(*parts), layout=False)

    # -- actions ---------------------------------------------------------------------------------------------------

    def action_mode(self, mode: str) -> None:
        self.submit(SetMode(Mode(mode)))

    def action_clear_party(self) -> None:
        self.submit(ClearParty())

    def action_new_transaction(self) -> None:
        self.submit(Reset())
        self.pending.clear()
        self.queue.clear()
        self.codes.clear()
        self.to_request.clear()

    @property
    def queue(self) -> QueueView:
        return self.query_one("#queue", QueueView)

    def action_cursor(self, step: int) -> None:
        self.queue.move(step)

    def selected_code(self) -> tuple[int, str] | None:
        line = self.queue.selected()
        code = self.codes.get(line.row) if line else None
        return (line.row, code) if line and code else None

    def _need_selection(self) -> tuple[int, str] | None:
        picked = self.selected_code()
        if picked is None:
            self.query_one("#card", FeedbackCard).show(Feedback(
                "error", _("Select a carrier first"), (_("Scan it (F4 looks it up without lending), "
                                                         "or move to its row with ↑/↓."),)))
            self.app.bell()
        return picked

    def _ask_pin(self, name: str, row: int | None) -> None:
        def signed(pin: str | None) -> None:
            if pin:
                self.submit(SignParty(pin, row))

        self.app.push_screen(PinDialog(_("Signature"), _("{name}: type your PIN and press Enter.").format(name=name)),
                             signed)

    def action_carry_out(self) -> None:
        picked = self._need_selection()
        if picked is None:
            return
        party = self.state.party
        if party is None or party.signed is None:  # said now, not after every field of the form was filled
            self.query_one("#card", FeedbackCard).show(Feedback(
                "error", _("Carry-out: the counter-party signs first"),
                (_("Scan the custodian's badge and let them type their PIN; then F6 again."),)))
            self.app.bell()
            return
        _row, code = picked
        policy = self.ctx.store.policy
        now = self.ctx.store.clock()
        due = policy.end_of_working_day(now, 1)

        def done(form: CarryOutForm | None) -> None:
            if form is not None:
                self._action_row(code)
                self.submit(CarryOut(self._last_row, code, form.return_due, form.destination, form.companion,
                                     form.companion_pin))

        self.app.push_screen(CarryOutDialog(code, now, due, policy.tz, policy.end_of_day), done)

    def action_request(self) -> None:
        """Raise a request for approval for the carriers just refused for want of one (else the selected carrier),
        for the counter-party, until the end of the working day."""
        if self.to_request:
            purpose = list(self.to_request.values())[-1]
            codes = [c for c, p in self.to_request.items() if p == purpose]
        else:
            picked = self._need_selection()
            if picked is None:
                return
            purpose, codes = "loan", [picked[1]]
        policy = self.ctx.store.policy
        now = self.ctx.store.clock()
        party = self.state.party
        grantee = party.person.badge if party is not None else None

        def done(form: RequestForm | None) -> None:
            if form is not None:
                self._action_row(form.codes[0])
                self.submit(RaiseRequest(self._last_row, form.purpose, form.codes, form.grantee, form.valid_until,
                                         form.note))
                for code in form.codes:
                    self.to_request.pop(code, None)

        self.app.push_screen(RequestDialog(purpose, codes, grantee, now, policy.end_of_working_day(now, 0),
                                           policy.tz, policy.end_of_day), done)

    def action_copy(self) -> None:
        picked = self._need_selection()
        if picked is None:
            return
        _row, code = picked

        def done(count: int | None) -> None:
            if count:
                self._action_row(code)
                self.submit(Copy(self._last_row, code, count))

        self.app.push_screen(CountDialog(code), done)

    def action_missing(self) -> None:
        """Report the selected carrier missing, or, when it is the one reported missing, record it found."""
        picked = self._need_selection()
        if picked is None:
            return
        row, code = picked
        shown = self.feedback.get(row)
        if shown is not None and shown.carrier is not None and shown.carrier.status == "missing":
            def found(form: FoundForm | None) -> None:
                if form is not None:
                    self._action_row(code)
                    self.submit(RecordFound(self._last_row, code, form.place, form.note))

            place = self.state.place.code if self.state.place and not self.state.place.reading_place else ""
            self.app.push_screen(FoundDialog(code, place), found)
            return

        def done(note: str | None) -> None:
            if note is not None:
                self._action_row(code)
                self.submit(ReportMissing(self._last_row, code, note))

        self.app.push_screen(MissingDialog(code), done)

    _last_row = 0

    def _action_row(self, code: str) -> None:
        row = self.next_row
        self.next_row += 1
        self._last_row = row
        self._show_pending()
        self.queue.add(row, code)

    @property
    def idle(self) -> bool:
        """True when every queued job has been answered."""
        return self.processed == self.submitted
