"""Text measurement and raster text for labels, with the bundled WenQuanYi Micro Hei font so Chinese renders the same
on an air-gapped machine as anywhere else. Used by the PNG/SVG previews and the ZPL bitmap-text path. It only
measures and rasterises; where text goes on a label is the layout's business.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

__all__ = ["FONT_FAMILY", "FONT_PATH", "fit_size", "font", "is_ascii", "render_text_bitmap", "text_width"]

FONT_PATH = Path(__file__).with_name("fonts") / "wqy-microhei.ttc"
FONT_FAMILY = "WenQuanYi Micro Hei"


@lru_cache(maxsize=256)
def font(size_px: int) -> ImageFont.FreeTypeFont:
    """The bundled font at ``size_px`` pixels per em."""
    return ImageFont.truetype(str(FONT_PATH), max(1, size_px), index=0)


def is_ascii(text: str) -> bool:
    return text.isascii()


@lru_cache(maxsize=16384)
def text_width(text: str, size_px: int) -> float:
    """Advance width in pixels of ``text`` at ``size_px``."""
    return float(font(size_px).getlength(text))


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


@lru_cache(maxsize=4096)
def render_text_bitmap(text: str, size_px: int, bold: bool = False) -> Image.Image:
    """1-bit image of ``text`` (black on white), cropped to its ink, for printers that get text as graphics."""
    f = font(size_px)
    stroke = 1 if bold else 0
    left, top, right, bottom = f.getbbox(text, stroke_width=stroke)
    w, h = max(1, int(right - left)), max(1, int(bottom - top))
    img = Image.new("L", (w, h), 255)
    ImageDraw.Draw(img).text((-left, -top), text, font=f, fill=0, stroke_width=stroke, stroke_fill=0)
    return img.point(lambda v: 0 if v < 128 else 255, mode="1")
