"""Text measurement and raster text for labels, with the bundled WenQuanYi Micro Hei font so Chinese renders the same
on an air-gapped machine as anywhere else. Used by the PNG/SVG previews and the ZPL bitmap-text path. It only
measures and rasterises (and writes control characters out visibly, `printable`); where text goes on a label is the
layout's business.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "FONT_FAMILY",
    "FONT_PATH",
    "fit_size",
    "font",
    "is_ascii",
    "printable",
    "render_text_bitmap",
    "text_width",
]

FONT_PATH = Path(__file__).with_name("fonts") / "wqy-microhei.ttc"
FONT_FAMILY = "WenQuanYi Micro Hei"


@lru_cache(maxsize=256)
def font(size_px: int) -> ImageFont.FreeTypeFont:
    """The bundled font at ``size_px`` pixels per em."""
    return ImageFont.truetype(str(FONT_PATH), max(1, size_px), index=0)


# C0, DEL, C1 and the Unicode line/paragraph separators: none is a glyph, and CR/LF end a printer command line.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str) -> str:
    """``text`` with each control character written out as ``\\x0d``-style text: a label shows what the register
    holds, literally, and a printer language never sees a line break or control byte it could take as a command.
    (The register's own copy of this rule is ``tracker.text.visible``; labels import nothing from the register.)"""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group(0)):02x}" if ord(m.group(0)) < 0x100 else
                        f"\\u{ord(m.group(0)):04x}", text)


def is_ascii(text: str) -> bool:
    return text.isascii()


@lru_cache(maxsize=65536)
def _advance(ch: str, size_px: int) -> float:
    return float(font(size_px).getlength(ch))


def text_width(text: str, size_px: int) -> float:
    """Advance width in pixels of ``text`` at ``size_px`` (sum of glyph advances: the bundled font has no kerning)."""
    return sum(_advance(ch, size_px) for ch in text)


def fit_size(text: str, size_px: int, max_width_px: float, *, bold: bool = False) -> int:
    """The largest size not above ``size_px`` at which ``text`` fits ``max_width_px``: long titles shrink, never
    overflow into the barcode next to them."""
    extra = 2 if bold else 0
    s = size_px
    width = text_width(text, s) + extra
    if width <= max_width_px:
        return s
    s = max(1, int(s * max_width_px / width))
    while s > 1 and text_width(text, s) + extra > max_width_px:
        s -= 1
    return s


@lru_cache(maxsize=16384)
def _glyph(ch: str, size_px: int, bold: bool) -> tuple[NDArray[np.bool_], int, int]:
    """Ink of one glyph (True = black) and its offset from the pen position on the baseline."""
    f = font(size_px)
    stroke = 1 if bold else 0
    left, top, right, bottom = (int(v) for v in f.getbbox(ch, stroke_width=stroke, anchor="ls"))
    if right <= left or bottom <= top:
        return np.zeros((0, 0), dtype=bool), 0, 0
    img = Image.new("L", (right - left, bottom - top), 255)
    ImageDraw.Draw(img).text((-left, -top), ch, font=f, fill=0, anchor="ls", stroke_width=stroke, stroke_fill=0)
    return np.asarray(img) < 128, left, top


@lru_cache(maxsize=4096)
def render_text_bitmap(text: str, size_px: int, bold: bool = False) -> NDArray[np.bool_]:
    """Ink of ``text`` (True = black), cropped to the ink, for printers that get text as graphics.

    Composed from cached glyphs, so a thousand labels with a thousand different document numbers cost a thousand
    array copies, not a thousand font rasterisations."""
    placed: list[tuple[int, int, NDArray[np.bool_]]] = []
    pen = 0.0
    for ch in text:
        ink, left, top = _glyph(ch, size_px, bold)
        if ink.size:
            placed.append((round(pen) + left, top, ink))
        pen += _advance(ch, size_px)
    if not placed:
        return np.zeros((1, 1), dtype=bool)
    x0 = min(x for x, _, _ in placed)
    y0 = min(y for _, y, _ in placed)
    x1 = max(x + ink.shape[1] for x, _, ink in placed)
    y1 = max(y + ink.shape[0] for _, y, ink in placed)
    out = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for x, y, ink in placed:
        out[y - y0 : y - y0 + ink.shape[0], x - x0 : x - x0 + ink.shape[1]] |= ink
    out.flags.writeable = False  # cached and shared
    return out
