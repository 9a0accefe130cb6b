"""The meeting record (会议记录, RULES §4 "Meeting record", R-127) as PDF, XLSX and CSV: the sign-in list, every
document issued (to whom, by whom, when) and how it came back (collected, kept, reported missing), the venue check
(R-126) and the ledger head the closing event left — so the archived paper can be checked against the chain.

It lays out a `tracker.services.meetings.MeetingView` and nothing else; it must never query the register itself.
CSV and XLSX go through `tracker.reports.sheets` (formulas neutralised), the PDF through reportlab with the CJK font
of the other registers; times are shown in the unit's zone (`tz`) with UTC beside them in the PDF.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from tracker.domain import Classification, local_text
from tracker.reports.sheets import Sheet, write_csv, write_xlsx
from tracker.reports.stocktake_pdf import _esc, _styles, _table
from tracker.services.meetings import OUTCOME_ZH, STATUS_ZH, MeetingView

ATTENDEE_HEADER = ["工号 Badge", "姓名 Name", "单位 Unit", "涉密等级 Clearance", "签到 Signed in"]
MATERIAL_HEADER = ["编号 Code", "文件编号 Doc number", "份号 Copy", "密级 Level", "领取人 Attendee", "发放 Issued",
                   "发放人 Issued by", "收回情况 Outcome", "办理 Settled", "办理人 Settled by"]


def _t(moment: datetime | None, tz: Any) -> str:
    return local_text(moment, tz) if moment is not None else ""


def _copy(n: int | None, total: int | None) -> str:
    return f"{n}/{total}" if n is not None and total is not None else ""


def _level(level: str) -> str:
    return f"{Classification(level).zh} {level}"


def _outcome(outcome: str | None, status: str) -> str:
    key = outcome if outcome is not None or status != "missing" else "missing"
    return f"{OUTCOME_ZH[key]} {key or 'out'}"


def attendee_rows(m: MeetingView, tz: Any) -> list[list[Any]]:
    return [[a.badge, a.name, a.unit, a.clearance, _t(a.signed_in_at, tz)] for a in m.attendees]


def material_rows(m: MeetingView, tz: Any) -> list[list[Any]]:
    return [[x.code, x.doc_number or "", _copy(x.copy_number, x.copy_total), _level(x.level), x.attendee,
             _t(x.issued_at, tz), x.issued_by, _outcome(x.outcome, x.status), _t(x.settled_at, tz),
             x.settled_by or ""] for x in m.materials]


def summary_rows(m: MeetingView, tz: Any) -> list[list[Any]]:
    return [["会议 Meeting", f"#{m.id} {m.title}"], ["密级 Level", _level(m.level)],
            ["会场 Venue", f"{m.venue} {m.venue_name}"],
            ["时间 Time", f"{_t(m.starts_at, tz)} – {_t(m.ends_at, tz)}"],
            ["状态 Status", f"{STATUS_ZH.get(m.status, m.status)} {m.status}"],
            ["会场清查 Venue check (R-126)", f"{m.venue_check or ''} {m.venue_checked_by or ''}".strip()],
            ["结束 Closed", f"{_t(m.closed_at, tz)} {m.closed_by or ''}".strip()],
            ["台账链头 Ledger head", f"{m.head_seq}:{m.head_hash}" if m.head_seq is not None else ""]]


def write_csv_record(m: MeetingView, path: Path, tz: Any) -> Path:
    """One CSV: the materials table (the issue and collection log), the meeting's facts on each row's left."""
    rows = [[m.id, m.venue, m.head_seq or "", m.head_hash or "", *r] for r in material_rows(m, tz)]
    signed = {a.badge: _t(a.signed_in_at, tz) for a in m.attendees}
    rows += [[m.id, m.venue, m.head_seq or "", m.head_hash or "", "", "", "", "", a, "", "", "签到 signed in", s, ""]
             for a, s in signed.items()]
    return write_csv(path, ["会议 Meeting", "会场 Venue", "链头序号 Head seq", "链头哈希 Head hash",
                            *MATERIAL_HEADER], rows)


def write_xlsx_record(m: MeetingView, path: Path, tz: Any) -> Path:
    return write_xlsx(path, [Sheet("会议 Meeting", summary_rows(m, tz)),
                             Sheet("签到 Sign-in", attendee_rows(m, tz), ATTENDEE_HEADER),
                             Sheet("材料 Materials", material_rows(m, tz), MATERIAL_HEADER)])


def write_pdf_record(m: MeetingView, path: Path, tz: Any) -> Path:
    st = _styles()
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"Meeting record #{m.id}",
                            author="carrier-tracker")
    width = doc.width
    story: list[Any] = [Paragraph(_esc(f"涉密会议记录 Meeting record — #{m.id} {m.title}"), st["title"])]
    story.append(_table([["项目 Item", "内容 Value"], *summary_rows(m, tz)], [width * 0.25, width * 0.75],
                        st["cell"]))
    story.append(Paragraph("签到 Sign-in (R-127)", st["h"]))
    story.append(_table([ATTENDEE_HEADER, *attendee_rows(m, tz)], [width * x for x in (0.18, 0.18, 0.2, 0.2, 0.24)],
                        st["cell"]))
    story.append(Paragraph(f"材料发放与收回 Materials issued and collected ({len(m.materials)})", st["h"]))
    story.append(_table([MATERIAL_HEADER, *material_rows(m, tz)],
                        [width * x for x in (0.1, 0.12, 0.06, 0.1, 0.11, 0.11, 0.1, 0.1, 0.1, 0.1)], st["cell"]))
    story.append(Spacer(1, 4 * mm))
    head = f"{m.head_seq}:{m.head_hash}" if m.head_seq is not None else "— (not closed 未结束)"
    story.append(Paragraph(_esc(f"台账链头 Ledger head: {head}"), st["p"]))
    doc.build(story)
    return path
