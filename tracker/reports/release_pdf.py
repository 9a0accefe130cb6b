"""Receipt (回执) for carriers handed out of the unit — returned to the issuer or transferred to another unit — as PDF:
the list with document and copy numbers, kinds and levels, the receiving unit and person, the receipt number, the
ledger events that took each carrier off the books, and lines for both sides to sign (R-144: signed receipts).

It lays out rows `tracker.services.endoflife.departures` returned and nothing else; it never queries the register.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, TableStyle

from tracker.domain import CarrierKind, Classification, DomainError
from tracker.reports.stocktake_pdf import _esc, _styles, _table


def write_receipt(rows: list[dict[str, Any]], unit: str, receiver: str, receipt: str, path: Path) -> Path:
    if not rows:
        raise DomainError("Nothing to put on the receipt.", "回执中没有载体。")
    st = _styles()
    doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm,
                            topMargin=12 * mm, bottomMargin=12 * mm, title=f"Receipt {receipt}",
                            author="carrier-tracker")
    width = doc.width
    returned = rows[0]["event"] == "returned_to_issuer"
    title = "涉密载体退回回执 Receipt for carriers returned to the issuer" if returned else \
        "涉密载体移交回执 Receipt for carriers transferred"
    story: list[Any] = [Paragraph(_esc(f"{title} — {receipt}"), st["title"])]
    story.append(_table([["接收单位 Receiving unit", unit, "接收人 Receiver", receiver],
                         ["回执编号 Receipt", receipt, "时间 Time", rows[0]["at"]]],
                        [width * 0.16, width * 0.34, width * 0.16, width * 0.34], st["cell"]))
    story.append(Spacer(1, 3 * mm))
    items: list[list[Any]] = [["序号 No.", "编号 Code", "文件编号 Doc number", "份号 Copy", "类型 Kind", "密级 Level",
                               "标题 Title", "台账事件 Event"]]
    items += [[i, r["code"], r["doc_number"] or "", r["copy"], f"{CarrierKind(r['kind']).zh} {r['kind']}",
               f"{Classification(r['level']).zh} {r['level']}", r["title"], r["seq"]]
              for i, r in enumerate(rows, 1)]
    story.append(_table(items, [width * x for x in (0.06, 0.12, 0.15, 0.08, 0.13, 0.11, 0.27, 0.08)], st["cell"]))
    story.append(Spacer(1, 4 * mm))
    sign = _table([["", "签字 Signature", "日期 Date"], ["交出方 Handed over by", "", ""],
                   ["接收方 Received by", "", ""]], [width * 0.25, width * 0.5, width * 0.25], st["cell"])
    sign.setStyle(TableStyle([("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white]),
                              ("TOPPADDING", (0, 1), (-1, -1), 14), ("BOTTOMPADDING", (0, 1), (-1, -1), 14)]))
    story.append(sign)
    doc.build(story)
    return path
