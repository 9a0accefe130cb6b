"""Clear-back campaign report as PDF (清退记录, RULES §4): the campaign's criteria and due date, every carrier it
waited for with who held it, when it came back and who brought it, the verification scan (核对), the stragglers
named with their holders, the signature lines of the security officer and the registry, and the ledger head at
closing — so the paper record can be checked against the chain.

It lays out a `tracker.services.campaigns.CampaignView` and nothing else; it never queries the register. An open
campaign prints as a progress sheet, marked as such, never as a closed record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, TableStyle

from tracker.domain import Classification, local_text
from tracker.reports.stocktake_pdf import _esc, _styles, _table
from tracker.services.campaigns import CampaignView


def _level(value: str) -> str:
    try:
        return f"{Classification(value).zh} {value}"
    except ValueError:
        return value


def write_report(c: CampaignView, path: Path, tz: Any) -> Path:
    st = _styles()
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"Campaign report #{c.id}",
                            author="carrier-tracker")
    width = doc.width
    state = "已办结 Closed" if c.status == "closed" else \
        "进行中（进度表，非结案记录）Open — progress sheet, not the record"
    story: list[Any] = [Paragraph(_esc(f"涉密载体清退记录 Clear-back record — campaign #{c.id} {c.name}"),
                                  st["title"])]
    criteria = ", ".join(f"{k}={v}" for k, v in sorted(c.criteria.items())) or "全部涉密载体 every classified carrier"
    facts = [
        ["类型 Kind", "年终收缴 year-end" if c.kind == "year_end" else "清退 clear-back", "状态 Status", state],
        ["范围 Criteria", criteria, "截止 Due", local_text(c.due_at, tz, zone=True)],
        ["发起 Opened by", f"{c.created_by} {local_text(c.created_at, tz, zone=True)}", "办结 Closed by",
         f"{c.closed_by or ''} {local_text(c.closed_at, tz, zone=True)}"],
        ["应收回 Waited for", str(len(c.items)), "已收回 Returned / 未收回 Stragglers",
         f"{len(c.returned)} / {len(c.stragglers)}"],
    ]
    story.append(_table(facts, [width * 0.14, width * 0.36, width * 0.16, width * 0.34], st["cell"]))
    story.append(Paragraph("清退清单 Items (核对, R-132)", st["h"]))
    rows: list[list[Any]] = [["序号 No.", "编号 Code", "文号 Doc number", "密级 Level", "原持有人 Held by",
                              "归还 Returned", "归还人 By", "核对 Verified"]]
    for i, it in enumerate(c.items, 1):
        rows.append([i, it.code, it.doc_number or "", _level(it.level), f"{it.holder or ''} {it.holder_name or ''}",
                     local_text(it.returned_at, tz), it.returned_by or "",
                     f"{local_text(it.verified_at, tz)} {it.verified_by or ''}"])
    story.append(_table(rows, [width * x for x in (0.05, 0.12, 0.15, 0.1, 0.16, 0.13, 0.12, 0.17)], st["cell"]))
    story.append(Paragraph("未收回 Stragglers", st["h"]))
    if c.stragglers:
        strag = [["编号 Code", "密级 Level", "持有人 Holder", "现状 Status now"],
                 *[[s.code, _level(s.level), f"{s.holder or ''} {s.holder_name or ''}", s.status]
                   for s in c.stragglers]]
        story.append(_table(strag, [width * 0.2, width * 0.2, width * 0.3, width * 0.3], st["cell"]))
    else:
        story.append(Paragraph("无 None: every carrier came back.", st["p"]))
    sign: list[list[Any]] = [["职责 Role", "姓名 Name", "签字 Signature", "日期 Date"],
                             ["保密办 Security officer", c.closed_by or "", "", ""],
                             ["机要室 Registry", "", "", ""]]
    sig_table = _table(sign, [width * 0.2, width * 0.25, width * 0.35, width * 0.2], st["cell"])
    sig_table.setStyle(TableStyle([("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                                   ("TOPPADDING", (0, 1), (-1, -1), 12), ("BOTTOMPADDING", (0, 1), (-1, -1), 12)]))
    story.append(KeepTogether([Paragraph("签字 Signatures", st["h"]), sig_table]))
    story.append(Spacer(1, 4 * mm))
    if c.head_seq is not None:
        story.append(Paragraph(_esc(f"台账链头 Ledger head at closing: {c.head_seq}:{c.head_hash}"), st["p"]))
    doc.build(story)
    return path
