"""The registers (台账报表): every register of RULES §4 the register can print, for a period and optionally one unit,
saved as PDF, XLSX or CSV in the counter's output directory.

It lists the definitions (`tracker.reports.registers.REGISTERS`) and calls the one read and the one writer the
command line uses, off the UI thread; who may read which register is checked by the read itself (a refusal is shown
with its rule and is in the audit log, as every read is). It never queries the register or lays a register out.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Static

from tracker.domain import DomainError
from tracker.reports import registers
from tracker.reports.registers import Printed
from tracker.services.common import Refused, Signed
from tracker.store import Store
from tui.context import AppContext
from tui.i18n import N_, _, pick
from tui.screens.base import TO_COUNTER, DeskScreen
from tui.widgets.keybar import KeyBar
from tui.widgets.topbar import TopBar
from tui.workers import off_ui


def print_register(store: Store, actor: Signed, name: str, first: date, last: date, unit: str | None, lang: str,
                   fmt: str, directory: Path) -> tuple[Printed, Path]:
    """Read (permission, audit entry) and write, on a register thread."""
    printed = registers.read(store.uow(), actor, name, first, last, unit, lang, fmt)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{printed.register.name}_{first}_{last}.{fmt}"
    return printed, registers.write(printed, fmt, path)


class RegistersScreen(DeskScreen):
    screen_name = "registers"
    DEFAULT_CSS = """
    #registers-period { height: auto; }
    #registers-period Input { width: 1fr; }
    #registers { height: 1fr; }
    #registers-summary { height: auto; min-height: 2; }
    """
    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+s", "save", N_("Save register")),
        Binding("down", "cursor(1)", N_("Next"), show=False),
        Binding("up", "cursor(-1)", N_("Previous"), show=False),
        TO_COUNTER,
    ]

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ctx)
        self.names = list(registers.REGISTERS)
        self.saved: Path | None = None
        self.refused: Refused | None = None

    def compose(self) -> ComposeResult:
        yield TopBar(self.ctx, _("Registers"))
        today = self.ctx.store.clock().astimezone(self.ctx.store.policy.tz).date()  # the register's clock
        with Horizontal(id="registers-period"):
            yield Input(value=today.replace(day=1).isoformat(), placeholder=_("From (2026-01-01)"),
                        id="registers-from")
            yield Input(value=today.isoformat(), placeholder=_("To (2026-12-31)"), id="registers-to")
            yield Input(placeholder=_("Unit (all)"), id="registers-unit")
            yield Input(value="pdf", placeholder="pdf / xlsx / csv", id="registers-format")
        table: DataTable[Any] = DataTable(id="registers", cursor_type="row", zebra_stripes=True)
        yield table
        yield Static("", id="registers-summary", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        table = self.query_one("#registers", DataTable)
        table.add_column(_("Register book"), key="title", width=34)
        table.add_column(_("Short name"), key="name", width=12)
        table.add_column(_("Required by"), key="source")
        for reg in registers.REGISTERS.values():
            table.add_row(Text(reg.title(self.ctx.lang)), Text(reg.name), Text(reg.source), key=reg.name)
        self.query_one("#registers-summary", Static).update(Text(
            _("Choose a register (↑/↓), the period and the format; Ctrl+S saves it.")))
        self.query_one("#registers-from", Input).focus()

    def action_cursor(self, step: int) -> None:
        table = self.query_one("#registers", DataTable)
        if table.row_count:
            table.move_cursor(row=max(0, min(table.row_count - 1, table.cursor_row + step)))

    @on(Input.Submitted)
    async def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        await self.action_save()

    def _fail(self, message: str) -> None:
        self.query_one("#registers-summary", Static).update(Text(message, style="bold red"))
        self.app.bell()

    async def action_save(self) -> None:
        actor = self.ctx.actor
        if actor is None:
            return
        name = self.names[self.query_one("#registers", DataTable).cursor_row]
        try:
            first = date.fromisoformat(self.query_one("#registers-from", Input).value.strip())
            last = date.fromisoformat(self.query_one("#registers-to", Input).value.strip())
        except ValueError:
            self._fail(_("The period is two dates, e.g. 2026-01-01 and 2026-12-31."))
            return
        fmt = self.query_one("#registers-format", Input).value.strip().lower()
        if fmt not in registers.FORMATS:
            self._fail(_("The format is pdf, xlsx or csv."))
            return
        unit = self.query_one("#registers-unit", Input).value.strip() or None
        lang = "en" if self.ctx.lang == "en" else "zh"
        try:
            printed, path = await off_ui(self.app.db, print_register,  # type: ignore[attr-defined]
                                         self.ctx.store, actor, name, first, last, unit, lang, fmt,
                                         self.ctx.output_dir)
        except Refused as e:
            self.refused = e
            self._fail(_("Refused: {rules}").format(rules=", ".join(e.rules)) + "\n" + e.message(self.ctx.lang))
            return
        except DomainError as e:
            self._fail(pick(e.en, e.zh))
            return
        except OSError as e:
            self._fail(_("Cannot write the file: {reason}").format(reason=e.strerror or e))
            return
        self.saved, self.refused = path, None
        self.query_one("#registers-summary", Static).update(Text(
            _("Saved {path}: {n} row(s), ledger head {seq}.").format(path=path, n=len(printed.rows),
                                                                      seq=printed.head_seq), style="bold"))
