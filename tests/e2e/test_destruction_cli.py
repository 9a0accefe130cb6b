"""`tracker destruction` end to end on a copy of the demo register: the list, its approval, the scan, the
completion under two supervisors with their own PINs, refusals with rule ids, and the certificate read back."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from tests_support import invoke, use_cli_demo

from tracker.demo import badge, place
from tracker.domain import utc_iso

SITE = "本单位保密办销毁室"
PINS = {"TRACKER_SUPERVISOR1_PIN": "482916", "TRACKER_SUPERVISOR2_PIN": "482916"}


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch)


def in_store(level: str, n: int) -> list[dict[str, str]]:
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    assert code == 0
    found = [c for c in json.loads(out) if c["classification"] == level and c["status"] == "in_store"]
    assert len(found) >= n
    return found[:n]


def pdf_text(path: Path) -> str:
    doc = pdfium.PdfDocument(str(path))
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def test_batch_from_list_to_certificate(env: dict[str, str], tmp_path: Path) -> None:
    items = in_store("confidential", 2)
    codes = [c["code"] for c in items]
    code, out = invoke("destruction", "new", "2026年第4季度销毁")
    assert code == 0, out
    batch = re.search(r"#(\d+)", out)
    assert batch is not None
    b = batch.group(1)
    assert invoke("destruction", "add", b, *codes)[0] == 0
    code, out = invoke("destruction", "add", b, codes[0])
    assert code == 3 and "R-147" in out
    assert invoke("destruction", "submit", b)[0] == 0
    code, out = invoke("destruction", "approve", b, TRACKER_OPERATOR=badge("approver"))
    assert code == 0 and "granted" in out, out
    code, out = invoke("destruction", "scan", b, codes[0])
    assert code == 0 and "1 still to scan" in out
    # one supervisor only: refused with R-148, nothing destroyed
    code, out = invoke("destruction", "complete", b, "--supervisor", badge("officer"), "--method", "shredding",
                       "--method", "physical", "--site", SITE, **PINS)
    assert code == 3 and "R-148" in out and "R-147" in out
    (tmp_path / "site.txt").write_text(codes[1] + "\n", encoding="utf-8")
    assert invoke("destruction", "scan", b, "--file", str(tmp_path / "site.txt"))[0] == 0
    kinds = sorted({c["kind"] for c in items})
    methods = [a for k in kinds
               for a in ("--method", f"{k}={'shredding' if k in ('paper', 'notebook') else 'physical'}")]
    code, out = invoke("destruction", "complete", b, "--supervisor", badge("officer"), "--supervisor",
                       badge("auditor"), *methods, "--site", SITE, TRACKER_OPERATOR=badge("clerk2"), **PINS)
    assert code == 0, out
    head = re.search(r"ledger head (\d+):([0-9a-f]{64})", out)
    assert head is not None
    code, out = invoke("carrier", "show", codes[0], "--json")
    assert code == 0 and json.loads(out)["status"] == "destroyed"
    code, out = invoke("checkout", codes[0], "--to", badge("reader_core"), TRACKER_BORROWER_PIN="482916")
    assert code == 3 and "R-145" in out
    code, out = invoke("destruction", "show", b, "--json")
    assert code == 0 and json.loads(out)["status"] == "completed"
    completed = utc_iso(datetime.fromisoformat(json.loads(out)["completed_at"]))
    pdf = tmp_path / "certificate.pdf"
    code, out = invoke("destruction", "certificate", b, "--pdf", str(pdf))
    assert code == 0, out
    text = pdf_text(pdf)
    for expected in (*codes, badge("officer"), badge("auditor"), SITE, head.group(1), head.group(2)[:16], "监销",
                     completed,
                     "physical" if any(k not in ("paper", "notebook") for k in kinds) else "shredding",
                     items[0]["doc_number"] or codes[0]):
        assert expected in text.replace("\r", "").replace("\n", ""), expected


def test_format_is_refused_for_a_medium_and_certificate_needs_completion(env: dict[str, str],
                                                                           tmp_path: Path) -> None:
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    medium = next(c for c in json.loads(out) if c["kind"] in ("usb_drive", "removable_disk", "optical_disc",
                                                              "floppy_tape", "laptop")
                  and c["status"] == "in_store" and c["classification"] != "top_secret")
    usb = medium["code"]
    code, out = invoke("destruction", "new")
    b = re.search(r"#(\d+)", out).group(1)  # type: ignore[union-attr]
    invoke("destruction", "add", b, usb)
    invoke("destruction", "submit", b)
    invoke("destruction", "approve", b, TRACKER_OPERATOR=badge("approver"))
    invoke("destruction", "scan", b, usb)
    code, out = invoke("--lang", "zh", "destruction", "complete", b, "--supervisor", badge("officer"),
                       "--supervisor", badge("auditor"), "--method", f"{medium['kind']}=format", "--site", SITE,
                       TRACKER_OPERATOR=badge("clerk2"), **PINS)
    assert code == 3 and "R-150" in out and "格式化" in out
    code, out = invoke("destruction", "certificate", b, "--pdf", str(tmp_path / "c.pdf"))
    assert code == 2 and "not completed" in out
    assert not (tmp_path / "c.pdf").exists()


def test_the_demo_has_a_completed_and_an_open_batch(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke("destruction", "list", "--json")
    assert code == 0
    batches = {b["status"]: b for b in json.loads(out)}
    assert set(batches) == {"completed", "open"} and batches["completed"]["items"] == 3
    done = str(batches["completed"]["id"])
    code, out = invoke("destruction", "show", done, "--json")
    shown = json.loads(out)
    assert {i["status"] for i in shown["items"]} == {"destroyed"} and len(shown["supervisors"]) == 2
    assert invoke("destruction", "certificate", done, "--pdf", str(tmp_path / "demo.pdf"))[0] == 0
    code, out = invoke("carrier", "history", shown["items"][0]["code"], "--json")
    assert [e["type"] for e in json.loads(out)][-2:] == ["destruction_listed", "destroyed"]
    code, out = invoke("destruction", "register", "--from", "2000-01-01", "--json")
    assert code == 0 and {r["code"] for r in json.loads(out)} == {i["code"] for i in shown["items"]}


def test_archive_return_and_transfer_commands(env: dict[str, str]) -> None:
    items = [c["code"] for c in in_store("internal", 2)] + [in_store("confidential", 1)[0]["code"]]
    code, out = invoke("archive", items[0], "--to", place("BJ", "R2C2S1"))
    assert code == 0, out
    code, out = invoke("carrier", "show", items[0], "--json")
    assert json.loads(out)["status"] == "archived"
    code, out = invoke("checkout", items[0], "--to", badge("reader_core"), TRACKER_BORROWER_PIN="482916")
    assert code == 3 and "R-71" in out and "archive room" in out
    visit = ["archive-access", items[0], "--visitor", "钱七", "--unit", "市档案馆", "--letter", "介绍信12号", "--parts",
             "第3页"]
    code, out = invoke(*visit, "--room", place("BJ", "R1"))  # the 机要室 reads, but it is not the archive room
    assert code == 3 and "R-71" in out and "not the archive room" in out
    code, out = invoke(*visit, "--room", place("BJ", "R2"), "--extracts", "1")
    assert code == 3 and "R-72" in out
    code, out = invoke(*visit, "--room", place("BJ", "R2"), "--extracts", "1", "--stamped")
    assert code == 0, out
    code, out = invoke("return-to-issuer", items[2], "--unit", "上级机关", "--receiver", "李四", "--receipt", "HZ-9",
                       "--pdf", "back.pdf")
    assert code == 0, out
    text = pdf_text(Path("back.pdf"))
    for expected in (items[2], "上级机关", "李四", "HZ-9", "签字"):
        assert expected in text, expected
    code, out = invoke("carrier", "history", items[2], "--json")
    assert json.loads(out)[-1]["type"] == "returned_to_issuer"
    code, out = invoke("transfer-out", items[1], "--unit", "市保密局", "--receiver", "王五", "--receipt", "HZ-1",
                       "--leader", badge("clerk2"), TRACKER_LEADER_PIN="482916")
    assert code == 3 and "R-142" in out  # a clerk is not the supervising leader
    code, out = invoke("transfer-out", items[1], "--unit", "市保密局", "--receiver", "王五", "--receipt", "HZ-1",
                       "--leader", badge("approver"), "--pdf", "receipt.pdf", TRACKER_LEADER_PIN="482916")
    assert code == 0, out
    text = pdf_text(Path("receipt.pdf"))  # the command runs in tmp_path
    for expected in (items[1], "市保密局", "王五", "HZ-1", "移交"):
        assert expected in text, expected
    code, out = invoke("carrier", "show", items[1], "--json")
    assert json.loads(out)["status"] == "transferred_out"
    code, out = invoke("return-to-issuer", items[1], "--receiver", "李四", "--receipt", "HZ-2")
    assert code == 3 and "R-144" in out


def test_repair_command_in_house_and_refused_outside(env: dict[str, str]) -> None:
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    kinds = {c["code"]: c["kind"] for c in json.loads(out)}
    medium = next(c["code"] for c in json.loads(out) if c["kind"] in ("usb_drive", "removable_disk", "laptop")
                  and c["status"] == "in_store" and c["classification"] in ("confidential", "internal"))
    code, out = invoke("repair", medium, "--repairer", "路边维修店", "--custodian", badge("officer"), "--storage",
                       "kept", "--due", "+3d", TRACKER_CUSTODIAN_PIN="482916")
    assert code == 3 and "R-118" in out and "R-117" in out
    code, out = invoke("certify", medium, "--product", "国产某型", "--certificate", "认证1号")
    assert (code == 0) == (kinds[medium] == "laptop") and (code == 0 or "R-110" in out), out
    code, out = invoke("repair", medium, "--repairer", "in-house", "--custodian", badge("officer"), "--storage",
                       "kept", TRACKER_CUSTODIAN_PIN="482916")
    assert code == 0, out
    assert json.loads(invoke("carrier", "show", medium, "--json")[1])["status"] == "on_loan"


def test_retire_command_puts_a_medium_on_a_batch_with_its_reason(env: dict[str, str]) -> None:
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    media = [c["code"] for c in json.loads(out) if c["kind"] in ("usb_drive", "removable_disk", "laptop")
             and c["status"] == "in_store" and c["classification"] != "top_secret"][:2]
    paper = next(c["code"] for c in json.loads(out) if c["kind"] == "paper" and c["status"] == "in_store")
    code, out = invoke("--lang", "zh", "retire", paper, "--reason", "旧")
    assert code == 3 and "R-104" in out and "报废" in out
    code, out = invoke("retire", media[0], "--reason", "接口损坏，无法修复")
    assert code == 0, out
    batch = re.search(r"batch #(\d+)", out)
    assert batch is not None
    code, out = invoke("retire", media[1], "--reason", "更换", "--batch", batch.group(1))
    assert code == 0, out
    code, out = invoke("destruction", "show", batch.group(1), "--json")
    shown = json.loads(out)
    assert shown["name"].startswith("报废") and {i["code"] for i in shown["items"]} == set(media)
    code, out = invoke("carrier", "history", media[0], "--json")
    assert json.loads(out)[-1]["payload"]["retired"] == "接口损坏，无法修复"
