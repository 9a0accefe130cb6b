"""The one CSV/XLSX writer: every export and report of the register writes its tables through here.

It owns what makes a cell safe to open: formula injection is neutralised (a text starting with ``= + - @``, a tab or
a CR is kept as text with a leading apostrophe, as OWASP's CSV-injection advice has it), and control characters are
written out visibly (``\\x1b``, `tracker.text.visible`) so that no character can make openpyxl refuse the workbook
(IllegalCharacterError: one such title used to fail the export of the whole register) or drive a terminal when CSV
goes to standard output. Numbers, booleans, empty cells, dates and local (naive) date-times pass unchanged, so an XLSX
cell is typed (a date is a date); an aware date-time is written as text, as Excel has no zones. It must never query
the register nor decide which columns a report has: callers hand it rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

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


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Iterable[Any]], bom: bool = True,
              preamble: Sequence[Sequence[Any]] = (), epilogue: Sequence[Sequence[Any]] = ()) -> Path:
    """A CSV file, UTF-8 with a BOM by default so spreadsheet programs show the Chinese."""
    with path.open("w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
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


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> Path:
    """A workbook, written row by row (openpyxl write-only mode: the whole register fits in little memory)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        ws = wb.create_sheet(_title(sheet.title))
        for column, width in sheet.widths.items():
            ws.column_dimensions[column].width = width
        if sheet.footer is not None:
            ws.oddFooter.center.text = sheet.footer
        if sheet.page_header is not None:
            ws.oddHeader.center.text = sheet.page_header
        if sheet.landscape:
            ws.page_setup.orientation = "landscape"
        if sheet.header is not None:
            ws.print_title_rows = "1:1"  # the header row on every printed page
        if sheet.header is not None:
            ws.freeze_panes = "A2"
            head = []
            for name in sheet.header:
                c = WriteOnlyCell(ws, value=cell(name))
                c.font = bold
                head.append(c)
            ws.append(head)
        for r in sheet.rows:
            ws.append(_row(r))
    wb.save(path)
    return path
