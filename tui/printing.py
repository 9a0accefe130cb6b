"""Files the counter produces: a carrier's label (PDF through `labels`) and a handover receipt (PDF, reportlab).

Both are written into the context's output directory and the path is returned for the screen to show; printing the
PDF is the operating system's business (any PDF viewer or `lp`). The receipt names both parties, when each signed,
every carrier with its marking, and the ledger events recorded, with lines for hand signatures. Nothing here
touches the register: callers pass the values to print.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from labels.layout import carrier_content, load_layout
from labels.marking import MarkingError, make_marking
from labels.render.pdf import cjk_font_name, render_pdf_label
from tracker.queries import CarrierView

LAYOUT_FOR_KIND = {"paper": "document-cover", "optical_disc": "disc-hub", "usb_drive": "usb-flag"}
_LEVELS = {"top_secret": "绝密", "secret": "机密", "confidential": "秘密", "internal": "内部"}


class PrintError(ValueError):
    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.en = en
        self.zh = zh


def label_pdf(view: CarrierView) -> bytes:
    """One label for a carrier, in the layout for its kind (document cover, disc hub, USB flag or asset tag); never
    for a carrier off the books (R-145), which a fresh label would dress as one still on the register."""
    from tracker.domain import CarrierStatus
    from tracker.rules import check_new_label

    for v in check_new_label(view.code, CarrierStatus(view.status)):
        raise PrintError(f"Refused [{v.rule}]: {v.en}", f"拒绝 [{v.rule}]：{v.zh}")
    marking = None
    level = _LEVELS.get(view.classification)
    if level is not None:
        try:
            copy = (view.copy_number, view.copy_total) if view.copy_number and view.copy_total else None
            period = None if level == "内部" else (view.period or None)
            marking = make_marking(level, period, copy)
        except MarkingError as e:
            raise PrintError(f"Cannot print the marking of {view.code}: {e.message_en}",
                             f"无法打印 {view.code} 的密级标志：{e.message_zh}") from e
    layout = load_layout(LAYOUT_FOR_KIND.get(view.kind, "asset"))
    content = carrier_content(view.code, marking, title=view.doc_number or None, epc=view.epc)
    return render_pdf_label(layout, content)


def save(directory: Path, name: str, data: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(data)
    return path


@dataclass(frozen=True)
class ReceiptParty:
    badge: str
    name: str
    signed_at: datetime | None


def handover_receipt_pdf(*, at: datetime, tz: ZoneInfo, terminal: str, operator: str, giver: ReceiptParty,
                         taker: ReceiptParty, carriers: Sequence[CarrierView], events: Sequence[int]) -> bytes:
    """A4 receipt of one handover (载体交接单), bilingual headings, one line per carrier."""
    cjk = cjk_font_name()  # embedded: the receipt is a signed record and must print the same anywhere
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=True)
    c.setTitle("载体交接单 Handover receipt")
    _width, height = A4
    y = height - 20 * mm

    def line(text: str, size: float = 10, step: float = 6) -> None:
        nonlocal y
        if y < 25 * mm:
            c.showPage()
            y = height - 20 * mm
        c.setFont(cjk, size)
        c.drawString(18 * mm, y, text)
        y -= step * mm

    def when(moment: datetime | None) -> str:
        return f"{moment.astimezone(tz):%Y-%m-%d %H:%M:%S}" if moment else "—"

    line("涉密载体交接单  Handover receipt of classified carriers", 14, 10)
    line(f"时间 Time: {when(at)}    终端 Terminal: {terminal}    登记人 Recorded by: {operator}")
    line(f"交出人 Giver: {giver.badge} {giver.name}    签字 Signed (badge+PIN): {when(giver.signed_at)}")
    line(f"接收人 Taker: {taker.badge} {taker.name}    签字 Signed (badge+PIN): {when(taker.signed_at)}", step=9)
    line(f"载体 Carriers ({len(carriers)}):", 11, 7)
    for i, v in enumerate(carriers, start=1):
        copy = f" 第{v.copy_number}份 共{v.copy_total}份" if v.copy_number and v.copy_total else ""
        line(f"{i:>3}. {v.code}  {v.marking}{copy}  {v.doc_number or ''}  {v.title[:40]}", 9, 5)
    y -= 4 * mm
    line(f"台账事件 Ledger events: {', '.join(str(e) for e in events)}", 9, 12)
    line("交出人签字 Giver's signature: ____________________    接收人签字 Taker's signature: ____________________",
         10, 8)
    c.showPage()
    c.save()
    return buf.getvalue()
