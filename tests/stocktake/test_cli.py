"""`tracker stocktake …` end to end on a demo register: start, upload twice, reconcile, resolve, close, report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
import pytest
from tests_support import invoke, use_cli_demo

from labels.codes import make_carrier_code
from tracker.demo import badge, place

SHELVES = [place("BJ", f"R2C{c}S{s}") for c in (1, 2) for s in (1, 2, 3)]
SHELF = SHELVES[0]


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch, TRACKER_TEAM_PIN="482916")


def test_a_stock_take_from_start_to_signed_report(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    assert code == 0
    carriers = [c for c in json.loads(out) if c["status"] == "in_store"]
    shelf = max(SHELVES, key=lambda s: sum(1 for c in carriers if c["location"] == s))
    here = [c["code"] for c in carriers if c["location"] == shelf]
    elsewhere = next(c["code"] for c in carriers if c["location"] not in (shelf, None))
    assert len(here) >= 2
    code, out = invoke("stocktake", "start", "--scope", shelf, "--team", badge("clerk"), "--team", badge("auditor"),
                       "--name", "Q4")
    assert code == 0, out
    assert f"{len(here)} carriers expected" in out

    upload = tmp_path / "hh.txt"
    upload.write_text("\n".join([shelf, *here[1:], elsewhere]), encoding="utf-8")
    code, out = invoke("stocktake", "upload", "1", str(upload), "--device", "HH1")
    assert code == 0 and f"{len(here) + 1} reads added" in out, out
    code, out = invoke("stocktake", "upload", "1", str(upload), "--device", "HH1")
    assert code == 0 and "0 reads added" in out
    # the same list saved again on Windows, with a blank line and trailing spaces: already stored (issue 17)
    resaved = tmp_path / "hh-resaved.txt"
    resaved.write_bytes(("\r\n".join([shelf + "  ", "", *here[1:], elsewhere]) + "\r\n\r\n").encode())
    code, out = invoke("stocktake", "upload", "1", str(resaved), "--device", "HH1")
    assert code == 0 and "0 reads added" in out and f"{len(here) + 1} already stored" in out, out

    code, out = invoke("stocktake", "reconcile", "1", "--json")
    assert code == 0, out
    assert json.loads(out) == {"found": len(here) - 1, "missing": 1, "outside_scope": 1}

    code, out = invoke("stocktake", "close", "1")
    assert code == 3 and "R-131" in out and "unresolved" in out

    code, out = invoke("stocktake", "resolve", "1", "missing", here[0], "report_missing",
                       "--reason", "not on its shelf")
    assert code == 0, out
    code, out = invoke("stocktake", "resolve", "1", "清查范围外载体", elsewhere, "acknowledge",  # the table's label
                       "--reason", "put back where registered")
    assert code == 0, out
    code, out = invoke("stocktake", "findings", "1", "--open", "--json")
    assert code == 0 and json.loads(out) == []
    code, out = invoke("stocktake", "progress", "1", "--json")
    assert json.loads(out)[0]["missing"] == 1

    code, out = invoke("stocktake", "close", "1")
    assert code == 0 and "closed" in out and "digest" in out, out

    pdf, csv, xlsx = tmp_path / "r.pdf", tmp_path / "r.csv", tmp_path / "r.xlsx"
    code, out = invoke("stocktake", "report", "1", "--pdf", str(pdf), "--csv", str(csv), "--xlsx", str(xlsx))
    assert code == 0, out
    text = "".join(page.get_textpage().get_text_range() for page in pdfium.PdfDocument(str(pdf)))
    assert "Stock-take report #1" in text and here[0] in text and badge("auditor") in text
    assert "清查小组签字" in text
    lines = csv.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("stocktake,kind") and len(lines) == 1 + len(here) + 1
    wb = openpyxl.load_workbook(xlsx)
    assert wb.sheetnames == ["Summary", "Places", "Findings"] and wb["Findings"].max_row == len(here) + 2


def test_bad_input_exit_codes(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke("stocktake", "start", "--scope", SHELF, "--team", badge("clerk"))
    assert code == 3 and "at least 2" in out
    code, out = invoke("stocktake", "start", "--scope", "LOC-BJ-NOWHERE", "--team", badge("clerk"),
                       "--team", badge("auditor"))
    assert code == 4
    code, out = invoke("stocktake", "findings", "9", "--kind", "lost")
    assert code == 2 and "Unknown finding kind" in out
    code, out = invoke("stocktake", "upload", "1", str(tmp_path / "none.txt"))
    assert code == 2


def test_an_upload_with_a_malformed_line_is_refused_whole_naming_the_line(env: dict[str, str], tmp_path: Path) -> None:
    """README: a bad line refuses the whole file. A word, a code with a wrong check character or the wrong kind of
    code for a read is a misread; the upload stores nothing and names the line, and the same file fixed goes in."""
    code, out = invoke("carrier", "find", "BJ-", "--limit", "5", "--json")
    assert code == 0
    good = [c["code"] for c in json.loads(out)][:2]
    code, out = invoke("stocktake", "start", "--scope", SHELF, "--team", badge("clerk"), "--team", badge("auditor"))
    assert code == 0, out
    misread = good[1][:-1] + ("A" if good[1][-1] != "A" else "B")  # the same code with a wrong check character
    for bad in ("hello", misread):
        upload = tmp_path / "hh.txt"
        upload.write_text("\n".join([SHELF, good[0], bad, good[1]]), encoding="utf-8")
        code, out = invoke("stocktake", "upload", "1", str(upload), "--device", "HH1")
        assert code == 2, out
        assert "line 3" in out and "nothing was stored" in out and "reads added" not in out, out
    code, out = invoke("stocktake", "progress", "1", "--json")
    assert code == 0 and sum(p["seen"] for p in json.loads(out)) == 0, out
    upload.write_text("\n".join([SHELF, *good]), encoding="utf-8")
    code, out = invoke("stocktake", "upload", "1", str(upload), "--device", "HH1")
    assert code == 0 and "3 reads added" in out, out


def test_the_upload_command_leaves_the_register_closed_and_checkpointed(env: dict[str, str], tmp_path: Path) -> None:
    """A real `tracker` process: the upload's WAL checkpoint runs on the checkpointer thread, and the command waits
    for it and closes the register on its way out, so no WAL is left behind for the next program to replay."""
    code, out = invoke("stocktake", "start", "--scope", SHELF, "--team", badge("clerk"), "--team", badge("auditor"))
    assert code == 0, out
    upload = tmp_path / "hh.txt"
    upload.write_text("\n".join([SHELF, *(make_carrier_code("BJ", 900_000 + i) for i in range(20_000))]),
                      encoding="utf-8")
    from tracker.cli.common import state  # the in-process commands above keep their store open: close it first
    if state.store is not None:
        state.store.dispose()
        state.store = None
    register = tmp_path / "r.sqlite"
    size = register.stat().st_size
    done = subprocess.run([sys.executable, "-c", "from tracker.cli import main; main()", "stocktake", "upload", "1",
                           str(upload), "--device", "HH7"], env={**os.environ, **env}, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0 and "20001 reads added" in done.stdout, done.stdout + done.stderr
    assert not Path(f"{register}-wal").exists()
    assert register.stat().st_size > size + 20_000 * 20  # the reads are in the database file itself
