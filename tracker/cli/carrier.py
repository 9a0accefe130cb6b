"""`tracker carrier …`: register, import, show, find, history, move and reclassify carriers.

It turns command lines into calls to `tracker.services.registry` and reads through `tracker.queries`; it must never
check a rule itself. Labels printed right after registering go through the label printer `tracker.cli` wires in
(`common.print_labels`), so this module never imports the label commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tracker.cli.common import (
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    ApprovalNumber,
    JsonFlag,
    check_codes,
    ensure_lang,
    fail,
    operator,
    out,
    print_json,
    print_labels,
    run,
    say,
    settings,
    state,
    store,
    table,
    when,
    zone,
)
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker import queries, views
    from tracker.services import registry
else:
    queries, views, registry = lazy("tracker.queries"), lazy("tracker.views"), lazy("tracker.services.registry")

carrier_app = typer.Typer(no_args_is_help=True, help="Carriers: register, import, show, find, history, move.")


def carrier_rows(found: list[views.CarrierView]) -> list[list[Any]]:
    zh = state.lang == "zh"
    return [[v.code, v.marking, views.value_zh("kind", v.kind) if zh else v.kind, v.title, v.doc_number,
             views.value_zh("status", v.status) if zh else v.status, v.holder or v.location, when(v.due_at)]
            for v in found]


def carrier_columns() -> list[str]:
    return [say("code", "编号"), say("marking", "密级标志"), say("kind", "类型"), say("title", "标题"),
            say("doc no.", "文号"), say("status", "状态"), say("holder/place", "持有人/位置"),
            say(f"due ({zone()})", f"应还时间（{zone()}）")]


# `--classification` everywhere; `--level` (reclassify's old name) is kept as a hidden alias on both commands.
LevelAlias = Annotated[str | None, typer.Option("--level", hidden=True)]


def _one_level(classification: str | None, level: str | None) -> str:
    if classification is not None and level is not None and classification != level:
        fail(EXIT_USAGE, "Give the level once: --classification (or its old name --level).",
             "密级只需给出一次：--classification（或旧名 --level）。")
    value = classification if classification is not None else level
    if value is None:
        fail(EXIT_USAGE, "Missing option --classification.", "缺少选项 --classification。")
    return value


PrintFlag = Annotated[bool, typer.Option("--print", help="Print the labels on $TRACKER_LABEL_PRINTER afterwards "
                                                         "(`tracker label print` for more options).")]
RfidFlag = Annotated[bool, typer.Option("--rfid", help="Print and encode RFID labels (implies --print).")]


@carrier_app.command("add")
def carrier_add(
    location: Annotated[str, typer.Option(help="Storage place code.")],
    classification: Annotated[str | None, typer.Option(
        help="top_secret/secret/confidential/internal/unclassified or 绝密… (required).")] = None,
    kind: Annotated[str, typer.Option()] = "paper",
    regime: Annotated[str, typer.Option(help="state or company")] = "state",
    period: Annotated[str | None, typer.Option(help="10y, 2030-12-31 or long")] = None,
    scope: Annotated[str | None, typer.Option(help="Units; @badge for people; separated by ;")] = None,
    title: Annotated[str, typer.Option()] = "",
    doc_number: Annotated[str | None, typer.Option()] = None,
    issuer: Annotated[str | None, typer.Option()] = None,
    copy: Annotated[str | None, typer.Option(help="Copy n/N, e.g. 3/5 (required for 绝密 and 机密).")] = None,
    code: Annotated[str | None, typer.Option(help="Existing label code; generated when omitted.")] = None,
    epc: Annotated[str | None, typer.Option()] = None,
    pages: Annotated[int | None, typer.Option()] = None,
    print_label: PrintFlag = False,
    rfid: RfidFlag = False,
    level: LevelAlias = None,
) -> None:
    """Register one carrier (登记); with --print, its label comes out of the label printer straight away."""
    ensure_lang()
    classification = _one_level(classification, level)
    n = total = None
    if copy:
        try:
            a, b = copy.split("/")
            n, total = int(a), int(b)
        except ValueError:
            fail(EXIT_USAGE, "--copy is n/N, e.g. 3/5.", "--copy 格式为 n/N，例如 3/5。")
    actor = operator()
    data = registry.CarrierInput(location=location, classification=classification, kind=kind, regime=regime,
                                 period=period, scope=scope, title=title, doc_number=doc_number, issuer=issuer,
                                 copy_number=n, copy_total=total, code=code, epc=epc, pages=pages)
    new = run(lambda: registry.register(store().uow(), actor, data, site=settings().site))
    out.print(Text(say(f"Registered {new}.", f"已登记 {new}。")))
    if print_label or rfid:
        print_labels([new], rfid)


@carrier_app.command("import")
def carrier_import(path: Path, print_label: PrintFlag = False, rfid: RfidFlag = False) -> None:
    """Import carriers from CSV: all rows or none (columns: see README); --print sends their labels as one batch."""
    ensure_lang()
    actor = operator()
    try:
        data = path.read_bytes()
    except OSError as e:
        fail(EXIT_USAGE, f"Cannot read {path}: {e.strerror}", f"无法读取 {path}：{e.strerror}")
    codes = run(lambda: registry.import_csv(store().uow(), actor, data, site=settings().site))
    out.print(Text(say(f"Imported {len(codes)} carriers.", f"已导入 {len(codes)} 件载体。")))
    if print_label or rfid:
        print_labels(codes, rfid)


@carrier_app.command("show")
def carrier_show(code: Annotated[str, typer.Argument(help="Carrier code or EPC.")], as_json: JsonFlag = False) -> None:
    """Every field of one carrier: level and marking, copy n/N, document, issuer, pages, place or holder, dates."""
    ensure_lang()
    check_codes(code)
    with store().read() as conn:  # Core SQL: the ORM and the services are not loaded for one look-up (issue 22)
        v = views.carrier(conn, code) or views.carrier_by_epc(conn, code)
    if v is None:
        fail(EXIT_NOT_FOUND, f"No carrier {code!r}.", f"没有载体 {code!r}。")
    if as_json:
        print_json(v.to_json())
        return
    times = {k: when(getattr(v, k), zone=True) for k in ("due_at", "missing_since", "registered_at")}
    if state.lang == "zh":
        rows = [[views.FIELD_ZH.get(k, k), times.get(k, views.value_zh(k, val))] for k, val in v.to_json().items()]
    else:
        rows = [[k, times.get(k, val)] for k, val in v.to_json().items()]
    table(v.code, [say("field", "字段"), say("value", "值")], rows)


@carrier_app.command("find")
def carrier_find(text: str, limit: int = 50, as_json: JsonFlag = False) -> None:
    """Search code, title, document number, holder and place."""
    ensure_lang()
    with store().uow(readonly=True) as uow:
        found = queries.find(uow, text, limit)
    if as_json:
        print_json([v.to_json() for v in found])
        return
    table(say(f"{len(found)} found", f"找到 {len(found)} 件"), carrier_columns(), carrier_rows(found))


@carrier_app.command("history")
def carrier_history(code: str, as_json: JsonFlag = False) -> None:
    """Every ledger event of one carrier, in order."""
    ensure_lang()
    check_codes(code)
    with store().uow(readonly=True) as uow:
        if queries.carrier(uow, code) is None:
            fail(EXIT_NOT_FOUND, f"No carrier {code!r}.", f"没有载体 {code!r}。")
        events = queries.history(uow, code)
    if as_json:
        print_json([e.__dict__ for e in events])
        return
    table(code, ["seq", f"at ({zone()})", "event", "actor", "from", "to", "witness", "approval"],
          [[e.seq, when(e.at), e.type, e.actor, e.from_holder or e.from_location, e.to_holder or e.to_location,
            e.witness, e.approval_id] for e in events])


@carrier_app.command("move")
def carrier_move(code: str, to: Annotated[str, typer.Option("--to", help="Storage place code.")],
                 reason: Annotated[str, typer.Option(help="Why it moves (kept in the ledger).")] = "") -> None:
    """Move a carrier in store to another storage place (one ledger event; the place must accept its level, R-47)."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    run(lambda: registry.move(store().uow(), actor, code, to, reason))
    out.print(Text(say(f"{code} moved to {to}.", f"{code} 已移至 {to}。")))


@carrier_app.command("reclassify")
def carrier_reclassify(
    code: str,
    classification: Annotated[str | None, typer.Option(help="The new level (required).")] = None,
    level: LevelAlias = None,
    approval: ApprovalNumber = None,
    period: Annotated[str | None, typer.Option()] = None,
    scope: Annotated[str | None, typer.Option()] = None,
    basis: Annotated[str, typer.Option(help="定密依据")] = "",
) -> None:
    """Change level, period or scope (a 定密 act: approval needed, R-08; media never go down, R-103)."""
    ensure_lang()
    check_codes(code)
    new_level = _one_level(classification, level)
    actor = operator()
    run(lambda: registry.reclassify(store().uow(), actor, code, new_level, period, scope, approval, basis))
    out.print(Text(say(f"{code} reclassified.", f"{code} 密级已变更。")))
