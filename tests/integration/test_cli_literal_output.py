"""What is stored is shown literally by the command line (issue 16): text written behind the register's back (or
before the text policy) with terminal control sequences prints them escaped, never as a live ESC/OSC/CSI/BEL, and
file names and values are never read as Rich markup. The output is checked as the bytes the terminal would get."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
import pytest
from tests_support import CLI_REGISTER, use_cli_demo
from typer.testing import CliRunner

from tracker.demo import badge, place

SHELF = place("BJ", "R2C1S1")
OSC_TITLE = "报告\x1b]0;pwned\x07\x9b31m\x1b[2J\u2028end"
CONTROL_BYTES = [b"\x1b", b"\x07", "\x9b".encode(), "\u2028".encode()]


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch, TRACKER_TEAM_PIN="482916")


def run(*args: str) -> tuple[int, bytes]:
    from tracker.cli import app

    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout_bytes + result.stderr_bytes


def tamper(tmp_path: Path, sql: str, *params: object) -> None:
    """A write straight into the database file, as someone with file access could make it."""
    from tracker.cli.common import state

    if state.store is not None:
        state.store.dispose()
        state.store = None
    with sqlite3.connect(tmp_path / CLI_REGISTER) as db:
        db.execute(sql, params)


def some_carrier(location: str | None = None) -> str:
    code, out = run("carrier", "find", "BJ-", "--limit", "500", "--json")
    assert code == 0
    return next(c["code"] for c in json.loads(out) if c["status"] == "in_store"
                and (location is None or c["location"] == location))


def assert_literal(out: bytes) -> None:
    for b in CONTROL_BYTES:
        assert b not in out, (b, out)


def test_carrier_show_prints_an_osc_title_escaped(env: dict[str, str], tmp_path: Path) -> None:
    code = some_carrier()
    tamper(tmp_path, "UPDATE carriers SET title = ? WHERE code = ?", OSC_TITLE, code)
    rc, out = run("carrier", "show", code)
    assert rc == 0
    assert_literal(out)
    assert b"\\x1b]0;pwned\\x07\\x9b31m\\x1b[2J\\u2028end" in out
    rc, out = run("carrier", "find", code)
    assert rc == 0
    assert_literal(out)
    rc, out = run("carrier", "show", code, "--json")
    assert rc == 0
    assert_literal(out)
    assert json.loads(out)["title"] == OSC_TITLE  # still valid JSON, the value intact for scripts


def test_markup_in_stored_text_is_shown_as_typed(env: dict[str, str], tmp_path: Path) -> None:
    code = some_carrier()
    tamper(tmp_path, "UPDATE carriers SET title = ? WHERE code = ?", "[bold red]urgent[/] :warning:", code)
    rc, out = run("carrier", "show", code)
    assert rc == 0 and b"[bold red]urgent[/] :warning:" in out


def test_stocktake_findings_and_report_file_names_are_literal(env: dict[str, str], tmp_path: Path) -> None:
    here = some_carrier(SHELF)
    rc, out = run("stocktake", "start", "--scope", SHELF, "--team", badge("clerk"), "--team", badge("auditor"))
    assert rc == 0, out
    rc, out = run("stocktake", "reconcile", "1")
    assert rc == 0, out
    tamper(tmp_path, "UPDATE stocktake_findings SET detail = ?", "gone\x1b[2J\x1b[H")
    tamper(tmp_path, "UPDATE carriers SET title = ? WHERE code = ?", OSC_TITLE, here)
    rc, out = run("stocktake", "findings", "1")
    assert rc == 0, out
    assert_literal(out)
    assert b"\\x1b" in out  # escaped where the table folds it, at whatever width the terminal has
    rc, out = run("stocktake", "findings", "1", "--json")
    assert rc == 0
    assert_literal(out)
    assert any(f["detail"] == "gone\x1b[2J\x1b[H" for f in json.loads(out))
    rc, out = run("stocktake", "report", "1", "--csv", "[bold]evil.csv")
    assert rc == 0, out
    assert (tmp_path / "[bold]evil.csv").exists()
    assert b"[bold]evil.csv" in out


def test_an_error_naming_hostile_input_is_escaped(env: dict[str, str]) -> None:
    rc, out = run("carrier", "add", "--location", "LOC\x1b]0;x\x07", "--classification", "internal")
    assert rc in (2, 3)
    assert_literal(out)


def test_export_of_the_whole_register_survives_a_control_character(env: dict[str, str], tmp_path: Path) -> None:
    a, b, c = (str(x["code"]) for x in json.loads(run("carrier", "find", "BJ-", "--limit", "3", "--json")[1]))
    tamper(tmp_path, "UPDATE carriers SET title = ? WHERE code = ?", "bad\x1b[2J\x00\x0b title", a)
    tamper(tmp_path, "UPDATE carriers SET title = ? WHERE code = ?", "=cmd|' /C calc'!A0", b)
    tamper(tmp_path, "UPDATE carriers SET title = ? WHERE code = ?", "\t=HYPERLINK(\"http://x\",\"y\")", c)
    rc, out = run("export", "--format", "xlsx", "--out", "all.xlsx")
    assert rc == 0, out
    ws = openpyxl.load_workbook(tmp_path / "all.xlsx")["carriers"]
    header = [cell.value for cell in ws[1]]
    titles = {row[header.index("code")]: row[header.index("title")]
              for row in ws.iter_rows(min_row=2, values_only=True)}
    assert titles[a] == "bad\\x1b[2J\\x00\\x0b title"
    assert titles[b] == "'=cmd|' /C calc'!A0" and titles[c] == "'\\x09=HYPERLINK(\"http://x\",\"y\")"
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
    rc, out = run("export")  # CSV to the terminal: shown, never acted on
    assert rc == 0
    assert_literal(out)
    assert b"'=cmd|' /C calc'!A0" in out


def test_stocktake_reports_neutralise_formulas_and_controls(env: dict[str, str], tmp_path: Path) -> None:
    rc, out = run("stocktake", "start", "--scope", SHELF, "--team", badge("clerk"), "--team", badge("auditor"))
    assert rc == 0, out
    (tmp_path / "hh.txt").write_text(SHELF + "\n", encoding="utf-8")  # the shelf visited, nothing on it seen
    assert run("stocktake", "upload", "1", "hh.txt", "--device", "HH1")[0] == 0
    assert run("stocktake", "reconcile", "1")[0] == 0
    rc, out = run("stocktake", "findings", "1", "--json")
    missing = next(f["subject"] for f in json.loads(out) if f["kind"] == "missing")
    rc, out = run("stocktake", "resolve", "1", "missing", missing, "report_missing", "--reason", "=cmd|' /C calc'!A0")
    assert rc == 0, out
    tamper(tmp_path, "UPDATE stocktake_findings SET detail = ?", "=HYPERLINK(\"http://x\")\x1b\x07")
    rc, out = run("stocktake", "report", "1", "--csv", "r.csv", "--xlsx", "r.xlsx", "--pdf", "r.pdf")
    assert rc == 0, out
    pdf = "".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(str(tmp_path / "r.pdf")))
    assert "\\x1b\\x07" in pdf and "\x1b" not in pdf
    text = (tmp_path / "r.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["detail"] for r in rows} == {"'=HYPERLINK(\"http://x\")\\x1b\\x07"}
    assert [r["reason"] for r in rows if r["subject"] == missing] == ["'=cmd|' /C calc'!A0"]
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx")["Findings"]
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
