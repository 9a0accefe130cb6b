"""Courier hop (机要交通交接): scan a package (or a loose carrier) of an open transit, read each package's seal, the
giver and the taker scan their badges and sign with their PIN (and the second courier of a 绝密 transit), and one key
records the hop — or the receipt at the destination registry — and saves its receipt PDF.

Everything is reachable from the keyboard and a scanner at 80×24: a package code names the transit, the next code
that is neither a badge nor a package is that package's seal number, badges name giver, taker and second courier in
turn. The register decides everything when the operator confirms (`transit.hop` / `transit.receive`); this screen
only collects and shows, and all database work runs on the app's register thread.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from labels.codes import CodeError, classify_code, parse_badge_code
from tracker.domain import DomainError
from tracker.reports import transit_pdf
from tracker.services import transit
from tracker.services.common import Refused, Signed
from tui.context import AppContext
from tui.desk import Feedback
from tui.i18n import N_, _, pick
from tui.screens.base import TO_COUNTER, ScanDeskScreen, Signer
from tui.widgets.card import FeedbackCard
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar


class CourierScreen(ScanDeskScreen):
    screen_name = "courier"
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+s", "confirm(False)", N_("Record hop"), priority=True),
        Binding("ctrl+r", "confirm(True)", N_("Receive"), priority=True),
        Binding("ctrl+n", "restart", N_("New"), priority=True),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.view: transit.TransitView | None = None
        self.seals: dict[str, str] = {}
        self.pending_seal: str | None = None
        self.giver: Signer | None = None
        self.taker: Signer | None = None
        self.second: Signer | None = None
        self.hop_number: int | None = None
        self.receipt_path: str | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Courier"))
        yield Static("", id="transit", markup=False)
        yield Static("", id="parties", markup=False)
        yield ScanField(placeholder=_("Scan a package, its seal, the giver's and the taker's badges"), id="scan",
                        gap=getattr(self.app, "wedge_gap", 0.03))
        yield FeedbackCard(id="card")
        yield KeyBar()

    def on_mount(self) -> None:
        self._show()
        self.card.show(Feedback("info", _("Courier hop"), (_("Scan a package or carrier of the transit."),)))
        self.query_one("#scan", ScanField).focus()

    def _show(self) -> None:
        v = self.view
        if v is None:
            self.query_one("#transit", Static).update(Text(_("Transit: —")))
        else:
            seals = "  ".join(f"{p['package']}={self.seals.get(p['package'], '?')}" for p in v.packages)
            self.query_one("#transit", Static).update(Text(
                _("Transit #{n} {src} → {dst}, held by {holder}").format(n=v.id, src=v.from_place, dst=v.to_place,
                                                                       holder=v.holder or "—")
                + f"\n{_('Seals')}: {seals or '—'}   {_('Carriers')}: {len(v.carriers)}"))
        lines = []
        for party, label in ((self.giver, _("Giver")), (self.taker, _("Taker")), (self.second, _("Second courier"))):
            if party is not None:
                mark = _("signed") if party.signed else _("not signed")
                lines.append(f"{label}: {party.person.badge} {party.person.name} ({mark})")
        self.query_one("#parties", Static).update(Text("\n".join(lines) or _("Giver: —")))

    async def take(self, text: str) -> None:
        """One scanned or typed code: a package or carrier names the transit, then its seal; a badge names a party."""
        kind = classify_code(text)
        try:
            if kind == "badge":
                await self._party(parse_badge_code(text).text)
            elif kind in ("package", "carrier"):
                await self._item(text.strip().upper(), kind)
            elif self.pending_seal is not None:
                self.seals[self.pending_seal] = text.strip()
                self.card.show(Feedback("ok", _("Seal read: {package} {seal}").format(
                    package=self.pending_seal, seal=text.strip()), (self._next(),)))
                self.pending_seal = None
                self._show()
            else:
                self._fail(_("{text!r} is not a package, carrier or badge code.").format(text=text[:60]))
        except CodeError as e:
            self._fail(pick(e.message_en, e.message_zh))
        except DomainError as e:
            self._fail(pick(e.en, e.zh))

    def _next(self) -> str:
        assert self.view is not None
        unread = [p["package"] for p in self.view.packages if p["package"] not in self.seals]
        if unread:
            return _("Scan package {package}, then its seal.").format(package=unread[0])
        if self.giver is None:
            return _("Scan the giver's badge.")
        if self.taker is None:
            return _("Scan the taker's badge.")
        return _("Ctrl+S records the hop; Ctrl+R the receipt at the destination.")

    async def _item(self, code: str, kind: str) -> None:
        store = self.ctx.store

        def read() -> transit.TransitView | None:
            with store.uow(readonly=True) as uow:
                number = transit.open_for(uow, code)
                return transit.view(uow, number) if number is not None else None

        found = await self._run(read)
        if found is None:
            self._fail(_("{code} is not on an open transit.").format(code=code))
            return
        if self.view is None or self.view.id != found.id or self.hop_number is not None:
            await self.action_restart()
            self.view = found
        if kind == "package" and code in {p["package"] for p in found.packages}:
            self.pending_seal = code
            self.card.show(Feedback("waiting", _("Package {package}").format(package=code),
                                    (_("Scan or type the seal number on its strip."),)))
        elif kind == "package":
            self._fail(_("{code} travels inside another package: scan the outer one.").format(code=code))
        else:
            self.card.show(Feedback("ok", _("Transit #{n}").format(n=found.id), (self._next(),)))
        self._show()

    async def _party(self, badge: str) -> None:
        if self.view is None:
            self._fail(_("Scan a package or carrier of the transit first."))
            return
        who = await self.scanned_person(badge)
        if who is None:
            return
        if self.giver is None or (self.giver.signed is None and self.giver.person.badge == who.badge):
            self.giver, role = Signer(who), _("Giver")
        elif self.taker is None or (self.taker.signed is None and self.taker.person.badge == who.badge):
            self.taker, role = Signer(who), _("Taker")
        elif self.second is None or self.second.signed is None:
            self.second, role = Signer(who), _("Second courier")
        else:
            self._fail(_("Every party has signed. Ctrl+N starts a new hop."))
            return
        self._show()
        self.ask_signature(who.badge, who.name, role)

    def signed(self, badge: str, signed: Signed) -> None:
        self.sign_in((self.giver, self.taker, self.second), badge, signed)
        self._show()
        self.card.show(Feedback("ok", _("Signed: {badge}").format(badge=badge), (self._next(),)))

    async def action_confirm(self, final: bool) -> None:
        actor = self.ctx.actor
        if actor is None or self.view is None:
            self._fail(_("Scan a package or carrier of the transit first."))
            return
        if self.giver is None or self.taker is None:
            self._fail(_("Both parties scan their badge and sign before the hop."))
            return
        store, number = self.ctx.store, self.view.id
        giver: Signed | str = self.giver.signed or self.giver.person.badge
        taker: Signed | str = self.taker.signed or self.taker.person.badge
        second: Signed | str | None = (self.second.signed or self.second.person.badge) if self.second else None
        seals = dict(self.seals)
        try:
            if final:
                hop = await self._run(transit.receive, store.uow(), actor, number, giver, taker, seals)
            else:
                hop = await self._run(transit.hop, store.uow(), actor, number, giver, taker, seals, second)
        except Refused as e:
            self.card.show(Feedback("refused", _("Refused: {rules}").format(rules=", ".join(e.rules)),
                                    tuple(v.message(self.ctx.lang) for v in e.violations), rules=tuple(e.rules)))
            self.app.bell()
            return
        except DomainError as e:
            self._fail(pick(e.en, e.zh))
            return
        ctx = self.ctx

        def receipt() -> tuple[transit.TransitView, str]:
            with store.uow(readonly=True) as uow:
                view = transit.view(uow, number)
            ctx.output_dir.mkdir(parents=True, exist_ok=True)
            path = ctx.output_dir / f"transit-{number}-hop-{hop}.pdf"
            transit_pdf.write_hop_receipt(view, hop, path, store.policy.tz)
            return view, str(path)

        self.view, self.receipt_path = await self._run(receipt)
        self.hop_number = hop
        self._show()
        latest = self.view.hops[-1]
        mismatch = [s["package"] for s in latest.seals if not s.get("ok")]
        lines = [_("Receipt saved: {path}").format(path=self.receipt_path)]
        if mismatch:
            lines.insert(0, _("Seal mismatch on {packages}: incident #{n} opened.").format(
                packages=", ".join(mismatch), n=latest.incident))
        self.card.show(Feedback("refused" if mismatch else "ok",
                                _("Hop {hop} of transit #{n} recorded").format(hop=hop, n=number), tuple(lines)))

    async def action_restart(self) -> None:
        self.view = None
        self.seals = {}
        self.pending_seal = None
        self.giver = self.taker = self.second = None
        self.hop_number = None
        self.receipt_path = None
        self._show()
        self.card.show(Feedback("info", _("Courier hop"), (_("Scan a package or carrier of the transit."),)))

