"""`tracker print-run …` — print runs (印制): request a run with its count and distribution, approve it, complete it
(registering the numbered copies and the by-products), show and list runs.

Each command identifies the operator and makes one call to `tracker.services.printruns` (approvals through
`tracker.services.approvals`); it must never check a rule itself. The printer is the operator who completes the run
(a clerk of the print room, R-31); the proof-reader is named by badge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tracker.cli.common import (
    EXIT_USAGE,
    JsonFlag,
    ensure_lang,
    fail,
    operator,
    out,
    parse_when,
    print_json,
    print_labels,
    run,
    say,
    store,
    table,
    when,
)
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker.services import approvals, printruns
else:
    approvals, printruns = lazy("tracker.services.approvals"), lazy("tracker.services.printruns")

printrun_app = typer.Typer(no_args_is_help=True, help="Print runs (印制): approved copy counts, numbered copies, "
                                                        "by-products.")


@printrun_app.command("new")
def new_cmd(
    doc: Annotated[str, typer.Option("--doc", help="Document number (文件编号).")],
    level: Annotated[str, typer.Option(help="Classification, e.g. top_secret / 绝密.")],
    copies: Annotated[int, typer.Option(help="Number of copies to print.")],
    distribution: Annotated[str, typer.Option(help="Who gets the copies: unit:n;@badge:n (sums to --copies).")],
    location: Annotated[str, typer.Option(help="Place the copies are registered into.")],
    title: str = "",
    period: Annotated[str | None, typer.Option(help="Secrecy period, e.g. 10y / long.")] = None,
    scope: Annotated[str | None, typer.Option(help="Need-to-know scope: units and @badges.")] = None,
    issuer: str | None = None,
    kind: str = "paper",
    regime: str = "state",
    until: Annotated[str, typer.Option(help="Approval valid until (e.g. +3d).")] = "+3d",
    note: str = "",
) -> None:
    """Request a print run and its approval (R-05, R-29)."""
    ensure_lang()
    valid = parse_when(until)
    assert valid is not None
    actor = operator()
    data = printruns.RunInput(doc_number=doc, classification=level, copies=copies, distribution=distribution,
                              location=location, title=title, issuer=issuer, kind=kind, regime=regime,
                              period=period, scope=scope)
    rid, aid = run(lambda: printruns.new(store().uow(), actor, data, valid, note))
    out.print(Text(say(f"Print run #{rid} requested: approval #{aid}.", f"印制单 #{rid} 已提交：审批 #{aid}。")))


@printrun_app.command("approve")
def approve_cmd(run_id: Annotated[int, typer.Argument(metavar="RUN")],
                deny: Annotated[str | None, typer.Option(help="Deny, giving the reason.")] = None) -> None:
    """The operator, an approver, signs the run's approval (or denies it)."""
    ensure_lang()
    actor = operator()
    with store().uow(readonly=True) as uow:
        number = run(lambda: printruns.view(uow, run_id)).approval_id
    if number is None:
        fail(EXIT_USAGE, f"Print run #{run_id} has no approval request.", f"印制单 #{run_id} 没有审批申请。")
    status = run(lambda: approvals.decide(store().uow(), actor, number, deny is None, deny or ""))
    out.print(Text(say(f"Approval #{number} of print run #{run_id}: {status}.",
                       f"印制单 #{run_id} 的审批 #{number}：{approvals.STATUS_ZH.get(status, status)}。")))


def _byproducts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in (i.strip() for i in text.replace(";", ",").split(",")):
        if not item:
            continue
        name, _, n = item.partition("=")
        if not n.strip().isdigit():
            fail(EXIT_USAGE, f"Cannot read the by-products {item!r}: write sheets=12,plates=2.",
                 f"无法识别副产品 {item!r}：请写作 sheets=12,plates=2。")
        counts[name.strip()] = int(n)
    return counts


@printrun_app.command("complete")
def complete_cmd(
    run_id: Annotated[int, typer.Argument(metavar="RUN")],
    copies: Annotated[int, typer.Option(help="Copies actually printed (must equal the approved count).")],
    proof_reader: Annotated[str, typer.Option(help="The proof-reader's badge (校对人).")],
    byproducts: Annotated[str, typer.Option(help="Counted by-products: sheets=12,proofs=3,plates=2,discs=0.")],
    room: Annotated[str, typer.Option(help="The print room (文印室) or approved 定点 unit.")] = "",
    labels: Annotated[bool, typer.Option("--print", help="Print the copies' labels now.")] = False,
    rfid: bool = False,
) -> None:
    """The printer registers the run's copies, numbered, and its by-products in one step (R-29, R-30, R-34)."""
    ensure_lang()
    counts = _byproducts(byproducts)
    actor = operator()
    done = run(lambda: printruns.complete(store().uow(), actor, run_id, copies, proof_reader, counts, room))
    out.print(Text(say(f"Print run #{run_id}: copies {done.first}–{done.first + len(done.copies) - 1} of "
                       f"{done.total} registered ({', '.join(done.copies)}); by-products {done.byproducts} locked "
                       f"away until destroyed. Ledger head {done.head_seq}:{done.head_hash}",
                       f"印制单 #{run_id}：已登记第{done.first}–{done.first + len(done.copies) - 1}份（共"
                       f"{done.total}份）{'、'.join(done.copies)}；副产品 {done.byproducts} 已封存待销毁。"
                       f"台账链头 {done.head_seq}:{done.head_hash}")))
    if labels:
        print_labels([*done.copies, done.byproducts], rfid)


@printrun_app.command("show")
def show_cmd(run_id: Annotated[int, typer.Argument(metavar="RUN")], as_json: JsonFlag = False) -> None:
    """A run: what was approved, by whom, and the print-job record once completed (R-36)."""
    ensure_lang()
    with store().uow(readonly=True) as uow:
        v = run(lambda: printruns.view(uow, run_id))
    if as_json:
        print_json({**v.__dict__, "byproducts_open": v.byproducts_open})
        return
    spread = "; ".join(f"{w}:{n}" for w, n in v.distribution)
    rows: list[list[Any]] = [
            ["doc_number", v.doc_number], ["title", v.title], ["level", v.classification], ["period", v.period],
            ["scope", v.scope], ["copies", v.copies], ["distribution", spread],
            ["status", v.status], ["approval", f"#{v.approval_id} {v.approval_status} {', '.join(v.approvers)}"],
            ["requested_by", v.requested_by], ["printer", v.printer], ["proof_reader", v.proof_reader],
            ["print_room", v.print_room], ["completed_at", when(v.completed_at)],
            ["copy_codes", ", ".join(v.copy_codes)], ["byproducts", f"{v.byproduct_code or ''} {v.byproducts} "
                                                                    f"{v.byproduct_status or ''}"],
            ["ledger_head", f"{v.head_seq}:{v.head_hash}" if v.head_seq else ""]]
    table(say(f"Print run #{v.id}", f"印制单 #{v.id}"), ["field", "value"], rows)


@printrun_app.command("list")
def list_cmd(status: Annotated[str | None, typer.Option(help="requested or completed.")] = None,
             as_json: JsonFlag = False) -> None:
    """Print runs, newest first; an open by-products duty is marked (R-34)."""
    ensure_lang()
    if status is not None and status not in ("requested", "completed"):
        fail(EXIT_USAGE, f"Unknown status {status!r}: use requested or completed.",
             f"无法识别的状态 {status!r}：请使用 requested 或 completed。")
    with store().uow(readonly=True) as uow:
        views = printruns.runs(uow, status)
    rows = [{"id": v.id, "doc_number": v.doc_number, "level": v.classification, "copies": v.copies,
             "status": v.status, "approval": v.approval_status, "byproducts": v.byproduct_code,
             "byproducts_open": v.byproducts_open} for v in views]
    if as_json:
        print_json(rows)
        return
    table(say("Print runs", "印制单"), list(rows[0]) if rows else ["id"], [list(r.values()) for r in rows])
