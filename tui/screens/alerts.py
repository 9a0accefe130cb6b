"""Alerts: what the security officer must act on now — overdue loans, 绝密 not returned the same day, missing
carriers with their R-155 10/60-day clock, people departing while still holding carriers (R-140), and, for
approvers, their approvals not used yet — and below them the duties calendar of the coming week (RULES §3: returns,
清查, clear-back, reviews, trainings, pledges, 脱密期, incidents, campaigns), late ones marked. The lists come from
`tracker.queries.alerts` and `tracker.duties`, read on a worker thread when the screen opens, on `r`, and every
minute. This screen only reads.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tracker import duties, queries
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
               "meeting": "bold #000000 on #ff8c00", "byproducts": "bold #000000 on #ffd700",
               "incident": "bold #ffffff on #c00000", "duty": "bold #000000 on #ff8c00",
               "transit_overdue": "bold #000000 on #ff8c00"}


def kind_label(kind: str) -> str:
    return {"top_secret_out": _("绝密 out"), "overdue": _("Overdue"), "missing": _("Missing"),
            "leak": _("Leak (R-155)"), "departing": _("Departing"), "approval": _("Approval"),
            "meeting": _("Meeting (R-123)"), "byproducts": _("By-products (R-34)"),
            "incident": _("Incident"), "duty": _("Duty"), "transit_overdue": _("Transit late")}.get(kind, kind)


def role_label(role: str) -> str:
    return {"security_officer": _("Security officer"), "clerk": _("Registry")}.get(role, role)


class AlertsScreen(DeskScreen):
    screen_name = "alerts"
    BINDINGS = [  # noqa: RUF012
        Binding("r", "refresh", N_("Refresh")),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.alerts: list[Alert] = []
        self.duties: list[duties.Duty] = []

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Alerts"))
        yield Static("", id="alerts-summary", markup=False)
        table: DataTable[Any] = DataTable(id="alerts", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="duties-summary", markup=False)
        week: DataTable[Any] = DataTable(id="duties", cursor_type="row", zebra_stripes=True)
        yield week
        yield KeyBar()

    async def on_mount(self) -> None:
        table = self.query_one("#alerts", DataTable)
        # At 80 columns the sentence is cut, so who must act (the holder's badge) has a column of its own.
        table.add_column(_("Kind"), key="kind", width=12)
        table.add_column(_("Carrier"), key="carrier", width=10)
        table.add_column(_("Holder"), key="holder", width=11)
        table.add_column(_("Due"), key="due", width=16)
        table.add_column(_("What"), key="what")
        week = self.query_one("#duties", DataTable)
        week.add_column(_("Due"), key="due", width=16)
        week.add_column(_("Duty"), key="duty", width=14)
        week.add_column(_("Who"), key="who", width=16)
        week.add_column(_("What"), key="what")
        table.focus()
        self.set_interval(60, self.action_refresh)
        await self.action_refresh()

    async def action_refresh(self) -> None:
        store, badge = self.ctx.store, self.ctx.actor.badge if self.ctx.actor else None

        def read() -> tuple[list[Alert], list[duties.Duty]]:
            with store.uow(readonly=True) as uow:
                return queries.alerts(uow, for_badge=badge), duties.compute(uow, days=7)

        try:
            self.alerts, self.duties = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
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
        week = self.query_one("#duties", DataTable)
        week.clear()
        for i, d in enumerate(self.duties):
            late = d.late_since is not None
            week.add_row(Text(f"{d.due.astimezone(tz):%Y-%m-%d %H:%M}", style="bold red" if late else ""),
                         Text(pick(d.kind.replace("_", " "), duties.KIND_ZH.get(d.kind, d.kind))),
                         Text(d.person or role_label(d.responsible)), Text(pick(d.en, d.zh)), key=str(i))
        n_late = sum(1 for d in self.duties if d.late_since is not None)
        self.query_one("#duties-summary", Static).update(Text(
            _("Duties this week: {n} ({late} late)").format(n=len(self.duties), late=n_late), style="bold"))
