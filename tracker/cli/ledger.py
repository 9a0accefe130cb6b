"""`tracker ledger verify|seal` and `tracker export`: checking and anchoring the custody ledger, exporting the register.

Verification reads the chain directly (it must never trust a service to have kept it); exports write CSV/XLSX through
the one writer (`tracker.reports.sheets`: formulas and control characters neutralised) and never change the register.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

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
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker import ledger, queries
    from tracker.reports import sheets
    from tracker.services import audit as audit_log
    from tracker.services import seals
else:
    ledger, queries = lazy("tracker.ledger"), lazy("tracker.queries")
    sheets, seals = lazy("tracker.reports.sheets"), lazy("tracker.services.seals")
    audit_log = lazy("tracker.services.audit")

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
        report = ledger.verify(conn, anchors)
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
    """Export the register (current state of every carrier): the registry, security officer or auditor signs, and
    the audit log records the export."""
    ensure_lang()
    if fmt not in ("csv", "xlsx"):
        fail(EXIT_USAGE, "--format is csv or xlsx.", "--format 只能是 csv 或 xlsx。")
    if output is None and fmt == "xlsx":
        fail(EXIT_USAGE, "--out is required for xlsx.", "导出 xlsx 须指定 --out。")
    actor = operator()
    views = run(lambda: audit_log.export_register(store().uow(), actor, fmt))
    fields = list(views[0].to_json()) if views else ["code"]
    # Headers in the reader's language; the columns and their values stay the register's (a script maps by position).
    headers = [queries.FIELD_ZH.get(f, f) for f in fields] if state.lang == "zh" else fields
    rows = (list(v.to_json().values()) for v in views)
    if output is None:
        sheets.write_csv_stream(sys.stdout, headers, rows)
        return
    try:
        if fmt == "csv":
            sheets.write_csv(output, headers, rows, bom=False)
        else:
            sheets.write_xlsx(output, [sheets.Sheet("carriers", rows, header=headers)])
    except OSError as e:
        fail(EXIT_USAGE, f"Cannot write {output}: {e.strerror}", f"无法写入 {output}：{e.strerror}")
    out.print(Text(say(f"Exported {len(views)} carriers to {output}.", f"已导出 {len(views)} 件载体到 {output}。")))
