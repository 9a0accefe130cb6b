"""Top-level circulation commands: checkout, checkin, handover, carry-out, copy, approve, missing, found, alerts.

Each one identifies the operator and every counter-party that must sign, then makes one call to
`tracker.services` (one transaction, one ledger event); it must never check a rule itself nor ask for a PIN after
refusing input that can be refused before anyone signs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from tracker.cli.common import (
    EXIT_USAGE,
    ApprovalNumber,
    JsonFlag,
    check_codes,
    ensure_lang,
    fail,
    operator,
    out,
    parse_when,
    party,
    print_json,
    run,
    say,
    settings,
    store,
    table,
    when,
)
from tracker.domain import CarrierStatus
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker import queries
    from tracker.services import approvals, circulation, incidents, registry
else:
    queries, approvals = lazy("tracker.queries"), lazy("tracker.services.approvals")
    circulation, incidents = lazy("tracker.services.circulation"), lazy("tracker.services.incidents")
    registry = lazy("tracker.services.registry")

commands = typer.Typer()  # top-level commands: `tracker.cli` mounts them on the main app


@commands.command()
def checkout(
    code: str,
    to: Annotated[str, typer.Option("--to", help="Borrower's badge; the borrower signs with their PIN.")],
    approval: ApprovalNumber = None,
    due: Annotated[str | None, typer.Option(help="Return time; default end of the working day.")] = None,
    reading_place: Annotated[str | None, typer.Option(help="Required for 绝密 (R-67).")] = None,
) -> None:
    """Lend a carrier to a person (借阅)."""
    ensure_lang()
    check_codes(code)
    due_at = parse_when(due)  # bad input is refused before anyone types a PIN
    actor = operator()
    borrower = party(to, "borrower")
    r = run(lambda: circulation.check_out(store().uow(), actor, code, borrower, due_at, approval, reading_place))
    due_text = when(r.due, zone=True)
    out.print(Text(say(f"{r.carrier} checked out to {r.holder}, due {due_text} (event {r.event_seq}).",
                       f"{r.carrier} 已借给 {r.holder}，应于 {due_text} 归还（事件 {r.event_seq}）。")))


@commands.command()
def checkin(
    code: str,
    returned_by: Annotated[str | None, typer.Option("--returned-by", help="Badge of who brings it back; they sign "
                                                                         "with their PIN (TRACKER_RETURNER_PIN).")]
    = None,
    to: Annotated[str | None, typer.Option("--to", help="Place; default where it came from.")] = None,
    holder: Annotated[str | None, typer.Option("--holder-signs", help="A proxy returns it: the holder's badge, "
                                                                      "signing too (TRACKER_BORROWER_PIN).")] = None,
) -> None:
    """Take a carrier back and close its loan (归还), naming who returns it (R-56, R-66)."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    if returned_by is None:
        # whoever brings a carrier back is named. A carrier that is not out is refused for that first
        # (the service judges it before anything else), so nobody is asked to name a returner for nothing.
        with store().uow(readonly=True) as uow:
            view = queries.carrier(uow, code)
        if view is None or not CarrierStatus(view.status).with_holder:
            run(lambda: circulation.check_in(store().uow(), actor, code, to))  # refused: not found, or not out
        fail(EXIT_USAGE, "Name who brings it back: --returned-by BADGE (R-56).",
             "请写明归还人：--returned-by 工号（R-56）。")
    returner = party(returned_by, "returner")
    signed = party(holder, "borrower") if holder else None
    seq = run(lambda: circulation.check_in(store().uow(), actor, code, to, returner, signed))
    out.print(Text(say(f"{code} checked in from {returned_by} (event {seq}).",
                       f"{code} 已由 {returned_by} 归还（事件 {seq}）。")))


@commands.command()
def handover(
    codes: list[str],
    giver: Annotated[str, typer.Option("--from", help="Giver's badge (signs with PIN).")],
    taker: Annotated[str, typer.Option("--to", help="Taker's badge (signs with PIN).")],
) -> None:
    """Hand carriers from holder to holder, both parties signing (手递手交接)."""
    ensure_lang()
    check_codes(*codes)
    actor = operator()
    g, t = party(giver, "giver"), party(taker, "taker")
    seqs = run(lambda: circulation.handover(store().uow(), actor, codes, g, t))
    out.print(Text(say(f"Handed over {len(seqs)} carrier(s) from {giver} to {taker}.",
                       f"已由 {giver} 交接 {len(seqs)} 件载体给 {taker}。")))


@commands.command("carry-out")
def carry_out(
    code: str,
    custodian: Annotated[str, typer.Option(help="Who carries it (signs).")],
    until: Annotated[str, typer.Option(help="Return deadline.")],
    approval: ApprovalNumber = None,
    companion: Annotated[str | None, typer.Option(help="Second person (required for 绝密, R-93).")] = None,
    destination: Annotated[str, typer.Option()] = "",
) -> None:
    """Carry a carrier outside the unit (携带外出) with approval (R-92)."""
    ensure_lang()
    check_codes(code)
    deadline = parse_when(until)
    assert deadline is not None
    actor = operator()
    c = party(custodian, "custodian")
    second = party(companion, "companion") if companion else None
    seq = run(lambda: circulation.carry_out(store().uow(), actor, code, c, deadline, approval, second, destination))
    out.print(Text(say(f"{code} carried out by {custodian} (event {seq}).",
                       f"{code} 已由 {custodian} 携带外出（事件 {seq}）。")))


@commands.command("copy")
def copy_cmd(code: str, approval: ApprovalNumber = None,
             count: Annotated[int, typer.Option()] = 1) -> None:
    """Register copies of a carrier; they inherit level, period and scope (R-77)."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    codes = run(lambda: registry.copy(store().uow(), actor, code, count, approval, site=settings().site))
    out.print(Text(say(f"Copies registered: {', '.join(codes)}", f"已登记复制件：{', '.join(codes)}")))


@commands.command()
def approve(
    purpose: Annotated[str, typer.Option(help="loan, outside_loan, copy, extract, carry_out, destruction, "
                                              "scope_extension, reclassify, declassify")],
    carrier: Annotated[list[str], typer.Option(help="Repeat for each carrier.")],
    until: Annotated[str, typer.Option(help="Valid until (e.g. +4h).")] = "+8h",
    grantee: Annotated[str | None, typer.Option("--for", help="Badge of the person it is for.")] = None,
    copies: Annotated[int | None, typer.Option(help="Most copies allowed.")] = None,
    note: str = "",
    requested_by: Annotated[str | None, typer.Option(help="Badge of who asked (default: --for).")] = None,
) -> None:
    """Record an approval asked in person; the operator is the approver (审批). Where the matrix needs more than one
    approver (e.g. 绝密 copies: a leader and the issuing unit) the approval stays pending until the others sign
    with `tracker approvals approve N`."""
    ensure_lang()
    check_codes(*carrier)
    valid = parse_when(until)
    assert valid is not None
    actor = operator()
    n = run(lambda: approvals.grant(store().uow(), actor, purpose, carrier, valid, grantee, copies, note,
                                    requested_by))
    status = run(lambda: approvals.views(store().uow(), ids=[n]))[0].status
    out.print(Text(say(f"Approval #{n} recorded ({status}).",
                       f"审批 #{n} 已记录（{approvals.STATUS_ZH.get(status, status)}）。")))


@commands.command()
def missing(code: str, note: str = "") -> None:
    """Report a carrier missing (下落不明): starts the R-155 clock."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    deadline = run(lambda: incidents.report_missing(store().uow(), actor, code, note))
    limit = when(deadline, zone=True) if deadline else "-"
    out.print(Text(say(f"{code} reported missing; leak-incident deadline {limit}.",
                       f"{code} 已报告下落不明；泄密事件期限 {limit}。")))


@commands.command()
def found(code: str, to: Annotated[str, typer.Option("--to")], note: str = "") -> None:
    """A missing carrier is back: put it in a place."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    days = run(lambda: incidents.found(store().uow(), actor, code, to, note))
    out.print(Text(say(f"{code} found after {days} day(s).", f"{code} 已找回（下落不明 {days} 天）。")))


@commands.command()
def alerts(as_json: JsonFlag = False) -> None:
    """Overdue loans, 绝密 not back, losses with their R-155 clock, departing holders."""
    ensure_lang()
    with store().uow(readonly=True) as uow:
        found_alerts = queries.alerts(uow, os.environ.get("TRACKER_OPERATOR"))
    if as_json:
        print_json([a.__dict__ for a in found_alerts])
        return
    table(say("Alerts", "提醒"), ["kind", "carrier", "person", "message"],
          [[a.kind, a.carrier, a.person, say(a.en, a.zh)] for a in found_alerts])
