"""The one CSV/XLSX writer: every export and report of the register writes its tables through here.

It owns what makes a cell safe to open: formula injection is neutralised (a text starting with ``= + - @``, a tab or
a CR is kept as text with a leading apostrophe, as OWASP's CSV-injection advice has it), and control characters are
written out visibly (``\\x1b``, `tracker.text.visible`) so that no character can make openpyxl refuse the workbook
(IllegalCharacterError: one such title used to fail the export of the whole register) or drive a terminal when CSV
goes to standard output. Numbers, booleans, empty cells, dates and local (naive) date-times pass unchanged, so an XLSX
cell is typed (a date is a date); an aware date-time is written as text, as Excel has no zones. It must never query
the register nor decide which columns a report has: callers hand it rows. Files it writes are private (0600), like
the register they are taken from.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from tracker.text import visible

__all__ = ["Sheet", "cell", "to_csv", "write_csv", "write_csv_stream", "write_xlsx"]

# What a spreadsheet may read as the start of a formula (or DDE command), when it begins a cell.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """`value` as it is safe to write into a CSV or XLSX cell (see the module's opening)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, date) and not (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_FORMULA_START):
        text = "'" + text
    return visible(text)


def _row(values: Iterable[Any]) -> list[Any]:
    return [cell(v) for v in values]


def write_csv_stream(stream: TextIO, header: Sequence[str], rows: Iterable[Iterable[Any]],
                     preamble: Sequence[Sequence[Any]] = (), epilogue: Sequence[Sequence[Any]] = ()) -> int:
    """Header and rows into an open text stream; returns the number of rows. A printed register puts its heading
    (unit, period, ledger head) in `preamble` lines before the header and its signature lines in `epilogue`."""
    writer = csv.writer(stream, lineterminator="\n")
    for line in preamble:
        writer.writerow(_row(line))
    writer.writerow(_row(header))
    n = 0
    for r in rows:
        writer.writerow(_row(r))
        n += 1
    for line in epilogue:
        writer.writerow(_row(line))
    return n


def to_csv(header: Sequence[str], rows: Iterable[Iterable[Any]]) -> str:
    buf = io.StringIO()
    write_csv_stream(buf, header, rows)
    return buf.getvalue()


def _open_private(path: Path) -> BinaryIO:
    """An export holds the register's contents (a list of classified holdings): readable by its owner only, like the
    register itself, whatever the umask — and an older, looser file of the same name is tightened, not inherited."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):
        os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Iterable[Any]], bom: bool = True,
              preamble: Sequence[Sequence[Any]] = (), epilogue: Sequence[Sequence[Any]] = ()) -> Path:
    """A CSV file, UTF-8 with a BOM by default so spreadsheet programs show the Chinese."""
    with _open_private(path) as raw, \
            io.TextIOWrapper(raw, newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        write_csv_stream(fh, header, rows, preamble, epilogue)
    return path


@dataclass
class Sheet:
    """One worksheet: its rows, and a header row (bold, frozen) when the sheet is a table."""

    title: str
    rows: Iterable[Iterable[Any]]
    header: Sequence[str] | None = None
    widths: dict[str, float] = field(default_factory=dict)
    # Printed pages: a footer (Excel codes: &P page, &N pages) and a header line, each escaped of Excel's codes
    # only by the caller; landscape for wide registers.
    footer: str | None = None
    page_header: str | None = None
    landscape: bool = False


def _title(title: str) -> str:
    """A worksheet name Excel accepts: at most 31 characters, none of ``\\ / * ? : [ ]`` nor a control character."""
    return re.sub(r"[\\/*?:\[\]\x00-\x1f\x7f-\x9f]", "_", title)[:31] or "_"


# --- XLSX ----------------------------------------------------------------------------------------------------------
# The workbook is written as SpreadsheetML straight into the zip, row by row. openpyxl's write-only mode serialised
# each cell through an element tree: 3 s for the 80,000 cells of a 5,000-row register, a minute for a year of a
# 100,000-carrier register; this writer does the same file in about a tenth of that. It writes only what a register
# needs — text (inline strings, never formulas), numbers, booleans, dates; a bold frozen header row repeated on
# printed pages; column widths; a printed page header and footer; landscape — and openpyxl reads it back in tests.

_EXCEL_EPOCH = datetime(1899, 12, 30)
_XML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>')
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def _xml(text: str) -> str:
    return text.translate(_XML_ESCAPES)


def _cell_xml(value: Any, style: int = 0) -> str:
    """One `<c>` without its reference (a reader counts columns); `value` has been through `cell` already."""
    s = f' s="{style}"' if style else ""
    if value is None:
        return "<c/>"
    if value is True or value is False:
        return f'<c t="b"{s}><v>{int(value)}</v></c>'
    if isinstance(value, int | float):
        return f"<c{s}><v>{value!r}</v></c>"
    if isinstance(value, datetime):
        return f'<c s="2"><v>{(value - _EXCEL_EPOCH).total_seconds() / 86400!r}</v></c>'
    if isinstance(value, date):
        return f'<c s="3"><v>{(value - _EXCEL_EPOCH.date()).days}</v></c>'
    text = _xml(value)
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c t="inlineStr"{s}><is><t{space}>{text}</t></is></c>'


def _sheet_xml(out: TextIO, sheet: Sheet) -> None:
    out.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}" '
              f'xmlns:r="{_REL}"><sheetViews><sheetView workbookViewId="0">')
    if sheet.header is not None:
        out.write('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                  '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>')
    out.write('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
    if sheet.widths:
        out.write("<cols>")
        for letter, width in sorted(sheet.widths.items(), key=lambda kv: _column_number(kv[0])):
            n = _column_number(letter)
            out.write(f'<col min="{n}" max="{n}" width="{float(width)!r}" customWidth="1"/>')
        out.write("</cols>")
    out.write("<sheetData>")
    n = 0
    if sheet.header is not None:
        n = 1
        out.write('<row r="1">' + "".join(_cell_xml(cell(h), 1) for h in sheet.header) + "</row>")
    write = out.write
    for r in sheet.rows:
        n += 1
        write(f'<row r="{n}">' + "".join([_cell_xml(v) for v in _row(r)]) + "</row>")
    out.write("</sheetData>")
    out.write('<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>')
    if sheet.landscape:
        out.write('<pageSetup orientation="landscape"/>')
    if sheet.footer is not None or sheet.page_header is not None:
        out.write("<headerFooter>")
        if sheet.page_header is not None:
            out.write(f"<oddHeader>&amp;C{_xml(visible(sheet.page_header))}</oddHeader>")
        if sheet.footer is not None:
            out.write(f"<oddFooter>&amp;C{_xml(visible(sheet.footer))}</oddFooter>")
        out.write("</headerFooter>")
    out.write("</worksheet>")


def _column_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> Path:
    """A workbook, written row by row into the zip (the whole register fits in little memory)."""
    import zipfile

    names: list[str] = []
    for sheet in sheets:  # unique names, as Excel wants them (case-insensitively)
        name, k = _title(sheet.title), 1
        while name.lower() in (x.lower() for x in names):
            suffix = str(k)
            name, k = _title(sheet.title)[:31 - len(suffix)] + suffix, k + 1
        names.append(name)
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
        f'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, len(sheets) + 1))
    workbook_sheets = "".join(f'<sheet name="{_xml(n)}" sheetId="{i}" r:id="rId{i}"/>'
                              for i, n in enumerate(names, 1))
    titles = "".join(f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
                     f"&apos;{_xml(n.replace(chr(39), chr(39) * 2))}&apos;!$1:$1</definedName>"
                     for i, (n, sh) in enumerate(zip(names, sheets, strict=True)) if sh.header is not None)
    rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                   for i in range(1, len(sheets) + 1))
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    with _open_private(path) as target, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        zf.writestr("[Content_Types].xml", head + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            f'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>{overrides}</Types>'))
        zf.writestr("_rels/.rels", head + (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        zf.writestr("xl/workbook.xml", head + (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{workbook_sheets}</sheets>'
            + (f"<definedNames>{titles}</definedNames>" if titles else "") + "</workbook>"))
        zf.writestr("xl/_rels/workbook.xml.rels", head + (
            f'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}'
            f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'))
        zf.writestr("xl/styles.xml", _STYLES)
        for i, sheet in enumerate(sheets, 1):
            with zf.open(f"xl/worksheets/sheet{i}.xml", "w") as raw, \
                    io.TextIOWrapper(raw, encoding="utf-8", errors="replace", write_through=False) as out:
                _sheet_xml(out, sheet)
    return path
