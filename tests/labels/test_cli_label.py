"""`tracker label` end to end on a real SQLite demo register and the printer emulator: preview, print, RFID with the
TID stored on the carrier, sheets, calibration, status, and the errors an operator can cause."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from PIL import Image
from tests_support import invoke, use_cli_demo

from labels.codes import carrier_code_to_epc, epc_to_carrier_code, make_carrier_code
from labels.emulator import LabelPrinterEmulator
from tracker.demo import badge, place


@pytest.fixture
def env(cli_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ("TRACKER_LABEL_PRINTER", "TRACKER_GS1_PREFIX", "TRACKER_LABEL_LANGUAGE", "TRACKER_LABEL_DPI"):
        monkeypatch.delenv(name, raising=False)
    return use_cli_demo(cli_demo, tmp_path, monkeypatch)


def carriers() -> list[dict[str, object]]:
    code, out = invoke("carrier", "find", "BJ-", "--limit", "500", "--json")
    assert code == 0, out
    found: list[dict[str, object]] = json.loads(out)
    return found


def one(kind: str) -> dict[str, object]:
    return next(c for c in carriers() if c["kind"] == kind and c["classification"] != "unclassified")


def decoded(img: Image.Image) -> list[tuple[str, str]]:
    return sorted((r.format.name, r.text) for r in zxingcpp.read_barcodes(img))


def test_preview_png_svg_pdf(env: dict[str, str], tmp_path: Path) -> None:
    c = one("paper")
    code = str(c["code"])
    rc, out = invoke("label", "preview", code, "--out", str(tmp_path / "a.png"))
    assert rc == 0, out
    assert decoded(Image.open(tmp_path / "a.png")) == [("Code128", code), ("DataMatrix", code)]
    rc, out = invoke("label", "preview", code.lower(), "--out", str(tmp_path / "a.svg"), "--bilingual")
    assert rc == 0 and code in (tmp_path / "a.svg").read_text(encoding="utf-8")
    rc, out = invoke("label", "preview", code, "--out", str(tmp_path / "a.pdf"), "--layout", "envelope")
    assert rc == 0, out
    page = pdfium.PdfDocument(tmp_path / "a.pdf")[0].render(scale=300 / 72).to_pil()
    assert decoded(page) == [("Code128", code), ("QRCode", code)]
    loc = json.loads(invoke("location", "list", "--json")[1])[-1]["code"]
    rc, out = invoke("label", "preview", loc, "--out", str(tmp_path / "loc.png"))
    assert rc == 0, out
    assert decoded(Image.open(tmp_path / "loc.png")) == [("Code128", loc), ("QRCode", loc)]
    rc, out = invoke("label", "preview", badge("clerk"), "--out", str(tmp_path / "b.png"))
    assert rc == 0, out
    rc, out = invoke("label", "preview", "--sample", "--layout", "disc-hub", "--out", str(tmp_path / "s.png"))
    assert rc == 0, out


def test_print_zpl_and_tspl_to_the_emulator(env: dict[str, str]) -> None:
    codes = [str(c["code"]) for c in carriers()[:5] if c["classification"] != "unclassified"]
    with LabelPrinterEmulator() as em:
        rc, out = invoke("label", "print", *codes, "--printer", em.uri)
        assert rc == 0, out
        rc, out = invoke("label", "print", codes[0], "--printer", em.uri, "--language", "tspl", "--copies", "2")
        assert rc == 0, out
        jobs = em.wait_for_jobs(len(codes) + 1)
    assert all(any(c.encode() in j for j in jobs) for c in codes)
    assert jobs[-1].startswith(b"SIZE") and b"PRINT 1,2" in jobs[-1]
    assert em.printed == len(codes) + 2


def test_rfid_print_stores_epc_and_tid_on_the_carrier(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    c = one("usb_drive")
    code = str(c["code"])
    # The demo register records no GS1 prefix, so its tags are GID-96; a client's variable cannot make them GIAI
    # under a prefix of its choosing (the register's prefixes decide which tags are ours, issue 17).
    monkeypatch.setenv("TRACKER_GS1_PREFIX", "6901234")
    with LabelPrinterEmulator() as em:
        em.fail_next_encodes = 1
        rc, out = invoke("label", "print", code, "--printer", em.uri, "--rfid")
        assert rc == 0, out
        [tag] = em.tags
    assert tag.epc == carrier_code_to_epc(code) and epc_to_carrier_code(tag.epc) == code
    with LabelPrinterEmulator() as em:
        rc, refused = invoke("label", "print", code, "--printer", em.uri, "--rfid", "--company-prefix", "6901234")
        assert rc == 2 and "6901234" in refused and not em.tags
    assert tag.tid in out and "1" in out  # the TID and the one VOID are reported
    rc, shown = invoke("carrier", "show", code, "--json")
    assert json.loads(shown)["epc"] == tag.epc
    rc, hist = invoke("carrier", "history", code, "--json")
    assert tag.tid in hist  # the label event carries the TID read back
    # The carrier can now be named by its EPC.
    rc, out = invoke("label", "preview", tag.epc, "--out", "by-epc.png")
    assert rc == 0, out


def test_rfid_failure_exits_non_zero_and_stores_nothing(env: dict[str, str]) -> None:
    code = str(one("paper")["code"])
    with LabelPrinterEmulator() as em:
        em.rfid_present = False
        rc, out = invoke("label", "print", code, "--printer", em.uri, "--rfid", "--labels-to-try", "1")
    assert rc == 5 and "VOID" in out
    assert json.loads(invoke("carrier", "show", code, "--json")[1])["epc"] is None


def test_sheet_and_calibration(env: dict[str, str], tmp_path: Path) -> None:
    codes = [str(c["code"]) for c in carriers() if c["kind"] == "paper" and c["classification"] != "unclassified"][:4]
    listing = tmp_path / "codes.txt"
    listing.write_text("code\n" + "\n".join(codes[2:]) + "\n")
    rc, out = invoke(
        "label", "sheet", *codes[:2], "--from-file", str(listing), "--out", str(tmp_path / "s.pdf"), "--start", "2"
    )
    assert rc == 0, out
    page = pdfium.PdfDocument(tmp_path / "s.pdf")[0].render(scale=300 / 72).to_pil()
    assert sorted({t for _, t in decoded(page)}) == sorted(codes)
    rc, out = invoke("label", "calibrate", "a4-99x38", "--out", str(tmp_path / "cal.pdf"))
    assert rc == 0 and (tmp_path / "cal.pdf").read_bytes().startswith(b"%PDF")
    rc, out = invoke("label", "layouts")
    assert rc == 0 and "disc-hub" in out and "a4-round-40" in out


def test_status(env: dict[str, str]) -> None:
    with LabelPrinterEmulator() as em:
        assert invoke("label", "status", "--printer", em.uri)[0] == 0
        em.paper_out = True
        rc, out = invoke("label", "status", "--printer", em.uri)
    assert rc == 5 and "paper out" in out


def test_operator_errors(env: dict[str, str], tmp_path: Path) -> None:
    code = str(one("paper")["code"])
    bad = code[:-1] + ("A" if code[-1] != "A" else "B")
    rc, out = invoke("label", "preview", bad, "--out", str(tmp_path / "x.png"))
    assert rc == 2 and "check character" in out  # a misread, not a look-up of some other carrier
    rc, out = invoke("label", "preview", make_carrier_code("ZZ", 999_999), "--out", str(tmp_path / "x.png"))
    assert rc == 4 and "No carrier" in out
    rc, out = invoke("label", "preview", "hello", "--out", str(tmp_path / "x.png"))
    assert rc == 2 and "not a carrier, location, badge or EPC" in out
    rc, out = invoke("label", "preview", code, "--out", str(tmp_path / "x.gif"))
    assert rc == 2
    rc, out = invoke("label", "preview", code, "--layout", "nope", "--out", str(tmp_path / "x.png"))
    assert rc == 2 and "no layout named" in out
    rc, out = invoke("label", "preview", code, "--layout", "badge", "--out", str(tmp_path / "x.png"))
    assert rc == 2 and "badge" in out
    rc, out = invoke("label", "print", code)
    assert rc == 2 and "No printer" in out
    rc, out = invoke("label", "print", code, "--printer", "lpd://x/y")
    assert rc == 2 and "unknown printer URI" in out  # a typo is a usage error, not a printer fault
    rc, out = invoke("label", "status", "--printer", "tcp://:9100")
    assert rc == 2 and "names no host" in out
    rc, out = invoke(
        "--lang", "zh", "label", "print", code, "--printer", "tcp://127.0.0.1:9", "--language", "tspl", "--rfid"
    )
    assert rc == 2 and "ZPL" in out
    assert not (tmp_path / "x.png").exists()


def test_labels_print_at_registration(env: dict[str, str], tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    # Batch printing at registration: `carrier import --print` sends one label per new carrier as it lands.
    shelf = place("BJ", "R2C1S1")
    batch = tmp_path / "batch.csv"
    batch.write_text("classification,period,scope,location,title\n" + "".join(
        f"confidential,10y,法规处,{shelf},批量 {i}\n" for i in range(3)), encoding="utf-8")
    with LabelPrinterEmulator() as em:
        monkeypatch.setenv("TRACKER_LABEL_PRINTER", em.uri)
        rc, out = invoke("carrier", "import", str(batch), "--print")
        assert rc == 0, out
        rc, out = invoke("carrier", "add", "--location", shelf, "--classification", "internal", "--print")
        assert rc == 0, out
        jobs = em.wait_for_jobs(4)
    new = [str(c["code"]) for c in carriers() if str(c.get("title", "")).startswith("批量")]
    assert len(new) == 3 and all(any(code.encode() in j for j in jobs) for code in new)
    added = re.search(r"Registered (\S+)\.", out)
    assert added is not None and any(added.group(1).encode() in j for j in jobs)


def test_registration_stays_when_the_printer_is_down(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed again below: nothing listens there
    monkeypatch.setenv("TRACKER_LABEL_PRINTER", f"tcp://127.0.0.1:{port}")
    shelf = place("BJ", "R2C1S1")
    before = len(carriers())
    rc, out = invoke("carrier", "add", "--location", shelf, "--classification", "internal", "--print",
                     "--title", "打印机离线")
    assert rc == 5, out
    assert "Registered" in out and len(carriers()) == before + 1


def test_a_tag_under_another_prefix_is_an_unknown_tag_to_label(env: dict[str, str], tmp_path: Path) -> None:
    """A GIAI-96 EPC whose asset number is one of our carrier codes, under a prefix the register does not hold (the
    demo register holds none), names no carrier: nothing is previewed or printed, and the operator is told it is an
    unknown tag. The same carrier's GID-96 tag is that carrier."""
    code = str(one("paper")["code"])
    foreign = carrier_code_to_epc(code, "6999999")
    assert epc_to_carrier_code(foreign, "6999999") == code  # it does carry our code …
    with LabelPrinterEmulator() as em:
        rc, out = invoke("label", "print", foreign, "--printer", em.uri)
        assert rc == 4 and f"Unknown tag {foreign}" in out and "no carrier of this register" in out
        assert em.printed == 0 and not em.jobs
    rc, out = invoke("label", "preview", foreign.lower(), "--out", str(tmp_path / "f.png"), TRACKER_LANG="zh")
    assert rc == 4 and f"未知标签 {foreign}" in out and not (tmp_path / "f.png").exists()
    rc, out = invoke("label", "preview", carrier_code_to_epc(code), "--out", str(tmp_path / "g.png"))
    assert rc == 0, out
    assert ("DataMatrix", code) in decoded(Image.open(tmp_path / "g.png"))


@pytest.mark.parametrize("language", ["zpl", "tspl"])
def test_a_code_that_cannot_fit_its_layout_is_refused_before_anything_prints(env: dict[str, str], tmp_path: Path,
                                                                             language: str) -> None:
    """A layout whose DataMatrix box is too small for the printer's smallest module: `label print` says so in both
    languages and exits 2 with nothing sent (it used to crash with a traceback once the job was being built)."""
    tiny = tmp_path / "tiny.toml"
    tiny.write_text('title = "tiny"\nwidth_mm = 20\nheight_mm = 10\ncode_kinds = ["carrier"]\n\n'
                    '[[elements]]\ntype = "datamatrix"\nx = 1\ny = 1\nsize = 3\n', encoding="utf-8")
    codes = [str(c["code"]) for c in carriers()[:3] if c["classification"] != "unclassified"]
    with LabelPrinterEmulator() as em:
        rc, out = invoke("label", "print", *codes, "--layout", str(tiny), "--printer", em.uri, "--language", language)
        assert rc == 2 and "does not fit" in out and "203 dpi" in out and "Traceback" not in out, out
        rc, out = invoke("label", "print", codes[0], "--layout", str(tiny), "--printer", em.uri, TRACKER_LANG="zh")
        assert rc == 2 and "放不进" in out, out
        assert em.printed == 0 and not em.jobs
    rc, out = invoke("label", "preview", codes[0], "--layout", str(tiny), "--out", str(tmp_path / "t.png"))
    assert rc == 2 and "does not fit" in out and not (tmp_path / "t.png").exists()


def test_no_label_for_a_carrier_off_the_books(env: dict[str, str], tmp_path: Path) -> None:
    """R-145: the demo's completed destruction batch wrote its carriers off; printing a fresh label for one would dress
    it as a carrier still on the books. print, sheet and preview refuse naming the rule; nothing reaches the printer."""
    batches = json.loads(invoke("destruction", "list", "--json")[1])
    done = next(b for b in batches if b["status"] == "completed")
    gone = json.loads(invoke("destruction", "show", str(done["id"]), "--json")[1])["items"][0]["code"]
    live = str(one("paper")["code"])
    with LabelPrinterEmulator() as em:
        rc, out = invoke("label", "print", live, gone, "--printer", em.uri)
        assert rc == 3 and "R-145" in out and gone in out and "destroyed" in out, out
        rc, out = invoke("--lang", "zh", "label", "print", gone, "--printer", em.uri)
        assert rc == 3 and "不为已注销的载体打印标签" in out, out
        assert em.printed == 0 and em.jobs == [], "refused before any label is sent, the live one included"
    rc, out = invoke("label", "sheet", gone, "--out", str(tmp_path / "s.pdf"))
    assert rc == 3 and "R-145" in out and not (tmp_path / "s.pdf").exists()
    rc, out = invoke("label", "preview", gone, "--out", str(tmp_path / "p.png"))
    assert rc == 3 and not (tmp_path / "p.png").exists()
