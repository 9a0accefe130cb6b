"""Label layouts and sheets as data (TOML in ``labels/layouts/``), label content, and the step that places a content
onto a layout. A layout names its size in millimetres and a list of elements (text, Code 128, DataMatrix, QR, line,
frame) whose text comes from ``{field}`` templates. Every renderer — PNG, SVG, PDF, ZPL, TSPL — draws the same
placed elements, so there is one description of each label. This module never draws and never talks to a printer.

Fields a content may fill: ``code`` (always), ``marking``, ``marking_en``, ``copy``, ``copy_en``, ``title`` (a
document number, never a classified title), ``site``, ``name``, ``department``, ``sender``, ``recipient``, ``kind``,
and any other the caller adds. An element whose template names a missing field is an error unless the element is
``optional = true``, in which case it is left off the label.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from labels.codes import CodeError, classify_code, parse_badge_code, parse_carrier_code, parse_location_code
from labels.marking import Marking

__all__ = [
    "LAYOUT_DIR",
    "BarcodeElement",
    "Element",
    "FrameElement",
    "LabelContent",
    "Layout",
    "LayoutError",
    "LineElement",
    "PlacedBarcode",
    "PlacedText",
    "Sheet",
    "TextElement",
    "badge_content",
    "carrier_content",
    "layout_names",
    "load_layout",
    "load_sheet",
    "location_content",
    "place",
    "sheet_names",
]

LAYOUT_DIR = Path(__file__).with_name("layouts")
SHEETS_FILE = "sheets.toml"

Align = Literal["left", "center", "right"]
BarcodeKind = Literal["code128", "datamatrix", "qr"]
SymbolShape = Literal["square", "rectangular"]


class LayoutError(ValueError):
    """A layout or sheet file is wrong, or a content does not fit its layout; English and Chinese."""

    def __init__(self, message_en: str, message_zh: str) -> None:
        self.message_en = message_en
        self.message_zh = message_zh
        super().__init__(f"{message_en} / {message_zh}")


@dataclass(frozen=True, slots=True)
class TextElement:
    x: float
    y: float
    w: float
    h: float
    text: str
    size: float
    bold: bool = False
    align: Align = "left"
    optional: bool = False


@dataclass(frozen=True, slots=True)
class BarcodeElement:
    """A barcode in a box. 1D: bars of ``module`` mm, centred in the box (quiet zones must fit). 2D: the largest
    whole-dot module that fits the box on both axes, quiet zone included, centred. A DataMatrix is square unless the
    layout says ``shape = "rectangular"`` (and gives ``w`` and ``h``): a reader aims at a square box, and an
    encoder left to itself picks an 8x32 strip for some code lengths."""

    kind: BarcodeKind
    x: float
    y: float
    w: float
    h: float
    data: str = "{code}"
    module: float = 0.25
    optional: bool = False
    shape: SymbolShape = "square"


@dataclass(frozen=True, slots=True)
class LineElement:
    x1: float
    y1: float
    x2: float
    y2: float
    thickness: float = 0.3


@dataclass(frozen=True, slots=True)
class FrameElement:
    x: float
    y: float
    w: float
    h: float
    thickness: float = 0.3


Element = TextElement | BarcodeElement | LineElement | FrameElement


@dataclass(frozen=True, slots=True)
class Layout:
    """One kind of label. ``shape = "disc"`` is a round hub label with a centre ``hole`` (both drawn only as preview
    guides); ``folds`` are x positions of fold lines (a USB flag label wraps round the cable there)."""

    name: str
    title: str
    width: float
    height: float
    elements: tuple[Element, ...]
    shape: Literal["rect", "disc"] = "rect"
    hole: float = 0.0
    folds: tuple[float, ...] = ()
    code_kinds: tuple[str, ...] = ("carrier",)
    description: str = ""

    def barcodes(self) -> tuple[BarcodeElement, ...]:
        return tuple(e for e in self.elements if isinstance(e, BarcodeElement))


@dataclass(frozen=True, slots=True)
class LabelContent:
    """What one label says: its code, the text fields, and (for RFID labels) the EPC to write."""

    code: str
    fields: Mapping[str, str] = field(default_factory=dict)
    epc: str | None = None

    def value(self, name: str) -> str | None:
        if name == "code":
            return self.code
        if name == "epc":
            return self.epc
        v = self.fields.get(name)
        return v if v else None


@dataclass(frozen=True, slots=True)
class PlacedText:
    x: float
    y: float
    w: float
    h: float
    text: str
    size: float
    bold: bool
    align: Align


@dataclass(frozen=True, slots=True)
class PlacedBarcode:
    kind: BarcodeKind
    x: float
    y: float
    w: float
    h: float
    data: str
    module: float
    shape: SymbolShape = "square"


Placed = PlacedText | PlacedBarcode | LineElement | FrameElement


# --- content builders ------------------------------------------------------------------------------------------


def carrier_content(
    code: str,
    marking: Marking | None = None,
    *,
    title: str | None = None,
    bilingual: bool = False,
    epc: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> LabelContent:
    """Content of a carrier label: the code, its marking (and copy number), a document number as ``title``."""
    fields: dict[str, str] = {}
    if marking is not None:
        fields.update(marking.fields(bilingual=bilingual))
    if title:
        fields["title"] = title
    if extra:
        fields.update(extra)
    return LabelContent(code=code, fields=fields, epc=epc)


def location_content(code: str, name: str, *, extra: Mapping[str, str] | None = None) -> LabelContent:
    """Content of a shelf label: the location code and the place's display name (e.g. ``3号柜 第2层``)."""
    return LabelContent(code=code, fields={"name": name, **(extra or {})})


def badge_content(
    code: str, name: str, *, department: str | None = None, extra: Mapping[str, str] | None = None
) -> LabelContent:
    """Content of a badge: the badge code, the person's name and department."""
    fields = {"name": name, **({"department": department} if department else {}), **(extra or {})}
    return LabelContent(code=code, fields=fields)


# --- loading ---------------------------------------------------------------------------------------------------


def _num(d: Mapping[str, Any], key: str, where: str, default: float | None = None) -> float:
    v = d.get(key, default)
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise LayoutError(f"{where}: '{key}' must be a number (mm)", f"{where}：'{key}' 必须是数字（毫米）")
    return float(v)


def _element(d: Mapping[str, Any], where: str) -> Element:
    kind = d.get("type")
    if kind == "text":
        align = d.get("align", "left")
        if align not in ("left", "center", "right"):
            raise LayoutError(
                f"{where}: align must be left, center or right", f"{where}：align 只能是 left/center/right"
            )
        text = d.get("text")
        if not isinstance(text, str) or not text:
            raise LayoutError(f"{where}: text element needs 'text'", f"{where}：文字元素缺少 'text'")
        _template_fields(text, where)
        return TextElement(
            x=_num(d, "x", where),
            y=_num(d, "y", where),
            w=_num(d, "w", where),
            h=_num(d, "h", where),
            text=text,
            size=_num(d, "size", where, default=_num(d, "h", where) * 0.8),
            bold=bool(d.get("bold", False)),
            align=align,
            optional=bool(d.get("optional", False)),
        )
    if kind in ("code128", "datamatrix", "qr"):
        data = d.get("data", "{code}")
        if not isinstance(data, str):
            raise LayoutError(f"{where}: 'data' must be a template string", f"{where}：'data' 必须是模板字符串")
        _template_fields(data, where)
        shape = d.get("shape", "square")
        if shape not in ("square", "rectangular") or (shape == "rectangular" and kind != "datamatrix"):
            raise LayoutError(
                f"{where}: shape must be square, or rectangular for a DataMatrix",
                f"{where}：shape 只能是 square（DataMatrix 可为 rectangular）",
            )
        if kind == "code128" or shape == "rectangular":
            w, h = _num(d, "w", where), _num(d, "h", where)
        else:
            w = h = _num(d, "size", where)
        return BarcodeElement(
            kind=kind,
            x=_num(d, "x", where),
            y=_num(d, "y", where),
            w=w,
            h=h,
            data=data,
            module=_num(d, "module", where, default=0.25),
            optional=bool(d.get("optional", False)),
            shape=shape,
        )
    if kind == "line":
        return LineElement(
            _num(d, "x1", where),
            _num(d, "y1", where),
            _num(d, "x2", where),
            _num(d, "y2", where),
            _num(d, "thickness", where, default=0.3),
        )
    if kind == "frame":
        return FrameElement(
            _num(d, "x", where),
            _num(d, "y", where),
            _num(d, "w", where),
            _num(d, "h", where),
            _num(d, "thickness", where, default=0.3),
        )
    raise LayoutError(
        f"{where}: unknown element type {kind!r} (text, code128, datamatrix, qr, line, frame)",
        f"{where}：未知元素类型 {kind!r}",
    )


def _template_fields(template: str, where: str) -> tuple[str, ...]:
    try:
        names = tuple(name for _, name, _, _ in string.Formatter().parse(template) if name is not None)
    except ValueError as exc:
        raise LayoutError(f"{where}: bad template {template!r}: {exc}", f"{where}：模板 {template!r} 有误") from exc
    for n in names:
        if not n.isidentifier():
            raise LayoutError(f"{where}: bad field name {n!r}", f"{where}：字段名 {n!r} 有误")
    return names


def parse_layout(data: Mapping[str, Any], name: str) -> Layout:
    """Build a layout from parsed TOML, checking that every element lies inside the label."""
    where = f"layout {name}"
    width, height = _num(data, "width_mm", where), _num(data, "height_mm", where)
    shape = data.get("shape", "rect")
    if shape not in ("rect", "disc"):
        raise LayoutError(f"{where}: shape must be rect or disc", f"{where}：shape 只能是 rect 或 disc")
    raw = data.get("elements", [])
    if not isinstance(raw, list) or not raw:
        raise LayoutError(f"{where}: needs [[elements]]", f"{where}：缺少 [[elements]]")
    elements = tuple(_element(e, f"{where} element {i + 1}") for i, e in enumerate(raw))
    for i, e in enumerate(elements):
        if isinstance(e, LineElement):
            x0, y0, x1, y1 = min(e.x1, e.x2), min(e.y1, e.y2), max(e.x1, e.x2), max(e.y1, e.y2)
        else:
            x0, y0, x1, y1 = e.x, e.y, e.x + e.w, e.y + e.h
        if x0 < 0 or y0 < 0 or x1 > width + 1e-6 or y1 > height + 1e-6:
            raise LayoutError(
                f"{where} element {i + 1} lies outside the {width}x{height} mm label",
                f"{where} 第 {i + 1} 个元素超出 {width}x{height} 毫米标签",
            )
    folds = tuple(float(f) for f in data.get("folds", []))
    kinds = tuple(str(k) for k in data.get("code_kinds", ["carrier"]))
    return Layout(
        name=name,
        title=str(data.get("title", name)),
        description=str(data.get("description", "")),
        width=width,
        height=height,
        elements=elements,
        shape=shape,
        hole=_num(data, "hole_mm", where, default=0.0),
        folds=folds,
        code_kinds=kinds,
    )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise LayoutError(f"cannot read {path}: {exc.strerror}", f"无法读取 {path}：{exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{path} is not valid TOML: {exc}", f"{path} 不是有效的 TOML：{exc}") from exc


def layout_names(extra_dirs: Iterable[Path] = ()) -> list[str]:
    """Names of the bundled layouts (and of those in ``extra_dirs``)."""
    names = {p.stem for d in (LAYOUT_DIR, *extra_dirs) for p in Path(d).glob("*.toml") if p.name != SHEETS_FILE}
    return sorted(names)


@lru_cache(maxsize=64)
def _load_bundled(name: str) -> Layout:
    return parse_layout(_read_toml(LAYOUT_DIR / f"{name}.toml"), name)


def load_layout(name_or_path: str | Path, extra_dirs: Iterable[Path] = ()) -> Layout:
    """A layout by name (bundled, or from ``extra_dirs`` first) or by the path of a ``.toml`` file."""
    p = Path(name_or_path)
    if p.suffix == ".toml":
        return parse_layout(_read_toml(p), p.stem)
    name = str(name_or_path)
    for d in extra_dirs:
        cand = Path(d) / f"{name}.toml"
        if cand.is_file():
            return parse_layout(_read_toml(cand), name)
    if name != Path(SHEETS_FILE).stem and (LAYOUT_DIR / f"{name}.toml").is_file():
        return _load_bundled(name)
    raise LayoutError(
        f"no layout named {name!r}; known: {', '.join(layout_names(extra_dirs))}",
        f"没有名为 {name!r} 的版式；可用：{', '.join(layout_names(extra_dirs))}",
    )


# --- placing ---------------------------------------------------------------------------------------------------


def _fill(template: str, content: LabelContent) -> str | None:
    """The template with fields filled, or ``None`` when a field it names is missing or empty."""
    out: list[str] = []
    for literal, name, spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        v = content.value(name)
        if v is None:
            return None
        out.append(format(v, spec or ""))
    return "".join(out)


_PARSERS = {"carrier": parse_carrier_code, "location": parse_location_code, "badge": parse_badge_code}


def place(layout: Layout, content: LabelContent) -> list[Placed]:
    """Fill the layout's templates from ``content``; raises ``CodeError`` for a code that fails its check and
    ``LayoutError`` for a missing required field or a code of a kind the layout is not made for."""
    kind = classify_code(content.code)
    if kind in _PARSERS:
        _PARSERS[kind](content.code)  # a label never carries a code with a wrong check character
    if kind not in layout.code_kinds:
        raise LayoutError(
            f"layout {layout.name} is for {'/'.join(layout.code_kinds)} codes, not {content.code!r} ({kind})",
            f"版式 {layout.name} 用于 {'/'.join(layout.code_kinds)} 编码，不适用于 {content.code!r}",
        )
    placed: list[Placed] = []
    for e in layout.elements:
        if isinstance(e, TextElement):
            text = _fill(e.text, content)
            if text is None:
                if e.optional:
                    continue
                raise _missing(layout, e.text)
            placed.append(PlacedText(e.x, e.y, e.w, e.h, text, e.size, e.bold, e.align))
        elif isinstance(e, BarcodeElement):
            data = _fill(e.data, content)
            if data is None:
                if e.optional:
                    continue
                raise _missing(layout, e.data)
            placed.append(PlacedBarcode(e.kind, e.x, e.y, e.w, e.h, data, e.module, e.shape))
        else:
            placed.append(e)
    return placed


def _missing(layout: Layout, template: str) -> LayoutError:
    return LayoutError(
        f"layout {layout.name} needs {template!r} but the label content has no such field",
        f"版式 {layout.name} 需要 {template!r}，但标签内容缺少该字段",
    )


def validate_content(layout: Layout, content: LabelContent) -> None:
    """Raise ``LayoutError``/``CodeError`` before anything is sent to a printer."""
    place(layout, content)


# --- sheets ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sheet:
    """A die-cut label sheet (A4): a grid of cells at a pitch from the page's top-left corner."""

    name: str
    title: str
    page_width: float
    page_height: float
    columns: int
    rows: int
    label_width: float
    label_height: float
    left: float
    top: float
    pitch_x: float
    pitch_y: float
    shape: Literal["rect", "disc"] = "rect"

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def cell_origin(self, index: int, offset_x: float = 0.0, offset_y: float = 0.0) -> tuple[float, float]:
        """Top-left (x, y) in mm from the page's top-left of cell ``index`` (0-based, row by row)."""
        i = index % self.per_page
        r, c = divmod(i, self.columns)
        return self.left + c * self.pitch_x + offset_x, self.top + r * self.pitch_y + offset_y


def _parse_sheet(name: str, d: Mapping[str, Any]) -> Sheet:
    where = f"sheet {name}"
    cols, rows = d.get("columns"), d.get("rows")
    if not isinstance(cols, int) or not isinstance(rows, int) or cols < 1 or rows < 1:
        raise LayoutError(f"{where}: columns and rows must be positive integers", f"{where}：行列数必须是正整数")
    sh = Sheet(
        name=name,
        title=str(d.get("title", name)),
        page_width=_num(d, "page_width_mm", where, 210.0),
        page_height=_num(d, "page_height_mm", where, 297.0),
        columns=cols,
        rows=rows,
        label_width=_num(d, "label_width_mm", where),
        label_height=_num(d, "label_height_mm", where),
        left=_num(d, "left_mm", where),
        top=_num(d, "top_mm", where),
        pitch_x=_num(d, "pitch_x_mm", where),
        pitch_y=_num(d, "pitch_y_mm", where),
        shape=d.get("shape", "rect"),
    )
    right = sh.left + (cols - 1) * sh.pitch_x + sh.label_width
    bottom = sh.top + (rows - 1) * sh.pitch_y + sh.label_height
    if right > sh.page_width + 1e-6 or bottom > sh.page_height + 1e-6:
        raise LayoutError(f"{where}: the grid runs off the page", f"{where}：标签网格超出页面")
    return sh


@lru_cache(maxsize=1)
def _bundled_sheets() -> dict[str, Sheet]:
    raw = _read_toml(LAYOUT_DIR / SHEETS_FILE).get("sheet", {})
    return {name: _parse_sheet(name, d) for name, d in raw.items()}


def sheet_names() -> list[str]:
    return sorted(_bundled_sheets())


def load_sheet(name: str) -> Sheet:
    sheets = _bundled_sheets()
    if name not in sheets:
        raise LayoutError(
            f"no sheet named {name!r}; known: {', '.join(sorted(sheets))}",
            f"没有名为 {name!r} 的标签纸；可用：{', '.join(sorted(sheets))}",
        )
    return sheets[name]


def check_fits(layout: Layout, sheet: Sheet) -> None:
    if layout.width > sheet.label_width + 0.01 or layout.height > sheet.label_height + 0.01:
        raise LayoutError(
            f"layout {layout.name} ({layout.width}x{layout.height} mm) does not fit the "
            f"{sheet.label_width}x{sheet.label_height} mm cells of sheet {sheet.name}",
            f"版式 {layout.name}（{layout.width}x{layout.height} 毫米）放不进标签纸 {sheet.name} 的格子",
        )


__all__ += ["CodeError", "Placed", "check_fits", "parse_layout", "validate_content"]
