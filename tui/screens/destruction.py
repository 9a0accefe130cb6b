"""Destruction (销毁): the batches, the list of the one chosen, and the scan at the destruction site.

At the site the clerk scans every listed carrier (barcode through the wedge, or typed + Enter); each scan is recorded
at once through `tracker.services.destruction.scan` on the register's write thread, so a half-scanned batch survives
a restart, and the list shows what is still missing and what was scanned that is not listed. Building the list, the
approval and the completion under two supervisors stay with `tracker destruction` at the registry desk. This screen
never decides anything itself: refusals come from the rulebook and are shown as they are.

Its texts are chosen with `pick` in both languages (not the gettext catalog), so the screen stands on its own file.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from tracker.domain import DomainError
from tracker.services import destruction
from tracker.services.common import Refused
from tracker.services.destruction import BatchView
from tui.context import AppContext
from tui.i18n import pick, relabel_bindings
from tui.screens.base import TO_COUNTER, ScanDeskScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar
from tui.workers import off_ui

_KEYS = {"Next batch": "下一批次", "Previous batch": "上一批次", "Refresh": "刷新"}


class DestructionScreen(ScanDeskScreen):
    scan_id = "destruction-scan"
    screen_name = "destruction"
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+n", "step(1)", "Next batch"),
        Binding("ctrl+p", "step(-1)", "Previous batch"),
        Binding("f5", "refresh", "Refresh"),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        relabel_bindings(self, {en: pick(en, zh) for en, zh in _KEYS.items()})
        self.batches: list[dict[str, Any]] = []
        self.index = 0
        self.view: BatchView | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, pick("Destruction", "销毁"))
        yield Static("", id="destruction-batch", markup=False)
        yield ScanField(placeholder=pick("Scan each listed carrier at the destruction site",
                                         "在销毁现场逐件扫描清单内载体"),
                        id="destruction-scan", gap=getattr(self.app, "wedge_gap", 0.03))
        yield Static("", id="destruction-result", markup=False)
        table: DataTable[Any] = DataTable(id="destruction-items", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyBar()

    async def on_mount(self) -> None:
        table = self.query_one("#destruction-items", DataTable)
        for key, en, zh, width in (("code", "Carrier", "载体", 12), ("doc", "Doc number", "文件编号", 18),
                                   ("copy", "Copy", "份号", 6), ("kind", "Kind", "类型", 12),
                                   ("level", "Level", "密级", 8), ("scanned", "Scanned", "现场核对", 10)):
            table.add_column(pick(en, zh), key=key, width=width)
        table.add_column(pick("Title", "标题"), key="title")
        self.query_one("#destruction-scan", ScanField).focus()
        await self.action_refresh()

    async def action_refresh(self) -> None:
        store = self.ctx.store

        def read() -> list[dict[str, Any]]:
            with store.uow(readonly=True) as uow:
                return [b for b in destruction.batches(uow) if b["status"] != "completed"]

        try:
            self.batches = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        except DomainError as e:
            self._say(pick(e.en, e.zh), "bold red")
            return
        # The batch at the site is the approved one: show submitted batches first.
        self.batches.sort(key=lambda b: (b["status"] != "submitted", -b["id"]))
        self.index = min(self.index, max(len(self.batches) - 1, 0))
        await self._show()

    async def action_step(self, by: int) -> None:
        if self.batches:
            self.index = (self.index + by) % len(self.batches)
            await self._show()

    async def _show(self) -> None:
        head = self.query_one("#destruction-batch", Static)
        table = self.query_one("#destruction-items", DataTable)
        table.clear()
        if not self.batches:
            self.view = None
            head.update(Text(pick("No destruction batch is waiting.", "没有待销毁的批次。"), style="bold"))
            return
        store, number = self.ctx.store, int(self.batches[self.index]["id"])

        def read() -> BatchView:
            with store.uow(readonly=True) as uow:
                return destruction.view(uow, number)

        try:
            v = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        except DomainError as e:
            self._say(pick(e.en, e.zh), "bold red")
            return
        self.view = v
        left, extras = len(v.unscanned), [c for c, aside in v.extras if aside is None]
        head.update(Text(pick(
            f"Batch #{v.id} {v.name} — {v.status}, approval #{v.approval_id or '-'} ({v.approval_status or '-'}); "
            f"{len(v.items) - left}/{len(v.items)} scanned" + (f"; not listed: {', '.join(extras)}" if extras else ""),
            f"销毁批次 #{v.id} {v.name} — {destruction.STATUS_ZH.get(v.status, v.status)}，审批 #{v.approval_id or '-'}"
            f"（{v.approval_status or '-'}）；已核对 {len(v.items) - left}/{len(v.items)}"
            + (f"；清单外：{'、'.join(extras)}" if extras else "")), style="bold"))
        for i in v.items:
            done = i.scanned_at is not None
            table.add_row(Text(i.code), Text(i.doc_number or ""),
                          Text(f"{i.copy_number}/{i.copy_total}" if i.copy_number else ""), Text(i.kind),
                          Text(i.level), Text(pick("yes", "已核对") if done else pick("no", "未核对"),
                                              style="bold green" if done else "bold #000000 on #ffd700"),
                          Text(i.title), key=i.code)

    async def take(self, text: str) -> None:
        await self.record(text)

    async def record(self, code: str) -> None:
        """Record one scan against the batch shown; a refusal (not approved, completed) is shown, never hidden."""
        actor, view = self.ctx.actor, self.view
        if actor is None or view is None:
            return
        store = self.ctx.store
        try:
            got = await off_ui(self.app.db,  # type: ignore[attr-defined]
                               lambda: destruction.scan(store.uow(), actor, view.id, [code]))
        except Refused as e:
            self._say(e.message(self.ctx.lang), "bold red")
            self.app.bell()
            return
        except DomainError as e:
            self._say(pick(e.en, e.zh), "bold red")
            self.app.bell()
            return
        if got.extras:
            self._say(pick(f"{code} is NOT on this batch's list: take it away and set it aside.",
                           f"{code} 不在本批次清单内：请移出并登记。"), "bold #ffffff on #c00000")
            self.app.bell()
        else:
            self._say(pick(f"{got.matched[0]} checked.", f"{got.matched[0]} 已核对。"), "bold green")
        await self._show()

    def _say(self, text: str, style: str) -> None:
        self.query_one("#destruction-result", Static).update(Text(text, style=style))
