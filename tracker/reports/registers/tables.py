"""A printed register as CSV (UTF-8 with a BOM, so Excel shows the Chinese) and as XLSX (typed cells: times as
local date-times, numbers as numbers; the header row frozen and repeated on every printed page; "第 &P 页 共 &N 页"
in the page footer), both through the one writer, `tracker.reports.sheets`, which neutralises formulas and control
characters. The heading (unit, period, printer, ledger head) and the signature lines go before and after the table in
CSV, and on a second worksheet (说明) in XLSX so the register sheet stays one table. It never queries the register.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from tracker.reports import sheets
from tracker.reports.registers.model import Printed
from tracker.reports.registers.pdf import local


def _title(printed: Printed) -> str:
    reg = printed.register
    return reg.zh if printed.lang != "en" else f"{reg.zh} {reg.en}"


def _heading(printed: Printed) -> list[list[Any]]:
    return [[_title(printed)], *([k, v] for k, v in printed.facts())]


def _signatures(printed: Printed) -> list[list[Any]]:
    return [[f"{label}{printed.say('（签字）', ' (signature)')}", "", printed.say("日期", "Date"), ""]
            for label in printed.signature_labels()]


def write_csv(printed: Printed, path: Path) -> Path:
    tz = printed.tz
    rows = ([local(v, tz) for v in row] for row in printed.rows)
    return sheets.write_csv(path, printed.headers, rows, bom=True, preamble=[*_heading(printed), []],
                            epilogue=[[], *_signatures(printed)])


def _typed(row: Sequence[Any], tz: Any) -> list[Any]:
    """Excel has no zones: a time is written as the unit's local wall-clock reading (the period is in that zone)."""
    return [v.astimezone(tz).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo else v for v in row]


def _excel_text(text: str) -> str:
    """Header and footer text with Excel's own codes (&P, &N…) neutralised."""
    return text.replace("&", "&&")


def write_xlsx(printed: Printed, path: Path) -> Path:
    tz = printed.tz
    rows: Iterator[list[Any]] = (_typed(row, tz) for row in printed.rows)
    widths = {_letter(i): max(8.0, min(40.0, c.width * 14)) for i, c in enumerate(printed.register.columns)}
    head = _excel_text(f"{_title(printed)}  {printed.facts()[0][1]}  {printed.facts()[1][1]}")
    footer = f"第 &P 页 共 &N 页    {_excel_text(printed.say('台账链头', 'Ledger head'))} " \
             f"{printed.head_seq}:{printed.head_hash[:16]}"
    return sheets.write_xlsx(path, [
        sheets.Sheet(printed.register.zh[:31], rows, header=printed.headers, widths=widths, footer=footer,
                     page_header=head, landscape=True),
        sheets.Sheet(printed.say("说明", "About"), [*_heading(printed), [], *_signatures(printed)],
                     widths={"A": 24.0, "B": 80.0}, footer=footer),
    ])


def _letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out
