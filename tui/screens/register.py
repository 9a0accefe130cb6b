"""Register: incremental search over code, title, document number, holder and place; a carrier's detail with its
whole ledger history as a timeline; registering a new carrier in a validated form; printing a label (PDF).

Searches run on the app's read threads as the operator types; an answer that arrives after a newer keystroke is
dropped, so the list always matches the text in the field. Registration goes through `registry.register` on the
register thread and shows every refused rule at once. User data is shown as plain text, never markup.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, Static

from labels.codes import classify_code
from tracker import queries
from tracker.domain import DomainError
from tracker.queries import CarrierView, HistoryEntry
from tracker.services import registry
from tracker.services.common import Refused
from tui import printing
from tui.context import AppContext
from tui.desk import Feedback, carrier_lines, status_label
from tui.i18n import N_, _, pick
from tui.screens.base import TO_COUNTER, DeskScreen
from tui.screens.dialogs import ConfirmDialog
from tui.widgets.card import FeedbackCard, marking_chip
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar
from tui.workers import off_ui

SEARCH_DELAY = 0.12


class RegisterScreen(DeskScreen):
    screen_name = "register"
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+n", "new", N_("New carrier"), priority=True),
        Binding("ctrl+p", "label", N_("Label PDF"), priority=True),
        # Print runs (issue 21): not shown in the key bar yet, so the register's snapshots stay as they are.
        Binding("ctrl+r", "print_run", N_("Print runs"), priority=True, show=False),
        Binding("down", "cursor(1)", N_("Next"), show=False),
        Binding("up", "cursor(-1)", N_("Previous"), show=False),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.results: list[CarrierView] = []
        self.generation = 0
        self.searches = 0
        self.last_query = ""

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Register"))
        yield ScanField(placeholder=_("Search: code, title, document number, holder, place"), id="search",
                        gap=getattr(self.app, "wedge_gap", 0.03))
        yield Static("", id="search-summary", markup=False)
        table: DataTable[Any] = DataTable(id="results", cursor_type="row", zebra_stripes=True)
        yield table
        yield FeedbackCard(id="card")
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#results", DataTable)
        table.can_focus = False
        table.add_column(_("Code"), key="code", width=12)
        table.add_column(_("Marking"), key="marking", width=12)
        table.add_column(_("Title"), key="title", width=24)
        table.add_column(_("Where"), key="where")
        self.query_one("#card", FeedbackCard).show(Feedback(
            "info", _("Type to search; Enter opens the carrier."), (_("Ctrl+N registers a new carrier."),)))
        self.query_one("#search", ScanField).focus()

    def on_screen_resume(self) -> None:
        self.query_one("#search", ScanField).focus()

    @on(Input.Changed, "#search")
    def _changed(self, event: Input.Changed) -> None:
        self.generation += 1
        generation = self.generation
        text = event.value
        self.set_timer(SEARCH_DELAY, lambda: self.run_worker(self.search(text, generation), group="search"))

    @on(ScanField.Scanned, "#search")
    async def _scanned(self, event: ScanField.Scanned) -> None:
        event.stop()
        field = self.query_one("#search", ScanField)
        field.value = event.code.strip().upper()
        self.generation += 1
        await self.search(field.value, self.generation)
        if len(self.results) == 1 and classify_code(field.value) in ("carrier", "epc"):
            self.open_detail(self.results[0])

    @on(Input.Submitted, "#search")
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self.last_query != event.value:
            self.generation += 1
            await self.search(event.value, self.generation)
        picked = self.selected()
        if picked is not None:
            self.open_detail(picked)

    async def search(self, text: str, generation: int) -> None:
        """Run one search off the UI thread; drop the answer if the field changed meanwhile."""
        if generation != self.generation:
            return
        store = self.ctx.store

        def read() -> list[CarrierView]:
            with store.uow(readonly=True) as uow:
                return queries.find(uow, text, limit=100)

        try:
            found = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        except DomainError as e:
            self.query_one("#search-summary", Static).update(Text(pick(e.en, e.zh), style="bold red"))
            return
        if generation != self.generation:
            return
        self.searches += 1
        self.last_query = text
        self.results = found
        table = self.query_one("#results", DataTable)
        table.clear()
        for v in found:
            where = f"{v.holder} {v.holder_name or ''}" if v.holder else f"{v.location or ''} {status_label(v.status)}"
            table.add_row(Text(v.code), marking_chip(v), Text(v.title[:24]), Text(where), key=v.code)
        summary = "" if not text.strip() else (_("{n} found").format(n=len(found)) if len(found) < 100
                                               else _("first 100 shown — type more to narrow"))
        self.query_one("#search-summary", Static).update(Text(summary))

    def selected(self) -> CarrierView | None:
        table = self.query_one("#results", DataTable)
        if not table.row_count or not self.results:
            return None
        return self.results[min(table.cursor_row, len(self.results) - 1)]

    def action_cursor(self, step: int) -> None:
        table = self.query_one("#results", DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    def open_detail(self, view: CarrierView) -> None:
        self.app.push_screen(CarrierScreen(self.ctx, view.code))

    def action_new(self) -> None:
        self.app.push_screen(NewCarrierScreen(self.ctx))

    def action_print_run(self) -> None:
        from tui.screens.printrun import PrintRunScreen

        self.app.push_screen(PrintRunScreen(self.ctx))

    async def action_label(self) -> None:
        picked = self.selected()
        if picked is not None:
            await print_label(self, self.ctx, picked, self.query_one("#card", FeedbackCard))


async def print_label(screen: Screen[Any], ctx: AppContext, view: CarrierView, card: FeedbackCard) -> None:
    def render() -> str:
        return str(printing.save(ctx.output_dir, f"label-{view.code}.pdf", printing.label_pdf(view)))

    try:
        path = await off_ui(screen.app.reads, render)  # type: ignore[attr-defined]
    except (printing.PrintError, DomainError) as e:
        card.show(Feedback("error", pick(e.en, e.zh)))
        screen.app.bell()
        return
    card.show(Feedback("ok", _("Label saved"), (path,), carrier=view))


class CarrierScreen(DeskScreen):
    """One carrier: its current state and its whole ledger history, oldest first."""

    screen_name = "carrier"
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+p", "label", N_("Label PDF"), priority=True),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, ctx: AppContext, code: str) -> None:
        super().__init__(ctx)
        self.code = code
        self.view: CarrierView | None = None
        self.history: list[HistoryEntry] = []

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Carrier {code}").format(code=self.code))
        yield FeedbackCard(id="card")
        table: DataTable[Any] = DataTable(id="timeline", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyBar()

    async def on_mount(self) -> None:
        table = self.query_one("#timeline", DataTable)
        table.add_column("#", key="seq", width=6)
        table.add_column(_("When"), key="at", width=16)
        table.add_column(_("Event"), key="type", width=14)
        table.add_column(_("By"), key="actor", width=12)
        table.add_column(_("From → to"), key="move")
        table.focus()
        store = self.ctx.store

        def read() -> tuple[CarrierView | None, list[HistoryEntry]]:
            with store.uow(readonly=True) as uow:
                return queries.carrier(uow, self.code), queries.history(uow, self.code)

        card = self.query_one("#card", FeedbackCard)
        try:
            self.view, self.history = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        except DomainError as e:
            card.show(Feedback("error", pick(e.en, e.zh)))
            return
        if self.view is None:
            card.show(Feedback("error", _("No carrier with code {code} in the register.").format(code=self.code)))
            return
        v = self.view
        extra = _("Kind: {kind}  Scope: {scope}  EPC: {epc}").format(kind=v.kind, scope=v.scope or "—",
                                                                      epc=v.epc or "—")
        lines = (*carrier_lines(v, store), extra)
        card.show(Feedback("info", _("{n} ledger event(s)").format(n=len(self.history)), lines, carrier=v))
        tz = store.policy.tz
        from tracker.domain import parse_utc

        for ev in self.history:
            when = f"{parse_utc(ev.at).astimezone(tz):%Y-%m-%d %H:%M}"
            src = ev.from_holder or ev.from_location or ""
            dst = ev.to_holder or ev.to_location or ""
            move = f"{src} → {dst}" if src or dst else ""
            if ev.witness:
                move += "  " + _("with {badge}").format(badge=ev.witness)
            if ev.approval_id:
                move += "  " + _("approval #{id}").format(id=ev.approval_id)
            table.add_row(str(ev.seq), when, Text(event_label(ev.type)), Text(ev.actor or ""), Text(move),
                          key=str(ev.seq))
        if table.row_count:
            table.move_cursor(row=table.row_count - 1)

    def action_back(self) -> None:
        self.app.pop_screen()

    async def action_label(self) -> None:
        if self.view is not None:
            await print_label(self, self.ctx, self.view, self.query_one("#card", FeedbackCard))


def event_label(kind: str) -> str:
    return {
        "registered": _("registered"), "checked_out": _("checked out"), "checked_in": _("checked in"),
        "handed_over": _("handed over"), "carried_out": _("carried out"), "copied": _("copied"),
        "reclassified": _("reclassified"), "moved": _("moved"), "reported_missing": _("reported missing"),
        "found": _("found"), "label_encoded": _("label encoded"),
    }.get(kind, kind.replace("_", " "))


FIELDS = (
    ("location", N_("Place code"), "LOC-BJ-R2C1S1…"),
    ("classification", N_("Level"), "绝密 / 机密 / 秘密 / 内部 / 无密"),
    ("kind", N_("Kind"), "paper, optical_disc, usb_drive…"),
    ("period", N_("Secrecy period"), "10y, 2030-12-31, long"),
    ("scope", N_("Need-to-know"), "法规处;技术处;@B-BJ-…"),
    ("title", N_("Title"), ""),
    ("doc_number", N_("Document no."), ""),
    ("issuer", N_("Issuer"), ""),
    ("copy", N_("Copy n/N"), "1/3"),
    ("pages", N_("Pages"), ""),
)


class NewCarrierScreen(DeskScreen):
    """Register one carrier (登记): every field checked by the rulebook at once, each refusal shown with its rule."""

    screen_name = "new-carrier"
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+s", "save", N_("Save"), priority=True),
        Binding("ctrl+p", "label", N_("Label PDF"), priority=True),
        Binding("escape", "back", N_("Back")),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.registered: str | None = None
        self.view: CarrierView | None = None
        self.kept: dict[str, str] = {}  # the values last saved (or pre-filled): Esc asks before losing others

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("New carrier"))
        with VerticalScroll(id="new-form"):
            for key, label, hint in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(_(label))
                    yield ScanField(placeholder=hint, id=f"f-{key}", gap=getattr(self.app, "wedge_gap", 0.03),
                                    value="paper" if key == "kind" else "")
        yield FeedbackCard(id="card")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#card", FeedbackCard).show(Feedback(
            "info", _("Fill in the fields; Ctrl+S registers."), (_("Enter moves to the next field."),)))
        self.query_one("#f-location", ScanField).focus()
        self.kept = self.values()

    def values(self) -> dict[str, str]:
        return {key: self.value(key) for key, _l, _h in FIELDS}

    @on(ScanField.Scanned, "#f-location")
    def _place_scanned(self, event: ScanField.Scanned) -> None:
        event.stop()
        event.field.value = event.code.strip().upper()
        self.query_one("#f-classification", ScanField).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        keys = [k for k, _l, _h in FIELDS]
        current = (event.input.id or "f-").removeprefix("f-")
        if current in keys and current != keys[-1]:
            self.query_one(f"#f-{keys[keys.index(current) + 1]}", ScanField).focus()

    def value(self, key: str) -> str:
        return self.query_one(f"#f-{key}", ScanField).value.strip()

    def form(self) -> registry.CarrierInput:
        """The typed values as a CarrierInput; shape errors (numbers) raise DomainError naming the field."""
        copy_number = copy_total = pages = None
        copy_text = self.value("copy")
        if copy_text:
            n, sep, total = copy_text.replace("／", "/").partition("/")
            if not (sep and n.strip().isdigit() and total.strip().isdigit()):
                raise DomainError("Copy is n/N, e.g. 1/3 (R-30).", "份号格式为 n/N，例如 1/3（R-30）。")
            copy_number, copy_total = int(n), int(total)
        if self.value("pages"):
            if not self.value("pages").isdigit():
                raise DomainError("Pages is a whole number.", "页数须为整数。")
            pages = int(self.value("pages"))
        return registry.CarrierInput(
            location=self.value("location").upper(), classification=self.value("classification") or None,
            kind=self.value("kind") or "paper", period=self.value("period") or None,
            scope=self.value("scope") or None, title=self.value("title"), doc_number=self.value("doc_number") or None,
            issuer=self.value("issuer") or None, copy_number=copy_number, copy_total=copy_total, pages=pages)

    async def action_save(self) -> None:
        card = self.query_one("#card", FeedbackCard)
        actor = self.ctx.actor
        if actor is None:
            return
        try:
            data = self.form()
            code = await off_ui(self.app.db, lambda: registry.register(self.ctx.store.uow(), actor, data,  # type: ignore[attr-defined]
                                                       site=self.ctx.settings.site))
        except Refused as e:
            card.show(Feedback("refused", _("Refused: {rules}").format(rules=", ".join(e.rules)),
                               tuple(v.message(self.ctx.lang) for v in e.violations), rules=tuple(e.rules)))
            self.app.bell()
            return
        except DomainError as e:
            card.show(Feedback("error", pick(e.en, e.zh)))
            self.app.bell()
            return
        self.registered = code
        self.kept = self.values()
        store = self.ctx.store

        def read() -> CarrierView | None:
            with store.uow(readonly=True) as uow:
                return queries.carrier(uow, code)

        try:
            self.view = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        except DomainError:
            self.view = None  # registered all the same; the card just shows less
        lines = tuple(carrier_lines(self.view, store)) if self.view else ()
        card.show(Feedback("ok", _("Registered {code}").format(code=code),
                           (*lines, _("Ctrl+P saves its label (PDF).")), carrier=self.view))

    async def action_label(self) -> None:
        if self.view is not None:
            await print_label(self, self.ctx, self.view, self.query_one("#card", FeedbackCard))

    def action_back(self) -> None:
        if self.values() == self.kept:
            self.app.pop_screen()
            return

        def answered(leave: bool | None) -> None:
            if leave:
                self.app.pop_screen()

        self.app.push_screen(ConfirmDialog(_("Discard the form?"),
                                           _("The typed values are not registered. Enter discards them; Esc keeps "
                                             "the form.")), answered)
