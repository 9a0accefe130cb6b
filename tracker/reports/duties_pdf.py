"""The printable weekly duties sheet (本周保密工作事项): one row per duty of the week — late ones first — with its
date, what it is, the rule, who acts and since when it is late, and a column to tick and initial on paper.

It lays out `tracker.duties.Duty` values and nothing else; it never queries the register.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from tracker.domain import local_text
from tracker.duties import KIND_ZH, Duty
from tracker.reports.stocktake_pdf import _esc, _styles, _table


def write_week(duties: Sequence[Duty], monday: date, path: Path, tz: Any, head: tuple[int, str]) -> Path:
    st = _styles()
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"Duties week of {monday.isoformat()}",
                            author="carrier-tracker")
    width = doc.width
    story: list[Any] = [Paragraph(_esc(f"本周保密工作事项 Duties — week of {monday.isoformat()}"), st["title"])]
    rows: list[list[Any]] = [["日期 Due", "事项 Duty", "规则 Rule", "责任 Who", "逾期自 Late since", "内容 What",
                              "完成 Done"]]
    for d in sorted(duties, key=lambda d: (d.late_since is None, d.due)):
        who = d.person or d.responsible
        rows.append([local_text(d.due, tz), f"{KIND_ZH.get(d.kind, d.kind)} {d.kind}", d.rule, who,
                     local_text(d.late_since, tz), f"{d.zh} / {d.en}", ""])
    if len(rows) == 1:
        rows.append(["", "无 None", "", "", "", "", ""])
    story.append(_table(rows, [width * x for x in (0.1, 0.13, 0.06, 0.1, 0.1, 0.43, 0.08)], st["cell"]))
    story.append(Spacer(1, 4 * mm))
    story.append(Paragraph(_esc(f"台账链头 Ledger head when printed: {head[0]}:{head[1]}"), st["p"]))
    doc.build(story)
    return path
