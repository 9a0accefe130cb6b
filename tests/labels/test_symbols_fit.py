"""Every layout holds its symbols at every code length the register can issue, in every renderer, and two decoders
that share no code read them: zxing-cpp on the whole label, and libdmtx (DataMatrix) or libzbar (QR, Code 128) on
the symbol's own box only, so a symbol drawn too wide for its box — into the next label of an A4 sheet, off a disc
hub — fails here as it fails on paper. ZPL and TSPL jobs are printed by the printer emulator's rasteriser, which
follows the job's own position, module, rows and columns. DataMatrix is square unless the layout asks otherwise, and
all renderers draw the same symbol at (within one printer dot per module) the same size.
"""

from __future__ import annotations

import pytest
from label_images import (
    RENDERERS,
    dark_extent_mm,
    element_crop,
    expected_symbols,
    second_decoder,
    zxing_symbols,
)

from labels.codes import make_badge_code, make_carrier_code, make_location_code
from labels.layout import LayoutError, PlacedBarcode, layout_names, load_layout, parse_layout
from labels.render.common import MIN_MODULE_MM, grid_in_dots, grid_in_mm, min_module_dots
from labels.render.raster import render_image
from labels.render.tspl import TsplOptions, render_tspl
from labels.render.zpl import ZplOptions, render_zpl
from labels.samples import sample_content
from labels.symbols import matrix_for

# Shortest and longest carrier codes and every site-prefix length (2, 3, 4 letters), with the 12-14 character codes
# for which an unconstrained encoder picks a rectangular 8x32 DataMatrix.
CARRIER_CODES = [
    make_carrier_code("AB", 0),  # 10 characters, the shortest
    make_carrier_code("SHA", 123),  # 11
    make_carrier_code("SHA", 1_000_000),  # 12
    make_carrier_code("ZZ", 999_999_999),  # 12
    make_carrier_code("ABCD", 1_234_567),  # 13
    make_carrier_code("ABCD", 12_345_678),  # 14
    make_carrier_code("ZZZZ", 999_999_999),  # 15, the longest
]
# Location and badge codes are typed in by people; the shelf and badge layouts' Code 128 holds up to 7 (location) and
# 5 letters or 6 digits (badge) after the site. Longer ones are refused when made (tests/integration/
# test_printable_codes.py) and, should one come from elsewhere, at render time (tested below).
LOCATION_CODES = [make_location_code("AB", "1"), make_location_code("ZZZZ", "Z" * 7)]
BADGE_CODES = [make_badge_code("AB", "1"), make_badge_code("ZZZZ", "Z" * 5), make_badge_code("ZZZZ", "9" * 6)]


def _codes_for(layout_name: str) -> list[str]:
    kinds = load_layout(layout_name).code_kinds
    if "location" in kinds:
        return LOCATION_CODES
    if "badge" in kinds:
        return BADGE_CODES
    return CARRIER_CODES


@pytest.mark.parametrize("renderer", sorted(RENDERERS))
@pytest.mark.parametrize("name", layout_names())
def test_every_symbol_decodes_at_every_code_length(name: str, renderer: str) -> None:
    layout = load_layout(name)
    draw, px_per_mm = RENDERERS[renderer]
    for code in _codes_for(name):
        img = draw(layout, sample_content(layout, code))
        assert zxing_symbols(img) == expected_symbols(layout, code), f"{name} {renderer} {code} (zxing-cpp)"
        for e in layout.barcodes():
            got = second_decoder(element_crop(img, e, px_per_mm), e.kind)
            assert got == [code], f"{name} {renderer} {code}: {e.kind} in its box (second decoder)"


@pytest.mark.parametrize("code", CARRIER_CODES)
def test_datamatrix_is_square_and_every_renderer_draws_it_the_same_size(code: str) -> None:
    layout = load_layout("asset")
    (e,) = [b for b in layout.barcodes() if b.kind == "datamatrix"]
    matrix = matrix_for("datamatrix", code)
    assert len(matrix) == len(matrix[0]), f"{code} got a {len(matrix)}x{len(matrix[0])} symbol"
    pb = PlacedBarcode(e.kind, e.x, e.y, e.w, e.h, code, e.module)
    nominal = grid_in_mm(pb).module * len(matrix)
    for renderer, (draw, px_per_mm) in RENDERERS.items():
        width, height = dark_extent_mm(draw(layout, sample_content(layout, code)), e, px_per_mm)
        # whole-dot printers may lose under one dot per module against the millimetre renderers, never gain
        dpi = int(renderer.split("-")[1]) if "-" in renderer else 300
        slack = len(matrix) * 25.4 / dpi + 2 / px_per_mm
        for side in (width, height):
            assert nominal - slack <= side <= nominal + 2 / px_per_mm, f"{renderer}: {side:.2f} vs {nominal:.2f} mm"
        assert abs(width - height) <= 2 / px_per_mm, f"{renderer}: {width:.2f} x {height:.2f} mm is not square"


def test_printer_commands_carry_the_symbols_rows_and_columns_and_the_preview_module() -> None:
    layout = load_layout("usb-flag")
    code = make_carrier_code("SHA", 1_000_000)
    (e,) = layout.barcodes()
    rows = len(matrix_for("datamatrix", code))
    for dpi in (203, 300):
        g = grid_in_dots(PlacedBarcode(e.kind, e.x, e.y, e.w, e.h, code, e.module), dpi)
        zpl = render_zpl(layout, sample_content(layout, code), ZplOptions(dpi=dpi))
        assert f"^BXN,{g.module},200,{rows},{rows}^" in zpl
        tspl = render_tspl(layout, sample_content(layout, code), TsplOptions(dpi=dpi)).decode("gb18030")
        side = rows * g.module
        assert f"DMATRIX {g.x},{g.y},{side},{side},x{g.module},{rows},{rows}," in tspl


def _one_symbol_layout(kind: str, **geometry: float | str) -> dict[str, object]:
    element: dict[str, object] = {"type": kind, "x": 1, "y": 1, **geometry}
    return {"width_mm": 60, "height_mm": 30, "elements": [element]}


def test_a_rectangular_datamatrix_only_where_the_layout_asks_and_sized_on_both_axes() -> None:
    code = make_carrier_code("SHA", 1_000_000)
    layout = parse_layout(_one_symbol_layout("datamatrix", w=30, h=8, shape="rectangular"), "strip")
    (e,) = layout.barcodes()
    assert e.shape == "rectangular"
    pb = PlacedBarcode(e.kind, e.x, e.y, e.w, e.h, code, e.module, e.shape)
    g = grid_in_dots(pb, 300)
    assert (len(g.matrix), len(g.matrix[0])) == (8, 32)
    assert (len(g.matrix[0]) + 2) * g.module <= round(30 * 300 / 25.4)
    assert (len(g.matrix) + 2) * g.module <= round(8 * 300 / 25.4)
    for renderer in ("png-300", "svg", "zpl-300", "tspl-300"):
        draw, px_per_mm = RENDERERS[renderer]
        img = draw(layout, sample_content(load_layout("asset"), code))
        assert second_decoder(element_crop(img, e, px_per_mm), "datamatrix") == [code], renderer
    with pytest.raises(LayoutError, match="shape"):
        parse_layout(_one_symbol_layout("datamatrix", size=10, shape="oval"), "bad")


def test_the_smallest_printable_module_is_respected_per_printer_resolution() -> None:
    assert min_module_dots(203) == 2 and min_module_dots(300) == 3 and min_module_dots(600) == 6
    for dpi in (203, 300, 600):
        assert min_module_dots(dpi) * 25.4 / dpi >= MIN_MODULE_MM - 0.01
    code = make_carrier_code("ZZZZ", 999_999_999)
    # 18 modules with the quiet zone in 4.55 mm: two dots each at 203 dpi, under three (0.25 mm) at 300 dpi
    layout = parse_layout(_one_symbol_layout("datamatrix", size=4.55), "tiny")
    pb = PlacedBarcode("datamatrix", 1, 1, 4.55, 4.55, code, 0.25)
    assert grid_in_dots(pb, 203).module == 2
    content = sample_content(load_layout("asset"), code)
    with pytest.raises(LayoutError) as refused:
        render_image(layout, content, dpi=300)
    assert "300 dpi" in refused.value.message_en and "0.25 mm" in refused.value.message_en
    assert "300 dpi" in refused.value.message_zh and "毫米" in refused.value.message_zh


@pytest.mark.parametrize("renderer", ["png-203", "svg", "pdf", "zpl-203", "tspl-203"])
def test_a_code_that_cannot_fit_its_layout_is_refused_at_render_time(renderer: str) -> None:
    layout = parse_layout(_one_symbol_layout("datamatrix", size=3), "too-small")
    content = sample_content(load_layout("asset"), make_carrier_code("ZZZZ", 999_999_999))
    draw, _ = RENDERERS[renderer]
    with pytest.raises(LayoutError) as refused:
        draw(layout, content)
    assert "does not fit" in refused.value.message_en and "放不进" in refused.value.message_zh


@pytest.mark.parametrize("renderer", ["png-300", "svg", "pdf", "zpl-300", "tspl-300"])
@pytest.mark.parametrize(
    ("name", "code"),
    [("badge", make_badge_code("ZZZZ", "Z" * 12)), ("location", make_location_code("ZZZZ", "Z" * 12))],
)
def test_a_code_too_long_for_a_layouts_code128_is_refused_not_printed(name: str, code: str, renderer: str) -> None:
    layout = load_layout(name)
    draw, _ = RENDERERS[renderer]
    with pytest.raises(LayoutError) as refused:
        draw(layout, sample_content(layout, code))
    assert "wide" in refused.value.message_en and "毫米宽" in refused.value.message_zh
