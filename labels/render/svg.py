"""SVG preview of a label in millimetre units, for browsers and documents. Bars and modules are rectangles taken from
the same patterns as the PNG, PDF and printer output; text is SVG text in a CJK-capable font stack (the viewer
supplies the glyphs, so sizes are fitted with the bundled font's metrics). It renders; it never prints.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from labels.layout import FrameElement, LabelContent, Layout, LineElement, PlacedBarcode, PlacedText, place
from labels.render.common import bars_in_mm, grid_in_mm, runs
from labels.text import FONT_FAMILY, text_width

__all__ = ["render_svg"]

_FONT_STACK = f"'{FONT_FAMILY}', 'Noto Sans CJK SC', 'Source Han Sans SC', SimHei, SimSun, sans-serif"
_REF_PX = 100


def _n(v: float) -> str:
    return f"{v:.3f}".rstrip("0").rstrip(".")


def render_svg(layout: Layout, content: LabelContent, *, guides: bool = True) -> str:
    """The label as an SVG document (1 user unit = 1 mm)."""
    items = place(layout, content)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(layout.width)}mm" height="{_n(layout.height)}mm" '
        f'viewBox="0 0 {_n(layout.width)} {_n(layout.height)}" shape-rendering="crispEdges">',
        f"<title>{escape(layout.title)} {escape(content.code)}</title>",
        f'<rect x="0" y="0" width="{_n(layout.width)}" height="{_n(layout.height)}" fill="#fff"/>',
    ]
    for it in items:
        if isinstance(it, PlacedBarcode):
            out.append(_barcode(it))
        elif isinstance(it, PlacedText):
            out.append(_text(it))
        elif isinstance(it, LineElement):
            out.append(
                f'<line x1="{_n(it.x1)}" y1="{_n(it.y1)}" x2="{_n(it.x2)}" y2="{_n(it.y2)}" stroke="#000" '
                f'stroke-width="{_n(it.thickness)}"/>'
            )
        elif isinstance(it, FrameElement):
            t = it.thickness
            out.append(
                f'<rect x="{_n(it.x + t / 2)}" y="{_n(it.y + t / 2)}" width="{_n(it.w - t)}" height="{_n(it.h - t)}" '
                f'fill="none" stroke="#000" stroke-width="{_n(t)}"/>'
            )
    if guides:
        out.append(_guides(layout))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _barcode(pb: PlacedBarcode) -> str:
    """One group per symbol, scaled so every rectangle sits on whole module coordinates: no rounding seams."""
    rects: list[str] = []
    if pb.kind == "code128":
        b = bars_in_mm(pb)
        transform = f"translate({_n(b.x)} {_n(b.y)}) scale({b.module!r} 1)"
        for start, length in runs(b.pattern):
            rects.append(f'<rect x="{start}" y="0" width="{length}" height="{_n(b.height)}"/>')
    else:
        g = grid_in_mm(pb)
        transform = f"translate({_n(g.x)} {_n(g.y)}) scale({g.module!r})"
        for r, row in enumerate(g.matrix):
            for start, length in runs(row):
                rects.append(f'<rect x="{start}" y="{r}" width="{length}" height="1"/>')
    return (
        f'<g fill="#000" transform="{transform}" data-symbol={quoteattr(pb.kind)} '
        f"data-content={quoteattr(pb.data)}>" + "".join(rects) + "</g>"
    )


def _text(t: PlacedText) -> str:
    width_at_size = text_width(t.text, _REF_PX) / _REF_PX * t.size
    size = t.size if width_at_size <= t.w else t.size * t.w / width_at_size
    if t.align == "center":
        x, anchor = t.x + t.w / 2, "middle"
    elif t.align == "right":
        x, anchor = t.x + t.w, "end"
    else:
        x, anchor = t.x, "start"
    weight = ' font-weight="bold"' if t.bold else ""
    return (
        f'<text x="{_n(x)}" y="{_n(t.y + t.h / 2)}" font-size="{_n(size)}" font-family={quoteattr(_FONT_STACK)} '
        f'text-anchor="{anchor}" dominant-baseline="central"{weight}>{escape(t.text)}</text>'
    )


def _guides(layout: Layout) -> str:
    style = 'fill="none" stroke="#bbb" stroke-width="0.2" data-guide="1"'
    parts: list[str] = []
    w, h = layout.width, layout.height
    if layout.shape == "disc":
        parts.append(f'<ellipse cx="{_n(w / 2)}" cy="{_n(h / 2)}" rx="{_n(w / 2)}" ry="{_n(h / 2)}" {style}/>')
        if layout.hole > 0:
            parts.append(f'<circle cx="{_n(w / 2)}" cy="{_n(h / 2)}" r="{_n(layout.hole / 2)}" {style}/>')
    else:
        parts.append(f'<rect x="0" y="0" width="{_n(w)}" height="{_n(h)}" {style}/>')
    for fx in layout.folds:
        parts.append(f'<line x1="{_n(fx)}" y1="0" x2="{_n(fx)}" y2="{_n(h)}" stroke-dasharray="1 1" {style}/>')
    return "".join(parts)
