"""Print runs at the print room (印制), reached from the register screen: complete an approved run.

The screen lists the runs waiting to be printed (requested, with their approval's state); the printer picks one
(Ctrl+N / Ctrl+P), types the copies printed, scans or types the proof-reader's badge and the counted by-products, and
Ctrl+S registers the copies numbered and the by-products in one call to `tracker.services.printruns.complete` on the
register's write thread; Ctrl+L then saves the copies' labels (one PDF each). Requesting a run stays with
`tracker print-run new` and its approval with the approvals screen or `tracker print-run approve`. This screen never
decides anything itself: refusals (more copies than approved, R-29) come from the rulebook as they are.

Its texts are chosen with `pick` in both languages (not the gettext catalog), so the screen stands on its own file.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Input, Label, Static

from labels.codes import CodeError, classify_code, parse_badge_code
from tracker import queries
from tracker.domain import DomainError
from tracker.services import printruns
from tracker.services.common import Refused
from tracker.services.printruns import Completion, RunView
from tui import printing
from tui.context import AppContext
from tui.i18n import pick, relabel_bindings
from tui.screens.base import DeskScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.scan_field import ScanField
from tui.widgets.topbar import TopBar
from tui.workers import off_ui

_KEYS = {"Print": "印制登记", "Labels": "标签", "Next run": "下一印制单", "Previous run": "上一印制单", "Back": "返回"}
FIELDS = (("copies", "Copies printed", "印制份数", "5"),
          ("reader", "Proof-reader badge", "校对人工号", "B-BJ-…"),
          ("byproducts", "By-products", "副产品", "sheets=12,proofs=3,plates=2,discs=0"),
          ("room", "Print room", "文印室", "机要室文印室"))


class PrintRunScreen(DeskScreen):
    screen_name = "print-run"
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+s", "complete", "Print", priority=True),
        Binding("ctrl+l", "labels", "Labels", priority=True),
        Binding("ctrl+n", "step(1)", "Next run", priority=True),
        Binding("ctrl+p", "step(-1)", "Previous run", priority=True),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        relabel_bindings(self, {en: pick(en, zh) for en, zh in _KEYS.items()})
        self.runs: list[RunView] = []
        self.index = 0
        self.done: Completion | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, pick("Print runs", "印制"))
        yield Static("", id="run-head", markup=False)
        with VerticalScroll(id="run-form"):
            for key, en, zh, hint in FIELDS:
                with Horizontal(classes="form-row"):
                    yield Label(pick(en, zh))
                    yield ScanField(placeholder=hint, id=f"run-{key}", gap=getattr(self.app, "wedge_gap", 0.03))
        yield Static("", id="run-result", markup=False)
        yield KeyBar()

    async def on_mount(self) -> None:
        self.query_one("#run-copies", ScanField).focus()
        await self.refresh_runs()

    async def refresh_runs(self) -> None:
        store = self.ctx.store

        def read() -> list[RunView]:
            with store.uow(readonly=True) as uow:
                return printruns.runs(uow, "requested")

        self.runs = await off_ui(self.app.reads, read)  # type: ignore[attr-defined]
        self.runs.sort(key=lambda r: (r.approval_status != "granted", r.id))
        self.index = min(self.index, max(len(self.runs) - 1, 0))
        self._show()

    def _show(self) -> None:
        head = self.query_one("#run-head", Static)
        if not self.runs:
            head.update(Text(pick("No print run is waiting (tracker print-run new).",
                                  "没有待印制的印制单（tracker print-run new）。"), style="bold"))
            return
        r = self.runs[self.index]
        spread = "; ".join(f"{w}:{n}" for w, n in r.distribution)
        head.update(Text(pick(
            f"Print run #{r.id} {r.doc_number} {r.title} — {r.classification}, {r.copies} copies for {spread}; "
            f"approval #{r.approval_id} {r.approval_status} ({', '.join(r.approvers) or '-'}); into {r.location}",
            f"印制单 #{r.id} {r.doc_number} {r.title} — {r.classification}，{r.copies} 份，发放 {spread}；审批 "
            f"#{r.approval_id} {r.approval_status}（{'、'.join(r.approvers) or '-'}）；登记入 {r.location}"),
            style="bold"))

    async def action_step(self, by: int) -> None:
        if self.runs:
            self.index = (self.index + by) % len(self.runs)
            self._show()

    @on(ScanField.Scanned, "#run-reader")
    def _reader_scanned(self, event: ScanField.Scanned) -> None:
        event.stop()
        try:
            if classify_code(event.code) == "badge":
                event.field.value = parse_badge_code(event.code).text
        except CodeError as e:
            self._say(pick(e.message_en, e.message_zh), "bold #ffffff on #c00000")
            return
        self.query_one("#run-byproducts", ScanField).focus()

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        keys = [k for k, *_rest in FIELDS]
        current = (event.input.id or "run-").removeprefix("run-")
        if current in keys and current != keys[-1]:
            self.query_one(f"#run-{keys[keys.index(current) + 1]}", ScanField).focus()

    def _value(self, key: str) -> str:
        return self.query_one(f"#run-{key}", ScanField).value.strip()

    def _form(self) -> tuple[int, str, dict[str, int], str]:
        if not self._value("copies").isdigit():
            raise DomainError("Type the number of copies printed.", "请填写实际印制份数。")
        counts: dict[str, int] = {}
        for item in (i.strip() for i in self._value("byproducts").replace(";", ",").split(",")):
            if not item:
                continue
            name, _sep, n = item.partition("=")
            if not n.strip().isdigit():
                raise DomainError(f"Cannot read the by-products {item!r}: write sheets=12,plates=2.",
                                  f"无法识别副产品 {item!r}：请写作 sheets=12,plates=2。")
            counts[name.strip()] = int(n)
        return int(self._value("copies")), self._value("reader"), counts, self._value("room")

    async def action_complete(self) -> None:
        actor = self.ctx.actor
        if actor is None or not self.runs:
            return
        run = self.runs[self.index]
        store = self.ctx.store
        try:
            copies, reader, counts, room = self._form()
            done = await off_ui(self.app.db,  # type: ignore[attr-defined]
                                lambda: printruns.complete(store.uow(), actor, run.id, copies, reader, counts, room,
                                                           site=self.ctx.settings.site))
        except Refused as e:
            self._say(e.message(self.ctx.lang), "bold #ffffff on #c00000")
            self.app.bell()
            return
        except DomainError as e:
            self._say(pick(e.en, e.zh), "bold #ffffff on #c00000")
            self.app.bell()
            return
        self.done = done
        last = done.first + len(done.copies) - 1
        self._say(pick(f"Registered copies {done.first}–{last} of {done.total}: {', '.join(done.copies)}; "
                       f"by-products {done.byproducts} locked away until destroyed. Ctrl+L saves the labels.",
                       f"已登记第{done.first}–{last}份（共{done.total}份）：{'、'.join(done.copies)}；副产品 "
                       f"{done.byproducts} 已封存待销毁。Ctrl+L 保存标签。"), "bold green")
        await self.refresh_runs()

    async def action_labels(self) -> None:
        done, ctx = self.done, self.ctx
        if done is None:
            self._say(pick("Register a run first (Ctrl+S).", "请先完成印制登记（Ctrl+S）。"), "bold")
            return
        codes = [*done.copies, done.byproducts]

        def render() -> list[str]:
            with ctx.store.uow(readonly=True) as uow:
                views = [v for v in (queries.carrier(uow, c) for c in codes) if v is not None]
            return [str(printing.save(ctx.output_dir, f"label-{v.code}.pdf", printing.label_pdf(v))) for v in views]

        try:
            paths = await off_ui(self.app.reads, render)  # type: ignore[attr-defined]
        except (printing.PrintError, DomainError) as e:
            self._say(pick(e.en, e.zh), "bold #ffffff on #c00000")
            self.app.bell()
            return
        self._say(pick(f"{len(paths)} label(s) saved.", f"已保存 {len(paths)} 张标签。"), "bold green")

    def action_back(self) -> None:
        self.app.pop_screen()

    def _say(self, text: str, style: str) -> None:
        self.query_one("#run-result", Static).update(Text(text, style=style))
