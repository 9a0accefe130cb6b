"""Geometry shared by the renderers: how a placed barcode or text maps onto a grid of printer dots (PNG, ZPL, TSPL)
or onto millimetres (SVG, PDF). Keeping it in one place is what makes a preview show the symbol the printer will
print. Pure arithmetic; no drawing, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labels.layout import Layout, LayoutError, PlacedBarcode
from labels.symbols import QUIET_ZONE, Matrix, code128_pattern, matrix_for

__all__ = [
    "MIN_MODULE_MM",
    "PRINTER_DPIS",
    "Bars",
    "Grid",
    "bars_in_dots",
    "bars_in_mm",
    "check_code_fits",
    "dots",
    "grid_in_dots",
    "grid_in_mm",
    "min_module_dots",
    "stroke_dots",
]

MM_PER_INCH = 25.4


def dots(mm: float, dpi: float) -> int:
    return round(mm * dpi / MM_PER_INCH)


def stroke_dots(mm: float, dpi: float) -> int:
    """A rule's width in printer dots, never below one: a hairline finer than the head's dot must still print."""
    return max(1, dots(mm, dpi))


@dataclass(frozen=True, slots=True)
class Bars:
    """A 1D symbol: ``pattern`` of modules of ``module`` units starting at (x, y) (after the quiet zone)."""

    x: float
    y: float
    module: float
    height: float
    pattern: str


@dataclass(frozen=True, slots=True)
class Grid:
    """A 2D symbol: ``matrix`` of modules of ``module`` units starting at (x, y) (after the quiet zone)."""

    x: float
    y: float
    module: float
    matrix: Matrix

    @property
    def rows(self) -> int:
        return len(self.matrix)

    @property
    def columns(self) -> int:
        return len(self.matrix[0])


def _too_wide(pb: PlacedBarcode, need_mm: float) -> LayoutError:
    return LayoutError(
        f"{pb.kind} of {pb.data!r} needs {need_mm:.1f} mm with its quiet zones but its box is {pb.w:.1f} mm wide; "
        "use a wider layout or a shorter code",
        f"{pb.data!r} 的条码连同空白区需要 {need_mm:.1f} 毫米，但只有 {pb.w:.1f} 毫米宽；请换用更宽的版式",
    )


def bars_in_dots(pb: PlacedBarcode, dpi: float) -> Bars:
    """Code 128 on a dot grid: whole-dot modules as near the layout's X-dimension as the printer allows."""
    pattern = code128_pattern(pb.data)
    q = QUIET_ZONE["code128"]
    n = len(pattern) + 2 * q
    m = max(1, dots(pb.module, dpi))
    box = math.floor(pb.w * dpi / MM_PER_INCH)
    if n * m > box:
        raise _too_wide(pb, n * m * MM_PER_INCH / dpi)
    x0 = dots(pb.x, dpi) + (box - n * m) // 2 + q * m
    return Bars(x0, dots(pb.y, dpi), m, dots(pb.h, dpi), pattern)


def bars_in_mm(pb: PlacedBarcode) -> Bars:
    pattern = code128_pattern(pb.data)
    q = QUIET_ZONE["code128"]
    n = len(pattern) + 2 * q
    if n * pb.module > pb.w + 1e-9:
        raise _too_wide(pb, n * pb.module)
    x0 = pb.x + (pb.w - n * pb.module) / 2 + q * pb.module
    return Bars(x0, pb.y, pb.module, pb.h, pattern)


MIN_MODULE_MM = 0.25
"""The smallest 2D module a thermal head prints reliably: two dots at 203 dpi; below it dots merge or drop and the
symbol stops reading. Every printer resolution gets at least this many millimetres, in whole dots."""


def min_module_dots(dpi: float) -> int:
    """The smallest 2D module at ``dpi``, in whole dots: ``MIN_MODULE_MM`` rounded up, never under two dots."""
    return max(2, math.ceil(MIN_MODULE_MM * dpi / MM_PER_INCH - 0.02))


def _matrix(pb: PlacedBarcode) -> Matrix:
    return matrix_for(pb.kind, pb.data, square=pb.shape != "rectangular")


def _too_small(pb: PlacedBarcode, matrix: Matrix, have_mm: float, dpi: float | None) -> LayoutError:
    rows, cols = len(matrix), len(matrix[0])
    at_en = f" at {dpi:.0f} dpi" if dpi is not None else ""
    at_zh = f"在 {dpi:.0f} dpi 下" if dpi is not None else ""
    least = min_module_dots(dpi) * MM_PER_INCH / dpi if dpi is not None else MIN_MODULE_MM
    return LayoutError(
        f"{pb.kind} of {pb.data!r} is a {rows}x{cols} symbol and does not fit its {pb.w:.1f}x{pb.h:.1f} mm box"
        f"{at_en}: its modules would be {have_mm:.2f} mm, the smallest printable is {MIN_MODULE_MM} mm "
        f"({least:.2f} mm in whole dots); use a larger layout or a shorter code",
        f"{pb.data!r} 的二维码为 {rows}x{cols} 模块，{at_zh}放不进 {pb.w:.1f}x{pb.h:.1f} 毫米的区域："
        f"模块只有 {have_mm:.2f} 毫米，小于可打印的最小模块 {MIN_MODULE_MM} 毫米；请换用更大的版式或更短的编码",
    )


def grid_in_dots(pb: PlacedBarcode, dpi: float) -> Grid:
    """A 2D symbol on a dot grid: the largest whole-dot module with which the symbol's columns fit the box's width
    and its rows the box's height (quiet zones included), centred; refused below the printable minimum."""
    matrix = _matrix(pb)
    q = QUIET_ZONE[pb.kind]
    box_w = math.floor(pb.w * dpi / MM_PER_INCH)
    box_h = math.floor(pb.h * dpi / MM_PER_INCH)
    cols, rows = len(matrix[0]) + 2 * q, len(matrix) + 2 * q
    m = min(box_w // cols, box_h // rows)
    if m < min_module_dots(dpi):
        raise _too_small(pb, matrix, min(box_w / cols, box_h / rows) * MM_PER_INCH / dpi, dpi)
    x = dots(pb.x, dpi) + (box_w - cols * m) // 2 + q * m
    y = dots(pb.y, dpi) + (box_h - rows * m) // 2 + q * m
    return Grid(x, y, m, matrix)


def grid_in_mm(pb: PlacedBarcode) -> Grid:
    """The same symbol in millimetres: the module that fits both axes, centred; refused below the printable
    minimum, so a vector preview never shows a symbol no printer could print."""
    matrix = _matrix(pb)
    q = QUIET_ZONE[pb.kind]
    cols, rows = len(matrix[0]) + 2 * q, len(matrix) + 2 * q
    m = min(pb.w / cols, pb.h / rows)
    if m < MIN_MODULE_MM - 1e-9:
        raise _too_small(pb, matrix, m, None)
    return Grid(pb.x + (pb.w - cols * m) / 2 + q * m, pb.y + (pb.h - rows * m) / 2 + q * m, m, matrix)


PRINTER_DPIS = (203, 300, 600)
"""The thermal printer resolutions a label must print at."""


def check_code_fits(layout: Layout, code: str, dpis: tuple[int, ...] = PRINTER_DPIS) -> None:
    """Raise the renderers' own ``LayoutError`` when a symbol of ``layout`` carrying ``code`` would be refused at
    render time by any renderer (millimetres: SVG, PDF; dots: PNG, ZPL, TSPL at each of ``dpis``). A code the
    register issues must pass this for every layout of its kind, so it is checked when the code is issued, not
    first found out at the printer."""
    for e in layout.barcodes():
        if e.data != "{code}":
            continue
        pb = PlacedBarcode(e.kind, e.x, e.y, e.w, e.h, code, e.module, e.shape)
        if e.kind == "code128":
            bars_in_mm(pb)
            for dpi in dpis:
                bars_in_dots(pb, dpi)
        else:
            grid_in_mm(pb)
            for dpi in dpis:
                grid_in_dots(pb, dpi)


def runs(bits: str | tuple[bool, ...]) -> list[tuple[int, int]]:
    """(start, length) of each run of dark modules, so renderers draw one rectangle per bar, not per module."""
    out: list[tuple[int, int]] = []
    start = -1
    for i, b in enumerate(bits):
        dark = b == "1" if isinstance(b, str) else bool(b)
        if dark and start < 0:
            start = i
        elif not dark and start >= 0:
            out.append((start, i - start))
            start = -1
    if start >= 0:
        out.append((start, len(bits) - start))
    return out
