"""What the emulated label printer would put on paper: a ZPL format or a TSPL job rasterised at the printer's dots,
barcodes only (``^BC``/``^BX``/``^BQ`` with ``^FO``, ``^BY``, ``^LH``; ``BARCODE "128"``/``DMATRIX``/``QRCODE``), so
tests can hand a printed label to independent decoders. It reads the job the way a printer does — position, module
size, rows and columns as the command says them — and clips at the label's edge (``^PW``/``^LL``, ``SIZE``) as the
print head would, so a symbol that runs off its label decodes no better than on paper. Text, graphics and lines are
not drawn. It never sends anything anywhere and never decides what a label says.

A DataMatrix command that names its rows and columns must get exactly that symbol; one that names none gets the
smallest square ECC 200 symbol, as a Zebra does. Symbols are built with the same encoders the preview uses: the
point here is the printer's geometry, not a second encoder.
"""

from __future__ import annotations

import re

import numpy as np
import segno
import zxingcpp
from numpy.typing import NDArray
from PIL import Image

from labels.symbols import code128_pattern

__all__ = ["EmulatedPrintError", "rasterise_tspl", "rasterise_zpl"]

_MM_PER_INCH = 25.4
_ZPL_CMD = re.compile(r"[\^~]([A-Z@][A-Z0-9@]?)")
_HEX_ESC = re.compile(r"_([0-9A-Fa-f]{2})")


class EmulatedPrintError(ValueError):
    """The job asks for something the emulated printer cannot print as asked (it would print something else)."""


def _dm(data: str, rows: int, cols: int) -> NDArray[np.bool_]:
    square = rows == cols or rows == 0 or cols == 0
    bc = zxingcpp.create_barcode(data, zxingcpp.BarcodeFormat.DataMatrix, force_square=square)
    mat = np.asarray(bc.to_image(scale=1, add_quiet_zones=False)) < 128
    if rows and cols and mat.shape != (rows, cols):
        raise EmulatedPrintError(
            f"DataMatrix {rows}x{cols} asked for {data!r}, which needs {mat.shape[0]}x{mat.shape[1]}"
        )
    return mat


def _qr(data: str, error: str) -> NDArray[np.bool_]:
    qr = segno.make_qr(data, error=error.lower(), boost_error=False)
    return np.array([[v != 0 for v in row] for row in qr.matrix], dtype=bool)


def _blit(canvas: NDArray[np.uint8], mat: NDArray[np.bool_], x: int, y: int, mx: int, my: int) -> None:
    """Dark modules of ``mat`` at (x, y), each ``mx`` × ``my`` dots; whatever lies beyond the label is lost."""
    big = np.kron(mat.astype(np.uint8), np.ones((my, mx), dtype=np.uint8)).astype(bool)
    h, w = canvas.shape
    if x >= w or y >= h:
        return
    part = big[: max(0, h - y), : max(0, w - x)]
    canvas[y : y + part.shape[0], x : x + part.shape[1]][part] = 0


def _image(canvas: NDArray[np.uint8]) -> Image.Image:
    return Image.fromarray(canvas, mode="L")


def rasterise_zpl(fmt: bytes | str, *, width: int | None = None, height: int | None = None) -> Image.Image:
    """One ``^XA`` … ``^XZ`` format as the printer would print its barcodes (label size from ``^PW``/``^LL``)."""
    text = fmt.decode("utf-8") if isinstance(fmt, bytes) else fmt
    cmds = [(m.group(1), m.end()) for m in _ZPL_CMD.finditer(text)]
    starts = [m.start() for m in _ZPL_CMD.finditer(text)] + [len(text)]
    parsed: list[tuple[str, str]] = []
    for i, (name, end) in enumerate(cmds):
        parsed.append((name, text[end : starts[i + 1]]))
    pw = next((int(a) for n, a in parsed if n == "PW"), width or 812)
    ll = next((int(a) for n, a in parsed if n == "LL"), height or 1218)
    canvas = np.full((ll, pw), 255, dtype=np.uint8)
    home = (0, 0)
    fo = (0, 0)
    by_module, by_height = 2, 10
    symbol: tuple[str, list[str]] | None = None
    hex_esc = False
    data: str | None = None
    for name, arg in parsed:
        args = arg.strip().split(",") if arg.strip() else []
        if name == "LH":
            home = (int(args[0] or 0), int(args[1] or 0))
        elif name == "FO":
            fo = (int(args[0] or 0), int(args[1] or 0))
        elif name == "BY":
            by_module = int(args[0]) if args and args[0] else by_module
            by_height = int(args[2]) if len(args) > 2 and args[2] else by_height
        elif name in ("BC", "BX", "BQ"):
            symbol = (name, args)
        elif name == "FH":
            hex_esc = True
        elif name == "FD":
            data = _HEX_ESC.sub(lambda m: chr(int(m.group(1), 16)), arg) if hex_esc else arg
        elif name == "FS":
            if symbol is not None and data is not None:
                _zpl_symbol(canvas, symbol, data, fo[0] + home[0], fo[1] + home[1], by_module, by_height)
            symbol, data, hex_esc = None, None, False
    return _image(canvas)


def _zpl_symbol(
    canvas: NDArray[np.uint8], symbol: tuple[str, list[str]], data: str, x: int, y: int, by_m: int, by_h: int
) -> None:
    name, args = symbol

    def arg(i: int, default: int) -> int:
        return int(args[i]) if len(args) > i and args[i].strip().isdigit() else default

    if name == "BC":
        bars = np.frombuffer(code128_pattern(data).encode(), dtype=np.uint8) == ord("1")
        _blit(canvas, bars[np.newaxis, :], x, y, by_m, arg(1, by_h))
    elif name == "BX":
        m = arg(1, by_m)
        mat = _dm(data, arg(4, 0), arg(3, 0))
        _blit(canvas, mat, x, y, m, m)
    else:
        mag = arg(2, 2)
        error, text = (data[0], data[3:]) if len(data) > 3 and data[2] == "," else ("M", data)
        _blit(canvas, _qr(text, error), x, y, mag, mag)


_TSPL_STR = re.compile(r'"((?:[^"\\]|\\\["\])*)"')


def _tspl_args(rest: str) -> tuple[list[str], str | None]:
    found = list(_TSPL_STR.finditer(rest))  # the data is the last string (BARCODE names its type in one first)
    m = found[-1] if found else None
    text = m.group(1).replace('\\["]', '"') if m else None
    head = rest[: m.start()] if m else rest
    return [a.strip().strip('"') for a in head.split(",") if a.strip()], text


def rasterise_tspl(job: bytes | str, *, dpi: int = 203, encoding: str = "gb18030") -> Image.Image:
    """One TSPL job as the printer would print its barcodes (label size from ``SIZE … mm``)."""
    text = job.decode(encoding) if isinstance(job, bytes) else job
    canvas: NDArray[np.uint8] | None = None
    for line in text.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "SIZE":
            w_mm, h_mm = (float(v.strip().removesuffix("mm")) for v in rest.split(","))
            canvas = np.full((round(h_mm * dpi / _MM_PER_INCH), round(w_mm * dpi / _MM_PER_INCH)), 255, dtype=np.uint8)
            continue
        if word not in ("BARCODE", "DMATRIX", "QRCODE"):
            continue
        if canvas is None:
            raise EmulatedPrintError("a barcode before SIZE")
        args, data = _tspl_args(rest)
        if data is None:
            raise EmulatedPrintError(f"no data in {line!r}")
        x, y = int(args[0]), int(args[1])
        if word == "BARCODE":
            height, narrow = int(args[3]), int(args[6])
            bars = np.frombuffer(code128_pattern(data).encode(), dtype=np.uint8) == ord("1")
            _blit(canvas, bars[np.newaxis, :], x, y, narrow, height)
        elif word == "DMATRIX":
            extra = args[4:]
            module = int(extra[0].lstrip("xX")) if extra and extra[0][:1] in "xX" else 6
            rows = int(extra[1]) if len(extra) > 1 else 0
            cols = int(extra[2]) if len(extra) > 2 else 0
            mat = _dm(data, rows, cols)
            box_w, box_h = int(args[2]), int(args[3])
            clip = np.full((box_h, box_w), 255, dtype=np.uint8)  # a TSPL printer draws only inside the area given
            _blit(clip, mat, 0, 0, module, module)
            region = canvas[y : y + box_h, x : x + box_w]
            region &= clip[: region.shape[0], : region.shape[1]]
        else:
            cell = int(args[3])
            _blit(canvas, _qr(data, args[2]), x, y, cell, cell)
    if canvas is None:
        raise EmulatedPrintError("no SIZE in the job")
    return _image(canvas)
