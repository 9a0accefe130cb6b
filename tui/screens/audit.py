"""The audit log (审计日志) for the security officer and the auditor: refused acts, failed and locked sign-ins, role
and policy changes — newest first, filtered by person, rule or kind.

The log lives outside the custody chain and is append-only; this screen only reads it. Who may read it is the
register's rule (`Action.AUDIT`, R-25), checked by the service layer in the same transaction as the read, so anyone
else who opens the screen sees the refusal — which is itself written to the log — and no row.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Input, Static

from tracker.domain import DomainError
from tracker.services import audit
from tracker.services.audit import AuditEntry
from tracker.services.common import Refused, Signed
from tracker.store import Store
from tui.context import AppContext
from tui.i18n import N_, _, pick
from tui.screens.base import TO_COUNTER, DeskScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar
from tui.workers import off_ui

FILTER_DELAY = 0.25
KIND_STYLES = {"refused": "bold red", "signin_failed": "bold yellow", "signin_locked": "bold red"}


def kind_label(kind: str) -> str:
    return {"refused": _("refused"), "signin_failed": _("sign-in failed"), "signin_locked": _("sign-in locked"),
            "role_change": _("role change"), "policy_change": _("policy change"),
            "export": _("export")}.get(kind, kind)


def read_audit(store: Store, actor: Signed, terms: list[str]) -> list[AuditEntry]:
    """The permission check and the read in one transaction (`services.audit`); a refusal is audited."""
    return audit.entries(store.uow(), actor, terms)


class AuditScreen(DeskScreen):
    screen_name = "audit"
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+r", "refresh", N_("Refresh")),
        Binding("down", "cursor(1)", N_("Next"), show=False),
        Binding("up", "cursor(-1)", N_("Previous"), show=False),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.entries: list[AuditEntry] = []
        self.refused: Refused | None = None
        self.last_filter: str | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Audit log"))
        yield ScanField(placeholder=_("Filter: badge, rule (R-25) or kind (signin_failed)"), id="audit-filter",
                        gap=getattr(self.app, "wedge_gap", 0.03))
        yield Static("", id="audit-summary", markup=False)
        table: DataTable[Any] = DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="audit-detail", markup=False)
        yield KeyBar()

    async def on_mount(self) -> None:
        table = self.query_one("#audit", DataTable)
        table.add_column(_("At"), key="at", width=11)
        table.add_column(_("Kind"), key="kind", width=10)
        table.add_column(_("Person"), key="actor", width=11)
        table.add_column(_("Action"), key="action", width=10)
        table.add_column(_("Rules"), key="rules", width=12)
        self.query_one("#audit-filter", ScanField).focus()
        await self.action_refresh()

    @on(Input.Changed, "#audit-filter")
    def _changed(self, _event: Input.Changed) -> None:
        self.set_timer(FILTER_DELAY, self._filter_if_changed)

    @on(ScanField.Scanned, "#audit-filter")
    def _scanned(self, event: ScanField.Scanned) -> None:
        event.stop()  # a scanned badge filters the log by that person; it never reaches the counter
        event.field.value = event.code.strip().upper()

    @on(Input.Submitted, "#audit-filter")
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.action_refresh()

    async def _filter_if_changed(self) -> None:
        if self.query_one("#audit-filter", ScanField).value != self.last_filter:
            await self.action_refresh()

    async def action_refresh(self) -> None:
        actor = self.ctx.actor
        if actor is None:
            return
        text = self.query_one("#audit-filter", ScanField).value
        self.last_filter = text
        store = self.ctx.store
        try:
            entries = await off_ui(self.app.db, read_audit, store, actor, text.split())  # type: ignore[attr-defined]
        except Refused as e:
            self.refused = e
            self.query_one("#audit-summary", Static).update(Text(
                _("Refused: {rules}").format(rules=", ".join(e.rules)) + "\n" + e.message(self.ctx.lang),
                style="bold red"))
            self.app.bell()
            return
        except DomainError as e:
            self.query_one("#audit-summary", Static).update(Text(pick(e.en, e.zh), style="bold red"))
            self.app.bell()
            return
        if self.query_one("#audit-filter", ScanField).value != text:
            return  # typed on meanwhile: the newer filter's read follows
        self.entries = entries
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#audit", DataTable)
        table.clear()
        tz = self.ctx.store.policy.tz
        for e in self.entries:
            table.add_row(Text(f"{e.at.astimezone(tz):%m-%d %H:%M}"),
                          Text(kind_label(e.kind), style=KIND_STYLES.get(e.kind, "")), Text(e.actor or "—"),
                          Text(e.action), Text(e.rules), key=str(e.id))
        summary = _("{n} entr(ies), newest first.").format(n=len(self.entries)) if self.entries \
            else _("No entry matches.")
        self.query_one("#audit-summary", Static).update(Text(summary, style="bold"))
        if self.entries:
            self._show_detail(self.entries[0])
        else:
            self.query_one("#audit-detail", Static).update("")

    def action_cursor(self, step: int) -> None:
        """The filter keeps the focus, so typing goes on while ↑/↓ walk the rows."""
        table = self.query_one("#audit", DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        entry = next((e for e in self.entries if str(e.id) == event.row_key.value), None)
        if entry is not None:
            self._show_detail(entry)

    def _show_detail(self, e: AuditEntry) -> None:
        tz = self.ctx.store.policy.tz
        text = Text()
        text.append(f"{e.at.astimezone(tz):%Y-%m-%d %H:%M:%S}  {kind_label(e.kind)}  ", style="bold")
        text.append(f"{e.actor or '—'}  {e.action}")
        if e.carrier:
            text.append("  " + _("Carrier: {code}").format(code=e.carrier))
        if e.rules:
            text.append("  " + e.rules, style="bold")
        if e.detail:
            text.append("\n" + e.detail)
        if e.terminal:
            text.append("\n" + _("Terminal: {name}").format(name=e.terminal))
        self.query_one("#audit-detail", Static).update(text)
