"""PDF sheets rendered back with pypdfium2: every label on every page decodes to its own code, in its own cell."""

from __future__ import annotations

import numpy as np
import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image

from labels.codes import make_carrier_code, make_location_code
from labels.layout import LayoutError, Sheet, carrier_content, load_layout, load_sheet
from labels.marking import make_marking
from labels.render.pdf import render_calibration_pdf, render_pdf_label, render_pdf_sheet
from labels.samples import sample_content

DPI = 300


def _pages(pdf: bytes, dpi: int = DPI) -> list[Image.Image]:
    doc = pdfium.PdfDocument(pdf)
    try:
        return [doc[i].render(scale=dpi / 72).to_pil().convert("L") for i in range(len(doc))]
    finally:
        doc.close()


def _cell(page: Image.Image, sheet: Sheet, index: int, ox: float = 0.0, oy: float = 0.0) -> Image.Image:
    x, y = sheet.cell_origin(index, ox, oy)
    k = DPI / 25.4
    right, bottom = x + sheet.label_width, y + sheet.label_height
    return page.crop((round(x * k), round(y * k), round(right * k), round(bottom * k)))


def _decoded(img: Image.Image) -> list[tuple[str, str]]:
    return sorted((r.format.name, r.text) for r in zxingcpp.read_barcodes(img))


def test_a4_sheet_over_two_pages_decodes_label_by_label() -> None:
    layout = load_layout("document-cover")
    sheet = load_sheet("a4-70x37")
    codes = [make_carrier_code("BJ", 1000 + i) for i in range(30)]
    marking = make_marking("机密", 10, (1, 30))
    pdf = render_pdf_sheet(layout, [carrier_content(c, marking) for c in codes], sheet, start=3)
    pages = _pages(pdf)
    assert len(pages) == 2  # 22 labels on the first sheet (cells 3-24), 8 on the second
    cells = [(0, i) for i in range(2, 24)] + [(1, i) for i in range(8)]
    for code, (p, i) in zip(codes, cells, strict=True):
        assert _decoded(_cell(pages[p], sheet, i)) == [("Code128", code), ("DataMatrix", code)], (code, p, i)
    assert _decoded(_cell(pages[0], sheet, 0)) == [] and _decoded(_cell(pages[0], sheet, 1)) == []
    assert _decoded(_cell(pages[1], sheet, 8)) == []


@pytest.mark.parametrize(
    ("layout_name", "sheet_name"),
    [
        ("disc-hub", "a4-round-40"),
        ("envelope", "a4-105x74"),
        ("location", "a4-99x38"),
        ("badge", "a4-54x86"),
        ("usb-flag", "a4-70x37"),
        ("asset", "a4-70x37"),
        ("document-cover", "a4-70x37"),
    ],
)
def test_every_layout_on_its_sheet(layout_name: str, sheet_name: str) -> None:
    layout = load_layout(layout_name)
    sheet = load_sheet(sheet_name)
    n = min(sheet.per_page, 6)
    # short and longest codes side by side: a symbol drawn too wide would run into its neighbour's cell (issue 17)
    if "location" in layout.code_kinds:
        contents = [sample_content(layout, make_location_code("ZZZZ" if i % 2 else "BJ", f"S{i}" if i % 2 == 0
                                                              else f"R{i}C99S9")) for i in range(n)]
    elif "badge" in layout.code_kinds:
        contents = [sample_content(layout)] * n
    else:
        lengths = [("SH", 1), ("SHA", 1_000_000), ("ABCD", 12_345_678), ("ZZZZ", 999_999_999), ("ZZ", 999_999_999)]
        contents = [sample_content(layout, make_carrier_code(*lengths[i % len(lengths)])) for i in range(n)]
    page = _pages(render_pdf_sheet(layout, contents, sheet))[0]
    kinds = {"code128": "Code128", "datamatrix": "DataMatrix", "qr": "QRCode"}
    for i, c in enumerate(contents):
        assert _decoded(_cell(page, sheet, i)) == sorted((kinds[b.kind], c.code) for b in layout.barcodes())


def test_printer_offset_moves_every_label() -> None:
    layout = load_layout("document-cover")
    sheet = load_sheet("a4-70x37")
    code = make_carrier_code("BJ", 7)
    pdf = render_pdf_sheet(layout, [carrier_content(code, make_marking("秘密", 5))], sheet, offset_x=3, offset_y=4)
    page = _pages(pdf)[0]
    assert _decoded(_cell(page, sheet, 0, 3, 4)) == [("Code128", code), ("DataMatrix", code)]
    # Where the unshifted label would end, the shifted one has not: the right-hand edge strip is blank.
    k = DPI / 25.4
    strip = page.crop((round(67.5 * k), round(20 * k), round(70 * k), round(29 * k)))
    assert np.asarray(strip).min() > 128


def test_embedded_font_draws_chinese_without_a_system_font() -> None:
    layout = load_layout("document-cover")
    content = carrier_content(make_carrier_code("BJ", 9), make_marking("绝密", "长期", (1, 2)))
    k = DPI / 25.4
    box = (round(3 * k), round(2 * k), round(50 * k), round(8 * k))  # the marking's box
    ink: dict[str, int] = {}
    for font in ("STSong-Light", "embedded"):
        page = _pages(render_pdf_label(layout, content, cjk_font=font))[0]
        assert _decoded(page) == [("Code128", content.code), ("DataMatrix", content.code)]
        ink[font] = int((np.asarray(page.crop(box)) < 128).sum())
    assert ink["embedded"] > 2000  # the marking is drawn from the embedded glyphs
    with pytest.raises(LayoutError):
        render_pdf_label(layout, content, cjk_font="Comic Sans")


def test_by_default_every_pdf_carries_its_own_chinese_glyphs() -> None:
    """A sheet must not depend on the viewer's fonts: the default embeds the bundled font, never STSong-Light."""
    layout = load_layout("document-cover")
    content = carrier_content(make_carrier_code("BJ", 9), make_marking("绝密", "长期", (1, 2)))
    for pdf in (
        render_pdf_label(layout, content),
        render_pdf_sheet(layout, [content] * 3, "a4-70x37"),
        render_calibration_pdf("a4-70x37"),
    ):
        assert b"/FontFile2" in pdf and b"WenQuanYiMicroHei" in pdf
        assert b"STSong-Light" not in pdf
    k = DPI / 25.4
    page = _pages(render_pdf_label(layout, content))[0]
    assert _decoded(page) == [("Code128", content.code), ("DataMatrix", content.code)]
    marking = page.crop((round(3 * k), round(2 * k), round(50 * k), round(8 * k)))
    assert int((np.asarray(marking) < 128).sum()) > 2000


def test_calibration_page_has_a_cross_at_every_cell_centre() -> None:
    sheet = load_sheet("a4-70x37")
    page = _pages(render_calibration_pdf(sheet, offset_x=1.5))[0]
    k = DPI / 25.4
    for i in range(sheet.per_page):
        x, y = sheet.cell_origin(i, 1.5, 0)
        cx, cy = round((x + sheet.label_width / 2) * k), round((y + sheet.label_height / 2) * k)
        assert page.getpixel((cx, cy)) < 128  # type: ignore[operator]
        assert page.getpixel((cx + round(3.5 * k), cy)) < 128  # type: ignore[operator]  # arm of the cross
        assert page.getpixel((cx + round(2 * k), cy + round(2 * k))) > 128  # type: ignore[operator]


def test_bad_sheet_requests_are_refused_before_drawing() -> None:
    layout = load_layout("envelope")
    content = sample_content(layout)
    with pytest.raises(LayoutError) as exc:
        render_pdf_sheet(layout, [content], "a4-70x37")
    assert "does not fit" in exc.value.message_en
    with pytest.raises(LayoutError):
        render_pdf_sheet(layout, [content], "a4-105x74", start=9)
    with pytest.raises(LayoutError):
        render_pdf_sheet(layout, [], "a4-105x74")
    bad = carrier_content(content.code[:-1] + ("A" if content.code[-1] != "A" else "B"), make_marking("秘密", 5))
    with pytest.raises(ValueError):
        render_pdf_sheet(layout, [content, bad], "a4-105x74")
