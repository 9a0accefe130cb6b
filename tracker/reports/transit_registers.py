"""The dispatch register (发文登记簿) and the incoming register (收文登记簿) for a period, as PDF, XLSX or CSV.

Rows come from `tracker.services.transit` and `tracker.services.incoming` views; CSV and XLSX go through the one
writer (`tracker.reports.sheets`, formulas neutralised), the PDF through the stock-take report's fonts and tables.
It must never query the register itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate

from tracker.domain import DomainError, local_text
from tracker.reports.sheets import Sheet, write_csv, write_xlsx
from tracker.reports.stocktake_pdf import _esc, _styles, _table
from tracker.services.incoming import IncomingView
from tracker.services.transit import TransitView

DISPATCH_HEADER = ("传递编号 Transit", "发文时间 Dispatched", "发件 From", "收件 To", "密级 Level", "载体 Carriers",
                   "封装/封志 Packages", "交通员 Couriers", "亲启 Personal to", "状态 Status", "签收 Received",
                   "签收人 Received by")
INCOMING_HEADER = ("收文号 No.", "收文时间 Received", "载体编号 Carrier", "来文单位 Sender", "来文字号 Sender's No.",
                   "密级 Level", "份号 Copy", "页数 Pages", "封志 Seal", "亲启 Personal to", "交付 Delivered to",
                   "登记人 Registered by", "传递 Transit")


def dispatch_rows(views: Sequence[TransitView], tz: Any) -> list[list[Any]]:
    out = []
    for t in views:
        couriers = sorted({b for h in t.hops for b in (h.giver, h.taker, h.companion) if b}
                          - {t.dispatched_by, t.received_by or ""})
        out.append([t.id, local_text(t.dispatched_at, tz), t.from_place, t.to_place, t.level, " ".join(t.carriers),
                    "; ".join(f"{p['package']} {p['seal']}" for p in t.packages), " ".join(couriers),
                    t.personal_to or "", t.status, local_text(t.received_at, tz), t.received_by or ""])
    return out


def incoming_rows(views: Sequence[IncomingView], tz: Any) -> list[list[Any]]:
    return [[v.id, local_text(v.received_at, tz), v.carrier, v.sender, v.sender_doc or "", v.level, v.copy,
             v.pages if v.pages is not None else "", "完好 intact" if v.seal_intact else f"破损 broken (#{v.incident})",
             v.personal_to or "", v.delivered_to or "", v.received_by, v.transit or ""] for v in views]


def write(kind: str, rows: list[list[Any]], path: Path, title: str) -> Path:
    """`kind` names the register (dispatch or incoming); the format follows the file's suffix."""
    header = DISPATCH_HEADER if kind == "dispatch" else INCOMING_HEADER
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv(path, header, rows)
    if suffix == ".xlsx":
        return write_xlsx(path, [Sheet(title[:31], rows, header)])
    if suffix == ".pdf":
        st = _styles()
        doc = SimpleDocTemplate(str(path), pagesize=landscape(A4), leftMargin=10 * mm, rightMargin=10 * mm,
                                topMargin=10 * mm, bottomMargin=10 * mm, title=title, author="carrier-tracker")
        width = doc.width / len(header)
        doc.build([Paragraph(_esc(title), st["title"]),
                   _table([list(header), *rows], [width] * len(header), st["cell"])])
        return path
    raise DomainError(f"{path.name}: write a register as .pdf, .xlsx or .csv.",
                      f"{path.name}：登记簿可导出为 .pdf、.xlsx 或 .csv。")
