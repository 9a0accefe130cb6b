"""Alerts: what the security officer must act on now — overdue loans, 绝密 not returned the same day, missing
carriers with their R-155 10/60-day clock, people departing while still holding carriers (R-140), and, for
approvers, their approvals not used yet. The list comes from `tracker.queries.alerts`, read on a worker thread when
the screen opens, on `r`, and every minute. This screen only reads.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tracker import queries
from tracker.domain import DomainError
from tracker.queries import Alert
from tui.context import AppContext
from tui.i18n import N_, _, pick
from tui.screens.base import TO_COUNTER, DeskScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.topbar import TopBar
from tui.workers import off_ui

KIND_STYLES = {"top_secret_out": "bold #ffffff on #c00000", "leak": "bold #ffffff on #c00000",
               "overdue": "bold #000000 on #ff8c00", "missing": "bold #000000 on #ffd700",
               "departing": "bold #000000 on #ffd700", "approval": "#000000 on #9ec5e8",
               "transit_overdue": "bold #000000 on #ff8c00"}


def kind_label(kind: str) -> str:
    return {"top_secret_out": _("绝密 out"), "overdue": _("Overdue"), "missing": _("Missing"),
            "leak": _("Leak (R-155)"), "departing": _("Departing"), "approval": _("Approval"),
            "transit_overdue": _("Transit late")}.get(kind, kind)


class AlertsScreen(DeskScreen):
    screen_name = "alerts"
    BINDINGS = [  # noqa: RUF012
        Binding("r", "refresh", N_("Refresh")),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.alerts: list[Alert] = []

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Alerts"))
        yield Static("", id="alerts-summary", markup=False)
        table: DataTable[Any] = DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyBar()

    async def on_mount(self) -> None:
        table = self.query_one("#alerts", DataTable)
        # At 80 columns the sentence is cut, so who must act (the holder's badge) has a column of its own.
        table.add_column(_("Kind"), key="kind", width=12)
        table.add_column(_("Carrier"), key="carrier", width=10)
        table.add_column(_("Holder"), key="holder", width=11)
        table.add_column(_("Due"), key="due", width=16)
        table.add_column(_("What"), key="what")
        table.focus()
        self.set_interval(60, self.action_refresh)
        await self.action_refresh()

    async def action_refresh(self) -> None:
        store, badge = self.ctx.store, self.ctx.actor.badge if self.ctx.actor else None

        def read() -> list[Alert]:
            with store.uow(readonly=True) as uow:
                return queries.alerts(uow, for_badge=badge)

        try:
            self.alerts = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        except DomainError as e:
            self.query_one("#alerts-summary", Static).update(Text(pick(e.en, e.zh), style="bold red"))
            self.app.bell()
            return
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#alerts", DataTable)
        table.clear()
        tz = self.ctx.store.policy.tz
        for i, a in enumerate(self.alerts):
            due = f"{a.due.astimezone(tz):%Y-%m-%d %H:%M}" if a.due else ""
            table.add_row(Text(f" {kind_label(a.kind)} ", style=KIND_STYLES.get(a.kind, "")),
                          Text(a.carrier or ""), Text(a.person or ""), Text(due), Text(pick(a.en, a.zh)), key=str(i))
        summary = _("{n} alert(s)").format(n=len(self.alerts)) if self.alerts else _("Nothing to act on.")
        self.query_one("#alerts-summary", Static).update(Text(summary, style="bold"))
