"""TSPL/TSPL2 for TSC and TSC-compatible thermal printers (many Chinese-market desktop printers speak it). Barcodes
use the printer's ``BARCODE "128"``, ``DMATRIX`` and ``QRCODE`` commands; Chinese text uses the printer's resident
simplified-Chinese font ``TSS24.BF2``, which takes GB 18030/GBK bytes, so a job is bytes, not text. RFID encoding is
not offered in TSPL here (ZPL printers do it). This module only builds jobs; ``labels.printers`` sends them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from labels.layout import FrameElement, LabelContent, Layout, LayoutError, LineElement, PlacedBarcode, PlacedText, place
from labels.render.common import MM_PER_INCH, bars_in_dots, dots, grid_in_dots, stroke_dots
from labels.text import printable

__all__ = ["TsplOptions", "render_tspl", "render_tspl_batch", "tspl_quote"]

_CJK_FONT = "TSS24.BF2"
_CJK_CELL = 24  # TSS24.BF2 is a 24 x 24 dot font; ASCII in it is half width
_FONT0_ADVANCE = 0.55


@dataclass(frozen=True, slots=True)
class TsplOptions:
    dpi: int = 203
    gap_mm: float = 2.0
    copies: int = 1
    encoding: str = "gb18030"


def tspl_quote(text: str) -> str:
    """A TSPL string literal: a double quote inside is written ``\\["]``, and every control character is written
    out as text (``\\x0d``, `labels.text.printable`). A TSPL command ends at CR/LF wherever it stands, even inside
    quotes, and TSPL has no escape for either: a document number ``A"⏎PRINT 99⏎…`` must print as one string on one
    label, never as a ``PRINT 99`` line of its own."""
    return '"' + printable(text).replace('"', '\\["]') + '"'


def _text(t: PlacedText, o: TsplOptions) -> str:
    text = printable(t.text)
    dpmm = o.dpi / MM_PER_INCH
    box_w = t.w * dpmm
    x, y = dots(t.x, o.dpi), dots(t.y, o.dpi)
    h = max(8, round(t.size * dpmm))
    if text.isascii():
        pt = max(4, round(t.size * 72 / MM_PER_INCH))
        width = _FONT0_ADVANCE * h * len(text)
        if width > box_w:
            pt = max(4, int(pt * box_w / width))
            h = max(8, int(h * box_w / width))
            width = box_w
        args = f'"0",0,{pt},{pt},{tspl_quote(text)}'
    else:
        mul = max(1, round(h / _CJK_CELL))
        units = sum(1 if ch.isascii() else 2 for ch in text)
        while mul > 1 and units * _CJK_CELL // 2 * mul > box_w:
            mul -= 1
        h = _CJK_CELL * mul
        width = units * _CJK_CELL // 2 * mul
        args = f'"{_CJK_FONT}",0,{mul},{mul},{tspl_quote(text)}'
    if t.align == "center":
        x += int((box_w - width) // 2)
    elif t.align == "right":
        x += int(box_w - width)
    y += max(0, (dots(t.h, o.dpi) - h) // 2)
    # the position is put in front, never formatted into a string holding data: a "{" in a title stays a "{"
    return f"TEXT {max(0, x)},{y},{args}"


def _barcode(pb: PlacedBarcode, o: TsplOptions) -> str:
    if pb.kind == "code128":
        b = bars_in_dots(pb, o.dpi)
        m = int(b.module)
        return f'BARCODE {int(b.x)},{int(b.y)},"128",{int(b.height)},0,0,{m},{m},{tspl_quote(pb.data)}'
    g = grid_in_dots(pb, o.dpi)
    m = int(g.module)
    if pb.kind == "datamatrix":
        # module, rows and columns named, so the printer draws the preview's symbol in an area that just holds it
        return (
            f"DMATRIX {int(g.x)},{int(g.y)},{g.columns * m},{g.rows * m},x{m},{g.rows},{g.columns},"
            f"{tspl_quote(pb.data)}"
        )
    return f"QRCODE {int(g.x)},{int(g.y)},M,{min(10, int(g.module))},A,0,{tspl_quote(pb.data)}"


def render_tspl(layout: Layout, content: LabelContent, options: TsplOptions | None = None) -> bytes:
    """One TSPL job, encoded for the printer (GB 18030 by default, for ``TSS24.BF2``)."""
    o = options or TsplOptions()
    if content.epc is not None:
        raise LayoutError(
            "RFID encoding needs a ZPL printer; TSPL jobs here carry no EPC",
            "RFID 写入需要 ZPL 打印机；TSPL 任务不写入 EPC",
        )
    items = place(layout, content)
    lines = [
        f"SIZE {layout.width:g} mm,{layout.height:g} mm",
        f"GAP {o.gap_mm:g} mm,0 mm",
        "DIRECTION 1,0",
        "REFERENCE 0,0",
        "CLS",
    ]
    for it in items:
        if isinstance(it, PlacedText):
            lines.append(_text(it, o))
        elif isinstance(it, PlacedBarcode):
            lines.append(_barcode(it, o))
        elif isinstance(it, LineElement):
            t = stroke_dots(it.thickness, o.dpi)
            x1, y1, x2, y2 = (dots(v, o.dpi) for v in (it.x1, it.y1, it.x2, it.y2))
            if x1 != x2 and y1 != y2:
                lines.append(f"DIAGONAL {x1},{y1},{x2},{y2},{t}")
            else:
                lines.append(f"BAR {min(x1, x2)},{min(y1, y2)},{max(abs(x2 - x1), t)},{max(abs(y2 - y1), t)}")
        elif isinstance(it, FrameElement):
            t = stroke_dots(it.thickness, o.dpi)
            x, y = dots(it.x, o.dpi), dots(it.y, o.dpi)
            lines.append(f"BOX {x},{y},{x + dots(it.w, o.dpi)},{y + dots(it.h, o.dpi)},{t}")
    lines.append(f"PRINT 1,{max(1, o.copies)}")
    text = "\r\n".join(lines) + "\r\n"
    try:
        return text.encode(o.encoding)
    except UnicodeEncodeError as exc:
        raise LayoutError(
            f"{exc.object[exc.start : exc.end]!r} cannot be printed with the printer's Chinese font",
            f"打印机中文字库无法打印 {exc.object[exc.start : exc.end]!r}",
        ) from exc


def render_tspl_batch(layout: Layout, contents: Iterable[LabelContent], options: TsplOptions | None = None) -> bytes:
    return b"".join(render_tspl(layout, c, options) for c in contents)
