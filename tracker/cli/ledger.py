"""`tracker ledger verify|seal` and `tracker export`: checking and anchoring the custody ledger, exporting the register.

Verification reads the chain directly (it must never trust a service to have kept it); exports write CSV/XLSX with
formula injection neutralised and never change the register.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from tracker import queries
from tracker.cli.common import (
    EXIT_REFUSED,
    EXIT_USAGE,
    JsonFlag,
    ensure_lang,
    err,
    fail,
    operator,
    out,
    print_json,
    run,
    say,
    state,
    store,
)
from tracker.ledger import verify
from tracker.services import seals

ledger_app = typer.Typer(no_args_is_help=True, help="The custody ledger: verify and seal.")
commands = typer.Typer()  # top-level commands: `tracker.cli` mounts them on the main app


@ledger_app.command("verify")
def ledger_verify(
    anchor: Annotated[list[str] | None, typer.Option(help="SEQ:HASH from a sealed paper record; repeatable.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Check the whole chain; names the first altered, deleted, inserted or reordered event."""
    ensure_lang()
    anchors = []
    for a in anchor or []:
        seq, _, digest = a.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            fail(EXIT_USAGE, f"Anchor {a!r} is not SEQ:HASH.", f"锚点 {a!r} 格式应为 序号:哈希。")
        anchors.append((int(seq), digest))
    with store().engine.connect() as conn:
        report = verify(conn, anchors)
    if as_json:
        print_json(report.__dict__)
    else:
        (out if report.ok else err).print(Text(report.message(state.lang)), style=None if report.ok else "bold red")
    if not report.ok:
        raise typer.Exit(EXIT_REFUSED)


@ledger_app.command("seal")
def ledger_seal() -> None:
    """Print the chain head (sequence + hash) for the paper record, and keep it as an anchor (security officer or
    auditor, R-25)."""
    ensure_lang()
    actor = operator()
    seq, digest = run(lambda: seals.seal(store().uow(), actor))
    out.print(Text(f"{seq}:{digest}"))


@commands.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv or xlsx")] = "csv",
    output: Annotated[Path | None, typer.Option("--out", help="File; CSV goes to stdout when omitted.")] = None,
) -> None:
    """Export the register (current state of every carrier)."""
    ensure_lang()
    with store().uow(readonly=True) as uow:
        views = queries.export_rows(uow)
    fields = list(views[0].to_json()) if views else ["code"]
    # Headers in the reader's language; the columns and their values stay the register's (a script maps by position).
    headers = [queries.FIELD_ZH.get(f, f) for f in fields] if state.lang == "zh" else fields
    if fmt == "csv":
        with _open_out(output) as fh:
            w = csv.writer(fh)
            w.writerow(headers)
            for v in views:
                w.writerow([_xlsx_safe(x) for x in v.to_json().values()])
    elif fmt == "xlsx":
        if output is None:
            fail(EXIT_USAGE, "--out is required for xlsx.", "导出 xlsx 须指定 --out。")
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("carriers")
        ws.append(headers)
        for v in views:
            ws.append([_xlsx_safe(x) for x in v.to_json().values()])
        wb.save(output)
    else:
        fail(EXIT_USAGE, "--format is csv or xlsx.", "--format 只能是 csv 或 xlsx。")
    if output is not None:
        out.print(Text(say(f"Exported {len(views)} carriers to {output}.", f"已导出 {len(views)} 件载体到 {output}。")))


def _xlsx_safe(value: Any) -> Any:
    """Spreadsheet formula injection (CSV and XLSX): a value starting with = + - @ is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


@contextmanager
def _open_out(path: Path | None) -> Iterator[Any]:
    if path is None:
        yield sys.stdout
        return
    with path.open("w", newline="", encoding="utf-8") as fh:
        yield fh
