"""Ledger: verify the whole hash chain with a progress bar, show the head, and seal it (an anchor for the paper
record). Verification runs on a worker thread over its own connection and reports progress through the app; a
broken chain is shown in red with the first event that breaks it. Sealing goes through `seals.seal`, which
refuses anyone but the security officer and the auditor (R-25).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import ProgressBar, Static

from tracker.domain import DomainError
from tracker.ledger import VerifyReport, verify
from tracker.services import seals
from tracker.services.common import Refused
from tui.context import AppContext
from tui.i18n import N_, _, pick
from tui.screens.base import TO_COUNTER, DeskScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.topbar import TopBar
from tui.workers import off_ui


class LedgerScreen(DeskScreen):
    screen_name = "ledger"
    BINDINGS = [  # noqa: RUF012
        Binding("v", "verify", N_("Verify")),
        Binding("s", "seal", N_("Seal head")),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.report: VerifyReport | None = None
        self.sealed: tuple[int, str] | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Ledger"))
        yield Static("", id="ledger-head", markup=False)
        yield ProgressBar(total=None, show_eta=False, id="progress")
        yield Static(Text(_("Press v to verify the whole chain, s to seal the head.")), id="ledger-result",
                     markup=False)
        yield KeyBar()

    async def on_mount(self) -> None:
        await self._show_head()

    async def _show_head(self) -> None:
        store = self.ctx.store

        def read() -> tuple[int, str]:
            with store.uow(readonly=True) as uow:
                return uow.ledger.head()

        try:
            seq, digest = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        except DomainError as e:
            self.query_one("#ledger-head", Static).update(Text(pick(e.en, e.zh), style="bold red"))
            return
        self.query_one("#ledger-head", Static).update(Text(_("Head: event {seq}\n{hash}").format(seq=seq,
                                                                                                hash=digest)))

    async def action_verify(self) -> None:
        bar = self.query_one("#progress", ProgressBar)
        result = self.query_one("#ledger-result", Static)
        result.update(Text(_("Verifying…")))
        bar.update(total=None, progress=0)
        store = self.ctx.store

        def progress(done: int, total: int) -> None:
            self.app.call_from_thread(bar.update, total=max(total, 1), progress=done)

        def run() -> VerifyReport:
            with store.engine.connect() as conn:
                return verify(conn, progress=progress)

        try:
            report = await off_ui(self.app.reads, run)  # type: ignore[attr-defined]
        except DomainError as e:
            result.update(Text(pick(e.en, e.zh), style="bold red"))
            self.app.bell()
            return
        self.report = report
        bar.update(total=max(report.head_seq, 1), progress=max(report.checked, 1 if report.ok else 0))
        result.update(Text(report.message(self.ctx.lang), style="bold green" if report.ok else "bold red"))
        if not report.ok:
            self.app.bell()

    async def action_seal(self) -> None:
        actor = self.ctx.actor
        if actor is None:
            return
        result = self.query_one("#ledger-result", Static)
        try:
            store = self.ctx.store
            sealed = await off_ui(self.app.db, lambda: seals.seal(store.uow(), actor))  # type: ignore[attr-defined]
        except Refused as e:
            result.update(Text(e.message(self.ctx.lang), style="bold red"))
            self.app.bell()
            return
        except DomainError as e:
            result.update(Text(pick(e.en, e.zh), style="bold red"))
            self.app.bell()
            return
        self.sealed = sealed
        seq, digest = sealed
        result.update(Text(_("Sealed: {seq}:{hash} — copy it into the paper record.").format(seq=seq, hash=digest),
                           style="bold green"))
        await self._show_head()
