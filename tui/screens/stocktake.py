"""Stock-take screen (清查): live progress per place — expected, seen, missing — while reads come in.

A keyboard-wedge scanner (or typing) feeds the open stock-take through `tracker.stocktake.LiveIngest`: a
location code sets the place, a badge sets "with this holder", carrier codes and tags follow. After each scan, and
every few seconds for reads arriving from other handhelds and uploads, the screen reconciles and redraws the table.
Database work runs on one worker thread of the screen's own, in order, so the UI never blocks and scans never swap
places. The screen only calls the stock-take services; it never writes the database itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Static

from drivers.reads import Read, ReadKind
from labels import codes
from tracker import stocktake as st
from tracker.domain import DomainError
from tracker.services.common import Refused
from tui.context import AppContext
from tui.i18n import relabel_bindings
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar

T = TypeVar("T")
_KEYS_ZH = {"Refresh": "刷新", "Next stock-take": "下一清查", "Counter": "柜台"}
REFRESH_SECONDS = 5.0
_PARSERS: dict[str, Callable[[str], object]] = {
    "carrier": codes.parse_carrier_code, "location": codes.parse_location_code, "badge": codes.parse_badge_code}


class StocktakeScreen(Screen[None]):
    screen_name = "stocktake"
    BINDINGS = [  # noqa: RUF012
        Binding("f5", "refresh", "Refresh"),
        Binding("ctrl+n", "next_session", "Next stock-take"),
        Binding("escape", "app.open('counter')", "Counter"),
    ]
    DEFAULT_CSS = """
    #st-session { height: 2; padding: 0 1; }
    #st-feedback { height: 2; padding: 0 1; }
    #st-feedback.bad { color: $error; }
    #st-places { height: 1fr; }
    """

    def __init__(self, ctx: AppContext, session_id: int | None = None, device: str | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        if ctx.lang == "zh":
            relabel_bindings(self, _KEYS_ZH)  # this screen's key names are not in the counter's catalog
        self.session_id = session_id
        self.device = device or f"{ctx.settings.terminal}-wedge"
        self.live: st.LiveIngest | None = None
        self.places: list[st.LocationProgress] = []
        self.message = ""
        self._db = ThreadPoolExecutor(1, thread_name_prefix="stocktake-screen")
        self._refreshing = False
        self._cost = 0.0  # seconds the last reconciliation took
        self._last = 0.0

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, self.ctx.t("Stock-take", "清查"))
        yield Static("", id="st-session", markup=False)
        yield ScanField(placeholder=self.ctx.t("Scan a location, then its carriers", "先扫位置码，再扫载体"),
                        id="st-scan")
        yield Static("", id="st-feedback", markup=False)
        table: DataTable[Any] = DataTable(id="st-places", zebra_stripes=True, cursor_type="row")
        table.add_columns(*[self.ctx.t(en, zh) for en, zh in (
            ("Place", "位置"), ("Name", "名称"), ("Visited", "已清点"), ("Expected", "应有"), ("Seen", "已见"),
            ("Missing", "未找到"), ("Misplaced", "错放"), ("Not covered", "未清点"), ("Other", "其他"))])
        yield table
        yield KeyBar()

    async def on_mount(self) -> None:
        await self._choose_session(self.session_id)
        self.set_interval(REFRESH_SECONDS, self._tick)

    def on_unmount(self) -> None:
        self._db.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn)

    # -- session ---------------------------------------------------------------------------------------------------

    async def _choose_session(self, wanted: int | None) -> None:
        store = self.ctx.store
        sessions = await self._run(lambda: st.list_sessions(store.uow(readonly=True)))
        open_ = [s for s in sessions if s[2] == "open"]
        if wanted is None and open_:
            wanted = open_[-1][0]
        self.session_id = wanted
        self.live = None
        if wanted is not None and self.ctx.actor is not None:
            actor, sid, device = self.ctx.actor, wanted, self.device
            batch = f"{device}-{store.clock():%Y%m%d}-{actor.badge}"
            self.live = await self._run(lambda: st.LiveIngest(store, actor, sid, device, batch))
        await self.refresh_progress()

    async def action_next_session(self) -> None:
        sessions = await self._run(lambda: st.list_sessions(self.ctx.store.uow(readonly=True)))
        ids = [s[0] for s in sessions if s[2] == "open"]
        if not ids:
            return
        nxt = ids[(ids.index(self.session_id) + 1) % len(ids)] if self.session_id in ids else ids[0]
        await self._choose_session(nxt)

    # -- scans -----------------------------------------------------------------------------------------------------

    async def on_scan_field_scanned(self, event: ScanField.Scanned) -> None:
        event.stop()
        await self.scan(event.code)

    async def on_input_submitted(self, event: Any) -> None:
        """Typed codes (Enter) count as a person's scan too."""
        code = str(getattr(event, "value", "")).strip()
        field = self.query_one("#st-scan", ScanField)
        field.value = ""
        if code:
            await self.scan(code)

    async def scan(self, code: str) -> None:
        live = self.live
        if live is None:
            self._say(self.ctx.t("No open stock-take: start one with `tracker stocktake start`.",
                                 "没有进行中的清查：请用 `tracker stocktake start` 开始。"), bad=True)
            return
        text = codes.normalize(code)
        refusal = self._malformed(text)
        if refusal is not None:  # never stored: a misread or a stray word is not a read of anything
            self._say(refusal, bad=True)
            return
        kind = ReadKind.EPC if codes.classify_code(text) == "epc" else ReadKind.BARCODE
        read = Read(text, kind=kind, device=self.device, at=self.ctx.store.clock())
        try:
            await self._run(lambda: live.add(read))
        except Refused as e:
            self._say(e.message(self.ctx.lang), bad=True)
            return
        except DomainError as e:
            self._say(e.message(self.ctx.lang), bad=True)
            return
        if codes.classify_code(text) == "location":
            self._say(self.ctx.t(f"Place: {text}", f"当前位置：{text}"))
        elif codes.classify_code(text) == "badge":
            self._say(self.ctx.t(f"With holder: {text}", f"持有人：{text}"))
        else:
            self._say(self.ctx.t(f"Read {text}", f"已读取 {text}"))
        if self._cost < 1.0:  # a big stock-take reconciles on the timer instead, not after every scan
            await self.refresh_progress()

    def _malformed(self, text: str) -> str | None:
        """Why `text` is not a well-formed code (in the operator's language), or None when it is one.

        The same check characters as the counter: a code with a wrong one is a misread, and storing it would make the
        stock-take report a carrier or a place nobody scanned."""
        kind = codes.classify_code(text)
        if kind == "epc":
            return None
        try:
            if kind in _PARSERS:
                _PARSERS[kind](text)
                return None
            # no kind's shape: name the kind it looks most like, so a wrong check is not told "not a code"
            for prefix, parse in (("LOC-", codes.parse_location_code), ("B-", codes.parse_badge_code)):
                if text.startswith(prefix):
                    parse(text)
            return self.ctx.t(
                f"{text!r} is not a carrier, place or badge code, nor a tag's EPC: nothing stored; scan it again",
                f"{text!r} 不是载体码、位置码、证件码或标签 EPC：未记录；请重新扫描")
        except codes.CodeError as e:
            return self.ctx.t(f"{e.message_en}: nothing stored", f"{e.message_zh}：未记录")

    def _say(self, message: str, bad: bool = False) -> None:
        self.message = message
        feedback = self.query_one("#st-feedback", Static)
        feedback.set_class(bad, "bad")
        feedback.update(Text(message))

    # -- progress --------------------------------------------------------------------------------------------------

    async def _tick(self) -> None:
        """Reconcile on the timer, but never spend more than a quarter of the time reconciling."""
        if not self._refreshing and time.monotonic() - self._last >= max(REFRESH_SECONDS, 4 * self._cost):
            await self.refresh_progress()

    async def action_refresh(self) -> None:
        await self.refresh_progress()

    async def refresh_progress(self) -> None:
        """Reconcile (when the operator may) and show the progress per place."""
        sid = self.session_id
        header = self.query_one("#st-session", Static)
        if sid is None:
            header.update(Text(self.ctx.t("No open stock-take.", "没有进行中的清查。")))
            self._fill([])
            return
        self._refreshing = True
        started = time.monotonic()
        store, actor = self.ctx.store, self.ctx.actor
        try:
            def work() -> tuple[st.SessionView, list[st.LocationProgress], str]:
                note = ""
                if actor is not None:
                    try:
                        view = st.session_view(store.uow(readonly=True), sid)
                        if view.status == "open":
                            st.reconcile(store.uow(), actor, sid)
                    except Refused as e:
                        note = e.message(self.ctx.lang)
                return (st.session_view(store.uow(readonly=True), sid), st.progress(store.uow(readonly=True), sid),
                        note)

            view, places, note = await self._run(work)
        except DomainError as e:
            header.update(Text(e.message(self.ctx.lang)))
            return
        finally:
            self._refreshing = False
            self._last = time.monotonic()
            self._cost = self._last - started
        seen = sum(p.seen for p in places)
        expected = sum(p.expected for p in places)
        missing = sum(p.missing for p in places)
        header.update(Text(self.ctx.t(
            f"#{view.id} {view.name} ({view.status}) — expected {expected}, seen {seen}, missing {missing}, "
            f"reads {view.reads}, unresolved {view.unresolved}  [{self._hhmm(view.reconciled_at)}]",
            f"#{view.id} {view.name}（{'进行中' if view.status == 'open' else '已结束'}）— 应有 {expected}，"
            f"已见 {seen}，未找到 {missing}，读取 {view.reads}，未处理 {view.unresolved}  "
            f"[{self._hhmm(view.reconciled_at)}]") + (f"\n{note}" if note else "")))
        self._fill(places)

    def _hhmm(self, moment: datetime | None) -> str:
        """When the table was last reconciled, in the unit's time zone like the top bar."""
        return f"{moment.astimezone(self.ctx.store.policy.tz):%H:%M:%S}" if moment else "—"

    def _fill(self, places: list[st.LocationProgress]) -> None:
        self.places = places
        table = self.query_one("#st-places", DataTable)
        table.clear()
        yes, no = self.ctx.t("yes", "是"), self.ctx.t("no", "否")
        for p in places:
            style = "bold red" if p.missing else ("yellow" if not p.visited else "")
            table.add_row(Text(p.code, style=style), Text(p.name), yes if p.visited else no, str(p.expected),
                          str(p.seen), Text(str(p.missing), style="bold red" if p.missing else ""),
                          str(p.misplaced), str(p.not_covered), str(p.unexplained), key=p.code)

