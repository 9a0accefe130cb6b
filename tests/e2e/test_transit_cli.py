"""`tracker incoming`, `package` and `transit` end to end on a copy of the demo register: a sealed package dispatched
from Beijing to Shanghai, a hop through the Shanghai gate registry, receipt; `carrier show` names one custodian at
every step; the receipt PDF and the registers are written; refusals name their rules."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from tests_support import invoke, use_cli_demo

from tracker.demo import badge, place

PINS = {"TRACKER_COURIER_PIN": "482916", "TRACKER_GIVER_PIN": "482916", "TRACKER_TAKER_PIN": "482916"}


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    return use_cli_demo(cli_demo, tmp_path, monkeypatch, **PINS)


def _custodian(code: str) -> tuple[str, str | None, str | None]:
    rc, out = invoke("carrier", "show", code, "--json")
    assert rc == 0, out
    v = json.loads(out)
    assert (v["holder"] is None) != (v["location"] is None), v  # one accountable holder or place
    return v["status"], v["holder"], v["location"]


def _ok(*args: str, **env: str) -> str:
    rc, out = invoke(*args, **env)
    assert rc == 0, out
    return out


def test_package_dispatch_hop_receipt(env: dict[str, str], tmp_path: Path) -> None:
    out = _ok("incoming", "register", "--location", place("BJ", "R1SAFE1"), "--sender", "国家保密局",
              "--sender-doc", "国保〔2026〕9号", "--classification", "confidential", "--period", "5y", "--scope",
              "办公室", "--copy", "1/3", "--pages", "4")
    code = out.split()[-1].rstrip(".")
    pkg = _ok("package", "new", "--kind", "bag").strip()
    _ok("package", "pack", pkg, code)
    _ok("package", "seal", pkg, "--seal", "FZ-77")
    rc, out = invoke("transit", "dispatch", pkg, "--from", place("BJ", "R1"), "--to", place("SH", "R1"),
                     "--courier", badge("reader_core"))
    assert rc == 3 and "R-87" in out
    out = _ok("transit", "dispatch", pkg, "--from", place("BJ", "R1"), "--to", place("SH", "R1"), "--courier",
              badge("courier"))
    n = out.split("#")[-1].rstrip(".\n")
    assert _custodian(code) == ("in_transit", badge("courier"), None)
    listed = json.loads(_ok("transit", "list", "--to-site", "SH", "--json"))
    assert [t["id"] for t in listed] == [int(n)] and listed[0]["holder"] == badge("courier")
    assert json.loads(_ok("transit", "list", "--to-site", "GZ", "--json")) == []
    _ok("transit", "hop", n, "--giver", badge("courier"), "--taker", badge("officer"), "--seal", f"{pkg}=FZ-77",
        "--place", place("SH", "SITE"))
    assert _custodian(code) == ("in_transit", badge("officer"), None)
    _ok("transit", "hop", n, "--giver", badge("officer"), "--taker", badge("courier2"), "--seal", f"{pkg}=FZ-77")
    rc, out = invoke("transit", "receive", n, "--giver", badge("courier2"), "--taker", badge("clerk2"))
    assert rc == 3 and "R-18" in out  # the seal was not read
    _ok("transit", "receive", n, "--giver", badge("courier2"), "--taker", badge("clerk2"), "--seal", f"{pkg}=FZ-77")
    assert _custodian(code) == ("in_store", None, place("SH", "R1"))
    out = _ok("package", "open", pkg, "--seal", "FZ-77", code, "--json", TRACKER_OPERATOR=badge("clerk2"))
    assert json.loads(out)["missing"] == []
    _ok("transit", "receipt", n, str(tmp_path / "hop2.pdf"), "--hop", "2")
    doc = pdfium.PdfDocument(str(tmp_path / "hop2.pdf"))
    text = "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))
    assert badge("courier") in text and badge("officer") in text and "FZ-77" in text and code in text
    shown = json.loads(_ok("transit", "show", n, "--json"))
    assert shown["hops"][1]["ledger_head"].split(":")[0] in text
    _ok("transit", "register", str(tmp_path / "d.csv"))
    assert code in (tmp_path / "d.csv").read_text(encoding="utf-8-sig")
    _ok("incoming", "report", str(tmp_path / "i.xlsx"))
    zh = _ok("--lang", "zh", "incoming", "list")
    assert "收文登记簿" in zh and "国保〔2026〕9号" in zh


def test_incoming_label_prints_at_registration(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from labels.emulator import LabelPrinterEmulator

    for name in ("TRACKER_GS1_PREFIX", "TRACKER_LABEL_LANGUAGE", "TRACKER_LABEL_DPI"):
        monkeypatch.delenv(name, raising=False)
    with LabelPrinterEmulator() as em:
        monkeypatch.setenv("TRACKER_LABEL_PRINTER", em.uri)
        out = _ok("incoming", "register", "--location", place("BJ", "R1SAFE1"), "--sender", "上级机关",
                  "--classification", "internal", "--copy", "1/1", "--pages", "2", "--personal-to",
                  badge("approver"), "--seal-broken", "--print")
        [job] = em.wait_for_jobs(1)
    code = out.split(" as ")[1].split(".")[0]  # "Registered incoming #n as CODE."
    assert code.encode() in job and "incident #" in out
    waiting = json.loads(_ok("incoming", "list", "--waiting", "--json"))
    assert [w["carrier"] for w in waiting] == [code] and waiting[0]["personal_to"] == badge("approver")
    rc, out = invoke("incoming", "deliver", code, "--to", badge("reader_core"))
    assert rc == 3 and "R-21" in out
