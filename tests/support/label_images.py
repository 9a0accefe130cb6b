"""A label as each renderer puts it on paper, as a greyscale image at a known resolution, and two independent
decoders to read it: zxing-cpp for every symbol, and a second one per symbology — pyzbar (libzbar) for QR and
Code 128, pylibdmtx (libdmtx) for DataMatrix — each skipped with a clear reason where its C library is missing.
Test support only: it renders through the project's public renderers and the printer emulator's rasteriser.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image, ImageDraw

from labels.emulator_raster import rasterise_tspl, rasterise_zpl
from labels.layout import BarcodeElement, LabelContent, Layout
from labels.render.pdf import render_pdf_label
from labels.render.raster import render_image
from labels.render.svg import render_svg
from labels.render.tspl import TsplOptions, render_tspl
from labels.render.zpl import ZplOptions, render_zpl

FORMAT_NAMES = {"code128": "Code128", "datamatrix": "DataMatrix", "qr": "QRCode"}
VECTOR_PX_PER_MM = 12  # SVG and PDF are drawn back at about 305 dpi


def rasterise_svg(svg: str, px_per_mm: int = VECTOR_PX_PER_MM) -> Image.Image:
    """Draw the SVG's barcode groups (only those) to an image: checks the vector geometry, not a browser."""
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    _, _, w, h = (float(v) for v in root.attrib["viewBox"].split())
    img = Image.new("L", (round(w * px_per_mm), round(h * px_per_mm)), 255)
    draw = ImageDraw.Draw(img)
    for g in root.findall("s:g", ns):
        m = re.fullmatch(r"translate\((\S+) (\S+)\) scale\((\S+?)(?: (\S+))?\)", g.attrib["transform"])
        assert m is not None
        tx, ty, sx = float(m.group(1)), float(m.group(2)), float(m.group(3))
        sy = float(m.group(4)) if m.group(4) else sx
        for r in g.findall("s:rect", ns):
            x0, y0 = float(r.attrib["x"]), float(r.attrib["y"])
            x1, y1 = x0 + float(r.attrib["width"]), y0 + float(r.attrib["height"])
            box = [round((tx + x0 * sx) * px_per_mm), round((ty + y0 * sy) * px_per_mm)]
            box += [round((tx + x1 * sx) * px_per_mm) - 1, round((ty + y1 * sy) * px_per_mm) - 1]
            draw.rectangle(box, fill=0)
    return img


def _pdf(layout: Layout, content: LabelContent) -> Image.Image:
    doc = pdfium.PdfDocument(render_pdf_label(layout, content))
    try:
        return doc[0].render(scale=VECTOR_PX_PER_MM * 25.4 / 72).to_pil().convert("L")
    finally:
        doc.close()


Renderer = Callable[[Layout, LabelContent], Image.Image]

# name -> (draw the label, pixels per mm of that drawing)
RENDERERS: dict[str, tuple[Renderer, float]] = {
    "png-203": (lambda lay, c: render_image(lay, c, dpi=203, guides=False), 203 / 25.4),
    "png-300": (lambda lay, c: render_image(lay, c, dpi=300, guides=False), 300 / 25.4),
    "svg": (lambda lay, c: rasterise_svg(render_svg(lay, c)), VECTOR_PX_PER_MM),
    "pdf": (_pdf, VECTOR_PX_PER_MM),
    "zpl-203": (lambda lay, c: rasterise_zpl(render_zpl(lay, c, ZplOptions(dpi=203))), 203 / 25.4),
    "zpl-300": (lambda lay, c: rasterise_zpl(render_zpl(lay, c, ZplOptions(dpi=300))), 300 / 25.4),
    "tspl-203": (lambda lay, c: rasterise_tspl(render_tspl(lay, c, TsplOptions(dpi=203)), dpi=203), 203 / 25.4),
    "tspl-300": (lambda lay, c: rasterise_tspl(render_tspl(lay, c, TsplOptions(dpi=300)), dpi=300), 300 / 25.4),
}


def zxing_symbols(img: Image.Image) -> list[tuple[str, str]]:
    """(format, text) of every symbol zxing-cpp finds in the whole label, sorted."""
    return sorted((r.format.name, r.text) for r in zxingcpp.read_barcodes(img))


def expected_symbols(layout: Layout, code: str) -> list[tuple[str, str]]:
    return sorted((FORMAT_NAMES[b.kind], code) for b in layout.barcodes())


def element_crop(img: Image.Image, e: BarcodeElement, px_per_mm: float) -> Image.Image:
    """The label with everything outside the element's own box (quiet zones are inside it) blanked: a symbol that
    spills out of its box is cut here as the next label or the label's edge would cut it. The label keeps its size
    (libdmtx misses some large-module symbols in a tight crop)."""
    box = (
        round(e.x * px_per_mm),
        round(e.y * px_per_mm),
        round((e.x + e.w) * px_per_mm),
        round((e.y + e.h) * px_per_mm),
    )
    out = Image.new("L", img.size, 255)
    out.paste(img.crop(box), box[:2])
    return out


def dark_extent_mm(img: Image.Image, e: BarcodeElement, px_per_mm: float) -> tuple[float, float]:
    """(width, height) in mm of the dark modules inside the element's box: a DataMatrix's solid L and its clock
    track reach all four edges of the symbol, so this is the printed symbol's size."""
    box = (
        round(e.x * px_per_mm),
        round(e.y * px_per_mm),
        round((e.x + e.w) * px_per_mm),
        round((e.y + e.h) * px_per_mm),
    )
    dark = np.asarray(img.crop(box).convert("L")) < 128
    ys, xs = np.nonzero(dark)
    return (int(xs.max() - xs.min() + 1) / px_per_mm, int(ys.max() - ys.min() + 1) / px_per_mm)


def _zbar(img: Image.Image, kind: str) -> list[str]:
    try:
        from pyzbar import pyzbar
    except ImportError as exc:  # pyzbar loads libzbar when imported
        pytest.skip(f"second decoder for {kind} unavailable: {exc} (run `make zbar`, Debian's libzbar0)")
    symbol = pyzbar.ZBarSymbol.QRCODE if kind == "qr" else pyzbar.ZBarSymbol.CODE128
    return [r.data.decode("ascii") for r in pyzbar.decode(img, symbols=[symbol])]


def _dmtx(img: Image.Image) -> list[str]:
    try:
        from pylibdmtx import pylibdmtx
    except ImportError as exc:  # pylibdmtx loads libdmtx when imported
        pytest.skip(f"second DataMatrix decoder unavailable: {exc} (run `make dmtx`, Debian's libdmtx0b)")
    return [r.data.decode("ascii") for r in pylibdmtx.decode(img, max_count=1, timeout=5000)]


def second_decoder(img: Image.Image, kind: str) -> list[str]:
    """The texts a decoder that is not zxing-cpp reads in ``img`` (one symbol of ``kind`` expected)."""
    return _dmtx(img) if kind == "datamatrix" else _zbar(img, kind)
