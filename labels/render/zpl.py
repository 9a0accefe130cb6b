"""ZPL II for Zebra and ZPL-compatible thermal printers. Barcodes use the printer's own commands (``^BC`` Code 128,
``^BX`` DataMatrix, ``^BQ`` QR) so they print at the printer's full resolution; Chinese text is either sent as a
graphic (``^GFA``, rendered with the bundled font — works on any printer) or set in a font stored on the printer
(``^A@`` with ``^CI28`` UTF-8). An RFID job writes the EPC (``^RS``/``^RFW``), reads back the tag's TID (``^RFR`` +
``^HV``) and asks for the encode result (``~RVE``): a tag that fails is printed VOID and retried by the printer.
This module only builds job text; sending it and reading answers is ``labels.printers``'s job.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from labels.codes import CodeError, carrier_code_to_epc
from labels.layout import FrameElement, LabelContent, Layout, LayoutError, LineElement, PlacedBarcode, PlacedText, place
from labels.render.common import MM_PER_INCH, bars_in_dots, dots, grid_in_dots, stroke_dots
from labels.text import fit_size, printable, render_text_bitmap

__all__ = ["RfidSpec", "ZplOptions", "render_zpl", "render_zpl_batch", "zpl_escape"]

# Advance of ZPL font 0 (CG Triumvirate Bold Condensed) as a share of its height, for fitting text into a box.
_FONT0_ADVANCE = 0.58


@dataclass(frozen=True, slots=True)
class ZplOptions:
    """Printer profile: resolution, where Chinese text comes from, and the label home offset in dots."""

    dpi: int = 203
    cjk_font: str | None = None
    home_x: int = 0
    home_y: int = 0
    copies: int = 1


@dataclass(frozen=True, slots=True)
class RfidSpec:
    """RFID encoding in the same job: how many labels the printer may VOID before giving up (``^RS`` n), and whether
    to read the TID back (``tid_bytes`` bytes of memory bank 2)."""

    labels_to_try: int = 3
    read_tid: bool = True
    tid_bytes: int = 12
    company_prefix: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.labels_to_try <= 10:
            raise LayoutError("RFID labels_to_try must be 1 to 10", "RFID 重试标签数必须在 1 至 10 之间")
        if not 4 <= self.tid_bytes <= 32 or self.tid_bytes % 2:
            raise LayoutError(
                "TID length must be an even number of bytes, 4 to 32", "TID 长度必须是 4 至 32 的偶数字节"
            )


# What field data may never hold as itself after ``^FH_``: the escape character, the two command prefixes, and control
# characters (C0, DEL, C1: a printer may act on them, and no label means them).
_ZPL_UNSAFE = re.compile("[_^~\x00-\x1f\x7f-\x9f]")


def zpl_escape(text: str) -> str:
    """Field data for use after ``^FH_``: ``_``, the command prefixes ``^`` and ``~``, and every control character
    become ``_XX`` hex escapes, so the data is exactly what the printer encodes and no byte of it starts a command.
    Characters above U+009F are UTF-8 (``^CI28``) and need none: their bytes are all 0x80 or above."""
    return _ZPL_UNSAFE.sub(_hex, text) if _ZPL_UNSAFE.search(text) else text


def _hex(m: re.Match[str]) -> str:
    return f"_{ord(m.group(0)):02X}"


def _block_text(text: str) -> str:
    """Text for a ``^FB`` field block: control characters shown as text (`printable`), then ZPL-escaped; a backslash
    is doubled because ``^FB`` reads ``\\&`` as a line break (a one-line block would overprint)."""
    return zpl_escape(printable(text)).replace("\\", "\\\\")


def _text(t: PlacedText, o: ZplOptions) -> str:
    dpmm = o.dpi / MM_PER_INCH
    text = printable(t.text)  # shown literally, as text or as a graphic
    box_w = max(1, math.floor(t.w * dpmm))
    just = {"left": "L", "center": "C", "right": "R"}[t.align]
    x, y = dots(t.x, o.dpi), dots(t.y, o.dpi)
    h = max(10, round(t.size * dpmm))
    if text.isascii() or o.cjk_font is not None:
        if text.isascii():
            need = _FONT0_ADVANCE * h * len(text)
            if need > box_w:
                h = max(10, int(h * box_w / need))
            font = f"^A0N,{h},{h}"
        else:
            font = f"^A@N,{h},{h},{o.cjk_font}"
        top = y + max(0, (dots(t.h, o.dpi) - h) // 2)
        return f"^FO{x},{top}{font}^FB{box_w},1,0,{just},0^FH_^FD{_block_text(text)}^FS"
    size = fit_size(text, h, box_w, bold=t.bold)
    ink = render_text_bitmap(text, size, t.bold)
    hh, w = ink.shape
    if t.align == "center":
        x += (box_w - w) // 2
    elif t.align == "right":
        x += box_w - w
    top = y + max(0, (dots(t.h, o.dpi) - hh) // 2)
    return f"^FO{x},{top}{_gfa(ink)}^FS"


def _gfa(ink: NDArray[np.bool_]) -> str:
    """``^GFA`` graphic field: one bit per dot, 1 = black, rows padded to whole bytes, as hex."""
    packed = np.packbits(ink, axis=1)
    per_row = packed.shape[1]
    total = packed.size
    return f"^GFA,{total},{total},{per_row},{packed.tobytes().hex().upper()}"


def _barcode(pb: PlacedBarcode, o: ZplOptions) -> str:
    if pb.kind == "code128":
        b = bars_in_dots(pb, o.dpi)
        data = f"^FH_^FD{zpl_escape(pb.data)}" if _ZPL_UNSAFE.search(pb.data) else f"^FD{pb.data}"
        return f"^FO{int(b.x)},{int(b.y)}^BY{int(b.module)},3,{int(b.height)}^BCN,{int(b.height)},N,N,N,A{data}^FS"
    g = grid_in_dots(pb, o.dpi)
    if pb.kind == "datamatrix":
        # rows and columns named, or the printer picks its own symbol: maybe not the one the preview shows
        return f"^FO{int(g.x)},{int(g.y)}^BXN,{int(g.module)},200,{g.columns},{g.rows}^FH_^FD{zpl_escape(pb.data)}^FS"
    mag = min(10, int(g.module))
    return f"^FO{int(g.x)},{int(g.y)}^BQN,2,{mag}^FH_^FDMA,{zpl_escape(pb.data)}^FS"


def _line(e: LineElement, o: ZplOptions) -> str:
    t = stroke_dots(e.thickness, o.dpi)
    x1, y1, x2, y2 = (dots(v, o.dpi) for v in (e.x1, e.y1, e.x2, e.y2))
    if y1 == y2 or x1 == x2:
        w, h = max(abs(x2 - x1), t), max(abs(y2 - y1), t)
        return f"^FO{min(x1, x2)},{min(y1, y2)}^GB{w},{h},{t}^FS"
    lean = "R" if (x2 - x1) * (y2 - y1) < 0 else "L"
    return f"^FO{min(x1, x2)},{min(y1, y2)}^GD{abs(x2 - x1)},{abs(y2 - y1)},{t},B,{lean}^FS"


def render_zpl(
    layout: Layout, content: LabelContent, options: ZplOptions | None = None, rfid: RfidSpec | None = None
) -> str:
    """One label format (``^XA`` … ``^XZ``); with ``rfid``, preceded by ``~RVE`` and carrying the encode commands.

    The EPC is ``content.epc`` or, when absent, derived from the carrier code (GIAI-96 with ``rfid.company_prefix``,
    else GID-96).
    """
    o = options or ZplOptions()
    items = place(layout, content)
    out: list[str] = []
    if rfid is not None:
        out.append("~RVE\n")
    out.append("^XA\n^CI28\n")
    out.append(f"^PW{dots(layout.width, o.dpi)}\n^LL{dots(layout.height, o.dpi)}\n^LH{o.home_x},{o.home_y}\n")
    if rfid is not None:
        epc = content.epc or _epc_for(content.code, rfid)
        out.append(f"^RS8,,,{rfid.labels_to_try},N\n^RFW,H,,,A^FD{epc}^FS\n")
        if rfid.read_tid:
            out.append(f"^RFR,H,0,{rfid.tid_bytes},2^FN1^FS\n^FH_^HV1,{2 * rfid.tid_bytes},TID:,_0D_0A,L^FS\n")
    for it in items:
        if isinstance(it, PlacedText):
            out.append(_text(it, o))
        elif isinstance(it, PlacedBarcode):
            out.append(_barcode(it, o))
        elif isinstance(it, LineElement):
            out.append(_line(it, o))
        elif isinstance(it, FrameElement):
            t = stroke_dots(it.thickness, o.dpi)
            out.append(f"^FO{dots(it.x, o.dpi)},{dots(it.y, o.dpi)}^GB{dots(it.w, o.dpi)},{dots(it.h, o.dpi)},{t}^FS")
        out.append("\n")
    out.append(f"^PQ{max(1, o.copies)}\n^XZ\n")
    return "".join(out)


def _epc_for(code: str, rfid: RfidSpec) -> str:
    try:
        return carrier_code_to_epc(code, rfid.company_prefix)
    except CodeError as exc:
        raise LayoutError(
            f"no EPC for {code!r}: {exc.message_en}", f"无法为 {code!r} 生成 EPC：{exc.message_zh}"
        ) from exc


def render_zpl_batch(
    layout: Layout, contents: Iterable[LabelContent], options: ZplOptions | None = None, rfid: RfidSpec | None = None
) -> str:
    """Many label formats in one stream (non-RFID batches; RFID labels are sent one by one to read each answer)."""
    return "".join(render_zpl(layout, c, options, rfid) for c in contents)
