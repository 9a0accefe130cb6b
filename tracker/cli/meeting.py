"""`tracker meeting …` — classified meetings (涉密会议): open a meeting, issue documents to signed-in attendees,
collect them back, register a kept copy, report one missing, close with the venue check, show, list, and write the
meeting record (R-127) as PDF, XLSX or CSV.

Each command identifies the operator (the registry's clerk) and, to issue, the attendee with badge and PIN
(TRACKER_ATTENDEE_PIN for scripts), then makes one call to `tracker.services.meetings`; it must never check a rule
itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from tracker.cli.common import (
    EXIT_USAGE,
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
    from tracker.services import meetings
else:
    meetings = lazy("tracker.services.meetings")

meeting_app = typer.Typer(no_args_is_help=True, help="Classified meetings (涉密会议): issue, collect, close, record.")


@meeting_app.command("new")
def new_cmd(
    venue: Annotated[str, typer.Option(help="The venue's place code (a registered room fit for the level).")],
    level: Annotated[str, typer.Option(help="The meeting's level, e.g. secret / 机密.")],
    attendee: Annotated[list[str], typer.Option(help="An attendee's badge (repeat for each).")],
    start: Annotated[str, typer.Option(help="Start, e.g. 2026-11-25T09:00 (local) or +0h.")] = "+0h",
    end: Annotated[str, typer.Option(help="End, e.g. 2026-11-25T12:00 or +3h.")] = "+3h",
    title: str = "",
) -> None:
    """Open a meeting with its venue, time, level and attendee list (R-123, R-127)."""
    ensure_lang()
    starts, ends = parse_when(start), parse_when(end)
    assert starts is not None and ends is not None
    actor = operator()
    n = run(lambda: meetings.new(store().uow(), actor, title, venue, starts, ends, level, attendee))
    out.print(Text(say(f"Meeting #{n} opened.", f"会议 #{n} 已建立。")))


@meeting_app.command("issue")
def issue_cmd(meeting: int, codes: list[str],
              to: Annotated[str, typer.Option("--to", help="The attendee's badge; the attendee signs with PIN.")]
              ) -> None:
    """Issue documents to an attendee who signs in (one event per document, both identified)."""
    ensure_lang()
    check_codes(*codes)
    actor = operator()
    who = party(to, "attendee")
    seqs = run(lambda: meetings.issue(store().uow(), actor, meeting, who, codes))
    out.print(Text(say(f"{len(seqs)} document(s) issued to {who.badge} at meeting #{meeting}.",
                       f"已向 {who.badge} 发放 {len(seqs)} 份会议材料（会议 #{meeting}）。")))


@meeting_app.command("collect")
def collect_cmd(meeting: int, codes: list[str],
                to: Annotated[str | None, typer.Option("--to", help="Place; default where each came from.")]
                = None) -> None:
    """Scan documents back from the attendees (收回, R-123)."""
    ensure_lang()
    check_codes(*codes)
    actor = operator()
    seqs = run(lambda: meetings.collect(store().uow(), actor, meeting, codes, to))
    out.print(Text(say(f"{len(seqs)} document(s) collected at meeting #{meeting}.",
                       f"已收回 {len(seqs)} 份会议材料（会议 #{meeting}）。")))


@meeting_app.command("keep")
def keep_cmd(meeting: int, code: str) -> None:
    """Register a document as kept by its attendee (R-125: below 机密 only)."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    run(lambda: meetings.keep(store().uow(), actor, meeting, code))
    out.print(Text(say(f"{code} registered as kept by its attendee.", f"{code} 已登记由参会人留存。")))


@meeting_app.command("missing")
def missing_cmd(meeting: int, code: str, note: str = "") -> None:
    """Report a document not returned as missing (R-154; the R-155 clock starts)."""
    ensure_lang()
    check_codes(code)
    actor = operator()
    deadline = run(lambda: meetings.report_missing(store().uow(), actor, meeting, code, note))
    out.print(Text(say(f"{code} reported missing; a leak incident from {when(deadline, zone=True)} if not found.",
                       f"{code} 已报告下落不明；如至 {when(deadline, zone=True)} 仍未找到，按泄密事件处理。")))


@meeting_app.command("close")
def close_cmd(meeting: int, venue_check: Annotated[str, typer.Option(
        help="What the check of the venue and lodgings found (R-126).")]) -> None:
    """Close the meeting: every document back or accounted for, the venue checked (R-123, R-126)."""
    ensure_lang()
    actor = operator()
    seq, digest = run(lambda: meetings.close(store().uow(), actor, meeting, venue_check))
    out.print(Text(say(f"Meeting #{meeting} closed; ledger head {seq}:{digest}.",
                       f"会议 #{meeting} 已结束；台账链头 {seq}:{digest}。")))


@meeting_app.command("show")
def show_cmd(meeting: int, as_json: JsonFlag = False) -> None:
    """A meeting: its sign-in list and every document issued and how it came back."""
    ensure_lang()
    with store().uow(readonly=True) as uow:
        v = run(lambda: meetings.view(uow, meeting))
    if as_json:
        print_json({**v.__dict__, "attendees": [a.__dict__ for a in v.attendees],
                    "materials": [m.__dict__ for m in v.materials], "outstanding": v.outstanding})
        return
    out.print(Text(say(f"Meeting #{v.id} {v.title} — {v.status}, {v.level}, at {v.venue} {v.venue_name}, "
                       f"{when(v.starts_at)} – {when(v.ends_at, zone=True)}",
                       f"会议 #{v.id} {v.title} — {meetings.STATUS_ZH.get(v.status, v.status)}，{v.level}，会场 "
                       f"{v.venue} {v.venue_name}，{when(v.starts_at)} – {when(v.ends_at, zone=True)}")))
    table(say("Sign-in", "签到"), ["badge", "name", "unit", "clearance", "signed_in"],
          [[a.badge, a.name, a.unit, a.clearance, when(a.signed_in_at)] for a in v.attendees])
    table(say("Materials", "会议材料"), ["code", "doc_number", "copy", "level", "attendee", "issued", "outcome"],
          [[m.code, m.doc_number, f"{m.copy_number}/{m.copy_total}" if m.copy_number else "", m.level, m.attendee,
            when(m.issued_at), m.outcome or ("missing" if m.status == "missing" else "out")] for m in v.materials])
    if v.status == "closed":
        out.print(Text(say(f"Venue check: {v.venue_check} ({v.venue_checked_by}); ledger head "
                           f"{v.head_seq}:{v.head_hash}",
                           f"会场清查：{v.venue_check}（{v.venue_checked_by}）；台账链头 {v.head_seq}:{v.head_hash}")))


@meeting_app.command("list")
def list_cmd(status: Annotated[str | None, typer.Option(help="open or closed.")] = None,
             as_json: JsonFlag = False) -> None:
    """Meetings, newest first."""
    ensure_lang()
    if status is not None and status not in ("open", "closed"):
        fail(EXIT_USAGE, f"Unknown status {status!r}: use open or closed.",
             f"无法识别的状态 {status!r}：请使用 open 或 closed。")
    with store().uow(readonly=True) as uow:
        views = meetings.meetings(uow, status)
    rows = [{"id": v.id, "title": v.title, "venue": v.venue, "level": v.level, "status": v.status,
             "starts_at": v.starts_at.isoformat(), "issued": len(v.materials), "outstanding": len(v.outstanding)}
            for v in views]
    if as_json:
        print_json(rows)
        return
    table(say("Meetings", "会议"), list(rows[0]) if rows else ["id"], [list(r.values()) for r in rows])


@meeting_app.command("record")
def record_cmd(meeting: int,
               pdf: Annotated[Path | None, typer.Option(help="Write the record as PDF here.")] = None,
               xlsx: Annotated[Path | None, typer.Option(help="Write the record as XLSX here.")] = None,
               csv: Annotated[Path | None, typer.Option(help="Write the record as CSV here.")] = None) -> None:
    """The meeting record (R-127): sign-in, materials issued and collected, venue check, ledger head."""
    from tracker.reports import meeting_record

    ensure_lang()
    if pdf is None and xlsx is None and csv is None:
        fail(EXIT_USAGE, "Say where to write the record: --pdf, --xlsx or --csv.",
             "请指定会议记录的输出：--pdf、--xlsx 或 --csv。")
    s = store()
    with s.uow(readonly=True) as uow:
        v = run(lambda: meetings.view(uow, meeting))
    written = []
    for path, write in ((pdf, meeting_record.write_pdf_record), (xlsx, meeting_record.write_xlsx_record),
                        (csv, meeting_record.write_csv_record)):
        if path is None:
            continue
        try:
            write(v, path, s.policy.tz)
        except OSError as e:
            fail(EXIT_USAGE, f"Cannot write the record: {e}", f"无法写入会议记录：{e}")
        written.append(str(path))
    out.print(say("Written: ", "已写入：") + ", ".join(written))
