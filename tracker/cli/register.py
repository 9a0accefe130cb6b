"""`tracker register NAME`: one register of RULES §4 (台账) for a period, printed as PDF, XLSX or CSV.

It turns the command line into `tracker.reports.registers.reader` (the reader's permission, the audit-log entry) and
`write`; it must never query the register or lay a register out itself. Column headers are Chinese unless `--lang en`
(an inspector reads the Chinese register); messages follow the usual language.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from tracker.cli.common import EXIT_USAGE, JsonFlag, ensure_lang, fail, operator, out, print_json, run, say, store
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker.reports import registers
else:
    registers = lazy("tracker.reports.registers")

commands = typer.Typer()  # top-level commands: `tracker.cli` mounts them on the main app

_NAMES = ", ".join(registers.REGISTERS)


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        fail(EXIT_USAGE, f"{option} {text!r} is not a date: use 2026-01-31.",
             f"{option} {text!r} 不是日期：请使用 2026-01-31 的格式。")


@commands.command("register", help=f"Print a register (台账) of a period: {_NAMES}.")
def register_cmd(
    name: Annotated[str, typer.Argument(help=f"Which register: {_NAMES}.")],
    first: Annotated[str, typer.Option("--from", help="First day of the period (local), e.g. 2026-01-01.")],
    last: Annotated[str, typer.Option("--to", help="Last day of the period (local), included.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf, xlsx or csv.")] = "pdf",
    unit: Annotated[str | None, typer.Option(help="Only events in which someone of this unit (部门) took part.")]
    = None,
    output: Annotated[Path | None, typer.Option("--out", help="File to write (default NAME_FROM_TO.FORMAT).")]
    = None,
    lang: Annotated[str, typer.Option("--lang", help="Column headers: zh (default) or en.")] = "zh",
    as_json: JsonFlag = False,
) -> None:
    ensure_lang()
    if fmt not in registers.FORMATS:
        fail(EXIT_USAGE, "--format is pdf, xlsx or csv.", "--format 只能是 pdf、xlsx 或 csv。")
    if lang not in ("zh", "en"):
        fail(EXIT_USAGE, "--lang is zh or en.", "--lang 只能是 zh 或 en。")
    start, end = _day(first, "--from"), _day(last, "--to")
    run(lambda: registers.register_of(name))  # an unknown register is bad input before anyone signs
    target = output or Path(f"{registers.register_of(name).name}_{start}_{end}.{fmt}")
    actor = operator()
    printed = run(lambda: registers.read(store().uow(), actor, name, start, end, unit, lang, fmt))
    try:
        registers.write(printed, fmt, target)
    except OSError as e:
        fail(EXIT_USAGE, f"Cannot write {target}: {e.strerror}", f"无法写入 {target}：{e.strerror}")
    if as_json:
        print_json({"register": printed.register.name, "from": start.isoformat(), "to": end.isoformat(),
                    "unit": printed.unit, "rows": len(printed.rows), "file": str(target), "format": fmt,
                    "ledger_head": [printed.head_seq, printed.head_hash]})
        return
    out.print(Text(say(f"{printed.register.en}: {len(printed.rows)} rows to {target} "
                       f"(ledger head {printed.head_seq}).",
                       f"{printed.register.zh}：{len(printed.rows)} 条，已写入 {target}"
                       f"（台账链头 {printed.head_seq}）。")))
