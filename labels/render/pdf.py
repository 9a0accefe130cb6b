"""PDF output with reportlab: A4 label sheets (grid, margins, a start position to reuse a part-used sheet, and a
printer offset measured from the calibration page), a single-label PDF for previews, and the calibration page
itself. Barcodes are vector rectangles from the same module patterns as every other renderer. This module renders;
it never sends anything to a printer.

Chinese is set by default in a subset of the bundled WenQuanYi Micro Hei, embedded in the file (``cjk_font=
"embedded"``): a sheet has to print the same from an air-gapped machine whatever fonts the viewer or printer has,
and one without a Chinese font (pdfium on a bare Linux box, for one) would otherwise show blank space where the
classification marking belongs. ``cjk_font="STSong-Light"`` keeps reportlab's built-in CID font instead, which is
not embedded — a smaller file, for a viewer known to supply the glyphs.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from labels.layout import (
    FrameElement,
    LabelContent,
    Layout,
    LayoutError,
    LineElement,
    PlacedBarcode,
    PlacedText,
    Sheet,
    check_fits,
    load_sheet,
    place,
)
from labels.render.common import bars_in_mm, grid_in_mm, runs
from labels.text import FONT_PATH

__all__ = [
    "CJK_FONT",
    "EMBEDDED",
    "EMBEDDED_FONT",
    "cjk_font_name",
    "render_calibration_pdf",
    "render_pdf_label",
    "render_pdf_sheet",
]

CJK_FONT = "STSong-Light"  # the built-in choice, not embedded: the viewer must supply the glyphs
EMBEDDED = "embedded"  # the default choice: the bundled font, subset into the PDF
EMBEDDED_FONT = "WQYMicroHei"  # what the embedded font is registered as with reportlab
_registered: set[str] = set()


def cjk_font_name(choice: str = EMBEDDED) -> str:
    """Register and name the CJK font: ``"embedded"`` (bundled, embedded) or ``"STSong-Light"`` (built in, not
    embedded). Registered once per process, as loading the 5 MB font file is the slow part."""
    if choice == CJK_FONT:
        name = CJK_FONT
        if name not in _registered:
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    elif choice == EMBEDDED:
        name = EMBEDDED_FONT
        if name not in _registered:
            pdfmetrics.registerFont(TTFont(EMBEDDED_FONT, str(FONT_PATH), subfontIndex=0))
    else:
        raise LayoutError(
            f"unknown PDF CJK font {choice!r} (embedded or STSong-Light)",
            f"未知的 PDF 中文字体 {choice!r}（embedded 或 STSong-Light）",
        )
    _registered.add(name)
    return name


class _Page:
    """Top-down millimetre coordinates on a reportlab canvas (which counts points up from the bottom)."""

    def __init__(self, canvas: Canvas, page_height_mm: float, cjk: str) -> None:
        self.c = canvas
        self.h = page_height_mm
        self.cjk = cjk

    def x(self, v: float) -> float:
        return float(v * mm)

    def y(self, v: float) -> float:
        return float((self.h - v) * mm)


def _font_for(text: str, bold: bool, cjk: str) -> str:
    if text.isascii():
        return "Helvetica-Bold" if bold else "Helvetica"
    return cjk


def _draw_label(pg: _Page, layout: Layout, content: LabelContent, ox: float, oy: float) -> None:
    c = pg.c
    for it in place(layout, content):
        if isinstance(it, PlacedBarcode):
            path = c.beginPath()
            if it.kind == "code128":
                b = bars_in_mm(it)
                for start, length in runs(b.pattern):
                    x0 = ox + b.x + start * b.module
                    path.rect(pg.x(x0), pg.y(oy + b.y + b.height), length * b.module * mm, b.height * mm)
            else:
                g = grid_in_mm(it)
                for r, row in enumerate(g.matrix):
                    top = oy + g.y + r * g.module
                    for start, length in runs(row):
                        path.rect(
                            pg.x(ox + g.x + start * g.module),
                            pg.y(top + g.module),
                            length * g.module * mm,
                            g.module * mm,
                        )
            c.drawPath(path, stroke=0, fill=1)
        elif isinstance(it, PlacedText):
            _draw_text(pg, it, ox, oy)
        elif isinstance(it, LineElement):
            c.setLineWidth(it.thickness * mm)
            c.line(pg.x(ox + it.x1), pg.y(oy + it.y1), pg.x(ox + it.x2), pg.y(oy + it.y2))
        elif isinstance(it, FrameElement):
            t = it.thickness
            c.setLineWidth(t * mm)
            c.rect(pg.x(ox + it.x + t / 2), pg.y(oy + it.y + it.h - t / 2), (it.w - t) * mm, (it.h - t) * mm)


def _draw_text(pg: _Page, t: PlacedText, ox: float, oy: float) -> None:
    c = pg.c
    fname = _font_for(t.text, t.bold, pg.cjk)
    size = t.size * mm
    width = pdfmetrics.stringWidth(t.text, fname, size)
    if width > t.w * mm:
        size *= t.w * mm / width
        width = t.w * mm
    baseline = oy + t.y + t.h / 2 + 0.36 * size / mm
    if t.align == "center":
        x = ox + t.x + (t.w - width / mm) / 2
    elif t.align == "right":
        x = ox + t.x + t.w - width / mm
    else:
        x = ox + t.x
    fake_bold = t.bold and fname == pg.cjk
    if fake_bold:
        # The CJK fonts have no bold face: fill and stroke the outline to thicken it. The render mode is graphics
        # state that outlives the text object, hence the save/restore around it.
        c.saveState()
        c.setLineWidth(size * 0.035)
    text = c.beginText(pg.x(x), pg.y(baseline))
    text.setFont(fname, size)
    if fake_bold:
        text.setTextRenderMode(2)
    text.textOut(t.text)
    c.drawText(text)
    if fake_bold:
        c.restoreState()


def render_pdf_label(layout: Layout, content: LabelContent, *, cjk_font: str = EMBEDDED) -> bytes:
    """One label on a page of the label's own size (a preview, or for a printer driver that takes PDF)."""
    cjk = cjk_font_name(cjk_font)
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(layout.width * mm, layout.height * mm), pageCompression=1)
    c.setTitle(f"{layout.title} {content.code}")
    _draw_label(_Page(c, layout.height, cjk), layout, content, 0.0, 0.0)
    c.showPage()
    c.save()
    return buf.getvalue()


def render_pdf_sheet(
    layout: Layout,
    contents: Iterable[LabelContent],
    sheet: Sheet | str,
    *,
    offset_x: float = 0.0,
    offset_y: float = 0.0,
    start: int = 1,
    outlines: bool = False,
    cjk_font: str = EMBEDDED,
) -> bytes:
    """Labels on A4 sheets, row by row, beginning at cell ``start`` (1-based) of the first sheet.

    ``offset_x``/``offset_y`` (mm) shift everything to undo the printer's own misplacement, as measured with the
    calibration page. A label smaller than its cell is centred in it. Every label is placed (and so its code
    checked) before the first page is drawn, so a bad label refuses the whole sheet instead of wasting half of it.
    """
    cjk = cjk_font_name(cjk_font)
    sh = load_sheet(sheet) if isinstance(sheet, str) else sheet
    check_fits(layout, sh)
    items: Sequence[LabelContent] = list(contents)
    if not 1 <= start <= sh.per_page:
        raise LayoutError(
            f"start position must be 1 to {sh.per_page} on sheet {sh.name}",
            f"起始位置必须在 1 至 {sh.per_page} 之间",
        )
    if not items:
        raise LayoutError("no labels to put on the sheet", "没有要打印的标签")
    for content in items:
        place(layout, content)
    dx, dy = (sh.label_width - layout.width) / 2, (sh.label_height - layout.height) / 2
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(sh.page_width * mm, sh.page_height * mm), pageCompression=1)
    c.setTitle(f"{layout.title} - {sh.title}")
    pg = _Page(c, sh.page_height, cjk)
    cell = start - 1
    for content in items:
        if cell == sh.per_page:
            c.showPage()
            cell = 0
        x, y = sh.cell_origin(cell, offset_x, offset_y)
        if outlines:
            _outline(pg, sh, x, y)
        _draw_label(pg, layout, content, x + dx, y + dy)
        cell += 1
    c.showPage()
    c.save()
    return buf.getvalue()


def _outline(pg: _Page, sh: Sheet, x: float, y: float, *, grey: float = 0.6) -> None:
    c = pg.c
    c.saveState()
    c.setStrokeGray(grey)
    c.setLineWidth(0.2 * mm)
    if sh.shape == "disc":
        c.ellipse(pg.x(x), pg.y(y + sh.label_height), pg.x(x + sh.label_width), pg.y(y), stroke=1, fill=0)
    else:
        c.rect(pg.x(x), pg.y(y + sh.label_height), sh.label_width * mm, sh.label_height * mm, stroke=1, fill=0)
    c.restoreState()


def render_calibration_pdf(
    sheet: Sheet | str, *, offset_x: float = 0.0, offset_y: float = 0.0, cjk_font: str = EMBEDDED
) -> bytes:
    """A page that draws every cell's outline and a millimetre cross at its centre.

    Print it on plain paper with the offsets in use, lay it on a label sheet against the light, and read off how far
    the printed crosses sit from the centres of the die-cut labels: that distance is the correction to add to
    ``offset_x`` (right is positive) and ``offset_y`` (down is positive).
    """
    cjk = cjk_font_name(cjk_font)
    sh = load_sheet(sheet) if isinstance(sheet, str) else sheet
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(sh.page_width * mm, sh.page_height * mm))
    c.setTitle(f"Calibration {sh.name}")
    pg = _Page(c, sh.page_height, cjk)
    for i in range(sh.per_page):
        x, y = sh.cell_origin(i, offset_x, offset_y)
        _outline(pg, sh, x, y, grey=0.0)
        cx, cy = x + sh.label_width / 2, y + sh.label_height / 2
        c.setLineWidth(0.1 * mm)
        c.line(pg.x(cx - 6), pg.y(cy), pg.x(cx + 6), pg.y(cy))
        c.line(pg.x(cx), pg.y(cy - 6), pg.x(cx), pg.y(cy + 6))
        for k in range(-5, 6):
            tick = 1.2 if k % 5 == 0 else 0.6
            c.line(pg.x(cx + k), pg.y(cy - tick), pg.x(cx + k), pg.y(cy + tick))
            c.line(pg.x(cx - tick), pg.y(cy + k), pg.x(cx + tick), pg.y(cy + k))
        c.setFont("Helvetica", 5)
        c.drawString(pg.x(x + 1.5), pg.y(y + 3.5), str(i + 1))
    lines = [
        f"校准页 Calibration page - {sh.name}: {sh.title}",
        f"当前偏移 offset_x = {offset_x:+.1f} mm, offset_y = {offset_y:+.1f} mm",
        "用普通纸打印，叠在标签纸上对光查看，量出十字与标签中心的距离并加到偏移量上（向右、向下为正）。",
        "Print on plain paper, lay over a label sheet against the light, add the distance from each cross",
        "to the label centre to the offsets (right and down are positive). Ticks are 1 mm apart.",
    ]
    c.setFillGray(1.0)
    box_h = 4.2 * len(lines) + 2
    top = sh.page_height / 2 - box_h / 2
    c.rect(pg.x(15), pg.y(top + box_h), (sh.page_width - 30) * mm, box_h * mm, stroke=1, fill=1)
    c.setFillGray(0.0)
    for n, line in enumerate(lines):
        c.setFont(_font_for(line, False, cjk), 2.8 * mm)
        c.drawString(pg.x(17), pg.y(top + 4.2 * (n + 1)), line)
    c.showPage()
    c.save()
    return buf.getvalue()
