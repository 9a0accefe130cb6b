"""Handover (手递手交接): giver and taker each scan their badge and sign with their PIN, the carriers are scanned,
and one key records the hop — one ledger event per carrier naming both parties — and offers a PDF receipt.

Scanning is checked as it happens (is the carrier held by the giver?) so a wrong carrier shows red before the
confirmation; the register still decides everything when the operator confirms (`circulation.handover`). All
database work runs on the app's register thread, in order; this screen only collects and shows.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Static

from labels.codes import CodeError, classify_code, parse_badge_code, parse_carrier_code
from tracker import queries
from tracker.domain import DomainError
from tracker.epc_scope import carrier_code_for_epc
from tracker.queries import CarrierView
from tracker.rules import Violation, check_handover
from tracker.services import circulation
from tracker.services.common import (
    Refused,
    Signed,
    carrier_facts,
    get_carrier,
    get_person,
    person_facts,
)
from tui import printing
from tui.context import AppContext
from tui.desk import Feedback, carrier_lines
from tui.i18n import N_, _, pick
from tui.screens.base import TO_COUNTER, ScanDeskScreen, Signer
from tui.widgets.card import FeedbackCard, marking_chip
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar


class HandoverScreen(ScanDeskScreen):
    screen_name = "handover"
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+s", "confirm", N_("Confirm"), priority=True),
        Binding("ctrl+p", "receipt", N_("Receipt PDF"), priority=True),
        Binding("ctrl+n", "restart", N_("New"), priority=True),
        Binding("delete", "remove", N_("Remove"), show=False),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.giver: Signer | None = None
        self.taker: Signer | None = None
        self.carriers: list[CarrierView] = []
        self.events: list[int] = []
        self.receipt_path: str | None = None
        self.done_carriers: list[CarrierView] = []
        self.done_parties: tuple[Signer, Signer] | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Handover"))
        with Horizontal(id="parties"):
            yield Static("", id="giver", classes="party", markup=False)
            yield Static("", id="taker", classes="party", markup=False)
        yield ScanField(placeholder=_("Scan the giver's badge, the taker's badge, then the carriers"), id="scan",
                        gap=getattr(self.app, "wedge_gap", 0.03))
        yield FeedbackCard(id="card")
        table: DataTable[Any] = DataTable(id="carriers", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#carriers", DataTable)
        table.can_focus = False
        table.add_column(_("Code"), key="code", width=12)
        table.add_column(_("Marking"), key="marking", width=12)
        table.add_column(_("Title"), key="title", width=22)
        table.add_column(_("Holder"), key="holder")
        self._show_parties()
        self.card.show(Feedback("info", _("New handover"), (_("Scan the giver's badge first."),)))
        self.query_one("#scan", ScanField).focus()

    def _show_parties(self) -> None:
        for side, wid, label in ((self.giver, "#giver", _("Giver")), (self.taker, "#taker", _("Taker"))):
            box = self.query_one(wid, Static)
            if side is None:
                box.update(Text(f"{label}: —"))
                box.set_class(False, "signed")
                continue
            mark = _("signed") if side.signed else _("not signed")
            box.update(Text(f"{label}: {side.person.badge}\n{side.person.name}  ({mark})"))
            box.set_class(side.signed is not None, "signed")

    async def take(self, text: str) -> None:
        """One scanned or typed code: a badge names the next party, a carrier joins the list."""
        kind = classify_code(text)
        try:
            if kind == "badge":
                await self._party(parse_badge_code(text).text)
            elif kind in ("carrier", "epc"):
                await self._carrier(text, kind)
            else:
                self._fail(_("{text!r} is not a badge or a carrier code.").format(text=text[:60]))
        except CodeError as e:
            self._fail(pick(e.message_en, e.message_zh))
        except DomainError as e:
            self._fail(pick(e.en, e.zh))

    async def _party(self, badge: str) -> None:
        if self.events:
            await self.action_restart()
        who = await self.scanned_person(badge)
        if who is None:
            return
        if self.giver is None or (self.giver.signed is None and self.giver.person.badge == who.badge):
            self.giver = Signer(who)
            role = _("Giver")
        elif self.taker is None or self.taker.signed is None:
            self.taker = Signer(who)
            role = _("Taker")
        else:
            self._fail(_("Both parties have signed. Ctrl+N starts a new handover."))
            return
        self._show_parties()
        self.ask_signature(who.badge, who.name, role)

    def signed(self, badge: str, signed: Signed) -> None:
        self.sign_in((self.giver, self.taker), badge, signed)
        self._show_parties()
        nxt = _("Scan the taker's badge.") if self.taker is None else _("Scan the carriers, then Ctrl+S to confirm.")
        self.card.show(Feedback("ok", _("Signed: {badge}").format(badge=badge), (nxt,)))

    async def _carrier(self, text: str, kind: str) -> None:
        store = self.ctx.store
        giver = self.giver.person.badge if self.giver else None
        taker = self.taker.person.badge if self.taker else None

        def read() -> tuple[CarrierView | None, list[Violation]]:
            with store.uow(readonly=True) as uow:
                if kind == "epc":
                    view = queries.carrier_by_epc(uow, text)
                    code = carrier_code_for_epc(uow, text)
                    view = view or (queries.carrier(uow, code) if code else None)
                else:
                    view = queries.carrier(uow, parse_carrier_code(text).text)
                if view is None or giver is None or taker is None:
                    return view, []
                # The hop's own rules, judged now with the signatures taken as given (they are checked when the
                # operator confirms): a carrier that could never pass to this taker is refused at the scan.
                problems = check_handover(
                    carrier_facts(get_carrier(uow, view.code, lock=False)), person_facts(get_person(uow, giver)),
                    person_facts(get_person(uow, taker)), True, True, store.policy_in(uow.session))
                return view, problems

        view, problems = await self._run(read)
        if view is None and kind == "epc":  # e.g. a tag under another organisation's prefix (issue 17)
            self._fail(_("Unknown tag {epc}: not a carrier of this register.").format(epc=text.upper()))
            return
        if view is None:
            self._fail(_("No carrier with code {code} in the register.").format(code=text))
            return
        if any(v.code == view.code for v in self.carriers):
            self.card.show(Feedback("info", _("Already in the list"), carrier=view))
            return
        if self.events:
            await self.action_restart()
        if problems:
            rules = tuple(dict.fromkeys(v.rule for v in problems))
            self.card.show(Feedback("refused", _("Refused: {rules}").format(rules=", ".join(rules)),
                                    tuple(v.message(self.ctx.lang) for v in problems), carrier=view, rules=rules))
            self.app.bell()
            return
        self.carriers.append(view)
        table = self.query_one("#carriers", DataTable)
        held = view.holder is not None and (giver is None or view.holder == giver)
        table.add_row(Text(view.code), marking_chip(view), Text(view.title[:22]), self._holder(view, held),
                      key=view.code)
        if held:
            self.card.show(Feedback("ok", _("Added"), tuple(carrier_lines(view, store)), carrier=view))
        else:
            self.card.show(Feedback("refused", _("Not held by the giver (R-17)"),
                                    tuple(carrier_lines(view, store)), carrier=view, rules=("R-17",)))
            self.app.bell()

    @staticmethod
    def _holder(view: CarrierView, held: bool = True) -> Text:
        holder = Text(f"{view.holder or view.location or ''} {view.holder_name or ''}")
        if not held:
            holder.stylize("bold red")
        return holder

    def action_remove(self) -> None:
        table = self.query_one("#carriers", DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key
        table.remove_row(key)
        self.carriers = [v for v in self.carriers if v.code != key.value]

    async def action_confirm(self) -> None:
        actor = self.ctx.actor
        if actor is None:
            return
        if self.giver is None or self.taker is None:
            self._fail(_("Both parties scan their badge and sign before the handover."))
            return
        giver: Signed | str = self.giver.signed or self.giver.person.badge
        taker: Signed | str = self.taker.signed or self.taker.person.badge
        codes = [v.code for v in self.carriers]
        try:
            self.events = await self._run(circulation.handover, self.ctx.store.uow(), actor, codes, giver, taker)
        except Refused as e:
            self.card.show(Feedback("refused", _("Refused: {rules}").format(rules=", ".join(e.rules)),
                                    tuple(v.message(self.ctx.lang) for v in e.violations), rules=tuple(e.rules)))
            self.app.bell()
            return
        except DomainError as e:
            self._fail(pick(e.en, e.zh))
            return
        store = self.ctx.store

        def reread() -> list[CarrierView]:
            with store.uow(readonly=True) as uow:
                return [v for v in (queries.carrier(uow, c) for c in codes) if v is not None]

        # The list shows the carriers as they are now: with the taker, not as they were scanned.
        self.carriers = await self._run(reread)
        table = self.query_one("#carriers", DataTable)
        for view in self.carriers:
            table.update_cell(view.code, "holder", self._holder(view))
        self.done_carriers = list(self.carriers)
        self.done_parties = (self.giver, self.taker)
        self.card.show(Feedback("ok", _("Handed over {n} carrier(s) to {name}").format(
            n=len(codes), name=self.taker.person.name),
            (_("Ledger events {first}–{last}. Ctrl+P saves the receipt (PDF).").format(
                first=self.events[0], last=self.events[-1]),)))

    async def action_receipt(self) -> None:
        if not self.events or self.done_parties is None:
            self._fail(_("Confirm the handover (Ctrl+S) before saving its receipt."))
            return
        g, t = self.done_parties
        ctx = self.ctx
        data = printing.handover_receipt_pdf(
            at=ctx.store.clock(), tz=ctx.store.policy.tz, terminal=ctx.settings.terminal,
            operator=f"{ctx.actor.badge if ctx.actor else ''} {ctx.operator_name}",
            giver=printing.ReceiptParty(g.person.badge, g.person.name, g.signed.at if g.signed else None),
            taker=printing.ReceiptParty(t.person.badge, t.person.name, t.signed.at if t.signed else None),
            carriers=self.done_carriers, events=self.events)
        path = printing.save(ctx.output_dir, f"handover-{self.events[0]}.pdf", data)
        self.receipt_path = str(path)
        self.card.show(Feedback("ok", _("Receipt saved"), (str(path),)))

    async def action_restart(self) -> None:
        self.giver = self.taker = None
        self.carriers = []
        self.events = []
        self.query_one("#carriers", DataTable).clear()
        self._show_parties()
        self.card.show(Feedback("info", _("New handover"), (_("Scan the giver's badge first."),)))

