"""Every layout, rendered to PNG and SVG, decodes with zxing-cpp back to the exact code (1D and 2D)."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
import zxingcpp
from label_images import rasterise_svg
from PIL import Image

from labels.codes import CheckCharacterError, make_carrier_code, make_location_code
from labels.layout import (
    LabelContent,
    Layout,
    LayoutError,
    carrier_content,
    layout_names,
    load_layout,
    load_sheet,
    place,
    sheet_names,
)
from labels.marking import make_marking
from labels.render.raster import render_image, render_png
from labels.render.svg import render_svg
from labels.samples import SAMPLE_BADGE as BADGE
from labels.samples import SAMPLE_CARRIER as CARRIER
from labels.samples import SAMPLE_LOCATION as LOCATION
from labels.samples import sample_content as content_for

FORMAT_NAMES = {"code128": "Code128", "datamatrix": "DataMatrix", "qr": "QRCode"}


def decode(img: Image.Image | np.ndarray) -> list[tuple[str, str]]:
    """(format, text) of every barcode zxing-cpp finds, sorted."""
    return sorted((r.format.name, r.text) for r in zxingcpp.read_barcodes(img))


def expected_symbols(layout: Layout, code: str) -> list[tuple[str, str]]:
    return sorted((FORMAT_NAMES[b.kind], code) for b in layout.barcodes())


LAYOUTS = layout_names()
STAR = next(c for c in (make_carrier_code("SHA", n) for n in range(1000)) if c.endswith("*"))


def test_the_six_required_layouts_exist() -> None:
    assert {"document-cover", "disc-hub", "usb-flag", "envelope", "location", "badge"} <= set(LAYOUTS)
    assert all(load_layout(n).barcodes() for n in LAYOUTS)


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("dpi", [203, 300])
def test_png_decodes_to_the_exact_code(name: str, dpi: int) -> None:
    layout = load_layout(name)
    content = content_for(layout)
    img = render_image(layout, content, dpi=dpi)
    assert img.size == (round(layout.width * dpi / 25.4), round(layout.height * dpi / 25.4))
    assert decode(img) == expected_symbols(layout, content.code)


@pytest.mark.parametrize("name", [n for n in LAYOUTS if "carrier" in load_layout(n).code_kinds])
@pytest.mark.parametrize("code", [STAR, make_carrier_code("ZZZZ", 999_999_999), make_carrier_code("AB", 0)])
def test_png_round_trip_of_awkward_codes(name: str, code: str) -> None:
    layout = load_layout(name)
    content = carrier_content(code, make_marking("绝密", "长期", (1, 1)))
    assert decode(render_image(layout, content)) == expected_symbols(layout, code)


def test_png_file_is_a_png_at_the_requested_dpi() -> None:
    layout = load_layout("document-cover")
    data = render_png(layout, content_for(layout), dpi=300)
    img = Image.open(io.BytesIO(data))
    assert img.format == "PNG" and round(img.info["dpi"][0]) == 300


@pytest.mark.parametrize("name", LAYOUTS)
def test_svg_is_valid_and_its_symbols_decode(name: str) -> None:
    layout = load_layout(name)
    content = content_for(layout)
    svg = render_svg(layout, content)
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert content.code in texts
    if "carrier" in layout.code_kinds:
        assert "机密★10年" in texts
    assert decode(rasterise_svg(svg)) == expected_symbols(layout, content.code)


def test_optional_fields_are_left_off_and_required_ones_refused() -> None:
    layout = load_layout("document-cover")
    bare = carrier_content(CARRIER, make_marking("秘密", 5))
    texts = [p.text for p in place(layout, bare) if hasattr(p, "text")]
    assert texts == ["秘密★5年", CARRIER]
    with pytest.raises(LayoutError) as exc:
        place(layout, LabelContent(CARRIER))  # no marking: R-06 says the label must show it
    assert "marking" in exc.value.message_en


def test_a_wrong_code_never_reaches_a_label() -> None:
    layout = load_layout("document-cover")
    bad = CARRIER[:-1] + ("A" if CARRIER[-1] != "A" else "B")
    with pytest.raises(CheckCharacterError):
        render_image(layout, carrier_content(bad, make_marking("秘密", 5)))
    with pytest.raises(LayoutError) as exc:
        render_image(layout, carrier_content(LOCATION, make_marking("秘密", 5)))
    assert "location" in exc.value.message_en
    with pytest.raises(LayoutError):
        render_image(load_layout("badge"), content_for(load_layout("location")))
    assert BADGE.startswith("B-")


def test_too_long_a_code_for_the_box_is_a_clear_error() -> None:
    layout = load_layout("location")
    long_code = make_location_code("ABCD", "ABCDEFGHIJKL")
    with pytest.raises(LayoutError) as exc:
        render_image(layout, content_for(layout, long_code))
    assert "wider layout" in exc.value.message_en


def test_text_shrinks_to_fit_its_box() -> None:
    layout = load_layout("document-cover")
    long_title = "京密〔2025〕第12号 关于某某工作的补充通知及附件清单"
    img = render_image(layout, carrier_content(CARRIER, make_marking("机密", 10), title=long_title), guides=False)
    # The title box ends at x = 50 mm; nothing of the title may spill into the DataMatrix column (50-53 mm).
    px = img.load()
    x0, x1 = round(50.2 * 300 / 25.4), round(52.8 * 300 / 25.4)
    y0, y1 = round(14.6 * 300 / 25.4), round(17.8 * 300 / 25.4)
    assert all(px[x, y] > 128 for x in range(x0, x1) for y in range(y0, y1))
    assert decode(img) == expected_symbols(layout, CARRIER)


def test_layout_files_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('width_mm = 50\nheight_mm = 20\n[[elements]]\ntype = "qr"\nx = 40\ny = 0\nsize = 15\n')
    with pytest.raises(LayoutError) as exc:
        load_layout(bad)
    assert "outside" in exc.value.message_en
    bad.write_text("width_mm = = 3")
    with pytest.raises(LayoutError):
        load_layout(bad)
    bad.write_text('width_mm = 50\nheight_mm = 20\n[[elements]]\ntype = "pdf417"\nx = 0\ny = 0\n')
    with pytest.raises(LayoutError):
        load_layout(bad)
    with pytest.raises(LayoutError) as unknown:
        load_layout("no-such-layout")
    assert "document-cover" in unknown.value.message_en
    good = tmp_path / "mine.toml"
    good.write_text(
        'width_mm = 50\nheight_mm = 20\ncode_kinds = ["carrier"]\n'
        '[[elements]]\ntype = "datamatrix"\nx = 1\ny = 1\nsize = 15\n'
        '[[elements]]\ntype = "text"\nx = 18\ny = 1\nw = 30\nh = 5\ntext = "{marking}"\n'
    )
    mine = load_layout("mine", extra_dirs=[tmp_path])
    assert decode(render_image(mine, carrier_content(CARRIER, make_marking("秘密", 5)))) == [("DataMatrix", CARRIER)]


def test_sheets_are_data_and_consistent() -> None:
    assert {"a4-70x37", "a4-round-40"} <= set(sheet_names())
    sh = load_sheet("a4-70x37")
    assert sh.per_page == 24 and sh.cell_origin(4) == (70.0, 37.5)
    assert re.fullmatch(r"A4.*", sh.title)
    with pytest.raises(LayoutError):
        load_sheet("letter-30up")
