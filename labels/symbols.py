"""Barcode symbols as module patterns: Code 128 bars from python-barcode, QR matrices from segno, DataMatrix matrices
from zxing-cpp's ``create_barcode``. Every raster and vector renderer draws from these patterns, so a preview, an SVG
and a PDF sheet carry the same symbol. Printer languages (ZPL, TSPL) use the printer's own barcode commands instead
and only borrow the symbol size from here. Nothing here draws or does I/O.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import barcode
import numpy as np
import segno
import zxingcpp

__all__ = ["QUIET_ZONE", "Matrix", "SymbolError", "code128_pattern", "matrix_for", "symbol_modules"]

Matrix = tuple[tuple[bool, ...], ...]
"""Rows of dark (True) / light (False) modules, without the quiet zone."""

SymbolKind = Literal["code128", "datamatrix", "qr"]

# Quiet zone in modules on each side, as the symbologies ask: Code 128 10X, DataMatrix 1X, QR 4X.
QUIET_ZONE: dict[str, int] = {"code128": 10, "datamatrix": 1, "qr": 4}


class SymbolError(ValueError):
    """The data cannot be put into this symbology."""


@lru_cache(maxsize=8192)
def code128_pattern(data: str) -> str:
    """Code 128 as a string of ``1`` (bar) and ``0`` (space) modules, start to stop, without quiet zones."""
    if not data or not data.isascii():
        raise SymbolError(f"Code 128 takes non-empty ASCII text, not {data!r}")
    built = barcode.get_barcode_class("code128")(data).build()
    return str(built[0])


@lru_cache(maxsize=8192)
def _qr(data: str) -> Matrix:
    qr = segno.make_qr(data, error="m", boost_error=False)
    return tuple(tuple(v != 0 for v in row) for row in qr.matrix)


@lru_cache(maxsize=8192)
def _datamatrix(data: str, square: bool) -> Matrix:
    try:
        # Left to itself zxing-cpp picks the smallest symbol, an 8x32 strip for many 12-14 character codes.
        bc = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.DataMatrix, force_square=square)
    except Exception as exc:  # zxing-cpp raises its own error types for data it cannot encode
        raise SymbolError(f"DataMatrix cannot encode {data!r}: {exc}") from exc
    dark = np.asarray(bc.to_image(scale=1, add_quiet_zones=False)) < 128
    return tuple(map(tuple, dark.tolist()))


def matrix_for(kind: SymbolKind, data: str, *, square: bool = True) -> Matrix:
    """The module matrix of a 2D symbol (``qr`` or ``datamatrix``); a DataMatrix is square unless ``square`` is
    false, when the smallest symbol of either shape is taken."""
    if not data:
        raise SymbolError(f"{kind} needs data")
    if kind == "qr":
        return _qr(data)
    if kind == "datamatrix":
        return _datamatrix(data, square)
    raise SymbolError(f"{kind} is not a 2D symbology")


def symbol_modules(kind: SymbolKind, data: str, *, square: bool = True) -> tuple[int, int]:
    """(width, height) in modules including the quiet zone; 1D height is reported as 0."""
    q = QUIET_ZONE[kind]
    if kind == "code128":
        return len(code128_pattern(data)) + 2 * q, 0
    m = matrix_for(kind, data, square=square)
    return len(m[0]) + 2 * q, len(m) + 2 * q
