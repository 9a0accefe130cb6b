"""`tracker print-run` and `tracker meeting` end to end on a copy of the demo register: a run approved and printed,
its copies issued at a meeting to attendees signing with their own PINs, one collected and one kept, the meeting
closed with the venue check, and the meeting record (R-127) read back from the PDF, the XLSX and the CSV."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import openpyxl
import pypdfium2 as pdfium
import pytest
from tests_support import invoke, use_cli_demo

from tracker.demo import badge, place

SHELF = place("BJ", "R2C1S1")
VENUE = place("BJ", "R1")
ATTENDEE = {"TRACKER_ATTENDEE_PIN": "482916"}


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch)


def pdf_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def _number(out: str) -> str:
    m = re.search(r"#(\d+)", out)
    assert m is not None, out
    return m.group(1)


def test_print_run_then_meeting_record(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke("print-run", "new", "--doc", "BJ会〔2026〕9号", "--level", "confidential", "--copies", "2",
                       "--distribution", "法规处:2", "--location", SHELF, "--period", "5y",
                       "--scope", "办公室;法规处", "--title", "会议材料")
    assert code == 0, out
    run = _number(out)
    code, out = invoke("print-run", "complete", run, "--copies", "2", "--proof-reader", badge("officer"),
                       "--byproducts", "sheets=4,plates=1")
    assert code == 3 and "R-29" in out, out  # not approved yet
    code, out = invoke("print-run", "approve", run, TRACKER_OPERATOR=badge("approver"))
    assert code == 0 and "granted" in out, out
    code, out = invoke("--lang", "zh", "print-run", "complete", run, "--copies", "3", "--proof-reader",
                       badge("officer"), "--byproducts", "sheets=4,plates=1")
    assert code == 3 and "R-29" in out and "多印" in out, out
    code, out = invoke("print-run", "complete", run, "--copies", "2", "--proof-reader", badge("officer"),
                       "--byproducts", "sheets=4,plates=1")
    assert code == 0, out
    code, out = invoke("print-run", "show", run, "--json")
    shown = json.loads(out)
    first, second = shown["copy_codes"]
    assert shown["status"] == "completed" and shown["byproducts_open"] is True and shown["first_copy"] == 1

    code, out = invoke("meeting", "new", "--venue", VENUE, "--level", "confidential", "--title", "保密工作会",
                       "--attendee", badge("reader_important"), "--attendee", badge("reader_general"))
    assert code == 0, out
    m = _number(out)
    assert invoke("meeting", "issue", m, first, "--to", badge("reader_important"), **ATTENDEE)[0] == 0
    code, out = invoke("meeting", "issue", m, second, "--to", badge("reader_general"), **ATTENDEE)
    assert code == 0, out
    code, out = invoke("meeting", "close", m, "--venue-check", "已清查")
    assert code == 3 and "R-123" in out and first in out
    assert invoke("meeting", "collect", m, first)[0] == 0
    assert invoke("meeting", "keep", m, second)[0] == 0
    code, out = invoke("meeting", "close", m, "--venue-check", "会场及住地已清查，无遗留")
    assert code == 0, out
    code, out = invoke("meeting", "show", m, "--json")
    view = json.loads(out)
    head = f"{view['head_seq']}:{view['head_hash']}"
    code, out = invoke("carrier", "history", first)
    assert code == 0 and "printed" in out and "meeting_issued" in out and "meeting_collected" in out, out

    pdf, xlsx, sheet = tmp_path / "m.pdf", tmp_path / "m.xlsx", tmp_path / "m.csv"
    code, out = invoke("meeting", "record", m, "--pdf", str(pdf), "--xlsx", str(xlsx), "--csv", str(sheet))
    assert code == 0, out
    text = pdf_text(pdf)
    for expected in (badge("reader_important"), badge("reader_general"), first, second, head, "已收回", "登记留存",
                     "会场及住地已清查"):
        assert expected in text.replace("\r", "").replace("\n", ""), expected
    wb = openpyxl.load_workbook(xlsx)
    materials = [[c.value for c in r] for r in wb["材料 Materials"].iter_rows(min_row=2)]
    assert {(r[0], r[4]) for r in materials} == {(first, badge("reader_important")),
                                                 (second, badge("reader_general"))}
    with sheet.open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[1][2:4] == [str(view["head_seq"]), view["head_hash"]]
