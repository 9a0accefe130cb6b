"""Geometry shared by the renderers: how a placed barcode or text maps onto a grid of printer dots (PNG, ZPL, TSPL)
or onto millimetres (SVG, PDF). Keeping it in one place is what makes a preview show the symbol the printer will
print. Pure arithmetic; no drawing, no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from labels.layout import LayoutError, PlacedBarcode
from labels.symbols import QUIET_ZONE, Matrix, code128_pattern, matrix_for

__all__ = ["Bars", "Grid", "bars_in_dots", "bars_in_mm", "dots", "grid_in_dots", "grid_in_mm", "stroke_dots"]

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


def grid_in_dots(pb: PlacedBarcode, dpi: float, *, min_module_dots: int = 2) -> Grid:
    """A 2D symbol on a dot grid: the largest whole-dot module that fits the square box, centred."""
    matrix = matrix_for(pb.kind, pb.data)
    q = QUIET_ZONE[pb.kind]
    n = len(matrix) + 2 * q
    box = math.floor(pb.w * dpi / MM_PER_INCH)
    m = box // n
    if m < min_module_dots:
        raise LayoutError(
            f"{pb.kind} of {pb.data!r} has {n} modules and does not fit {pb.w:.1f} mm at {dpi:.0f} dpi",
            f"{pb.data!r} 的二维码有 {n} 个模块，在 {dpi:.0f} dpi 下放不进 {pb.w:.1f} 毫米",
        )
    off = (box - n * m) // 2 + q * m
    return Grid(dots(pb.x, dpi) + off, dots(pb.y, dpi) + off, m, matrix)


def grid_in_mm(pb: PlacedBarcode) -> Grid:
    matrix = matrix_for(pb.kind, pb.data)
    q = QUIET_ZONE[pb.kind]
    m = pb.w / (len(matrix) + 2 * q)
    return Grid(pb.x + q * m, pb.y + q * m, m, matrix)


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
