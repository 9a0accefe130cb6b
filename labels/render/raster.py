"""PNG preview of a label, drawn at a chosen resolution with the bundled CJK font; barcodes come from the same module
patterns as every other renderer and are drawn on whole pixels so the preview decodes exactly. It draws; it never
prints or decides what a label says.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from labels.layout import FrameElement, LabelContent, Layout, LineElement, PlacedBarcode, PlacedText, place
from labels.render.common import MM_PER_INCH, bars_in_dots, dots, grid_in_dots, stroke_dots
from labels.text import fit_size, font

__all__ = ["render_image", "render_png"]

_GUIDE = 190


def render_image(layout: Layout, content: LabelContent, *, dpi: int = 300, guides: bool = True) -> Image.Image:
    """The label as a greyscale image. ``guides`` draws the die-cut outline, disc hole and fold lines in light grey."""
    items = place(layout, content)
    w, h = dots(layout.width, dpi), dots(layout.height, dpi)
    arr = np.full((h, w), 255, dtype=np.uint8)
    for it in items:
        if isinstance(it, PlacedBarcode):
            _draw_barcode(arr, it, dpi)
    img = Image.fromarray(arr, mode="L")
    draw = ImageDraw.Draw(img)
    for it in items:
        if isinstance(it, PlacedText):
            _draw_text(draw, it, dpi)
        elif isinstance(it, LineElement):
            lw = stroke_dots(it.thickness, dpi)
            draw.line([(dots(it.x1, dpi), dots(it.y1, dpi)), (dots(it.x2, dpi), dots(it.y2, dpi))], fill=0, width=lw)
        elif isinstance(it, FrameElement):
            lw = stroke_dots(it.thickness, dpi)
            draw.rectangle(
                [dots(it.x, dpi), dots(it.y, dpi), dots(it.x + it.w, dpi) - 1, dots(it.y + it.h, dpi) - 1],
                outline=0,
                width=lw,
            )
    if guides:
        _draw_guides(draw, layout, w, h, dpi)
    return img


def render_png(layout: Layout, content: LabelContent, *, dpi: int = 300, guides: bool = True) -> bytes:
    buf = io.BytesIO()
    render_image(layout, content, dpi=dpi, guides=guides).save(buf, format="PNG", dpi=(dpi, dpi))
    return buf.getvalue()


def _draw_barcode(arr: np.ndarray, pb: PlacedBarcode, dpi: int) -> None:
    if pb.kind == "code128":
        b = bars_in_dots(pb, dpi)
        row = np.repeat(np.frombuffer(b.pattern.encode(), dtype=np.uint8) == ord("1"), int(b.module))
        x0, y0 = int(b.x), int(b.y)
        block = arr[y0 : y0 + int(b.height), x0 : x0 + row.size]
        block[:, row[: block.shape[1]]] = 0
        return
    g = grid_in_dots(pb, dpi)
    m = int(g.module)
    mat = np.kron(np.array(g.matrix, dtype=np.uint8), np.ones((m, m), dtype=np.uint8)).astype(bool)
    x0, y0 = int(g.x), int(g.y)
    block = arr[y0 : y0 + mat.shape[0], x0 : x0 + mat.shape[1]]
    block[mat[: block.shape[0], : block.shape[1]]] = 0


def _draw_text(draw: ImageDraw.ImageDraw, t: PlacedText, dpi: int) -> None:
    px_per_mm = dpi / MM_PER_INCH
    box_w = t.w * px_per_mm
    size = fit_size(t.text, max(1, round(t.size * px_per_mm)), box_w, bold=t.bold)
    f = font(size)
    cy = (t.y + t.h / 2) * px_per_mm
    if t.align == "center":
        x, anchor = (t.x + t.w / 2) * px_per_mm, "mm"
    elif t.align == "right":
        x, anchor = (t.x + t.w) * px_per_mm, "rm"
    else:
        x, anchor = t.x * px_per_mm, "lm"
    stroke = max(1, size // 28) if t.bold else 0
    draw.text((x, cy), t.text, font=f, fill=0, anchor=anchor, stroke_width=stroke, stroke_fill=0)


def _draw_guides(draw: ImageDraw.ImageDraw, layout: Layout, w: int, h: int, dpi: int) -> None:
    if layout.shape == "disc":
        draw.ellipse([0, 0, w - 1, h - 1], outline=_GUIDE)
        if layout.hole > 0:
            r = dots(layout.hole / 2, dpi)
            cx, cy = w // 2, h // 2
            draw.ellipse([cx - r, cy - r, cx + r, cy + r], outline=_GUIDE)
    else:
        draw.rectangle([0, 0, w - 1, h - 1], outline=_GUIDE)
    for fx in layout.folds:
        x = dots(fx, dpi)
        for y in range(0, h, 8):
            draw.line([(x, y), (x, min(h - 1, y + 3))], fill=_GUIDE)
