"""Approvals (审批): the requests waiting for a decision, and the decision itself, at the counter.

An approver signed in sees every pending request; anyone else (the clerk) sees the requests they raised, pending or
decided, with the reason of a denial. A request is approved (`a`) or denied (`d`, with a reason) through
`services.approvals.decide`: by the operator when they hold an approving role, otherwise by an approver standing at
the counter who identifies in a second-person dialog (badge + PIN). Who may sign is the register's decision
(`rules.check_decision`: the matrix's roles, clearance R-159, never one's own request R-25); a refusal is shown
whole, with its rules. This screen reads on a worker thread and never decides anything itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from labels.codes import CodeError, parse_badge_code
from tracker.domain import DomainError
from tracker.services import approvals
from tracker.services.approvals import RequestView
from tracker.services.common import Refused, Signed, authenticate
from tui import lookups
from tui.context import AppContext
from tui.i18n import N_, _, pick
from tui.lookups import DecisionView
from tui.screens.base import TO_COUNTER, DeskScreen
from tui.screens.dialogs import DecisionDialog, DecisionForm, purpose_label
from tui.widgets.keybar import KeyBar
from tui.widgets.topbar import TopBar
from tui.workers import off_ui

APPROVING_ROLES = frozenset({"approver", "office_leader", "committee"})
STATUS_STYLES = {"pending": "bold yellow", "granted": "bold green", "denied": "bold red"}


def status_label(status: str) -> str:
    return {"pending": _("pending"), "granted": _("granted"), "denied": _("denied")}.get(status, status)


@dataclass(frozen=True)
class RequestRow:
    """A request with the names the screen shows and the decisions so far."""

    view: RequestView
    names: dict[str, str]
    decisions: tuple[DecisionView, ...]

    def name(self, badge: str | None) -> str:
        return self.names.get(badge or "", badge or "—")


def read_requests(ctx: AppContext, approver: bool) -> list[RequestRow]:
    """Pending requests for an approver; the operator's own requests for anyone else, newest first, decided ones
    too, so a clerk sees a denial and its reason."""
    store, actor = ctx.store, ctx.actor
    if approver:
        views = approvals.views(store.uow(readonly=True), status="pending")
    else:
        with store.uow(readonly=True) as uow:
            mine = lookups.requested_by(uow, actor.badge) if actor else []
        views = approvals.views(store.uow(readonly=True), ids=mine) if mine else []
    with store.uow(readonly=True) as uow:
        names = lookups.names(uow, [b for v in views for b in (v.requester, v.grantee) if b])
        decided = lookups.decisions(uow, [v.id for v in views])
    return [RequestRow(v, names, decided.get(v.id, ())) for v in views]


class ApprovalsScreen(DeskScreen):
    screen_name = "approvals"
    BINDINGS = [  # noqa: RUF012
        Binding("a", "decide(True)", N_("Approve")),
        Binding("d", "decide(False)", N_("Deny")),
        Binding("r", "refresh", N_("Refresh")),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.rows: list[RequestRow] = []
        self.busy = False
        self.outcome: str | None = None  # the last decision's status, or "refused"/"error" (for tests and the bell)

    @property
    def approver(self) -> bool:
        return bool(self.ctx.operator_roles & APPROVING_ROLES)

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Approvals"))
        yield Static("", id="approvals-summary", markup=False)
        table: DataTable[Any] = DataTable(id="requests", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="request-detail", markup=False)
        yield KeyBar()

    async def on_mount(self) -> None:
        table = self.query_one("#requests", DataTable)
        # 60 cells of columns + 16 of padding + a scrollbar: the whole row fits in 80 columns.
        table.add_column("#", key="id", width=3)
        table.add_column(_("Purpose"), key="purpose", width=9)
        table.add_column(_("Carriers"), key="carriers", width=12)
        table.add_column(_("For"), key="for", width=6)
        table.add_column(_("By"), key="by", width=6)
        table.add_column(_("Until"), key="until", width=11)
        table.add_column(_("Signed"), key="signed", width=6)
        table.add_column(_("State"), key="status", width=7)
        table.focus()
        await self.action_refresh()

    async def action_refresh(self) -> None:
        ctx, approver = self.ctx, self.approver
        try:
            self.rows = await off_ui(self.app.reads, read_requests, ctx, approver)  # type: ignore[attr-defined]
        except DomainError as e:
            self._say(pick(e.en, e.zh), "bold red")
            return
        self._fill()

    def _fill(self) -> None:
        table = self.query_one("#requests", DataTable)
        table.clear()
        tz = self.ctx.store.policy.tz
        for r in self.rows:
            v = r.view
            carriers = v.carriers[0] + (f"+{len(v.carriers) - 1}" if len(v.carriers) > 1 else "") \
                if v.carriers else "—"
            table.add_row(Text(str(v.id)), Text(purpose_label(v.purpose)), Text(carriers), Text(r.name(v.grantee)),
                          Text(r.name(v.requester)), Text(f"{v.valid_until.astimezone(tz):%m-%d %H:%M}"),
                          Text(f"{len(v.approvers)}/{v.needed}"),
                          Text(status_label(v.status), style=STATUS_STYLES.get(v.status, "")), key=str(v.id))
        if self.approver:
            summary = _("{n} request(s) waiting for a decision.").format(n=len(self.rows)) if self.rows \
                else _("No request is waiting for a decision.")
        else:
            summary = _("Your requests: {n}. An approver at the counter signs with a (approve) or d (deny).").format(
                n=len(self.rows)) if self.rows else _("You have raised no request.")
        self.query_one("#approvals-summary", Static).update(Text(summary, style="bold"))
        if self.rows:
            self._show_detail(self.rows[min(table.cursor_row, len(self.rows) - 1)])
        else:
            self.query_one("#request-detail", Static).update("")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        row = self._row(event.row_key.value)
        if row is not None and not self.busy:
            self._show_detail(row)

    def _row(self, key: str | None) -> RequestRow | None:
        return next((r for r in self.rows if str(r.view.id) == key), None)

    def selected(self) -> RequestRow | None:
        table = self.query_one("#requests", DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def _show_detail(self, r: RequestRow) -> None:
        v = r.view
        tz = self.ctx.store.policy.tz
        text = Text()
        text.append(f"#{v.id} {purpose_label(v.purpose)}  ", style="bold")
        text.append(", ".join(v.carriers))
        text.append("\n" + _("For {who}; requested by {by}; until {until}").format(
            who=f"{v.grantee or '—'} {r.name(v.grantee) if v.grantee else ''}".strip(),
            by=f"{v.requester or '—'} {r.name(v.requester) if v.requester else ''}".strip(),
            until=f"{v.valid_until.astimezone(tz):%Y-%m-%d %H:%M}"))
        if v.change:
            # What a role, clearance or policy change asks for: the approver reads it before signing.
            asked = ", ".join(f"{k}={val}" for k, val in sorted(v.change.items()) if val is not None)
            text.append("\n" + _("Asks for: {change}").format(change=asked), style="bold")
        if v.note:
            text.append("\n" + _("Note: {note}").format(note=v.note))
        for d in r.decisions:
            if d.decision == "approve":
                text.append("\n" + _("Signed by {badge} {name}").format(badge=d.badge, name=d.name), style="green")
            else:
                text.append("\n" + _("Denied by {badge} {name}: {reason}").format(badge=d.badge, name=d.name,
                                                                                   reason=d.reason), style="bold red")
        self.query_one("#request-detail", Static).update(text)

    def _say(self, message: str, style: str = "") -> None:
        self.query_one("#request-detail", Static).update(Text(message, style=style))

    def action_decide(self, approve: bool) -> None:
        if self.busy:
            return
        row = self.selected()
        if row is None:
            self._say(_("No request selected."), "bold red")
            self.app.bell()
            return
        if row.view.status != "pending":
            self._say(_("Request #{id} is already {status}.").format(id=row.view.id,
                                                                    status=status_label(row.view.status)), "bold red")
            self.app.bell()
            return
        if self.approver and approve:
            self.run_worker(self._decide(row.view.id, DecisionForm(True)), exclusive=True)
            return
        verb = _("Approve request #{id}") if approve else _("Deny request #{id}")
        summary = f"{purpose_label(row.view.purpose)}: {', '.join(row.view.carriers)} → " \
                  f"{row.view.grantee or '—'} {row.name(row.view.grantee) if row.view.grantee else ''}"

        def done(form: DecisionForm | None) -> None:
            if form is not None:
                self.run_worker(self._decide(row.view.id, form), exclusive=True)

        self.app.push_screen(DecisionDialog(verb.format(id=row.view.id), summary, approve, not self.approver), done)

    async def _decide(self, approval_id: int, form: DecisionForm) -> None:
        """Sign (as the operator, or as the second person) and decide, on the register's write thread."""
        store, operator = self.ctx.store, self.ctx.actor
        if operator is None:
            return
        self.busy = True
        self.outcome = None
        self._say(_("Checking…"))

        def run() -> tuple[str, str]:
            signer: Signed = operator
            if form.badge is not None:
                signer = authenticate(store.uow(), parse_badge_code(form.badge).text, form.pin or "")
            return signer.badge, approvals.decide(store.uow(), signer, approval_id, form.approve, form.reason)

        try:
            who, status = await off_ui(self.app.db, run)  # type: ignore[attr-defined]
        except Refused as e:
            self._fail(_("Refused: {rules}").format(rules=", ".join(e.rules)) + "\n" + e.message(self.ctx.lang))
            return
        except DomainError as e:
            self._fail(pick(e.en, e.zh))
            return
        except CodeError as e:
            self._fail(pick(e.message_en, e.message_zh))
            return
        finally:
            self.busy = False
        await self.action_refresh()
        if status == "granted":
            message = _("Request #{id} granted ({who}): the counter uses it when the carrier is scanned.")
        elif status == "denied":
            message = _("Request #{id} denied ({who}): {reason}")
        else:
            message = _("Request #{id} signed by {who}; it needs more approvers.")
        # The outcome goes on the summary line: the panel below follows the cursor, which the refresh may move.
        self.query_one("#approvals-summary", Static).update(Text(
            message.format(id=approval_id, who=who, reason=form.reason),
            style="bold green" if status != "denied" else "bold"))
        self.outcome = status  # last: whoever waits for the outcome finds the screen already saying it

    def _fail(self, message: str) -> None:
        self.outcome = "refused"
        self._say(message, "bold red")
        self.app.bell()
