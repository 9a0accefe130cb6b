"""`tracker destruction …` — destruction batches (销毁): build the list, ask for and give its approval, scan it at the
site, complete it under two supervisors, print the certificate; and the top-level `archive`, `return-to-issuer`,
`transfer-out`, `repair` and `archive-access` (`endoflife_commands`).

Each command identifies the operator (and every supervisor, each with their own PIN: TRACKER_SUPERVISOR1_PIN,
TRACKER_SUPERVISOR2_PIN… for scripts) and makes one call to `tracker.services.destruction` or
`tracker.services.endoflife`. It must never check a rule itself.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    store,
    table,
    when,
)
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker.services import approvals, destruction, endoflife
    from tracker.services.common import Signed
else:
    approvals, destruction = lazy("tracker.services.approvals"), lazy("tracker.services.destruction")
    endoflife = lazy("tracker.services.endoflife")

destruction_app = typer.Typer(no_args_is_help=True, help="Destruction batches (销毁): list, approve, scan, complete, "
                                                           "certificate.")


@destruction_app.command("new")
def new_cmd(name: Annotated[str, typer.Argument(help="A name for the batch, e.g. 2026年第4季度销毁.")] = "") -> None:
    """Open an empty destruction batch; the operator is its requester."""
    ensure_lang()
    actor = operator()
    n = run(lambda: destruction.new(store().uow(), actor, name))
    out.print(Text(say(f"Destruction batch #{n} opened.", f"销毁批次 #{n} 已建立。")))


@destruction_app.command("add")
def add_cmd(batch: int, codes: list[str]) -> None:
    """List carriers for destruction (造册): all or none; each becomes pending destruction."""
    ensure_lang()
    check_codes(*(codes or []))
    actor = operator()
    seqs = run(lambda: destruction.add(store().uow(), actor, batch, codes))
    out.print(Text(say(f"{len(seqs)} carrier(s) listed on batch #{batch}.",
                       f"已将 {len(seqs)} 件载体列入销毁批次 #{batch}。")))


@destruction_app.command("remove")
def remove_cmd(batch: int, codes: list[str]) -> None:
    """Take carriers off a list not yet sent for approval."""
    ensure_lang()
    check_codes(*(codes or []))
    actor = operator()
    seqs = run(lambda: destruction.remove(store().uow(), actor, batch, codes))
    out.print(Text(say(f"{len(seqs)} carrier(s) taken off batch #{batch}.",
                       f"已从销毁批次 #{batch} 移出 {len(seqs)} 件载体。")))


@destruction_app.command("list")
def list_cmd(status: Annotated[str | None, typer.Option(help="open, submitted or completed.")] = None,
             as_json: JsonFlag = False) -> None:
    """Destruction batches, newest first."""
    ensure_lang()
    with store().uow(readonly=True) as uow:
        rows = destruction.batches(uow, status)
    if as_json:
        print_json(rows)
        return
    table(say("Destruction batches", "销毁批次"), list(rows[0]) if rows else ["id"],
          [list({**r, "created_at": when(r["created_at"])}.values()) for r in rows])


@destruction_app.command("show")
def show_cmd(batch: int, as_json: JsonFlag = False) -> None:
    """A batch: its list with document and copy numbers, kinds, levels, what was scanned, its approval."""
    ensure_lang()
    with store().uow(readonly=True) as uow:
        v = run(lambda: destruction.view(uow, batch))
    if as_json:
        print_json({**v.__dict__, "items": [i.__dict__ for i in v.items], "unscanned": v.unscanned})
        return
    out.print(Text(say(f"Batch #{v.id} {v.name} — {v.status}, requested by {v.requested_by}, approval "
                       f"#{v.approval_id or '-'} ({v.approval_status or '-'})",
                       f"销毁批次 #{v.id} {v.name} — {destruction.STATUS_ZH.get(v.status, v.status)}，申请人 "
                       f"{v.requested_by}，审批 #{v.approval_id or '-'}（{v.approval_status or '-'}）")))
    table(say("List", "销毁清单"), ["code", "doc_number", "copy", "kind", "level", "title", "status", "scanned"],
          [[i.code, i.doc_number, f"{i.copy_number}/{i.copy_total}" if i.copy_number else "", i.kind, i.level,
            i.title, i.status, when(i.scanned_at)] for i in v.items])
    if v.extras:
        table(say("Scanned but not listed", "清单外物品"), ["code", "set_aside"], [list(e) for e in v.extras])
    if v.status == "completed":
        done = when(v.completed_at, zone=True)
        out.print(Text(say(f"Destroyed at {v.site} on {done}, methods {v.methods}, supervisors "
                           f"{', '.join(s['badge'] for s in v.supervisors)}; ledger head {v.head_seq}:{v.head_hash}",
                           f"已于 {done} 在 {v.site} 销毁，方式 {v.methods}，监销人 "
                           f"{'、'.join(s['badge'] for s in v.supervisors)}；台账链头 {v.head_seq}:{v.head_hash}")))


@destruction_app.command("submit")
def submit_cmd(batch: int, until: Annotated[str, typer.Option(help="Approval valid until (e.g. +7d).")] = "+7d",
               note: str = "") -> None:
    """Freeze the list and ask for its approval per the approval matrix (R-146)."""
    ensure_lang()
    valid = parse_when(until)
    assert valid is not None
    actor = operator()
    n = run(lambda: destruction.submit(store().uow(), actor, batch, valid, note))
    out.print(Text(say(f"Batch #{batch} sent for approval: request #{n}.", f"销毁批次 #{batch} 已报批：审批 #{n}。")))


@destruction_app.command("approve")
def approve_cmd(batch: int, deny: Annotated[str | None, typer.Option(help="Deny, giving the reason.")] = None) -> None:
    """The operator, an approver, signs the batch's approval (or denies it)."""
    ensure_lang()
    actor = operator()
    with store().uow(readonly=True) as uow:
        number = run(lambda: destruction.view(uow, batch)).approval_id
    if number is None:
        fail(EXIT_USAGE, f"Batch #{batch} has not been sent for approval (tracker destruction submit).",
             f"销毁批次 #{batch} 尚未报批（tracker destruction submit）。")
    status = run(lambda: approvals.decide(store().uow(), actor, number, deny is None, deny or ""))
    out.print(Text(say(f"Approval #{number} of batch #{batch}: {status}.",
                       f"销毁批次 #{batch} 的审批 #{number}：{approvals.STATUS_ZH.get(status, status)}。")))


@destruction_app.command("reopen")
def reopen_cmd(batch: int) -> None:
    """Reopen a list whose approval was denied or lapsed, to correct it and send it again."""
    ensure_lang()
    actor = operator()
    run(lambda: destruction.reopen(store().uow(), actor, batch))
    out.print(Text(say(f"Batch #{batch} reopened.", f"销毁批次 #{batch} 已重新造册。")))


@destruction_app.command("scan")
def scan_cmd(batch: int, codes: Annotated[list[str] | None, typer.Argument(help="Scanned codes or EPCs.")] = None,
             file: Annotated[Path | None, typer.Option(help="A handheld file: one code per line.")] = None) -> None:
    """Record what was scanned at the destruction site; prints what is still missing and what is extra."""
    ensure_lang()
    check_codes(*(codes or []))
    scanned = list(codes or [])
    if file is not None:
        try:
            scanned += [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as e:
            fail(EXIT_USAGE, f"Cannot read {file}: {e}", f"无法读取 {file}：{e}")
    actor = operator()
    r = run(lambda: destruction.scan(store().uow(), actor, batch, scanned))
    with store().uow(readonly=True) as uow:
        left = destruction.view(uow, batch).unscanned
    out.print(Text(say(f"{len(r.matched)} listed carrier(s) checked; {len(left)} still to scan; extra: "
                       f"{', '.join(r.extras) or 'none'}.",
                       f"已核对清单内载体 {len(r.matched)} 件；尚未扫描 {len(left)} 件；清单外物品："
                       f"{'、'.join(r.extras) or '无'}。")))


@destruction_app.command("set-aside")
def set_aside_cmd(batch: int, code: str, reason: Annotated[str, typer.Option(help="Why and where it went.")]) -> None:
    """Take an item scanned at the site but not listed away from the destruction, with the reason."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    run(lambda: destruction.set_aside(store().uow(), actor, batch, code, reason))
    out.print(Text(say(f"{code} set aside.", f"{code} 已移出。")))


@destruction_app.command("complete")
def complete_cmd(
    batch: int,
    supervisor: Annotated[list[str], typer.Option(help="Supervisor's badge; repeat (at least two, R-148). Each "
                                                       "signs with their PIN.")],
    method: Annotated[list[str], typer.Option(help="KIND=METHOD (paper=shredding, usb_drive=physical) or one "
                                                   "METHOD for every kind: shredding, pulping, physical, chemical.")],
    site: Annotated[str, typer.Option(help="The designated destruction site (R-149).")],
) -> None:
    """Destroy the batch under supervision: every listed carrier becomes destroyed, one ledger event each."""
    ensure_lang()
    methods: dict[str, str] = {}
    for m in method:
        kind, _, how = m.rpartition("=")
        methods[kind.strip() or "*"] = how
    actor = operator()
    signed: list[Signed | str] = [party(b, f"supervisor{i}") for i, b in enumerate(supervisor, 1)]
    done = run(lambda: destruction.complete(store().uow(), actor, batch, signed, methods, site))
    out.print(Text(say(f"Batch #{batch} destroyed: {len(done.destroyed)} carrier(s); ledger head "
                       f"{done.head_seq}:{done.head_hash}.",
                       f"销毁批次 #{batch} 已销毁 {len(done.destroyed)} 件载体；"
                       f"台账链头 {done.head_seq}:{done.head_hash}。")))


@destruction_app.command("certificate")
def certificate_cmd(batch: int, pdf: Annotated[Path, typer.Option(help="Write the PDF here.")]) -> None:
    """The destruction certificate (销毁清单 and 监销记录) of a completed batch, as PDF."""
    from tracker.reports.destruction_pdf import write_certificate

    ensure_lang()
    s = store()
    with s.uow(readonly=True) as uow:
        v = run(lambda: destruction.view(uow, batch))
    try:
        run(lambda: write_certificate(v, pdf, s.policy.tz))
    except OSError as e:
        fail(EXIT_USAGE, f"Cannot write the certificate: {e}", f"无法写入销毁清单：{e}")
    out.print(say("Written: ", "已写入：") + str(pdf))


# --- archiving, return to the issuer, transfer out (top-level commands) ------------------------------------------

endoflife_commands = typer.Typer()  # `tracker.cli` mounts these on the main app
ReceiptPdf = Annotated[Path | None, typer.Option("--pdf", help="Also write the receipt for both sides to sign.")]


@endoflife_commands.command("archive")
def archive_cmd(codes: list[str], to: Annotated[str, typer.Option("--to", help="The archive place's code.")],
                note: str = "") -> None:
    """File carriers to the archive (归档): custody passes to the archive place."""
    ensure_lang()
    check_codes(*codes)
    actor = operator()
    seqs = run(lambda: endoflife.archive(store().uow(), actor, codes, to, note))
    out.print(Text(say(f"{len(seqs)} carrier(s) archived in {to}.", f"已将 {len(seqs)} 件载体归档至 {to}。")))


@endoflife_commands.command("return-to-issuer")
def return_cmd(codes: list[str], receiver: Annotated[str, typer.Option(help="Who signed the receipt.")],
               receipt: Annotated[str, typer.Option(help="The number of the signed receipt.")],
               unit: Annotated[str | None, typer.Option(help="Receiving unit; default the issuer on record.")]
               = None, pdf: ReceiptPdf = None) -> None:
    """Return carriers to the issuing unit (退回发文单位): they leave the active register, their history stays."""
    ensure_lang()
    check_codes(*(codes or []))
    actor = operator()
    seqs = run(lambda: endoflife.return_to_issuer(store().uow(), actor, codes, receiver, receipt, unit))
    out.print(Text(say(f"{len(seqs)} carrier(s) returned to the issuer (receipt {receipt}).",
                       f"已退回 {len(seqs)} 件载体（回执 {receipt}）。")))
    _receipt(seqs, unit, receiver, receipt, pdf)


@endoflife_commands.command("transfer-out")
def transfer_cmd(codes: list[str], unit: Annotated[str, typer.Option(help="The unit taking them over.")],
                 receiver: Annotated[str, typer.Option(help="Who signed the receipt.")],
                 receipt: Annotated[str, typer.Option(help="The number of the signed receipt.")],
                 leader: Annotated[str, typer.Option(help="Badge of the supervising leader who signs it off (R-142); "
                                                          "signs with PIN.")],
                 pdf: ReceiptPdf = None) -> None:
    """Hand carriers over to another unit (移交, R-144): they leave the active register, their history stays."""
    ensure_lang()
    check_codes(*(codes or []))
    actor = operator()
    signer = party(leader, "leader")
    seqs = run(lambda: endoflife.transfer_out(store().uow(), actor, codes, unit, receiver, receipt, signer))
    out.print(Text(say(f"{len(seqs)} carrier(s) transferred to {unit} (receipt {receipt}).",
                       f"已向 {unit} 移交 {len(seqs)} 件载体（回执 {receipt}）。")))
    _receipt(seqs, unit, receiver, receipt, pdf)



def _receipt(seqs: list[int], unit: str | None, receiver: str, receipt: str, pdf: Path | None) -> None:
    """The receipt of what was just recorded, read back from the ledger events it wrote (already committed)."""
    if pdf is None:
        return
    from tracker.reports.release_pdf import write_receipt

    with store().uow(readonly=True) as uow:
        rows = [r for r in endoflife.departures(uow, datetime(2000, 1, 1, tzinfo=UTC), _now()
                                                + timedelta(days=3650)) if r["seq"] in set(seqs)]
    where = unit or str(rows[0]["detail"]).split(" / ")[0] if rows else ""
    try:
        run(lambda: write_receipt(rows, where, receiver, receipt, pdf))
    except OSError as e:
        fail(EXIT_USAGE, f"Recorded, but the receipt could not be written: {e}", f"已登记，但无法写入回执：{e}")
    out.print(say("Receipt written: ", "回执已写入：") + str(pdf))


@destruction_app.command("register")
def register_cmd(since: Annotated[str, typer.Option("--from", help="Start, e.g. 2026-10-01 (local time).")],
                 until: Annotated[str | None, typer.Option("--to", help="End (default now).")] = None,
                 as_json: JsonFlag = False) -> None:
    """The period's register of carriers that left (destroyed, returned to the issuer, transferred out)."""
    ensure_lang()
    start = parse_when(since)
    end = parse_when(until) or _now()
    assert start is not None
    with store().uow(readonly=True) as uow:
        rows = endoflife.departures(uow, start, end)
    if as_json:
        print_json(rows)
        return
    table(say("Carriers that left the register", "注销载体台账"), list(rows[0]) if rows else ["seq"],
          [list({**r, "at": when(r["at"])}.values()) for r in rows])


@endoflife_commands.command("retire")
def retire_cmd(codes: list[str],
               reason: Annotated[str, typer.Option(help="The written reason (worn out, broken, replaced…).")],
               batch: Annotated[int | None, typer.Option(help="Put them on this open batch; default a new one.")]
               = None) -> None:
    """Retire (报废) storage media and equipment: they go on a destruction batch with the reason (R-104, R-121)."""
    ensure_lang()
    check_codes(*(codes or []))
    actor = operator()
    number, seqs = run(lambda: destruction.retire(store().uow(), actor, codes, reason, batch))
    out.print(Text(say(f"{len(seqs)} item(s) retired onto destruction batch #{number}: submit it for approval, "
                       "then destroy them physically or chemically.",
                       f"已将 {len(seqs)} 件报废并列入销毁批次 #{number}：请报批后以物理或化学方式销毁。")))


@endoflife_commands.command("certify")
def certify_cmd(code: str,
                product: Annotated[str, typer.Option(help="The product (a domestic, certified model).")],
                certificate: Annotated[str, typer.Option(help="The certificate's number from the competent "
                                                              "authorities.")]) -> None:
    """Record a classified computer's product certification (R-110) on its history and the media ledger."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    seq = run(lambda: endoflife.certify(store().uow(), actor, code, product, certificate))
    out.print(Text(say(f"Certification of {code} recorded (event {seq}).",
                       f"已登记 {code} 的产品认证（事件 {seq}）。")))


@endoflife_commands.command("repair")
def repair_cmd(
    code: str,
    repairer: Annotated[str, typer.Option(help="'in-house', or a designated repair unit named in the policy.")],
    custodian: Annotated[str, typer.Option(help="Badge of who supervises the repair; signs with PIN.")],
    storage: Annotated[str, typer.Option(help="removed (sealed at the unit), sanitised, or kept (in-house only).")],
    due: Annotated[str | None, typer.Option(help="Back by (e.g. +5d); in-house default end of the day.")] = None,
    approval: Annotated[int | None, typer.Option(help="Carry-out approval for a repair outside.")] = None,
) -> None:
    """Send a medium or device for repair (维修, R-115–R-118); it comes back with `tracker checkin`."""
    ensure_lang()
    check_codes(code)
    when = parse_when(due)
    actor = operator()
    holder = party(custodian, "custodian")
    seq = run(lambda: endoflife.send_for_repair(store().uow(), actor, code, repairer, holder, storage, when,
                                                approval))
    out.print(Text(say(f"{code} sent for repair ({repairer}) with {custodian} (event {seq}).",
                       f"{code} 已送修（{repairer}），保管人 {custodian}（事件 {seq}）。")))


@endoflife_commands.command("archive-access")
def archive_access_cmd(
    code: str,
    visitor: Annotated[str, typer.Option(help="The outside requester's name.")],
    unit: Annotated[str, typer.Option(help="The requester's unit.")],
    letter: Annotated[str, typer.Option(help="The letter of introduction (介绍信) reference.")],
    parts: Annotated[str, typer.Option(help="What the letter says is to be consulted.")],
    room: Annotated[str, typer.Option(help="The archive room's place code (the room the carrier is filed in).")],
    approval: ApprovalNumber = None,
    extracts: Annotated[int, typer.Option(help="Extracts taken.")] = 0,
    stamped: Annotated[bool, typer.Option(help="The extracts were checked and stamped (R-72).")] = False,
) -> None:
    """Record an outside requester's reading of an archived carrier (查阅档案, R-71, R-72)."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    seq = run(lambda: endoflife.consult_archive(store().uow(), actor, code, visitor, unit, letter, parts, room,
                                                approval, extracts, stamped))
    out.print(Text(say(f"Archive access to {code} recorded (event {seq}).",
                       f"已登记 {code} 的档案查阅（事件 {seq}）。")))


def _now() -> datetime:
    from tracker.store import current_time

    return current_time()
