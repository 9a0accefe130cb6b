"""The meeting desk (涉密会议): issue documents to attendees and collect them back, with a scanner.

To issue, the clerk scans an attendee's badge; the attendee signs with their PIN (the sign-in, R-127); every copy
scanned after that is issued to them at once, one call to `tracker.services.meetings.issue` per scan on the
register's write thread, so each hop is its own ledger event naming both. F3 switches to collecting: every copy
scanned is taken back into the place it came from. The list shows each document and how it stands. Opening a
meeting, registering a kept copy, reporting a loss and closing stay with `tracker meeting` at the registry desk.
This screen never decides anything itself: refusals come from the rulebook and are shown as they are.

Its texts are chosen with `pick` in both languages (not the gettext catalog), so the screen stands on its own file.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from labels.codes import CodeError, classify_code, parse_badge_code, parse_carrier_code
from tracker.domain import DomainError
from tracker.services import meetings
from tracker.services.common import Refused, Signed, authenticate
from tracker.services.meetings import MeetingView
from tui.context import AppContext
from tui.i18n import pick, relabel_bindings
from tui.screens.base import TO_COUNTER, ScanDeskScreen
from tui.screens.dialogs import PinDialog
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar
from tui.workers import off_ui

_KEYS = {"Issue": "发放", "Collect": "收回", "Next meeting": "下一会议", "Previous meeting": "上一会议",
         "Refresh": "刷新"}
_OUTCOME = {None: ("out", "未收回"), "collected": ("collected", "已收回"), "kept": ("kept", "登记留存"),
            "missing": ("missing", "下落不明")}


class MeetingScreen(ScanDeskScreen):
    scan_id = "meeting-scan"
    screen_name = "meeting"
    BINDINGS = [  # noqa: RUF012
        Binding("f2", "mode('issue')", "Issue"),
        Binding("f3", "mode('collect')", "Collect"),
        Binding("ctrl+n", "step(1)", "Next meeting"),
        Binding("ctrl+p", "step(-1)", "Previous meeting"),
        Binding("f5", "refresh", "Refresh"),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        relabel_bindings(self, {en: pick(en, zh) for en, zh in _KEYS.items()})
        self.ids: list[int] = []
        self.index = 0
        self.view: MeetingView | None = None
        self.mode = "issue"
        self.attendee: Signed | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, pick("Meeting desk", "会议材料"))
        yield Static("", id="meeting-head", markup=False)
        yield Static("", id="meeting-mode", markup=False)
        yield ScanField(placeholder=pick("Scan the attendee's badge, then the copies",
                                         "先扫描参会人胸卡，再扫描材料"),
                        id="meeting-scan", gap=getattr(self.app, "wedge_gap", 0.03))
        yield Static("", id="meeting-result", markup=False)
        table: DataTable[Any] = DataTable(id="meeting-materials", cursor_type="row", zebra_stripes=True)
        yield table
        yield KeyBar()

    async def on_mount(self) -> None:
        table = self.query_one("#meeting-materials", DataTable)
        for key, en, zh, width in (("code", "Copy", "材料", 12), ("doc", "Doc number", "文件编号", 18),
                                   ("copy", "No.", "份号", 6), ("level", "Level", "密级", 12),
                                   ("attendee", "Attendee", "领取人", 14)):
            table.add_column(pick(en, zh), key=key, width=width)
        table.add_column(pick("State", "状态"), key="outcome")
        self.query_one("#meeting-scan", ScanField).focus()
        self._show_mode()
        await self.action_refresh()

    # -- the meeting shown -------------------------------------------------------------------------------------------

    async def action_refresh(self) -> None:
        store = self.ctx.store

        def read() -> list[int]:
            with store.uow(readonly=True) as uow:
                return [m.id for m in meetings.meetings(uow, "open")]

        self.ids = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        self.index = min(self.index, max(len(self.ids) - 1, 0))
        await self._show()

    async def action_step(self, by: int) -> None:
        if self.ids:
            self.index = (self.index + by) % len(self.ids)
            self.attendee = None
            self._show_mode()
            await self._show()

    async def _show(self) -> None:
        head = self.query_one("#meeting-head", Static)
        table = self.query_one("#meeting-materials", DataTable)
        table.clear()
        if not self.ids:
            self.view = None
            head.update(Text(pick("No meeting is open (tracker meeting new).",
                                  "没有进行中的会议（tracker meeting new）。"), style="bold"))
            return
        store, number = self.ctx.store, self.ids[self.index]

        def read() -> MeetingView:
            with store.uow(readonly=True) as uow:
                return meetings.view(uow, number)

        v = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        self.view = v
        signed = sum(1 for a in v.attendees if a.signed_in_at is not None)
        head.update(Text(pick(
            f"Meeting #{v.id} {v.title} — {v.level} at {v.venue} {v.venue_name}; signed in {signed}/"
            f"{len(v.attendees)}; {len(v.materials)} issued, {len(v.outstanding)} out",
            f"会议 #{v.id} {v.title} — {v.level}，会场 {v.venue} {v.venue_name}；已签到 {signed}/{len(v.attendees)}；"
            f"已发放 {len(v.materials)} 份，未收回 {len(v.outstanding)} 份"), style="bold"))
        for m in v.materials:
            en, zh = _OUTCOME.get(m.outcome, (m.outcome or "", m.outcome or ""))
            if m.outcome is None and m.status == "missing":
                en, zh = _OUTCOME["missing"]
            table.add_row(Text(m.code), Text(m.doc_number or ""),
                          Text(f"{m.copy_number}/{m.copy_total}" if m.copy_number else ""), Text(m.level),
                          Text(m.attendee), Text(pick(en, zh), style="bold #000000 on #ffd700" if m.outcome is None
                                                 else "bold green"), key=m.code)

    # -- mode and attendee -------------------------------------------------------------------------------------------

    def action_mode(self, mode: str) -> None:
        self.mode = mode
        self.attendee = None
        self._show_mode()

    def _show_mode(self) -> None:
        if self.mode == "collect":
            text = pick("F3 Collecting: scan each copy handed back.", "F3 收回：逐份扫描交回的材料。")
        elif self.attendee is None:
            text = pick("F2 Issuing: scan the attendee's badge.", "F2 发放：请扫描参会人胸卡。")
        else:
            text = pick(f"F2 Issuing to {self.attendee.badge} (signed in): scan the copies.",
                        f"F2 正在向 {self.attendee.badge}（已签到）发放：请扫描材料。")
        self.query_one("#meeting-mode", Static).update(Text(text, style="bold"))

    async def take(self, text: str) -> None:
        """One scan: a badge names the attendee (who then signs), a carrier code is issued or collected."""
        try:
            kind = classify_code(text)
            if kind == "badge":
                if self.mode == "collect":
                    self.action_mode("issue")
                badge = parse_badge_code(text).text
                self.attendee = None
                self._show_mode()
                self._say(pick(f"{badge}: type your PIN and press Enter.", f"{badge}：请输入PIN并按回车。"), "bold")
                self.app.push_screen(PinDialog(pick("Sign-in", "签到"), badge), lambda pin: self._sign(badge, pin))
            elif kind == "carrier":
                await self._copy(parse_carrier_code(text).text)
            else:
                self._fail(pick(f"{text[:60]!r} is not a badge or a carrier code.",
                                f"{text[:60]!r} 不是胸卡或载体编号。"))
        except CodeError as e:
            self._fail(pick(e.message_en, e.message_zh))

    def _sign(self, badge: str, pin: str | None) -> None:
        if pin:
            self.run_worker(self._sign_async(badge, pin), group="meeting")

    async def _sign_async(self, badge: str, pin: str) -> None:
        store = self.ctx.store
        try:
            signed = await off_ui(self.app.db, lambda: authenticate(store.uow(), badge, pin))  # type: ignore[attr-defined]
        except DomainError as e:
            self._fail(pick(e.en, e.zh))
            return
        self.attendee = signed
        self._show_mode()
        self._say(pick(f"Signed in: {badge}", f"已签到：{badge}"), "bold green")

    async def _copy(self, code: str) -> None:
        actor, view = self.ctx.actor, self.view
        if actor is None or view is None:
            self._fail(pick("No meeting is open.", "没有进行中的会议。"))
            return
        store, attendee = self.ctx.store, self.attendee
        if self.mode == "issue" and attendee is None:
            self._fail(pick("Scan the attendee's badge first (R-127: sign-in).", "请先扫描参会人胸卡签到（R-127）。"))
            return
        try:
            if self.mode == "issue":
                assert attendee is not None
                await off_ui(self.app.db,  # type: ignore[attr-defined]
                             lambda: meetings.issue(store.uow(), actor, view.id, attendee, [code]))
                self._say(pick(f"{code} issued to {attendee.badge}.", f"{code} 已发给 {attendee.badge}。"),
                          "bold green")
            else:
                await off_ui(self.app.db,  # type: ignore[attr-defined]
                             lambda: meetings.collect(store.uow(), actor, view.id, [code]))
                self._say(pick(f"{code} collected.", f"{code} 已收回。"), "bold green")
        except Refused as e:
            self._fail(e.message(self.ctx.lang))
            return
        except DomainError as e:
            self._fail(pick(e.en, e.zh))
            return
        await self._show()

    def _fail(self, text: str) -> None:
        self._say(text, "bold #ffffff on #c00000")
        self.app.bell()

    def _say(self, text: str, style: str) -> None:
        self.query_one("#meeting-result", Static).update(Text(text, style=style))
